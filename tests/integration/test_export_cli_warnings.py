"""What `sfexit export bulk` tells a new admin beside the backup: the permissions that matter to
this run (Query All Files only when it reads a file object), and that a rerun into a finished
backup keeps it (it resumes) and how to take a new snapshot instead."""

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


NEW_SNAPSHOT = ("a rerun into the same --dest resumes it and keeps what is complete; for a new "
                "snapshot, give a new --dest (e.g. a dated folder)")


def test_a_rerun_into_a_finished_backup_keeps_it_and_says_how_to_take_a_new_snapshot(
        fresh_emulator: Emulator, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from sfexit.cli import cli

    org = fresh_emulator
    first = export(org, tmp_path, "--objects", "Account,Contact", "--no-files")
    assert first.code == 0, first.output
    assert first.body["result"]["kept"] == 0 and first.body["result"]["new_snapshot"] is None
    account = (tmp_path / "out" / "data" / "Account.csv").read_bytes()
    again = export(org, tmp_path, "--objects", "Account,Contact", "--no-files")
    assert again.code == 0, again.output
    assert again.body["result"]["kept"] == 2
    assert again.body["result"]["new_snapshot"] == NEW_SNAPSHOT
    assert {o["status"] for o in again.body["result"]["objects"]} == {"kept"}
    assert (tmp_path / "out" / "data" / "Account.csv").read_bytes() == account   # kept
    text = CliRunner().invoke(cli, ["--config", str(tmp_path / "config.toml"), "export",
                                    "bulk", "--dest", str(tmp_path / "out"), "--objects",
                                    "Account,Contact", "--no-files"],
                              env=password_env(org), obj=on_org_clock(org))
    assert text.exit_code == 0, text.output
    assert "(2 kept: complete and verified from an earlier run)" in text.stdout
    assert "A " + NEW_SNAPSHOT[2:] + "." in " ".join(text.stdout.split())
