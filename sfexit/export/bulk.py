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
Pages stream into ``data/<Object>.csv.part`` (hashed in the same pass), renamed when complete,
then the manifest entry is written: memory stays flat whatever the org's size.

Schedule: steps 1-3 up to the job's creation run ahead of the reads (``parallel`` at a time,
largest first, at most ``JOBS_AHEAD_PER_READER`` × ``parallel`` jobs created and not yet read),
so Salesforce processes the jobs side by side ("Bulk API 2.0 query
jobs automatically determine the best way to divide your query job into smaller chunks",
sub-batches run in parallel: dev.sf api_asynch queries.htm); ``parallel`` then bounds the
objects being waited for and downloaded, still largest first, each as soon as its job is done.
The job count is the same either way (one per object against ``DailyBulkV2QueryJobs``,
limits.md); an interrupted run leaves the jobs it created but did not read, as before for the
ones it was waiting on (a rerun creates new ones).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, replace
from typing import Any

from sfexit import errors
from sfexit.export.csvshape import RecordCounter
from sfexit.export.csvsink import HeaderOnce, PartFile, header_line
from sfexit.export.data_run import (PER_PARENT, UNREADABLE_CODES, DataExportResult,
                                    ExportOptions, ExportRun, ObjectProgress, ObjectResult,
                                    ProgressCallback, finish, needs_filter, reason, sink, skip)
from sfexit.export.delta import object_query
from sfexit.export.manifest import ManifestStore, ObjectEntry
from sfexit.export.objects import (DescribeCache, ObjectPlan, Selection, describe_and_save,
                                   select_objects)
from sfexit.export.rest_read import read_per_parent, read_rest
from sfexit.ondisk import file_digest
from sfexit.org import bulk2
from sfexit.org.session import OrgSession

__all__ = ["PER_PARENT", "UNREADABLE_CODES", "DataExportResult", "ExportOptions",
           "ObjectProgress", "ObjectResult", "ProgressCallback", "export_data", "largest_first",
           "query_poll_delays"]

# Query-job status polls: the first read 0.5 s after create (a job is never done at creation:
# one call saved), then every 0.5 s up to 2 s, then bulk2's back-off (x1.5, capped at 15 s).
# bulk2's default (read at 0, 0.5, 1.25, 2.4, 4.1 s) saw a job done at ~1.3 s only at 2.4 s:
# ~1 s lost per object and per wave of ``parallel`` jobs (bench/export_vs_simple_salesforce.py,
# bench/RESULTS.md 2026-11-22). No more reads than before for a job done within 2 s, two more
# over a long job; the forecast's POLLS_PER_JOB is unchanged.
QUERY_POLL_FIRST = 0.5
QUERY_POLL_QUICK = (0.5, 0.5, 0.5)


def query_poll_delays() -> Iterator[float]:
    """Waits between status reads of a query job, after :data:`QUERY_POLL_FIRST`."""
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


def export_data(session: OrgSession, store: ManifestStore, options: ExportOptions, *,
                on_progress: ProgressCallback | None = None,
                sleep: Callable[[float], None] = time.sleep,
                row_counts: Mapping[str, int] | None = None,
                selection: Selection | None = None,
                describes: DescribeCache | None = None) -> DataExportResult:
    """Export every selected object into ``store.directory`` (see "Schedule" above).

    ``row_counts`` (the preflight's) orders the objects largest first (:func:`largest_first`);
    ``selection`` saves reading describe global again when the caller has it, ``describes``
    the describes the caller (the preflight) already made.

    Objects that fail for a reason of their own are reported as ``failed`` (the caller decides
    the exit code); an error that concerns the whole run (AuthError, ApiLimitError,
    ConnectionFailed, an exception from ``on_progress``, Ctrl-C) stops every worker and is
    raised, leaving only ``.part`` files and a manifest of what is complete.
    Raises UsageError for an unknown name in ``options.objects``.
    """
    run = ExportRun(session, store, options, on_progress, sleep)
    if selection is None:
        selection = select_objects(run.rest, options.objects)
    results: list[ObjectResult] = []
    for skipped in selection.skipped:
        store.add_skipped(skipped)
        results.append(ObjectResult(skipped.name, "skipped", None, reason=skipped.reason))
    order = largest_first(selection.objects, row_counts)
    workers = max(1, options.parallel)
    # Two pools, FIFO each: submission order is start order, and neither waits on the other's
    # queue (a reader blocks on its own object's start only), so they cannot deadlock.
    with ThreadPoolExecutor(workers, thread_name_prefix="sfexit-export-start") as starters, \
            ThreadPoolExecutor(workers, thread_name_prefix="sfexit-export") as readers:
        starts = [starters.submit(_start, run, name, describes) for name in order]
        reads = [readers.submit(_read, run, start) for start in starts]
        every: list[Future[Any]] = [*starts, *reads]
        read_set: set[Future[Any]] = set(reads)
        try:
            # Any stage's run-wide error surfaces at once; only the readers give the results.
            for future in as_completed(every):
                outcome = future.result()
                if future in read_set:
                    results.append(outcome)
        except BaseException:
            run.cancel.set()
            for pending in every:
                pending.cancel()
            raise
    results.sort(key=lambda r: r.name)
    return DataExportResult(tuple(results), run.bulk_jobs)


