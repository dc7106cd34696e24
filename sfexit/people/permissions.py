"""Preflight: may the running user make the changes a command is about to make?

The permissions are read by ``sfexit.org.permissions`` (the profile and the permission sets,
the one reader the export and ``sfexit offboard`` use too); this module says what each action
needs of them.

What each action needs (research/users-protocol.md):
- freeze / unfreeze: "Freeze Users OR Manage Users" (help.sf ``platform.users_freeze.htm``; §2);
- deactivate / reactivate: Manage Users (§3);
- reassign: Modify All Data, or Transfer Record (``PermissionsTransferAnyEntity``) plus edit on
  the objects (§4, help.sf ``data_about_transfer.htm``); edit is read per object from
  ObjectPermissions, only for the objects with records to move and only without Modify All Data
  (``ownership_access.py``);
- the export (export-pitfalls.md I): API Enabled, View All Data, Query All Files.
A permission field the org's API does not show is reported as unknown, never as granted.

``check_steps`` turns one read into what each step of ``sfexit offboard`` needs, whether the
running user has it, and what would be missed without it (docs/offboard.md, "Permissions").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Literal

from sfexit.errors import SalesforceError, SfexitError
from sfexit.org import permissions as org_permissions
from sfexit.org.permissions import UserPermissions
from sfexit.org.rest import RestClient
from sfexit.org.session import OrgSession
from sfexit.people.ownership_access import ObjectAccess, object_access, with_object_permissions

Action = Literal["freeze", "unfreeze", "deactivate", "reactivate", "reassign"]


class PermissionDenied(SfexitError):
    """The running user lacks a permission the command needs."""

    name = "PermissionDenied"


def access_per_object(perms: UserPermissions, moves: Mapping[str, int]
                      ) -> tuple[ObjectAccess, ...]:
    """Per object with records to move: may they be moved (``ownership_access``)."""
    return tuple(object_access(o, perms.has, perms.rights_for(o), n)
                 for o, n in moves.items() if n)


def with_object_rights(session: OrgSession, perms: UserPermissions, objects: Iterable[str]
                       ) -> UserPermissions:
    """``perms`` with the ObjectPermissions of ``objects`` (``org.permissions``): nothing is
    read with Modify All Data (it grants every object), nor for objects without object
    permissions (activities, files). Costs one query per chunk of permission sets, plus one
    when the profile's own set was not among the assignments. When the org refuses to show
    them (no View Setup and Configuration), ``rights_error`` says why: unknown, never granted."""
    if perms.has("ModifyAllData") is True:
        return perms
    names = with_object_permissions(objects)
    if not names:
        return perms
    try:
        rights = org_permissions.read_object_rights(RestClient(session), perms, names)
    except SalesforceError as exc:
        return replace(perms, rights_error=exc.one_line())
    if rights is None:
        return replace(perms, rights_error="no permission set of the running user is visible")
    return replace(perms, object_rights=tuple(rights.values()),
                   rights_read=perms.rights_read | frozenset(names))


def missing_for(perms: UserPermissions, action: Action) -> str | None:
    """None when ``action`` is allowed; else one line saying what cannot be done and why.
    Reassign without the objects known: Modify All Data or Transfer Record (``reassign_problem``
    decides per object once the plan says which objects have records to move)."""
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


def reassign_problem(perms: UserPermissions, moves: Mapping[str, int]) -> str | None:
    """``sfexit reassign``: None when the records of every object in ``moves`` (object →
    records to move) may be moved or their access is unknown; else one line naming each
    object that may not, and why. An admin asked to move records expects all or none: the
    command refuses rather than leave some objects behind (docs/offboard.md, "Permissions")."""
    blocked = [a for a in access_per_object(perms, moves) if a.status == "missing"]
    if not blocked:
        return None
    return ("cannot reassign records: the running user cannot move "
            + "; ".join(a.short for a in blocked))


def preflight(session: OrgSession, user_id: str, profile_id: str | None, action: Action,
              moves: Mapping[str, int] | None = None, *,
              profile_from_user: bool = False) -> UserPermissions:
    """Raise PermissionDenied (exit 1) naming what is missing; return the permissions read.
    ``moves`` (reassign: object → records to move) checks edit access per object.
    ``profile_from_user``: the profile is read from the User row (``org.permissions.start``)."""
    per_object = action == "reassign" and moves is not None
    perms = org_permissions.read(RestClient(session), user_id, profile_id=profile_id,
                                 profile_from_user=profile_from_user)
    if per_object:
        perms = with_object_rights(session, perms, list(moves or ()))
    problem = reassign_problem(perms, moves or {}) if per_object else missing_for(perms, action)
    if problem:
        hint = ("ask an admin for what is named (a permission set), log in as a user who has "
                "it, or leave those objects out with --objects" if per_object else
                "ask an admin to grant it (a permission set), or log in as a user who has it")
        raise PermissionDenied(problem, hint=hint)
    return perms


# --- what each offboard step needs ------------------------------------------------------------

Status = Literal["granted", "missing", "unknown", "not checked"]


@dataclass(frozen=True)
class Requirement:
    """One thing a step needs from the running user, and what is missed without it."""

    code: str                     # stable: the report words it as report.perm_missed_<code>
    permissions: tuple[str, ...]  # keys of org.permissions.PERMISSIONS, any ONE suffices; () = not checked
    status: Status
    consequence: str | None       # English; None when granted
    objects: tuple[ObjectAccess, ...] = ()   # reassign_object_edit: per object with records


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
OBJECT_EDIT = "reassign_object_edit"
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
        # Per object (ObjectPermissions, ownership_access.py); the consequence names them.
        (OBJECT_EDIT, (),
         "records of an object the running user cannot edit (or transfer) stay with the "
         "departing users"),
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


def _object_edit(perms: UserPermissions, missed: str, moves: Mapping[str, int] | None
                 ) -> Requirement:
    """Edit (and the transfer right) per object with records to move: missing when one object
    lacks it, unknown when one could not be read, "not checked" without the objects."""
    if moves is None:
        return Requirement(OBJECT_EDIT, (), "not checked", missed)
    access = access_per_object(perms, moves)
    problems = [a for a in access if a.status != "granted"]
    status: Status = "missing" if any(a.status == "missing" for a in problems) else \
        "unknown" if problems else "granted"
    text = "; ".join(a.consequence for a in problems if a.consequence)
    return Requirement(OBJECT_EDIT, (), status, text or None, access)


def _reassign_refusal(perms: UserPermissions, moves: Mapping[str, int] | None) -> str | None:
    """The step certainly fails only when NO object's records may be moved; one object
    missing leaves its records with the departing users (the consequence says so)."""
    if moves is None:
        return missing_for(perms, "reassign")
    access = access_per_object(perms, moves)
    if not access or any(a.status != "missing" for a in access):
        return None
    return ("cannot reassign records: the running user cannot move any of them: "
            + "; ".join(a.short for a in access))


def check_step(perms: UserPermissions, step: str,
               moves: Mapping[str, int] | None = None) -> StepPermissions:
    """What ``step`` needs and whether ``perms`` has it. Pure; a step that needs nothing of
    the user (dates, verify, report) gets no requirement. ``moves`` (object → records the
    reassign step moves) checks edit per object; without it that check is "not checked"."""
    requirements = tuple(
        _object_edit(perms, missed, moves) if code == OBJECT_EDIT else
        Requirement(code, keys, status, None if status == "granted" else missed)
        for code, keys, missed in STEP_NEEDS.get(step, ())
        for status in (_status(perms, keys),))
    action = _ACTIONS.get(step)
    refusal = missing_for(perms, action) if action else None
    if step == "reassign":
        refusal = _reassign_refusal(perms, moves)
    if step == "export" and perms.has("ApiEnabled") is False:
        refusal = "cannot export: the running user lacks API Enabled"
    if perms.refused and any(r.status == "unknown" for r in requirements if r.permissions):
        # not certain: what a read the org refused would show may be granted (the export's
        # rule, export.preflight); the step's own call then meets the org's answer
        refusal = None
    return StepPermissions(step, requirements, refusal)


def check_steps(perms: UserPermissions, steps: Iterable[str],
                moves: Mapping[str, int] | None = None) -> tuple[StepPermissions, ...]:
    """``check_step`` for each step that needs something of the running user, in order."""
    return tuple(check_step(perms, s, moves) for s in steps if s in STEP_NEEDS)
