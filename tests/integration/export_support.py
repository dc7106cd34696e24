"""Shared helpers for the export integration tests (library runs against the emulator)."""

from __future__ import annotations

import csv
import hashlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from sfexit.export.data_run import ExportOptions
from sfexit.export.backup import BackupSummary, run_backup
from sfexit.export.manifest import ManifestStore
from sfexit.org.session import OrgSession, RetryPolicy
from sfexit_emulator import testing

SPECIAL_NAME = 'Ünïcødé, "quoted" 日本語\nsecond line, with comma'


def clock_sleep(org: Any) -> Callable[[float], None]:
    """A ``sleep`` that moves the emulator clock instead of waiting."""
    def sleep(seconds: float) -> None:
        org.clock.advance(seconds)
    return sleep


def session_for(org: Any, **kw: Any) -> OrgSession:
    """A read-only session on the emulator whose waits move the emulator clock."""
    return OrgSession(org.url, org.token, verify=str(org.ca_file), read_only=True,
                      sleep=clock_sleep(org), retry=RetryPolicy(attempts=8), **kw)


def backup(org: Any, dest: Path, **options: Any) -> BackupSummary:
    """A library backup. Every object by Bulk unless ``rest_below`` is given: these tests are
    about the Bulk path, and the seeded org is small enough that the schedule would read
    nearly all of it over REST (test_export_paths.py tests the schedule)."""
    options.setdefault("rest_below", 0)
    force = options.pop("force", False)
    session = options.pop("session", None) or session_for(org)
    on_progress = options.pop("on_progress", None)
    return run_backup(session, ExportOptions(dest=dest, **options), force=force, files=False,
                      on_progress=on_progress, sleep=clock_sleep(org))


def read_csv(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, encoding="utf-8", newline="") as fh:
        rows = list(csv.reader(fh))
    return rows[0], rows[1:]


def org_rows(org: Any, sobject: str, fields: list[str], *,
             include_deleted: bool = False) -> list[list[str]]:
    """The emulator's own rows for the same query, as Bulk CSV text."""
    query = f"SELECT {', '.join(fields)} FROM {sobject}"
    return [[testing.csv_text(v) for v in row]
            for row in testing.rows(org, query, include_deleted=include_deleted)]


def admin_id(org: Any) -> str:
    return testing.user_id(org, org.credentials.username)


def add_special_account(org: Any) -> str:
    return testing.create(org, "Account", {"Name": SPECIAL_NAME, "Description": 'a "b", c\r\nd'},
                          as_user=admin_id(org))


def csv_text(path: Path) -> str:
    return open(path, encoding="utf-8", newline="").read()


def methods_and_hashes(dest: Path) -> dict[str, tuple[str, str]]:
    """Per object: (method, sha256 of its CSV), the sha256 checked against the manifest's."""
    out = {}
    for name, entry in ManifestStore.load(dest).manifest.objects.items():
        sha = hashlib.sha256((dest / entry.file).read_bytes()).hexdigest()
        assert sha == entry.sha256, name
        out[name] = (entry.method, sha)
    return out
