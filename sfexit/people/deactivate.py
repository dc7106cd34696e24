"""Deactivate users (``User.IsActive = false``), opt-in, after the blocker scan; undo reactivates.

research/users-protocol.md §3 and "Algorithm" step 5: one user per call, so one blocked user
never holds back the others and Salesforce's message names that user's blocker; a failure is
recorded with its ``statusCode`` and ``message`` verbatim (e.g. "Cannot inactivate user that is
the value of a hierarchy field: …") and the user is left as it was (frozen, if frozen).
The write goes through sObject Collections with one record and nothing but User in it
(setup objects apart from data, §2). Journaled write-ahead (sfexit.journal): an intent with
the before-state before each call, its outcome after; a process killed in between leaves an
intent the next run resolves from the org (people.intents).

Undo sets ``IsActive = true`` again for users this sfexit deactivated and the org shows
inactive; that needs a free licence of the user's type (LICENSE_LIMIT_EXCEEDED otherwise,
errors.md §8).
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from dataclasses import dataclass, field
from typing import Literal

from sfexit.errors import UsageError
from sfexit.journal import Entry, Journal
from sfexit.org.rest import RecordError, RestClient
from sfexit.org.session import OrgSession
from sfexit.people.blockers import BlockerReport
from sfexit.people.intents import (carried_over, in_effect, read_is_active, resolve_pending,
                                   target_user_id)
from sfexit.people.users import OrgUser

Direction = Literal["deactivate", "reactivate"]
DRIFTED = "leave: changed since sfexit deactivated it (active now)"
LICENCE_WARNING = ("reactivating needs a free licence of each user's type: deactivated users "
                   "freed theirs, but anyone added since may have taken them")


@dataclass(frozen=True)
class DeactivateItem:
    username: str
    user_id: str
    status: str  # deactivated | reactivated | blocked | failed | would deactivate | …
    status_code: str | None = None
    message: str | None = None
    blockers: list[str] = field(default_factory=list)
    unknown_sources: int = 0


@dataclass(frozen=True)
class DeactivateResult:
    direction: Direction
    dry_run: bool
    items: list[DeactivateItem]
    refused: list[tuple[str, str]]
    journal: str | None

    @property
    def failed(self) -> list[DeactivateItem]:
        return [i for i in self.items if i.status in ("failed", "blocked")]

    @property
    def changed(self) -> list[DeactivateItem]:
        return [i for i in self.items if i.status in ("deactivated", "reactivated")]


def plan_items(users: Sequence[OrgUser], reports: Sequence[BlockerReport], *,
               ignore_blockers: bool) -> list[DeactivateItem]:
    """Pure: who would be attempted, and who is held back by a blocker the scan found."""
    by_id = {r.user_id: r for r in reports}
    items = []
    for user in users:
        report = by_id.get(user.id)
        found = [c.line() for c in report.found] if report else []
        unknown = len(report.unknown) if report else 0
        status = "blocked" if found and not ignore_blockers else "would deactivate"
        items.append(DeactivateItem(user.username, user.id, status, blockers=found,
                                    unknown_sources=unknown,
                                    message="the blocker scan found a blocker; fix it first, "
                                            "or pass --ignore-blockers to let Salesforce decide"
                                    if status == "blocked" else None))
    return items


def write_plan_csv(path: Path, planned: Sequence[DeactivateItem],
                   refused: Sequence[tuple[str, str]]) -> Path:
    """Who would be attempted, held back or refused, before anything changes.

    Raises UsageError when the file cannot be written (nothing has changed yet).
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(["username", "user_id", "planned", "blockers"])
            writer.writerows([i.username, i.user_id, i.status, " | ".join(i.blockers)]
                             for i in planned)
            writer.writerows([name, "", f"refused: {reason}", ""] for name, reason in refused)
    except OSError as exc:
        raise UsageError(f"cannot write the plan file {path}: {exc.strerror}",
                         hint="pass --plan-file PATH somewhere writable") from None
    return path


