"""One data export run: its options and results, the state its threads share, and the steps
every reader (Bulk in ``bulk.py``, REST and per-parent in ``rest_read.py``) ends with.

Split out of ``bulk.py`` so both readers use one ``ExportRun`` without importing each other.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from sfexit import errors
from sfexit.export.budget_gate import BudgetGate
from sfexit.export.csvsink import PartFile
from sfexit.export import schedule
from sfexit.export.delta import DeltaBase, since
from sfexit.export.manifest import ManifestStore, ObjectEntry, SkippedObject
from sfexit.export.objects import ObjectPlan
from sfexit.org import bulk2
from sfexit.org.rest import RestClient
from sfexit.org.session import OrgSession

# Cannot be read at all by this user: skipped with the reason (export-pitfalls.md B, I).
UNREADABLE_CODES = frozenset({"INVALID_TYPE_FOR_OPERATION", "INVALID_TYPE",
                              "INSUFFICIENT_ACCESS", "INSUFFICIENT_ACCESS_OR_READONLY",
                              "NOT_FOUND"})
# Longest uninterrupted sleep of a worker, so Ctrl-C ends the run within about a second.
PAUSE_SLICE = 1.0
# How often a range's spare cursor that found no read place free looks again (a place frees
# when any read ends; a REST page takes 0.3-2 s: schedule.py).
SPARE_POLL = 0.05
# Bulk jobs created ahead of the readers, per reader (its reasons, and the schedule's use of it:
# schedule.py).
JOBS_AHEAD_PER_READER = schedule.JOBS_AHEAD_PER_READER


def job_window(parallel: int) -> int:
    """Bulk jobs created and not yet read at most, with ``parallel`` readers (before the
    schedule's overflow widens it: :meth:`ExportRun.widen`)."""
    return JOBS_AHEAD_PER_READER * max(1, parallel)


def read_slots(parallel: int) -> int:
    """Objects read at once (REST reads and Bulk downloads): the REST cursors plus
    ``parallel`` readers. Also the readers' threads (waiting for a job takes no place)."""
    return schedule.REST_CURSORS + max(1, parallel)


class Publisher(Protocol):
    """Where finished files go beyond ``dest`` (a cloud destination: export/cloud.py)."""

    def holds(self, entry: ObjectEntry) -> bool:
        """Whether the destination has the file ``entry`` lists, of its size and SHA-256."""
        ...

    def record_object(self, store: ManifestStore, entry: ObjectEntry) -> None:
        """Send the file, then ``store.put_object(entry)``; the local file may go."""
        ...

    def holds_file(self, relative: str, size: int, sha256: str) -> bool:
        """Whether the destination has ``relative`` (a file body) of that size and SHA-256."""
        ...

    def send_file(self, relative: str, sha256: str) -> None:
        """Send ``dest/relative`` (a finished file body), then delete it locally."""
        ...

    def put_manifest(self) -> None:
        """The files step recorded a batch: send the manifest (now or soon)."""
        ...


@dataclass(frozen=True)
class ExportOptions:
    dest: Path
    objects: tuple[str, ...] | None = None
    include_deleted: bool = False
    parallel: int = 4
    max_records: int | None = bulk2.DEFAULT_MAX_RECORDS
    gzip: bool = True
    poll_timeout: float = 6 * 3600.0
    since: DeltaBase | None = None   # a delta export (delta.py); implies include_deleted
    budget: BudgetGate | None = None  # admits each object within the limits (budget_gate.py)
    # Objects with fewer rows than this are read over REST (schedule.py); None: the cost
    # model's crossing point; 0: every object by Bulk.
    rest_below: int | None = None
    # The REST page time the preflight measured (seconds; schedule.routing), None: the model's.
    rest_page_s: float | None = None
    # The sampled objects' own CSV row widths (preflight.Sample.widths): when their Bulk jobs
    # are expected done (bulk._first_poll). Others: the model's default width.
    row_widths: Mapping[str, int] | None = None
    publisher: Publisher | None = None  # sends finished files on (a cloud --dest: cloud.py)


@dataclass(frozen=True)
class ObjectProgress:
    """Rows written so far for one object (``total`` when the org said how many)."""

    object: str
    rows: int
    total: int | None
    done: bool
    method: str


@dataclass(frozen=True)
class ObjectResult:
    name: str
    status: str                  # "exported" | "kept" (complete and verified before) | "skipped" | "failed" | "paused" (not started: limits, budget_gate.py)
    method: str | None
    rows: int = 0
    bytes: int = 0
    reason: str | None = None


@dataclass(frozen=True)
class DataExportResult:
    objects: tuple[ObjectResult, ...]
    bulk_jobs: int

    @property
    def failed(self) -> tuple[ObjectResult, ...]:
        return tuple(o for o in self.objects if o.status == "failed")


ProgressCallback = Callable[[ObjectProgress], None]


class Cancelled(Exception):
    """Raised in a worker once the run is cancelled (another worker failed, or Ctrl-C)."""


class ExportRun:
    """State shared by the worker threads of one export (one session, one manifest)."""

    def __init__(self, session: OrgSession, store: ManifestStore, options: ExportOptions,
                 on_progress: ProgressCallback | None, sleep: Callable[[float], None],
                 overflow: int = 0) -> None:
        self.session = session
        self.rest = RestClient(session)
        self.store = store
        self.options = options
        self.on_progress = on_progress or (lambda _p: None)
        self.sleep = sleep
        self.cancel = threading.Event()
        self.bulk_jobs = 0
        self._lock = threading.Lock()
        self._unread: set[str] = set()     # ids of the jobs created and not yet read
        # The window grows by the schedule's overflow objects (schedule.overflow).
        self.ahead = threading.Semaphore(job_window(options.parallel) + overflow)
        # Reads at once (REST reads and Bulk downloads, the requests that may run long): the
        # REST cursors' and the readers' share of the org's 25 long requests
        # (schedule.REST_CURSORS), so a download may take a cursor's place once the small
        # objects are read (:meth:`reading`).
        self.read_slots = threading.Semaphore(read_slots(options.parallel))

    def check(self) -> None:
        if self.cancel.is_set():
            raise Cancelled()

    def pause(self, seconds: float) -> None:
        """``sleep`` between status reads, stopped by a cancel: a wait between polls reaches
        15 s, and the pool only ends when every worker has. ``time.sleep`` itself is replaced
        by a wait on the cancel event; any other sleep (the CLI's wrapper, tests moving the
        emulator clock) is called in slices of at most :data:`PAUSE_SLICE` seconds."""
        if self.sleep is time.sleep:
            self.cancel.wait(seconds)
        else:
            left = seconds
            while left > 0 and not self.cancel.is_set():
                step = min(left, PAUSE_SLICE)
                self.sleep(step)
                left -= step
        self.check()

    def wait_for_room(self) -> None:
        """Block a job's creation while the window of created, unread jobs is full (a
        reader frees a place when it is done with its job: :meth:`job_read`)."""
        while not self.ahead.acquire(timeout=PAUSE_SLICE):
            self.check()
        self.check()

    @contextmanager
    def reading(self) -> Iterator[None]:
        """Hold one of the run's read places for one object's read (waiting, Ctrl-C aware)."""
        while not self.read_slots.acquire(timeout=PAUSE_SLICE):
            self.check()
        try:
            self.check()
            yield
        finally:
            self.read_slots.release()

    @contextmanager
    def spare_reading(self, given_up: Callable[[], bool]) -> Iterator[bool]:
        """One more read place, for another cursor of an object already being read (its Id
        ranges: rest_read.py), waited for until ``given_up()``; yields whether one was had.
        The object's own place keeps it going meanwhile, so waiting here never deadlocks."""
        while not self.read_slots.acquire(timeout=SPARE_POLL):
            self.check()
            if given_up():
                yield False
                return
        try:
            yield True
        finally:
            self.read_slots.release()

    def widen(self, jobs: int) -> None:
        """``jobs`` more places in the window (the schedule's overflow, known later)."""
        for _ in range(jobs):
            self.ahead.release()

    def job_read(self, job_id: str | None = None) -> None:
        with self._lock:
            self._unread.discard(job_id or "")
        self.ahead.release()

    def count_job(self, job_id: str) -> None:
        with self._lock:
            self.bulk_jobs += 1
            self._unread.add(job_id)

    def abort_unread(self) -> None:
        """When the run stops, abort the jobs it created and did not read: each would still
        run on the org for nothing (Bulk API 2.0 Developer Guide, "Abort a Query Job": PATCH
        state Aborted), and a rerun creates its own. Call it once no worker runs (none
        creates a job after it). Best effort: the first abort that fails ends it, as the
        rest would fail the same way (the run's own error, a dead session or connection, is
        what the caller raises)."""
        with self._lock:
            unread, self._unread = sorted(self._unread), set()
        for job_id in unread:
            try:
                bulk2.abort_query_job(self.session, job_id)
            except errors.SfexitError:
                return


def reason(exc: errors.SalesforceError) -> str:
    text = exc.message.split(" failed: ", 1)[-1]
    return f"{exc.error_code}: {text}" if exc.error_code else text


def needs_filter(exc: errors.SalesforceError) -> bool:
    text = exc.message.lower()
    return exc.error_code in ("MALFORMED_QUERY", "QUERY_RESTRICTED") and (
        "implementation restriction" in text or "requires a filter" in text)


def skip(run: ExportRun, name: str, why: str) -> ObjectResult:
    run.store.add_skipped(SkippedObject(name, why))
    return ObjectResult(name, "skipped", None, reason=why)


def sink(run: ExportRun, name: str) -> PartFile:
    return PartFile(run.options.dest / "data" / f"{name}.csv")


def finish(run: ExportRun, plan: ObjectPlan, query: str, method: str, part: PartFile,
           rows: int, job_ids: list[str]) -> ObjectResult:
    part.commit()
    entry = ObjectEntry(
        name=plan.name, method=method, query=query, job_ids=job_ids, rows=rows,
        bytes=part.size, sha256=part.sha256, file=f"data/{plan.name}.csv",
        skipped_fields=list(plan.skipped_fields), complete=True,
        include_deleted=run.options.include_deleted,
        # per-parent reads every row of its parents (no window on the IN-list queries)
        since=since(plan.fields, run.options.since) if method != "per-parent" else None)
    if run.options.publisher is None:
        run.store.put_object(entry)
    else:
        run.options.publisher.record_object(run.store, entry)
    run.on_progress(ObjectProgress(plan.name, rows, rows, True, method))
    return ObjectResult(plan.name, "exported", method, rows, part.size)
