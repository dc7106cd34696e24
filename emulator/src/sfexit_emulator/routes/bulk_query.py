"""Bulk API 2.0 query jobs: ``…/jobs/query`` create, list, get, abort, delete, ``results`` and
``resultPages``.

Facts (Bulk API 2.0 Developer Guide, v66 text: query_create_job, query_get_one_job,
query_get_job_results, query_get_parallel_job_results, query_abort_job, query_delete_job,
query_get_all_jobs; real-clients-wire.md "Bulk API 2.0"; limits.md; errors.md §9):
- create answers 200 with the job in ``UploadComplete``; contentType/columnDelimiter/lineEnding
  default to CSV/COMMA/LF (jsforce sends none of them, sf only ``lineEnding``);
- Bulk refuses GROUP BY, OFFSET, aggregates, compound fields, base64 fields and objects it does
  not support, at create time (``store.bulk_refusal``: INVALIDENTITY / API_ERROR);
- ``results``: CSV, every page starts with the header line, ``Sforce-Locator`` on every page
  (the string ``null`` on the last: jsforce and sf loop forever without it),
  ``Sforce-NumberOfRecords``; a locator stays valid while the job exists, so a page can be
  fetched again; results asked with another API version than the job's answer 409;
- ``numberRecordsProcessed`` equals the rows served (sf closes its JSON array on it);
- ``resultPages`` (v58.0+): ``{"resultPages":[{"resultUrl":…}…],"nextRecordsUrl":…,"done":…}``,
  at most 5 URLs per call. DISPUTED (limits.md): node-sf-bulk2 PR #35 says the live API answers
  ``resultChunks[].resultLink``; the official docs say ``resultPages[].resultUrl``. We follow the
  docs until a real org is checked;
- abort only from UploadComplete/InProgress, else 400 INVALIDJOBSTATE ``Aborting already
  Completed Job not allowed``; delete only when JobComplete/Aborted/Failed, else 400 API_ERROR
  ``Error encountered when deleting the job because the job is not terminated``; unknown job
  404 NOT_FOUND;
- limits: DailyBulkV2QueryJobs is spent on create, DailyBulkV2QueryFileStorageMB by the result
  size; once spent, 400 LIMIT_EXCEEDED (errors.md §9 texts).

Choices marked UNCONF in the code: the default page size without ``maxRecords``, the 409 body,
the 412 answer for results of an unfinished job, the texts for bad enum values, a bad locator or
maxRecords, and ``nextRecordsUrl`` being null when done.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from typing import Any

from sfexit_emulator import bulk_jobs, costs
from sfexit_emulator.bulk_csv import DELIMITERS, LINE_ENDINGS
from sfexit_emulator.bulk_jobs import QueryJob, decode_locator, encode_locator, registry
from sfexit_emulator.ingest_jobs import settle
from sfexit_emulator.http import (NOT_FOUND_MESSAGE, Call, HttpError, Response, Router,
                                  empty_response, json_response)

# UNCONF: "If you don't provide a value for this parameter, the server uses a default value
# based on the service." simple-salesforce always asks 50,000; we use that as the default.
DEFAULT_PAGE_ROWS = 50_000
RESULT_PAGES_PER_CALL = 5        # "Returns up to five URIs in one response"
LIST_PAGE_SIZE = 1000            # "This method returns up to 1,000 result rows per request"
RESULT_PAGES_MIN_VERSION = 58.0
# "Content-Type: text/csv; charset=UTF-8" (compression examples of the guide).
CSV_TYPE = "text/csv; charset=UTF-8"
JOBS_QUERY_LIMIT_MAX = 10_000
_LIST_LOCATOR_RE = re.compile(r"01g[0-9A-Za-z]{15}-(?P<offset>\d+)\Z")
_LIST_LOCATOR_ID = "01gR0000000opRTIAY"   # fixed cursor id; the offset follows the dash


def _enum_error(name: str, value: Any) -> HttpError:
    # UNCONF: Salesforce's JSON binding error for an unknown enum value.
    return HttpError(400, "JSON_PARSER_ERROR",
                     f"Cannot deserialize instance of {name} from VALUE_STRING value {value} or "
                     "request may be missing a required field at [line:1, column:1]")


def _body(call: Call) -> dict[str, Any]:
    body = call.request.json()
    if not isinstance(body, dict):
        raise HttpError(400, "JSON_PARSER_ERROR",
                        "Cannot deserialize instance of job from the request body")
    return body


def job_options(body: dict[str, Any]) -> tuple[str, str, str]:
    """(contentType, columnDelimiter, lineEnding) with Salesforce's defaults."""
    content_type = body.get("contentType") or "CSV"
    delimiter = body.get("columnDelimiter") or "COMMA"
    line_ending = body.get("lineEnding") or "LF"
    if content_type != "CSV":
        raise _enum_error("ContentType", content_type)
    if delimiter not in DELIMITERS:
        raise _enum_error("ColumnDelimiterEnum", delimiter)
    if line_ending not in LINE_ENDINGS:
        raise _enum_error("LineEndingEnum", line_ending)
    return content_type, delimiter, line_ending


