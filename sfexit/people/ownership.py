"""The reassignment plan: who gives which records to whom, in which order, and what is refused.

Pure: counts and facts about users and queues in, an :class:`OwnershipPlan` out; no I/O. The
acting code is ``ownership_read.py`` (discovery, counts) and ``ownership_transfer.py``
(transfer, team restore) and ``ownership_undo.py`` (the undo).

Why the plan looks like this (users-protocol.md §4):
- An owner change through the API does NOT cascade (help.sf KB 000383779; the cascading
  ``OwnerChangeOptions`` header is SOAP only and Bulk ignores it), so Account, the departing
  user's Contacts, open Opportunities, Cases, Contracts/Orders, unconverted Leads, open Tasks,
  future Events and custom objects are each an explicit step with their own count and filter.
- API owner changes fire validation rules, triggers and flows; Setup's Mass Transfer does not
  ("Considerations for Changing a Record's Owner", help.sf ``account_owner_transfer.htm``).
- Salesforce refuses an inactive owner (``INACTIVE_OWNER_OR_USER``), a Chatter Free/External
  owner (``OP_WITH_INVALID_USER_TYPE_EXCEPTION``, errors.md §8) and a queue that QueueSobject
  does not list for the object: we refuse those before any write instead of per record.
- More than 10,000 records of one object under one owner is "ownership skew" (Salesforce's
  large-data-volume guidance): sharing recalculation slows and row locks contend.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Literal

SKEW_LIMIT = 10_000
# Chatter Free and Chatter External users cannot own records (users-protocol.md §1, errors.md §8).
CANNOT_OWN_USER_TYPES = frozenset({"CsnOnly", "CsnExternal"})
CANNOT_OWN_LICENCES = frozenset({"Chatter Free", "Chatter External"})
# The order of the steps: parents before children, so a child never waits on a parent's lock
# and the admin reads the plan in the order Mass Transfer would have cascaded it.
STEP_ORDER = ("Account", "Contact", "Opportunity", "Case", "Contract", "Order", "Lead", "Task",
              "Event")

API_NOTES = (
    "Owner changes through the API fire validation rules, triggers and flows "
    "(Setup's Mass Transfer does not): failures are reported per record.",
    "Nothing cascades: Account, Contacts, open Opportunities, Cases, Contracts/Orders, "
    "unconverted Leads, open Tasks, future Events and custom objects are separate steps.",
    "Account and Opportunity team members are snapshotted first and re-added if an owner "
    "change drops them.",
)


class StateFilter(enum.Enum):
    ALL = "all"
    OPEN = "open"                  # IsClosed = false
    UNCONVERTED = "unconverted"    # IsConverted = false (a converted Lead cannot be updated)
    FUTURE = "future"              # StartDateTime >= now (past Events stay with their owner)

    @property
    def text(self) -> str:
        return {"all": "every record", "open": "open only (IsClosed = false)",
                "unconverted": "unconverted only (IsConverted = false)",
                "future": "future only (StartDateTime >= now)"}[self.value]


STATE_FILTERS = {"Opportunity": StateFilter.OPEN, "Case": StateFilter.OPEN,
                 "Task": StateFilter.OPEN, "Lead": StateFilter.UNCONVERTED,
                 "Event": StateFilter.FUTURE}


@dataclass(frozen=True)
class Principal:
    """A user or a queue, with the facts that decide whether it may own records."""

    id: str
    name: str                        # username or queue name, as people know it
    kind: Literal["user", "queue"] = "user"
    active: bool = True
    user_type: str | None = None
    licence: str | None = None
    queue_objects: frozenset[str] = frozenset()   # QueueSobject.SobjectType of a queue
    frozen: bool = False             # UserLogin.IsFrozen: cannot log in


@dataclass(frozen=True)
class OwnedObject:
    """An object whose OwnerId is an updateable reference to User (found by describe)."""

    name: str
    custom: bool = False
    queue_owner: bool = False          # OwnerId also references Group (a queue may own it)
    parent_field: str | None = None    # sort key against lock contention
    state_filter: StateFilter = StateFilter.ALL


@dataclass(frozen=True)
class Assignment:
    source: Principal
    target: Principal


@dataclass(frozen=True)
class Move:
    source_id: str
    source: str
    target_id: str
    target: str
    count: int


@dataclass(frozen=True)
class Step:
    order: int
    object: str
    filter: StateFilter
    filter_text: str
    parent_field: str | None
    moves: tuple[Move, ...]

    @property
    def count(self) -> int:
        return sum(m.count for m in self.moves)


@dataclass(frozen=True)
class OwnershipPlan:
    assignments: tuple[Assignment, ...]
    steps: tuple[Step, ...]
    refusals: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    notes: tuple[str, ...] = API_NOTES
    objects: tuple[OwnedObject, ...] = field(default=())

    @property
    def total(self) -> int:
        return sum(s.count for s in self.steps)

    @property
    def refused(self) -> bool:
        return bool(self.refusals)


def state_filter_for(name: str) -> StateFilter:
    return STATE_FILTERS.get(name, StateFilter.ALL)


def step_rank(obj: OwnedObject) -> tuple[int, int, str]:
    """Known parents and children in STEP_ORDER, then other standard objects, then custom."""
    if obj.name in STEP_ORDER:
        return (0, STEP_ORDER.index(obj.name), obj.name)
    return (2 if obj.custom else 1, 0, obj.name)


def target_problem(target: Principal) -> str | None:
    """Why this user can own no record at all, or None."""
    if target.kind == "queue":
        return None
    if not target.active:
        return (f"{target.name} is inactive: Salesforce refuses an inactive owner "
                "(INACTIVE_OWNER_OR_USER); choose an active user or a queue")
    if target.frozen:
        return (f"{target.name} is frozen: records given to a user who cannot log in are "
                "orphaned; unfreeze them first or choose another user or a queue")
    if target.user_type in CANNOT_OWN_USER_TYPES or target.licence in CANNOT_OWN_LICENCES:
        licence = target.licence or target.user_type
        return (f"{target.name} has a {licence} licence, which cannot own records "
                "(OP_WITH_INVALID_USER_TYPE_EXCEPTION); choose a user with a full licence")
    return None


def queue_problem(target: Principal, obj: OwnedObject) -> str | None:
    if target.kind != "queue":
        return None
    if obj.queue_owner and obj.name in target.queue_objects:
        return None
    return (f"queue {target.name} does not take {obj.name} records (QueueSobject); "
            f"give a user for {obj.name} with --map, or add {obj.name} to the queue")


def _assignment_problems(assignments: Sequence[Assignment]) -> list[str]:
    problems: list[str] = []
    seen: dict[str, str] = {}
    for a in assignments:
        if a.source.kind != "user":
            problems.append(f"{a.source.name} is a queue; --from takes a user")
        if a.source.id == a.target.id:
            problems.append(f"{a.source.name} cannot be reassigned to itself; give another "
                            "user or queue with --to")
        if seen.get(a.source.id, a.target.id) != a.target.id:
            problems.append(f"{a.source.name} is mapped to two different owners")
        seen[a.source.id] = a.target.id
        if any(a.target.id == b.source.id for b in assignments):
            problems.append(f"{a.target.name} both gives and receives records; map each "
                            "departing user to someone who stays")
        problem = target_problem(a.target)
        if problem:
            problems.append(problem)
    return list(dict.fromkeys(problems))


def plan_ownership(assignments: Sequence[Assignment], objects: Sequence[OwnedObject],
                   counts: Mapping[tuple[str, str], int], *,
                   explicit_objects: frozenset[str] = frozenset(),
                   skew_limit: int = SKEW_LIMIT) -> OwnershipPlan:
    """The ordered steps, refusals and warnings.

    ``counts[(object, owner_id)]`` holds the records each departing user owns (state filter
    applied) and those each target already owns (for the skew warning). An object named in
    ``explicit_objects`` is checked against a queue target even when nothing would move.
    """
    refusals = _assignment_problems(assignments)
    warnings: list[str] = []
    steps: list[Step] = []
    for obj in sorted(objects, key=step_rank):
        moves = tuple(Move(a.source.id, a.source.name, a.target.id, a.target.name,
                           counts.get((obj.name, a.source.id), 0)) for a in assignments)
        moving = [m for m in moves if m.count]
        for a, m in zip(assignments, moves):
            if m.count or obj.name in explicit_objects:
                problem = queue_problem(a.target, obj)
                if problem:
                    refusals.append(problem)
        incoming: dict[str, int] = {}
        for m in moving:
            incoming[m.target_id] = incoming.get(m.target_id, 0) + m.count
        for target_id, n in incoming.items():
            held = counts.get((obj.name, target_id), 0) + n
            name = next(m.target for m in moving if m.target_id == target_id)
            if held > skew_limit:
                warnings.append(
                    f"{name} would own {held:,} {obj.name} records (over {skew_limit:,}: "
                    "ownership skew slows sharing recalculation and causes lock contention); "
                    "consider a queue or several owners (--map)")
        if moving:
            steps.append(Step(len(steps) + 1, obj.name, obj.state_filter, obj.state_filter.text,
                              obj.parent_field, tuple(moving)))
    return OwnershipPlan(tuple(assignments), tuple(steps), tuple(dict.fromkeys(refusals)),
                         tuple(warnings), API_NOTES, tuple(objects))


# --- undo: from every journaled attempt back to the original owners ------------------------

@dataclass(frozen=True)
class Row:
    """One record in an owner snapshot: who owned it, who it goes to, its parent (for order)."""

    id: str
    owner: str
    new_owner: str
    parent: str = ""


@dataclass(frozen=True)
class Attempt:
    """One journaled owner change of one object: its snapshot rows and what became of them.

    ``failed`` holds the ids Salesforce refused; ``None`` when the run died before the step's
    end was journaled (docs/offboard.md "Resume"), so any of its rows may have moved."""

    rows: tuple[Row, ...]
    failed: frozenset[str] | None


def undo_rows(attempts: Sequence[Attempt]) -> list[Row]:
    """Rows that put every record of one object back to its ORIGINAL owner.

    ``attempts`` in journal order. A crash between the journal entry and the write makes a
    resumed run journal the object again (docs/offboard.md "Resume"): the oldest snapshot
    holding a record has its true original owner (a later one may show an owner an earlier
    attempt gave it). The owner it has now is the newest attempt's target, or that attempt's
    source when it failed there. A record already back with its original owner (it failed, or
    the attempt that died never moved it) is left alone. Sorted by parent, as the transfer."""
    first: dict[str, Row] = {}
    now: dict[str, str] = {}
    for attempt in attempts:
        for row in attempt.rows:
            first.setdefault(row.id, row)
            refused = attempt.failed is not None and row.id in attempt.failed
            now[row.id] = row.owner if refused else row.new_owner
    back = [Row(i, now[i], r.owner, r.parent) for i, r in first.items() if now[i] != r.owner]
    return sorted(back, key=lambda r: (r.parent, r.id))


@dataclass(frozen=True)
class UndoSplit:
    """An undo's rows against the owners the org shows now (issue 19, Safety 2)."""

    back: tuple[Row, ...]        # still owned by whom sfexit set: put back
    drifted: tuple[tuple[Row, str], ...]   # (row, current owner; "" = record gone): left alone
    already: int                 # already with their original owner: nothing to do


def split_undo(rows: Sequence[Row], current: Mapping[str, str]) -> UndoSplit:
    """Undo never overwrites a later change: a record whose owner changed after sfexit moved
    it (A→B by sfexit, B→C by someone since) stays with C and is reported, never sent to A;
    a record already back with A is left alone, which makes a repeated undo a no-op.
    ``rows`` from :func:`undo_rows` (``owner``: the owner sfexit set; ``new_owner``: the
    original); ``current``: record id (15 characters) → OwnerId now; deleted records absent."""
    back: list[Row] = []
    drifted: list[tuple[Row, str]] = []
    already = 0
    for row in rows:
        now = current.get(row.id[:15], "")
        if now[:15] == row.owner[:15] and now:
            back.append(row)
        elif now and now[:15] == row.new_owner[:15]:
            already += 1
        else:
            drifted.append((row, now))
    return UndoSplit(tuple(back), tuple(drifted), already)
