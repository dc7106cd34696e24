"""Bulk API 2.0 ingest (and the one small query job the reassignment snapshot needs).

The protocol (users-protocol.md §5(b); Bulk API 2.0 Developer Guide: create_job,
upload_job_data, close_job, get_job_info, get_job_successful/failed/unprocessed_results):

1. ``POST jobs/ingest`` ``{"object", "operation", "contentType": "CSV", "lineEnding": "LF"}`` —
   NOT idempotent: a blind retry could leave a second open job, so it is sent once.
2. ``PUT jobs/ingest/{id}/batches`` (``text/csv``) — the same bytes again are harmless (a second
   upload is refused, never applied twice), so a PUT of in-memory bytes is retried. At most
   150 MB after base64, so we keep ≤ 100 MB raw per job and split above (upload_job_data).
3. ``PATCH jobs/ingest/{id}`` ``{"state": "UploadComplete"}`` — required, or processing never
   starts (close_job; sfdx-hardis #253).
4. ``GET jobs/ingest/{id}`` until JobComplete / Failed / Aborted, with a growing interval so a
   100,000-row job needs only a few polls (issue 13: at most 10) — through the one poll loop,
   ``bulk2.wait_for_job``, with this module's :class:`PollSchedule`.
5. ``failedResults/`` (``"sf__Id","sf__Error",<input>``), ``unprocessedrecords/`` (input
   columns) and ``successfulResults/`` (``"sf__Id","sf__Created",<input>``), read only when the
   job info says there is something to read — each GET is one API call.

Everything goes through the one :class:`OrgSession` (retries, re-auth, read-only guard).
Raw JSON and CSV stay in this module; callers get frozen dataclasses and plain row dicts.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sfexit import errors
from sfexit.org import bulk2
from sfexit.org.bulk2 import JobInfo
from sfexit.org.session import OrgSession

# "You can upload up to 150 MB per job (after base64 encoding)": 150 / (4/3) ≈ 112 MB raw;
# 100 MB leaves room (upload_job_data.htm, users-protocol.md §5(b)).
MAX_UPLOAD_BYTES = 100 * 1024 * 1024
# A Bulk query result page as large as we dare: two short columns make ~40 bytes a row, so
# 250,000 rows is ~10 MB; fewer pages = fewer API calls (query_get_job_results, maxRecords).
QUERY_PAGE_ROWS = 250_000


@dataclass(frozen=True)
class PollSchedule:
    """Wait ``first`` seconds, then grow by ``factor`` up to ``cap``; give up after ``timeout``.

    2, 4, 8, 16, 32, 60, 60… covers ~6 minutes in 10 polls: a 100,000-row owner update that
    Salesforce finishes in a few minutes needs fewer than 10 status calls (issue 13).
    """

    first: float = 2.0
    factor: float = 2.0
    cap: float = 60.0
    timeout: float = 4 * 3600.0

    def intervals(self) -> Iterator[float]:
        wait = self.first
        while True:
            yield wait
            wait = min(self.cap, wait * self.factor)


@dataclass(frozen=True)
class IngestOutcome:
    """One finished ingest job: its info and the rows Salesforce reported on."""

    job: JobInfo
    failed: tuple[dict[str, str], ...]        # sf__Id, sf__Error, input columns
    unprocessed: tuple[dict[str, str], ...]   # input columns
    rows_sent: int


def csv_bytes(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> bytes:
    """LF-terminated CSV with a header; ``None`` → empty (Bulk ignores empty fields)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else str(row.get(c)) for c in columns])
    return buffer.getvalue().encode("utf-8")


def split_csv(columns: Sequence[str], rows: Iterable[Mapping[str, Any]],
              max_bytes: int = MAX_UPLOAD_BYTES) -> Iterator[tuple[bytes, int]]:
    """(CSV bytes, row count) chunks, each with the header and at most ``max_bytes`` long."""
    header = csv_bytes(columns, [])
    parts: list[bytes] = [header]
    size, count = len(header), 0
    for row in rows:
        line = csv_bytes(columns, [row])[len(header):]
        if len(header) + len(line) > max_bytes:
            raise errors.UsageError(f"one CSV row is longer than {max_bytes} bytes")
        if size + len(line) > max_bytes:
            yield b"".join(parts), count
            parts, size, count = [header], len(header), 0
        parts.append(line)
        size += len(line)
        count += 1
    if count:
        yield b"".join(parts), count


def parse_csv(data: bytes) -> list[dict[str, str]]:
    text = data.decode("utf-8-sig")
    return [dict(row) for row in csv.DictReader(io.StringIO(text, newline=""))]


