"""Preflight: may the running user make the changes a command is about to make?

Salesforce grants permissions through the profile and permission sets; every user also has
the profile's own permission set (``IsOwnedByProfile``), so the union over the user's
PermissionSetAssignment rows covers both (dev.sf ``sforce_api_objects_permissionset.htm``).
The profile row is read as well, for orgs or API versions where that assignment is not visible.

What each action needs (research/users-protocol.md):
- freeze / unfreeze: "Freeze Users OR Manage Users" (help.sf ``platform.users_freeze.htm``; §2);
- deactivate / reactivate: Manage Users (§3);
- reassign: Modify All Data, or Transfer Record (``PermissionsTransferAnyEntity``) plus edit on
  the objects (§4, help.sf ``data_about_transfer.htm``);
- the export (export-pitfalls.md I): API Enabled, View All Data, Query All Files.
A permission field the org's API does not show is reported as unknown, never as granted.

``check_steps`` turns one read into what each step of ``sfexit offboard`` needs, whether the
running user has it, and what would be missed without it (docs/offboard.md, "Permissions").
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from sfexit.errors import SfexitError
from sfexit.org import soql
from sfexit.org.rest import RestClient
from sfexit.org.session import OrgSession

Action = Literal["freeze", "unfreeze", "deactivate", "reactivate", "reassign"]
PERMISSIONS = {
    "ManageUsers": "Manage Users",
    "FreezeUsers": "Freeze Users",
    "ModifyAllData": "Modify All Data",
    "TransferAnyEntity": "Transfer Record",
    "TransferAnyLead": "Transfer Leads",
    "TransferAnyCase": "Transfer Cases",
    "ViewAllData": "View All Data",
    "QueryAllFiles": "Query All Files",
    "ApiEnabled": "API Enabled",
}


class PermissionDenied(SfexitError):
    """The running user lacks a permission the command needs."""

    name = "PermissionDenied"


@dataclass(frozen=True)
class UserPermissions:
    user_id: str
    granted: frozenset[str]  # keys of PERMISSIONS
    unknown: frozenset[str] = frozenset()  # fields this org's API does not show
    sources: tuple[str, ...] = field(default=())  # permission set labels read

    def has(self, name: str) -> bool | None:
        """True / False, or None when the org's API does not show the permission."""
        if name in self.granted:
            return True
        return None if name in self.unknown else False


def _fields_present(rest: RestClient, sobject: str) -> set[str]:
    return {f["name"] for f in rest.describe(sobject).get("fields", [])}


def read_permissions(session: OrgSession, user_id: str, profile_id: str | None = None
                     ) -> UserPermissions:
    """The union of the user's profile and permission set permissions we care about."""
    rest = RestClient(session)
    ps_fields = _fields_present(rest, "PermissionSet")
    wanted = [f"Permissions{k}" for k in PERMISSIONS if f"Permissions{k}" in ps_fields]
    unknown = frozenset(k for k in PERMISSIONS if f"Permissions{k}" not in ps_fields)
    granted: set[str] = set()
    sources: list[str] = []
    ps_ids = [row["PermissionSetId"] for row in rest.query_iter(soql.select(
        "PermissionSetAssignment", ["PermissionSetId"],
        where=[soql.condition("AssigneeId", "=", user_id)]))]
    for query in soql.select_in_chunks("PermissionSet", ["Id", "Label", *wanted], "Id", ps_ids):
        for row in rest.query_iter(query):
            sources.append(str(row.get("Label") or row["Id"]))
            granted |= _true_keys(row, wanted)
    if profile_id:
        profile_fields = _fields_present(rest, "Profile")
        cols = [f for f in wanted if f in profile_fields]
        if cols:
            for row in rest.query_iter(soql.select("Profile", ["Id", *cols], where=[
                    soql.condition("Id", "=", profile_id)])):
                granted |= _true_keys(row, cols)
    return UserPermissions(user_id, frozenset(granted), unknown, tuple(sources))


def _true_keys(row: dict[str, object], cols: Iterable[str]) -> set[str]:
    return {c[len("Permissions"):] for c in cols if row.get(c) is True}


def missing_for(perms: UserPermissions, action: Action) -> str | None:
    """None when ``action`` is allowed; else one line saying what cannot be done and why."""
    if action in ("freeze", "unfreeze"):
        if perms.has("ManageUsers") or perms.has("FreezeUsers"):
            return None
        unknown = " (Freeze Users could not be read from this org)" \
            if perms.has("FreezeUsers") is None else ""
        return (f"cannot {action} users: the running user has neither Manage Users nor "
                f"Freeze Users{unknown}")
    if action in ("deactivate", "reactivate"):
        if perms.has("ManageUsers"):
            return None
        return f"cannot {action} users: the running user lacks Manage Users"
    if perms.has("ModifyAllData") or perms.has("TransferAnyEntity"):
        return None
    return ("cannot reassign records: the running user has neither Modify All Data nor "
            "Transfer Record (and edit access on each object)")


