"""``sfexit offboard``'s preflight checks what every step that runs needs of the running user:
a dry run reports what is missing and what would be missed, a real run refuses before the first
change when a step cannot work, and ``--skip STEP`` leaves that step out."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from offboard_support import offboard, offboard_config, run_json, writes
from users_support import org_rows

from sfexit_emulator import testing


def take_away(org: Any, *permissions: str) -> None:
    """Remove ``permissions`` from the running user's profile and from every permission set
    assigned to them, in the emulator's store (the org as an admin would change it)."""
    me = org_rows(org, "SELECT Id, ProfileId FROM User WHERE Username = "
                       f"'{org.credentials.username}'")[0]
    sets = [r["PermissionSetId"] for r in org_rows(
        org, f"SELECT PermissionSetId FROM PermissionSetAssignment WHERE AssigneeId = "
             f"'{me['Id']}'")]
    known = {f["name"] for f in testing.describe(org, "PermissionSet")["fields"]}
    with testing.writes(org) as batch:
        batch.update("Profile", me["ProfileId"], dict.fromkeys(permissions, False))
        for ps in sets:
            batch.update("PermissionSet", ps,
                         {p: False for p in permissions if p in known})


def checks_of(state: dict[str, Any]) -> dict[str, dict[str, Any]]:
    pre = next(s for s in state["steps"] if s["name"] == "preflight")
    return {c["step"]: c for c in pre["result"]["permission_checks"]}


def requirement(check: dict[str, Any], code: str) -> dict[str, Any]:
    return next(r for r in check["requirements"] if r["code"] == code)


@pytest.fixture
def no_freeze_rights(fresh_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                     ) -> tuple[Any, Path]:
    org = fresh_emulator
    take_away(org, "PermissionsManageUsers", "PermissionsFreezeUsers",
              "PermissionsViewAllData")
    return org, offboard_config(tmp_path, org)


def test_dry_run_reports_each_missing_permission_with_what_it_costs(
        no_freeze_rights: tuple[Any, Path], tmp_path: Path) -> None:
    org, config = no_freeze_rights
    before = writes(org)
    run = offboard(config, org, "--dry-run", "--run-dir", str(tmp_path / "dry"))
    assert run.code == 0, run.output
    assert writes(org) == before
    state = run_json(tmp_path / "dry")
    checks = checks_of(state)
    # every step that runs and needs something, and only those (deactivate is off)
    assert list(checks) == ["export", "freeze", "reassign"]
    freeze = requirement(checks["freeze"], "freeze_users")
    assert freeze["needs"] == ["Manage Users", "Freeze Users"]
    assert freeze["status"] == "missing" and checks["freeze"]["refused"] is True
    assert "nobody can be frozen" in freeze["consequence"]
    view_all = requirement(checks["export"], "export_view_all")
    assert view_all["status"] == "missing" and checks["export"]["refused"] is False
    assert "records not shared with the running user are not exported" in \
        view_all["consequence"]
    assert requirement(checks["export"], "export_api")["status"] == "granted"
    assert requirement(checks["reassign"], "reassign_transfer")["status"] == "granted"
    # the admin has Modify All Data: object access needs no reading
    assert requirement(checks["reassign"], "reassign_object_edit")["status"] == "granted"
    # the same in the warnings, the --json result and the report
    assert freeze["consequence"] in " ".join(state["warnings"])
    assert run.body["result"]["permissions"] == list(checks.values())
    report = json.loads((tmp_path / "dry" / "report.json").read_text(encoding="utf-8"))
    by_step = {c["step"]: c for c in report["preflight"]["permissions"]}
    assert by_step["freeze"]["refused"] is True
    assert {r["code"]: r["status"] for r in by_step["freeze"]["requirements"]} == \
        {"freeze_users": "missing"}
    page = (tmp_path / "dry" / "report.html").read_text(encoding="utf-8")
    assert 'id="permissions"' in page
    assert '<tr class="fail"><td>Freeze users</td>' in page


def test_a_permission_the_org_does_not_show_is_unknown_never_granted() -> None:
    """Freeze Users is not a field of this org's PermissionSet: without Manage Users the
    freeze step is unknown, and (its own check refuses it) a real run would not start."""
    from sfexit.org.permissions import UserPermissions
    from sfexit.people.permissions import check_step

    perms = UserPermissions("005x", frozenset({"ViewAllData"}), frozenset({"FreezeUsers"}))
    freeze = check_step(perms, "freeze")
    assert freeze.requirements[0].status == "unknown" and freeze.refusal
    assert "could not be read" in freeze.refusal
    granted = check_step(UserPermissions("005x", frozenset({"FreezeUsers"})), "freeze")
    assert granted.requirements[0].status == "granted" and granted.refusal is None


def test_real_run_refuses_before_any_change_and_skip_lets_it_go_on(
        no_freeze_rights: tuple[Any, Path], tmp_path: Path) -> None:
    org, config = no_freeze_rights
    before = writes(org)
    refused = offboard(config, org, "--yes", "--run-dir", str(tmp_path / "refused"))
    assert refused.code == 1, refused.output
    assert refused.body["name"] == "PermissionDenied"
    assert "freeze: cannot freeze users" in refused.body["message"]
    assert "--skip freeze" in refused.body["message"]
    assert writes(org) == before
    state = run_json(tmp_path / "refused")
    pre = next(s for s in state["steps"] if s["name"] == "preflight")
    assert pre["status"] == "failed" and pre["reason_code"] == "permissions_refused"
    assert pre["reason_params"] == {"steps": "freeze"}
    assert not (tmp_path / "refused" / "export").exists()
    assert not (tmp_path / "refused" / "journal.jsonl").exists()
    assert state["finished_at"]

    run = offboard(config, org, "--yes", "--skip", "freeze", "--run-dir", str(tmp_path / "r"))
    assert run.code == 0, run.output
    state = run_json(tmp_path / "r")
    status = {s["name"]: s["status"] for s in state["steps"]}
    assert status["freeze"] == "skipped" and status["export"] == status["reassign"] == "done"
    assert "freeze" not in checks_of(state)   # a skipped step is not checked
    assert writes(org) > before


