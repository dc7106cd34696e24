"""``Range`` on blob downloads (``…/VersionData``, ``…/Body``): 206, 416, or ignored.

Salesforce's own behaviour is undocumented (UNCONF, routes/sobjects.py); these pin the emulator
to HTTP's rules (RFC 9110 §14), which is what ``sfexit/org/blobs.py`` resumes on.
"""

from __future__ import annotations

import base64

import pytest
import requests

from org_client import authorized_session
from sfexit_emulator import Emulator


def _http(org: Emulator) -> requests.Session:
    session = authorized_session(org)
    session.headers["Accept-Encoding"] = "identity"
    return session


def _url(org: Emulator, path: str) -> str:
    return f"{org.url}/services/data/v68.0/{path}"


def _largest(org: Emulator, sobject: str, size_field: str) -> tuple[str, int]:
    soql = f"SELECT Id, {size_field} FROM {sobject} ORDER BY {size_field} DESC LIMIT 1"
    record = org.store.query(soql, now=org.clock.now()).records(0, 1)[0]
    return str(record["Id"]), int(record[size_field])


@pytest.fixture(scope="module")
def whole_bodies(emulator: Emulator) -> dict[str, tuple[str, bytes]]:
    """Per object: (blob path, every byte of its largest seeded body, fetched without Range)."""
    out = {}
    for sobject, field, size_field in (("ContentVersion", "VersionData", "ContentSize"),
                                       ("Attachment", "Body", "BodyLength"),
                                       ("Document", "Body", "BodyLength")):
        record_id, size = _largest(emulator, sobject, size_field)
        path = f"sobjects/{sobject}/{record_id}/{field}"
        whole = _http(emulator).get(_url(emulator, path))
        assert whole.status_code == 200 and len(whole.content) == size
        assert whole.headers["Accept-Ranges"] == "bytes"
        assert "Content-Range" not in whole.headers
        out[sobject] = (path, whole.content)
    return out


@pytest.mark.parametrize("sobject", ["ContentVersion", "Attachment", "Document"])
def test_one_range_is_partial_content(emulator: Emulator,
                                      whole_bodies: dict[str, tuple[str, bytes]],
                                      sobject: str) -> None:
    path, body = whole_bodies[sobject]
    size = len(body)
    http = _http(emulator)
    # Spans a 1 MiB unit boundary of the generated seeded bodies when the body is that large.
    first, last = max(0, size // 2 - 3), min(size - 1, size // 2 + (1 << 20) + 17)
    cases = {f"bytes={first}-{last}": (first, last),
             f"bytes={first}-": (first, size - 1),
             f"bytes={first}-{size + 1000}": (first, size - 1),   # last byte clipped to the end
             "bytes=-100": (size - 100, size - 1),
             f"bytes=-{size + 5}": (0, size - 1),
             f"bytes={size - 1}-": (size - 1, size - 1)}
    for header, (start, end) in cases.items():
        part = http.get(_url(emulator, path), headers={"Range": header})
        assert part.status_code == 206, header
        assert part.headers["Content-Range"] == f"bytes {start}-{end}/{size}", header
        assert part.headers["Accept-Ranges"] == "bytes"
        assert int(part.headers["Content-Length"]) == end - start + 1
        assert part.content == body[start:end + 1], header


def test_a_range_past_the_end_is_416(emulator: Emulator,
                                     whole_bodies: dict[str, tuple[str, bytes]]) -> None:
    path, body = whole_bodies["Attachment"]
    http = _http(emulator)
    for header in (f"bytes={len(body)}-", f"bytes={len(body) + 7}-{len(body) + 9}", "bytes=-0"):
        refused = http.get(_url(emulator, path), headers={"Range": header})
        assert refused.status_code == 416, header
        assert refused.headers["Content-Range"] == f"bytes */{len(body)}"
        assert refused.content == b""


@pytest.mark.parametrize("header", ["bytes=0-9, 20-29", "bytes=10-5", "lines=0-9", "bytes=abc",
                                    "bytes=-"])
def test_ranges_it_cannot_or_must_not_serve_get_the_whole_body(
        emulator: Emulator, whole_bodies: dict[str, tuple[str, bytes]], header: str) -> None:
    path, body = whole_bodies["Document"]
    whole = _http(emulator).get(_url(emulator, path), headers={"Range": header})
    assert whole.status_code == 200
    assert whole.content == body and "Content-Range" not in whole.headers


def test_if_range_and_head_ignore_the_range(emulator: Emulator,
                                            whole_bodies: dict[str, tuple[str, bytes]]) -> None:
    path, body = whole_bodies["ContentVersion"]
    http = _http(emulator)
    conditional = http.get(_url(emulator, path),
                           headers={"Range": "bytes=10-", "If-Range": '"some-etag"'})
    assert conditional.status_code == 200 and conditional.content == body
    head = http.head(_url(emulator, path), headers={"Range": "bytes=10-"})
    assert head.status_code == 200 and int(head.headers["Content-Length"]) == len(body)


def test_an_uploaded_body_and_an_empty_one(fresh_emulator: Emulator) -> None:
    org = fresh_emulator
    http = _http(org)
    account = org.store.query("SELECT Id FROM Account LIMIT 1",
                              now=org.clock.now()).records(0, 1)[0]["Id"]
    data = bytes(range(256)) * 3
    for content, expected in ((data, 206), (b"", 416)):
        created = http.post(_url(org, "sobjects/Attachment"), json={
            "ParentId": account, "Name": "r.bin", "Body": base64.b64encode(content).decode()})
        assert created.status_code == 201
        part = http.get(_url(org, f"sobjects/Attachment/{created.json()['id']}/Body"),
                        headers={"Range": "bytes=700-"})
        assert part.status_code == expected
        if expected == 206:
            assert part.content == data[700:]
            assert part.headers["Content-Range"] == f"bytes 700-{len(data) - 1}/{len(data)}"
        else:
            assert part.headers["Content-Range"] == "bytes */0"


def test_the_ignore_range_fault_answers_every_range_whole(
        fresh_emulator: Emulator) -> None:
    org = fresh_emulator
    record_id, size = _largest(org, "Attachment", "BodyLength")
    org.faults.update({"ignore_range": True})
    whole = _http(org).get(_url(org, f"sobjects/Attachment/{record_id}/Body"),
                           headers={"Range": "bytes=10-"})
    assert whole.status_code == 200 and len(whole.content) == size
    assert "Accept-Ranges" not in whole.headers and "Content-Range" not in whole.headers
    with pytest.raises(ValueError, match="ignore_range must be true or false"):
        org.faults.update({"ignore_range": "yes"})
