"""The one reader of the running user's permissions (sfexit/org/permissions.py): the same answer
and the same calls whether its two halves run side by side or one after the other; a field
the org does not show is unknown, never granted; ObjectPermissions merged over the sets."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from export_support import session_for

from sfexit.org import permissions
from sfexit.org.rest import RestClient
from sfexit_emulator import Emulator


def _routes(org: Emulator) -> Counter[str]:
    return Counter(org.stats()["requests_by_route"])


def test_the_halves_side_by_side_read_what_one_after_the_other_reads(emulator: Emulator
                                                                      ) -> None:
    rest = RestClient(session_for(emulator))
    me = rest.identity().user_id
    assert rest.session.api_version   # negotiated before counting
    before = _routes(emulator)
    alone = permissions.read(rest, me, profile_from_user=True)
    one_by_one = _routes(emulator) - before
    with ThreadPoolExecutor(2) as pool:
        before = _routes(emulator)
        together = permissions.start(rest, me, profile_from_user=True, pool=pool)()
    assert _routes(emulator) - before == one_by_one
    # The two describes, then one query a half: User with its Profile, PermissionSetAssignment
    # with its sets (relationship fields: a query page is the costly call, issue 23)
    assert one_by_one == {"sobject_describe": 2, "query": 2}
    assert together == alone
    # the demo admin: a System Administrator
    assert {"ModifyAllData", "ManageUsers", "ViewAllData", "ApiEnabled"} <= alone.granted
    assert alone.permission_set_ids and alone.sources and alone.profile_id is None


def test_a_field_the_permission_set_describe_lacks_is_unknown_never_granted(
        emulator: Emulator) -> None:
    rest = RestClient(session_for(emulator))
    me = rest.identity().user_id

    def without_manage_users(sobject: str) -> dict[str, Any]:
        described = rest.describe(sobject)
        return {**described, "fields": [f for f in described["fields"]
                                         if f["name"] != "PermissionsManageUsers"]}

    perms = permissions.start(rest, me, profile_from_user=True, describe=without_manage_users)()
    assert perms.has("ManageUsers") is None and "ManageUsers" not in perms.granted
    assert perms.has("ModifyAllData") is True
    assert permissions.nothing_known(me).has("ModifyAllData") is None


def test_object_rights_are_merged_over_the_running_users_sets(emulator: Emulator) -> None:
    rest = RestClient(session_for(emulator))
    perms = permissions.read(rest, rest.identity().user_id)   # the profile is not read
    rights = permissions.read_object_rights(rest, perms, ["Account", "Opportunity", "Task"])
    assert rights is not None and set(rights) == {"Account", "Opportunity"}
    assert rights["Account"] == permissions.ObjectRights("Account", True, True, True)
    nobody = permissions.UserPermissions("005000000000000AAA", frozenset())
    assert permissions.read_object_rights(rest, nobody, ["Account"]) is None