def test_a_refused_run_resumed_with_skip_goes_on_without_that_step(
        no_freeze_rights: tuple[Any, Path], tmp_path: Path) -> None:
    org, config = no_freeze_rights
    run_dir = tmp_path / "r"
    assert offboard(config, org, "--yes", "--run-dir", str(run_dir)).code == 1
    run = offboard(config, org, "--yes", "--resume", str(run_dir), "--skip", "freeze")
    assert run.code == 0, run.output
    steps = {s["name"]: s for s in run_json(run_dir)["steps"]}
    assert steps["preflight"]["status"] == "done"
    assert steps["freeze"]["status"] == "skipped"
    assert steps["freeze"]["reason_code"] == "skip_cli"
    assert steps["reassign"]["status"] == "done"


def test_force_starts_anyway_and_the_step_stops_on_its_own_check(
        no_freeze_rights: tuple[Any, Path], tmp_path: Path) -> None:
    org, config = no_freeze_rights
    run = offboard(config, org, "--yes", "--force", "--run-dir", str(tmp_path / "r"))
    assert run.code == 1, run.output
    steps = {s["name"]: s for s in run_json(tmp_path / "r")["steps"]}
    assert steps["export"]["status"] == "done"
    assert steps["freeze"]["status"] == "failed"
    assert "cannot freeze users" in steps["freeze"]["reason"]
    assert steps["reassign"]["status"] == "planned"   # the run stops at the failed step


# The line `sfexit export bulk` warns with when the org refuses the permission sets' read
# (tests/integration/test_export_first_jobs.py): the offboard plan says the same.
QUERY_ALL_FILES_UNKNOWN = (
    "could not read whether the running user has QueryAllFiles: the org refused the "
    "PermissionSetAssignment read (INSUFFICIENT_ACCESS); without it, files not shared with "
    "this user (ContentVersion, ContentDocumentLink) are not returned")


def test_a_refused_permission_read_leaves_the_plan_unknown_with_the_exports_warning(
        fresh_emulator: Any, tmp_path: Path) -> None:
    """The org refuses the permission sets' query: what they could grant is unknown in the
    plan (null, "unknown"), said in the export's one line, and no step is refused for it."""
    org = fresh_emulator
    config = offboard_config(tmp_path, org)
    org.faults.refuse_query_objects = "PermissionSetAssignment"
    run = offboard(config, org, "--dry-run", "--run-dir", str(tmp_path / "dry"))
    assert run.code == 0, run.output
    assert org.stats()["faults_injected"]["query_refused"] >= 1
    assert run.body["warnings"] == [QUERY_ALL_FILES_UNKNOWN]
    state = run_json(tmp_path / "dry")
    pre = next(s for s in state["steps"] if s["name"] == "preflight")
    # the Profile (read) grants the admin View All Data and API Enabled, as in `export bulk`
    assert pre["result"]["permissions"] == {"ViewAllData": True, "QueryAllFiles": None,
                                            "ApiEnabled": True}
    checks = checks_of(state)
    assert requirement(checks["export"], "export_files")["status"] == "unknown"
    assert not any(c["refused"] for c in checks.values()), checks
    assert f"export: {QUERY_ALL_FILES_UNKNOWN}" in state["warnings"]
    unknown = [w for w in state["warning_codes"] if w["code"] == "permission_unknown"]
    assert [w["params"]["message"] for w in unknown if w["params"]["step"] == "export"] == \
        [QUERY_ALL_FILES_UNKNOWN]
    assert not [w for w in state["warning_codes"] if w["code"] == "permission_missing"
                and w["params"].get("check") == "export_files"]


def test_a_refused_permission_read_shows_unknown_in_the_text_plan(
        fresh_emulator: Any, tmp_path: Path) -> None:
    from click.testing import CliRunner
    from auth_support import on_org_clock, password_env

    from sfexit.cli import cli

    org = fresh_emulator
    config = offboard_config(tmp_path, org)
    org.faults.refuse_query_objects = "PermissionSetAssignment"
    run = CliRunner().invoke(cli, ["--config", str(config), "offboard", "--dry-run",
                                   "--run-dir", str(tmp_path / "dry")],
                             env=password_env(org), obj=on_org_clock(org))
    assert run.exit_code == 0, run.output
    assert QUERY_ALL_FILES_UNKNOWN in " ".join(run.stderr.split())
    files_row = next(line for line in run.stdout.splitlines() if "Query All Files" in line)
    assert "unknown" in files_row and "missing" not in files_row


def test_a_step_is_not_refused_for_a_permission_a_refused_read_left_unknown() -> None:
    """The org refused the permission reads: Manage Users and Freeze Users are unknown, and
    the freeze step is not refused for it (it may well be granted)."""
    from dataclasses import replace

    from sfexit.org.permissions import nothing_known
    from sfexit.people.permissions import check_step

    perms = replace(nothing_known("005x"), refused=("the org refused the Profile read",))
    freeze = check_step(perms, "freeze")
    assert freeze.requirements[0].status == "unknown" and freeze.refusal is None
    assert check_step(nothing_known("005x"), "freeze").refusal   # not shown: as before