def preflight(session: OrgSession, user_id: str, profile_id: str | None, action: Action
              ) -> UserPermissions:
    """Raise PermissionDenied (exit 1) naming what is missing; return the permissions read."""
    perms = read_permissions(session, user_id, profile_id)
    problem = missing_for(perms, action)
    if problem:
        raise PermissionDenied(problem, hint="ask an admin to grant it (a permission set), or "
                                             "log in as a user who has it")
    return perms


# --- what each offboard step needs ------------------------------------------------------------

Status = Literal["granted", "missing", "unknown", "not checked"]


@dataclass(frozen=True)
class Requirement:
    """One thing a step needs from the running user, and what is missed without it."""

    code: str                     # stable: the report words it as report.perm_missed_<code>
    permissions: tuple[str, ...]  # keys of PERMISSIONS, any ONE suffices; () = not checked
    status: Status
    consequence: str | None       # English; None when granted


@dataclass(frozen=True)
class StepPermissions:
    """What one step needs. ``refusal`` is set when the step certainly cannot work: the same
    line its own check (``missing_for``, or no API at all) stops it with."""

    step: str
    requirements: tuple[Requirement, ...]
    refusal: str | None = None

    @property
    def problems(self) -> tuple[Requirement, ...]:
        return tuple(r for r in self.requirements if r.status != "granted")


# step → (code, permissions any one of which suffices, what is missed without them). Sources:
# export-pitfalls.md I (export), users-protocol.md §2-4 (freeze, reassign, deactivate).
STEP_NEEDS: dict[str, tuple[tuple[str, tuple[str, ...], str], ...]] = {
    "export": (
        ("export_api", ("ApiEnabled",),
         "without API Enabled, the REST and Bulk APIs refuse the running user: nothing can be "
         "exported"),
        ("export_view_all", ("ViewAllData",),
         "without View All Data, records not shared with the running user are not exported"),
        ("export_files", ("QueryAllFiles",),
         "without Query All Files, files not shared with the running user are not exported"),
    ),
    "freeze": (
        ("freeze_users", ("ManageUsers", "FreezeUsers"),
         "without Manage Users or Freeze Users, nobody can be frozen: the freeze step would "
         "fail"),
    ),
    "reassign": (
        ("reassign_transfer", ("ModifyAllData", "TransferAnyEntity"),
         "without Modify All Data or Transfer Record, records owned by others cannot be given "
         "to the successor: the reassign step would fail"),
        # ObjectPermissions (PermissionsEdit per object) is not read: the org emulator the
        # tests run against does not serve it, so a check here would be untested.
        ("reassign_object_edit", (),
         "edit access is not checked per object before the run: an object the running user "
         "cannot edit fails in the reassign step, listed per object"),
    ),
    "deactivate": (
        ("deactivate_users", ("ManageUsers",),
         "without Manage Users, nobody can be deactivated: the deactivate step would fail"),
    ),
}
_ACTIONS: dict[str, Action] = {"freeze": "freeze", "reassign": "reassign",
                               "deactivate": "deactivate"}


def _status(perms: UserPermissions, keys: tuple[str, ...]) -> Status:
    if not keys:
        return "not checked"
    answers = [perms.has(k) for k in keys]
    if any(a is True for a in answers):
        return "granted"
    return "unknown" if any(a is None for a in answers) else "missing"


def check_step(perms: UserPermissions, step: str) -> StepPermissions:
    """What ``step`` needs and whether ``perms`` has it. Pure; a step that needs nothing of
    the user (dates, verify, report) gets no requirement."""
    requirements = tuple(
        Requirement(code, keys, status, None if status == "granted" else missed)
        for code, keys, missed in STEP_NEEDS.get(step, ())
        for status in (_status(perms, keys),))
    action = _ACTIONS.get(step)
    refusal = missing_for(perms, action) if action else None
    if step == "export" and perms.has("ApiEnabled") is False:
        refusal = "cannot export: the running user lacks API Enabled"
    return StepPermissions(step, requirements, refusal)


def check_steps(perms: UserPermissions, steps: Iterable[str]) -> tuple[StepPermissions, ...]:
    """``check_step`` for each step that needs something of the running user, in order."""
    return tuple(check_step(perms, s) for s in steps if s in STEP_NEEDS)


def nothing_known(user_id: str) -> UserPermissions:
    """When the permissions cannot be read at all: every one unknown, none granted."""
    return UserPermissions(user_id, frozenset(), frozenset(PERMISSIONS))
