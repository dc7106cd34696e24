"""The running user's permissions, read from the org: the one reader used by the export's
preflight, ``sfexit users``/``reassign`` (people.permissions) and ``sfexit offboard``'s
preflight. What each command needs of them (the policy) stays with the command.

Salesforce grants a system permission through the user's Profile and every assigned permission
set; each user also has the profile's own permission set (``IsOwnedByProfile``), so the union
over the PermissionSetAssignment rows covers both (dev.sf ``sforce_api_objects_permissionset.htm``).
The Profile row is read as well, for orgs or API versions where that assignment is not visible
(export-pitfalls.md I; research/users-protocol.md §2-4). A permission granted by any counts.

The reading is two independent halves (``HALVES``), so a caller with a thread pool runs them side
by side and pays for the longer one only (the export preflight, issue 12). Each is a describe
(to know which permission fields the org's API shows) and then ONE query: a query page is the
costly call on Salesforce (~0.3-2 s, export/schedule.py), so the parent rows come through
relationship fields rather than a second query (SOQL and SOSL Reference, "Relationship
Queries": child-to-parent dot notation; issue 23):
- the profile: describe Profile → ``SELECT Profile.Id, Profile.Permissions… FROM User`` (or the
  Profile row by Id when the caller knows it);
- the permission sets: describe PermissionSet → ``SELECT PermissionSet.… FROM
  PermissionSetAssignment WHERE AssigneeId = …``.
A permission field the PermissionSet describe does not show is unknown, never granted; a refused read raises
(``SalesforceError``) and the caller decides (``nothing_known``: every permission unknown), or
with ``start(..., refusals=True)`` the half the org refused reads nothing and the permissions it
could grant are unknown (``UserPermissions.refused`` says which read and why).

``read_object_rights``: edit access per object, the ``ObjectPermissions`` rows of the user's
permission sets (object reference ``sforce_api_objects_objectpermissions.htm``, API 24.0+;
reading them needs View Setup and Configuration).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any

from sfexit import errors
from sfexit.org import soql
from sfexit.org.rest import RestClient

# The system permissions sfexit checks (key: the field without "Permissions") → their label in
# Setup. Sources: export-pitfalls.md I (export), users-protocol.md §2-4 (freeze, deactivate,
# reassign).
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
    "EditTask": "Edit Tasks",
    "EditEvent": "Edit Events",
}
RIGHTS_COLUMNS = ["ParentId", "SobjectType", "PermissionsRead", "PermissionsEdit",
                  "PermissionsModifyAllRecords"]

Describe = Callable[[str], Mapping[str, Any]]   # sobject → its describe (a cache, or RestClient)


@dataclass(frozen=True)
class ObjectRights:
    """The union of one object's ObjectPermissions rows over the user's permission sets."""

    sobject: str
    read: bool = False
    edit: bool = False
    modify_all: bool = False


@dataclass(frozen=True)
class UserPermissions:
    """What the running user is granted: a key of :data:`PERMISSIONS` is granted (``granted``),
    unknown (no describe read shows its field, or nothing could be read: ``nothing_known``),
    else not granted."""

    user_id: str
    granted: frozenset[str]                        # keys of PERMISSIONS
    unknown: frozenset[str] = frozenset()          # fields the org's API does not show
    sources: tuple[str, ...] = ()                  # the permission sets read (labels)
    permission_set_ids: tuple[str, ...] = ()       # the sets read (ObjectPermissions' parents)
    # The user's profile when its own permission set was NOT among the assignments read
    # (``read_object_rights`` then looks that set up); None otherwise.
    profile_id: str | None = None
    # ObjectPermissions read (``read_object_rights``), for ``rights_read`` objects; None: not read
    object_rights: tuple[ObjectRights, ...] | None = None
    rights_read: frozenset[str] = frozenset()
    rights_error: str | None = None                # why ObjectPermissions could not be read
    refused: tuple[str, ...] = ()                  # the reads the org refused (start: refusals)

    def has(self, name: str) -> bool | None:
        """True / False, or None when the org's API does not show the permission."""
        if name in self.granted:
            return True
        return None if name in self.unknown else False

    def rights_for(self, sobject: str) -> dict[str, ObjectRights] | None:
        """The ObjectPermissions read for ``sobject`` (empty: no access), or None: not read."""
        if self.object_rights is None or sobject not in self.rights_read:
            return None
        return {r.sobject: r for r in self.object_rights if r.sobject == sobject}


