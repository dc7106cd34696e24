"""Bulk API 2.0 ingest jobs: ``…/jobs/ingest`` create, list, get, upload, close/abort, delete,
and the ``successfulResults`` / ``failedResults`` / ``unprocessedrecords`` CSVs.

Facts (Bulk API 2.0 Developer Guide, v66 text: Step 3 "Bulk Insert", create_job,
upload_job_data, close_job, get_job_info, get_job_successful/failed/unprocessed_results,
delete_job, abort_job, get_all_jobs; users-protocol.md §5(b); real-clients-wire.md):
- create: ``object`` and ``operation`` required; contentType CSV, columnDelimiter COMMA,
  lineEnding LF by default; ``externalIdFieldName`` for upsert; answer (200) in state ``Open``
  with ``contentUrl``;
- upload: ``PUT …/batches`` with ``Content-Type: text/csv``, answer 201 with no body. jsforce
  sends it ``Transfer-Encoding: chunked`` (the server decodes chunked bodies). At most 150 MB
  after base64. One upload per job: a second PUT is refused ("Found multiple contents for
  job", verified against a real org by a public project; the code and the tail of the text are
  UNCONF);
- ``PATCH {"state":"UploadComplete"}`` is required to start processing; ``{"state":"Aborted"}``
  aborts; both answer the short job info;
- results: ``"sf__Id","sf__Created",<input columns>`` and ``"sf__Id","sf__Error",<input
  columns>``; ``sf__Error`` is ``<STATUSCODE>:<message>:<fields> --``; ``unprocessedrecords``
  has the input columns only; paths with and without a trailing slash; jsforce writes
  ``unprocessedrecords``, simple-salesforce ``unprocessedRecords`` — both served;
- delete only from UploadComplete, JobComplete, Aborted or Failed.

Every row is one store call, failing on its own; ``faults.lock_row_rate`` of rows fail
``UNABLE_TO_LOCK_ROW``. See ``bulk_jobs`` for the clock.
"""

from __future__ import annotations

import email.parser
import email.policy
import json
from typing import Any

from sfexit_emulator import ingest_jobs
from sfexit_emulator.bulk_csv import DELIMITERS, parse_upload
from sfexit_emulator.bulk_jobs import registry
from sfexit_emulator.ingest_jobs import IngestJob, settle
from sfexit_emulator.http import (NOT_FOUND_MESSAGE, Call, HttpError, Response, Router,
                                  empty_response, json_response)
from sfexit_emulator.routes.bulk_query import _body, _enum_error, job_options, list_page

# "You can upload up to 150 MB per job (after base64 encoding)."
MAX_UPLOAD_BASE64 = 150 * 1024 * 1024
# "For small amounts of job data (100,000 characters or less)" a multipart create is allowed; we
# refuse above 20 MB rather than at 100,000 characters (the hard cap is UNCONF).
MULTIPART_MAX_CHARS = 20 * 1024 * 1024
# "Content-Type: text/csv; charset=UTF-8" (compression examples of the guide).
CSV_TYPE = "text/csv; charset=UTF-8"


def _job(call: Call) -> IngestJob:
    job = registry(call.app).ingest_job(call.params["id"])
    if job is None:
        raise HttpError(404, "NOT_FOUND", NOT_FOUND_MESSAGE)
    return job


