"""The data backup policy: every queryable object to ``data/<Object>.csv``, proven in the manifest.

Per object (export-pitfalls.md A–D, G):
1. describe it (saved to ``schema/``), select every field Bulk can return (``objects.py``);
2. skip it when the manifest lists it and its CSV still has the listed size and SHA-256 (same
   query, same ``include_deleted``): the rerun of an interrupted export resumes;
3. probe with a Bulk 2.0 query job; when Salesforce refuses the object for Bulk
   (``INVALIDENTITY … is not supported by the Bulk API``, ``API_ERROR``, a failed job) read it
   over REST query (queryAll with ``include_deleted``) into the same CSV dialect
   (``rest_read.py``);
4. when Salesforce requires a filter (``MALFORMED_QUERY`` "Implementation restriction: …",
   ContentDocumentLink) read it over REST per parent id with ``soql.select_in_chunks``;
5. only what cannot be read at all (``INVALID_TYPE_FOR_OPERATION``, ``INVALID_TYPE``, no access)
   is skipped, with Salesforce's reason in the manifest.
Pages stream into ``data/<Object>.csv.part`` (hashed in the same pass; several pages of one job
side by side where the org lists them: bulk_pages.py), renamed when complete,
then the manifest entry is written: memory stays flat whatever the org's size.

Paths (``schedule.py``): an object the preflight counted below the cost model's crossing point
(or ``rest_below``) is read over REST query instead of step 3, ``schedule.REST_CURSORS`` such
objects side by side, beside the Bulk jobs; its CSV has the bytes Bulk would have served
(rest_read.py), and the manifest's ``method`` says which path read it. An object of a few
pages or more is read in Id ranges on further read places (rest_ranges.py), and the largest
objects go that way instead of Bulk where the model says it ends the run earlier
(``schedule.ranged``).

Schedule: steps 1-3 up to the job's creation run ahead of the reads (``parallel`` at a time,
largest first, at most ``JOBS_AHEAD_PER_READER`` × ``parallel`` jobs created and not yet read),
so Salesforce processes the jobs side by side ("Bulk API 2.0 query
jobs automatically determine the best way to divide your query job into smaller chunks",
sub-batches run in parallel: dev.sf api_asynch queries.htm); readers then wait for the jobs
and download them, downloads and REST reads sharing ``REST_CURSORS`` + ``parallel`` read places
(data_run.ExportRun.reading: a download takes a REST cursor's place once the small objects are
read), the job the cost model expects done first first (a small job created after a large one
is done long before it), each as soon as it is done; a job Bulk refuses at creation is read
over REST on a REST cursor, not behind the waiting jobs. A small object whose long text takes
it over its threshold gets its job from the REST pool and joins the same readers (its REST
cursor is not held). The job count is the same either way (one per object against ``DailyBulkV2QueryJobs``,
limits.md); an interrupted run leaves the jobs it created but did not read, as before for the
ones it was waiting on (a rerun creates new ones).
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sfexit import errors
from sfexit.export.bulk_pages import IncompleteResult, stream_pages
from sfexit.export.data_run import read_slots
from sfexit.export.data_run import (UNREADABLE_CODES, DataExportResult,
                                    ExportOptions, ExportRun, ObjectProgress, ObjectResult,
                                    ProgressCallback, finish, needs_filter, reason, sink, skip)
from sfexit.export.delta import object_query
from sfexit.export.manifest import ManifestStore, ObjectEntry
from sfexit.export.objects import (DescribeCache, ObjectPlan, Selection, describe_and_save,
                                   select_objects)
from sfexit.export.rest_read import read_per_parent, read_rest
from sfexit.export.schedule import (DEFAULT_ROW_BYTES, MODEL, PER_PARENT, REST_CURSORS,
                                    Routing, page_rows)
from sfexit.export.schedule import routing as run_routing
from sfexit.ondisk import file_digest
from sfexit.org import bulk2
from sfexit.org.rest import RestClient
from sfexit.org.session import OrgSession

if TYPE_CHECKING:
    from sfexit.export.first_jobs import FirstJobs

__all__ = ["export_data", "largest_first", "query_poll_delays"]

# Query-job status polls. The first read when the cost model (schedule.py) expects the job done,
# counted from its creation (jobs are created ahead, so a reader often finds its job already
# due): a Bulk query job takes ~3 s however small (amp-labs/connectors#131), so reads before
# that are calls spent for nothing on Salesforce. Then every 0.25 s up to 1 s past the
# estimate (a job done just after it is seen within 0.25 s), then bulk2's back-off (x1.5,
# capped at 15 s). Fewer reads than the forecast's POLLS_PER_JOB for a job done on time.
QUERY_POLL_QUICK = (0.25, 0.25, 0.25, 0.25)


def query_poll_delays() -> Iterator[float]:
    """Waits between status reads of a query job, after the first (:func:`_first_poll`)."""
    yield from QUERY_POLL_QUICK
    yield from bulk2.poll_delays(first=0.75)


def largest_first(objects: Sequence[str], row_counts: Mapping[str, int] | None) -> list[str]:
    """Start order: most rows first (long jobs early, small ones fill in), ties and uncounted
    objects by name. No output (CSV, manifest entry, result) depends on this order."""
    counts = row_counts or {}
    return sorted(objects, key=lambda name: (-max(0, counts.get(name, 0)), name))


@dataclass(frozen=True)
class _Started:
    """An object whose Bulk job was created (``job``) or refused at creation (``error``)."""

    plan: ObjectPlan
    query: str
    job: bulk2.JobInfo | None = None
    error: errors.SalesforceError | None = None
    rest: bool = False           # the schedule sends it to REST: no job was created
    rows: int | None = None      # the preflight's count (the job's expected time, Id ranges)
    created: float = 0.0         # time.monotonic() when the job was created


@dataclass(frozen=True)
class _NotStarted:
    """An object :class:`FirstJobs` left to the data step (REST may read it)."""

    name: str


def export_data(session: OrgSession, store: ManifestStore, options: ExportOptions, *,
                on_progress: ProgressCallback | None = None,
                sleep: Callable[[float], None] = time.sleep,
                row_counts: Mapping[str, int] | None = None,
                selection: Selection | None = None,
                describes: DescribeCache | None = None,
                first: FirstJobs | None = None) -> DataExportResult:
    """Export every selected object into ``store.directory`` (see "Schedule" above).

    ``row_counts`` (the preflight's) orders the objects largest first (:func:`largest_first`);
    ``selection`` saves reading describe global again when the caller has it, ``describes``
    the describes the caller (the preflight) already made; ``first`` the jobs started before
    (:class:`FirstJobs`: its run, with the same store and options but the measured page time).

    Objects that fail for a reason of their own are reported as ``failed`` (the caller decides
    the exit code); an error that concerns the whole run (AuthError, ApiLimitError,
    ConnectionFailed, an exception from ``on_progress``, Ctrl-C) stops every worker and is
    raised, leaving only ``.part`` files and a manifest of what is complete.
    Raises UsageError for an unknown name in ``options.objects``.
    """
    if selection is None:
        selection = select_objects(RestClient(session), options.objects)
    counts = row_counts or {}
    routing = run_routing(options.rest_below, options.rest_page_s, counts, options.parallel)
    if first is None:
        run = ExportRun(session, store, options, on_progress, sleep, len(routing.overflow))
    else:
        run = first.run
        run.widen(len(routing.overflow))
    early = dict(first.futures) if first is not None else {}
    # The first jobs are created before the data step's own (largest first throughout).
    wait(early.values())
    # What FirstJobs left (REST by its fields, or no room) joins the data step's own objects,
    # in their largest-first order; a run-wide error of a first job surfaces below.
    early = {name: f for name, f in early.items()
             if f.exception() is not None or not isinstance(f.result(), _NotStarted)}
    early_futures = set(early.values())
    run.options = options   # the first jobs' run reads on with what the preflight measured
    results: list[ObjectResult] = []
    for skipped in selection.skipped:
        store.add_skipped(skipped)
        results.append(ObjectResult(skipped.name, "skipped", None, reason=skipped.reason))
    order = largest_first(selection.objects, row_counts)
    # Per-parent objects first: their reads are a chain (the parents' ids, then the rows).
    small = sorted((name for name in order if routing.may_rest(counts.get(name), name)
                    and name not in early), key=lambda name: name not in PER_PARENT)
    large = [name for name in order if not routing.may_rest(counts.get(name), name)
             and name not in early]
    workers = max(1, options.parallel)
    # Three pools, FIFO each. Starters describe the large objects and create their jobs; the
    # REST pool describes the small ones and reads those its model sends to REST; a Bulk job
    # from either goes to the readers only once it exists, so no reader waits on a start and no
    # REST cursor waits on a Bulk job (a small long-text object over its threshold gets a job).
    # Every created job gets a read, which frees its place in the window: no deadlock.
    try:
        with ThreadPoolExecutor(workers, thread_name_prefix="sfexit-export-start") as starters, \
                ThreadPoolExecutor(read_slots(workers), thread_name_prefix="sfexit-export") \
                as readers, \
                ThreadPoolExecutor(REST_CURSORS, thread_name_prefix="sfexit-export-rest") as rests:
            # Futures in submission order (a dict): what finished together is handled in that
            # order. A reader takes the created job the cost model expects done first (_DueFirst):
            # the small jobs made after the large ones are done long before them, and are not read
            # behind them. A job Bulk refused at creation is read over REST on a REST cursor.
            due_first = _DueFirst(options.row_widths)
            # Each yields an ObjectResult or a _Started.
            pending: dict[Future[Any], None] = dict.fromkeys([
                *early.values(),
                *(starters.submit(_start, run, name, describes, counts.get(name))
                  for name in large),
                *(rests.submit(_small, run, name, describes, routing, counts.get(name))
                  for name in small)])
            try:
                while pending:
                    finished, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in [f for f in pending if f in finished]:
                        del pending[future]
                        outcome = future.result()   # a run-wide error surfaces at once
                        if isinstance(outcome, _Started) and outcome.job is None:
                            pending[rests.submit(_read_started, run, outcome)] = None
                        elif isinstance(outcome, _Started) and future in early_futures \
                                and _rest_sooner(routing, outcome):
                            pending[rests.submit(_instead_by_rest, run, outcome)] = None
                        elif isinstance(outcome, _Started):
                            due_first.put(outcome)
                            pending[readers.submit(_read_next, run, due_first)] = None
                        else:   # read, or nothing to read (kept, skipped, describe failed)
                            results.append(_reported(run, outcome))
            except BaseException:
                run.cancel.set()
                for left in pending:
                    left.cancel()
                raise
    except BaseException:
        # Every worker has stopped (the pools are shut): none creates a job after this.
        run.abort_unread()
        store.flush()   # what is complete is on disk when this returns, whatever the caller
        raise
    store.flush()
    results.sort(key=lambda r: r.name)
    return DataExportResult(tuple(results), run.bulk_jobs)


# --- one object: start (describe, resume, create the job) --------------------------------------

def _small(run: ExportRun, name: str, describes: DescribeCache | None, routing: Routing,
           rows: int | None) -> ObjectResult | _Started:
    """An object the schedule may read over REST: described, and read here when its fields
    keep it under the threshold, or when Bulk refused its job at creation (the fallback reads
    here, on a REST cursor, not behind the large objects' jobs on a Bulk reader); else its
    Bulk job, for a reader."""
    started = _start(run, name, describes, rows,
                     lambda plan: routing.by_rest(rows, plan.long_text, name))
    if isinstance(started, _Started) and (started.rest or started.job is None):
        return _read_started(run, started)
    return started


def _start(run: ExportRun, name: str, describes: DescribeCache | None, rows: int | None,
           by_rest: Callable[[ObjectPlan], bool] | None = None, *, bulk_job: bool = False
           ) -> ObjectResult | _Started:
    """Describe the object and create its Bulk job (none when ``by_rest`` sends it to REST);
    a final result when there is nothing to read (resumed, skipped, describe failed).
    ``bulk_job``: the budget gate counts a Bulk job whatever its routing says (a first job,
    created before the page time is measured: first_jobs.py). Run-wide errors are raised."""
    run.check()
    if not _describe_admitted(run, name):
        return ObjectResult(name, "paused", None, reason="paused for limits")
    try:
        plan = describe_and_save(run.rest, name, run.options.dest, describes)
    except errors.SalesforceError as exc:
        if exc.error_code in UNREADABLE_CODES:
            return skip(run, name, reason(exc))
        return ObjectResult(name, "failed", None, reason=f"describe: {reason(exc)}")
    query = object_query(name, plan.fields, run.options.since)
    resumed = _resumable(run, name, query)
    if resumed is not None:
        return ObjectResult(name, "kept", resumed.method, resumed.rows, resumed.bytes)
    # Before the preflight's sample (the first jobs: first_jobs.py) the gate counts its widest row.
    if run.options.budget is not None and not run.options.budget.admit_object(
            name, bound=plan.max_row_bytes, bulk_job=bulk_job):
        return ObjectResult(name, "paused", None, reason="paused for limits")
    run.store.remove_object(name)
    if by_rest is not None and by_rest(plan):
        return _Started(plan, query, rest=True, rows=rows)
    run.wait_for_room()
    try:
        job = bulk2.create_query_job(run.session, query,
                                     include_deleted=run.options.include_deleted)
    except BaseException as exc:
        run.job_read()   # no job: its place in the window is free again
        if not isinstance(exc, errors.SalesforceError):
            raise
        _raise_if_limit(name, exc)  # at once: no other object's job may be created either
        return _Started(plan, query, error=exc, rows=rows)
    run.count_job(job.id)
    return _Started(plan, query, job=job, rows=rows, created=time.monotonic())


def _describe_admitted(run: ExportRun, name: str) -> bool:
    """The budget gate admits the object's describe before it is made (a call like any other;
    budget_gate.BudgetGate.admit_describe); True without a gate."""
    return run.options.budget is None or run.options.budget.admit_describe(name)


def _resumable(run: ExportRun, name: str, query: str) -> ObjectEntry | None:
    """The manifest entry when the CSV on disk is still exactly what it lists.

    Same size and SHA-256 means the same bytes, hence the same row count as listed.
    """
    entry = run.store.object_entry(name)
    if entry is None or not entry.complete or entry.query != query \
            or entry.include_deleted != run.options.include_deleted:
        return None
    if run.options.publisher is not None:   # the file is in the bucket, not in dest
        return entry if run.options.publisher.holds(entry) else None
    path = run.options.dest / entry.file
    if not path.is_file():
        return None
    size, sha = file_digest(path)
    return entry if (size, sha) == (entry.bytes, entry.sha256) else None


def _raise_if_limit(name: str, exc: errors.SalesforceError) -> None:
    if exc.error_code == "LIMIT_EXCEEDED":
        raise errors.ApiLimitError(f"Bulk API limit reached while exporting {name}: "
                                   f"{exc.message}", hint="run the export again tomorrow; "
                                   "what is complete is kept") from None


# --- one object: read (wait for the job, download; or the fallbacks) ---------------------------

def _reported(run: ExportRun, result: ObjectResult) -> ObjectResult:
    """A kept object shows as complete in the progress (a read one reported as it went)."""
    if result.status == "kept":
        run.on_progress(ObjectProgress(result.name, result.rows, result.rows, True,
                                       result.method or ""))
    return result


def _read_started(run: ExportRun, started: _Started) -> ObjectResult:
    """Read one object: over REST (holding a read place throughout), or wait for its job and
    download it (a read place for the download only: waiting and status reads are short
    requests, data_run.ExportRun.reading)."""
    plan, query = started.plan, started.query
    run.check()
    if started.rest:
        with run.reading():
            return read_rest(run, plan, query, "read over REST (a small object: schedule.py)",
                             started.rows)
    if started.job is None:
        assert started.error is not None
        with run.reading():
            return _after_bulk_error(run, plan, query, started.error, started.rows)
    run.on_progress(ObjectProgress(plan.name, 0, None, False, "bulk"))
    try:
        result = _wait_and_download(run, plan, query, started.job, _first_poll(run, started),
                                    started.rows)
    except BaseException:
        run.job_read()   # its place is free; the job stays unread (ExportRun.abort_unread)
        raise
    run.job_read(started.job.id)
    return result


def _rest_sooner(routing: Routing, started: _Started) -> bool:
    """Whether REST, at the page time the org showed, reads an object whose first job was
    created before it was measured (first_jobs.py) sooner than that job ends, by a page's
    time at least: that job is then aborted (:func:`_instead_by_rest`)."""
    plan, rows = started.plan, started.rows
    if rows is None or not routing.by_rest(rows, plan.long_text, plan.name):
        return False
    model = routing.model
    by_rest = time.monotonic() + model.split_seconds(rows, page_rows(plan.long_text))
    by_bulk = started.created + model.bulk_seconds(rows, routing.row_bytes)
    return by_rest + model.rest_page_s <= by_bulk


def _instead_by_rest(run: ExportRun, started: _Started) -> ObjectResult:
    """Abort a first job REST reads sooner, then read its object over REST. The abort is best
    effort (a job done meanwhile cannot be aborted; an error that concerns the whole run
    surfaces in the read)."""
    assert started.job is not None
    try:
        bulk2.abort_query_job(run.session, started.job.id)
    except errors.SalesforceError:
        pass
    run.job_read(started.job.id)   # its place in the window is free, nothing is left unread
    return _read_started(run, replace(started, job=None, rest=True))


class _DueFirst:
    """Created jobs waiting for a reader, the one the cost model expects done first on top
    (its creation plus ``MODEL.bulk_ready_seconds`` of its rows; ties in creation order)."""

    def __init__(self, widths: Mapping[str, int] | None = None) -> None:
        self._widths = widths or {}
        self._lock = threading.Lock()
        self._heap: list[tuple[float, int, _Started]] = []
        self._order = itertools.count()

    def put(self, started: _Started) -> None:
        due = _due(started, self._widths)
        with self._lock:
            heapq.heappush(self._heap, (due, next(self._order), started))

    def take(self) -> _Started:
        with self._lock:
            return heapq.heappop(self._heap)[2]


def _read_next(run: ExportRun, jobs: _DueFirst) -> ObjectResult:
    """One reader's turn: the job due first (one was put for each turn submitted)."""
    return _read_started(run, jobs.take())


def _due(started: _Started, widths: Mapping[str, int]) -> float:
    """When the cost model expects the job done: its creation, the fixed cost and its bytes at
    the object's sampled width (the model's default width when not sampled)."""
    width = widths.get(started.plan.name, DEFAULT_ROW_BYTES)
    return started.created + MODEL.bulk_ready_seconds(started.rows or 0, width)


def _first_poll(run: ExportRun, started: _Started) -> float:
    """Seconds until the cost model expects the job done (QUERY_POLL_QUICK). At the default
    width a wider object's job was read 0.2 s early at 200k, then 0.25 s later (bench/
    RESULTS.md "session 7"): the largest objects, the run's longest jobs, are sampled."""
    return max(0.0, _due(started, run.options.row_widths or {}) - time.monotonic())


def _wait_and_download(run: ExportRun, plan: ObjectPlan, query: str, job: bulk2.JobInfo,
                       first_poll: float, rows: int | None) -> ObjectResult:
    try:
        done = bulk2.wait_for_job(run.session, job.id, sleep=run.pause,
                                  timeout=run.options.poll_timeout,
                                  on_poll=lambda _info: run.check(),
                                  initial_delay=first_poll, delays=query_poll_delays())
        with run.reading():
            return _download(run, plan, query, done)
    except errors.SalesforceError as exc:
        with run.reading():
            return _after_bulk_error(run, plan, query, exc, rows)
    except IncompleteResult as exc:
        return ObjectResult(plan.name, "failed", "bulk", reason=exc.message)
    except (bulk2.JobFailed, bulk2.JobTimeout) as exc:
        with run.reading():
            return read_rest(run, plan, query, f"Bulk job did not complete ({exc.message})",
                             rows)


def _after_bulk_error(run: ExportRun, plan: ObjectPlan, query: str,
                      exc: errors.SalesforceError, rows: int | None = None) -> ObjectResult:
    """What Salesforce's answer to the Bulk job (create, status or pages) leaves: per parent,
    skipped, a run-wide limit error, or REST."""
    text = reason(exc)
    if needs_filter(exc):
        return read_per_parent(run, plan, query, text)
    if exc.error_code in UNREADABLE_CODES:
        return skip(run, plan.name, text)
    _raise_if_limit(plan.name, exc)
    return read_rest(run, plan, query, f"Bulk API refused it ({text})", rows)


def _download(run: ExportRun, plan: ObjectPlan, query: str, done: bulk2.JobInfo
              ) -> ObjectResult:
    part = sink(run, plan.name)
    try:
        rows = stream_pages(run, plan, done, part)
        if rows != done.records_processed:
            raise IncompleteResult(
                f"Bulk job {done.id} for {plan.name} reported {done.records_processed} rows "
                f"but its result pages held {rows}")
        return finish(run, plan, query, "bulk", part, rows, [done.id])
    finally:
        part.close()