def _settled(call: Call) -> bool:
    return settle(call.app)


def _job(call: Call) -> QueryJob:
    job = registry(call.app).query_job(call.params["id"])
    if job is None:
        raise HttpError(404, "NOT_FOUND", NOT_FOUND_MESSAGE)
    return job


# --- create / list ----------------------------------------------------------------------------

def create_job(call: Call) -> Response:
    from sfexit_emulator.routes import limits as limits_mod

    wrote = _settled(call)
    body = _body(call)
    operation = body.get("operation")
    if operation not in bulk_jobs.QUERY_OPERATIONS:
        raise _enum_error("OperationEnum", operation)
    soql = body.get("query")
    if not isinstance(soql, str) or not soql.strip():
        # UNCONF text.
        raise HttpError(400, "API_ERROR", "Query is required")
    _, delimiter, line_ending = job_options(body)
    app = call.app
    now = app.clock.now()
    refusal = app.store.bulk_refusal(soql, now=now)
    if refusal is not None:
        raise refusal
    assert call.session is not None
    cursor = app.store.query(soql, include_deleted=operation == "queryAll", now=now,
                             user_id=call.session.user_id)
    try:
        entity, rows = str(cursor.entity), int(cursor.total_size)
    finally:
        close = getattr(cursor, "close", None)
        if callable(close):
            close()
    used = limits_mod.spent(app)
    if used.used("DailyBulkV2QueryFileStorageMB") >= limits_mod.STATIC_MAX[
            "DailyBulkV2QueryFileStorageMB"]:
        raise HttpError(400, "LIMIT_EXCEEDED", bulk_jobs.STORAGE_EXCEEDED)
    if not limits_mod.spend(app, "DailyBulkV2QueryJobs", 1):
        maximum = limits_mod.STATIC_MAX["DailyBulkV2QueryJobs"]
        raise HttpError(400, "LIMIT_EXCEEDED",
                        f"Max bulk v2 query jobs ({maximum}) per 24 hrs has been reached "
                        f"({used.used('DailyBulkV2QueryJobs') + 1})")
    reg = registry(app)
    job = QueryJob(id=reg.new_id(), operation=operation, object=entity, soql=soql,
                   created_by=call.session.user_id, created_at=app.clock.timestamp(),
                   api_version=call.version, line_ending=line_ending,
                   column_delimiter=delimiter, expected_rows=rows)
    model = costs.active(app)
    if model is not None:
        job.queued_seconds = model.bulk_queue_seconds()
        job.bytes_per_second = model.bulk_bytes_per_second
        bulk_jobs.start_writing(app, job)
    reg.add_query(job)
    # Creating a query job is not a write (issue 10, stats).
    return json_response(job.create_info(job.created_at), is_write=wrote)


def list_page(call: Call, records: list[dict[str, Any]], path: str) -> dict[str, Any]:
    """``{"done","records","nextRecordsUrl"}``, 1000 per page, ``?queryLocator=01g…-<offset>``."""
    start = 0
    locator = call.request.arg("queryLocator")
    if locator:
        found = _LIST_LOCATOR_RE.match(locator)
        if found is None:
            raise HttpError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")  # UNCONF
        start = int(found.group("offset"))
    page = records[start:start + LIST_PAGE_SIZE]
    end = start + len(page)
    done = end >= len(records)
    next_url = None if done else (f"/services/data/v{call.version}/{path}"
                                  f"?queryLocator={_LIST_LOCATOR_ID}-{end}")
    # UNCONF: nextRecordsUrl is null when done ("This parameter is null if there are no more").
    return {"done": done, "records": page, "nextRecordsUrl": next_url}


