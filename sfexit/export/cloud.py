"""``export bulk --dest s3://…``: the export written to cloud storage through a bounded local
spool (docs/cloud-export.md).

Each object's CSV is written and verified in the spool as for a local export, then uploaded
with its SHA-256 checked (``storage_checked.put``), recorded in the manifest, the manifest uploaded,
and the local CSV deleted: local disk holds the objects in flight, never the export. The
bucket's manifest only ever lists objects whose CSV is in the bucket, so a rerun resumes from
it; an object is kept when the bucket holds its CSV with the listed size and the SHA-256 the
store checked on its arrival (``storage_checked.holds``), or, for a file sent in parts (whose S3
checksum is of its parts), the SHA-256 of its bytes read back from the bucket: downloading
a large CSV costs bandwidth, exporting it again costs the org's daily API limits.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sfexit.errors import UsageError
from sfexit.export.backup import BackupSummary, run_backup
from sfexit.export.backup_plan import BackupPlan, plan_backup
from sfexit.export.data_run import ExportOptions
from sfexit.export.delta import DeltaBase, open_base
from sfexit.export.verify import VerifyReport, verify_backup
from sfexit.export.finished import SCHEMA_DIR
from sfexit.export.manifest import MANIFEST_NAME, ManifestStore, ObjectEntry
from sfexit.ondisk import file_digest
from sfexit.org.session import OrgSession
from sfexit.storage import (ENDPOINT_MISUSED, Reach, Remote, get, listing, open_store,
                            parse_remote, read)
from sfexit.storage_checked import Sent, holds, put, sent_records, write


# Seconds between two uploads of the manifest while file bodies are recorded (put_manifest).
MANIFEST_EVERY = 30.0
# Beside the manifest, only when a file went up in parts: its storage_checked.Sent record (size,
# SHA-256, the ETag S3 gave it), so that a rerun proves it by a HEAD, not by reading it back.
# Not a file of the export (docs/cloud-export.md, "Resume of large files").
SENT_NAME = ".sfexit-sent.json"


@dataclass(frozen=True)
class CloudDest:
    """A checked cloud ``--dest``: its URL, its filesystem, what its prefix held when opened."""

    remote: Remote
    fs: Any
    found: dict[str, int]


def open_cloud_dest(text: str, endpoint_url: str | None = None,
                    reach: Reach | None = None) -> CloudDest | None:
    """``text`` as a cloud destination, checked (call it before the org is asked), or None
    when it is a local path.

    Raises UsageError (exit 2): a malformed URL, an unknown scheme, the provider's package
    missing, no such bucket, a prefix holding objects but no export (sfexit never writes into
    a prefix it did not make); AuthError (exit 3): no or refused credentials."""
    remote = parse_remote(text, endpoint_url)
    if remote is None:
        if endpoint_url:
            raise UsageError(ENDPOINT_MISUSED,
                             hint=f"--dest {text} is a local directory")
        return None
    fs = open_store(remote, reach)
    found = listing(fs, remote)
    if found and MANIFEST_NAME not in found:
        raise UsageError(f"--dest {remote.url} holds {len(found)} objects but no "
                         f"{MANIFEST_NAME} (not an sfexit export)",
                         hint="give a new prefix, or the one of an export to continue")
    return CloudDest(remote, fs, found)


def open_base_at(text: str, endpoint_url: str | None = None,
                 reach: Reach | None = None) -> DeltaBase:
    """``--since BASE``: a directory (``delta.open_base``), or the URL of an export in a
    bucket: its manifest.json and describes (a few KB) are downloaded to a temporary
    directory and checked exactly as a directory's (finished, complete); the delta records
    the base by its URL. Call it before the org is asked.

    Raises UsageError (no export there, unfinished, incomplete), AuthError (credentials)."""
    remote = parse_remote(text, endpoint_url)
    if remote is None:
        return open_base(Path(text))
    fs = open_store(remote, reach)
    found = listing(fs, remote)
    if MANIFEST_NAME not in found:
        raise UsageError(f"--since: {remote.url} holds no sfexit export (no {MANIFEST_NAME})",
                         hint="give the --dest of a finished `sfexit export bulk`")
    spool = Path(tempfile.mkdtemp(prefix=".sfexit-base.", suffix=".spool"))
    try:
        for relative in [MANIFEST_NAME, *sorted(k for k in found
                                                if k.startswith(f"{SCHEMA_DIR}/"))]:
            get(fs, remote, relative, spool)
        try:
            base = open_base(spool)
        except UsageError as exc:
            exc.message = exc.message.replace(str(spool), remote.url)
            raise
    finally:
        shutil.rmtree(spool, ignore_errors=True)
    return DeltaBase(base.org_id, replace(base.ref, path=remote.url))


class CloudPublisher:
    """Sends an export's finished files from the spool to the bucket (module docstring).
    Shared by the export's threads."""

    def __init__(self, dest: CloudDest, spool: Path) -> None:
        self.dest = dest
        self.spool = spool
        self._manifest_lock = threading.Lock()
        self._schema_sent: set[tuple[str, str]] = set()
        self._clock = time.monotonic
        self._manifest_sent = self._clock()
        self._sent: dict[str, Sent] = {}
        self._sent_lock = threading.Lock()

    @classmethod
    def start(cls, dest: CloudDest) -> CloudPublisher:
        """A new spool (under TMPDIR), holding the bucket's manifest when it has one (the
        export resumes from it as from a directory's)."""
        spool = Path(tempfile.mkdtemp(prefix=".sfexit-export.", suffix=".spool"))
        if MANIFEST_NAME in dest.found:
            get(dest.fs, dest.remote, MANIFEST_NAME, spool)
        publisher = cls(dest, spool)
        publisher._sent = sent_in(dest, dest.found)
        return publisher

    def close(self) -> None:
        shutil.rmtree(self.spool, ignore_errors=True)

    def holds(self, entry: ObjectEntry) -> bool:
        """Whether the bucket has the CSV ``entry`` lists, of its size and SHA-256."""
        return self.holds_file(entry.file, entry.bytes, entry.sha256)

    def record_object(self, store: ManifestStore, entry: ObjectEntry) -> None:
        """Upload the finished CSV (its SHA-256 checked while sending) and its describe, then
        record it and upload the manifest, then delete the local CSV: the bucket's manifest
        never lists a CSV the bucket does not hold. Raises SfexitError/AuthError (storage)."""
        local = self.spool / entry.file
        self._record(entry.file, put(self.dest.fs, self.dest.remote, local, entry.file,
                                     entry.sha256))
        self._put_schema(entry.name)
        store.put_object(entry)
        store.flush()   # the bucket's copy lists it now, not a group-commit window later
        self.send_manifest()
        local.unlink(missing_ok=True)

    def holds_file(self, relative: str, size: int, sha256: str) -> bool:
        """Of its size, with the SHA-256 S3 checked on arrival, or sent in parts: the ETag
        recorded when it was (SENT_NAME), else its bytes read back (``storage_checked.holds``)."""
        return holds(self.dest.fs, self.dest.remote, self.dest.found, relative, size, sha256,
                     read_back=True, sent=self._sent.get(relative))

    def send_file(self, relative: str, sha256: str) -> None:
        """Upload a finished file body from the spool (its SHA-256 checked while sending:
        ``storage_checked.put``), then delete it: the spool holds only the bodies in flight."""
        local = self.spool / relative
        self._record(relative, put(self.dest.fs, self.dest.remote, local, relative, sha256))
        local.unlink(missing_ok=True)

    def _record(self, relative: str, sent: Sent | None) -> None:
        """A file sent in parts: its record uploaded before the manifest can list it."""
        if sent is None:
            return
        with self._sent_lock:
            self._sent[relative] = sent
            data = json.dumps({k: v.to_json() for k, v in sorted(self._sent.items())},
                              indent=1).encode("utf-8")
            write(self.dest.fs, self.dest.remote, SENT_NAME, data)

    def put_manifest(self) -> None:
        """After the files step records a batch: the manifest, at most every
        MANIFEST_EVERY seconds (it grows with every body, ~400 bytes each: sent after each
        batch of 64 it would be sent quadratically). A cut run loses at most that window's
        records; those bodies are fetched again."""
        if self._clock() - self._manifest_sent >= MANIFEST_EVERY:
            self.send_manifest()

    def send_manifest(self) -> None:
        """Upload the spool's manifest as it is now. Under a lock and read after the write
        that called it, so the last upload carries every object recorded before it. Read
        once and sent from memory: another thread may replace the file meanwhile."""
        with self._manifest_lock:
            data = (self.spool / MANIFEST_NAME).read_bytes()
            write(self.dest.fs, self.dest.remote, MANIFEST_NAME, data)
            self._manifest_sent = self._clock()

    def finish(self) -> None:
        """Every describe not already in the bucket (a failed object's too: the export's
        completeness check compares them with the manifest), then the manifest."""
        for path in sorted((self.spool / SCHEMA_DIR).glob("*.json")):
            self._put_schema(path.stem)
        self.send_manifest()

    def _put_schema(self, name: str) -> None:
        relative = f"{SCHEMA_DIR}/{name}.json"
        path = self.spool / relative
        if not path.is_file():
            return
        size, sha256 = file_digest(path)
        if (relative, sha256) in self._schema_sent:
            return
        if not holds(self.dest.fs, self.dest.remote, self.dest.found, relative, size, sha256):
            put(self.dest.fs, self.dest.remote, path, relative, sha256)
        self._schema_sent.add((relative, sha256))


