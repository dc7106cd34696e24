"""Undoing a reassignment: every record back to its original owner, unless someone changed it
since (issue 19, Safety 2).

From every ``reassign_owner`` entry of the journal (a resumed run has several per object:
``ownership.undo_rows``), checked against the sha256 each entry recorded; then the owners the
org shows NOW, read in one query per chunk of ids (``current_owners``), decide per record
(``ownership.split_undo``): still with the owner sfexit set → put back through the same writer
as the transfer (``ownership_transfer._Writer``: snapshot, journal entry, write, failures);
changed since → left alone and listed in ``drifted-<Object>.csv``; already back → nothing.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path

from sfexit import errors
from sfexit.journal import Journal, read_journal
from sfexit.org import soql
from sfexit.org.rest import RestClient
from sfexit.org.session import OrgSession
from sfexit.people.ownership import Attempt, Row, UndoSplit, split_undo, undo_rows
from sfexit.people.ownership_transfer import (BULK_THRESHOLD, ObjectResult, TransferResult,
                                              _fresh_path, _read_rows, _write_csv, _Writer,
                                              files_dir_for)

# An undo's records whose owner changed after sfexit moved them (split_undo).
DRIFT_COLUMNS = ("Id", "CurrentOwnerId", "CurrentOwner", "SfexitOwnerId", "OriginalOwnerId")


def plan_undo(source: Path) -> list[tuple[str, list[Row]]]:
    """Per object (the last one changed first), the rows that put back every original owner,
    from every ``reassign_owner`` entry of the journal in order (a resumed run has several
    per object: ``undo_rows``). Reads files only; every snapshot and failure file is checked
    against the sha256 its entry recorded.

    Raises JournalError for a tampered journal or file, UsageError for a journal with no
    reassignment in it."""
    entries = read_journal(source)
    attempts: dict[str, list[Attempt]] = {}
    pending: dict[str, int] = {}          # object → index of its attempt awaiting a step_end
    for entry in entries:
        if entry.kind == "change" and entry.action == "reassign_owner":
            sobject = entry.target["object"]
            rows = _read_rows(Path(entry.target["snapshot"]), entry.target.get("sha256"))
            attempts.setdefault(sobject, []).append(Attempt(tuple(
                Row(r["Id"], r["OwnerId"], r["NewOwnerId"], r.get("ParentId", ""))
                for r in rows), None))
            pending[sobject] = len(attempts[sobject]) - 1
        elif entry.kind == "step_end" and entry.action.startswith("reassign_owner "):
            sobject = entry.action.removeprefix("reassign_owner ")
            if sobject not in pending:
                continue
            index = pending.pop(sobject)
            failed: frozenset[str] = frozenset()
            if entry.info.get("failure_file"):
                failed = frozenset(r["Id"] for r in _read_rows(
                    Path(entry.info["failure_file"]), entry.info.get("failure_sha256")))
            attempts[sobject][index] = replace(attempts[sobject][index], failed=failed)
    if not attempts:
        raise errors.UsageError(f"{source} records no reassignment to undo")
    return [(sobject, undo_rows(attempts[sobject])) for sobject in reversed(attempts)]


def undo_transfer(session: OrgSession, source: Path, journal: Journal, *,
                  sleep: Callable[[float], object] = time.sleep,
                  clock: Callable[[], float] = time.monotonic,
                  bulk_threshold: int = BULK_THRESHOLD,
                  on_progress: Callable[[str], None] | None = None) -> TransferResult:
    """Put back every owner a reassignment journal changed (last object changed first), each
    record to the owner it had before the FIRST attempt that moved it, and ONLY records whose
    owner is still the one sfexit set (``split_undo``, read in one query per chunk of ids).

    A record whose owner changed since is left alone and listed in ``drifted-<Object>.csv``
    (its current owner, the owner sfexit set, the original), journaled as a note; a record
    already back with its original owner is left alone, so a second identical undo rewrites
    nothing and journals that it had nothing to do. Records that failed to move are left
    alone. Raises JournalError for a tampered journal or snapshot, UsageError for a journal
    with no reassignment in it."""
    work = plan_undo(source)              # every file read and checked before the first write
    say = on_progress or (lambda _m: None)
    writer = _Writer(session, journal, files_dir_for(journal), sleep=sleep, clock=clock,
                     threshold=bulk_threshold, on_progress=say)
    journal.step_start("undo_reassign", source=str(source))
    results: list[ObjectResult] = []
    for sobject, rows in work:
        split = split_undo(rows, current_owners(writer.rest, sobject, [r.id for r in rows]))
        drift_file = _record_drift(writer, sobject, split, source)
        if split.back:
            result = writer.apply(sobject, list(split.back), "undo_owner", source=str(source))
        else:
            journal.note(f"undo_owner {sobject}: nothing to put back ({split.already} already "
                         f"with their original owner, {len(split.drifted)} changed since)",
                         object=sobject, source=str(source), already=split.already,
                         drifted=len(split.drifted), no_op=True)
            say(f"{sobject}: nothing to put back")
            result = ObjectResult(sobject, 0, 0, 0, "none", {}, "")
        results.append(replace(result, drifted=len(split.drifted), drift_file=drift_file,
                               already=split.already))
    failed_total = sum(r.failed for r in results)
    journal.step_end("undo_reassign", "partial" if failed_total else "ok", failed=failed_total,
                     moved=sum(r.moved for r in results),
                     drifted=sum(r.drifted for r in results),
                     already=sum(r.already for r in results))
    return TransferResult(str(journal.path), tuple(results))


def current_owners(rest: RestClient, sobject: str, ids: Sequence[str]) -> dict[str, str]:
    """Record id (15) → OwnerId now, one query per URL-sized chunk of ids; deleted records
    are absent. Reads only."""
    out: dict[str, str] = {}
    for query in soql.select_in_chunks(sobject, ["Id", "OwnerId"], "Id", list(ids)):
        for row in rest.query_iter(query):
            out[str(row["Id"])[:15]] = str(row.get("OwnerId") or "")
    return out


def owner_names(rest: RestClient, ids: Iterable[str]) -> dict[str, str]:
    """Owner id (15) → username (users) or queue name (00G), read in chunks. Reads only."""
    wanted = sorted({i for i in ids if i})
    out: dict[str, str] = {}
    for sobject, name_field, prefix in (("User", "Username", "005"), ("Group", "Name", "00G")):
        of_kind = [i for i in wanted if i.startswith(prefix)]
        for query in soql.select_in_chunks(sobject, ["Id", name_field], "Id", of_kind):
            for row in rest.query_iter(query):
                out[str(row["Id"])[:15]] = str(row.get(name_field) or "")
    return out


def _record_drift(writer: _Writer, sobject: str, split: UndoSplit, source: Path) -> str | None:
    """``drifted-<Object>.csv`` (``drifted-<Object>-<n>.csv`` when an earlier undo left one:
    a file a journal entry hashed is never overwritten) and a journal note for the records
    changed since sfexit moved them (none: no file). Returns the file's path."""
    if not split.drifted:
        return None
    names = owner_names(writer.rest, [now for _row, now in split.drifted])
    path = writer.files_dir / f"drifted-{sobject}.csv"
    if path.exists():
        path = _fresh_path(writer.journal, writer.files_dir, f"drifted-{sobject}")
    sha = _write_csv(path, DRIFT_COLUMNS, (
        [row.id, now, names.get(now[:15], "") if now else "(record no longer in the org)",
         row.owner, row.new_owner] for row, now in split.drifted))
    writer.journal.note(f"undo_owner {sobject}: {len(split.drifted)} records changed owner "
                        "since sfexit moved them: left alone", object=sobject,
                        source=str(source), drifted=len(split.drifted), drift_file=str(path),
                        drift_sha256=sha)
    writer.say(f"{sobject}: {len(split.drifted)} records changed owner since; left alone "
               f"(listed in {path})")
    return str(path)


def preview_undo(session: OrgSession, source: Path) -> list[tuple[str, UndoSplit]]:
    """What :func:`undo_transfer` would do now, per object: reads the journal's files and the
    current owners only (a read-only session is enough). Raises as :func:`plan_undo`."""
    rest = RestClient(session)
    return [(sobject, split_undo(rows, current_owners(rest, sobject, [r.id for r in rows])))
            for sobject, rows in plan_undo(source)]
