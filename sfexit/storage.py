"""Cloud storage: ``s3://``, ``gs://`` and ``az://`` through fsspec, for the archive
(docs/archive.md, "Cloud destinations") and the export (docs/cloud-export.md). Both use it,
so it sits below both (the export never imports the archive: pyproject.toml's contracts).

Cloud storage is not the org: this is sfexit's own I/O to its destinations, and it goes through fsspec and
its per-provider packages (s3fs, gcsfs, adlfs; each an extra: ``pip install 'sfexit[s3]'``),
never through ``sfexit.org``. Credentials come from each provider's usual chain (for S3 the
AWS chain: environment, ``~/.aws`` profiles, instance roles; for GCS Application Default
Credentials; for Azure ``AZURE_STORAGE_CONNECTION_STRING`` or ``AZURE_STORAGE_ACCOUNT_NAME``
with a key, a SAS or DefaultAzureCredential), read by the provider's own library; sfexit
never reads, stores or prints them. The store's address likewise: ``--endpoint-url`` for s3://
and gs://, the connection string's ``BlobEndpoint`` for az:// (docs/cloud-export.md,
"Endpoints and credentials").

Every storage error ends as one line with its exit code (``storage_errors``): a missing
extra or bucket 2, refused credentials 3, anything else 1.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import re
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO

from sfexit.errors import AuthError, SfexitError, UsageError

# scheme → (fsspec protocol, the package that implements it, the sfexit extra that installs it)
PROVIDERS = {
    "s3": ("s3", "s3fs", "s3"),
    "gs": ("gcs", "gcsfs", "gcs"),
    "az": ("abfs", "adlfs", "azure"),
}
# The schemes whose store's address --endpoint-url gives (s3fs's and gcsfs's endpoint_url). An
# Azure store's address is its account's, from the connection string the Azure tools read
# (AZURE_STORAGE_CONNECTION_STRING's BlobEndpoint: Azurite's documented way), read by adlfs.
ENDPOINT_SCHEMES = ("s3", "gs")


@dataclass(frozen=True)
class Remote:
    """An archive's place in cloud storage: ``s3://bucket/prefix``."""

    url: str                      # as given, without a trailing slash
    scheme: str                   # s3 | gs | az
    bucket: str
    prefix: str                   # "" for the bucket's root
    endpoint_url: str | None = None

    @property
    def root(self) -> str:
        """The archive's path for fsspec: ``bucket/prefix``."""
        return f"{self.bucket}/{self.prefix}" if self.prefix else self.bucket

    def key(self, relative: str) -> str:
        return f"{self.root}/{relative}"


def parse_remote(text: str, endpoint_url: str | None = None) -> Remote | None:
    """``text`` as a cloud URL, or None when it has no scheme (a local path).

    Raises UsageError for an unknown scheme, a URL without a bucket or with empty path
    segments, or ``--endpoint-url`` with an ``az://`` URL."""
    scheme, sep, rest = text.partition("://")
    if not sep:
        # "s3:/bucket", "S3:bucket": a URL mistyped, not a folder "s3:" to create here.
        if (typo := re.match(r"([A-Za-z0-9]+):", text)) and typo[1].lower() in PROVIDERS:
            raise UsageError(f"{text}: not a storage URL (it would be a folder named "
                             f"{typo[0]})", hint=f"give {typo[1].lower()}://BUCKET/PREFIX")
        return None
    if scheme.lower() not in PROVIDERS:
        raise UsageError(f"{text}: unknown storage scheme {scheme!r}",
                         hint="give a directory, or an s3://, gs:// or az:// URL")
    rest = rest.rstrip("/")
    bucket, _, prefix = rest.partition("/")
    if not bucket or "//" in rest or any(part in (".", "..") for part in prefix.split("/")):
        raise UsageError(f"{text}: no bucket, or an empty, '.' or '..' segment in the URL",
                         hint=f"give {scheme}://BUCKET/PREFIX")
    if endpoint_url:
        check_endpoint(endpoint_url, scheme.lower())
    return Remote(url=f"{scheme.lower()}://{rest}", scheme=scheme.lower(),
                  bucket=bucket, prefix=prefix, endpoint_url=endpoint_url)


def check_endpoint(endpoint_url: str, scheme: str) -> None:
    """``--endpoint-url``: for s3:// and gs:// (ENDPOINT_SCHEMES), and HTTPS unless on
    loopback (a store's emulator in a test, a local MinIO): as for the org, the archive never
    travels unencrypted over a network (README, "Safety"). Raises UsageError."""
    if scheme not in ENDPOINT_SCHEMES:
        raise UsageError(ENDPOINT_MISUSED, hint=ENDPOINT_HINT)
    parsed = urllib.parse.urlsplit(endpoint_url)
    if parsed.scheme != "https" and not (parsed.scheme == "http" and _loopback(endpoint_url)):
        raise UsageError(f"--endpoint-url {endpoint_url}: give an https:// URL",
                         hint="plain http:// is accepted only on loopback (127.0.0.1, "
                              "localhost)")