@dataclass(frozen=True)
class Half:
    """What one half read: the keys granted, the permission fields its describe shows (None:
    nothing described), and for the permission sets their labels and ids."""

    granted: frozenset[str] = frozenset()
    shown: frozenset[str] | None = None
    sources: tuple[str, ...] = ()
    set_ids: tuple[str, ...] = ()
    profile_set_seen: bool = False
    profile_id: str | None = None
    refused: str | None = None      # the org refused this half's read: which, and its code


def nothing_known(user_id: str) -> UserPermissions:
    """When the permissions cannot be read at all: every one unknown, none granted."""
    return UserPermissions(user_id, frozenset(), frozenset(PERMISSIONS))


def start(rest: RestClient, user_id: str, *, profile_id: str | None = None,
          profile_from_user: bool = False, describe: Describe | None = None,
          pool: Executor | None = None, refusals: bool = False) -> Callable[[], UserPermissions]:
    """Start reading the running user's permissions; call the result for the answer (it raises
    what the reads raised, the profile half's first). On ``pool`` the two halves run side by
    side, else one after the other (profile first). ``profile_id``: the user's profile when
    the caller already knows it; ``profile_from_user``: read it from the User row (one query);
    neither: the profile is not read. ``describe``: a cache shared with the caller.
    ``refusals``: a half the org refuses (:func:`is_refusal`) is not raised; what it could
    grant is unknown (:func:`merge`)."""
    look = describe or rest.describe

    def guarded(half: Callable[[], Half], what: str) -> Callable[[], Half]:
        def read_half() -> Half:
            try:
                return half()
            except errors.SalesforceError as exc:
                if not (refusals and is_refusal(exc)):
                    raise
                return Half(refused=f"the org refused the {what} read "
                                    f"({exc.error_code or exc.status})")
        return read_half
    halves: list[Callable[[], Half]] = [
        guarded(lambda: profile_half(rest, user_id, look, profile_id, profile_from_user),
                "Profile"),
        guarded(lambda: permission_set_half(rest, user_id, look), "PermissionSetAssignment")]
    if pool is None:
        done = [half() for half in halves]
        return lambda: merge(user_id, *done)
    running = [pool.submit(half) for half in halves]
    return lambda: merge(user_id, *(r.result() for r in running))


def is_refusal(exc: BaseException) -> bool:
    """The org refused this one read (a 4xx answer: INSUFFICIENT_ACCESS, INVALID_TYPE,
    API_DISABLED_FOR_ORG…: errors.md §5-6). Not a dead session (AuthError), a spent limit
    (ApiLimitError) or a lost connection: those are other exceptions, and stop the caller."""
    return isinstance(exc, errors.SalesforceError) and exc.status is not None \
        and 400 <= exc.status < 500


def read(rest: RestClient, user_id: str, *, profile_id: str | None = None,
         profile_from_user: bool = False) -> UserPermissions:
    """The running user's permissions, the reads one after the other (``start``)."""
    return start(rest, user_id, profile_id=profile_id, profile_from_user=profile_from_user)()


def profile_half(rest: RestClient, user_id: str, describe: Describe, profile_id: str | None,
                 from_user: bool) -> Half:
    """The Profile's permissions: describe Profile → its row, through the User row's Profile
    relationship when the caller does not know the profile."""
    if profile_id is None and not from_user:
        return Half()
    shown = _shown(describe, "Profile")
    cols = [f"Permissions{k}" for k in PERMISSIONS if k in shown]
    if profile_id is None:
        rows = list(rest.query_iter(soql.select("User", [
            "ProfileId", *(f"Profile.{c}" for c in cols)], where=[
                soql.condition("Id", "=", user_id)])))
        if not rows or not rows[0].get("ProfileId"):
            return Half()
        profile_id = str(rows[0]["ProfileId"])
        profile = rows[0].get("Profile") or {}
        return Half(frozenset(_true_keys(profile, cols)), shown, profile_id=profile_id)
    granted: set[str] = set()
    if cols:
        for row in rest.query_iter(soql.select("Profile", ["Id", *cols], where=[
                soql.condition("Id", "=", profile_id)])):
            granted |= _true_keys(row, cols)
    return Half(frozenset(granted), shown, profile_id=profile_id)