# --- one object: start (describe, resume, create the job) --------------------------------------

def _start(run: ExportRun, name: str, describes: DescribeCache | None
           ) -> ObjectResult | _Started:
    """Describe the object and create its Bulk job; a final result when there is nothing to
    read (kept, skipped, describe failed). Run-wide errors are raised."""
    run.check()
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
    if run.options.budget is not None and not run.options.budget.admit_object(name):
        return ObjectResult(name, "paused", None, reason="paused for limits")
    run.store.remove_object(name)
    run.wait_for_room()
    try:
        job = bulk2.create_query_job(run.session, query,
                                     include_deleted=run.options.include_deleted)
    except BaseException as exc:
        run.job_read()   # no job: its place in the window is free again
        if not isinstance(exc, errors.SalesforceError):
            raise
        _raise_if_limit(name, exc)  # at once: no other object's job may be created either
        return _Started(plan, query, error=exc)
    run.count_job()
    return _Started(plan, query, job=job)


def _resumable(run: ExportRun, name: str, query: str) -> ObjectEntry | None:
    """The manifest entry when the CSV on disk is still exactly what it lists.

    Same size and SHA-256 means the same bytes, hence the same row count as listed.
    """
    entry = run.store.object_entry(name)
    if entry is None or not entry.complete or entry.query != query \
            or entry.include_deleted != run.options.include_deleted:
        return None
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

def _read(run: ExportRun, start: Future[ObjectResult | _Started]) -> ObjectResult:
    """Progress is reported from here, in the readers' order (largest first), as before jobs
    were created ahead: an object "starts" when it is waited for, not when its job is made."""
    started = start.result()
    if isinstance(started, ObjectResult):
        if started.status == "kept":
            run.on_progress(ObjectProgress(started.name, started.rows, started.rows, True,
                                           started.method or ""))
        return started
    plan, query = started.plan, started.query
    run.check()
    if started.job is None:
        assert started.error is not None
        return _after_bulk_error(run, plan, query, started.error)
    run.on_progress(ObjectProgress(plan.name, 0, None, False, "bulk"))
    try:
        return _wait_and_download(run, plan, query, started.job)
    finally:
        run.job_read()


def _wait_and_download(run: ExportRun, plan: ObjectPlan, query: str, job: bulk2.JobInfo
                       ) -> ObjectResult:
    try:
        done = bulk2.wait_for_job(run.session, job.id, sleep=run.pause,
                                  timeout=run.options.poll_timeout,
                                  on_poll=lambda _info: run.check(),
                                  initial_delay=QUERY_POLL_FIRST, delays=query_poll_delays())
        return _download(run, plan, query, done)
    except errors.SalesforceError as exc:
        return _after_bulk_error(run, plan, query, exc)
    except IncompleteResult as exc:
        return ObjectResult(plan.name, "failed", "bulk", reason=exc.message)
    except (bulk2.JobFailed, bulk2.JobTimeout) as exc:
        return read_rest(run, plan, query, f"Bulk job did not complete ({exc.message})")


