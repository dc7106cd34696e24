"""Salesforce's business rules on writes: record owners, user deactivation and freezing, audit rows.

Sources: research/users-protocol.md §1-§6 and errors.md §7-§8. Where Salesforce's wire text is
unknown the choice is marked UNCONF here; tests pin the emulator's choice, not Salesforce's.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sfexit_emulator.ids import ID_NUMBER_BASE, make_id, to15
from sfexit_emulator.schema import SObjectDef
from sfexit_emulator.store_db import format_datetime
from sfexit_emulator.store_fault import SalesforceFault

_CANNOT_OWN = frozenset({"CsnOnly", "CsnExternal"})  # Chatter Free / External (users-protocol §1)
ADMIN_PROFILE = "System Administrator"
# Org settings naming a user; each blocks that user's deactivation (users-protocol §3).
# Messages from errors.md §8 (UI texts). UNCONF: the API code; FIELD_INTEGRITY_EXCEPTION chosen.
# UNCONF: the default-lead-owner text is not captured; worded like the default-case-owner one.
SETTING_BLOCKERS = (
    ("lead.default_owner", "You cannot deactivate a user who is the default owner of leads"),
    ("case.default_owner", "You cannot deactivate a user who is the default owner of cases"),
    ("web_to_lead.default_creator", "You cannot disable the Web to Lead Default Creator"),
    ("workflow.default_user", "You cannot deactivate the Default Workflow User"),
)
# UNCONF (code and text): no source for deactivating or freezing oneself.
SELF_DEACTIVATE = "You cannot deactivate your own user account"
SELF_FREEZE = "You cannot freeze your own user account"
# UNCONF (text): CANNOT_DISABLE_LAST_ADMIN is in the StatusCode enum; its message is not captured.
LAST_ADMIN = "Cannot deactivate the last active user with the System Administrator profile"
# UNCONF (code and text): KB 000004425 says only "a User cannot report to an inactive User".
MANAGER_INACTIVE = "Manager: a user cannot report to an inactive user"
BLOCKED = "FIELD_INTEGRITY_EXCEPTION"


def _user(conn: sqlite3.Connection, user_id: str) -> dict[str, Any] | None:
    cur = conn.execute('SELECT u."Id", u."IsActive", u."UserType", u."Username", p."Name" '
                       'FROM "User" u LEFT JOIN "Profile" p ON p."Id" = u."ProfileId" WHERE u."Id" = ?',
                       (user_id,))
    row = cur.fetchone()
    if row is None:
        return None
    return {"Id": row[0], "IsActive": bool(row[1]), "UserType": row[2], "Username": row[3],
            "ProfileName": row[4]}


def check_owner(conn: sqlite3.Connection, obj: SObjectDef, owner_id: str) -> None:
    """OwnerId must be an active user who may own records, or a queue that supports `obj`."""
    owner_field = obj.field("OwnerId")
    assert owner_field is not None
    if owner_id[:3] == "005" and "User" in owner_field.reference_to:
        user = _user(conn, owner_id)
        if user is None:
            raise SalesforceFault(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["OwnerId"])
        if user["UserType"] in _CANNOT_OWN:
            raise SalesforceFault(400, "OP_WITH_INVALID_USER_TYPE_EXCEPTION",
                                  "Operation not valid for this user type", ["OwnerId"])
        if not user["IsActive"]:
            # UNCONF: the id form in the text; Salesforce prints 15-char ids in messages.
            raise SalesforceFault(400, "INACTIVE_OWNER_OR_USER",
                                  f"operation performed with inactive user [{to15(owner_id)}] as "
                                  f"owner of {obj.name.lower()}", [])
        return
    if owner_id[:3] == "00G" and "Group" in owner_field.reference_to:
        row = conn.execute('SELECT g."Type", (SELECT COUNT(*) FROM "QueueSobject" q WHERE q."QueueId" = g."Id" '
                           'AND q."SobjectType" = ? AND q."IsDeleted" = 0) FROM "Group" g WHERE g."Id" = ?',
                           (obj.name, owner_id)).fetchone()
        if row is not None and row[0] == "Queue" and row[1]:
            return
        # UNCONF: a group that is no queue for this object; Salesforce's code is not captured.
        raise SalesforceFault(400, "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", ["OwnerId"])
    raise SalesforceFault(400, "MALFORMED_ID", f"Owner ID: id value of incorrect type: {owner_id}", ["OwnerId"])


# --- who may change a record's owner (users-protocol.md §4) ---------------------------------
# help.sf ``data_about_transfer.htm``: without Modify All Data, transferring records one does not
# own needs Transfer Record AND Edit on the object; Leads take Transfer Leads OR Transfer Record,
# Cases Transfer Cases OR Transfer Record. "Modify All" on an object lets a user "read, edit,
# delete, transfer, and approve all records" of it (help.sf ``users_profiles_object_perms.htm``).
# Object permissions are ObjectPermissions rows of the user's permission sets (the profile's own
# set included); only objects listed in its SobjectType picklist have them. Activities have
# none: "Edit Tasks" / "Edit Events" are user permissions. Notes, attachments and files have none
# either: only the transfer right is checked. UNCONF (inference): an owner may give away a
# record they own with Edit alone.
MODIFY_ALL_DATA = "PermissionsModifyAllData"
TRANSFER_ANY = "PermissionsTransferAnyEntity"
OWN_TRANSFER = {"Lead": "PermissionsTransferAnyLead", "Case": "PermissionsTransferAnyCase"}
ACTIVITY_EDIT = {"Task": "PermissionsEditTask", "Event": "PermissionsEditEvent"}
VIEW_SETUP = "PermissionsViewSetup"
# errors.md §7 ([M]; HTTP status UNCONF): no edit access to the record's object.
NO_EDIT = ("INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id")
# users-protocol.md §4 "Gotchas" (forcetree.com, acesalesforce.com) and SalesforceLabs/
# ActionPlansV4 issue #173: an owner change without the transfer right. UNCONF: whether the
# record id follows the text on the API; errors.md §7 has the text without it.
NO_TRANSFER = ("INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
               "insufficient access rights on cross-reference id")


def permission_set_ids(conn: sqlite3.Connection, user_id: str) -> list[str]:
    """The user's assigned permission sets plus their profile's own one (a user created through
    the API has no assignment row for it)."""
    rows = conn.execute('SELECT "PermissionSetId" FROM "PermissionSetAssignment" WHERE "AssigneeId" = ? '
                        'AND "IsDeleted" = 0 UNION SELECT ps."Id" FROM "PermissionSet" ps JOIN "User" u '
                        'ON u."ProfileId" = ps."ProfileId" WHERE u."Id" = ? AND ps."IsDeleted" = 0',
                        (user_id, user_id)).fetchall()
    return [str(r[0]) for r in rows if r[0]]


def user_permission(conn: sqlite3.Connection, user_id: str, permission: str) -> bool:
    """A user permission (``PermissionsViewSetup``…) from the profile or any permission set."""
    sets = permission_set_ids(conn, user_id)
    marks = ",".join("?" for _ in sets) or "NULL"
    row = conn.execute(f'SELECT (SELECT COALESCE(MAX(p."{permission}"), 0) FROM "User" u JOIN "Profile" p '
                       f'ON p."Id" = u."ProfileId" WHERE u."Id" = ?), (SELECT COALESCE(MAX("{permission}"), 0) '
                       f'FROM "PermissionSet" WHERE "Id" IN ({marks}))', (user_id, *sets)).fetchone()
    return bool(row and (row[0] or row[1]))


def object_rights(conn: sqlite3.Connection, user_id: str, sobject: str) -> tuple[bool, bool]:
    """(Edit, Modify All) on ``sobject``: the union over the user's permission sets."""
    sets = permission_set_ids(conn, user_id)
    marks = ",".join("?" for _ in sets) or "NULL"
    row = conn.execute('SELECT MAX("PermissionsEdit"), MAX("PermissionsModifyAllRecords") '
                       'FROM "ObjectPermissions" WHERE "SobjectType" = ? AND "IsDeleted" = 0 '
                       f'AND "ParentId" IN ({marks})', (sobject, *sets)).fetchone()
    return bool(row and row[0]), bool(row and row[1])


