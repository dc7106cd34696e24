"""Reassigning record ownership against the org: the transfer, team restore, undo.

The plan is pure (``ownership.py``) and read by ``ownership_read.py``; this module acts on it.

Transport choice per object step, from the API-call cost (users-protocol.md §5):
- sObject Collections: ⌈N/200⌉ PATCH calls + ⌈N/2000⌉ query pages for the snapshot, each
  synchronous with per-row results;
- Bulk API 2.0: a query job for the snapshot (create + polls + 1 page) and an ingest job
  (create + PUT + PATCH + polls, + 1 GET of failedResults when rows failed) ≈ 6 + polls + 1.
With ~4–6 polls, Bulk costs ~12 calls; Collections costs ≥ 12 calls from N ≈ 2,000
(10 PATCH + 1–2 pages). So: Collections up to :data:`BULK_THRESHOLD` rows, Bulk above —
also Salesforce's own line ("more than 2,000 records is a good candidate for Bulk API 2.0",
app-limits cheatsheet). For 100,000 rows: ~550 calls vs ~6 + polls.

Rows are sent sorted by parent id so children of one parent stay together (fewer
``UNABLE_TO_LOCK_ROW``, dev.sf ``datafiles_organize_data.htm``); rows that still hit a lock
(or that Bulk left unprocessed) are sent once more, then reported.

Files (snapshots, failures, team rows) are named per attempt with the journal sequence number
of the entry that names them, and created exclusively: a run resumed after a crash between a
journal entry and its write journals the object again, and must not overwrite the file the
first entry hashed (docs/offboard.md "Resume"). The undo is ``ownership_undo.py``.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import time
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sfexit import errors
from sfexit.journal import Entry, Journal, JournalError
from sfexit.ondisk import file_sha256
from sfexit.org import soql
from sfexit.org.bulk2_ingest import Bulk2Ingest, split_csv, split_sf_error
from sfexit.org.rest import RestClient
from sfexit.org.session import OrgSession
from sfexit.people.ownership import OwnedObject, OwnershipPlan, Row
from sfexit.people.ownership_read import filter_conditions

BULK_THRESHOLD = 2_000
RETRY_CODES = frozenset({"UNABLE_TO_LOCK_ROW", "UNPROCESSED"})
# Team rows an owner change drops: since Winter '21 an owner change "via API or Apex" deletes
# the account team members and their sharing by default; keeping them needs the SOAP
# OwnerChangeOption header (KeepAccountTeam/KeepSalesTeam), which REST and Bulk do not take
# (help.salesforce.com KB 000390190, "Retaining Salesforce Account Team When Changing Account
# Owner"; users-protocol.md §4). So: snapshot, then re-add.
TEAMS = {"Account": ("AccountTeamMember", "AccountId",
                     ("UserId", "TeamMemberRole", "AccountAccessLevel", "OpportunityAccessLevel",
                      "CaseAccessLevel", "ContactAccessLevel")),
         "Opportunity": ("OpportunityTeamMember", "OpportunityId",
                         ("UserId", "TeamMemberRole", "OpportunityAccessLevel"))}
SNAPSHOT_COLUMNS = ("Id", "OwnerId", "NewOwnerId", "ParentId")
FAILURE_COLUMNS = ("Id", "OwnerId", "NewOwnerId", "Error", "StatusCode", "Message")


@dataclass(frozen=True)
class Failure:
    row: Row
    code: str
    message: str


@dataclass(frozen=True)
class ObjectResult:
    object: str
    rows: int
    moved: int
    failed: int
    transport: str                       # "bulk" or "collections"
    moved_by_pair: dict[str, int]        # "from_id->to_id": count
    snapshot: str
    failure_file: str | None = None
    lock_retried: int = 0
    team_restored: int = 0
    team_failed: int = 0                 # dropped team rows Salesforce refused to re-add
    # undo only: records whose owner changed since sfexit moved them (left alone, listed in
    # drift_file) and records already with their original owner (nothing to do)
    drifted: int = 0
    drift_file: str | None = None
    already: int = 0


@dataclass(frozen=True)
class TransferResult:
    journal: str
    objects: tuple[ObjectResult, ...]

    @property
    def failed(self) -> int:
        return sum(o.failed for o in self.objects)

    @property
    def moved(self) -> int:
        return sum(o.moved for o in self.objects)

    @property
    def team_failed(self) -> int:
        return sum(o.team_failed for o in self.objects)

    @property
    def drifted(self) -> int:
        return sum(o.drifted for o in self.objects)


# --- files ------------------------------------------------------------------------------------

def _fresh_path(journal: Journal, files_dir: Path, stem: str) -> Path:
    """``<stem>-<seq>.csv``, seq being the number the next journal entry gets: an entry names
    only files of its own number, so a later attempt never lands on a file an entry hashed.
    A leftover of a crash before its entry was written is unnamed and kept (``-2``, …)."""
    seq = len(journal.entries()) + 1
    path, n = files_dir / f"{stem}-{seq}.csv", 2
    while path.exists():
        path, n = files_dir / f"{stem}-{seq}-{n}.csv", n + 1
    return path


def _write_csv(path: Path, columns: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """Write and hash in the same pass; returns the sha256 hex. Never overwrites: a file a
    journal entry hashed is evidence (FileExistsError)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()

    class _Hashing:
        def __init__(self, fh: Any) -> None:
            self.fh = fh

        def write(self, text: str) -> int:
            digest.update(text.encode("utf-8"))
            return int(self.fh.write(text))

    with path.open("x", encoding="utf-8", newline="") as fh:
        writer = csv.writer(_Hashing(fh), lineterminator="\n")
        writer.writerow(columns)
        writer.writerows(rows)
    return digest.hexdigest()