def _multipart(call: Call) -> tuple[dict[str, Any], bytes] | None:
    """A multipart create (Step 4 "Bulk Insert with a Multipart Request"): the ``job`` part
    (JSON) and the ``content`` part (CSV); None when the request is plain JSON."""
    content_type = call.request.headers.get("Content-Type") or ""
    if not content_type.lower().startswith("multipart/form-data"):
        return None
    raw = b"Content-Type: " + content_type.encode("latin-1") + b"\r\n\r\n" + call.request.body
    message = email.parser.BytesParser(policy=email.policy.HTTP).parsebytes(raw)
    parts: dict[str, bytes] = {}
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        payload = part.get_payload(decode=True)
        if isinstance(name, str) and isinstance(payload, bytes):
            parts[name] = payload
    if "job" not in parts:
        raise HttpError(400, "INVALIDJOB", "InvalidJob : the multipart request has no job part")
    try:
        body = json.loads(parts["job"].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise HttpError(400, "JSON_PARSER_ERROR", f"Unexpected character: {exc}") from exc
    if not isinstance(body, dict):
        raise HttpError(400, "JSON_PARSER_ERROR", "Cannot deserialize instance of job")
    return body, parts.get("content", b"")


def create_job(call: Call) -> Response:
    settle(call.app)
    multipart = _multipart(call)
    body = multipart[0] if multipart else _body(call)
    operation = body.get("operation")
    if operation not in ingest_jobs.INGEST_OPERATIONS:
        raise _enum_error("OperationEnum", operation)
    name = body.get("object")
    if not isinstance(name, str) or not name:
        raise HttpError(400, "INVALIDJOB", "InvalidJob : object is required")  # UNCONF
    _, delimiter, line_ending = job_options(body)
    obj = call.app.store.schema.get(name)
    if obj is None or obj.bulk is False:
        # errors.md §9 (INVALIDENTITY); for an unknown name the Bulk text is UNCONF.
        raise HttpError(400, "INVALIDENTITY", f"Entity '{name}' is not supported by the Bulk API.")
    external = body.get("externalIdFieldName")
    if operation == "upsert" and not external:
        raise HttpError(400, "INVALIDJOB",
                        "InvalidJob : External ID field is required for upsert")  # UNCONF
    assert call.session is not None
    app = call.app
    reg = registry(app)
    job = IngestJob(id=reg.new_id(), operation=operation, object=obj.name,
                    created_by=call.session.user_id, created_at=app.clock.timestamp(),
                    api_version=call.version, line_ending=line_ending,
                    column_delimiter=delimiter,
                    external_id_field=str(external) if external else None,
                    assignment_rule_id=body.get("assignmentRuleId"))
    if multipart is not None:
        # "After you create a multipart job, the upload is completed for you automatically":
        # the answer is in UploadComplete, without contentUrl (Step 4 example).
        data = multipart[1]
        if 4 * -(-len(data) // 3) > MULTIPART_MAX_CHARS:
            raise HttpError(400, "ClientInputError",  # UNCONF
                            f"Failed to read request. Exceeded max size limit of "
                            f"{MULTIPART_MAX_CHARS}")
        job.upload = data
        job.expected_rows = _count_rows(job)
        job.closed_at = job.created_at
        reg.add_ingest(job)
        info = job.short_info(job.created_at)
        info["lineEnding"] = job.line_ending
        info["columnDelimiter"] = job.column_delimiter
        return json_response(info, is_write=True)
    reg.add_ingest(job)
    return json_response(job.create_info(job.created_at), is_write=True)


def list_jobs(call: Call) -> Response:
    wrote = settle(call.app)
    now = call.app.clock.timestamp()
    job_type = call.request.arg("jobType")
    jobs = registry(call.app).all_ingest()
    records = [] if job_type not in (None, "", "V2Ingest") else [j.list_info(now) for j in jobs]
    return json_response(list_page(call, records, "jobs/ingest"), is_write=wrote)


def get_job(call: Call) -> Response:
    wrote = settle(call.app)
    job = _job(call)
    return json_response(job.full_info(call.app.clock.timestamp()), is_write=wrote)


def upload(call: Call) -> Response:
    settle(call.app)
    job = _job(call)
    data = call.request.body
    now = call.app.clock.timestamp()
    with job.lock:
        state = job.state(now)
        if state != "Open":
            raise HttpError(400, "INVALIDJOBSTATE",  # UNCONF
                            f"Job {job.id} is not open for uploads: its state is {state}")
        if job.upload is not None:
            raise HttpError(400, "INVALIDJOBSTATE",
                            f"Found multiple contents for job: <{job.id}>, please 'Close' / "
                            "'Abort' current job then create a new job and upload data again.")
        if 4 * -(-len(data) // 3) > MAX_UPLOAD_BASE64:
            # UNCONF: modelled on Bulk 1.0's "Failed to read request. Exceeded max size limit".
            raise HttpError(400, "ClientInputError",
                            f"Failed to read request. Exceeded max size limit of "
                            f"{MAX_UPLOAD_BASE64}")
        job.upload = data
    return Response(status=201, body=b"", content_type=None, is_write=True)


def patch_job(call: Call) -> Response:
    settle(call.app)
    job = _job(call)
    body = _body(call)
    state = body.get("state")
    now = call.app.clock.timestamp()
    with job.lock:
        current = job.state(now)
        if state == "UploadComplete":
            if current != "Open":
                raise HttpError(400, "INVALIDJOBSTATE",  # UNCONF text
                                f"Closing a job in state {current} is not allowed")
            job.expected_rows = _count_rows(job)
            job.closed_at = now
        elif state == "Aborted":
            if current not in ("Open", "UploadComplete", "InProgress"):
                raise HttpError(400, "INVALIDJOBSTATE", "Aborting already Completed Job not allowed")
            job.aborted_at = now
        else:
            raise HttpError(400, "INVALIDJOBSTATE",  # UNCONF
                            f"Changing state to {state} is not allowed")
    return json_response(job.short_info(now), is_write=True)


def _count_rows(job: IngestJob) -> int:
    if not job.upload:
        return 0
    try:
        return len(parse_upload(job.upload, DELIMITERS[job.column_delimiter])[1])
    except (ValueError, UnicodeDecodeError):
        return 0


def delete_job(call: Call) -> Response:
    settle(call.app)
    job = _job(call)
    if job.state(call.app.clock.timestamp()) not in ("UploadComplete", "JobComplete", "Aborted",
                                                    "Failed"):
        # Text of the query-job refusal (query_delete_job); for ingest UNCONF.
        raise HttpError(400, "API_ERROR",
                        "Error encountered when deleting the job because the job is not terminated")
    registry(call.app).delete_ingest(job.id)
    response = empty_response(204)
    response.is_write = True
    return response


def _csv(data: bytes, wrote: bool) -> Response:
    return Response(body=data, content_type=CSV_TYPE, is_write=wrote)


def successful_results(call: Call) -> Response:
    wrote = settle(call.app)
    return _csv(ingest_jobs.successful_csv(_job(call)), wrote)


def failed_results(call: Call) -> Response:
    wrote = settle(call.app)
    return _csv(ingest_jobs.failed_csv(_job(call)), wrote)


def unprocessed_records(call: Call) -> Response:
    wrote = settle(call.app)
    return _csv(ingest_jobs.unprocessed_csv(_job(call)), wrote)


def register(router: Router) -> None:
    base = r"/services/data/{v}/jobs/ingest"
    router.add("bulk_ingest_jobs", base + r"/?", list_jobs, ("GET",))
    router.add("bulk_ingest_create", base + r"/?", create_job, ("POST",))
    router.add("bulk_ingest_upload", base + r"/{id}/batches/?", upload, ("PUT",))
    router.add("bulk_ingest_successful", base + r"/{id}/successfulResults/?", successful_results)
    router.add("bulk_ingest_failed", base + r"/{id}/failedResults/?", failed_results)
    router.add("bulk_ingest_unprocessed", base + r"/{id}/(?i:unprocessedrecords)/?",
               unprocessed_records)
    router.add("bulk_ingest_job", base + r"/{id}/?", get_job, ("GET",))
    router.add("bulk_ingest_patch", base + r"/{id}/?", patch_job, ("PATCH",))
    router.add("bulk_ingest_delete", base + r"/{id}/?", delete_job, ("DELETE",))

