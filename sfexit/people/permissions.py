"""Preflight: may the running user make the changes a command is about to make?

Salesforce grants permissions through the profile and permission sets; every user also has
the profile's own permission set (``IsOwnedByProfile``), so the union over the user's
PermissionSetAssignment rows covers both (dev.sf ``sforce_api_objects_permissionset.htm``).
The profile row is read as well, for orgs or API versions where that assignment is not visible.

What each action needs (research/users-protocol.md):
- freeze / unfreeze: "Freeze Users OR Manage Users" (help.sf ``platform.users_freeze.htm``; §2);
- deactivate / reactivate: Manage Users (§3);
- reassign: Modify All Data, or Transfer Record (``PermissionsTransferAnyEntity``) plus edit on
  the objects (§4, help.sf ``data_about_transfer.htm``).
A permission field the org's API does not show is reported as unknown, never as granted.
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