def permission_set_half(rest: RestClient, user_id: str, describe: Describe) -> Half:
    """The assigned permission sets' permissions: describe PermissionSet → the assignments
    with their sets' fields (one query)."""
    fields = {str(f["name"]) for f in describe("PermissionSet").get("fields", [])}
    shown = frozenset(k for k in PERMISSIONS if f"Permissions{k}" in fields)
    cols = [f"Permissions{k}" for k in PERMISSIONS if k in shown]
    owned = ["IsOwnedByProfile"] if "IsOwnedByProfile" in fields else []
    sets: dict[str, Mapping[str, Any]] = {}
    for row in rest.query_iter(soql.select("PermissionSetAssignment", [
            "PermissionSetId", *(f"PermissionSet.{c}" for c in ["Label", *owned, *cols])],
            where=[soql.condition("AssigneeId", "=", user_id)])):
        if row.get("PermissionSetId"):
            sets.setdefault(str(row["PermissionSetId"]), row.get("PermissionSet") or {})
    if not sets:
        return Half()
    granted: set[str] = set()
    seen = not owned   # without the field, assume the profile's set was among them
    for one in sets.values():
        granted |= _true_keys(one, cols)
        seen = seen or one.get("IsOwnedByProfile") is True
    sources = tuple(str(one.get("Label") or set_id) for set_id, one in sets.items())
    return Half(frozenset(granted), shown, sources, tuple(sets), seen)


def merge(user_id: str, profile: Half, sets: Half) -> UserPermissions:
    """One answer from the two halves: granted by either. Unknown: a field the PermissionSet
    describe does not show (the sets, the profile's own among them, could grant it unseen);
    without any set, one the Profile describe does not show; nothing described (no profile,
    no set): nothing is granted, nothing unknown. A refused half (``Half.refused``): every
    permission not granted is unknown, unless the permission sets were read with the
    profile's own among them (they then hold what the Profile grants)."""
    granted = profile.granted | sets.granted
    shown = sets.shown if sets.shown is not None else profile.shown
    unknown = frozenset() if shown is None else frozenset(PERMISSIONS) - shown
    refused = tuple(h.refused for h in (profile, sets) if h.refused)
    if sets.refused or (profile.refused and not sets.profile_set_seen):
        unknown = frozenset(PERMISSIONS) - granted
    return UserPermissions(user_id, granted, unknown, sets.sources,
                           sets.set_ids,
                           None if sets.profile_set_seen else profile.profile_id,
                           refused=refused)


def read_object_rights(rest: RestClient, perms: UserPermissions, objects: Sequence[str]
                       ) -> dict[str, ObjectRights] | None:
    """``ObjectPermissions`` of ``objects`` over the user's permission sets, merged per object
    (an object with no row is absent: no access); None when no permission set of the user is
    visible. One query per chunk of set ids (``soql``), plus one for the profile's own set when
    it was not among the assignments. Raises SalesforceError (INVALID_TYPE without View Setup
    and Configuration)."""
    ids = list(perms.permission_set_ids)
    if perms.profile_id:
        ids += [str(r["Id"]) for r in rest.query_iter(soql.select(
            "PermissionSet", ["Id"], where=[soql.condition("ProfileId", "=", perms.profile_id)]))]
    if not ids:
        return None
    merged: dict[str, ObjectRights] = {}
    if not objects:
        return merged
    for query in soql.select_in_chunks("ObjectPermissions", RIGHTS_COLUMNS, "ParentId", ids,
                                       where=[soql.in_list("SobjectType", objects)]):
        for row in rest.query_iter(query):
            name = str(row.get("SobjectType") or "")
            old = merged.get(name, ObjectRights(name))
            merged[name] = ObjectRights(name, old.read or row.get("PermissionsRead") is True,
                                        old.edit or row.get("PermissionsEdit") is True,
                                        old.modify_all
                                        or row.get("PermissionsModifyAllRecords") is True)
    return merged


def _shown(describe: Describe, sobject: str) -> frozenset[str]:
    fields = {str(f["name"]) for f in describe(sobject).get("fields", [])}
    return frozenset(k for k in PERMISSIONS if f"Permissions{k}" in fields)


def _true_keys(row: Mapping[str, object], cols: Iterable[str]) -> set[str]:
    return {c[len("Permissions"):] for c in cols if row.get(c) is True}
