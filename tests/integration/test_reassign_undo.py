"""``sfexit reassign --undo JOURNAL`` and team members: every owner back, nothing lost."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path
from typing import Any

from auth_support import invoke
from test_reassign import (DEPARTING, STANDARD, add_leads, cli_env, owners, session_for, ticker,
                           user_id, writes)

from sfexit.journal import Journal, read_journal, verify_journal
from sfexit.people import ownership_read, ownership_transfer, ownership_undo
from sfexit_emulator import testing

OBJECTS = ("Account", "Contact", "Opportunity", "Case", "Lead", "Task", "Project__c")


def everything(org: Any) -> dict[str, dict[str, str]]:
    return {o: owners(org, o) for o in OBJECTS}


def test_undo_puts_every_owner_back(fresh_emulator: Any, tmp_path: Path) -> None:
    org = fresh_emulator
    before = everything(org)
    cfg, env = cli_env(tmp_path, org)
    journal = tmp_path / "r.jsonl"
    run = invoke([*cfg, "reassign", "--from", DEPARTING, "--to", STANDARD, "--objects",
                  ",".join(OBJECTS), "--journal", str(journal), "--yes"], env)
    assert run.code == 0, run.output
    assert run.body["result"]["moved_total"] > 100
    assert everything(org) != before
    undo = invoke([*cfg, "reassign", "--undo", str(journal), "--journal",
                   str(tmp_path / "u.jsonl"), "--yes"], env)
    assert undo.code == 0, undo.output
    assert undo.body["result"]["journal"] == str(tmp_path / "u.jsonl")
    assert undo.body["result"]["moved_total"] == run.body["result"]["moved_total"]
    assert everything(org) == before            # every record, every object
    assert verify_journal(tmp_path / "u.jsonl").ok


def test_undo_of_the_bulk_path_restores_every_owner(fresh_emulator: Any, tmp_path: Path) -> None:
    org = fresh_emulator
    add_leads(org, user_id(org, DEPARTING), 3_000)
    add_leads(org, user_id(org, "team.lead@sfexit-demo.example"), 500)
    before = owners(org, "Lead")
    session = session_for(org)
    plan = ownership_read.build_plan(
        session, [(DEPARTING, STANDARD), ("team.lead@sfexit-demo.example", STANDARD)], ["Lead"])
    journal = Journal.open(tmp_path / "r.jsonl")
    done = ownership_transfer.transfer(session, plan, journal, sleep=org.clock.advance,
                                       clock=ticker())
    assert done.objects[0].transport == "bulk" and done.failed == 0
    undone = ownership_undo.undo_transfer(session, journal.path, Journal.open(tmp_path / "u.jsonl"),
                                          sleep=org.clock.advance, clock=ticker())
    assert undone.objects[0].transport == "bulk" and undone.failed == 0
    assert owners(org, "Lead") == before


def test_undo_reports_what_could_not_be_restored(fresh_emulator: Any, tmp_path: Path) -> None:
    org = fresh_emulator
    dep = user_id(org, DEPARTING)
    cfg, env = cli_env(tmp_path, org)
    journal = tmp_path / "r.jsonl"
    assert invoke([*cfg, "reassign", "--from", DEPARTING, "--to", STANDARD, "--objects", "Case",
                   "--journal", str(journal), "--yes"], env).code == 0
    testing.update(org, "User", dep, {"IsActive": False})
    undo = invoke([*cfg, "reassign", "--undo", str(journal), "--journal",
                   str(tmp_path / "u.jsonl"), "--yes"], env)
    assert undo.code == 5, undo.output
    failure_file = Path(undo.body["result"]["failure_files"]["Case"])
    with failure_file.open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert rows and {r["StatusCode"] for r in rows} == {"INACTIVE_OWNER_OR_USER"}
    assert {r["NewOwnerId"] for r in rows} == {dep}
    assert undo.body["status"] == undo.body["exitCode"] == 5
    assert undo.body["result"]["failed_total"] == len(rows)


def test_undo_refuses_a_tampered_journal_and_changes_nothing(fresh_emulator: Any,
                                                            tmp_path: Path) -> None:
    org = fresh_emulator
    cfg, env = cli_env(tmp_path, org)
    journal = tmp_path / "r.jsonl"
    assert invoke([*cfg, "reassign", "--from", DEPARTING, "--to", STANDARD, "--objects",
                   "Account", "--journal", str(journal), "--yes"], env).code == 0
    lines = journal.read_text(encoding="utf-8").splitlines()
    entry = json.loads(lines[2])
    entry["target"]["rows"] = 1
    lines[2] = json.dumps(entry)
    journal.write_text("\n".join(lines) + "\n", encoding="utf-8")
    before = writes(org)
    undo = invoke([*cfg, "reassign", "--undo", str(journal), "--yes"], env)
    assert undo.code == 1
    assert "fails verification" in undo.body["message"]
    assert writes(org) == before


def test_undo_refuses_a_changed_snapshot_file(fresh_emulator: Any, tmp_path: Path) -> None:
    org = fresh_emulator
    cfg, env = cli_env(tmp_path, org)
    journal = tmp_path / "r.jsonl"
    run = invoke([*cfg, "reassign", "--from", DEPARTING, "--to", STANDARD, "--objects",
                  "Account", "--journal", str(journal), "--yes"], env)
    snapshot = Path(run.body["result"]["objects"][0]["snapshot"])
    snapshot.write_text(snapshot.read_text(encoding="utf-8") + "001x,005x,005y,\n",
                        encoding="utf-8")
    undo = invoke([*cfg, "reassign", "--undo", str(journal), "--yes"], env)
    assert undo.code == 1
    assert "changed since the journal recorded its sha256" in undo.body["message"]


def create_routes(org: Any, session: Any) -> dict[str, int]:
    session.get_json("data/limits")  # stats are counted after the response: settle first
    by_route = org.stats()["requests_by_route"]
    return {r: int(by_route.get(r, 0)) for r in ("composite_create", "sobject_create")}


def dropping_team_members(org: Any) -> list[tuple[str, str]]:
    """The account team rows the owner change will drop: those of the departing user's
    accounts (the emulator deletes an account's team on an API owner change, as Salesforce does
    since Winter '21, KB 000390190)."""
    dep = user_id(org, DEPARTING)
    mine = set(owners(org, "Account", f"WHERE OwnerId = '{dep}'"))
    return [(str(i), str(a)) for i, a in testing.rows(
        org, "SELECT Id, AccountId FROM AccountTeamMember") if a in mine]


def team_rows(org: Any, team: str, parent: str) -> set[tuple[str, str, str]]:
    return {(str(a), str(b), str(c))
            for a, b, c in testing.rows(org, f"SELECT {parent}, UserId, TeamMemberRole FROM {team}")}


def test_team_members_survive_the_owner_change(fresh_emulator: Any, tmp_path: Path) -> None:
    org = fresh_emulator
    accounts = set(owners(org, "Account"))
    teams = {"AccountTeamMember": team_rows(org, "AccountTeamMember", "AccountId"),
             "OpportunityTeamMember": team_rows(org, "OpportunityTeamMember", "OpportunityId")}
    cfg, env = cli_env(tmp_path, org)
    run = invoke([*cfg, "reassign", "--from", DEPARTING, "--to", STANDARD, "--objects",
                  "Account,Opportunity", "--journal", str(tmp_path / "t.jsonl"), "--yes"], env)
    assert run.code == 0, run.output
    assert accounts
    assert team_rows(org, "AccountTeamMember", "AccountId") == teams["AccountTeamMember"]
    assert team_rows(org, "OpportunityTeamMember", "OpportunityId") \
        == teams["OpportunityTeamMember"]


def test_team_members_dropped_by_the_change_are_added_back(fresh_emulator: Any,
                                                          tmp_path: Path) -> None:
    org = fresh_emulator
    expected = team_rows(org, "AccountTeamMember", "AccountId")
    dropped = dropping_team_members(org)
    assert dropped, "the seed should give the departing user's accounts some team members"
    session = session_for(org)
    plan = ownership_read.build_plan(session, [(DEPARTING, STANDARD)], ["Account"])
    journal = Journal.open(tmp_path / "t.jsonl")
    creates = create_routes(org, session)
    done = ownership_transfer.transfer(session, plan, journal, sleep=org.clock.advance,
                                       clock=ticker())
    assert done.objects[0].team_restored == len(dropped) and done.objects[0].team_failed == 0
    # re-added in sObject Collections calls of ≤ 200, never one POST per row
    after = create_routes(org, session)
    assert after["composite_create"] - creates["composite_create"] == math.ceil(len(dropped) / 200)
    assert after["sobject_create"] == creates["sobject_create"]
    assert team_rows(org, "AccountTeamMember", "AccountId") == expected
    restored = [e for e in read_journal(journal.path) if e.action == "restore_team_member"]
    assert {e.info["dropped_id"] for e in restored} == {i for i, _ in dropped}


def test_undo_dry_run_lists_what_it_would_restore_and_writes_nothing(fresh_emulator: Any,
                                                                     tmp_path: Path) -> None:
    org = fresh_emulator
    cfg, env = cli_env(tmp_path, org)
    journal = tmp_path / "r.jsonl"
    run = invoke([*cfg, "reassign", "--from", DEPARTING, "--to", STANDARD, "--objects",
                  "Account,Case", "--journal", str(journal), "--yes"], env)
    assert run.code == 0
    before = writes(org)
    undo = invoke([*cfg, "reassign", "--undo", str(journal), "--dry-run"], env)
    assert undo.code == 0
    rows = {o["object"]: o["rows"] for o in run.body["result"]["objects"]}
    assert undo.body["result"]["objects"] == rows
    assert writes(org) == before


def test_undo_takes_nothing_but_a_journal(emulator: Any, tmp_path: Path) -> None:
    cfg, env = cli_env(tmp_path, emulator)
    (tmp_path / "x.jsonl").write_text("", encoding="utf-8")
    undo = invoke([*cfg, "reassign", "--undo", str(tmp_path / "x.jsonl"), "--from", DEPARTING],
                  env)
    assert undo.code == 2 and "--undo takes only a journal" in undo.body["message"]


def test_a_team_member_salesforce_refuses_to_re_add_is_journaled_and_exits_5(
        fresh_emulator: Any, tmp_path: Path) -> None:
    org = fresh_emulator
    dropped = dropping_team_members(org)
    assert len(dropped) >= 2, "the seed should give the departing user's accounts team members"
    refused_account = dropped[0][1]
    testing.add_validation_rule(
        org, "AccountTeamMember", lambda row: row.get("AccountId") == refused_account,
        "Teams of this account are managed by territory rules")
    refused = [i for i, a in dropped if a == refused_account]
    cfg, env = cli_env(tmp_path, org)
    journal = tmp_path / "t.jsonl"
    run = invoke([*cfg, "reassign", "--from", DEPARTING, "--to", STANDARD, "--objects",
                  "Account", "--journal", str(journal), "--yes"], env)
    assert run.code == 5, run.output
    assert run.body["status"] == run.body["exitCode"] == 5
    assert run.body["message"].startswith(f"{len(refused)} team members not re-added")
    [account] = run.body["result"]["objects"]
    assert account["failed"] == 0 and account["team_failed"] == len(refused)
    assert account["team_restored"] == len(dropped) - len(refused)
    notes = [e for e in read_journal(journal) if e.kind == "note"]
    assert {e.info["dropped_id"] for e in notes} == set(refused)
    assert all(e.info["error"] == "FIELD_CUSTOM_VALIDATION_EXCEPTION" for e in notes)
    assert verify_journal(journal).ok
