"""The wire for file bodies: ``GET …/sobjects/<Object>/<Id>/<Field>``, streamed in 1 MiB chunks.

Base64 fields are never served by Bulk 2.0 (export-pitfalls.md, D), so every ContentVersion,
Attachment and Document body is one REST call ("sObject Blob Retrieve",
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/dome_sobject_blob_retrieve.htm).
simple-salesforce's ``get_base64`` reads the whole body into memory; this streams it.

The session retries what fails *before* the body (503, dead session, connection refused). A body
that breaks in the middle is this module's job: the sink is told to start over and the body is
fetched again. ``Range`` is asked for on a retry, but the bytes are only appended when the server
answers ``206`` with a ``Content-Range`` starting exactly where we stopped; any other answer
restarts the file (Salesforce does not document Range on blob GETs; the emulator answers it).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol

import requests

from sfexit import errors
from sfexit.org import soql
from sfexit.org.session import OrgSession

CHUNK_SIZE = 1 << 20
DEFAULT_ATTEMPTS = 6  # tries of one body, the first included
BLOB_FIELDS = {"ContentVersion": "VersionData", "Attachment": "Body", "Document": "Body"}

_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")


class BlobSink(Protocol):
    """Where the bytes go: ``restart()`` drops everything written so far (a retry from 0)."""

    def write(self, chunk: bytes) -> None: ...

    def restart(self) -> None: ...


@dataclass(frozen=True)
class BlobDownload:
    """What one body download did."""

    size: int                  # bytes written to the sink, in the end
    content_length: int | None  # what the server announced for the whole body
    content_type: str | None
    attempts: int              # GETs sent (1 = no retry)
    resumed_with_range: bool


class BrokenBody(Exception):
    """The body ended early or the connection broke while it was being read."""


def blob_path(session: OrgSession, sobject: str, record_id: str, field: str | None = None) -> str:
    """The data URL of one body; the object and field names are checked identifiers."""
    field = field or BLOB_FIELDS.get(sobject)
    if field is None:
        raise ValueError(f"{sobject} has no known body field")
    if not re.fullmatch(r"[A-Za-z0-9]{15,18}", record_id):
        raise ValueError(f"not a record id: {record_id!r}")
    return session.data_url(f"sobjects/{soql.ident(sobject)}/{record_id}/{soql.ident(field)}")


def download_blob(session: OrgSession, sobject: str, record_id: str, sink: BlobSink, *,
                  field: str | None = None, attempts: int = DEFAULT_ATTEMPTS,
                  chunk_size: int = CHUNK_SIZE) -> BlobDownload:
    """Stream one body into ``sink``, retrying a broken body; returns what was received.

    Raises SalesforceError (404 NOT_FOUND, ENTITY_IS_DELETED, …), AuthError, ApiLimitError,
    ConnectionFailed (the body broke ``attempts`` times), ReadOnlyViolation never (a GET).
    """
    url = blob_path(session, sobject, record_id, field)
    received = 0
    used_range = False
    last_error = ""
    announced: int | None = None
    content_type: str | None = None
    for attempt in range(1, attempts + 1):
        headers = {"Range": f"bytes={received}-"} if received else {}
        response = session.request("GET", url, headers=headers, stream=True)
        try:
            start = _resume_offset(response, received)
            if start == 0 and received:
                sink.restart()
            elif start:
                used_range = True
            received = start
            total = _total_length(response, start)
            announced = total if total is not None else announced
            content_type = response.headers.get("Content-Type")
            for chunk in _body_chunks(response, chunk_size):
                sink.write(chunk)
                received += len(chunk)
            if total is not None and received != total:
                raise BrokenBody(f"body ended after {received} of {total} bytes")
            return BlobDownload(received, announced, content_type, attempt, used_range)
        except BrokenBody as exc:
            last_error = str(exc)
        finally:
            response.close()
    raise errors.ConnectionFailed(
        f"the body of {sobject} {record_id} broke off {attempts} times ({last_error})",
        hint="check the network, then run the same command again: it resumes")


def _resume_offset(response: requests.Response, received: int) -> int:
    """Where this response's bytes start: ``received`` for a matching 206, else 0."""
    if response.status_code != 206 or not received:
        return 0
    match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
    return received if match and int(match.group(1)) == received else 0


def _total_length(response: requests.Response, start: int) -> int | None:
    if response.status_code == 206:
        match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
        if match and match.group(3) != "*":
            return int(match.group(3))
        return None
    length = response.headers.get("Content-Length")
    # A gzip-encoded body's Content-Length counts compressed bytes: no use for a size check.
    if length is None or response.headers.get("Content-Encoding"):
        return None
    try:
        return start + int(length)
    except ValueError:
        return None


def _body_chunks(response: requests.Response, chunk_size: int) -> Iterator[bytes]:
    """The body's chunks; a broken connection becomes BrokenBody (urllib3 2 checks the length)."""
    try:
        for chunk in response.iter_content(chunk_size=chunk_size):
            if chunk:
                yield chunk
    except (requests.exceptions.ChunkedEncodingError, requests.ConnectionError,
            requests.exceptions.ContentDecodingError, requests.Timeout) as exc:
        raise BrokenBody(type(exc).__name__) from None
