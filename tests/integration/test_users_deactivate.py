"""`sfexit users deactivate`: blocker scan first, one user per call, verbatim errors, undo."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from auth_support import admin_get, writes
from users_support import active, org_rows, username_of, users_cli

from sfexit.journal import read_journal, verify_journal
from sfexit.people.blockers import SETUP_ONLY




def report_for(run: Any, username: str) -> dict[str, Any]:
    return next(r for r in run.body["result"]["blockers"] if r["username"] == username)


def test_check_finds_the_hierarchy_and_manager_blockers(emulator: Any, tmp_path: Path) -> None:
    users = {r["Id"]: r["Username"] for r in org_rows(emulator, "SELECT Id, Username FROM User")}
    rows = org_rows(emulator, "SELECT Username, ManagerId, Escalation_Manager__c FROM User")
    for field in ("ManagerId", "Escalation_Manager__c"):
        target_id = next(r[field] for r in rows if r[field])
        target = users[target_id]
        run = users_cli(emulator, tmp_path, "deactivate", "--check", target)
        assert run.code == 5, run.output   # a blocker found: those users would be held back
        assert run.body["name"] == "BlockersFound" and target in run.body["message"]
        found = " ".join(report_for(run, target)["found"])
        assert f"User.{field}" in found
        for r in rows:
            if r[field] == target_id:
                assert r["Username"] in found


def test_unreadable_sources_are_unknown_never_clear(emulator: Any, tmp_path: Path) -> None:
    name = username_of(emulator, "lead.router")
    run = users_cli(emulator, tmp_path, "deactivate", "--check", name)
    checks = {c["source"]: c for c in report_for(run, name)["checks"]}
    for source, path in SETUP_ONLY:
        assert checks[source]["status"] == "unknown" and checks[source]["setup_path"] == path
    exposed = {o["name"] for o in admin_get(emulator, "/services/data/v60.0/sobjects/")["sobjects"]}
    for obj, source in (("Dashboard", "Dashboards running as the user"),
                        ("ProcessInstanceWorkitem",
                         "Pending approval requests assigned to the user")):
        if obj not in exposed:
            assert checks[source]["status"] == "unknown"
    assert any("unknown, not clear" in w for w in run.body["warnings"])


def test_queue_membership_is_reported_but_does_not_block(emulator: Any, tmp_path: Path) -> None:
    name = username_of(emulator, "lead.router")
    run = users_cli(emulator, tmp_path, "deactivate", "--check", name)
    report = report_for(run, name)
    queue = next(c for c in report["checks"] if c["source"] == "Queue and group memberships")
    assert queue["status"] == "found" and "Lead Qualification" in queue["detail"]
    assert report["found"] == []


def test_check_and_dry_run_write_nothing(fresh_emulator: Any, tmp_path: Path) -> None:
    org = fresh_emulator
    count = writes(org)
    name = username_of(org, "standard.user")
    assert users_cli(org, tmp_path, "deactivate", "--check", name).code == 0
    run = users_cli(org, tmp_path, "deactivate", "--dry-run", name)
    assert run.code == 0 and run.body["result"]["items"][0]["status"] == "would deactivate"
    assert writes(org) == count and active(org, name)


def test_salesforce_refusal_is_reported_verbatim(fresh_emulator: Any, tmp_path: Path) -> None:
    org = fresh_emulator
    name = username_of(org, "lead.router")  # Default Lead Owner: only Salesforce knows
    run = users_cli(org, tmp_path, "deactivate", name, "--journal", str(tmp_path / "d.jsonl"))
    assert run.code == 5
    [item] = run.body["result"]["items"]
    assert item["status"] == "failed" and item["status_code"]
    assert item["message"] and "\n" not in item["message"]
    assert any(item["message"] in w for w in run.body["warnings"])
    assert active(org, name)
    assert (run.body["status"], run.body["exitCode"], run.body["name"]) == (5, 5, "PartialFailure")
    assert run.body["message"].startswith("1 user(s) could not be deactivated")


def test_found_blocker_holds_the_user_back(fresh_emulator: Any, tmp_path: Path) -> None:
    org = fresh_emulator
    name = username_of(org, "escalation.manager")
    count = writes(org)
    run = users_cli(org, tmp_path, "deactivate", name, "--journal", str(tmp_path / "d.jsonl"))
    assert run.code == 5
    [item] = run.body["result"]["items"]
    assert item["status"] == "blocked" and "Escalation_Manager__c" in " ".join(item["blockers"])
    assert writes(org) == count and active(org, name)


def test_hierarchy_error_from_salesforce_names_the_field(fresh_emulator: Any,
                                                         tmp_path: Path) -> None:
    org = fresh_emulator
    name = username_of(org, "escalation.manager")
    run = users_cli(org, tmp_path, "deactivate", name, "--ignore-blockers",
                    "--journal", str(tmp_path / "d.jsonl"))
    [item] = run.body["result"]["items"]
    assert run.code == 5 and item["status"] == "failed"
    assert "hierarchy field" in item["message"] and "Escalation Manager" in item["message"]


def test_deactivate_then_undo_restores_the_user(fresh_emulator: Any, tmp_path: Path) -> None:
    org = fresh_emulator
    name = username_of(org, "standard.user")
    journal = tmp_path / "d.jsonl"
    run = users_cli(org, tmp_path, "deactivate", name, "--journal", str(journal))
    assert run.code == 0, run.output
    assert run.body["result"]["journal"] == str(journal)
    assert not active(org, name)
    audit = org_rows(org, "SELECT Action, Display FROM SetupAuditTrail")
    assert any(a["Action"] == "deactivateduser" and name in a["Display"] for a in audit)
    run = users_cli(org, tmp_path, "deactivate", "--undo", str(journal))
    assert run.code == 0, run.output
    assert any("free licence" in w for w in run.body["warnings"])
    assert active(org, name)
    assert verify_journal(journal).ok
    assert [e.action for e in read_journal(journal) if e.kind == "change"] == \
        ["deactivate", "reactivate"]


def test_running_user_and_last_admin_rules_apply(emulator: Any, tmp_path: Path) -> None:
    run = users_cli(emulator, tmp_path, "deactivate", emulator.credentials.username)
    assert run.code == 2 and "running user" in run.body["message"]


def test_no_names_and_no_all_active_is_a_usage_error(emulator: Any, tmp_path: Path) -> None:
    run = users_cli(emulator, tmp_path, "deactivate", "--check")
    assert run.code == 2 and "--all-active" in run.body["message"]


def test_check_counts_what_it_lists_and_names_unknown_sources_once(emulator: Any,
                                                                    tmp_path: Path) -> None:
    from click.testing import CliRunner

    from auth_support import password_env, password_profile, write_config
    from sfexit.cli import cli

    names = [username_of(emulator, "lead.router"), username_of(emulator, "standard.user")]
    cfg = write_config(tmp_path, emulator, **password_profile(emulator))
    run = CliRunner().invoke(cli, ["--config", str(cfg), "users", "deactivate", "--check",
                                   *names], env=password_env(emulator))
    out = run.stdout
    blocks = out.split("Unknown, not clear")[0]
    for name in names:
        head = next(line for line in blocks.splitlines() if line.startswith(name + ":"))
        section = blocks.split(head)[1].split("\n" + names[1] + ":")[0]
        listed = sum(" FOUND" in line for line in section.splitlines())
        assert head.endswith(f"{listed} blocker{'' if listed == 1 else 's'} found"), out
    for source, _path in SETUP_ONLY:
        lines = [line for line in out.splitlines() if line.strip().startswith(source + ":")]
        assert len(lines) == 1, out   # once for everyone, not once per user
    assert "found (does not block)" in out   # lead.router's queue, not counted as a blocker
    assert run.exit_code == (5 if " FOUND" in blocks else 0)
