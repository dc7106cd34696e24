"""Who freeze/deactivate may touch: pure rules, every refusal with its reason."""

from __future__ import annotations

import zlib
from dataclasses import replace

import pytest

from sfexit.errors import UsageError
from sfexit.people.selection import KeepList, select_users
from sfexit.people.users import OrgUser


def user(name: str, *, profile: str = "Standard User", user_type: str = "Standard",
         active: bool = True, frozen: bool | None = False, me: bool = False,
         licence: str = "Salesforce") -> OrgUser:
    return OrgUser(id=f"005{zlib.crc32(name.encode()):012d}", username=f"{name}@x.example",
                   name=name, email=None, is_active=active, user_type=user_type, profile=profile,
                   licence=licence, licence_key=None, role=None, last_login=None, created=None,
                   manager_id=None, is_frozen=frozen, login_id="0Yw1", is_running_user=me)


ME = user("me", profile="System Administrator", me=True)
ADMIN = user("admin2", profile="System Administrator")
ANNA = user("anna")
BOB = user("bob", profile="Read Only")
AUTO = user("autoproc", user_type="AutomatedProcess")
INTEG = user("integration", profile="Salesforce API Only System Integrations",
             licence="Salesforce Integration")
GONE = user("gone", active=False)
ORG = [ME, ADMIN, ANNA, BOB, AUTO, INTEG, GONE]


def names(users: list[OrgUser]) -> list[str]:
    return [u.name for u in users]


def reasons(selection: object) -> dict[str, str]:
    return {(w if isinstance(w, str) else w.name): r
            for w, r in selection.refused}  # type: ignore[attr-defined]


def test_freeze_all_active_skips_me_and_system_users() -> None:
    sel = select_users(ORG, action="freeze", all_active=True)
    assert names(sel.touch) == ["admin2", "anna", "bob"]
    why = reasons(sel)
    assert "running user" in why["me"]
    assert "only when named" in why["autoproc"] and "only when named" in why["integration"]
    assert "gone" not in why  # inactive users are not candidates of --all-active


def test_named_system_user_is_allowed() -> None:
    sel = select_users(ORG, action="freeze", usernames=["integration@x.example"])
    assert names(sel.touch) == ["integration"] and sel.refused == []


def test_usernames_match_case_insensitively() -> None:
    sel = select_users(ORG, action="freeze", usernames=["ANNA@X.example"])
    assert names(sel.touch) == ["anna"]


def test_unknown_username_is_one_usage_error_naming_all() -> None:
    with pytest.raises(UsageError) as err:
        select_users(ORG, action="freeze", usernames=["anna@x.example", "zed@x", "amy@y"])
    assert err.value.message == ("no such user in this org: 'zed@x' (named; no similar "
                                 "username); 'amy@y' (named; no similar username)")


def test_nothing_asked_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="--all-active"):
        select_users(ORG, action="deactivate")


def test_freeze_skips_last_admin() -> None:
    org = [replace(ME, profile="Standard User"), ADMIN, ANNA]
    sel = select_users(org, action="freeze", all_active=True)
    assert names(sel.touch) == ["anna"]
    assert "last active System Administrator" in reasons(sel)["admin2"]


def test_an_admin_may_go_when_another_usable_admin_stays() -> None:
    sel = select_users(ORG, action="deactivate", usernames=["admin2@x.example"])
    assert names(sel.touch) == ["admin2"]


def test_a_frozen_admin_does_not_count_as_the_one_left() -> None:
    frozen_admin = user("admin3", profile="System Administrator", frozen=True)
    org = [replace(ME, profile="Standard User"), ADMIN, frozen_admin, ANNA]
    sel = select_users(org, action="deactivate", usernames=["admin2@x.example"])
    assert sel.touch == [] and "last active" in reasons(sel)["admin2"]


def test_keep_list_wins_even_over_a_name() -> None:
    keep = KeepList(usernames=("anna@x.example",), profiles=("read only",))
    sel = select_users(ORG, action="freeze", usernames=["anna@x.example", "bob@x.example"],
                       keep=keep)
    assert sel.touch == []
    assert "keep-list" in reasons(sel)["anna"] and "Read Only" in reasons(sel)["bob"]


def test_inactive_users_are_refused_with_the_action_in_mind() -> None:
    assert "already inactive" in reasons(select_users(ORG, action="deactivate",
                                                      usernames=["gone@x.example"]))["gone"]
    assert "inactive" in reasons(select_users(ORG, action="freeze",
                                              usernames=["gone@x.example"]))["gone"]


def test_user_without_userlogin_row_cannot_be_frozen() -> None:
    ghost = replace(ANNA, is_frozen=None, login_id=None)
    sel = select_users([ME, ghost], action="freeze", usernames=[ghost.username])
    assert sel.touch == [] and "UserLogin" in reasons(sel)["anna"]


def test_every_refusal_is_one_line() -> None:
    sel = select_users(ORG, action="freeze", all_active=True)
    assert sel.refusal_lines() and all("\n" not in line for line in sel.refusal_lines())
