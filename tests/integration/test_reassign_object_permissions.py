"""Without Modify All Data, moving records needs Transfer Record AND edit on each object with
records to move (help.sf ``data_about_transfer.htm``): the preflight reads the running user's
ObjectPermissions for those objects only, once; ``sfexit reassign`` refuses before any write,
naming the object; ``sfexit offboard --dry-run`` reports the object with what it costs; and
with Modify All Data nothing is read at all."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from auth_support import invoke, password_env, password_profile, write_config
from offboard_support import offboard, offboard_config, run_json, writes
from users_support import org_rows

from sfexit_emulator import testing

DOMAIN = "@sfexit-demo.example"
DEPARTING = "departing.user" + DOMAIN
STANDARD = "standard.user" + DOMAIN


def my_sets(org: Any) -> tuple[str, list[str]]:
    """The running (demo admin) user's profile id and permission set ids, from the store."""
    me = org_rows(org, "SELECT Id, ProfileId FROM User WHERE Username = "
                       f"'{org.credentials.username}'")[0]
    sets = [r["PermissionSetId"] for r in org_rows(
        org, f"SELECT PermissionSetId FROM PermissionSetAssignment WHERE AssigneeId = '{me['Id']}'")]
    return me["ProfileId"], sets


def without_edit_on(org: Any, sobject: str) -> None:
    """As an admin would set it up: the running user keeps Transfer Record but loses Modify
    All Data, and every one of their permission sets loses Edit (and Modify All) on
    ``sobject``."""
    profile, sets = my_sets(org)
    quoted = ",".join(f"'{s}'" for s in sets)
    rows = org_rows(org, f"SELECT Id FROM ObjectPermissions WHERE SobjectType = '{sobject}' "
                         f"AND ParentId IN ({quoted})")
    assert rows, "the admin's profile set has a row for the object"
    with testing.writes(org) as batch:
        batch.update("Profile", profile, {"PermissionsModifyAllData": False})
        for ps in sets:
            batch.update("PermissionSet", ps, {"PermissionsModifyAllData": False})
        for row in rows:
            batch.update("ObjectPermissions", row["Id"],
                         {"PermissionsEdit": False, "PermissionsDelete": False,
                          "PermissionsModifyAllRecords": False})
    assert org_rows(org, f"SELECT Id FROM Profile WHERE Id = '{profile}' "
                         "AND PermissionsTransferAnyEntity = true")


def reassign(org: Any, tmp_path: Path, *args: str) -> Any:
    config = write_config(tmp_path, org, **password_profile(org))
    return invoke(["--config", str(config), "reassign", "--from", DEPARTING, "--to", STANDARD,
                   *args], env=password_env(org))


def planned(org: Any, tmp_path: Path) -> dict[str, int]:
    run = reassign(org, tmp_path / "plan", "--dry-run")
    assert run.code == 0, run.output
    return {s["object"]: s["count"] for s in run.body["result"]["plan"]["steps"]}


def reading(texts: list[str], sobject: str) -> list[str]:
    """The SOQL texts (from ``testing.soql_log``) that read ``sobject``."""
    return [t for t in texts if f"FROM {sobject}" in t]


def query_calls(org: Any) -> int:
    return int(org.stats()["requests_by_route"].get("query", 0))


def test_reassign_refuses_before_any_write_naming_the_object_it_cannot_edit(
        fresh_emulator: Any, tmp_path: Path) -> None:
    org = fresh_emulator
    counts = planned(org, tmp_path)
    assert counts["Opportunity"] > 0 and counts["Account"] > 0
    without_edit_on(org, "Opportunity")
    before = writes(org)
    run = reassign(org, tmp_path / "real", "--yes")
    assert run.code == 1, run.output
    assert run.body["name"] == "PermissionDenied"
    message = run.body["message"]
    assert "\n" not in message
    assert message.startswith("cannot reassign records: the running user cannot move "
                              f"Opportunity (no edit access, {counts['Opportunity']:,} records)"
                              " (ask an admin")
    assert "Account" not in message and "leave those objects out with --objects" in message
    assert writes(org) == before
    # the objects it may move, left to it with --objects, move
    moved = reassign(org, tmp_path / "rest", "--yes", "--objects", "Account")
    assert moved.code == 0, moved.output
    assert moved.body["result"]["moved_total"] == counts["Account"]


def test_dry_run_of_reassign_warns_with_the_same_line_and_writes_nothing(
        fresh_emulator: Any, tmp_path: Path) -> None:
    org = fresh_emulator
    without_edit_on(org, "Opportunity")
    before = writes(org)
    run = reassign(org, tmp_path, "--dry-run")
    assert run.code == 0, run.output
    assert any("a real run would stop here: cannot reassign records: the running user cannot "
               "move Opportunity (no edit access" in w for w in run.body["warnings"]), run.body
    assert writes(org) == before


def test_the_org_refuses_the_owner_change_the_preflight_refused(fresh_emulator: Any) -> None:
    """The emulator enforces the same rule (so a run forced past the check fails per record):
    Salesforce's INSUFFICIENT_ACCESS_OR_READONLY for the object the user cannot edit."""
    org = fresh_emulator
    without_edit_on(org, "Opportunity")
    me = org_rows(org, f"SELECT Id FROM User WHERE Username = '{org.credentials.username}'")[0]
    departing = org_rows(org, f"SELECT Id FROM User WHERE Username = '{DEPARTING}'")[0]["Id"]
    standard = org_rows(org, f"SELECT Id FROM User WHERE Username = '{STANDARD}'")[0]["Id"]
    opp = org_rows(org, f"SELECT Id FROM Opportunity WHERE OwnerId = '{departing}' LIMIT 1")[0]
    with pytest.raises(testing.SalesforceFault) as refused:
        testing.update(org, "Opportunity", opp["Id"], {"OwnerId": standard}, as_user=me["Id"])
    assert (refused.value.error_code, refused.value.message) == \
        ("INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id")
    account = org_rows(org, f"SELECT Id FROM Account WHERE OwnerId = '{departing}' LIMIT 1")[0]
    testing.update(org, "Account", account["Id"], {"OwnerId": standard}, as_user=me["Id"])


