"""Usernames typed by a person, checked against the org before anything is done with them.

A keep-list with a typo protects nobody: ``--keep standard.usr@…`` matched no one, and the user
meant to be kept was frozen (issue 19, Safety 1). So every name in a keep-list (``--keep``,
``[users] keep``), a successor (``--to``, ``--map``, ``[users] successor``) or a ``--from`` must
be a user of the org, or the command stops with exit 2 naming EACH unknown name with the
closest usernames (difflib), before any write and before any plan file. A successor must also
be able to take over: active (Salesforce refuses an inactive owner, INACTIVE_OWNER_OR_USER) and
not frozen (records given to someone who cannot log in are records nobody works on).
Pure: the org's users in, a UsageError out.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from sfexit.errors import UsageError
from sfexit.people.users import OrgUser, find_by_username, same_id

HINT = "check the usernames with `sfexit users list --all`"


@dataclass(frozen=True)
class Named:
    """A name as the person gave it, and where (``--keep``, ``[users] keep``, ``--to`` …)."""

    name: str
    source: str


def closest(name: str, usernames: Iterable[str], n: int = 3) -> list[str]:
    """Up to ``n`` usernames that look like ``name`` (case-insensitive), best first: those
    within 0.1 of the best similarity (difflib's ratio, at least 0.6), so a shared domain
    alone does not make every username a suggestion."""
    by_folded: dict[str, str] = {}
    for username in usernames:
        by_folded.setdefault(username.casefold(), username)
    wanted = name.strip().casefold()
    scored = []
    for folded in by_folded:
        matcher = difflib.SequenceMatcher(None, wanted, folded)
        scored.append((matcher.ratio(), folded))
    scored.sort(key=lambda s: (-s[0], s[1]))
    if not scored or scored[0][0] < 0.6:
        return []
    best = scored[0][0]
    return [by_folded[f] for score, f in scored[:n] if score >= max(0.6, best - 0.1)]


def describe_unknown(name: Named, usernames: Sequence[str]) -> str:
    """``'standard.usr@x' (--keep; did you mean standard.user@x?)``"""
    near = closest(name.name, usernames)
    guess = f"did you mean {' or '.join(near)}?" if near else "no similar username"
    return f"{name.name.strip()!r} ({name.source}; {guess})"


def unknown_error(unknown: Sequence[Named], usernames: Sequence[str],
                  what: str = "user") -> UsageError:
    """One line naming every unknown name, each with its suggestions."""
    return UsageError(f"no such {what} in this org: "
                      + "; ".join(describe_unknown(n, usernames) for n in unknown), hint=HINT)


def find_user(users: Sequence[OrgUser], name: str) -> OrgUser | None:
    """By username (case-insensitive) or by 15/18-character user id."""
    text = name.strip()
    return find_by_username(users, text) or next(
        (u for u in users if len(text) in (15, 18) and same_id(u.id, text)), None)


def require_known(users: Sequence[OrgUser], names: Iterable[Named]) -> None:
    """Raise UsageError naming every name that is no user of the org (with suggestions)."""
    unknown = [n for n in _unique(names) if find_user(users, n.name) is None]
    if unknown:
        raise unknown_error(unknown, [u.username for u in users])


def successor_problem(user: OrgUser, source: str) -> str | None:
    """Why ``user`` cannot take over records, or None."""
    if not user.is_active:
        return (f"{user.username} ({source}) is inactive: Salesforce refuses an inactive owner "
                "(INACTIVE_OWNER_OR_USER); choose an active user")
    if user.is_frozen:
        return (f"{user.username} ({source}) is frozen: records given to a user who cannot "
                "log in are orphaned; unfreeze them first or choose another successor")
    return None


def _unique(names: Iterable[Named]) -> list[Named]:
    seen: set[str] = set()
    out = []
    for n in names:
        key = n.name.strip().casefold()
        if key and key not in seen:
            seen.add(key)
            out.append(n)
    return out