def _read_rows(path: Path, sha256: str | None) -> list[dict[str, str]]:
    if not path.is_file():
        raise JournalError(f"{path} (named in the journal) is missing")
    if sha256 is not None and file_sha256(path) != sha256:
        raise JournalError(f"{path} changed since the journal recorded its sha256",
                           hint="nothing was changed; restore the file from a copy")
    with path.open(encoding="utf-8", newline="") as fh:
        return [dict(r) for r in csv.DictReader(fh)]


# --- writing owners -----------------------------------------------------------------------------

class _Writer:
    def __init__(self, session: OrgSession, journal: Journal, files_dir: Path, *,
                 sleep: Callable[[float], object], clock: Callable[[], float], threshold: int,
                 on_progress: Callable[[str], None]) -> None:
        self.rest = RestClient(session)
        self.bulk = Bulk2Ingest(session, sleep=sleep, clock=clock)
        self.session, self.journal, self.files_dir = session, journal, files_dir
        self.threshold, self.say = threshold, on_progress

    def send(self, sobject: str, rows: Sequence[Row]) -> list[Failure]:
        by_id = {r.id: r for r in rows}
        failures: list[Failure] = []
        if len(rows) > self.threshold:
            data = ({"Id": r.id, "OwnerId": r.new_owner} for r in rows)
            for chunk, n in split_csv(["Id", "OwnerId"], data):
                outcome = self.bulk.run(sobject, chunk, n)
                for f in outcome.failed:
                    code, message = split_sf_error(f.get("sf__Error", ""))
                    row = by_id.get(f.get("Id") or f.get("sf__Id") or "")
                    if row is not None:
                        failures.append(Failure(row, code, message))
                for u in outcome.unprocessed:
                    if u.get("Id") in by_id:
                        failures.append(Failure(by_id[u["Id"]], "UNPROCESSED",
                                                "the Bulk job did not process this row"))
            return failures
        results = self.rest.update_records(sobject, [{"Id": r.id, "OwnerId": r.new_owner}
                                                     for r in rows])
        for row, result in zip(rows, results):
            if not result.success:
                first = result.errors[0] if result.errors else None
                failures.append(Failure(row, first.status_code if first else "UNKNOWN",
                                        first.message if first else "no error given"))
        return failures

    def apply(self, sobject: str, rows: list[Row], action: str, **info: Any) -> ObjectResult:
        """Snapshot file → journal entry → write → one retry of locked rows → failure file."""
        transport = "bulk" if len(rows) > self.threshold else "collections"
        snapshot = _fresh_path(self.journal, self.files_dir, action + "-" + sobject)
        sha = _write_csv(snapshot, SNAPSHOT_COLUMNS,
                         ([r.id, r.owner, r.new_owner, r.parent] for r in rows))
        self.journal.change(action, target={"object": sobject, "snapshot": str(snapshot),
                                            "sha256": sha, "rows": len(rows)},
                            before={"owners": dict(Counter(r.owner for r in rows))},
                            after={"owners": dict(Counter(r.new_owner for r in rows))},
                            transport=transport, **info)
        self.say(f"{sobject}: {len(rows)} records by {transport}")
        failures = self.send(sobject, rows) if rows else []
        retry = [f.row for f in failures if f.code in RETRY_CODES]
        if retry:
            self.say(f"{sobject}: sending {len(retry)} locked/unprocessed records once more")
            failures = [f for f in failures if f.code not in RETRY_CODES] + self.send(sobject, retry)
        failure_file: str | None = None
        step_info: dict[str, Any] = {}
        if failures:
            path = _fresh_path(self.journal, self.files_dir, f"failed-{sobject}")
            step_info["failure_sha256"] = _write_csv(path, FAILURE_COLUMNS, (
                [f.row.id, f.row.owner, f.row.new_owner, f"{f.code}:{f.message}", f.code,
                 f.message] for f in failures))
            failure_file = str(path)
        failed_ids = {f.row.id for f in failures}
        pairs = Counter(f"{r.owner}->{r.new_owner}" for r in rows if r.id not in failed_ids)
        self.journal.step_end(f"{action} {sobject}", "partial" if failures else "ok",
                              moved=len(rows) - len(failed_ids), failed=len(failed_ids),
                              failure_file=failure_file, **step_info)
        return ObjectResult(sobject, len(rows), len(rows) - len(failed_ids), len(failed_ids),
                            transport, dict(pairs), str(snapshot), failure_file, len(retry))


