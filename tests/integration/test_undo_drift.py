"""Undo never overwrites a later change (issue 19, Safety 2): records, frozen users and
deactivated users changed by someone after sfexit are left alone and reported, and a second
identical undo rewrites nothing and says so in its journal."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from auth_support import invoke
from test_reassign import DEPARTING, STANDARD, cli_env, owners, user_id, writes
from users_support import org_rows, users_cli

from sfexit.journal import read_journal, verify_journal
from sfexit.people import deactivate as deact
from sfexit_emulator import testing

LEAD = "team.lead@sfexit-demo.example"


def move(org: Any, sobject: str, ids: list[str], owner: str) -> None:
    with testing.writes(org) as batch:
        for record_id in ids:
            batch.update(sobject, record_id, {"OwnerId": owner})


def test_undo_leaves_records_changed_since_with_their_new_owner(fresh_emulator: Any,
                                                                tmp_path: Path) -> None:
    org = fresh_emulator
    dep, std, lead = user_id(org, DEPARTING), user_id(org, STANDARD), user_id(org, LEAD)
    cfg, env = cli_env(tmp_path, org)
    before = owners(org, "Case", "WHERE IsClosed = FALSE")   # the open ones move
    moved = sorted(i for i, o in before.items() if o == dep)
    assert len(moved) >= 3
    journal = tmp_path / "r.jsonl"
    run = invoke([*cfg, "reassign", "--from", DEPARTING, "--to", STANDARD, "--objects", "Case",
                  "--journal", str(journal), "--yes"], env)
    assert run.code == 0, run.output
    later = moved[:2]                       # B→C by someone after sfexit moved them A→B
    move(org, "Case", later, lead)

    dry = invoke([*cfg, "reassign", "--undo", str(journal), "--dry-run"], env)
    assert dry.body["result"]["objects"] == {"Case": len(moved) - 2}
    assert dry.body["result"]["drifted"] == {"Case": 2}

    undo = invoke([*cfg, "reassign", "--undo", str(journal), "--journal",
                   str(tmp_path / "u1.jsonl"), "--yes"], env)
    assert undo.code == 0, undo.output
    result = undo.body["result"]
    assert result["moved_total"] == len(moved) - 2 and result["drifted_total"] == 2
    now = owners(org, "Case")
    assert all(now[i] == lead for i in later)                     # the later change stands
    assert all(now[i] == dep for i in moved[2:])                  # the rest is back
    assert any("changed owner after sfexit" in w for w in undo.body["warnings"])
    drift_file = Path(result["drift_files"]["Case"])
    assert drift_file.name == "drifted-Case.csv"
    with drift_file.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert sorted(r["Id"] for r in rows) == later
    assert {(r["CurrentOwnerId"], r["CurrentOwner"], r["SfexitOwnerId"], r["OriginalOwnerId"])
            for r in rows} == {(lead, LEAD, std, dep)}
    notes = [e for e in read_journal(tmp_path / "u1.jsonl") if e.kind == "note"]
    assert any(e.info.get("drifted") == 2 and e.info.get("drift_file") for e in notes)

    writes_before = writes(org)
    again = invoke([*cfg, "reassign", "--undo", str(journal), "--journal",
                    str(tmp_path / "u2.jsonl"), "--yes"], env)
    assert again.code == 0, again.output
    assert again.body["result"]["moved_total"] == 0
    assert writes(org) == writes_before                           # nothing rewritten
    assert owners(org, "Case") == now
    second = read_journal(tmp_path / "u2.jsonl")
    assert not [e for e in second if e.kind == "change"]
    assert any(e.kind == "note" and e.info.get("no_op") for e in second)
    assert verify_journal(tmp_path / "u2.jsonl").ok


def frozen(org: Any, username: str) -> bool:
    uid = org_rows(org, f"SELECT Id FROM User WHERE Username = '{username}'")[0]["Id"]
    return bool(org_rows(org, f"SELECT IsFrozen FROM UserLogin WHERE UserId = '{uid}'")[0][
        "IsFrozen"])


def set_frozen(org: Any, username: str, value: bool) -> None:
    uid = org_rows(org, f"SELECT Id FROM User WHERE Username = '{username}'")[0]["Id"]
    login = org_rows(org, f"SELECT Id FROM UserLogin WHERE UserId = '{uid}'")[0]["Id"]
    with testing.writes(org) as batch:
        batch.update("UserLogin", login, {"IsFrozen": value})


def test_unfreeze_leaves_a_user_unfrozen_by_hand_alone_and_reports_it(
        fresh_emulator: Any, tmp_path: Path) -> None:
    org = fresh_emulator
    journal = tmp_path / "f.jsonl"
    run = users_cli(org, tmp_path, "freeze", STANDARD, LEAD, "--journal", str(journal))
    assert run.code == 0 and frozen(org, STANDARD) and frozen(org, LEAD)
    set_frozen(org, LEAD, False)              # an admin let them back in by hand
    undo = users_cli(org, tmp_path, "unfreeze", "--journal", str(journal))
    assert undo.code == 0, undo.output
    items = {i["username"]: i for i in undo.body["result"]["items"]}
    assert items[STANDARD]["status"] == "unfrozen"
    assert items[LEAD]["status"].startswith("leave: changed since sfexit")
    assert not frozen(org, LEAD) and not frozen(org, STANDARD)
    notes = [e for e in read_journal(journal) if e.kind == "note"]
    assert any(e.info.get("drifted") and e.info.get("username") == LEAD for e in notes)
    count, seen = writes(org), len(read_journal(journal))
    again = users_cli(org, tmp_path, "unfreeze", "--journal", str(journal))
    assert again.code == 0, again.output
    assert writes(org) == count                     # a repeated undo rewrites nobody
    new = read_journal(journal)[seen:]
    assert not [e for e in new if e.kind in ("change", "intent")]
    assert any(e.info.get("drifted") for e in new)  # and still reports the drift
    set_frozen(org, LEAD, True)
    rethawed = users_cli(org, tmp_path, "unfreeze", "--journal", str(journal))
    assert rethawed.code == 0 and not frozen(org, LEAD)   # sfexit's freeze, undone
    count = writes(org)
    last = users_cli(org, tmp_path, "unfreeze", "--journal", str(journal))
    assert last.code == 0 and writes(org) == count
    assert read_journal(journal)[-1].info.get("no_op") is True    # nothing left: said so


def test_reactivation_leaves_a_user_reactivated_by_hand_alone_and_reports_it(
        fresh_emulator: Any, tmp_path: Path) -> None:
    org = fresh_emulator
    journal = tmp_path / "d.jsonl"
    run = users_cli(org, tmp_path, "deactivate", STANDARD, LEAD, "--journal", str(journal),
                    "--ignore-blockers")
    assert run.code in (0, 5), run.output
    gone = [i["username"] for i in run.body["result"]["items"] if i["status"] == "deactivated"]
    assert gone
    back_by_hand = gone[0]
    testing.update(org, "User", user_id(org, back_by_hand), {"IsActive": True})
    undo = users_cli(org, tmp_path, "deactivate", "--undo", str(journal))
    assert undo.code == 0, undo.output
    items = {i["username"]: i for i in undo.body["result"]["items"]}
    assert items[back_by_hand]["status"].startswith("leave: changed since sfexit")
    notes = [e for e in read_journal(journal) if e.kind == "note"]
    assert any(e.info.get("drifted") and e.info.get("username") == back_by_hand for e in notes)
    count = writes(org)
    again = users_cli(org, tmp_path, "deactivate", "--undo", str(journal))
    assert again.code == 0, again.output
    assert writes(org) == count                     # a repeated undo rewrites nobody
    assert {i["status"] for i in again.body["result"]["items"]} == {deact.DRIFTED}