@contextlib.contextmanager
def storage_errors(remote: Remote, doing: str) -> Iterator[None]:
    """Any error of the storage library as one line with a documented exit code."""
    try:
        yield
    except SfexitError:
        raise
    except FileNotFoundError as exc:
        raise UsageError(f"{remote.url}: {doing}: no such bucket or container "
                         f"({_why(exc)})", hint="create it first, or check the URL") from exc
    except PermissionError as exc:
        raise AuthError(f"{remote.url}: {doing}: access denied ({_why(exc)})",
                        hint=f"check {CREDENTIALS[remote.scheme]} and their permissions"
                        ) from exc
    except Exception as exc:
        # botocore's NoCredentialsError, PartialCredentialsError, CredentialRetrievalError;
        # azure's ClientAuthenticationError, CredentialUnavailableError: matched by name so
        # that sfexit imports no provider's package for them.
        if any(word in type(exc).__name__ for word in ("Credential", "Authentication")):
            raise AuthError(f"{remote.url}: {doing}: no usable credentials ({_why(exc)})",
                            hint=f"set {CREDENTIALS[remote.scheme]}") from exc
        raise SfexitError(f"{remote.url}: {doing} failed ({_why(exc)})",
                          hint="check the URL, the endpoint and the network, then run the "
                               "same command again") from exc


# Where each provider's tools look for credentials first (the providers' own docs), for hints.
CREDENTIALS = {
    "s3": "the AWS credentials (AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, or a "
          "role)",
    "gs": "the Google credentials (GOOGLE_APPLICATION_CREDENTIALS, or `gcloud auth "
          "application-default login`)",
    "az": "the Azure credentials (AZURE_STORAGE_CONNECTION_STRING, or "
          "AZURE_STORAGE_ACCOUNT_NAME with AZURE_STORAGE_ACCOUNT_KEY, a SAS or `az login`)",
}
ENDPOINT_MISUSED = "--endpoint-url is for s3:// and gs:// destinations"
ENDPOINT_HINT = ("an az:// store's address is the BlobEndpoint of "
                 "AZURE_STORAGE_CONNECTION_STRING, as for the Azure tools")


def _loopback(endpoint_url: str) -> bool:
    return urllib.parse.urlsplit(endpoint_url).hostname in ("localhost", "127.0.0.1", "::1")


def _why(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def open_store(remote: Remote) -> Any:
    """The fsspec filesystem of ``remote``. Raises UsageError (exit 2) naming the extra to
    install when its package is missing."""
    protocol, package, extra = PROVIDERS[remote.scheme]
    try:
        cls = _filesystem_class(remote.scheme, protocol)
    except ImportError as exc:
        raise UsageError(f"{remote.url} needs {package}, which is not installed",
                         hint=f"pip install 'sfexit[{extra}]'") from exc
    options: dict[str, Any] = {"skip_instance_cache": True}
    if remote.endpoint_url:
        # Otherwise botocore reads AWS_ENDPOINT_URL(_S3) and the profile's endpoint_url itself.
        options["endpoint_url"] = remote.endpoint_url
        if remote.scheme == "gs" and _loopback(remote.endpoint_url):
            # A GCS emulator: no credentials, as google-cloud-storage sends none to
            # STORAGE_EMULATOR_HOST (Client.__init__); the chain would first ask the GCE
            # metadata server, off this machine.
            options["token"] = "anon"
    with storage_errors(remote, "connecting"):
        return cls(**options)


def _filesystem_class(scheme: str, protocol: str) -> Any:
    """fsspec's class for ``protocol``; for gs:// gcsfs's JSON-API one. Since gcsfs 2025.x
    the registered class is ExtendedGcsFileSystem (GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT, on by
    default), which first asks the Storage Control API over gRPC for each bucket's layout;
    an endpoint that does not speak it (every emulator) costs 60 s per bucket, retried on
    every call. sfexit writes plain objects: the JSON API does all it needs."""
    if scheme == "gs":
        import gcsfs.core
        return gcsfs.core.GCSFileSystem
    import fsspec
    return fsspec.get_filesystem_class(protocol)


def listing(fs: Any, remote: Remote) -> dict[str, int]:
    """Every object under the archive's prefix: path relative to it → size."""
    fs.invalidate_cache()
    with storage_errors(remote, "listing"):
        found = fs.find(remote.root, detail=True)
        if not found and remote.scheme == "az" and not fs.exists(remote.bucket):
            # adlfs lists a missing container as empty; s3fs and gcsfs raise.
            raise FileNotFoundError(remote.bucket)
    cut = len(remote.root) + 1
    return {name[cut:]: int(info.get("size") or 0) for name, info in found.items()
            if info.get("type") != "directory" and len(name) > cut}


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
        raise SfexitError(f"cannot read {local} to upload it ({_why(exc)})",
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


def read(fs: Any, remote: Remote, relative: str) -> bytes:
    with storage_errors(remote, f"reading {relative}"):
        data: bytes = fs.cat_file(remote.key(relative))
    return data


def get(fs: Any, remote: Remote, relative: str, into: Path) -> None:
    """Download one object to ``into / relative``; a key that would land outside ``into``
    (``..``, an absolute path) is refused: the bucket is not trusted."""
    parts = PurePosixPath(relative).parts
    if not parts or relative.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise SfexitError(f"{remote.url}: refusing the object {relative!r} (its path leaves "
                          "the archive)")
    target = into.joinpath(*parts)
    target.parent.mkdir(parents=True, exist_ok=True)
    with storage_errors(remote, f"downloading {relative}"):
        fs.get_file(remote.key(relative), str(target))


def remove(fs: Any, remote: Remote, relatives: list[str]) -> list[str]:
    """Delete these objects as far as possible; the ones that could not be deleted."""
    left = []
    for relative in relatives:
        try:
            fs.rm_file(remote.key(relative))
        except Exception:   # best effort: the caller names what is left
            left.append(relative)
    return left