def list_jobs(call: Call) -> Response:
    wrote = _settled(call)
    now = call.app.clock.timestamp()
    job_type = call.request.arg("jobType")
    jobs = registry(call.app).all_query()
    records = [] if job_type not in (None, "", "V2Query") else [j.list_info(now) for j in jobs]
    return json_response(list_page(call, records, "jobs/query"), is_write=wrote)


# --- one job ----------------------------------------------------------------------------------

def get_job(call: Call) -> Response:
    wrote = _settled(call)
    job = _job(call)
    now = call.app.clock.timestamp()
    bulk_jobs.ensure_result(call.app, job, now)
    return json_response(job.full_info(now), is_write=wrote)


def patch_job(call: Call) -> Response:
    _settled(call)
    job = _job(call)
    body = _body(call)
    state = body.get("state")
    now = call.app.clock.timestamp()
    if state != "Aborted":
        # UNCONF: a query job only accepts Aborted.
        raise HttpError(400, "INVALIDJOBSTATE", f"Changing state to {state} is not allowed")
    with job.lock:
        if job.state(now) not in ("UploadComplete", "InProgress"):
            raise HttpError(400, "INVALIDJOBSTATE", "Aborting already Completed Job not allowed")
        job.aborted_at = now
    return json_response(job.short_info(now), is_write=True)


def delete_job(call: Call) -> Response:
    _settled(call)
    job = _job(call)
    now = call.app.clock.timestamp()
    if job.state(now) not in ("JobComplete", "Aborted", "Failed"):
        raise HttpError(400, "API_ERROR",
                        "Error encountered when deleting the job because the job is not terminated")
    registry(call.app).delete_query(job.id)
    response = empty_response(204)
    response.is_write = True
    return response


# --- results ----------------------------------------------------------------------------------

def _check_version(call: Call, job: QueryJob) -> None:
    if call.version != job.api_version:
        # The docs give the status (409) only; code and text are UNCONF.
        raise HttpError(409, "API_ERROR",
                        f"The job was created with API version {job.api_version}; get its "
                        f"results with the same version (this request used {call.version})")


def _completed_result(call: Call, job: QueryJob) -> bulk_jobs.ResultFile:
    now = call.app.clock.timestamp()
    result = bulk_jobs.ensure_result(call.app, job, now)
    state = job.state(now)
    if state != "JobComplete" or result is None:
        # UNCONF: the API 47.0 docs answer an unfinished job with 412 JOB_NOT_COMPLETE and this
        # text; later docs no longer show the case.
        status = {"UploadComplete": "UPLOAD_COMPLETE", "InProgress": "IN_PROGRESS",
                  "Aborted": "ABORTED", "Failed": "FAILED"}.get(state, state.upper())
        raise HttpError(412, "JOB_NOT_COMPLETE",
                        "can only download query results of successfully completed bulk job "
                        f"with status: JOB_COMPLETE. Current status: {status}")
    return result


def _positive_int(call: Call, name: str) -> int | None:
    raw = call.request.arg(name)
    if raw is None or raw == "":
        return None
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value <= 0:
        raise HttpError(400, "API_ERROR", f"Invalid value for {name}: {raw}")  # UNCONF
    return value


