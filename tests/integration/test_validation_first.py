"""Every flag and the confirmation rule are checked before sfexit touches the org or the disk
(issue 19, Safety 4): each refusal here is exit 2 with zero API calls and no file written."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from auth_support import invoke, password_env, requests_total
from offboard_support import offboard_config

DOMAIN = "@sfexit-demo.example"
STANDARD = "standard.user" + DOMAIN
DEPARTING = "departing.user" + DOMAIN


def files_under(*roots: Path) -> set[Path]:
    return {Path(d, f) for root in roots for d, _dirs, names in os.walk(root) for f in names}


def refuses_before_anything(org: Any, tmp_path: Path, args: list[str]) -> Any:
    """Run ``args`` with a config; assert exit 2, no request to the org, no new file."""
    config = offboard_config(tmp_path, org)
    home = Path(os.environ["HOME"])
    files, calls = files_under(tmp_path, home), requests_total(org)
    run = invoke(["--config", str(config), *args], env=password_env(org))
    assert run.code == 2, run.output
    assert requests_total(org) == calls, "the org was called before the refusal"
    assert files_under(tmp_path, home) == files, "a file was written before the refusal"
    assert "Traceback" not in run.output
    return run


def test_offboard_refuses_a_bad_language_before_the_preflight(emulator: Any,
                                                             tmp_path: Path) -> None:
    run = refuses_before_anything(emulator, tmp_path, [
        "offboard", "--lang", "xx", "--dry-run", "--run-dir", str(tmp_path / "R")])
    assert "'xx' is not a supported language" in run.body["message"]
    assert not (tmp_path / "R").exists()


def test_offboard_without_a_terminal_or_yes_refuses_before_logging_in(emulator: Any,
                                                                      tmp_path: Path) -> None:
    run = refuses_before_anything(emulator, tmp_path, ["offboard", "--run-dir",
                                                       str(tmp_path / "R")])
    assert "confirmation" in run.body["message"] and "--yes" in run.body["message"]


def test_offboard_refuses_a_run_dir_in_use_before_logging_in(emulator: Any,
                                                             tmp_path: Path) -> None:
    (tmp_path / "R").mkdir()
    (tmp_path / "R" / "run.json").write_text("{}", encoding="utf-8")
    run = refuses_before_anything(emulator, tmp_path, [
        "--yes", "offboard", "--dry-run", "--run-dir", str(tmp_path / "R")])
    assert "already holds an offboard run" in run.body["message"]


@pytest.mark.parametrize("args", [
    ["users", "freeze", "--all-active"],
    ["users", "freeze", STANDARD],
    ["users", "deactivate", STANDARD],
    ["users", "deactivate", "--all-active", "--keep", STANDARD],
    ["reassign", "--from", DEPARTING, "--to", STANDARD],
], ids=["freeze-all", "freeze-one", "deactivate", "deactivate-all", "reassign"])
def test_a_change_without_a_terminal_or_yes_refuses_before_logging_in(
        emulator: Any, tmp_path: Path, args: list[str]) -> None:
    run = refuses_before_anything(emulator, tmp_path, args)
    assert "confirmation needed" in run.body["message"] and "--yes" in run.body["message"]


def test_unfreeze_without_a_terminal_or_yes_refuses_before_logging_in(
        emulator: Any, tmp_path: Path) -> None:
    journal = tmp_path / "freeze.jsonl"
    journal.write_text("", encoding="utf-8")
    refuses_before_anything(emulator, tmp_path, ["users", "unfreeze", "--journal", str(journal)])


@pytest.mark.parametrize("args", [["users", "freeze"], ["users", "deactivate"]],
                         ids=["freeze", "deactivate"])
def test_naming_nobody_is_refused_before_logging_in(emulator: Any, tmp_path: Path,
                                                    args: list[str]) -> None:
    run = refuses_before_anything(emulator, tmp_path, ["--yes", *args])
    assert "or pass --all-active" in run.body["message"]
