"""Bulk API 2.0 ingest jobs: the state machine on the emulator clock and the processing of
their rows through the store's write rules (split from ``bulk_jobs``, which keeps the registry,
the shared timing constants and the query jobs).

``Open`` → (upload) → ``UploadComplete`` when closed → ``InProgress`` after
:data:`~sfexit_emulator.bulk_jobs.START_DELAY` → ``JobComplete`` (or ``Failed``). The rows are
applied to the org, each through the store's write rules, by the first request that sees the
job past its completion time (:func:`settle`); every row fails or succeeds on its own.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
import threading
import traceback
from typing import TYPE_CHECKING, Any

from sfexit_emulator.bulk_csv import (DELIMITERS, NULL_MARKER, parse_upload, quoted,
                                      result_header)
from sfexit_emulator.bulk_jobs import (INGEST_ROWS_PER_SECOND, START_DELAY, api_version_number,
                                       run_seconds, stamp, registry)
from sfexit_emulator.ids import normalize_id

if TYPE_CHECKING:
    from sfexit_emulator.server import EmulatorApp

INGEST_OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")

@dataclasses.dataclass
class RowOutcome:
    record_id: str
    created: bool
    error: str | None
    values: list[str]


@dataclasses.dataclass
class IngestJob:
    id: str
    operation: str
    object: str
    created_by: str
    created_at: float
    api_version: str
    line_ending: str
    column_delimiter: str
    external_id_field: str | None = None
    assignment_rule_id: str | None = None
    content_type: str = "CSV"
    upload: bytes | None = None
    closed_at: float | None = None
    aborted_at: float | None = None
    expected_rows: int = 0
    processed: bool = False
    error_message: str | None = None
    header: list[str] = dataclasses.field(default_factory=list)
    outcomes: list[RowOutcome] = dataclasses.field(default_factory=list)
    unprocessed: list[list[str]] = dataclasses.field(default_factory=list)
    lock: threading.Lock = dataclasses.field(default_factory=threading.Lock, repr=False)

    @property
    def in_progress_at(self) -> float | None:
        return None if self.closed_at is None else self.closed_at + START_DELAY

    @property
    def complete_at(self) -> float | None:
        start = self.in_progress_at
        return None if start is None else start + run_seconds(self.expected_rows,
                                                               INGEST_ROWS_PER_SECOND)

    def state(self, now: float) -> str:
        if self.aborted_at is not None:
            return "Aborted"
        if self.closed_at is None:
            return "Open"
        assert self.in_progress_at is not None and self.complete_at is not None
        if now < self.in_progress_at:
            return "UploadComplete"
        if now < self.complete_at:
            return "InProgress"
        return "Failed" if self.error_message is not None else "JobComplete"

    def due(self, now: float) -> bool:
        """Past its completion time and not processed yet (nor aborted)."""
        return (not self.processed and self.aborted_at is None and self.complete_at is not None
                and now >= self.complete_at)

    def modstamp(self, now: float) -> float:
        if self.aborted_at is not None:
            return self.aborted_at
        state = self.state(now)
        if state == "Open":
            return self.created_at
        assert self.closed_at is not None and self.in_progress_at is not None
        if state == "UploadComplete":
            return self.closed_at
        if state == "InProgress":
            return self.in_progress_at
        assert self.complete_at is not None
        return self.complete_at

    def content_url(self) -> str:
        # The create example writes "services/data/66.0/…" (no "v"), the job info example
        # "services/data/v66.0/…"; clients use it as is, jsforce not at all. We use the v form.
        return f"services/data/v{self.api_version}/jobs/ingest/{self.id}/batches"

    def _head(self, now: float) -> dict[str, Any]:
        info: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": self.created_by,
            "createdDate": stamp(self.created_at),
            "systemModstamp": stamp(self.modstamp(now)),
            "state": self.state(now),
        }
        if self.external_id_field:
            info["externalIdFieldName"] = self.external_id_field
        if self.assignment_rule_id:
            info["assignmentRuleId"] = self.assignment_rule_id
        info["concurrencyMode"] = "Parallel"
        info["contentType"] = self.content_type
        info["apiVersion"] = api_version_number(self.api_version)
        return info

    def create_info(self, now: float) -> dict[str, Any]:
        """Create answer (walkthrough Step 3/5): contentUrl, lineEnding, columnDelimiter."""
        info = self._head(now)
        info["contentUrl"] = self.content_url()
        info["lineEnding"] = self.line_ending
        info["columnDelimiter"] = self.column_delimiter
        return info

    def short_info(self, now: float) -> dict[str, Any]:
        """The PATCH answer (UploadComplete / Aborted examples): head fields only."""
        return self._head(now)

    def list_info(self, now: float) -> dict[str, Any]:
        info = self._head(now)
        info["jobType"] = "V2Ingest"
        if info["state"] == "Open":
            info["contentUrl"] = self.content_url()
        info["lineEnding"] = self.line_ending
        info["columnDelimiter"] = self.column_delimiter
        return info

    def full_info(self, now: float) -> dict[str, Any]:
        """``GET …/jobs/ingest/{id}`` (get_job_info example + Step 3 step 5)."""
        info = self.list_info(now)
        done = self.processed and info["state"] in ("JobComplete", "Failed")
        failed = sum(1 for o in self.outcomes if o.error is not None) if done else 0
        info["numberRecordsProcessed"] = len(self.outcomes) if done else 0
        info["numberRecordsFailed"] = failed
        info["retries"] = 0
        if done and self.complete_at is not None and self.in_progress_at is not None:
            total = int((self.complete_at - self.in_progress_at) * 1000)
            info["totalProcessingTime"] = total
            info["apiActiveProcessingTime"] = int(total * 0.9)
        else:
            info["totalProcessingTime"] = 0
            info["apiActiveProcessingTime"] = 0
        info["apexProcessingTime"] = 0
        if info["state"] == "Failed" and self.error_message is not None:
            info["errorMessage"] = self.error_message
        return info



# --- ingest processing ----------------------------------------------------------------------

def sf_error(code: str, message: str, fields: list[str] | None) -> str:
    """``<STATUSCODE>:<message>:<fields> --`` (errors.md §9, real captures):
    ``REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --`` and, without fields,
    ``INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--``."""
    if fields:
        return f"{code}:{message}:{','.join(fields)} --"
    return f"{code}:{message}:--"


def lock_error(record_id: str) -> str:
    # errors.md §6, captured: "unable to obtain exclusive access to this record or <n> records: <id>"
    return sf_error("UNABLE_TO_LOCK_ROW",
                    f"unable to obtain exclusive access to this record or 1 records: {record_id}",
                    None)


def settle(app: EmulatorApp) -> bool:
    """Process every ingest job past its completion time; True if any record may have changed."""
    now = app.clock.timestamp()
    wrote = False
    for job in registry(app).all_ingest():
        if job.due(now):
            wrote = process_ingest(app, job) or wrote
    return wrote


def process_ingest(app: EmulatorApp, job: IngestJob) -> bool:
    """Apply the job's rows to the org, one store call per row; failures stay per row.

    Runs under the job's lock and marks the job processed only at the end, so a concurrent
    request (whose :func:`settle` waits on that lock) never sees half the outcomes."""
    with job.lock:
        if job.processed:
            return False
        try:
            return _process(app, job)
        except Exception as exc:  # a bug or an org error no row rule covers: fail the job
            traceback.print_exc(file=sys.stderr)
            job.error_message = f"Unknown : {type(exc).__name__}: {exc}"  # UNCONF text
            return any(o.error is None for o in job.outcomes)
        finally:
            job.processed = True


def _process(app: EmulatorApp, job: IngestJob) -> bool:
    data = job.upload or b""
    try:
        header, rows = parse_upload(data, DELIMITERS[job.column_delimiter])
    except (ValueError, UnicodeDecodeError) as exc:
        # UNCONF text; Bulk 1.0 answered unparsable CSV with "InvalidBatch : …".
        job.error_message = f"InvalidBatch : Failed to parse CSV. {exc}"
        return False
    job.header = header
    problem = _header_problem(app, job, header)
    if problem is not None:
        job.error_message = problem
        job.unprocessed = rows
        return False
    when = (dt.datetime.fromtimestamp(job.in_progress_at, tz=dt.timezone.utc)
            if job.in_progress_at is not None else app.clock.now())
    job.outcomes = []
    for row in rows:
        job.outcomes.append(_apply_row(app, job, header, row, when))
    return any(o.error is None for o in job.outcomes)


def _header_problem(app: EmulatorApp, job: IngestJob, header: list[str]) -> str | None:
    """Bulk fails the whole job for a column that is not a field (Bulk 1.0 text
    ``InvalidBatch : Field name not found : <col>``; the 2.0 text is UNCONF)."""
    if not header:
        return None
    obj = app.store.schema.get(job.object)
    if obj is None:
        return f"InvalidBatch : Unable to find object: {job.object}"
    for column in header:
        name = column.strip()
        if name.lower() == "id":
            continue
        if obj.field(name) is None:
            return f"InvalidBatch : Field name not found : {name}"
    return None


def _first_id(values: list[str]) -> str:
    for value in values:
        norm = normalize_id(value) if value else None
        if norm is not None:
            return norm
    return ""


def _apply_row(app: EmulatorApp, job: IngestJob, header: list[str], row: list[str],
               when: dt.datetime) -> RowOutcome:
    from sfexit_emulator.store_fault import SalesforceFault

    record_id = ""
    values: dict[str, Any] = {}
    for column, raw in zip(header, row):
        name = column.strip()
        if name.lower() == "id":
            record_id = raw.strip()
            continue
        if raw == "":
            continue            # empty fields are ignored (Prepare CSV Files)
        values[name] = None if raw == NULL_MARKER else raw
    norm_id = normalize_id(record_id) if record_id else None
    if app.faults.roll("lock_row_rate"):
        app.stats.count_fault("lock_row")
        target = norm_id or _first_id(row) or job.object
        return RowOutcome(norm_id or "", False, lock_error(target), row)
    store = app.store
    user = job.created_by
    op = job.operation
    try:
        if op == "insert":
            new_id = store.create(job.object, values, as_user=user, now=when)
            return RowOutcome(new_id, True, None, row)
        if op in ("update", "delete", "hardDelete") and not record_id:
            # SOAP/Bulk text for a row without Id (UNCONF for Bulk 2.0).
            return RowOutcome("", False, sf_error("MISSING_ARGUMENT",
                                                  f"Id not specified in an {op} call", None), row)
        if op == "update":
            store.update(job.object, record_id, values, as_user=user, now=when)
            return RowOutcome(norm_id or record_id, False, None, row)
        if op in ("delete", "hardDelete"):
            # hardDelete: the store has no hard delete; rows go to the recycle bin (IsDeleted).
            store.delete(job.object, record_id, as_user=user, now=when)
            return RowOutcome(norm_id or record_id, False, None, row)
        # upsert
        found = _upsert_target(app, job, record_id, values, when)
        if found is None:
            new_id = store.create(job.object, values, as_user=user, now=when)
            return RowOutcome(new_id, True, None, row)
        update_values = {k: v for k, v in values.items() if k != job.external_id_field}
        store.update(job.object, found, update_values, as_user=user, now=when)
        return RowOutcome(found, False, None, row)
    except SalesforceFault as exc:
        code, message = exc.error_code, exc.message
        if exc.status == 404 and code == "NOT_FOUND":
            # REST's 404 for an unknown id; a Bulk/SOAP row answers this capture instead
            # (errors.md §9: "INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--").
            code, message = "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id"
        fields = list(exc.fields) if exc.fields else None
        return RowOutcome(norm_id or "", False, sf_error(code, message, fields), row)


def _upsert_target(app: EmulatorApp, job: IngestJob, record_id: str, values: dict[str, Any],
                   when: dt.datetime) -> str | None:
    """The Id of the record an upsert row matches, or None to insert."""
    ext = job.external_id_field or "Id"
    if ext.lower() == "id":
        return normalize_id(record_id) if record_id else None
    value = values.get(ext)
    if value is None:
        return None
    from sfexit_emulator.store_fault import SalesforceFault

    literal = str(value).replace("\\", "\\\\").replace("'", "\\'")
    cursor = app.store.query(f"SELECT Id FROM {job.object} WHERE {ext} = '{literal}'", now=when,
                             user_id=job.created_by)
    try:
        ids = [row[0] for row in cursor.rows()]
    finally:
        close = getattr(cursor, "close", None)
        if callable(close):
            close()
    if len(ids) > 1:
        # REST answers HTTP 300 for a duplicate external id; Bulk's row text is UNCONF.
        raise SalesforceFault(300, "DUPLICATE_EXTERNAL_ID",
                              f"{ext}: more than one record found for external id field: {ids}",
                              [ext])
    return str(ids[0]) if ids else None


# --- ingest result files --------------------------------------------------------------------

def successful_csv(job: IngestJob) -> bytes:
    lines = [result_header(["sf__Id", "sf__Created"], job.header)]
    for o in job.outcomes:
        if o.error is None:
            lines.append(_line([o.record_id, "true" if o.created else "false"] + o.values))
    return "".join(lines).encode("utf-8")


def failed_csv(job: IngestJob) -> bytes:
    lines = [result_header(["sf__Id", "sf__Error"], job.header)]
    for o in job.outcomes:
        if o.error is not None:
            lines.append(_line([o.record_id, o.error] + o.values))
    return "".join(lines).encode("utf-8")


def unprocessed_csv(job: IngestJob) -> bytes:
    """Input columns only (get_job_unprocessed_results). For an aborted job, every row."""
    header = job.header
    rows = job.unprocessed
    if job.aborted_at is not None and not job.processed and job.upload:
        try:
            header, rows = parse_upload(job.upload, DELIMITERS[job.column_delimiter])
        except (ValueError, UnicodeDecodeError):
            header, rows = [], []
    lines = [result_header([], header)] if header else [""]
    for row in rows:
        lines.append(_line(row))
    return "".join(lines).encode("utf-8")


def _line(values: list[str]) -> str:
    return ",".join(quoted(v) for v in values) + "\n"
