"""A keep-alive HTTPS session on the emulated org for the protocol tests (Bulk query, ingest).

It ignores the machine's CA environment settings (``trust_env = False``) and trusts only the
emulator's own CA, so a test proves the emulator's TLS, not the machine's.
"""

from __future__ import annotations

from typing import Any

import requests

from sfexit_emulator import Emulator
from sfexit_emulator.bulk_csv import text_value


def authorized_session(org: Emulator) -> requests.Session:
    """A session trusting only the emulator's CA, with the admin token."""
    session = requests.Session()
    session.verify = str(org.ca_file)
    session.trust_env = False  # else REQUESTS_CA_BUNDLE overrides verify (python-stack.md)
    session.headers["Authorization"] = f"Bearer {org.token}"
    return session


class OrgClient:
    def __init__(self, org: Emulator, version: str) -> None:
        self.org = org
        self.session = authorized_session(org)
        self.base = f"{org.url}/services/data/v{version}"

    def url(self, path: str) -> str:
        """An absolute URL as is; ``/services/…`` on the org; anything else under the version."""
        if path.startswith("http"):
            return path
        return self.org.url + path if path.startswith("/services") else self.base + path

    def get(self, path: str, **kwargs: Any) -> requests.Response:
        return self.session.get(self.url(path), timeout=60, **kwargs)

    def post(self, path: str, body: Any) -> requests.Response:
        return self.session.post(self.url(path), json=body, timeout=60)

    def patch(self, path: str, body: Any) -> requests.Response:
        return self.session.patch(self.url(path), json=body, timeout=60)

    def delete(self, path: str) -> requests.Response:
        return self.session.delete(self.url(path), timeout=60)


def error_of(r: requests.Response) -> tuple[str, str]:
    """(errorCode, message) of Salesforce's one-element error list."""
    body = r.json()
    assert isinstance(body, list) and len(body) == 1, body
    return body[0]["errorCode"], body[0]["message"]


def store_rows(org: Emulator, soql: str, include_deleted: bool = False) -> list[list[str]]:
    """The rows the org holds for ``soql``, as the Bulk API renders them (CSV text)."""
    cursor = org.store.query(soql, include_deleted=include_deleted, now=org.clock.now(),
                             user_id=org.store.admin_user_id)
    try:
        return [[text_value(v) for v in row] for row in cursor.rows()]
    finally:
        cursor.close()