def run_backup_to_cloud(session: OrgSession, options: ExportOptions, *, dest: CloudDest,
                        **kwargs: Any) -> BackupSummary:
    """``run_backup`` into ``dest`` through a spool (``options.dest`` is replaced by it);
    the summary names the URL. Raises as run_backup, and SfexitError/AuthError for storage.
    On a failure what was uploaded is kept, with a manifest listing only what the bucket
    holds (best effort to upload the latest one, without hiding the first error)."""
    publisher = CloudPublisher.start(dest)
    try:
        try:
            summary = run_backup(session, replace(options, dest=publisher.spool,
                                                  publisher=publisher), **kwargs)
        except BaseException:
            with contextlib.suppress(Exception):
                publisher.finish()
            raise
        publisher.finish()
    finally:
        publisher.close()
    return replace(summary, dest=dest.remote.url,
                   manifest=dest.remote.url + "/" + MANIFEST_NAME)


def plan_cloud(session: OrgSession, options: ExportOptions, *, dest: CloudDest,
               **kwargs: Any) -> BackupPlan:
    """``plan_backup`` (``--dry-run``) of an export to ``dest``: the bucket's manifest, when
    there is one, downloaded to a spool to count what is complete; nothing is written to
    the bucket. ``kwargs`` as plan_backup's."""
    publisher = CloudPublisher.start(dest)
    try:
        try:
            found = plan_backup(session, replace(options, dest=publisher.spool), **kwargs)
        except UsageError as exc:
            exc.message = exc.message.replace(str(publisher.spool), dest.remote.url)
            raise
    finally:
        publisher.close()
    return replace(found, dest=dest.remote.url)


