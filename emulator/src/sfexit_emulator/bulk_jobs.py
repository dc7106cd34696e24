"""Bulk API 2.0 jobs: the registry, the state machine on the emulator clock, and result files.

Both kinds of job advance on the emulator's clock, never on a timer, so tests move
``org.clock`` instead of sleeping:

- query: ``UploadComplete`` at creation → ``InProgress`` after :data:`START_DELAY` seconds →
  ``JobComplete`` after a further time proportional to the row count (at most
  :data:`MAX_RUN_SECONDS`). Polled at an earlier clock the job is still in the earlier state.
  When a request first sees a query job complete, the result is written ONCE to a temp file
  (streaming ``cursor.rows()``, constant memory) with the byte offset of every row, so any page
  is a byte range of that file served without re-reading the org (bulk_results.py; a later job
  with the same query over unchanged data reuses the file). With the cost model on
  (costs.py) the queued and running times come from the model instead, and a worker writes the
  file from the job's creation on, as Salesforce does while the job runs.
- ingest (``ingest_jobs.py``): ``Open`` → (upload) → ``UploadComplete`` when closed →
  ``InProgress`` after :data:`START_DELAY` → ``JobComplete`` (or ``Failed``); the rows are
  applied by the first request that sees the job past its completion time
  (``ingest_jobs.settle``).

A "request that sees" is any Bulk request (job info, list, results): ``ingest_jobs.settle``
runs at the start of every Bulk route, so a client that polls (as every client does) observes a
consistent org. Tests that check the org without a Bulk request in between call it themselves.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import datetime as dt
import itertools
import math
import shutil
import tempfile
import threading
import weakref
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sfexit_emulator.bulk_csv import DELIMITERS, LINE_ENDINGS
from sfexit_emulator.bulk_results import ResultCache, ResultFile, result_key, write_result
from sfexit_emulator.clock import sf_datetime
from sfexit_emulator.ids import make_id, normalize_id

if TYPE_CHECKING:
    from sfexit_emulator.ingest_jobs import IngestJob
    from sfexit_emulator.server import EmulatorApp

START_DELAY = 1.0            # seconds from UploadComplete to InProgress
MIN_RUN_SECONDS = 0.25
MAX_RUN_SECONDS = 3.0
QUERY_ROWS_PER_SECOND = 200_000
INGEST_ROWS_PER_SECOND = 20_000
MB = 1024 * 1024
JOB_KEY_PREFIX = "750"       # AsyncApexJob/Bulk job ids start with 750 (doc examples)

QUERY_OPERATIONS = ("query", "queryAll")


def run_seconds(rows: int, per_second: int) -> float:
    return min(MAX_RUN_SECONDS, MIN_RUN_SECONDS + rows / per_second)


def stamp(ts: float) -> str:
    return sf_datetime(dt.datetime.fromtimestamp(ts, tz=dt.timezone.utc))


def api_version_number(version: str) -> float:
    return float(version)


# --- locators -------------------------------------------------------------------------------

def encode_locator(row: int) -> str:
    """Salesforce's locators look like base64 of the next row number (``MTAwMDA`` = "10000",
    ``MjAwMDAw`` = "200000" in the "Get Results for a Query Job" example); we do the same,
    without padding. Clients must treat it as opaque, and do."""
    return base64.b64encode(str(row).encode()).decode().rstrip("=")


def decode_locator(locator: str) -> int | None:
    try:
        text = base64.b64decode(locator + "=" * (-len(locator) % 4), validate=True).decode()
        value = int(text)
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    return value if value >= 0 else None


# --- jobs -----------------------------------------------------------------------------------

@dataclasses.dataclass
class QueryJob:
    id: str
    operation: str
    object: str
    soql: str
    created_by: str
    created_at: float
    api_version: str
    line_ending: str
    column_delimiter: str
    expected_rows: int
    content_type: str = "CSV"
    aborted_at: float | None = None
    error_message: str | None = None
    result: ResultFile | None = None
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False)
    # With the cost model (costs.py) the job's queued time and its rate come from it, and its
    # result file is written by a worker while it runs (``writing``); the running time is that
    # file's bytes at ``bytes_per_second``, known once it is written. None: today's timing.
    queued_seconds: float | None = None
    running_seconds: float | None = None
    bytes_per_second: float | None = None
    writing: Future[ResultFile] | None = dataclasses.field(default=None, repr=False)

    @property
    def in_progress_at(self) -> float:
        queued = START_DELAY if self.queued_seconds is None else self.queued_seconds
        return self.created_at + queued

    @property
    def complete_at(self) -> float:
        if self.running_seconds is None and self.bytes_per_second is not None:
            self.running_seconds = self._modelled_run()
            if self.running_seconds is None:
                return math.inf   # its result is still being written: InProgress
        if self.running_seconds is not None:
            return self.in_progress_at + self.running_seconds
        return self.in_progress_at + run_seconds(self.expected_rows, QUERY_ROWS_PER_SECOND)

    def _modelled_run(self) -> float | None:
        """The result file's bytes (header included) at the modelled rate; None until the
        worker has written it (a failed write runs 0 s and fails in :func:`ensure_result`)."""
        writing = self.writing
        if writing is None or not writing.done():
            return None
        if writing.cancelled() or writing.exception() is not None:
            return 0.0
        result = writing.result()
        assert self.bytes_per_second is not None
        return (result.size + len(result.header)) / self.bytes_per_second

    def state(self, now: float) -> str:
        if self.aborted_at is not None:
            return "Aborted"
        if now < self.in_progress_at:
            return "UploadComplete"
        if now < self.complete_at:
            return "InProgress"
        return "Failed" if self.error_message is not None else "JobComplete"

    def modstamp(self, now: float) -> float:
        if self.aborted_at is not None:
            return self.aborted_at
        if now < self.in_progress_at:
            return self.created_at
        if now < self.complete_at:
            return self.in_progress_at
        return self.complete_at

    def _head(self, now: float) -> dict[str, Any]:
        return {
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": self.created_by,
            "createdDate": stamp(self.created_at),
            "systemModstamp": stamp(self.modstamp(now)),
            "state": self.state(now),
            "concurrencyMode": "Parallel",
            "contentType": self.content_type,
            "apiVersion": api_version_number(self.api_version),
        }

    def create_info(self, now: float) -> dict[str, Any]:
        """The create answer (query_create_job): no jobType, no counters."""
        info = self._head(now)
        info["lineEnding"] = self.line_ending
        info["columnDelimiter"] = self.column_delimiter
        return info

    def short_info(self, now: float) -> dict[str, Any]:
        """The abort answer (query_abort_job example): head fields only."""
        return self._head(now)

    def list_info(self, now: float) -> dict[str, Any]:
        """One record of ``GET …/jobs/query`` (query_get_all_jobs example)."""
        info = self._head(now)
        info["jobType"] = "V2Query"
        info["lineEnding"] = self.line_ending
        info["columnDelimiter"] = self.column_delimiter
        return info

    def full_info(self, now: float) -> dict[str, Any]:
        """``GET …/jobs/query/{id}`` (query_get_one_job): counters; errorMessage only if Failed."""
        info = self.list_info(now)
        state = info["state"]
        done = state in ("JobComplete", "Failed")
        info["numberRecordsProcessed"] = self.result.rows if (done and self.result) else 0
        info["retries"] = 0
        info["totalProcessingTime"] = (int((self.complete_at - self.in_progress_at) * 1000)
                                       if done else 0)
        info["isPkChunkingSupported"] = True
        if state == "Failed":
            info["errorMessage"] = self.error_message
        return info


class JobRegistry:
    """Every Bulk 2.0 job of one emulated org, plus the directory of its result files."""

    def __init__(self, directory: Path, database: Path | None = None) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = Path(tempfile.mkdtemp(prefix="bulk-", dir=directory))
        self._finalizer = weakref.finalize(self, shutil.rmtree, str(self.directory), True)
        # Results reused while the org's data (``database``) is unchanged (bulk_results.py).
        self.results = ResultCache(self.directory / "kept", database)
        self._lock = threading.RLock()
        self._numbers = itertools.count(1)
        self.query_jobs: dict[str, QueryJob] = {}
        self.ingest_jobs: dict[str, IngestJob] = {}
        # Writes result files while jobs run (cost model on only); made on first use.
        self._writers: ThreadPoolExecutor | None = None

    def submit_write(self, write: Callable[[], ResultFile]) -> Future[ResultFile]:
        with self._lock:
            if self._writers is None:
                self._writers = ThreadPoolExecutor(max_workers=2,
                                                   thread_name_prefix="bulk-result-writer")
            return self._writers.submit(write)

    def close(self) -> None:
        """Called when the emulator stops: stop the result writers (files go with the dir)."""
        with self._lock:
            writers, self._writers = self._writers, None
        if writers is not None:
            writers.shutdown(wait=False, cancel_futures=True)
        self.results.close()

    def new_id(self) -> str:
        with self._lock:
            return make_id(JOB_KEY_PREFIX, next(self._numbers))

    def add_query(self, job: QueryJob) -> None:
        with self._lock:
            self.query_jobs[job.id] = job

    def add_ingest(self, job: IngestJob) -> None:
        with self._lock:
            self.ingest_jobs[job.id] = job

    def query_job(self, job_id: str) -> QueryJob | None:
        norm = normalize_id(job_id) or job_id
        with self._lock:
            return self.query_jobs.get(norm)

    def ingest_job(self, job_id: str) -> IngestJob | None:
        norm = normalize_id(job_id) or job_id
        with self._lock:
            return self.ingest_jobs.get(norm)

    def all_query(self) -> list[QueryJob]:
        with self._lock:
            return list(self.query_jobs.values())

    def all_ingest(self) -> list[IngestJob]:
        with self._lock:
            return list(self.ingest_jobs.values())

    def delete_query(self, job_id: str) -> None:
        with self._lock:
            job = self.query_jobs.pop(job_id, None)
        if job is None:
            return
        if job.result is not None:
            job.result.close()
        elif job.writing is not None:   # written for nobody: close it when it is done
            job.writing.add_done_callback(_close_written)

    def delete_ingest(self, job_id: str) -> None:
        with self._lock:
            self.ingest_jobs.pop(job_id, None)

    def result_path(self, job_id: str) -> Path:
        return self.directory / f"{job_id}.csv"


def registry(app: EmulatorApp) -> JobRegistry:
    """The org's job registry (kept in ``app.extensions``), made on first use."""
    with app.lock:
        found = app.extensions.get("bulk_jobs")
        if found is None:
            database = getattr(app.store, "path", None)
            base = Path(database or Path(tempfile.gettempdir()) / "none").parent
            found = app.extensions["bulk_jobs"] = JobRegistry(
                base / "bulk-results", Path(database) if database else None)
    assert isinstance(found, JobRegistry)
    return found


