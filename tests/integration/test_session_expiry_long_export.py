"""Issue 19, item 11: under aggressive session expiry a long export keeps signing in again for as
long as logins succeed, and its result is byte-identical to a clean run's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from auth_support import password_env, password_profile
from export_support import backup, clock_sleep
from sfexit.config import load_settings
from sfexit.export.manifest import ManifestStore
from sfexit.org import connect
from sfexit_emulator import Emulator

OBJECTS = ("Account", "CaseStatus", "Contact", "ContentDocumentLink", "Task", "Opportunity",
           "Lead", "Case")


def _contents(dest: Path) -> dict[str, bytes]:
    files = {str(p.relative_to(dest)): p.read_bytes() for p in sorted((dest / "data").iterdir())}
    for name, entry in ManifestStore.load(dest).manifest.objects.items():
        files[f"entry:{name}"] = repr((entry.rows, entry.bytes, entry.sha256)).encode()
    return files


def _session(org: Emulator, events: list[str]) -> Any:
    settings = load_settings(environ=password_env(org), overrides={
        "login_url": org.url, "ca_bundle": str(org.ca_file), **password_profile(org)})
    return connect(settings, read_only=True, sleep=clock_sleep(org), on_event=events.append)


def test_a_long_export_survives_a_session_dying_every_two_calls(fresh_emulator: Emulator,
                                                                 tmp_path: Path) -> None:
    org = fresh_emulator
    backup(org, tmp_path / "clean", objects=OBJECTS, max_records=25)
    events: list[str] = []
    session = _session(org, events)
    org.faults.expire_session_after_calls = 2
    try:
        summary = backup(org, tmp_path / "expiring", objects=OBJECTS, max_records=25,
                         session=session, parallel=3)
    finally:
        org.faults.expire_session_after_calls = None
    logins = sum("signing in again" in e for e in events)
    assert not summary.failed
    # Far more than the three re-logins after which the export used to end with exit 3.
    assert logins >= 20, logins
    assert _contents(tmp_path / "expiring") == _contents(tmp_path / "clean")