class Bulk2Ingest:
    """Bulk API 2.0 jobs over one session. ``sleep`` and ``clock`` are injected (tests move the
    emulator clock instead of waiting); ``on_poll(info)`` sees every status read."""

    def __init__(self, session: OrgSession, *, sleep: Callable[[float], object] = time.sleep,
                 clock: Callable[[], float] = time.monotonic,
                 schedule: PollSchedule = PollSchedule(),
                 on_poll: Callable[[JobInfo], None] | None = None) -> None:
        self.session = session
        self.sleep = sleep
        self.clock = clock
        self.schedule = schedule
        self.on_poll = on_poll or (lambda _info: None)
        self.polls = 0

    # --- ingest --------------------------------------------------------------------------------

    def create_job(self, sobject: str, operation: str = "update") -> JobInfo:
        body = {"object": sobject, "operation": operation, "contentType": "CSV",
                "lineEnding": "LF"}
        answer = self.session.request("POST", "data/jobs/ingest", json=body, idempotent=False)
        return JobInfo.from_answer(answer)

    def upload(self, job_id: str, data: bytes | Path | Iterable[bytes]) -> None:
        """PUT the job's CSV. Bytes and files are retried; a generator is sent once (it
        cannot be replayed)."""
        idempotent = True
        if isinstance(data, Path):
            if data.stat().st_size > MAX_UPLOAD_BYTES:
                raise errors.UsageError(f"{data} is over {MAX_UPLOAD_BYTES} bytes; split it")
            data = data.read_bytes()
        elif not isinstance(data, bytes):
            idempotent = False
        elif len(data) > MAX_UPLOAD_BYTES:
            raise errors.UsageError(f"a job's CSV is over {MAX_UPLOAD_BYTES} bytes; split it")
        self.session.request("PUT", f"data/jobs/ingest/{job_id}/batches", data=data,
                             headers={"Content-Type": "text/csv"}, idempotent=idempotent)

    def close(self, job_id: str) -> JobInfo:
        # Not retried: a second UploadComplete is refused (INVALIDJOBSTATE) once the first
        # one landed, so a retry after a lost answer would report a false error.
        answer = self.session.request("PATCH", f"data/jobs/ingest/{job_id}",
                                      json={"state": "UploadComplete"}, idempotent=False)
        return JobInfo.from_answer(answer)

    def abort(self, job_id: str, kind: str = "ingest") -> JobInfo:
        answer = self.session.request("PATCH", f"data/jobs/{kind}/{job_id}",
                                      json={"state": "Aborted"}, idempotent=False)
        return JobInfo.from_answer(answer)

    def info(self, job_id: str, kind: str = "ingest") -> JobInfo:
        return bulk2.get_job(self.session, job_id, kind=kind)

    def wait(self, job_id: str, kind: str = "ingest") -> JobInfo:
        """Poll until the job is terminal, on :attr:`schedule` (first wait before the first
        read: a job just closed is never done). A ``Failed``/``Aborted`` job is returned, not
        raised (its failedResults may hold rows). Raises bulk2.JobTimeout after the schedule's
        timeout (the job is left running; its id is in the message)."""
        intervals = self.schedule.intervals()
        first = next(intervals)
        done = bulk2.wait_for_job(self.session, job_id, kind=kind, sleep=self.sleep,
                                  clock=self.clock, timeout=self.schedule.timeout,
                                  on_poll=self.on_poll, delays=intervals, initial_delay=first,
                                  raise_on_failure=False)
        self.polls += done.polls
        return done

    def results(self, job_id: str, which: str) -> list[dict[str, str]]:
        """``successfulResults``, ``failedResults`` or ``unprocessedrecords`` as row dicts."""
        if which not in ("successfulResults", "failedResults", "unprocessedrecords"):
            raise ValueError(f"unknown result set {which!r}")
        answer = self.session.request("GET", f"data/jobs/ingest/{job_id}/{which}/",
                                      headers={"Accept": "text/csv"})
        return parse_csv(answer.content)

    def run(self, sobject: str, data: bytes, rows: int, operation: str = "update"
            ) -> IngestOutcome:
        """One whole job: create, upload, close, wait, then read failures if there are any.

        A failure after the create aborts the job (best effort) before re-raising, so no
        open job is left behind."""
        job = self.create_job(sobject, operation)
        try:
            self.upload(job.id, data)
            self.close(job.id)
        except BaseException:
            try:
                self.abort(job.id)
            except errors.SfexitError:
                pass
            raise
        done = self.wait(job.id)
        if done.state == "Failed" and not done.records_processed:
            raise errors.SalesforceError(
                f"Bulk job {done.id} on {sobject} failed: {done.error_message or 'no reason given'}",
                error_code="BULK_JOB_FAILED")
        failed = self.results(done.id, "failedResults") if done.records_failed else []
        unprocessed: list[dict[str, str]] = []
        if done.records_processed < rows:
            unprocessed = self.results(done.id, "unprocessedrecords")
        return IngestOutcome(done, tuple(failed), tuple(unprocessed), rows)

    # --- the snapshot query --------------------------------------------------------------------

    def query_csv(self, soql_text: str) -> Iterator[dict[str, str]]:
        """Rows of a Bulk 2.0 query job: ``bulk2.create_query_job``, this class's poll schedule
        (fewer status calls than ``bulk2.wait_for_job``'s quick 0.5 s start), then the pages of
        ``bulk2.iter_result_pages``, as large as :data:`QUERY_PAGE_ROWS`. A read: allowed in a
        read-only session."""
        job = bulk2.create_query_job(self.session, soql_text)
        done = self.wait(job.id, "query")
        if done.state != "JobComplete":
            raise bulk2.JobFailed(f"Bulk query job {done.id} ended {done.state}: "
                                  f"{done.error_message or 'no message from Salesforce'}")
        for _page, chunks in bulk2.iter_result_pages(self.session, done.id,
                                                     max_records=QUERY_PAGE_ROWS):
            yield from parse_csv(b"".join(chunks))


def split_sf_error(text: str) -> tuple[str, str]:
    """``UNABLE_TO_LOCK_ROW:unable to obtain…:--`` → (code, message) (errors.md §9)."""
    code, _, rest = text.partition(":")
    message = rest
    for tail in (":--", " --"):
        if message.endswith(tail):
            message = message[: -len(tail)]
    if ":" in message and message.rsplit(":", 1)[1].replace(",", "").replace("_", "").isalnum():
        message = message.rsplit(":", 1)[0]  # drop the trailing field list
    return code.strip(), message.strip()
