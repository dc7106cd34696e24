"""people.names: unknown names with suggestions; successors that cannot take over."""

from __future__ import annotations

import pytest

from sfexit.errors import UsageError
from sfexit.people.names import Named, closest, require_known, successor_problem
from sfexit.people.users import OrgUser


def user(username: str, *, active: bool = True, frozen: bool = False,
         uid: str = "005000000000001AAA") -> OrgUser:
    return OrgUser(uid, username, username.split("@")[0], None, active, "Standard", None, None,
                   None, None, None, None, None, is_frozen=frozen)


USERS = [user("standard.user@acme.example"), user("departing.user@acme.example",
                                                  uid="005000000000002AAA"),
         user("old@acme.example", active=False), user("iced@acme.example", frozen=True)]


def test_closest_usernames_are_suggested_case_insensitively() -> None:
    assert closest("Standard.Usr@acme.example", [u.username for u in USERS])[0] == \
        "standard.user@acme.example"
    assert closest("zzz", [u.username for u in USERS]) == []


def test_every_unknown_name_is_named_once_with_its_source() -> None:
    with pytest.raises(UsageError) as caught:
        require_known(USERS, [Named("standard.usr@acme.example", "--keep"),
                              Named("STANDARD.USR@acme.example", "[users] keep"),
                              Named("nobody", "--keep"), Named("old@acme.example", "--keep"),
                              Named("005000000000002", "named")])
    message = caught.value.message
    assert message.count("standard.usr") == 1 and "'nobody' (--keep; no similar username)" \
        in message
    assert "(--keep; did you mean standard.user@acme.example?)" in message
    assert "old@acme.example" not in message and "005000000000002" not in message


def test_an_inactive_or_frozen_successor_is_refused() -> None:
    assert successor_problem(USERS[0], "--to") is None
    assert "is inactive" in (successor_problem(USERS[2], "--to") or "")
    assert "is frozen" in (successor_problem(USERS[3], "[users] successor") or "")