def set_active(session: OrgSession, planned: Sequence[DeactivateItem], journal: Journal, *,
               direction: Direction, on_progress: Callable[[str], None] | None = None
               ) -> list[DeactivateItem]:
    """Send ``IsActive`` one user per call for every item planned as "would …", write-ahead:
    an intent before each call, its outcome after. Others (blocked, left as they are) are
    journaled as notes.

    First resolves what an earlier, interrupted attempt left in this journal (people.intents);
    users it changed are reported as changed by this run, as an uninterrupted run would.
    Raises SalesforceError/AuthError/ApiLimitError for a call that failed as a whole (its
    intent stays unresolved until the next run reads the org), JournalError when the journal
    cannot be written.
    """
    value = direction == "reactivate"
    resolve_pending(session, journal)
    earlier = carried_over(journal.entries(), direction)
    rest = RestClient(session)
    journal.step_start(direction, users=len(planned))
    out: list[DeactivateItem] = []
    for n, item in enumerate(planned, start=1):
        earlier.pop(item.user_id[:15], None)
        if not item.status.startswith("would "):
            why = "blocker found" if item.status == "blocked" else item.status
            journal.note(f"{item.username}: not {direction}d: {why}", user_id=item.user_id,
                         username=item.username, blockers=item.blockers,
                         **({"drifted": True} if item.status == DRIFTED else {}))
            out.append(item)
            continue
        intent = journal.intent(direction, target={"object": "User", "id": item.user_id,
                                                   "username": item.username},
                                before={"IsActive": not value}, after={"IsActive": value})
        [res] = rest.update_records("User", [{"id": item.user_id, "IsActive": value}])
        out.append(_outcome(journal, intent, item, res.success, res.errors))
        if on_progress:
            on_progress(f"{direction}: {n} of {len(planned)}")
    out += [DeactivateItem(str(e.target.get("username")), str(e.target.get("id")),
                           f"{direction}d") for e in earlier.values()]   # by the earlier attempt
    journal.step_end(direction, "partial" if any(i.status in ("failed", "blocked") for i in out)
                     else "ok", changed=sum(i.status == f"{direction}d" for i in out))
    return out


def _outcome(journal: Journal, intent: Entry, item: DeactivateItem, success: bool,
             errors: Sequence[RecordError]) -> DeactivateItem:
    direction = intent.action
    if success:
        journal.applied(intent)
        return DeactivateItem(item.username, item.user_id, f"{direction}d",
                              blockers=item.blockers, unknown_sources=item.unknown_sources)
    error = errors[0] if errors else None
    journal.not_applied(intent, status_code=error.status_code if error else None,
                        salesforce_message=error.message if error else None)
    return DeactivateItem(item.username, item.user_id, "failed",
                          error.status_code if error else None,
                          error.message if error else "no error detail returned",
                          item.blockers, item.unknown_sources)


def deactivated_by_sfexit(entries: Iterable[Entry]) -> dict[str, Entry]:
    """User id (15) → the deactivation still in effect (a later reactivate change cancels it).
    An unresolved deactivate intent is included: :func:`undo_plan` reads the org first."""
    return in_effect(entries, obj="User", action="deactivate", undo="reactivate",
                     field="IsActive", was=True)


def undo_plan(session: OrgSession, entries: Iterable[Entry]) -> list[DeactivateItem]:
    """Whom to reactivate: users this journal deactivated who are inactive NOW (read from the
    org: an interrupted deactivation, or someone who reactivated the user by hand, leaves the
    user active, and reactivating again would journal a change that never happened)."""
    found = deactivated_by_sfexit(entries)
    ids = sorted(target_user_id(e) for e in found.values())
    active = read_is_active(session, ids) if ids else {}
    return [DeactivateItem(str(e.target.get("username")), str(e.target.get("id")),
                           "would reactivate" if active.get(uid) is False else
                           # a confirmed deactivation, active now: someone reactivated the
                           # user by hand since; left alone and reported (issue 19)
                           DRIFTED if active.get(uid) and e.kind == "change" else
                           "leave: already active" if active.get(uid) else
                           "leave: no longer in the org") for uid, e in found.items()]


def unknown_sources(reports: Sequence[BlockerReport]) -> list[str]:
    """Each blocker source that could not be read, once (with the users it concerns when
    not everyone): the same Setup-only sources are unknown for every user."""
    users: dict[str, list[str]] = {}
    for r in reports:
        for c in r.unknown:
            users.setdefault(c.line(), []).append(r.username)
    return [line if len(names) == len(reports) else f"{line} [{', '.join(names)}]"
            for line, names in users.items()]


def report_lines(result: DeactivateResult | None, reports: Sequence[BlockerReport],
                 refused: Sequence[tuple[str, str]]) -> list[str]:
    """The human summary: per user the sources read (clear or FOUND) under a count line that
    counts the FOUND lines; the sources no API can read, once for everyone (``unknown_sources``);
    then what happened to each user."""
    lines: list[str] = []
    for r in reports:
        n = len(r.found)
        lines.append(f"{r.username}: {n} blocker{'' if n == 1 else 's'} found")
        lines += [f"  {c.line()}" for c in r.checks if c.status != "unknown"]
    unknown = unknown_sources(reports)
    if unknown:
        lines.append("Unknown, not clear (no API reads them; check each in Setup):")
        lines += [f"  {line}" for line in unknown]
    if result is not None:
        for i in result.items:
            detail = f"{i.status_code}: {i.message}" if i.status_code else i.message
            lines.append(f"{i.username}: {i.status}" + (f" ({detail})" if detail else ""))
        if result.journal:
            lines.append(f"Journal: {result.journal}")
    lines += [f"{name}: refused: {reason}" for name, reason in refused]
    return lines or ["Nobody to check."]