def check_owner_change(conn: sqlite3.Connection, obj: SObjectDef, permissionable: bool,
                       current_owner: str | None, as_user: str) -> None:
    """May ``as_user`` change the owner of a record of ``obj`` owned by ``current_owner``?
    ``permissionable``: the object has object permissions (ObjectPermissions.SobjectType)."""
    if obj.name == "Group" or user_permission(conn, as_user, MODIFY_ALL_DATA):
        return
    if permissionable:
        edit, modify_all = object_rights(conn, as_user, obj.name)
        if modify_all:
            return
        if not edit:
            raise SalesforceFault(400, *NO_EDIT, [])
    elif obj.name in ACTIVITY_EDIT and not user_permission(conn, as_user, ACTIVITY_EDIT[obj.name]):
        raise SalesforceFault(400, *NO_EDIT, [])
    if current_owner == as_user:
        return
    own = OWN_TRANSFER.get(obj.name)
    if user_permission(conn, as_user, TRANSFER_ANY) or (own and user_permission(conn, as_user, own)):
        return
    raise SalesforceFault(400, *NO_TRANSFER, [])


def active_admin_count(conn: sqlite3.Connection, excluding: str) -> int:
    (n,) = conn.execute('SELECT COUNT(*) FROM "User" u JOIN "Profile" p ON p."Id" = u."ProfileId" '
                        'WHERE u."IsActive" = 1 AND p."Name" = ? AND u."Id" != ?',
                        (ADMIN_PROFILE, excluding)).fetchone()
    return int(n)


