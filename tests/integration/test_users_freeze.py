"""`sfexit users freeze` / `unfreeze`: journaled, exact undo, refusals, dry run."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from auth_support import writes
from users_support import org_rows, username_of, users_cli

from sfexit.journal import read_journal, verify_journal
from sfexit_emulator import testing


def frozen_state(org: Any) -> dict[str, bool]:
    return {r["UserId"]: bool(r["IsFrozen"])
            for r in org_rows(org, "SELECT UserId, IsFrozen FROM UserLogin")}



def test_freeze_then_unfreeze_restores_the_exact_state(fresh_emulator: Any,
                                                       tmp_path: Path) -> None:
    org = fresh_emulator
    before = frozen_state(org)
    already = {uid for uid, f in before.items() if f}
    assert already  # the seed has users frozen before we came
    journal = tmp_path / "freeze.jsonl"
    writes(org)
    collections_before = org.stats()["requests_by_route"].get("composite_update", 0)
    run = users_cli(org, tmp_path, "freeze", "--all-active", "--journal", str(journal))
    assert run.code == 0, run.output
    result = run.body["result"]
    assert result["journal"] == str(journal) and 1 < result["changed"] <= 200
    writes(org)
    # all UserLogin rows in one sObject Collections call (≤ 200 per call), not one per user
    assert org.stats()["requests_by_route"]["composite_update"] == collections_before + 1
    during = frozen_state(org)
    for item in result["items"]:
        assert during[item["user_id"]] is True
        if item["user_id"] in already:
            assert item["status"] == "leave: already frozen"
    assert verify_journal(journal).ok
    run = users_cli(org, tmp_path, "unfreeze", "--journal", str(journal))
    assert run.code == 0, run.output
    assert frozen_state(org) == before
    assert verify_journal(journal).ok
    changes = [e for e in read_journal(journal) if e.kind == "change"]
    assert {e.action for e in changes} == {"freeze", "unfreeze"}
    assert all(e.before is not None and e.after is not None for e in changes)


def test_plan_csv_is_written_before_the_change(fresh_emulator: Any, tmp_path: Path) -> None:
    org = fresh_emulator
    name = username_of(org, "standard.user")
    plan = tmp_path / "who.csv"
    run = users_cli(org, tmp_path, "freeze", name, "--plan-file", str(plan),
                    "--journal", str(tmp_path / "j.jsonl"))
    assert run.code == 0, run.output
    rows = list(csv.DictReader(plan.open(encoding="utf-8")))
    assert [(r["username"], r["planned"], r["is_frozen_now"]) for r in rows] == \
        [(name, "freeze", "False")]
    entries = read_journal(tmp_path / "j.jsonl")
    assert entries[0].kind == "step_start" and entries[0].info["plan_file"] == str(plan)


def test_dry_run_writes_nothing(fresh_emulator: Any, tmp_path: Path) -> None:
    org = fresh_emulator
    before, count = frozen_state(org), writes(org)
    journal = tmp_path / "dry.jsonl"
    run = users_cli(org, tmp_path, "freeze", "--all-active", "--dry-run", "--journal",
                    str(journal))
    assert run.code == 0, run.output
    assert run.body["result"]["dry_run"] is True and run.body["result"]["journal"] is None
    assert any(i["status"] == "would freeze" for i in run.body["result"]["items"])
    assert writes(org) == count and frozen_state(org) == before
    assert not journal.exists() and Path(run.body["result"]["plan_file"]).is_file()


def test_audit_trail_records_freeze_and_unfreeze(fresh_emulator: Any, tmp_path: Path) -> None:
    org = fresh_emulator
    name = username_of(org, "departing.user")
    journal = tmp_path / "j.jsonl"
    assert users_cli(org, tmp_path, "freeze", name, "--journal", str(journal)).code == 0
    assert users_cli(org, tmp_path, "unfreeze", name, "--journal", str(journal)).code == 0
    actions = [r["Action"] for r in org_rows(
        org, "SELECT Action, Display FROM SetupAuditTrail ORDER BY CreatedDate")
        if name in (r["Display"] or "")]
    assert actions[-2:] == ["frozeuser", "unfrozeuser"]


def test_running_user_is_refused_with_exit_2(emulator: Any, tmp_path: Path) -> None:
    run = users_cli(emulator, tmp_path, "freeze", emulator.credentials.username)
    assert run.code == 2 and "running user" in run.body["message"]
    assert "\n" not in run.body["message"]


def test_unknown_username_is_one_line_exit_2(emulator: Any, tmp_path: Path) -> None:
    run = users_cli(emulator, tmp_path, "freeze", "nobody@nowhere.example")
    assert run.code == 2
    assert run.body["message"].startswith(
        "no such user in this org: 'nobody@nowhere.example' (named; no similar username)")


def test_nothing_named_is_a_usage_error(emulator: Any, tmp_path: Path) -> None:
    run = users_cli(emulator, tmp_path, "freeze")
    assert run.code == 2 and "--all-active" in run.body["message"]


def test_system_users_are_skipped_unless_named(fresh_emulator: Any, tmp_path: Path) -> None:
    org = fresh_emulator
    run = users_cli(org, tmp_path, "freeze", "--all-active", "--dry-run")
    refused = dict(run.body["result"]["refused"])
    system = org_rows(org, "SELECT Username FROM User WHERE IsActive = true AND UserType IN "
                           "('AutomatedProcess', 'CloudIntegrationUser')")
    for row in system:
        assert "only when named" in refused[row["Username"]]
    integration = username_of(org, "integration")
    assert "integration user" in refused[integration]
    run = users_cli(org, tmp_path, "freeze", integration, "--journal", str(tmp_path / "i.jsonl"))
    assert run.code == 0 and [i["status"] for i in run.body["result"]["items"]] == ["frozen"]


def test_keep_list_from_flags_and_config(fresh_emulator: Any, tmp_path: Path) -> None:
    org = fresh_emulator
    kept = username_of(org, "team.lead")
    run = users_cli(org, tmp_path, "freeze", "--all-active", "--dry-run", "--keep", kept,
                    "--keep-profile", "Read Only")
    refused = dict(run.body["result"]["refused"])
    assert "keep-list" in refused[kept]
    read_only = org_rows(org, "SELECT Username FROM User WHERE IsActive = true AND "
                              "Profile.Name = 'Read Only'")
    assert read_only and all("keep-list" in refused[r["Username"]] for r in read_only)
    touched = {i["username"] for i in run.body["result"]["items"]}
    assert kept not in touched


def test_without_terminal_and_without_yes_it_refuses(fresh_emulator: Any,
                                                     tmp_path: Path) -> None:
    org = fresh_emulator
    before = frozen_state(org)
    run = users_cli(org, tmp_path, "freeze", username_of(org, "standard.user"), yes=False)
    assert run.code == 2 and "--yes" in run.body["message"]
    assert frozen_state(org) == before


def user_ids(org: Any) -> dict[str, str]:
    return {r["Username"]: r["Id"] for r in org_rows(org, "SELECT Id, Username FROM User")}


def test_unfreeze_never_thaws_a_user_frozen_before(fresh_emulator: Any, tmp_path: Path) -> None:
    org = fresh_emulator
    ids = user_ids(org)
    frozen_ids = {uid for uid, f in frozen_state(org).items() if f}
    name = sorted(n for n, uid in ids.items() if uid in frozen_ids and
                  org_rows(org, f"SELECT IsActive FROM User WHERE Id = '{uid}'")[0]["IsActive"])[0]
    journal = tmp_path / "j.jsonl"
    run = users_cli(org, tmp_path, "freeze", name, "--journal", str(journal))
    assert run.code == 0 and run.body["result"]["items"][0]["status"] == "leave: already frozen"
    run = users_cli(org, tmp_path, "unfreeze", name, "--journal", str(journal))
    assert run.code == 2 and "frozen before stays frozen" in run.body["message"]
    assert frozen_state(org)[ids[name]] is True


def test_tampered_journal_stops_unfreeze(fresh_emulator: Any, tmp_path: Path) -> None:
    org = fresh_emulator
    name = username_of(org, "standard.user")
    journal = tmp_path / "j.jsonl"
    assert users_cli(org, tmp_path, "freeze", name, "--journal", str(journal)).code == 0
    text = journal.read_text(encoding="utf-8").replace('"IsFrozen":false', '"IsFrozen":null')
    journal.write_text(text, encoding="utf-8")
    run = users_cli(org, tmp_path, "unfreeze", "--journal", str(journal))
    assert run.code == 1 and "fails verification" in run.body["message"]
    assert frozen_state(org)[user_ids(org)[name]] is True


def test_user_without_manage_users_is_stopped_before_any_change(fresh_emulator: Any,
                                                                tmp_path: Path) -> None:
    from auth_support import invoke, write_config

    org = fresh_emulator
    std = testing.standard_login()
    cfg = write_config(tmp_path, org, auth="password", username=std.username,
                       consumer_key=org.credentials.consumer_key)
    env = {"SFEXIT_PASSWORD": std.password, "SFEXIT_SECURITY_TOKEN": std.security_token,
           "SFEXIT_CLIENT_SECRET": org.credentials.consumer_secret}
    target = username_of(org, "departing.user")
    before, count = frozen_state(org), writes(org)
    run = invoke(["--config", str(cfg), "--yes", "users", "freeze", target], env=env)
    assert run.code == 1 and run.body["name"] == "PermissionDenied"
    assert "Manage Users" in run.body["message"] and "Freeze Users" in run.body["message"]
    assert frozen_state(org) == before and writes(org) == count
    run = invoke(["--config", str(cfg), "users", "freeze", target, "--dry-run"], env=env)
    assert run.code == 0 and any("a real run would stop here" in w
                                 for w in run.body["warnings"])


def test_unfreeze_by_name_finds_the_freeze_in_the_journals_dir(fresh_emulator: Any,
                                                               tmp_path: Path) -> None:
    org = fresh_emulator
    name = username_of(org, "departing.user")
    run = users_cli(org, tmp_path, "freeze", name)  # default journal under the data dir
    assert run.code == 0 and Path(run.body["result"]["journal"]).is_file()
    assert frozen_state(org)[user_ids(org)[name]] is True
    run = users_cli(org, tmp_path, "unfreeze", name)
    assert run.code == 0, run.output
    assert [i["status"] for i in run.body["result"]["items"]] == ["unfrozen"]
    assert frozen_state(org)[user_ids(org)[name]] is False


def test_config_keep_list_is_honoured(fresh_emulator: Any, tmp_path: Path) -> None:
    from auth_support import invoke, password_env, password_profile, write_config

    org = fresh_emulator
    kept = username_of(org, "departing.user")
    cfg = write_config(tmp_path, org, **password_profile(org))
    cfg.write_text(cfg.read_text() + f'\n[users]\nkeep = ["{kept}"]\n'
                   'keep_profiles = ["Marketing User"]\n', encoding="utf-8")
    run = invoke(["--config", str(cfg), "users", "freeze", "--all-active", "--dry-run"],
                 env=password_env(org))
    refused = dict(run.body["result"]["refused"])
    assert "keep-list" in refused[kept]
    marketing = org_rows(org, "SELECT Username FROM User WHERE IsActive = true AND "
                              "Profile.Name = 'Marketing User'")
    assert marketing and all("keep-list" in refused[r["Username"]] for r in marketing)


def test_unfreeze_of_a_journal_without_freezes_changes_nothing(fresh_emulator: Any,
                                                               tmp_path: Path) -> None:
    from sfexit.journal import Journal

    org = fresh_emulator
    journal = tmp_path / "other.jsonl"
    Journal.open(journal).note("a journal of something else")
    text, before, count = journal.read_text(), frozen_state(org), writes(org)
    run = users_cli(org, tmp_path, "unfreeze", "--journal", str(journal))
    assert run.code == 0 and run.body["result"]["changed"] == 0
    assert journal.read_text() == text and frozen_state(org) == before and writes(org) == count


def test_unwritable_plan_file_stops_before_any_change(fresh_emulator: Any,
                                                      tmp_path: Path) -> None:
    org = fresh_emulator
    blocker = tmp_path / "a-file"
    blocker.write_text("x")
    before = frozen_state(org)
    run = users_cli(org, tmp_path, "freeze", username_of(org, "standard.user"),
                    "--plan-file", str(blocker / "plan.csv"))
    assert run.code == 2 and "cannot write the plan file" in run.body["message"]
    assert frozen_state(org) == before


def test_a_user_salesforce_refuses_to_freeze_gives_exit_5_in_one_envelope(
        fresh_emulator: Any, tmp_path: Path) -> None:
    org = fresh_emulator
    ids = user_ids(org)
    refused, fine = username_of(org, "departing.user"), username_of(org, "standard.user")
    testing.add_validation_rule(
        org, "UserLogin",
        lambda row: row.get("UserId") == ids[refused] and bool(row.get("IsFrozen")),
        "Leavers are frozen by HR")
    run = users_cli(org, tmp_path, "freeze", refused, fine, "--journal", str(tmp_path / "p.jsonl"))
    assert run.code == 5, run.output
    # status equals the exit code, and the result is still there beside the failure
    assert (run.body["status"], run.body["exitCode"], run.body["name"]) == (5, 5, "PartialFailure")
    assert run.body["message"].startswith("1 user(s) could not be frozen (journal: ")
    assert run.body["result"]["failed"] == 1 and run.body["result"]["changed"] == 1
    assert any("Leavers are frozen by HR" in w for w in run.body["warnings"])
    state = frozen_state(org)
    assert state[ids[fine]] is True and state[ids[refused]] is False


def test_partial_freeze_without_json_prints_the_report_and_one_error_line(
        fresh_emulator: Any, tmp_path: Path) -> None:
    from auth_support import password_env, password_profile, write_config
    from click.testing import CliRunner

    from sfexit.cli import cli

    org = fresh_emulator
    name = username_of(org, "departing.user")
    testing.add_validation_rule(org, "UserLogin", lambda row: bool(row.get("IsFrozen")),
                                "No freezing today")
    cfg = write_config(tmp_path, org, **password_profile(org))
    result = CliRunner().invoke(cli, ["--config", str(cfg), "--yes", "users", "freeze", name,
                                      "--journal", str(tmp_path / "h.jsonl")],
                                env=password_env(org))
    assert result.exit_code == 5
    assert "0 frozen, 1 failed." in result.stdout
    errors = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert errors == ["Error: 1 user(s) could not be frozen (journal: "
                      f"{tmp_path / 'h.jsonl'})"]


def test_the_freeze_dry_run_lists_each_user_once(fresh_emulator: Any, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from auth_support import password_env, password_profile, write_config
    from sfexit.cli import cli

    org = fresh_emulator
    cfg = write_config(tmp_path, org, **password_profile(org))
    run = CliRunner().invoke(cli, ["--config", str(cfg), "users", "freeze", "--all-active",
                                   "--dry-run"], env=password_env(org))
    assert run.exit_code == 0, run.output
    name = username_of(org, "standard.user")
    assert run.output.count(name + ":") == 1, run.output
    assert "written to" in run.stderr