def files_dir_for(journal: Journal) -> Path:
    return journal.path.with_name(journal.path.stem + "-files")


def transfer(session: OrgSession, plan: OwnershipPlan, journal: Journal, *,
             sleep: Callable[[float], object] = time.sleep,
             clock: Callable[[], float] = time.monotonic, bulk_threshold: int = BULK_THRESHOLD,
             now: dt.datetime | None = None,
             on_progress: Callable[[str], None] | None = None) -> TransferResult:
    """Carry out a plan, step by step, journaling each object before it is written.

    Raises UsageError if the plan has refusals (nothing is written then)."""
    if plan.refused:
        raise errors.UsageError(plan.refusals[0] + (f" (and {len(plan.refusals) - 1} more)"
                                                    if len(plan.refusals) > 1 else ""))
    now = now or dt.datetime.now(dt.UTC)
    say = on_progress or (lambda _m: None)
    writer = _Writer(session, journal, files_dir_for(journal), sleep=sleep, clock=clock,
                     threshold=bulk_threshold, on_progress=say)
    target_of = {a.source.id: a.target.id for a in plan.assignments}
    objects = {o.name: o for o in plan.objects}
    results: list[ObjectResult] = []
    _finish_team_restores(writer)
    journal.step_start("reassign", steps=[s.object for s in plan.steps], planned=plan.total)
    for step in plan.steps:
        obj = objects[step.object]
        journal.step_start(f"reassign_owner {obj.name}", planned=step.count,
                           filter=obj.state_filter.value)
        team = _snapshot_team(writer, obj, list(target_of), now)
        fields = ["Id", "OwnerId"] + ([obj.parent_field] if obj.parent_field else [])
        query = soql.select(obj.name, fields, where=[soql.in_list("OwnerId", list(target_of)),
                                                     *filter_conditions(obj, now)])
        found = (writer.bulk.query_csv(query) if step.count > bulk_threshold
                 else writer.rest.query_iter(query))
        rows = sorted((Row(r["Id"], r["OwnerId"], target_of[r["OwnerId"]],
                           (r.get(obj.parent_field) or "") if obj.parent_field else "")
                       for r in found), key=lambda r: (r.parent, r.id))
        result = writer.apply(obj.name, rows, "reassign_owner", filter=obj.state_filter.value,
                              **(team[1] if team else {}))
        if team:
            restored, refused = _restore_team(writer, obj.name, team[0])
            result = replace(result, team_restored=restored, team_failed=refused)
        results.append(result)
    failed = sum(r.failed for r in results)
    journal.step_end("reassign", "partial" if failed else "ok", failed=failed,
                     moved=sum(r.moved for r in results))
    return TransferResult(str(journal.path), tuple(results))


