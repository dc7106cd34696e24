"""Who a freeze or deactivation may touch, and why anyone else is refused. Pure: no I/O.

The safety rules of issue 13 and research/users-protocol.md ("Safety rules"), in one place so
freeze and deactivate cannot drift apart (sfdx-hardis checks them only in its interactive
picker, §7):
- never the running user;
- never the last active, unfrozen System Administrator (counted after the change);
- never integration or system users unless named explicitly;
- never anyone on the keep-list (``--keep``, ``--keep-profile``, ``[users] keep`` /
  ``keep_profiles``), even when named: the keep-list is the stronger statement.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from sfexit.errors import UsageError
from sfexit.people.names import Named, require_known
from sfexit.people.users import OrgUser, find_by_username

Action = Literal["freeze", "deactivate"]


@dataclass(frozen=True)
class Selection:
    touch: list[OrgUser] = field(default_factory=list)
    refused: list[tuple[OrgUser | str, str]] = field(default_factory=list)

    def refusal_lines(self) -> list[str]:
        return [f"{who if isinstance(who, str) else who.username}: {reason}"
                for who, reason in self.refused]


@dataclass(frozen=True)
class KeepList:
    usernames: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()

    def reason(self, user: OrgUser) -> str | None:
        if user.username.casefold() in {u.casefold() for u in self.usernames}:
            return "on the keep-list (--keep / [users] keep)"
        if user.profile and user.profile.casefold() in {p.casefold() for p in self.profiles}:
            return f"profile {user.profile!r} is on the keep-list (--keep-profile / " \
                   "[users] keep_profiles)"
        return None


def resolve_named(users: Sequence[OrgUser], names: Sequence[str]) -> list[OrgUser]:
    """The users named, in order. Raises UsageError naming every unknown one, with the closest
    usernames (people.names)."""
    require_known(users, [Named(n, "named") for n in names])
    found: list[OrgUser] = []
    for name in names:
        user = find_by_username(users, name)
        if user is not None and user not in found:
            found.append(user)
    return found


def _usable_admin(user: OrgUser) -> bool:
    return user.is_admin and user.is_active and not user.is_frozen


def select_users(users: Sequence[OrgUser], *, action: Action, usernames: Sequence[str] = (),
                 all_active: bool = False, keep: KeepList = KeepList()) -> Selection:
    """Split the candidates into who to touch and who is refused, each with its reason.

    ``users`` is every user of the org (active or not), with flags and freeze state.
    Raises UsageError for unknown usernames, or when neither names nor ``all_active`` are given.
    """
    if not usernames and not all_active:
        raise UsageError(f"name the users to {action}, or pass --all-active")
    named = resolve_named(users, usernames)
    named_ids = {u.id for u in named}
    candidates = list(named)
    if all_active:
        candidates += [u for u in users if u.is_active and u.id not in named_ids]
    touch: list[OrgUser] = []
    refused: list[tuple[OrgUser | str, str]] = []
    for user in candidates:
        reason = _refusal(user, action, explicitly_named=user.id in named_ids, keep=keep)
        if reason:
            refused.append((user, reason))
        else:
            touch.append(user)
    touch, refused = _keep_one_admin(users, touch, refused)
    return Selection(touch=touch, refused=refused)


def _refusal(user: OrgUser, action: Action, *, explicitly_named: bool,
             keep: KeepList) -> str | None:
    if user.is_running_user:
        return f"it is the running user (sfexit never {_verb(action)}s the account it works as)"
    if not user.is_active:
        return "already inactive" if action == "deactivate" else "inactive (cannot log in)"
    kept = keep.reason(user)
    if kept:
        return kept
    if user.is_system and not explicitly_named:
        return f"{user.kind.replace('_', ' ')} user: touched only when named explicitly"
    if action == "freeze" and user.is_frozen is None:
        return "no UserLogin row readable for this user, so it cannot be frozen"
    return None


def _keep_one_admin(users: Sequence[OrgUser], touch: list[OrgUser],
                    refused: list[tuple[OrgUser | str, str]]
                    ) -> tuple[list[OrgUser], list[tuple[OrgUser | str, str]]]:
    """Refuse admins from the end of the list until one usable admin remains after the change."""
    touched = {u.id for u in touch}
    remaining = [u for u in users if _usable_admin(u) and u.id not in touched]
    if remaining:
        return touch, refused
    admins = [u for u in touch if _usable_admin(u)]
    if not admins:
        return touch, refused  # the org has no usable admin today; nothing we do changes that
    last = admins[-1]
    reason = ("the last active System Administrator: the org would be left without an admin "
              "who can log in")
    return [u for u in touch if u.id != last.id], [*refused, (last, reason)]


def _verb(action: Action) -> str:
    return "freeze" if action == "freeze" else "deactivate"