def check_deactivation(conn: sqlite3.Connection, user_id: str, as_user: str,
                       hierarchy_fields: list[tuple[str, str]]) -> None:
    """Raise the first blocker of `IsActive = false` for `user_id`, in the order an admin meets them."""
    if user_id == as_user:
        raise SalesforceFault(400, BLOCKED, SELF_DEACTIVATE, ["IsActive"])
    user = _user(conn, user_id)
    if user and user["ProfileName"] == ADMIN_PROFILE and active_admin_count(conn, user_id) == 0:
        raise SalesforceFault(400, "CANNOT_DISABLE_LAST_ADMIN", LAST_ADMIN, ["IsActive"])
    for key, message in SETTING_BLOCKERS:
        row = conn.execute("SELECT value FROM _setting WHERE key = ?", (key,)).fetchone()
        if row is not None and row[0] == user_id:
            raise SalesforceFault(400, BLOCKED, message, [])
    for name, label in hierarchy_fields:
        hit = conn.execute(f'SELECT 1 FROM "User" WHERE "{name}" = ? AND "IsActive" = 1 LIMIT 1',
                           (user_id,)).fetchone()
        if hit is not None:
            raise SalesforceFault(400, BLOCKED,
                                  f"Cannot inactivate user that is the value of a hierarchy field: {label}", [])


def check_manager(conn: sqlite3.Connection, manager_id: str | None) -> None:
    if manager_id is None:
        return
    user = _user(conn, manager_id)
    if user is not None and not user["IsActive"]:
        raise SalesforceFault(400, BLOCKED, MANAGER_INACTIVE, ["ManagerId"])


# UNCONF (text): Salesforce's DUPLICATE_USERNAME message, as remembered from the setup UI.
DUPLICATE_USERNAME = ("Duplicate Username.<br>The username already exists in this or another Salesforce "
                      "organization. Usernames must be unique across all Salesforce organizations. To "
                      "resolve, use a different username (it doesn't need to match the user's email address).")


def check_username_free(conn: sqlite3.Connection, username: str | None, user_id: str | None) -> None:
    if username is None:
        return
    hit = conn.execute('SELECT "Id" FROM "User" WHERE "Username" = ? COLLATE NOCASE', (username,)).fetchone()
    if hit is not None and hit[0] != user_id:
        raise SalesforceFault(400, "DUPLICATE_USERNAME", DUPLICATE_USERNAME, ["Username"])


def check_licence(conn: sqlite3.Connection, user_id: str) -> None:
    """Activating a user needs a free licence of the user's profile licence (errors.md §8)."""
    row = conn.execute('SELECT l."TotalLicenses", l."UsedLicenses" FROM "User" u '
                       'JOIN "Profile" p ON p."Id" = u."ProfileId" '
                       'JOIN "UserLicense" l ON l."Id" = p."UserLicenseId" WHERE u."Id" = ?',
                       (user_id,)).fetchone()
    if row is not None and row[0] is not None and row[1] is not None and row[1] >= row[0]:
        raise SalesforceFault(400, "LICENSE_LIMIT_EXCEEDED", "License Limit Exceeded", [])


def recount_licences(conn: sqlite3.Connection) -> None:
    conn.execute('UPDATE "UserLicense" SET "UsedLicenses" = (SELECT COUNT(*) FROM "User" u '
                 'JOIN "Profile" p ON p."Id" = u."ProfileId" '
                 'WHERE p."UserLicenseId" = "UserLicense"."Id" AND u."IsActive" = 1)')


def remove_from_groups(conn: sqlite3.Connection, user_id: str) -> None:
    """A deactivated user leaves groups and queues (users-protocol §3, "Effects")."""
    conn.execute('DELETE FROM "GroupMember" WHERE "UserOrGroupId" = ?', (user_id,))


@dataclass(frozen=True)
class AuditEntry:
    action: str
    display: str


# UNCONF: the Display wording (users-protocol §6). Actions are Salesforce's.
def audit_for(action: str, username: str) -> AuditEntry:
    verbs = {"frozeuser": "Froze", "unfrozeuser": "Unfroze", "deactivateduser": "Deactivated",
             "activateduser": "Activated"}
    return AuditEntry(action, f"{verbs[action]} user {username}")


def add_audit(conn: sqlite3.Connection, next_id: Callable[[str], str], entry: AuditEntry,
              as_user: str, now: datetime) -> None:
    conn.execute('INSERT INTO "SetupAuditTrail" ("Id", "Action", "Section", "CreatedDate", '
                 '"CreatedById", "Display") VALUES (?, ?, ?, ?, ?, ?)',
                 (next_id("0Ym"), entry.action, "Manage Users", format_datetime(now), as_user,
                  entry.display))


def username_of(conn: sqlite3.Connection, user_id: str) -> str:
    row = conn.execute('SELECT "Username" FROM "User" WHERE "Id" = ?', (user_id,)).fetchone()
    return str(row[0]) if row else user_id


def allocate_id(conn: sqlite3.Connection, prefix: str) -> str:
    """The next id of a key prefix (ids are unique per prefix, so per object)."""
    row = conn.execute("SELECT next FROM _idseq WHERE prefix = ?", (prefix,)).fetchone()
    number = row[0] if row else ID_NUMBER_BASE + 1
    conn.execute("INSERT OR REPLACE INTO _idseq (prefix, next) VALUES (?, ?)", (prefix, number + 1))
    return make_id(prefix, number)