def _snapshot_team(writer: _Writer, obj: OwnedObject, sources: list[str], now: dt.datetime
                   ) -> tuple[list[dict[str, Any]], dict[str, Any]] | None:
    if obj.name not in TEAMS:
        return None
    team, parent, fields = TEAMS[obj.name]
    inner = soql.select(obj.name, ["Id"], where=[soql.in_list("OwnerId", sources),
                                                 *filter_conditions(obj, now)])
    rows = list(writer.rest.query_iter(soql.select(team, ["Id", parent, *fields],
                                                   where=[f"{soql.ident(parent)} IN ({inner})"])))
    path = _fresh_path(writer.journal, writer.files_dir, f"team-{team}")
    sha = _write_csv(path, ["Id", parent, *fields],
                     ([str(r.get(c) or "") for c in ["Id", parent, *fields]] for r in rows))
    return rows, {"team_snapshot": str(path), "team_sha256": sha, "team_rows": len(rows)}


def _finish_team_restores(writer: _Writer) -> None:
    """A run that stopped between an object's owner change and its team restore: the change
    dropped the team rows, and the resumed plan, with no rows left to move, would never re-add
    them. Re-add them from the team snapshot journaled with the change (its sha256 checked),
    each dropped row at most once (``dropped_id`` of earlier restores and refusals). Only owner
    changes after the journal's last finished reassignment count; nothing to do in a first run.
    Raises JournalError for a snapshot that changed."""
    entries = writer.journal.entries()
    settled = {e.info.get("dropped_id") for e in entries if e.info.get("dropped_id")}
    unfinished: list[Entry] = []          # owner changes after the last finished reassign
    for entry in entries:
        if entry.kind == "step_end" and entry.action == "reassign":
            unfinished.clear()
        elif (entry.kind == "change" and entry.action == "reassign_owner"
              and entry.info.get("team_snapshot")):
            unfinished.append(entry)
    for entry in unfinished:
        path = Path(str(entry.info["team_snapshot"]))
        if file_sha256(path) != entry.info.get("team_sha256"):
            raise JournalError(f"team snapshot {path} does not match the journal's sha256")
        with path.open(encoding="utf-8", newline="") as fh:
            rows = [{k: (v or None) for k, v in r.items()} for r in csv.DictReader(fh)]
        pending = [r for r in rows if r["Id"] not in settled]
        if pending:
            _restore_team(writer, str(entry.target["object"]), pending)
            settled.update(str(r["Id"]) for r in pending)


def _restore_team(writer: _Writer, sobject: str, before: list[dict[str, Any]]
                  ) -> tuple[int, int]:
    """Re-add the team rows the owner change dropped, through sObject Collections (≤ 200 a
    call, per-row results): one journal change per row re-added, one note per row refused.

    Returns (re-added, refused)."""
    if not before:
        return 0, 0
    team, parent, fields = TEAMS[sobject]
    still: set[str] = set()
    for query in soql.select_in_chunks(team, ["Id"], "Id", [r["Id"] for r in before]):
        still.update(r["Id"] for r in writer.rest.query_iter(query))
    dropped = [r for r in before if r["Id"] not in still]
    values = [{k: r[k] for k in (parent, *fields) if r.get(k) is not None} for r in dropped]
    restored = refused = 0
    for row, wanted, result in zip(dropped, values,
                                   writer.rest.create_records(team, values), strict=True):
        if not result.success:
            first = result.errors[0] if result.errors else None
            code, message = (first.status_code, first.message) if first else ("UNKNOWN", "")
            writer.journal.note(f"{team} {row['Id']} could not be re-added: {code}: {message}",
                                object=team, dropped_id=row["Id"], values=wanted, error=code)
            writer.say(f"{team}: a dropped member could not be re-added ({code})")
            refused += 1
            continue
        writer.journal.change("restore_team_member", target={"object": team, "id": result.id},
                              before=None, after=wanted, dropped_id=row["Id"])
        restored += 1
    return restored, refused
