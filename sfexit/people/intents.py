"""The crash window of write-ahead journaling, closed by reading the org, never by guessing.

people.freeze and people.deactivate journal an ``intent`` per user before each sObject
Collections call and its outcome after it (sfexit.journal). A process killed in between
(SIGKILL, power loss) leaves intents with no outcome: the call may or may not have reached
Salesforce. Whoever next opens that journal to change or undo the same users resolves them
first (:func:`resolve_pending`: ``freeze.apply``, ``deactivate.set_active``, and the undo
commands before they choose whom to restore): it reads the records now and journals, marked
``recovered``,
- ``applied`` (a ``change``) when the org shows the intended value and the before-state was
  different: the change happened and is sfexit's, so undo restores it;
- ``not applied`` otherwise: nothing of ours to undo.
An intent on an object this module cannot read stays unresolved: the report lists it as
unconfirmed rather than guess.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from sfexit.journal import Entry, Journal, JournalError, read_journal, unresolved_intents
from sfexit.org import soql
from sfexit.org.rest import RestClient
from sfexit.org.session import OrgSession
from sfexit.people.users import login_states

RECOVERED = "read from the org after an interrupted run: the intent was journaled, its " \
            "outcome was not"
Observed = dict[str, Any] | None     # the intent's fields as the org has them now; None: no row


def target_user_id(entry: Entry) -> str:
    """The user id an entry is about, as journaled (UserLogin targets carry ``user_id``)."""
    return str(entry.target.get("user_id") or entry.target.get("id") or "")


def user_key(entry: Entry) -> str:
    """The 15-character user id: what the org's 15- and 18-character forms share."""
    return target_user_id(entry)[:15]


def _read_user_logins(session: OrgSession, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    return {uid: {"IsFrozen": frozen} for uid, (_login, frozen) in
            login_states(session, ids).items()}


def read_is_active(session: OrgSession, ids: Sequence[str]) -> dict[str, bool]:
    """User id (15) → ``User.IsActive`` now, in URL-sized chunks. Reads only."""
    rest = RestClient(session)
    out: dict[str, bool] = {}
    for query in soql.select_in_chunks("User", ["Id", "IsActive"], "Id", ids):
        for row in rest.query_iter(query):
            out[str(row["Id"])[:15]] = bool(row.get("IsActive"))
    return out


def _read_users(session: OrgSession, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    return {uid: {"IsActive": active} for uid, active in read_is_active(session, ids).items()}


# object → how to read the fields its intents set, keyed by 15-character user id
READERS: dict[str, Callable[[OrgSession, Sequence[str]], dict[str, dict[str, Any]]]] = {
    "UserLogin": _read_user_logins, "User": _read_users,
}


def observe(session: OrgSession, intents: Iterable[Entry]) -> dict[str, Observed]:
    """Intent hash → its fields read from the org now (None: the record is gone). Intents on
    objects without a reader are left out. Reads only."""
    by_object: dict[str, list[Entry]] = {}
    for intent in intents:
        if intent.target.get("object") in READERS:
            by_object.setdefault(str(intent.target["object"]), []).append(intent)
    out: dict[str, Observed] = {}
    for obj, group in by_object.items():
        rows = READERS[obj](session, sorted({target_user_id(i) for i in group}))
        for intent in group:
            row = rows.get(user_key(intent))
            out[intent.hash] = None if row is None else \
                {name: row.get(name) for name in (intent.after or {})}
    return out


def is_applied(intent: Entry, observed: Observed) -> bool:
    """Pure: the org shows every intended value, and at least one differs from the before."""
    after, before = intent.after or {}, intent.before or {}
    return (observed is not None and bool(after)
            and all(observed.get(k) == v for k, v in after.items())
            and any(before.get(k) != v for k, v in after.items()))


def resolve_pending(session: OrgSession, journal: Journal) -> list[Entry]:
    """Journal the outcome of every unresolved intent this module can read; returns the new
    entries. Raises SalesforceError/AuthError from the reads, JournalError from the writes."""
    pending = unresolved_intents(journal.entries())
    if not pending:
        return []
    seen = observe(session, pending)
    out = []
    for intent in pending:
        if intent.hash not in seen:
            continue   # no reader: stays unresolved (the report says "unconfirmed")
        observed = seen[intent.hash]
        record = journal.applied if is_applied(intent, observed) else journal.not_applied
        out.append(record(intent, recovered=RECOVERED, observed=observed))
    return out


def resolve_files(session: OrgSession, paths: Iterable[Path],
                  warn: Callable[[str], None] | None = None) -> None:
    """:func:`resolve_pending` for each journal file holding unresolved intents. Journals that
    do not verify are left alone (whoever reads them next says so, e.g. ``read_journal``).
    Raises SalesforceError/AuthError from the reads, JournalError when a journal cannot be
    written."""
    for path in paths:
        try:
            entries = read_journal(path)
        except JournalError:
            continue
        if unresolved_intents(entries):
            resolved = resolve_pending(session, Journal.open(path))
            if warn and resolved:
                warn(f"{path.name}: {len(resolved)} interrupted change(s) read from the org "
                     "and journaled")


def in_effect(entries: Iterable[Entry], *, obj: str, action: str, undo: str, field: str,
              was: Any) -> dict[str, Entry]:
    """User id (15) → the entry by which sfexit set ``field`` away from ``was`` and did not
    undo yet: a ``change`` whose before-state was ``was``, or an unresolved ``intent`` of one
    (a maybe: an undo must read the org first, as freeze.plan and deactivate.undo_plan do).
    A later ``undo`` change cancels it; an intent's ``not_applied`` outcome cancels it."""
    out: dict[str, Entry] = {}
    for e in entries:
        if e.target.get("object") != obj:
            continue
        uid = user_key(e)
        if e.kind in ("change", "intent") and e.action == action \
                and (e.before or {}).get(field) == was:
            out[uid] = e
        elif e.kind == "change" and e.action == undo:
            out.pop(uid, None)
        elif e.kind == "not_applied" and uid in out \
                and out[uid].hash == e.info.get("intent"):
            out.pop(uid)
    return out


def carried_over(entries: Iterable[Entry], action: str) -> dict[str, Entry]:
    """User id (15) → ``action`` changes journaled since the last ``step_end`` of ``action``:
    the work of an attempt that never finished (killed, or stopped by an error), including
    what :func:`resolve_pending` just recovered. A rerun on the same journal reports these as
    its own, so a resumed step's result equals an uninterrupted one's."""
    out: dict[str, Entry] = {}
    for e in entries:
        if e.kind == "step_end" and e.action == action:
            out.clear()
        elif e.kind == "change" and e.action == action:
            out[user_key(e)] = e
    return out