@dataclass(frozen=True)
class Mirror:
    """An export in a bucket, downloaded for ``archive build`` (``downloaded``)."""

    directory: Path
    # Left in the bucket (bodies=False): the file bodies and weekly parts the manifest
    # lists, path → size listed there, and the Sent records of those sent in parts.
    elsewhere: dict[str, int]
    sent: dict[str, Sent]


@contextlib.contextmanager
def downloaded(dest: CloudDest, *, bodies: bool = True) -> Iterator[Mirror]:
    """The export in ``dest`` downloaded into a temporary directory (under TMPDIR), removed
    afterwards: what `export bulk --dest s3://… --archive` builds the archive from
    (``archive build`` reads a directory; docs/cloud-export.md, "--archive"). With
    ``bodies`` False, the file bodies and weekly parts stay in the bucket (``elsewhere``;
    copied inside the store, archive/upload.py); the manifest, describes and CSVs, which
    the database reads, are downloaded. Raises storage errors as one line."""
    found = listing(dest.fs, dest.remote)          # what the export just finished holds
    spool = Path(tempfile.mkdtemp(prefix=".sfexit-export.", suffix=".download"))
    try:
        left: set[str] = set()
        sent: dict[str, Sent] = {}
        if not bodies and MANIFEST_NAME in found:
            get(dest.fs, dest.remote, MANIFEST_NAME, spool)
            manifest = ManifestStore.load(spool).snapshot()
            left = ({f.path for f in manifest.files.values()}
                    | {w.path for w in manifest.weekly}) & set(found)
            sent = sent_in(dest, found)
        for relative in sorted(set(found) - {SENT_NAME} - left):
            get(dest.fs, dest.remote, relative, spool)
        yield Mirror(spool, {k: found[k] for k in sorted(left)},
                     {k: v for k, v in sent.items() if k in left})
    finally:
        shutil.rmtree(spool, ignore_errors=True)


def sent_in(dest: CloudDest, found: Mapping[str, int]) -> dict[str, Sent]:
    """The Sent records (SENT_NAME) of the export in ``dest`` (``found``: what its prefix
    holds, listed); none when it has no such file or the file is not JSON (the bucket is not
    trusted: those files are proven another way)."""
    if SENT_NAME not in found:
        return {}
    try:
        return sent_records(json.loads(read(dest.fs, dest.remote, SENT_NAME)))
    except ValueError:
        return {}


def require_export(dest: CloudDest) -> None:
    """UsageError (exit 2) unless ``dest`` holds an export (its manifest.json)."""
    if MANIFEST_NAME not in dest.found:
        raise UsageError(f"{dest.remote.url} holds no sfexit export (no {MANIFEST_NAME})",
                         hint="give the --dest of `sfexit export bulk`")


def verify_cloud(dest: CloudDest, **kwargs: Any) -> VerifyReport:
    """``verify_backup`` of the export in ``dest``: its manifest, then each file it lists
    downloaded into a spool, checked, and deleted, one at a time (local disk: the largest
    file; every byte re-read from the bucket). ``kwargs`` as verify_backup's. Raises
    UsageError when the prefix holds no manifest.json, storage errors as one line."""
    require_export(dest)
    spool = Path(tempfile.mkdtemp(prefix=".sfexit-verify.", suffix=".spool"))

    @contextlib.contextmanager
    def fetched(relative: str) -> Iterator[None]:
        if relative in dest.found:        # absent: verify_backup names it missing
            get(dest.fs, dest.remote, relative, spool)
        try:
            yield
        finally:
            (spool / relative).unlink(missing_ok=True)

    try:
        get(dest.fs, dest.remote, MANIFEST_NAME, spool)
        report = verify_backup(spool, fetch=fetched, **kwargs)
    finally:
        shutil.rmtree(spool, ignore_errors=True)
    return replace(report, directory=dest.remote.url)
