"""`sfexit users list`: the seeded users, with profile, licence, freeze state and flags."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

from click.testing import CliRunner
from users_support import org_rows, username_of, users_cli

from sfexit.cli import cli


def test_list_matches_the_active_users_in_the_org(emulator: Any, tmp_path: Path) -> None:
    run = users_cli(emulator, tmp_path, "list")
    assert run.code == 0, run.output
    listed = {u["username"]: u for u in run.body["result"]["users"]}
    expected = {r["Username"]: r for r in org_rows(
        emulator, "SELECT Username, Profile.Name, UserType FROM User WHERE IsActive = true")}
    assert set(listed) == set(expected)
    assert run.body["result"]["count"] == len(expected)
    for name, row in expected.items():
        assert listed[name]["profile"] == row["Profile"]["Name"]
        assert listed[name]["user_type"] == row["UserType"]


def test_list_all_includes_inactive_users(emulator: Any, tmp_path: Path) -> None:
    run = users_cli(emulator, tmp_path, "list", "--all")
    assert run.code == 0
    inactive = {u["username"] for u in run.body["result"]["users"] if not u["active"]}
    expected = org_rows(emulator, "SELECT Username FROM User WHERE IsActive = false")
    assert expected and inactive == {r["Username"] for r in expected}
    assert run.body["result"]["count"] == len(org_rows(emulator, "SELECT Id FROM User"))


def test_frozen_state_comes_from_userlogin(emulator: Any, tmp_path: Path) -> None:
    run = users_cli(emulator, tmp_path, "list", "--all")
    frozen_ids = {r["UserId"][:15] for r in org_rows(
        emulator, "SELECT UserId FROM UserLogin WHERE IsFrozen = true")}
    listed = {u["id"][:15] for u in run.body["result"]["users"] if u["frozen"]}
    assert frozen_ids and listed == frozen_ids


def test_flags_mark_running_user_and_system_users(emulator: Any, tmp_path: Path) -> None:
    run = users_cli(emulator, tmp_path, "list")
    by_name = {u["username"]: u for u in run.body["result"]["users"]}
    assert "running_user" in by_name[emulator.credentials.username]["flags"]
    kinds = {u["kind"] for u in by_name.values()}
    assert {"automated_process", "platform_integration", "integration", "chatter"} <= kinds
    for row in org_rows(emulator, "SELECT Username, UserType FROM User WHERE IsActive = true"):
        if row["UserType"] == "AutomatedProcess":
            assert by_name[row["Username"]]["kind"] == "automated_process"
        if row["UserType"] == "CloudIntegrationUser":
            assert by_name[row["Username"]]["kind"] == "platform_integration"
    assert by_name[username_of(emulator, "integration")]["kind"] == "integration"


def test_filters_by_profile_and_licence(emulator: Any, tmp_path: Path) -> None:
    run = users_cli(emulator, tmp_path, "list", "--profile", "System Administrator")
    admins = org_rows(emulator, "SELECT Username FROM User WHERE IsActive = true AND "
                                "Profile.Name = 'System Administrator'")
    assert {u["username"] for u in run.body["result"]["users"]} == {a["Username"] for a in admins}
    run = users_cli(emulator, tmp_path, "list", "--licence", "Chatter Free")
    chatter = org_rows(emulator, "SELECT Username FROM User WHERE IsActive = true AND "
                                 "Profile.UserLicense.Name = 'Chatter Free'")
    assert {u["username"] for u in run.body["result"]["users"]} == {c["Username"] for c in chatter}


def test_inactive_since_uses_the_org_clock(emulator: Any, tmp_path: Path) -> None:
    run = users_cli(emulator, tmp_path, "list", "--inactive-since", "90")
    expected = org_rows(emulator, "SELECT Username FROM User WHERE IsActive = true AND "
                        "((LastLoginDate < LAST_N_DAYS:90 AND LastLoginDate != NULL) OR "
                        "(CreatedDate < LAST_N_DAYS:90 AND LastLoginDate = NULL))")
    got = {u["username"] for u in run.body["result"]["users"]}
    assert expected and got == {r["Username"] for r in expected}


def test_csv_format_has_one_row_per_user(emulator: Any, tmp_path: Path) -> None:
    from auth_support import password_env, password_profile, write_config

    cfg = write_config(tmp_path, emulator, **password_profile(emulator))
    result = CliRunner().invoke(cli, ["--config", str(cfg), "users", "list", "--format", "csv"],
                                env=password_env(emulator))
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    active = org_rows(emulator, "SELECT Id FROM User WHERE IsActive = true")
    assert len(rows) == len(active) and "frozen" in rows[0]


def test_bad_inactive_since_is_a_usage_error(emulator: Any, tmp_path: Path) -> None:
    run = users_cli(emulator, tmp_path, "list", "--inactive-since", "-3")
    assert run.code == 2 and "inactive-since" in run.body["message"]
