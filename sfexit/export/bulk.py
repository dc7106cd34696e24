"""The data backup policy: every queryable object to ``data/<Object>.csv``, proven in the manifest.

Per object (export-pitfalls.md A–D, G):
1. describe it (saved to ``schema/``), select every field Bulk can return (``objects.py``);
2. skip it when the manifest lists it and its CSV still has the listed size and SHA-256 (same
   query, same ``include_deleted``): the rerun of an interrupted export resumes;
3. probe with a Bulk 2.0 query job; when Salesforce refuses the object for Bulk
   (``INVALIDENTITY … is not supported by the Bulk API``, ``API_ERROR``, a failed job) read it
   over REST query (queryAll with ``include_deleted``) into the same CSV dialect;
4. when Salesforce requires a filter (``MALFORMED_QUERY`` "Implementation restriction: …",
   ContentDocumentLink) read it over REST per parent id with ``soql.select_in_chunks``;
5. only what cannot be read at all (``INVALID_TYPE_FOR_OPERATION``, ``INVALID_TYPE``, no access)
   is skipped, with Salesforce's reason in the manifest.
Pages stream into ``data/<Object>.csv.part`` (hashed in the same pass), renamed when complete,
then the manifest entry is written: memory stays flat whatever the org's size.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote_plus

from sfexit import errors
from sfexit.export.csvsink import (PartFile, HeaderOnce, csv_line, file_digest, header_line)
from sfexit.export.manifest import ManifestStore, ObjectEntry, SkippedObject
from sfexit.export.objects import ObjectPlan, describe_and_save, select_objects
from sfexit.org import bulk2, soql
from sfexit.org.rest import RestClient
from sfexit.org.session import OrgSession

# Objects Salesforce only lets us read filtered by a parent id: (filter field, parent object).
# ContentDocumentLink: "requires a filter by a single Id on ContentDocumentId or LinkedEntityId
# … or multiple Id's using the IN operator" (export-pitfalls.md A; Salesforce's error text).
PER_PARENT = {"ContentDocumentLink": ("ContentDocumentId", "ContentDocument")}

# Cannot be read at all by this user: skipped with the reason (export-pitfalls.md B, I).
UNREADABLE_CODES = frozenset({"INVALID_TYPE_FOR_OPERATION", "INVALID_TYPE",
                              "INSUFFICIENT_ACCESS", "INSUFFICIENT_ACCESS_OR_READONLY",
                              "NOT_FOUND"})
REST_PROGRESS_EVERY = 2000

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


@dataclass(frozen=True)
class ExportOptions:
    dest: Path
    objects: tuple[str, ...] | None = None
    include_deleted: bool = False
    parallel: int = 4
    max_records: int | None = bulk2.DEFAULT_MAX_RECORDS
    gzip: bool = True
    poll_timeout: float = 6 * 3600.0


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
    status: str                  # "exported" | "resumed" | "skipped" | "failed"
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


class _Cancelled(Exception):
    pass


class _Run:
    """State shared by the worker threads of one export (one session, one manifest)."""

    def __init__(self, session: OrgSession, store: ManifestStore, options: ExportOptions,
                 on_progress: ProgressCallback | None, sleep: Callable[[float], None]) -> None:
        self.session = session
        self.rest = RestClient(session)
        self.store = store
        self.options = options
        self.on_progress = on_progress or (lambda _p: None)
        self.sleep = sleep
        self.cancel = threading.Event()
        self.bulk_jobs = 0
        self._lock = threading.Lock()

    def check(self) -> None:
        if self.cancel.is_set():
            raise _Cancelled()

    def count_job(self) -> None:
        with self._lock:
            self.bulk_jobs += 1


def largest_first(objects: Sequence[str], row_counts: Mapping[str, int] | None) -> list[str]:
    """Start order: most rows first (long jobs early, small ones fill in), ties and uncounted
    objects by name. No output (CSV, manifest entry, result) depends on this order."""
    counts = row_counts or {}
    return sorted(objects, key=lambda name: (-max(0, counts.get(name, 0)), name))


def export_data(session: OrgSession, store: ManifestStore, options: ExportOptions, *,
                on_progress: ProgressCallback | None = None,
                sleep: Callable[[float], None] = time.sleep,
                row_counts: Mapping[str, int] | None = None) -> DataExportResult:
    """Export every selected object, ``options.parallel`` at a time, into ``store.directory``.

    ``row_counts`` (the preflight's) starts the largest objects first (:func:`largest_first`).

    Objects that fail for a reason of their own are reported as ``failed`` (the caller decides
    the exit code); an error that concerns the whole run (AuthError, ApiLimitError,
    ConnectionFailed, an exception from ``on_progress``, Ctrl-C) stops every worker and is
    raised, leaving only ``.part`` files and a manifest of what is complete.
    Raises UsageError for an unknown name in ``options.objects``.
    """
    run = _Run(session, store, options, on_progress, sleep)
    selection = select_objects(run.rest, options.objects)
    results: list[ObjectResult] = []
    for skipped in selection.skipped:
        store.add_skipped(skipped)
        results.append(ObjectResult(skipped.name, "skipped", None, reason=skipped.reason))
    with ThreadPoolExecutor(max_workers=max(1, options.parallel),
                            thread_name_prefix="sfexit-export") as pool:
        # The pool takes submitted work first-in first-out: submission order is start order.
        futures = [pool.submit(_export_object, run, name)
                   for name in largest_first(selection.objects, row_counts)]
        try:
            for future in as_completed(futures):
                results.append(future.result())
        except BaseException:
            run.cancel.set()
            for future in futures:
                future.cancel()
            raise
    results.sort(key=lambda r: r.name)
    return DataExportResult(tuple(results), run.bulk_jobs)


# --- one object -------------------------------------------------------------------------------

def _export_object(run: _Run, name: str) -> ObjectResult:
    run.check()
    try:
        plan = describe_and_save(run.rest, name, run.options.dest)
    except errors.SalesforceError as exc:
        if exc.error_code in UNREADABLE_CODES:
            return _skip(run, name, _reason(exc))
        return ObjectResult(name, "failed", None, reason=f"describe: {_reason(exc)}")
    query = soql.select(name, plan.fields)
    resumed = _resumable(run, name, query)
    if resumed is not None:
        run.on_progress(ObjectProgress(name, resumed.rows, resumed.rows, True, resumed.method))
        return ObjectResult(name, "resumed", resumed.method, resumed.rows, resumed.bytes)
    run.store.remove_object(name)
    try:
        return _bulk(run, plan, query)
    except errors.SalesforceError as exc:
        reason = _reason(exc)
        if _needs_filter(exc):
            return _per_parent(run, plan, query, reason)
        if exc.error_code in UNREADABLE_CODES:
            return _skip(run, name, reason)
        if exc.error_code == "LIMIT_EXCEEDED":
            raise errors.ApiLimitError(f"Bulk API limit reached while exporting {name}: "
                                       f"{exc.message}", hint="run the export again tomorrow; "
                                       "what is complete is kept") from None
        return _rest(run, plan, query, f"Bulk API refused it ({reason})")
    except (bulk2.JobFailed, bulk2.JobTimeout) as exc:
        return _rest(run, plan, query, f"Bulk job did not complete ({exc.message})")


def _resumable(run: _Run, name: str, query: str) -> ObjectEntry | None:
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


def _reason(exc: errors.SalesforceError) -> str:
    text = exc.message.split(" failed: ", 1)[-1]
    return f"{exc.error_code}: {text}" if exc.error_code else text


def _needs_filter(exc: errors.SalesforceError) -> bool:
    text = exc.message.lower()
    return exc.error_code in ("MALFORMED_QUERY", "QUERY_RESTRICTED") and (
        "implementation restriction" in text or "requires a filter" in text)


def _skip(run: _Run, name: str, reason: str) -> ObjectResult:
    run.store.add_skipped(SkippedObject(name, reason))
    return ObjectResult(name, "skipped", None, reason=reason)


def _finish(run: _Run, plan: ObjectPlan, query: str, method: str, sink: PartFile, rows: int,
            job_ids: list[str]) -> ObjectResult:
    sink.commit()
    run.store.put_object(ObjectEntry(
        name=plan.name, method=method, query=query, job_ids=job_ids, rows=rows,
        bytes=sink.size, sha256=sink.sha256, file=f"data/{plan.name}.csv",
        skipped_fields=list(plan.skipped_fields), complete=True,
        include_deleted=run.options.include_deleted))
    run.on_progress(ObjectProgress(plan.name, rows, rows, True, method))
    return ObjectResult(plan.name, "exported", method, rows, sink.size)


def _sink(run: _Run, name: str) -> PartFile:
    return PartFile(run.options.dest / "data" / f"{name}.csv")


# --- Bulk 2.0 ---------------------------------------------------------------------------------

def _bulk(run: _Run, plan: ObjectPlan, query: str) -> ObjectResult:
    session, options = run.session, run.options
    job = bulk2.create_query_job(session, query, include_deleted=options.include_deleted)
    run.count_job()
    run.on_progress(ObjectProgress(plan.name, 0, None, False, "bulk"))
    done = bulk2.wait_for_job(session, job.id, sleep=run.sleep, timeout=options.poll_timeout,
                              on_poll=lambda _info: run.check(),
                              initial_delay=QUERY_POLL_FIRST, delays=query_poll_delays())
    sink = _sink(run, plan.name)
    try:
        rows = _stream_pages(run, plan, done, sink)
        if rows != done.records_processed:
            raise errors.SalesforceError(
                f"Bulk job {done.id} for {plan.name} reported {done.records_processed} rows "
                f"but its result pages held {rows}", error_code="ROW_COUNT_MISMATCH")
        return _finish(run, plan, query, "bulk", sink, rows, [done.id])
    finally:
        sink.close()


def _stream_pages(run: _Run, plan: ObjectPlan, job: bulk2.JobInfo, sink: PartFile) -> int:
    header = HeaderOnce(sink)
    rows = 0
    locator: str | None = None
    while True:
        page = _one_page(run, job.id, locator, header, sink)
        rows += page.records
        run.on_progress(ObjectProgress(plan.name, rows, job.records_processed, False, "bulk"))
        if page.next_locator is None:
            break
        locator = page.next_locator
    if sink.size == 0:
        sink.write(header_line(plan.fields))  # no page at all: still a header line
    return rows


def _one_page(run: _Run, job_id: str, locator: str | None, header: HeaderOnce,
              sink: PartFile) -> bulk2.ResultPage:
    """Fetch one page into the sink; a page broken in transit is rewound and fetched again by
    the same locator (locators stay valid while the job exists: query_get_job_results)."""
    mark, pages = sink.mark(), header.pages
    for attempt in range(1, bulk2.PAGE_ATTEMPTS + 1):
        run.check()
        page, response = bulk2.open_result_page(run.session, job_id, locator,
                                                max_records=run.options.max_records,
                                                gzip=run.options.gzip)
        header.pages = pages
        header.start_page()
        try:
            for chunk in bulk2.page_chunks(response):
                run.check()
                header.feed(chunk)
            return page
        except bulk2.BODY_ERRORS as exc:
            sink.rewind(mark)
            if attempt == bulk2.PAGE_ATTEMPTS:
                raise errors.ConnectionFailed(
                    f"result page of Bulk job {job_id} broke {attempt} times: "
                    f"{type(exc).__name__}", hint="run the export again; it resumes") from None
    raise AssertionError("unreachable")  # pragma: no cover


# --- REST query -------------------------------------------------------------------------------

def _rest(run: _Run, plan: ObjectPlan, query: str, why: str) -> ObjectResult:
    try:
        return _write_records(run, plan, query, "rest", _rest_records(run, plan, query))
    except errors.SalesforceError as exc:
        reason = _reason(exc)
        if _needs_filter(exc):
            return _per_parent(run, plan, query, reason)
        if exc.error_code in UNREADABLE_CODES:
            return _skip(run, plan.name, reason)
        return ObjectResult(plan.name, "failed", "rest", reason=f"{why}; REST query: {reason}")


def _rest_records(run: _Run, plan: ObjectPlan, query: str) -> Iterator[dict[str, Any]]:
    """Rows over REST. A query too long for one GET URL (414 past 16,384 bytes, errors.md §2)
    is split into field groups, each ``ORDER BY Id``, read side by side and joined by Id:
    still one pass, memory flat."""
    include_deleted = run.options.include_deleted
    if len(quote_plus(query)) <= soql.MAX_QUERY_URL_BYTES:
        yield from run.rest.query_iter(query, include_deleted=include_deleted)
        return
    groups = _field_groups(plan)
    streams = [run.rest.query_iter(soql.select(plan.name, ["Id", *g], order_by=["Id"]),
                                   include_deleted=include_deleted) for g in groups]
    for parts in itertools.zip_longest(*streams):
        ids = {p.get("Id") if p else None for p in parts}
        if len(ids) != 1 or None in ids:
            raise errors.SalesforceError(
                f"{plan.name} changed while it was read in {len(groups)} field groups",
                error_code="ROWS_CHANGED_DURING_READ", hint="run the export again")
        merged: dict[str, Any] = {}
        for part in parts:
            merged.update(part)
        yield merged


def _field_groups(plan: ObjectPlan) -> list[list[str]]:
    groups: list[list[str]] = [[]]
    for field in (f for f in plan.fields if f != "Id"):
        trial = soql.select(plan.name, ["Id", *groups[-1], field], order_by=["Id"])
        if groups[-1] and len(quote_plus(trial)) > soql.MAX_QUERY_URL_BYTES:
            groups.append([])
        groups[-1].append(field)
    return groups


def _per_parent(run: _Run, plan: ObjectPlan, query: str, reason: str) -> ObjectResult:
    if plan.name not in PER_PARENT:
        return _skip(run, plan.name, f"{reason} (needs a filter sfexit does not know)")
    field, parent = PER_PARENT[plan.name]
    include_deleted = run.options.include_deleted
    parent_ids = (str(r["Id"]) for r in
                  run.rest.query_iter(soql.select(parent, ["Id"]),
                                      include_deleted=include_deleted))
    records = (record
               for text in soql.select_in_chunks(plan.name, plan.fields, field, parent_ids)
               for record in run.rest.query_iter(text, include_deleted=include_deleted))
    try:
        return _write_records(run, plan, query, "per-parent", records)
    except errors.SalesforceError as exc:
        return ObjectResult(plan.name, "failed", "per-parent", reason=_reason(exc))
    except ValueError as exc:  # the field list alone is too long for a GET URL
        return ObjectResult(plan.name, "failed", "per-parent", reason=str(exc))


def _write_records(run: _Run, plan: ObjectPlan, query: str, method: str,
                   records: Iterator[dict[str, Any]]) -> ObjectResult:
    sink = _sink(run, plan.name)
    try:
        sink.write(header_line(plan.fields))
        rows = 0
        run.on_progress(ObjectProgress(plan.name, 0, None, False, method))
        for record in records:
            sink.write(csv_line(record.get(f) for f in plan.fields))
            rows += 1
            if rows % REST_PROGRESS_EVERY == 0:
                run.check()
                run.on_progress(ObjectProgress(plan.name, rows, None, False, method))
        return _finish(run, plan, query, method, sink, rows, [])
    finally:
        sink.close()
