"""What `sfexit export bulk` tells a new admin beside the backup: the permissions that matter to
this run (Query All Files only when it reads a file object)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from auth_support import invoke, on_org_clock, password_env, password_profile, write_config
from sfexit_emulator import Emulator

# The seeded System Administrator lacks Query All Files, as a real one does until someone
# grants it in a permission set (help.salesforce.com experience.collab_files_query).
LACKS_QUERY_ALL_FILES = ("the running user lacks QueryAllFiles: files not shared with this user "
                         "(ContentVersion, ContentDocumentLink) are not returned")


def export(org: Emulator, tmp_path: Path, *args: str) -> Any:
    config = write_config(tmp_path, org, **password_profile(org))
    return invoke(["--config", str(config), "export", "bulk", "--dest",
                   str(tmp_path / "out"), *args], env=password_env(org), app=on_org_clock(org))


@pytest.mark.parametrize("args", [["--objects", "Account"],
                                  ["--objects", "Account,Attachment", "--no-files"]],
                         ids=["account", "attachment"])
def test_a_run_that_reads_no_file_object_does_not_warn_about_query_all_files(
        fresh_emulator: Emulator, tmp_path: Path, args: list[str]) -> None:
    run = export(fresh_emulator, tmp_path, *args)
    assert run.code == 0, run.output
    assert run.body["warnings"] == []
    # the fact is still recorded
    assert run.body["result"]["permissions"]["QueryAllFiles"] is False


@pytest.mark.parametrize("objects", ["ContentVersion", "Account,ContentDocumentLink"])
def test_a_run_that_reads_a_file_object_warns_the_admin_lacks_query_all_files(
        fresh_emulator: Emulator, tmp_path: Path, objects: str) -> None:
    run = export(fresh_emulator, tmp_path, "--objects", objects, "--no-files")
    assert run.code == 0, run.output
    assert run.body["warnings"] == [LACKS_QUERY_ALL_FILES]
