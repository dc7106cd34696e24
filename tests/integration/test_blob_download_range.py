"""sfexit's blob downloader resumes a broken body with ``Range`` against the emulator
(the emulator's own Range rules: emulator/tests/test_rest_blob_range.py)."""

from __future__ import annotations

import requests

from sfexit.org.blobs import download_blob
from sfexit.org.session import OrgSession
from sfexit_emulator import Emulator, testing


def _http(org: Emulator) -> requests.Session:
    session = requests.Session()
    session.verify = str(org.ca_file)
    session.trust_env = False  # else REQUESTS_CA_BUNDLE overrides verify (python-stack.md)
    session.headers.update({"Authorization": f"Bearer {org.token}",
                            "Accept-Encoding": "identity"})
    return session


def _url(org: Emulator, path: str) -> str:
    return f"{org.url}/services/data/v68.0/{path}"


def _largest(org: Emulator, sobject: str, size_field: str) -> tuple[str, int]:
    soql = f"SELECT Id, {size_field} FROM {sobject} ORDER BY {size_field} DESC LIMIT 1"
    record = testing.records(org, soql)[0]
    return str(record["Id"]), int(record[size_field])


class _Sink:
    def __init__(self) -> None:
        self.data = bytearray()
        self.restarts = 0

    def write(self, chunk: bytes) -> None:
        self.data += chunk

    def restart(self) -> None:
        self.restarts += 1
        self.data.clear()


def test_the_client_resumes_a_broken_body_with_range(fresh_emulator: Emulator) -> None:
    """sfexit's own downloader against the emulator: half the responses are cut, each retry
    asks for the rest with Range and appends the 206; the bytes end up whole."""
    org = fresh_emulator
    record_id, size = _largest(org, "ContentVersion", "ContentSize")
    expected = _http(org).get(_url(org, f"sobjects/ContentVersion/{record_id}/VersionData")).content
    session = OrgSession(org.url, org.token, api_version="68.0", verify=str(org.ca_file),
                         sleep=lambda _s: None)
    org.faults.update({"reset_rate": 0.5, "fault_seed": 1})  # first roll 0.13: cut
    sink = _Sink()
    result = download_blob(session, "ContentVersion", record_id, sink, attempts=30)
    org.faults.reset()
    assert bytes(sink.data) == expected and result.size == size
    assert result.attempts > 1, "the fault never cut the body: pick another fault_seed"
    assert result.resumed_with_range
