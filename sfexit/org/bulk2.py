"""Bulk API 2.0 QUERY protocol: create a job, poll it, stream its result pages, abort/delete.

Policy (which objects, where the bytes go) lives in ``sfexit/export/bulk.py``; this module only
speaks the wire, over the one :class:`~sfexit.org.session.OrgSession` (retries, re-auth and the
read-only guard happen there). Ingest is ``sfexit/org/bulk2_ingest.py``; it reuses
:func:`wait_for_job`, :func:`poll_delays` and :class:`JobInfo` from here.

Wire facts (Bulk API 2.0 Developer Guide: query_create_job, query_get_one_job,
query_get_job_results, query_get_parallel_job_results, query_compression; export-protocol.md,
limits.md):
- ``POST …/jobs/query`` ``{"operation": "query"|"queryAll", "query", "contentType": "CSV",
  "columnDelimiter": "COMMA", "lineEnding": "LF"}`` → job info, state ``UploadComplete``;
- ``GET …/jobs/query/{id}``: ``UploadComplete`` → ``InProgress`` → ``JobComplete`` | ``Failed``
  | ``Aborted``; ``errorMessage`` on failure;
- ``GET …/jobs/query/{id}/results?locator=&maxRecords=``: CSV, every page starts with the header
  line; ``Sforce-Locator`` names the next page (the string ``null`` after the last one) and
  ``Sforce-NumberOfRecords`` the rows in this page. A locator stays valid while the job exists,
  so a page broken in transit is fetched again by the same locator;
- ``Accept-Encoding: gzip`` → gzip body (decompressed here while streaming);
- ``GET …/jobs/query/{id}/resultPages`` (v58.0+) lists up to 5 result URLs per call. The docs
  say ``resultPages[].resultUrl``; node-sf-bulk2 PR #35 reports ``resultChunks[].resultLink`` on
  a live org (limits.md, "disputed") — both shapes are read.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests
import urllib3

from sfexit import errors
from sfexit.org import answers
from sfexit.org.session import OrgSession

TERMINAL_STATES = frozenset({"JobComplete", "Failed", "Aborted"})
READ_SIZE = 1 << 20                 # 1 MiB reads from the socket (issue 12, "Performance")
DEFAULT_MAX_RECORDS = 50_000        # rows per result page; Salesforce documents no maximum
RESULT_PAGES_MIN_VERSION = (58, 0)
PAGE_ATTEMPTS = 5                   # tries per result page broken in transit

# Errors raised while reading a streamed body: the connection broke or the gzip was cut.
BODY_ERRORS: tuple[type[BaseException], ...] = (
    requests.exceptions.ChunkedEncodingError, requests.exceptions.ConnectionError,
    requests.exceptions.ContentDecodingError, requests.exceptions.Timeout, zlib.error,
    urllib3.exceptions.ProtocolError, urllib3.exceptions.ReadTimeoutError,
    urllib3.exceptions.DecodeError, urllib3.exceptions.SSLError)


@dataclass(frozen=True)
class JobInfo:
    """A Bulk 2.0 job as the org reports it (query or ingest).

    ``records_failed`` is ``numberRecordsFailed`` (ingest only; get_job_info); ``polls`` is how
    many status GETs :func:`wait_for_job` spent on the job (0 for a single read).
    """

    id: str
    state: str
    object: str = ""
    operation: str = ""
    api_version: str = ""
    records_processed: int = 0
    error_message: str | None = None
    records_failed: int = 0
    polls: int = 0

    @classmethod
    def from_json(cls, body: dict[str, Any]) -> JobInfo:
        """Raises ServerAnswerError (``answers.py``) for a missing id or state, or a count that
        is not a number."""
        return cls(id=answers.member(body, "id", str), state=answers.member(body, "state", str),
                   object=str(body.get("object") or ""),
                   operation=str(body.get("operation") or ""),
                   api_version=str(body.get("apiVersion") or ""),
                   records_processed=answers.integer(body, "numberRecordsProcessed", 0),
                   error_message=body.get("errorMessage") or None,
                   records_failed=answers.integer(body, "numberRecordsFailed", 0))

    @classmethod
    def from_answer(cls, response: requests.Response) -> JobInfo:
        return cls.from_json(answers.json_body(response, dict))


@dataclass(frozen=True)
class ResultPage:
    """One page of results: its locator (``None`` for the first), rows (``Sforce-NumberOfRecords``;
    None when the header is missing), and the next locator."""

    locator: str | None
    records: int | None
    next_locator: str | None


class JobFailed(errors.SfexitError):
    """The org ended the job in ``Failed`` or ``Aborted``; ``errorMessage`` is in the text."""

    name = "BulkJobFailed"


class JobTimeout(errors.SfexitError):
    name = "BulkJobTimeout"


# --- polling (shared with ingest) ------------------------------------------------------------

def poll_delays(first: float = 0.5, factor: float = 1.5, ceiling: float = 15.0
                ) -> Iterator[float]:
    """0.5, 0.75, 1.1, … seconds, capped: quick for small jobs, gentle on long ones."""
    delay = first
    while True:
        yield delay
        delay = min(ceiling, delay * factor)


def wait_for_job(session: OrgSession, job_id: str, *, kind: str = "query",
                 sleep: Callable[[float], object] = time.sleep,
                 clock: Callable[[], float] | None = None, timeout: float = 6 * 3600.0,
                 on_poll: Callable[[JobInfo], None] | None = None,
                 delays: Iterable[float] | None = None, initial_delay: float = 0.0,
                 raise_on_failure: bool = True) -> JobInfo:
    """Poll ``jobs/<kind>/<id>`` until a terminal state; return the final info with ``polls``.

    The one Bulk poll loop (query export and ingest both use it). ``initial_delay`` is waited
    before the first status read (a job just closed is never done yet: one call saved);
    between reads the waits come from ``delays`` (default :func:`poll_delays`; a finite
    schedule repeats its last value). ``sleep`` and ``clock`` are injected so tests move the
    emulator clock instead of waiting; without ``clock`` the elapsed time is the sum of the
    waits. ``kind`` is "query" or "ingest". With ``raise_on_failure=False`` a ``Failed`` or
    ``Aborted`` job is returned, not raised: ingest reads ``failedResults`` of a failed job
    that processed rows (get_job_info: numberRecordsProcessed/numberRecordsFailed).
    Raises JobFailed (Failed/Aborted, unless told not to), JobTimeout, and the session's errors.
    """
    started = clock() if clock else 0.0
    waited, polls = 0.0, 0
    if initial_delay > 0:
        sleep(initial_delay)
        waited += initial_delay
    for delay in _repeat_last(poll_delays() if delays is None else delays):
        info = get_job(session, job_id, kind=kind)
        polls += 1
        if on_poll:
            on_poll(info)
        if info.state in TERMINAL_STATES:
            if info.state != "JobComplete" and raise_on_failure:
                raise JobFailed(f"Bulk job {job_id} ended {info.state}: "
                                f"{info.error_message or 'no message from Salesforce'}")
            return replace(info, polls=polls)
        elapsed = (clock() - started) if clock else waited
        if elapsed + delay > timeout:
            raise JobTimeout(f"Bulk job {job_id} still {info.state} after {elapsed:.0f} s",
                             hint="run the command again later; the job may finish in the org")
        sleep(delay)
        waited += delay
    raise AssertionError("unreachable")  # pragma: no cover


def _repeat_last(delays: Iterable[float]) -> Iterator[float]:
    """The schedule, then its last value forever (an empty one falls back to the default)."""
    last: float | None = None
    for last in delays:
        yield last
    if last is None:
        yield from poll_delays()
    while True:
        yield float(last or 0)


def get_job(session: OrgSession, job_id: str, *, kind: str = "query") -> JobInfo:
    return JobInfo.from_json(session.get_json(f"data/jobs/{kind}/{job_id}"))


# --- query jobs -------------------------------------------------------------------------------

def create_query_job(session: OrgSession, soql_text: str, *,
                     include_deleted: bool = False) -> JobInfo:
    """Create a query job (``queryAll`` with ``include_deleted``).

    Sent as idempotent: a duplicate query job only reads (it costs one of the 10,000 daily
    jobs), while a lost answer to a 503 would otherwise end the export. Raises SalesforceError
    with Salesforce's ``errorCode`` (INVALIDENTITY, API_ERROR, MALFORMED_QUERY, LIMIT_EXCEEDED).
    """
    body = {"operation": "queryAll" if include_deleted else "query", "query": soql_text,
            "contentType": "CSV", "columnDelimiter": "COMMA", "lineEnding": "LF"}
    response = session.request("POST", "data/jobs/query", json=body, idempotent=True)
    return JobInfo.from_answer(response)


def abort_query_job(session: OrgSession, job_id: str) -> JobInfo:
    response = session.request("PATCH", f"data/jobs/query/{job_id}",
                               json={"state": "Aborted"}, idempotent=True)
    return JobInfo.from_answer(response)


def delete_query_job(session: OrgSession, job_id: str) -> None:
    session.request("DELETE", f"data/jobs/query/{job_id}")


def open_result_page(session: OrgSession, job_id: str, locator: str | None, *,
                     max_records: int | None = DEFAULT_MAX_RECORDS, gzip: bool = True
                     ) -> tuple[ResultPage, requests.Response]:
    """Start one page: its metadata and the streaming response (the caller closes it)."""
    params: dict[str, Any] = {}
    if locator:
        params["locator"] = locator
    if max_records:
        params["maxRecords"] = int(max_records)
    headers = {"Accept-Encoding": "gzip" if gzip else "identity"}
    response = session.request("GET", f"data/jobs/query/{job_id}/results", params=params,
                               headers=headers, stream=True)
    following = response.headers.get("Sforce-Locator")
    count = response.headers.get("Sforce-NumberOfRecords")
    page = ResultPage(locator=locator,
                      records=int(count) if count and count.strip().isdigit() else None,
                      next_locator=None if following in (None, "", "null") else following)
    return page, response


def page_chunks(response: requests.Response, read_size: int = READ_SIZE) -> Iterator[bytes]:
    """The body as sent (gzip undone), in pieces of at most ``read_size`` bytes.

    The gzip is undone here rather than by urllib3: its decoder turns one 1 MiB compressed read
    into one buffer of ~5–8 MiB of CSV, per thread; bounding each output piece keeps memory
    flat however well the page compresses (issue 12, "Peak RSS"). A body cut short raises one
    of :data:`BODY_ERRORS`.
    """
    gzipped = "gzip" in response.headers.get("Content-Encoding", "").lower()
    inflate = zlib.decompressobj(16 + zlib.MAX_WBITS) if gzipped else None
    try:
        for raw in response.raw.stream(read_size if inflate is None else read_size // 4,
                                       decode_content=False):
            if inflate is None:
                yield raw
                continue
            data = inflate.decompress(raw, read_size)
            while True:
                if data:
                    yield data
                if not inflate.unconsumed_tail:
                    break
                data = inflate.decompress(inflate.unconsumed_tail, read_size)
        if inflate is not None:
            rest = inflate.flush()
            if rest:
                yield rest
            if not inflate.eof:
                raise zlib.error("gzip body ended before its end marker")
    finally:
        response.close()


def iter_result_pages(session: OrgSession, job_id: str, *,
                      max_records: int | None = DEFAULT_MAX_RECORDS, gzip: bool = True,
                      read_size: int = READ_SIZE
                      ) -> Iterator[tuple[ResultPage, Iterator[bytes]]]:
    """Each page with its body chunks, following ``Sforce-Locator`` until ``null``.

    The chunks of one page must be consumed before asking for the next page. A consumer that
    sees a body error (:data:`BODY_ERRORS`) may fetch the same page again with
    :func:`open_result_page` and the page's locator.
    """
    locator: str | None = None
    while True:
        page, response = open_result_page(session, job_id, locator, max_records=max_records,
                                          gzip=gzip)
        yield page, page_chunks(response, read_size)
        if page.next_locator is None:
            return
        locator = page.next_locator


def result_page_urls(session: OrgSession, job_id: str) -> list[str] | None:
    """Every result URL from ``resultPages`` (v58.0+), or None where the org has no such
    resource (older version, or 404). Reads both disputed shapes (module docstring)."""
    major, _, minor = session.api_version.partition(".")
    if (int(major), int(minor or 0)) < RESULT_PAGES_MIN_VERSION:
        return None
    urls: list[str] = []
    path: str | None = f"data/jobs/query/{job_id}/resultPages"
    while path:
        try:
            body = session.get_json(path)
        except errors.SalesforceError as exc:
            if exc.status == 404:
                return None
            raise
        entries = body.get("resultPages") or body.get("resultChunks") or []
        for entry in answers.checked(entries, list, body, "resultPages"):
            entry = answers.checked(entry, dict, body, "a result page")
            url = entry.get("resultUrl") or entry.get("resultLink")
            if url:
                urls.append(str(url))
        next_url = body.get("nextRecordsUrl")
        path = None if body.get("done", True) or not next_url else str(next_url)
    return urls


def locator_of(result_url: str) -> str | None:
    """The ``locator`` parameter of a result URL from ``resultPages`` (None: the first page)."""
    values = parse_qs(urlsplit(result_url).query).get("locator")
    return values[0] if values else None
