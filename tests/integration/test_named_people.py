"""Every name a person types (keep-lists, successors, --from) must be a user of the org: a typo
stops the command with exit 2 naming each unknown name and the closest usernames, before any
write or plan file; a successor who is inactive or frozen is refused (issue 19, Safety 1)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from auth_support import invoke, password_env, writes
from offboard_support import offboard_config
from users_support import org_rows, users_cli

from sfexit_emulator import testing

DOMAIN = "@sfexit-demo.example"
STANDARD = "standard.user" + DOMAIN
DEPARTING = "departing.user" + DOMAIN
TYPO = "standard.usr" + DOMAIN
INACTIVE = "aoife.smith" + DOMAIN


def files_under(*roots: Path) -> set[Path]:
    return {Path(d, f) for root in roots for d, _dirs, names in os.walk(root) for f in names}


def nothing_written(org: Any, tmp_path: Path, run: Any, before: int, files: set[Path]) -> None:
    assert run.code == 2, run.output
    assert writes(org) == before
    assert files_under(tmp_path, Path(os.environ["HOME"])) == files
    assert "Traceback" not in run.output


def freeze_user(org: Any, username: str) -> None:
    uid = org_rows(org, f"SELECT Id FROM User WHERE Username = '{username}'")[0]["Id"]
    login = org_rows(org, f"SELECT Id FROM UserLogin WHERE UserId = '{uid}'")[0]["Id"]
    with testing.writes(org) as batch:
        batch.update("UserLogin", login, {"IsFrozen": True})


def test_freeze_refuses_an_unknown_keep_user_and_suggests_the_closest(
        emulator: Any, tmp_path: Path) -> None:
    users_cli(emulator, tmp_path, "list")   # the config, written before the snapshot
    before, files = writes(emulator), files_under(tmp_path, Path(os.environ["HOME"]))
    run = users_cli(emulator, tmp_path, "freeze", "--all-active", "--keep", TYPO,
                    "--plan-file", str(tmp_path / "plan.csv"))
    nothing_written(emulator, tmp_path, run, before, files)
    message = run.body["message"]
    assert f"'{TYPO}' (--keep; did you mean {STANDARD}" in message


def test_every_unknown_name_is_named_with_where_it_came_from(emulator: Any,
                                                             tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    users_cli(emulator, tmp_path, "list")
    cfg.write_text(cfg.read_text(encoding="utf-8")
                   + '[users]\nkeep = ["departing.usr@sfexit-demo.example"]\n', encoding="utf-8")
    before, files = writes(emulator), files_under(tmp_path, Path(os.environ["HOME"]))
    run = invoke(["--config", str(cfg), "--yes", "users", "freeze", "nobody-like-this",
                  "--keep", TYPO, "--dry-run"], env=password_env(emulator))
    nothing_written(emulator, tmp_path, run, before, files)
    message = run.body["message"]
    assert "'nobody-like-this' (named; no similar username)" in message
    assert f"'{TYPO}' (--keep; did you mean {STANDARD}" in message
    assert f"'departing.usr{DOMAIN}' ([users] keep; did you mean {DEPARTING}" in message


def test_deactivate_and_unfreeze_refuse_unknown_names(emulator: Any, tmp_path: Path) -> None:
    run = users_cli(emulator, tmp_path, "deactivate", "--all-active", "--keep", TYPO,
                    "--dry-run")
    assert run.code == 2 and f"did you mean {STANDARD}" in run.body["message"]
    run = users_cli(emulator, tmp_path, "unfreeze", TYPO, "--dry-run")
    assert run.code == 2 and f"did you mean {STANDARD}" in run.body["message"]


def test_reassign_names_every_unknown_user_even_in_a_dry_run(emulator: Any,
                                                             tmp_path: Path) -> None:
    users_cli(emulator, tmp_path, "list")
    cfg = tmp_path / "config.toml"
    run = invoke(["--config", str(cfg), "reassign", "--from", "departing.usr" + DOMAIN,
                  "--to", TYPO, "--dry-run"], env=password_env(emulator))
    assert run.code == 2, run.output
    message = run.body["message"]
    assert f"'departing.usr{DOMAIN}' (from; did you mean {DEPARTING}" in message
    assert f"'{TYPO}' (to; did you mean {STANDARD}" in message


def test_reassign_refuses_a_frozen_or_inactive_successor(fresh_emulator: Any,
                                                         tmp_path: Path) -> None:
    org = fresh_emulator
    freeze_user(org, STANDARD)
    users_cli(org, tmp_path, "list")
    cfg = tmp_path / "config.toml"
    before = writes(org)
    run = invoke(["--config", str(cfg), "--yes", "reassign", "--from", DEPARTING, "--to",
                  STANDARD, "--objects", "Account"], env=password_env(org))
    assert run.code == 2 and f"{STANDARD} is frozen" in run.body["message"]
    run = invoke(["--config", str(cfg), "reassign", "--from", DEPARTING, "--to", INACTIVE,
                  "--dry-run"], env=password_env(org))
    assert run.code == 2 and f"{INACTIVE} is inactive" in run.body["message"]
    assert writes(org) == before


def test_offboard_dry_run_refuses_a_keep_typo_before_writing_the_run(emulator: Any,
                                                                    tmp_path: Path) -> None:
    config = offboard_config(tmp_path, emulator, successor=None,
                             extra=f'[users]\nkeep = ["{TYPO}"]\nsuccessor = "{STANDARD}"\n')
    run = invoke(["--config", str(config), "offboard", "--dry-run", "--run-dir",
                  str(tmp_path / "R")], env=password_env(emulator))
    assert run.code == 2, run.output
    assert f"'{TYPO}' ([users] keep; did you mean {STANDARD}" in run.body["message"]
    assert not (tmp_path / "R").exists()


def test_offboard_refuses_an_unknown_or_frozen_successor(fresh_emulator: Any,
                                                        tmp_path: Path) -> None:
    org = fresh_emulator
    config = offboard_config(tmp_path, org, successor=TYPO)
    run = invoke(["--config", str(config), "offboard", "--dry-run", "--run-dir",
                  str(tmp_path / "R")], env=password_env(org))
    assert run.code == 2 and f"'{TYPO}' ([users] successor; did you mean {STANDARD}" \
        in run.body["message"]
    freeze_user(org, STANDARD)
    config = offboard_config(tmp_path, org)
    run = invoke(["--config", str(config), "offboard", "--dry-run", "--run-dir",
                  str(tmp_path / "R")], env=password_env(org))
    assert run.code == 2 and f"{STANDARD} ([users] successor) is frozen" in run.body["message"]
    assert not (tmp_path / "R").exists()