def _close_written(done: Future[ResultFile]) -> None:
    if not done.cancelled() and done.exception() is None:
        done.result().close()


# --- query completion -----------------------------------------------------------------------

def start_writing(app: EmulatorApp, job: QueryJob) -> None:
    """Write the job's result file in a worker from now on (cost model on: Salesforce writes it
    while the job runs); :func:`ensure_result` picks it up when the job is complete."""
    at = job.in_progress_at   # its rows as of when it starts running (its end is not known yet)
    job.writing = registry(app).submit_write(lambda: _write_job_result(app, job, at))


def _write_job_result(app: EmulatorApp, job: QueryJob, at: float | None = None) -> ResultFile:
    when = dt.datetime.fromtimestamp(job.complete_at if at is None else at, tz=dt.timezone.utc)
    cursor = app.store.query(job.soql, include_deleted=job.operation == "queryAll",
                             now=when, user_id=job.created_by)
    delimiter, line_ending = DELIMITERS[job.column_delimiter], LINE_ENDINGS[job.line_ending]
    jobs = registry(app)
    try:
        return jobs.results.result(result_key(cursor, delimiter, line_ending),
                                   jobs.result_path(job.id),
                                   lambda path: write_result(path, cursor, delimiter, line_ending))
    finally:
        close = getattr(cursor, "close", None)
        if callable(close):
            close()


def ensure_result(app: EmulatorApp, job: QueryJob, now: float) -> ResultFile | None:
    """The job's result file, written once when the job is first seen complete (or by the
    worker :func:`start_writing` started); None before."""
    if job.state(now) != "JobComplete":
        return job.result
    with job.lock:
        if job.result is not None or job.error_message is not None:
            return job.result
        from sfexit_emulator.routes import limits as limits_mod

        writing = job.writing
        result = writing.result() if writing is not None else _write_job_result(app, job)
        megabytes = -(-(result.size + len(result.header)) // MB)
        if megabytes and not limits_mod.spend(app, "DailyBulkV2QueryFileStorageMB", megabytes):
            # UNCONF: how a job that runs out of result storage ends; we fail it with the
            # storage LIMIT_EXCEEDED text of errors.md §9.
            result.close()
            job.error_message = STORAGE_EXCEEDED
            return None
        job.result = result
        return result


STORAGE_EXCEEDED = ("Max bulk v2 query result size stored (1000000000) kb per 24 hrs has been "
                    "exceeded")