def _after_bulk_error(run: ExportRun, plan: ObjectPlan, query: str,
                      exc: errors.SalesforceError) -> ObjectResult:
    """What Salesforce's answer to the Bulk job (create, status or pages) leaves: per parent,
    skipped, a run-wide limit error, or REST."""
    text = reason(exc)
    if needs_filter(exc):
        return read_per_parent(run, plan, query, text)
    if exc.error_code in UNREADABLE_CODES:
        return skip(run, plan.name, text)
    _raise_if_limit(plan.name, exc)
    return read_rest(run, plan, query, f"Bulk API refused it ({text})")


def _download(run: ExportRun, plan: ObjectPlan, query: str, done: bulk2.JobInfo
              ) -> ObjectResult:
    part = sink(run, plan.name)
    try:
        rows = _stream_pages(run, plan, done, part)
        if rows != done.records_processed:
            raise IncompleteResult(
                f"Bulk job {done.id} for {plan.name} reported {done.records_processed} rows "
                f"but its result pages held {rows}")
        return finish(run, plan, query, "bulk", part, rows, [done.id])
    finally:
        part.close()


class IncompleteResult(errors.SfexitError):
    """A result page (or the job's pages together) held other records than the org said, or
    a malformed record, on every try: the object fails; nothing of it is marked complete."""

    name = "IncompleteBulkResult"


def _stream_pages(run: ExportRun, plan: ObjectPlan, job: bulk2.JobInfo, part: PartFile) -> int:
    header = HeaderOnce(part)
    rows = 0
    locator: str | None = None
    while True:
        page = _one_page(run, job.id, locator, len(plan.fields), header, part)
        rows += page.records or 0   # the records counted (_one_page)
        run.on_progress(ObjectProgress(plan.name, rows, job.records_processed, False, "bulk"))
        if page.next_locator is None:
            break
        locator = page.next_locator
    if part.size == 0:
        part.write(header_line(plan.fields))  # no page at all: still a header line
    return rows


def _one_page(run: ExportRun, job_id: str, locator: str | None, columns: int,
              header: HeaderOnce, part: PartFile) -> bulk2.ResultPage:
    """Fetch one page into the sink, counting its records and their columns as it streams
    (csvshape.RecordCounter). A page broken in transit, cut short (its records differ from
    ``Sforce-NumberOfRecords``, or it ends inside a quoted value or a record) or holding a
    record of another width is rewound and fetched again by the same locator (locators stay
    valid while the job exists: query_get_job_results). Returns the page with the records
    counted. Raises ConnectionFailed when the transport broke on every try, IncompleteResult
    when the body was wrong on every try."""
    mark, pages = part.mark(), header.pages
    for attempt in range(1, bulk2.PAGE_ATTEMPTS + 1):
        run.check()
        page, response = bulk2.open_result_page(run.session, job_id, locator,
                                                max_records=run.options.max_records,
                                                gzip=run.options.gzip)
        header.pages = pages
        header.start_page()
        counter = RecordCounter(columns)
        try:
            for chunk in bulk2.page_chunks(response):
                run.check()
                counter.feed(chunk)
                header.feed(chunk)
        except bulk2.BODY_ERRORS as exc:
            part.rewind(mark)
            if attempt == bulk2.PAGE_ATTEMPTS:
                raise errors.ConnectionFailed(
                    f"result page of Bulk job {job_id} broke {attempt} times: "
                    f"{type(exc).__name__}", hint="run the export again; it resumes") from None
            continue
        problem = _page_problem(counter, page)
        if problem is None:
            return replace(page, records=counter.data_records)
        part.rewind(mark)
        if attempt == bulk2.PAGE_ATTEMPTS:
            raise IncompleteResult(f"result page of Bulk job {job_id} {problem}, "
                                   f"{attempt} times", hint="run the export again")
    raise AssertionError("unreachable")  # pragma: no cover


def _page_problem(counter: RecordCounter, page: bulk2.ResultPage) -> str | None:
    problem = counter.problem()
    if problem is not None:
        return problem
    if page.records is not None and counter.data_records != page.records:
        return (f"held {counter.data_records} records where Sforce-NumberOfRecords said "
                f"{page.records}")
    return None
