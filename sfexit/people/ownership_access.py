"""Per object: may the running user give its records to another owner?

What Salesforce asks of a user WITHOUT Modify All Data (research/users-protocol.md §4, help.sf
``data_about_transfer.htm``): Transfer Record AND Edit on the object; for Leads Transfer Leads
OR Transfer Record, for Cases Transfer Cases OR Transfer Record (plus Edit). "Modify All" on
an object lets a user "read, edit, delete, transfer, and approve all records" of it (help.sf
``users_profiles_object_perms.htm``), so it is enough on its own.

Edit on an object is an ``ObjectPermissions`` row of one of the user's permission sets (the
profile's own set included): ``ParentId`` → PermissionSet, ``SobjectType``, ``PermissionsRead``,
``PermissionsEdit``, ``PermissionsModifyAllRecords``… (object reference
``sforce_api_objects_objectpermissions.htm``, API 24.0+). A set without any access to an object
has no row for it. Reading it needs View Setup and Configuration (same page, "Special Access
Rules"); when it cannot be read the answer is unknown, never granted.

Not every object has object permissions: Tasks and Events are edited with the user permissions
Edit Tasks / Edit Events; notes, attachments and files follow their parent record, so only the
transfer right is asked for them.

The rows are read by ``sfexit.org.permissions.read_object_rights``; this module is pure.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from sfexit.org.permissions import ObjectRights

ACTIVITY_EDIT = {"Task": "EditTask", "Event": "EditEvent"}          # keys of org.permissions.PERMISSIONS
OWN_TRANSFER = {"Lead": "TransferAnyLead", "Case": "TransferAnyCase"}
FOLLOWS_PARENT = frozenset({"Note", "Attachment", "ContentDocument", "ContentVersion"})

Status = Literal["granted", "missing", "unknown"]
Lacks = Literal["edit", "transfer", "unreadable"]
Has = Callable[[str], "bool | None"]   # org.permissions.UserPermissions.has


@dataclass(frozen=True)
class ObjectAccess:
    """Whether the running user may move the records of one object, and if not, why."""

    sobject: str
    status: Status
    lacks: Lacks | None = None   # stable: the report words it as report.perm_object_<lacks>
    records: int = 0

    @property
    def consequence(self) -> str | None:
        """English: what is missing and what becomes of the records; None when granted."""
        if self.lacks is None:
            return None
        stay = f"its {self.records:,} records stay with the departing users"
        if self.lacks == "edit":
            return f"{self.sobject}: no edit access — {stay}"
        if self.lacks == "transfer":
            return f"{self.sobject}: no {transfer_names(self.sobject)} — {stay}"
        return f"{self.sobject}: edit access could not be read — if it is missing, {stay}"

    @property
    def short(self) -> str:
        """``Opportunity (no edit access, 120 records)``: for a one-line refusal."""
        what = {"edit": "no edit access", "transfer": f"no {transfer_names(self.sobject)}",
                "unreadable": "edit access unknown"}[self.lacks or "unreadable"]
        return f"{self.sobject} ({what}, {self.records:,} records)"


def transfer_names(sobject: str) -> str:
    own = {"Lead": "Transfer Leads", "Case": "Transfer Cases"}.get(sobject)
    return f"Transfer Record or {own}" if own else "Transfer Record"


def with_object_permissions(objects: Iterable[str]) -> list[str]:
    """The objects whose edit access is an ObjectPermissions row (not activities or files)."""
    return [o for o in dict.fromkeys(objects) if o not in ACTIVITY_EDIT and o not in FOLLOWS_PARENT]


def _any(*answers: bool | None) -> bool | None:
    """True if one is True; None if none is and one is unknown; else False."""
    if any(a is True for a in answers):
        return True
    return None if any(a is None for a in answers) else False


def object_access(sobject: str, has: Has, rights: Mapping[str, ObjectRights] | None,
                  records: int = 0) -> ObjectAccess:
    """May the user holding ``has`` move ``sobject``'s records? ``rights``: the ObjectPermissions
    read for this object (None: could not be read). Pure."""
    if has("ModifyAllData") is True:
        return ObjectAccess(sobject, "granted", None, records)
    edit: bool | None
    if sobject in ACTIVITY_EDIT:
        edit = has(ACTIVITY_EDIT[sobject])
    elif sobject in FOLLOWS_PARENT:
        edit = True
    elif rights is None:
        edit = None
    else:
        found = rights.get(sobject)
        if found is not None and found.modify_all:
            return ObjectAccess(sobject, "granted", None, records)
        edit = found is not None and found.edit
    own = OWN_TRANSFER.get(sobject)
    transfer = _any(has("TransferAnyEntity"), has(own) if own else False)
    if edit is False:
        return ObjectAccess(sobject, "missing", "edit", records)
    if transfer is False:
        return ObjectAccess(sobject, "missing", "transfer", records)
    if edit is None or transfer is None:
        return ObjectAccess(sobject, "unknown", "unreadable", records)
    return ObjectAccess(sobject, "granted", None, records)
