"""Freeze and unfreeze users through ``UserLogin.IsFrozen``, journaled, with an exact undo.

research/users-protocol.md §2 and "Algorithm" step 3:
- read the current UserLogin state first; an already-frozen user is left alone and recorded;
- write the CSV of who will be touched BEFORE any change (sfdx-hardis's "users-to-freeze");
- PATCH ``/composite/sobjects`` with ``allOrNone: false``, at most 200 UserLogin rows per call
  and nothing but UserLogin in those calls (setup objects apart from data: MIXED_DML);
- journal write-ahead (sfexit.journal): an intent per user, with its before-state, BEFORE the
  call and its outcome after, so a process killed in between leaves intents that the next run
  resolves from the org (people.intents); then re-query to verify (an Apex tool in §7 set the
  wrong value for years because it never looked);
- unfreeze restores exactly the state before: a user frozen before sfexit came stays frozen
  (sfdx-hardis thaws every frozen user in scope, §7).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Collection, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from sfexit.errors import UsageError
from sfexit.journal import Entry, Journal, JournalError, read_journal
from sfexit.org.rest import RecordError, RestClient
from sfexit.org.session import OrgSession
from sfexit.people.intents import carried_over, in_effect, resolve_pending
from sfexit.people.selection import resolve_named
from sfexit.people.users import OrgUser, login_states

Direction = Literal["freeze", "unfreeze"]
PLAN_COLUMNS = ["username", "user_id", "name", "profile", "userlogin_id", "is_frozen_now",
                "planned"]


@dataclass(frozen=True)
class PlannedUser:
    user: OrgUser
    login_id: str | None
    frozen_now: bool | None
    planned: str  # freeze | unfreeze | leave: already frozen | leave: not frozen | skip: …

    @property
    def will_change(self) -> bool:
        return self.planned in ("freeze", "unfreeze")


@dataclass(frozen=True)
class FreezePlan:
    direction: Direction
    users: list[PlannedUser]
    refused: list[tuple[OrgUser | str, str]] = field(default_factory=list)

    @property
    def changes(self) -> list[PlannedUser]:
        return [p for p in self.users if p.will_change]


@dataclass(frozen=True)
class FreezeItem:
    username: str
    user_id: str
    status: str  # frozen | unfrozen | already frozen | not frozen | failed | would freeze …
    before: bool | None
    after: bool | None
    message: str | None = None


@dataclass(frozen=True)
class FreezeResult:
    direction: Direction
    dry_run: bool
    items: list[FreezeItem]
    refused: list[tuple[str, str]]
    plan_file: Path | None
    journal: Path | None

    @property
    def failed(self) -> list[FreezeItem]:
        return [i for i in self.items if i.status == "failed"]

    @property
    def changed(self) -> list[FreezeItem]:
        return [i for i in self.items if i.status in ("frozen", "unfrozen")]

    def report_lines(self) -> list[str]:
        done = "frozen" if self.direction == "freeze" else "unfrozen"
        would = sum(i.status.startswith("would") for i in self.items)
        lines = [f"Dry run: {would} would be {done}; nothing was changed." if self.dry_run
                 else f"{len(self.changed)} {done}, {len(self.failed)} failed."]
        lines += [f"  {i.username}: {i.status}" + (f" ({i.message})" if i.message else "")
                  for i in self.items]
        lines += [f"  {name}: refused: {reason}" for name, reason in self.refused]
        if self.journal:
            lines.append(f"Journal: {self.journal}")
        if self.plan_file:
            lines.append(f"Plan: {self.plan_file}")
        return lines


# An unfreeze finds a user sfexit froze (a confirmed change) no longer frozen: someone let
# them back in by hand since. Left alone and reported, never "restored" (issue 19, Safety 2).
DRIFTED = "leave: changed since sfexit froze it (not frozen now)"


def plan(session: OrgSession, direction: Direction, users: Sequence[OrgUser],
         refused: Sequence[tuple[OrgUser | str, str]] = (), *,
         frozen_by_us: Collection[str] = ()) -> FreezePlan:
    """Read each user's UserLogin state now and decide per user. Reads only.

    ``frozen_by_us``: 15-character ids of users whose freeze sfexit journaled as a change;
    an unfreeze that finds one of them not frozen marks it :data:`DRIFTED`."""
    states = login_states(session, [u.id for u in users]) if users else {}
    want = direction == "freeze"
    planned: list[PlannedUser] = []
    for user in users:
        login_id, frozen = states.get(user.id[:15], (None, None))
        if login_id is None:
            what = "skip: no UserLogin row (cannot be frozen)"
        elif frozen == want and not want and user.id[:15] in frozen_by_us:
            what = DRIFTED
        elif frozen == want:
            what = "leave: already frozen" if want else "leave: not frozen"
        else:
            what = direction
        planned.append(PlannedUser(user, login_id, frozen, what))
    return FreezePlan(direction, planned, list(refused))


def write_plan_csv(the_plan: FreezePlan, path: Path) -> Path:
    """The list of who will be touched, written before anything changes.

    Raises UsageError when the file cannot be written (nothing has changed yet).
    """
    try:
        return _write_plan(the_plan, path)
    except OSError as exc:
        raise UsageError(f"cannot write the plan file {path}: {exc.strerror}",
                         hint="pass --plan-file PATH somewhere writable") from None


def _write_plan(the_plan: FreezePlan, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(PLAN_COLUMNS)
        for p in the_plan.users:
            writer.writerow([p.user.username, p.user.id, p.user.name, p.user.profile or "",
                             p.login_id or "", "" if p.frozen_now is None else p.frozen_now,
                             p.planned])
        for who, reason in the_plan.refused:
            user = who if isinstance(who, OrgUser) else None
            writer.writerow([user.username if user else who, user.id if user else "",
                             user.name if user else "", (user.profile or "") if user else "",
                             "", "", f"refused: {reason}"])
    return path


def unchanged_result(the_plan: FreezePlan, plan_file: Path | None, *,
                     dry_run: bool = True) -> FreezeResult:
    """The result of a dry run (what would happen), or of a run with nobody to touch."""
    items = [FreezeItem(p.user.username, p.user.id,
                        f"would {p.planned}" if p.will_change else p.planned,
                        p.frozen_now, (the_plan.direction == "freeze") if p.will_change
                        else p.frozen_now) for p in the_plan.users]
    return FreezeResult(the_plan.direction, dry_run, items, _refusals(the_plan), plan_file,
                        None)


def apply(session: OrgSession, the_plan: FreezePlan, journal: Journal, *,
          plan_file: Path | None = None,
          on_progress: Callable[[str], None] | None = None) -> FreezeResult:
    """Make the planned changes write-ahead (an intent per user before each call, its outcome
    after), then verify by reading UserLogin again.

    First resolves what an earlier, interrupted attempt left in this journal (people.intents);
    users it changed are reported as changed by this run, as an uninterrupted run would.
    Raises SalesforceError/AuthError/ApiLimitError for a failed call (its intents stay
    unresolved until the next run reads the org), JournalError when the journal cannot be
    written.
    """
    direction = the_plan.direction
    value = direction == "freeze"
    resolve_pending(session, journal)
    earlier = carried_over(journal.entries(), direction)
    journal.step_start(direction, users=len(the_plan.changes),
                       plan_file=str(plan_file) if plan_file else None)
    items: dict[str, FreezeItem] = {}
    for p in the_plan.users:
        done = earlier.pop(p.user.id[:15], None)
        if not p.will_change and done is not None and p.frozen_now == value:
            items[p.user.id] = _done_item(direction, p.user.username, p.user.id, done)
        elif not p.will_change:
            journal.note(f"{p.user.username}: {p.planned}", user_id=p.user.id,
                         username=p.user.username, is_frozen=p.frozen_now, step=direction,
                         **({"drifted": True} if p.planned == DRIFTED else {}))
            items[p.user.id] = FreezeItem(p.user.username, p.user.id, p.planned,
                                          p.frozen_now, p.frozen_now)
    changes = the_plan.changes
    rest = RestClient(session)
    for start in range(0, len(changes), 200):
        chunk = changes[start:start + 200]
        intents = [journal.intent(direction, target=_target(p), before={"IsFrozen": p.frozen_now},
                                  after={"IsFrozen": value}) for p in chunk]
        results = rest.update_records("UserLogin", [{"id": p.login_id, "IsFrozen": value}
                                                    for p in chunk])
        # results come back in input order
        for p, intent, res in zip(chunk, intents, results, strict=True):
            items[p.user.id] = _outcome(journal, intent, p, res.success, res.errors)
        if on_progress:
            on_progress(f"{direction}: {min(start + 200, len(changes))} of {len(changes)}")
    final = _verify(session, the_plan, items)
    final += [_done_item(direction, str(e.target.get("username")), str(e.target.get("user_id")),
                         e) for e in earlier.values()]   # changed earlier, no longer planned
    journal.step_end(direction, "partial" if any(i.status == "failed" for i in final)
                     else "ok", changed=sum(i.status in ("frozen", "unfrozen") for i in final))
    return FreezeResult(direction, False, final, _refusals(the_plan), plan_file, journal.path)


def _outcome(journal: Journal, intent: Entry, p: PlannedUser, success: bool,
             errors: Sequence[RecordError]) -> FreezeItem:
    value = bool((intent.after or {}).get("IsFrozen"))
    if success:
        journal.applied(intent)
        return FreezeItem(p.user.username, p.user.id, "frozen" if value else "unfrozen",
                          p.frozen_now, value)
    message = "; ".join(f"{e.status_code}: {e.message}" for e in errors)
    journal.not_applied(intent, salesforce_message=message)
    return FreezeItem(p.user.username, p.user.id, "failed", p.frozen_now, p.frozen_now,
                      message)


def _done_item(direction: Direction, username: str, user_id: str, change: Entry) -> FreezeItem:
    """A change an earlier attempt on this journal made (read from its entry)."""
    return FreezeItem(username, user_id, "frozen" if direction == "freeze" else "unfrozen",
                      (change.before or {}).get("IsFrozen"), (change.after or {}).get("IsFrozen"))


def _target(p: PlannedUser) -> dict[str, str | None]:
    return {"object": "UserLogin", "id": p.login_id, "user_id": p.user.id,
            "username": p.user.username}


def _verify(session: OrgSession, the_plan: FreezePlan,
            items: dict[str, FreezeItem]) -> list[FreezeItem]:
    """Re-read UserLogin; a change the org did not keep becomes a failure."""
    states = login_states(session, [p.user.id for p in the_plan.users]) if the_plan.users else {}
    out: list[FreezeItem] = []
    for p in the_plan.users:
        item = items[p.user.id]
        now = states.get(p.user.id[:15], (None, None))[1]
        if item.status in ("frozen", "unfrozen") and now != item.after:
            item = FreezeItem(item.username, item.user_id, "failed", item.before, now,
                              f"verification: IsFrozen is {now} after the change")
        out.append(item)
    return out


def _refusals(the_plan: FreezePlan) -> list[tuple[str, str]]:
    return [(who if isinstance(who, str) else who.username, reason)
            for who, reason in the_plan.refused]


# --- what sfexit froze: the input of an exact unfreeze ---------------------------------------

def frozen_by_sfexit(entries: Iterable[Entry]) -> dict[str, Entry]:
    """User id → the freeze still in effect according to these entries.

    Only users whose freeze says IsFrozen went from false to true; a later unfreeze change
    cancels it. Users found already frozen never appear: they stay frozen. An unresolved freeze
    intent (the process stopped during its call) is included: ``plan`` reads the org before
    an unfreeze, so such a user is thawed only if the org shows it frozen.
    """
    return in_effect(entries, obj="UserLogin", action="freeze", undo="unfreeze",
                     field="IsFrozen", was=False)


def journals_in(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.jsonl")) if directory.is_dir() else []


def entries_from(paths: Iterable[Path], warn: Callable[[str], None] | None = None
                 ) -> list[Entry]:
    """Entries of every readable journal, oldest file first; broken ones are skipped, warned."""
    out: list[Entry] = []
    for path in paths:
        try:
            out.extend(read_journal(path))
        except JournalError as exc:
            if warn:
                warn(f"skipped {path.name}: {exc.one_line()}")
    return out


def unfreeze_candidates(all_users: Sequence[OrgUser], frozen_by_us: dict[str, Entry],
                        usernames: Sequence[str] = ()
                        ) -> tuple[list[OrgUser], list[tuple[OrgUser | str, str]]]:
    """Who to thaw: users sfexit froze (optionally only the named ones); others refused."""
    by_id = {u.id[:15]: u for u in all_users}
    wanted = {n.strip().casefold() for n in usernames}
    touch: list[OrgUser] = []
    refused: list[tuple[OrgUser | str, str]] = []
    if wanted:
        for user in resolve_named(all_users, list(usernames)):
            if user.id[:15] in frozen_by_us:
                touch.append(user)
            else:
                refused.append((user, "not frozen by sfexit (no journal records freezing it): "
                                      "a user frozen before stays frozen"))
        return touch, refused
    for user_id in frozen_by_us:
        found = by_id.get(user_id)
        if found is None:
            refused.append((str(frozen_by_us[user_id].target.get("username")),
                            "no longer in the org"))
        else:
            touch.append(found)
    return touch, refused