def test_offboard_dry_run_reports_the_object_and_what_stays_behind(
        fresh_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    org = fresh_emulator
    without_edit_on(org, "Opportunity")
    config = offboard_config(tmp_path, org)
    before = writes(org)
    run = offboard(config, org, "--dry-run", "--run-dir", str(tmp_path / "dry"))
    assert run.code == 0, run.output
    assert writes(org) == before
    state = run_json(tmp_path / "dry")
    steps = {s["name"]: s for s in state["steps"]}
    moving = {s["object"]: s["count"] for s in steps["reassign"]["result"]["steps"]}
    pre = steps["preflight"]["result"]["permission_checks"]
    reassign_check = next(c for c in pre if c["step"] == "reassign")
    assert reassign_check["refused"] is False     # the other objects can still move
    edit = next(r for r in reassign_check["requirements"]
                if r["code"] == "reassign_object_edit")
    assert edit["status"] == "missing"
    by_object = {o["object"]: o for o in edit["objects"]}
    assert set(by_object) == {o for o, n in moving.items() if n}
    assert by_object["Opportunity"] == {"object": "Opportunity", "status": "missing",
                                        "lacks": "edit", "records": moving["Opportunity"]}
    assert {o["status"] for name, o in by_object.items() if name != "Opportunity"} == {"granted"}
    line = (f"Opportunity: no edit access — its {moving['Opportunity']:,} records stay with "
            "the departing users")
    assert edit["consequence"] == line
    [coded] = [w for w in state["warning_codes"] if w["params"].get("object") == "Opportunity"]
    assert coded["code"] == "permission_missing" and coded["params"]["lacks"] == "edit"
    assert coded["params"]["records"] == moving["Opportunity"]
    assert f"reassign: {line}" in state["warnings"]
    report = json.loads((tmp_path / "dry" / "report.json").read_text(encoding="utf-8"))
    by_step = {c["step"]: c for c in report["preflight"]["permissions"]}
    [need] = [r for r in by_step["reassign"]["requirements"]
              if r["code"] == "reassign_object_edit"]
    assert need["status"] == "missing"
    german = invoke(["report", "render", str(tmp_path / "dry"), "--lang", "de"])
    assert german.code == 0, german.output
    page = (tmp_path / "dry" / "report.de.html").read_text(encoding="utf-8")
    assert "Opportunity: kein Bearbeitungszugriff" in page and "no edit access" not in page


def test_with_modify_all_data_no_object_permissions_are_read(fresh_emulator: Any,
                                                              tmp_path: Path) -> None:
    org = fresh_emulator
    with testing.soql_log(org) as texts:
        calls = query_calls(org)
        granted = reassign(org, tmp_path / "mad", "--dry-run")
        assert granted.code == 0, granted.output
        with_mad = query_calls(org) - calls
        assert reading(texts, "ObjectPermissions") == []
        assert not any("would stop" in w for w in granted.body["warnings"])

        without_edit_on(org, "Opportunity")
        texts.clear()            # the setup's own reads of the store
        calls = query_calls(org)
        restricted = reassign(org, tmp_path / "no-mad", "--dry-run")
        assert restricted.code == 0, restricted.output
    [read] = reading(texts, "ObjectPermissions")        # one query for every object, once
    assert "SobjectType IN (" in read and "ParentId IN (" in read
    assert "'Task'" not in read and "'Note'" not in read   # no object permissions there
    assert query_calls(org) - calls == with_mad + 1


def test_offboard_holds_back_the_object_it_may_not_move_and_moves_the_rest(
        fresh_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real run does not send the blocked object's records to fail one by one: they stay
    with the departing users, the step is partial with the reason, the rest moves."""
    org = fresh_emulator
    without_edit_on(org, "Opportunity")
    departing = org_rows(org, f"SELECT Id FROM User WHERE Username = '{DEPARTING}'")[0]["Id"]
    owned = len(org_rows(org, f"SELECT Id FROM Opportunity WHERE OwnerId = '{departing}'"))
    accounts = org_rows(org, f"SELECT Id FROM Account WHERE OwnerId = '{departing}'")
    assert owned > 0 and accounts
    config = offboard_config(tmp_path, org)
    run = offboard(config, org, "--yes", "--run-dir", str(tmp_path / "real"))
    step = {s["name"]: s for s in run_json(tmp_path / "real")["steps"]}["reassign"]
    assert step["status"] == "partial" and step["reason_code"] == "reassign_held", step
    assert step["result"]["held_back"]["Opportunity"] >= owned
    assert "Opportunity" not in step["result"]["moved"]
    assert step["result"]["failed_total"] == 0          # nothing was sent to fail
    still = len(org_rows(org, f"SELECT Id FROM Opportunity WHERE OwnerId = '{departing}'"))
    assert still == owned                               # stayed with the departing user
    assert len(org_rows(org, f"SELECT Id FROM Account WHERE OwnerId = '{departing}'")) == 0
    assert run.code == 5, run.output                    # partial: some records did not move
