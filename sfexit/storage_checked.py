"""Uploads and copies whose bytes are checked, and the proof that an object already in a store
is the one sfexit sent (docs/cloud-export.md, docs/archive.md "Resuming an upload").

``put`` hashes a file's bytes as it reads them to send and stores nothing whose SHA-256 is not
the manifest's; S3 checks the same SHA-256 on arrival and keeps it (``stored_sha256``); a file
sent in parts is recognised later by the ETag the store gave it (``Sent``); ``holds`` is the
resume check (a HEAD at most, or a read-back); ``copy`` copies inside S3 with the copy's
SHA-256 checked. Addresses, connections and errors are storage.py's.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from sfexit.errors import SfexitError
from sfexit.storage import Remote, reason, remove, storage_errors


@dataclass(frozen=True)
class Sent:
    """A file sent in parts (``put``): its size and SHA-256 as checked while it was sent, and
    the ETag the store gave the object it completed. S3 keeps no SHA-256 of such an object,
    but computes its ETag itself, and a new one when the key is written again (AWS S3 API
    Reference, "HeadObject": ETag, "an opaque identifier assigned by a web server to a
    specific version of a resource"; for a multipart object the MD5 of its parts' MD5s,
    ``…-N``, AWS S3 User Guide, "Checking object integrity": "Using part-level checksums"):
    a HEAD giving the same size and ETag is the object sent, without reading it back."""

    size: int
    sha256: str
    etag: str

    def to_json(self) -> dict[str, Any]:
        return {"size": self.size, "sha256": self.sha256, "etag": self.etag}

    @classmethod
    def from_json(cls, raw: Any) -> Sent | None:
        """None for anything but a well-formed record (the bucket is not trusted)."""
        try:
            sent = cls(int(raw["size"]), str(raw["sha256"]), str(raw["etag"]))
        except (TypeError, KeyError, ValueError):
            return None
        return sent if sent.etag else None


def sent_records(raw: Any) -> dict[str, Sent]:
    """``{relative: Sent.to_json()}`` read back; anything malformed is dropped (the bucket
    is not trusted: a file without a record is proven another way or sent again)."""
    if not isinstance(raw, dict):
        return {}
    found = {str(k): Sent.from_json(v) for k, v in raw.items()}
    return {k: v for k, v in found.items() if v is not None}


def put(fs: Any, remote: Remote, local: Path, relative: str, sha256: str) -> Sent | None:
    """Send ``local`` as ``relative``, hashing the bytes as they are read to be sent: when
    their SHA-256 is not ``sha256`` (the bag's manifests'), nothing is stored and
    SfexitError (exit 1) is raised, so the bucket never holds other bytes under the bag's
    hash. Memory stays flat: a file under PART is one request of its bytes, a larger one
    is sent in parts of PART (S3 multipart: at most 10,000 parts, 5 MiB to 5 GiB each, AWS
    S3 User Guide, "Amazon S3 multipart upload limits"), completed only when the hash
    matches and aborted otherwise.

    A single request to S3 carries the SHA-256 (``x-amz-checksum-sha256``), which S3 checks
    on arrival, refuses on a mismatch and keeps with the object, returned by HeadObject with
    ``ChecksumMode=ENABLED`` (AWS S3 User Guide, "Checking object integrity in Amazon S3":
    "Using supported checksum algorithms", "Retrieving checksums"): ``stored_sha256``.
    ``ChecksumAlgorithm`` names the algorithm (``x-amz-sdk-checksum-algorithm``); without it
    some S3-compatible stores (moto) check nothing and keep nothing. A multipart upload's
    checksum is of its parts' checksums, not the object's: for such a file (on S3) the
    ``Sent`` record is returned, which a caller keeps to recognise it later (``holds``);
    None otherwise.
    """
    try:
        fh = open(local, "rb")
    except OSError as exc:
        raise SfexitError(f"cannot read {local} to upload it ({reason(exc)})",
                          hint="the export changed while the archive was being built: "
                               "run `sfexit export verify` on it") from exc
    with fh:
        if os.fstat(fh.fileno()).st_size < PART:
            data = fh.read()
            _same(remote, relative, hashlib.sha256(data).hexdigest(), sha256)
            with storage_errors(remote, f"uploading {relative}"):
                fs.pipe_file(remote.key(relative), data, **_checksum(remote, sha256))
            return None
        with LARGE_AT_ONCE, storage_errors(remote, f"uploading {relative}"):
            size = _put_parts(fs, remote, fh, relative, sha256)
    etag = _head(fs, remote, relative).get("ETag")
    return Sent(size, sha256, etag) if etag else None


def _put_parts(fs: Any, remote: Remote, fh: BinaryIO, relative: str, sha256: str) -> int:
    """The bytes sent (their count), in parts; completed only when their SHA-256 matches."""
    digest, size = hashlib.sha256(), 0
    target = fs.open(remote.key(relative), "wb", block_size=PART, autocommit=False)
    try:
        while block := fh.read(PART):
            digest.update(block)
            size += len(block)
            target.write(block)  # a full part goes up as it fills, not completed
        # Checked before close: adlfs completes the blob on close (Put Block List), whatever
        # autocommit says; s3fs and gcsfs complete it on commit.
        _same(remote, relative, digest.hexdigest(), sha256)
        target.close()
        target.commit()
    except BaseException:
        with contextlib.suppress(Exception):   # a failed abort must not hide why
            target.discard()     # s3: aborts the multipart upload; gs: cancels the session
        # Never closed after this: fsspec's __del__ would close, hence complete, the object.
        # Azure drops uncommitted blocks itself (Put Block: "discarded after seven days").
        target.closed = True
        raise
    return size


def _checksum(remote: Remote, sha256: str) -> dict[str, str]:
    if remote.scheme != "s3":
        return {}
    return {"ChecksumAlgorithm": "SHA256",
            "ChecksumSHA256": base64.b64encode(bytes.fromhex(sha256)).decode("ascii")}


def _same(remote: Remote, relative: str, read: str, sha256: str) -> None:
    if read != sha256:
        raise SfexitError(f"{remote.url}: not uploading {relative}: SHA-256 {read} of the "
                          f"bytes read to send, {sha256} in the bag's manifest",
                          hint="the export changed after it was made or while the archive "
                               "was being built: run `sfexit export verify` on it, then "
                               "export again")


# One request up to this size (its bytes in memory, per upload worker); parts of it above.
PART = 16 * 2**20
# A file sent in parts holds about 6 parts' worth of memory while it goes (s3fs's buffer, the
# part, botocore's request: ~95 MiB measured, whatever the file's size), so at most this many
# go at once, whatever the number of upload workers.
LARGE_AT_ONCE = threading.BoundedSemaphore(2)


def stored_sha256(fs: Any, remote: Remote, relative: str) -> str | None:
    """The SHA-256 (hex) the store checked when ``relative`` arrived (``put``), or None when
    it keeps none: not S3, an object put without it, or one put in parts (its checksum is
    then of the parts' checksums, ``…-N``, not of the object's bytes). A HEAD, no bytes read.
    """
    return _sha256_of(_head(fs, remote, relative))


def _head(fs: Any, remote: Remote, relative: str) -> dict[str, Any]:
    """HeadObject of ``relative`` with its checksums (``{}`` but on S3): one request."""
    if remote.scheme != "s3":
        return {}
    bucket, _, key = remote.key(relative).partition("/")
    with storage_errors(remote, f"reading the checksum of {relative}"):
        head: dict[str, Any] = fs.call_s3("head_object", Bucket=bucket, Key=key,
                                          ChecksumMode="ENABLED")
    return head


def _sha256_of(head: dict[str, Any]) -> str | None:
    value = head.get("ChecksumSHA256")
    if not value or "-" in value:
        return None
    try:
        return base64.b64decode(value, validate=True).hex()
    except ValueError:
        return None


def holds(fs: Any, remote: Remote, found: dict[str, int], relative: str, size: int,
          sha256: str, *, read_back: bool = False, sent: Sent | None = None) -> bool:
    """Whether the prefix has ``relative`` already: of ``size`` (``found``: ``listing``), and
    with the SHA-256 the store checked on its arrival (``put``), or, sent in parts, the
    ETag it had when ``put`` completed it (``sent``, the caller's record of that ``put``, of
    this size and SHA-256). An object without either, of another size, or whose bytes are
    another file's, is not: nothing in the bucket is trusted on its name. A HEAD at most,
    no bytes read; with ``read_back``, an object of the size but with neither (sent in parts
    without a record; gs://, az://) is read back and hashed (``read_sha256``): bandwidth out
    of the store instead of doing the work again."""
    if found.get(relative) != size:
        return False
    head = _head(fs, remote, relative)
    stored = _sha256_of(head)
    if stored is None and sent is not None and head.get("ETag") == sent.etag \
            and (sent.size, sent.sha256) == (size, sha256):
        return True
    if stored is None and read_back:
        stored = read_sha256(fs, remote, relative)
    return stored == sha256


def read_sha256(fs: Any, remote: Remote, relative: str) -> str:
    """The SHA-256 of an object's bytes, streamed in blocks of PART (memory stays flat)."""
    digest = hashlib.sha256()
    with storage_errors(remote, f"reading {relative}"), \
            fs.open(remote.key(relative), "rb", block_size=PART) as fh:
        while block := fh.read(PART):
            digest.update(block)
    return digest.hexdigest()


# The largest object one CopyObject copies (AWS S3 API Reference, "CopyObject": "you can
# create a copy of your object up to 5 GB in size in a single atomic action").
COPY_MAX = 5 * 2**30


def same_store(a: Remote, b: Remote) -> bool:
    """Whether one S3 connection reaches both: a server-side ``copy`` between them works."""
    return a.scheme == b.scheme == "s3" and a.endpoint_url == b.endpoint_url


def copy(fs: Any, source: Remote, relative: str, target: Remote, to: str, size: int,
         sha256: str) -> Sent | None:
    """Copy ``source``'s ``relative`` to ``target``'s ``to`` inside S3 (``same_store``): the
    bytes never leave it. Up to COPY_MAX, one CopyObject with ``ChecksumAlgorithm=SHA256``,
    so S3 computes the copy's SHA-256 and keeps it; it is read back by a HEAD and the copy
    deleted and SfexitError raised unless it is ``sha256``. Above, s3fs's copy in parts
    (UploadPartCopy): checked against ``size`` only (the caller proved the source first),
    and its ``Sent`` record returned, as ``put`` does for a file sent in parts."""
    src_bucket, _, src_key = source.key(relative).partition("/")
    bucket, _, key = target.key(to).partition("/")
    with storage_errors(target, f"copying {relative} from {source.url}"):
        if size < COPY_MAX:
            fs.call_s3("copy_object", Bucket=bucket, Key=key, ChecksumAlgorithm="SHA256",
                       CopySource={"Bucket": src_bucket, "Key": src_key})
        else:
            fs.copy(source.key(relative), target.key(to))
    head = _head(fs, target, to)
    got = _sha256_of(head)
    if (size < COPY_MAX and got != sha256) or int(head.get("ContentLength", -1)) != size:
        remove(fs, target, [to])
        raise SfexitError(f"{target.url}: the copy of {source.url}/{relative} is not the "
                          f"bag's {to} (SHA-256 {got}, {head.get('ContentLength')} bytes; "
                          f"{sha256}, {size} in the bag's manifest)",
                          hint="run `sfexit export verify` on the export, then build again")
    etag = head.get("ETag")
    return Sent(size, sha256, etag) if size >= COPY_MAX and etag else None


def write(fs: Any, remote: Remote, relative: str, data: bytes) -> None:
    """Store ``data`` as ``relative`` in one request, with its SHA-256 for S3 to check and
    keep (as ``put`` does for a file: ``stored_sha256``)."""
    sha256 = hashlib.sha256(data).hexdigest()
    with storage_errors(remote, f"uploading {relative}"):
        fs.pipe_file(remote.key(relative), data, **_checksum(remote, sha256))