def results(call: Call) -> Response:
    wrote = _settled(call)
    job = _job(call)
    _check_version(call, job)
    result = _completed_result(call, job)
    start = 0
    locator = call.request.arg("locator")
    if locator and locator != "null":
        decoded = decode_locator(locator)
        if decoded is None or decoded > result.rows:
            raise HttpError(400, "INVALID_LOCATOR", f"Invalid locator: {locator}")  # UNCONF
        start = decoded
    count = _positive_int(call, "maxRecords") or DEFAULT_PAGE_ROWS
    first, end, rows = result.byte_range(start, count)
    if rows and call.app.faults.roll("truncate_page_rate"):
        end = _truncated_end(call, result, start, rows, first, end)
    following = start + rows
    headers = [
        ("Sforce-Locator", encode_locator(following) if following < result.rows else "null"),
        ("Sforce-NumberOfRecords", str(rows)),
    ]
    accept = (call.request.headers.get("Accept-Encoding") or "").lower()
    if "gzip" in accept:
        # Compressed once per byte range and result (bulk_results.py), level 1: ~5x smaller.
        body = result.gzip_page(first, end)
        headers += [("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")]
        return _charged(call, Response(body=body, content_type=CSV_TYPE, headers=headers,
                                       is_write=wrote), len(result.header) + (end - first))
    length = len(result.header) + (end - first)
    stream: Iterator[bytes] = itertools.chain([result.header], result.chunks(first, end))
    response = Response(body=b"", content_type=CSV_TYPE, headers=headers, stream=stream,
                        content_length=length, is_write=wrote)
    return _charged(call, response, length)


def _charged(call: Call, response: Response, csv_bytes: int) -> Response:
    """With the cost model on, the page's server time is its CSV bytes (uncompressed) at the
    per-stream download rate (costs.py); waited by dispatch."""
    model = costs.active(call.app)
    if model is not None:
        response.server_seconds = model.download_seconds(csv_bytes)
    return response


def _truncated_end(call: Call, result: bulk_jobs.ResultFile, start: int, rows: int, first: int,
                   end: int) -> int:
    """The fault ``truncate_page_rate`` (faults.py): where the cut page ends. The headers
    (``Sforce-NumberOfRecords``, ``Sforce-Locator``) stay those of the whole page and the body's
    length matches the cut, as a proxy or server that lost the end of a page would send it."""
    faults = call.app.faults
    call.app.stats.count_fault("truncate_page")
    if faults.pick(2) == 0:
        return int(result.byte_range(start, faults.pick(rows))[1])  # whole rows missing
    return first + faults.cut_point(end - first)                    # anywhere inside the rows


def result_pages(call: Call) -> Response:
    wrote = _settled(call)
    if float(call.version) < RESULT_PAGES_MIN_VERSION:
        raise HttpError(404, "NOT_FOUND", NOT_FOUND_MESSAGE)
    job = _job(call)
    _check_version(call, job)
    result = _completed_result(call, job)
    start_page = 0
    locator = call.request.arg("locator")
    if locator:
        decoded = decode_locator(locator)
        if decoded is None:
            raise HttpError(400, "INVALID_LOCATOR", f"Invalid locator: {locator}")  # UNCONF
        start_page = decoded
    pages = max(1, -(-result.rows // DEFAULT_PAGE_ROWS))
    base = f"/services/data/v{call.version}/jobs/query/{job.id}"
    end_page = min(pages, start_page + RESULT_PAGES_PER_CALL)
    urls = [{"resultUrl": f"{base}/results?locator={encode_locator(p * DEFAULT_PAGE_ROWS)}"}
            for p in range(start_page, end_page)]
    done = end_page >= pages
    # The doc example's nextRecordsUrl is ".../resultpages?locator=…" (lower case); we serve both.
    next_url = None if done else f"{base}/resultpages?locator={encode_locator(end_page)}"
    return json_response({"resultPages": urls, "nextRecordsUrl": next_url, "done": done},
                         is_write=wrote)


def register(router: Router) -> None:
    router.add("bulk_query_jobs", r"/services/data/{v}/jobs/query/?", list_jobs, ("GET",))
    router.add("bulk_query_create", r"/services/data/{v}/jobs/query/?", create_job, ("POST",))
    router.add("bulk_query_results", r"/services/data/{v}/jobs/query/{id}/results/?", results)
    router.add("bulk_query_result_pages",
               r"/services/data/{v}/jobs/query/{id}/(?i:resultpages)/?", result_pages)
    router.add("bulk_query_job", r"/services/data/{v}/jobs/query/{id}/?", get_job, ("GET",))
    router.add("bulk_query_abort", r"/services/data/{v}/jobs/query/{id}/?", patch_job, ("PATCH",))
    router.add("bulk_query_delete", r"/services/data/{v}/jobs/query/{id}/?", delete_job,
               ("DELETE",))
