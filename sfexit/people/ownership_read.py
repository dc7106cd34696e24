"""Reading what a reassignment needs from the org: principals, owned objects, counts, the plan.

The plan itself is pure (``ownership.py``); this module only reads (a read-only session is
enough). The transfer and undo are ``ownership_transfer.py``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

from sfexit import errors
from sfexit.org import soql
from sfexit.org.rest import RestClient
from sfexit.org.session import OrgSession
from sfexit.people.ownership import (Assignment, OwnedObject, OwnershipPlan, Principal,
                                     StateFilter, plan_ownership, state_filter_for)
from sfexit.people.names import Named, find_user, unknown_error
from sfexit.people.users import OrgUser, UserFilter, list_users

# Not record ownership: a Group's owner is a setup matter, and a file's owner is its
# ContentDocument's (ContentVersion.OwnerId follows it).
EXCLUDED_OBJECTS = frozenset({"Group", "ContentVersion"})
PARENT_FIELDS = {"Account": "ParentId", "Contact": "AccountId", "Opportunity": "AccountId",
                 "Case": "AccountId", "Contract": "AccountId", "Order": "AccountId",
                 "Task": "WhatId", "Event": "WhatId"}


def _principal(user: OrgUser) -> Principal:
    return Principal(user.id, user.username, "user", user.is_active, user.user_type, user.licence,
                     frozen=bool(user.is_frozen))


def resolve_principals(session: OrgSession, names: Iterable[str], queues_ok: set[str], *,
                       sources: Mapping[str, str] | None = None) -> dict[str, Principal]:
    """Usernames or 005 ids (and queue names or 00G ids for names in ``queues_ok``) → Principal,
    through the users engineer's :func:`list_users` (every user, any state).

    ``sources`` says where each name was given (``--from``, ``--to``, ``[users] successor``)
    for the error. Raises UsageError naming EVERY unknown user or queue, each with the
    closest usernames (people.names)."""
    wanted = list(dict.fromkeys(n.strip() for n in names))
    users = list_users(session, UserFilter(active_only=False), running_id="")
    found: dict[str, Principal] = {}
    for n in wanted:
        user = find_user(users, n)
        if user is not None:
            found[n] = _principal(user)
    queue_names = [n for n in wanted if n not in found and n in queues_ok]
    if queue_names:
        found.update(_resolve_queues(RestClient(session), queue_names))
    unknown = [Named(n, (sources or {}).get(n) or ("user or queue" if n in queues_ok
                                                  else "user"))
               for n in wanted if n not in found]
    if unknown:
        queues = any(n.name in queues_ok for n in unknown)
        raise unknown_error(unknown, [u.username for u in users],
                            "user or queue" if queues else "user")
    return found


def find_queue(session: OrgSession, name: str) -> Principal | None:
    """The queue of this name, DeveloperName or 00G id, or None. Reads only."""
    return _resolve_queues(RestClient(session), [name.strip()]).get(name.strip())


def _resolve_queues(rest: RestClient, names: list[str]) -> dict[str, Principal]:
    groups: dict[str, tuple[str, str]] = {}
    ids = [n for n in names if n[:3] == "00G"]
    for field_name, values in (("Id", ids), ("Name", names), ("DeveloperName", names)):
        if values:
            where = [soql.condition("Type", "=", "Queue"), soql.in_list(field_name, values)]
            for row in rest.query_iter(soql.select("Group", ["Id", "Name", "DeveloperName"],
                                                   where=where)):
                for n in values:
                    if n in (row["Id"], row["Name"], row["DeveloperName"]) or row["Id"].startswith(n):
                        groups.setdefault(n, (row["Id"], row["Name"]))
    if not groups:
        return {}
    taken: dict[str, set[str]] = {}
    query = soql.select("QueueSobject", ["QueueId", "SobjectType"],
                        where=[soql.in_list("QueueId", sorted({g[0] for g in groups.values()}))])
    for row in rest.query_iter(query):
        taken.setdefault(row["QueueId"], set()).add(row["SobjectType"])
    return {n: Principal(gid, name, "queue", queue_objects=frozenset(taken.get(gid, set())))
            for n, (gid, name) in groups.items()}


def discover_objects(rest: RestClient, only: Sequence[str] | None = None) -> list[OwnedObject]:
    """Objects whose OwnerId is an updateable reference to User (describe global + describe).

    Raises UsageError for a name in ``only`` that is unknown or has no transferable owner."""
    if only:
        names = list(dict.fromkeys(only))
    else:
        names = [o["name"] for o in rest.describe_global()
                 if o.get("queryable") and o.get("updateable") and o["name"] not in EXCLUDED_OBJECTS]
    found: list[OwnedObject] = []
    for name in names:
        try:
            described = rest.describe(name)
        except (errors.SalesforceError, ValueError):
            if only:
                raise errors.UsageError(f"unknown object: {name!r}",
                                        hint="give API names, e.g. --objects Account,Lead") from None
            continue
        fields = {f["name"]: f for f in described.get("fields", [])}
        owner = fields.get("OwnerId")
        if not owner or not owner.get("updateable") or "User" not in (owner.get("referenceTo") or []):
            if only:
                raise errors.UsageError(f"{name} has no OwnerId that can be changed")
            continue
        parent = PARENT_FIELDS.get(name)
        if described.get("custom") or name.endswith("__c"):
            parent = next((f for f, d in fields.items() if f.endswith("__c")
                           and d.get("type") == "reference"), None)
        found.append(OwnedObject(name, bool(described.get("custom") or name.endswith("__c")),
                                 "Group" in (owner.get("referenceTo") or []),
                                 parent if parent in fields else None, state_filter_for(name)))
    return found


def filter_conditions(obj: OwnedObject, now: dt.datetime) -> list[str]:
    return {StateFilter.OPEN: [soql.condition("IsClosed", "=", False)],
            StateFilter.UNCONVERTED: [soql.condition("IsConverted", "=", False)],
            StateFilter.FUTURE: [soql.condition("StartDateTime", ">=", now)],
            StateFilter.ALL: []}[obj.state_filter]


def count_owned(rest: RestClient, objects: Sequence[OwnedObject], owner_ids: Sequence[str],
                now: dt.datetime) -> dict[tuple[str, str], int]:
    """``SELECT OwnerId, COUNT(Id) … WHERE OwnerId IN (…) GROUP BY OwnerId``: one call per object."""
    counts: dict[tuple[str, str], int] = {}
    for obj in objects:
        query = soql.select(obj.name, ["OwnerId", "COUNT(Id) total"],
                            where=[soql.in_list("OwnerId", owner_ids), *filter_conditions(obj, now)],
                            group_by=["OwnerId"])
        for row in rest.query_iter(query):
            counts[(obj.name, row["OwnerId"])] = int(row.get("total", row.get("expr0")) or 0)
    return counts


def build_plan(session: OrgSession, pairs: Sequence[tuple[str, str]],
               objects: Sequence[str] | None = None, *, now: dt.datetime | None = None
               ) -> OwnershipPlan:
    """Everything the plan needs, read (a read-only session is enough). Raises UsageError."""
    if not pairs:
        raise errors.UsageError("nobody to reassign from",
                                hint="give --from and --to, --map FILE.csv, or [users] successor")
    rest = RestClient(session)
    people = resolve_principals(session, [n for p in pairs for n in p], {t for _, t in pairs},
                                sources={**{t.strip(): "to" for _, t in pairs},
                                         **{s.strip(): "from" for s, _ in pairs}})
    assignments = [Assignment(people[s], people[t]) for s, t in pairs]
    owned = discover_objects(rest, objects)
    ids = list(dict.fromkeys([a.source.id for a in assignments] + [a.target.id for a in assignments]))
    counts = count_owned(rest, owned, ids, now or dt.datetime.now(dt.UTC))
    return plan_ownership(assignments, owned, counts, explicit_objects=frozenset(objects or ()))
