"""A dry run says how many bytes of file bodies the export would download: the org's own
``SUM()`` of the sizes, with the files step's filter (latest ContentVersions)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from offboard_support import offboard, offboard_config, run_json
from users_support import org_rows

from sfexit_emulator import testing

# What the files step downloads (export/files_listing.py): the body of each latest
# ContentVersion, each Attachment and each Document.
BODIES = (("ContentVersion", "VersionData", "IsLatest = true"), ("Attachment", "Body", ""),
          ("Document", "Body", ""))


def seeded_bytes(org: Any) -> tuple[int, int]:
    """(files, bytes) of the bodies in the emulator's store: the sizes of the blobs
    themselves, not the size fields the SUM() reads."""
    files = size = 0
    for sobject, body, where in BODIES:
        for row in org_rows(org, f"SELECT Id FROM {sobject}" + (f" WHERE {where}" if where
                                                                 else "")):
            files += 1
            size += testing.blob_size(org, sobject, row["Id"], field=body)
    return files, size


def test_dry_run_plans_the_file_bodies_bytes_from_the_org(
        fresh_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    org = fresh_emulator
    files, size = seeded_bytes(org)
    assert files > 0 and size > 0
    config = offboard_config(tmp_path, org)
    run = offboard(config, org, "--dry-run", "--run-dir", str(tmp_path / "dry"))
    assert run.code == 0, run.output
    export = next(s for s in run_json(tmp_path / "dry")["steps"] if s["name"] == "export")
    assert export["result"]["files"] == files
    assert export["result"]["files_bytes"] == size
    report = json.loads((tmp_path / "dry" / "report.json").read_text(encoding="utf-8"))
    assert report["export"]["planned"] is True
    assert report["export"]["files"] == files and report["export"]["files_bytes"] == size
    page = (tmp_path / "dry" / "report.html").read_text(encoding="utf-8")
    assert "0 byte" not in page
