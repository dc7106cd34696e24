"""The files step of the backup: ContentVersion, Attachment and Document bodies under ``files/``.

Policy only; the wire is :mod:`sfexit.org.blobs`, the listing :mod:`files_listing`. For each
body:

- listed over REST query (``queryAll`` with ``include_deleted``), never all in memory;
- streamed to ``files/<Object>/<Id>-<safe name>.part``, SHA-256 and MD5 computed in the same
  pass, then checked against the org's metadata: size against ``ContentSize`` / ``BodyLength``,
  MD5 against ``ContentVersion.Checksum`` (Attachment and Document expose no checksum). The same
  checks sfdx-hardis makes in ``org/files/export.ts`` (STYLE.md);
- renamed into place and recorded in the manifest only then, so a ``.part`` is never complete;
- a mismatch is downloaded once more, then recorded ``complete=False`` and reported;
- on a rerun a file whose final path still hashes to its complete manifest entry is skipped
  without a call to the org.

Downloads run in a bounded pool (at most 20 at once: the issue's limit, well under the org's
25 concurrent long-running requests, limits.md) with at most ``2 × parallel`` files in flight, so
memory stays flat however many files the org holds.
"""

from __future__ import annotations

import hashlib
import os
import threading
import time
from collections.abc import Callable, Collection
from concurrent.futures import ALL_COMPLETED, FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path

from sfexit import errors
from sfexit.export.budget_gate import BudgetGate
from sfexit.export.data_run import Publisher
from sfexit.export.files_listing import FileRecord, count_files, list_files
from sfexit.export.manifest import FileEntry, ManifestStore
from sfexit.export.safe_names import safe_file_name
from sfexit.ondisk import file_sha256
from sfexit.org.blobs import download_blob
from sfexit.org.session import OrgSession

MAX_PARALLEL = 20
FILES_DIR = "files"
# Answers meaning "this body is not there to fetch" (deleted since listing, or in the recycle
# bin: REST serves no body for deleted rows, export-pitfalls.md).
GONE_CODES = frozenset({"ENTITY_IS_DELETED", "NOT_FOUND"})


@dataclass(frozen=True)
class FileProgress:
    """One step of the files download, for a progress bar (called from worker threads)."""

    event: str                 # "bytes" | "done" | "skipped" | "failed" | "unavailable"
    object: str
    id: str
    bytes: int                 # bytes of this event (a chunk), 0 for the others
    files_done: int            # files finished so far (any outcome)
    files_total: int           # from COUNT() before the downloads start


@dataclass(frozen=True)
class FileProblem:
    object: str
    id: str
    name: str
    reason: str


@dataclass(frozen=True)
class FilesSummary:
    listed: int
    downloaded: int            # fetched in this run and verified
    skipped: int               # already complete and verified on disk: no call made
    bytes_downloaded: int
    failed: tuple[FileProblem, ...] = ()
    unavailable: tuple[FileProblem, ...] = ()   # deleted or gone: the org serves no body
    retries: int = 0           # extra GETs (broken bodies, mismatches)
    paused: int = 0            # not fetched: the limits' reserve (budget_gate.py); a rerun does

    @property
    def ok(self) -> bool:
        return not self.failed


def export_files(session: OrgSession, dest: Path, manifest: ManifestStore, *,
                 all_versions: bool = False, include_deleted: bool = False, parallel: int = 8,
                 on_progress: Callable[[FileProgress], None] | None = None,
                 budget: BudgetGate | None = None,
                 publisher: Publisher | None = None,
                 objects: Collection[str] | None = None) -> FilesSummary:
    """Download every body into ``dest/files``, verified, recorded in ``manifest``.

    Per-file failures (mismatch after a retry, access refused) are in the summary; the run
    stops with the error for what concerns all files: AuthError, ApiLimitError,
    ConnectionFailed, and whatever ``on_progress`` raises (files in flight stay ``.part``).
    With ``budget`` (budget_gate.py) no body is started once the limits' reserve would be
    crossed: the summary says ``paused`` and a rerun fetches the rest.
    With ``objects`` (an export's ``--objects``) only the bodies of the file objects among them
    (files_listing.sources).
    With ``publisher`` (a cloud --dest, cloud.py) each verified body is sent on and deleted
    from ``dest`` before it is recorded, and the manifest sent after each batch; a rerun skips
    a body the destination holds with the listed size and SHA-256.
    Raises UsageError when ``parallel`` is outside 1–20.
    """
    if not 1 <= parallel <= MAX_PARALLEL:
        raise errors.UsageError(f"--parallel must be between 1 and {MAX_PARALLEL}, "
                                f"got {parallel}")
    # The total is only for a progress bar: without one, spare the COUNT() calls.
    total = count_files(session, all_versions=all_versions, include_deleted=include_deleted,
                        objects=objects) if on_progress else 0
    run = _Run(session, Path(dest), manifest, total, on_progress, publisher)
    run.budget = budget
    with ThreadPoolExecutor(max_workers=parallel, thread_name_prefix="sfexit-files") as pool:
        pending: set[Future[None]] = set()
        try:
            for record in list_files(session, all_versions=all_versions,
                                     include_deleted=include_deleted, objects=objects):
                if len(pending) >= 2 * parallel:
                    pending = _drain(pending, FIRST_COMPLETED)
                pending.add(pool.submit(run.fetch, record))
            _drain(pending, ALL_COMPLETED)
        except BaseException:
            run.stop.set()  # workers stop at their next chunk; their .part files stay .part
            for future in pending:
                future.cancel()
            raise
        finally:
            pool.shutdown(wait=True)
            run.recorder.flush()  # files finished before an interruption stay recorded
    return run.summary()


def _drain(pending: set[Future[None]], until: str) -> set[Future[None]]:
    """Wait (for one, or for all); re-raise the first worker error."""
    done, rest = wait(pending, return_when=until)
    for future in done:
        future.result()
    return rest


class _Recorder:
    """Puts finished entries into the manifest in groups (``ManifestStore.put_files``).

    Rewriting and fsyncing the whole manifest for every file, under one lock, set the pace of
    the parallel download (bench/RESULTS.md: 6 s of 8). Entries are written when ``BATCH`` are
    waiting or ``max_delay`` seconds passed, and always before export_files returns or raises.
    Only files already renamed into place are added, so a crash loses at most that window:
    those files are complete on disk but unrecorded and a rerun fetches them again; nothing
    unverified or absent is ever recorded as complete.
    """

    BATCH = 64

    def __init__(self, manifest: ManifestStore, max_delay: float = 0.5,
                 clock: Callable[[], float] = time.monotonic,
                 after_write: Callable[[], None] | None = None) -> None:
        self.manifest = manifest
        self.after_write = after_write
        self.max_delay, self.clock = max_delay, clock
        self.pending: list[FileEntry] = []
        self.lock = threading.Lock()
        self.write_lock = threading.Lock()
        self.last = clock()

    def add(self, entry: FileEntry) -> None:
        with self.lock:
            self.pending.append(entry)
            due = len(self.pending) >= self.BATCH or self.clock() - self.last >= self.max_delay
        if due:
            self.flush()

    def flush(self) -> None:
        with self.write_lock:
            with self.lock:
                batch, self.pending = self.pending, []
                self.last = self.clock()
            if batch:
                self.manifest.put_files(batch)
                if self.after_write is not None:
                    self.after_write()


class _Stopped(Exception):
    """Another worker failed or the run was interrupted: leave this file as .part."""


@dataclass
class _Tally:
    listed: int = 0
    downloaded: int = 0
    skipped: int = 0
    bytes: int = 0
    retries: int = 0
    paused: int = 0
    done: int = 0
    failed: list[FileProblem] = field(default_factory=list)
    unavailable: list[FileProblem] = field(default_factory=list)


class _Run:
    """State shared by the workers of one export_files call."""

    def __init__(self, session: OrgSession, dest: Path, manifest: ManifestStore, total: int,
                 on_progress: Callable[[FileProgress], None] | None,
                 publisher: Publisher | None = None) -> None:
        self.session, self.dest, self.manifest, self.total = session, dest, manifest, total
        self.on_progress = on_progress
        self.publisher = publisher
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.tally = _Tally()
        self.recorder = _Recorder(manifest, after_write=publisher.put_manifest
                                  if publisher is not None else None)
        self.budget: BudgetGate | None = None

    def summary(self) -> FilesSummary:
        t = self.tally
        return FilesSummary(listed=t.listed, downloaded=t.downloaded, skipped=t.skipped,
                            bytes_downloaded=t.bytes, failed=tuple(t.failed),
                            unavailable=tuple(t.unavailable), retries=t.retries,
                            paused=t.paused)

    def fetch(self, record: FileRecord) -> None:
        if self.stop.is_set():
            raise _Stopped()
        with self.lock:
            self.tally.listed += 1
        relative = Path(FILES_DIR, record.object, safe_file_name(record.id, record.name))
        final = self.dest / relative
        if self._still_verified(self.manifest.file_entry(record.key), final, relative,
                                record):
            self._finish(record, "skipped")
            return
        if self.budget is not None and not self.budget.admit_file():
            with self.lock:
                self.tally.paused += 1   # a body already complete costs nothing: asked after
            return
        final.parent.mkdir(parents=True, exist_ok=True)
        try:
            entry = self._download_verified(record, final, relative.as_posix())
        except errors.SalesforceError as exc:
            gone = exc.error_code in GONE_CODES
            reason = exc.one_line()
            if exc.error_code and exc.error_code not in reason:
                reason = f"{exc.error_code}: {reason}"
            problem = FileProblem(record.object, record.id, record.name, reason)
            self._finish(record, "unavailable" if gone else "failed", problem)
            return
        if self.publisher is not None:   # sent (and gone from dest) before it is recorded
            self.publisher.send_file(entry.path, entry.sha256)
        self.recorder.add(entry)
        if entry.complete:
            self._finish(record, "done")
        else:
            self._finish(record, "failed", FileProblem(
                record.object, record.id, record.name, _mismatch_reason(entry, record)))

    def _still_verified(self, entry: FileEntry | None, final: Path, relative: Path,
                        record: FileRecord) -> bool:
        if self.publisher is None:
            return _still_verified(entry, final, relative, record)
        return (_same_metadata(entry, relative, record) and entry is not None
                and self.publisher.holds_file(entry.path, entry.size, entry.sha256))

    def _download_verified(self, record: FileRecord, final: Path, relative: str) -> FileEntry:
        part = final.with_name(final.name + ".part")
        entry: FileEntry | None = None
        for attempt in (1, 2):  # a mismatch is fetched once more: it may be a bad transfer
            sink = _HashingFile(part, self._on_bytes(record))
            try:
                result = download_blob(self.session, record.object, record.id, sink)
            except errors.SalesforceError:
                sink.close()
                part.unlink(missing_ok=True)  # nothing was served: leave no empty .part
                raise
            finally:
                sink.close()
            with self.lock:
                self.tally.retries += result.attempts - 1 + (attempt - 1)
            size_match = record.size is None or sink.size == record.size
            md5_match = None if record.md5 is None else sink.md5 == record.md5
            entry = FileEntry(object=record.object, id=record.id, parent_id=record.parent_id,
                              name=record.name, path=relative, size=sink.size,
                              sha256=sink.sha256, md5=record.md5, md5_match=md5_match,
                              size_match=size_match,
                              complete=size_match and md5_match is not False)
            if entry.complete:
                break
        assert entry is not None
        # The bytes are kept even when they do not verify (the entry says complete=False), so
        # the person can look at what the org served.
        os.replace(part, final)
        with self.lock:
            self.tally.bytes += entry.size
        return entry

    def _on_bytes(self, record: FileRecord) -> Callable[[int], None]:
        def report(n: int) -> None:
            if self.stop.is_set():
                raise _Stopped()
            self._emit("bytes", record, n)
        return report

    def _finish(self, record: FileRecord, event: str, problem: FileProblem | None = None) -> None:
        with self.lock:
            self.tally.done += 1
            if event == "done":
                self.tally.downloaded += 1
            elif event == "skipped":
                self.tally.skipped += 1
            elif event == "unavailable" and problem:
                self.tally.unavailable.append(problem)
            elif problem:
                self.tally.failed.append(problem)
        self._emit(event, record, 0)

    def _emit(self, event: str, record: FileRecord, n: int) -> None:
        if self.on_progress is None:
            return
        with self.lock:  # one caller at a time: progress bars are not thread-safe
            self.on_progress(FileProgress(event, record.object, record.id, n,
                                          self.tally.done, self.total))


class _HashingFile:
    """A BlobSink writing to a ``.part`` file and hashing (SHA-256, MD5) in the same pass."""

    def __init__(self, path: Path, on_bytes: Callable[[int], None]) -> None:
        self.path = path
        self.on_bytes = on_bytes
        self.fh = open(path, "wb")  # noqa: SIM115 - closed by close(), also on errors
        self.restart()

    def restart(self) -> None:
        self.fh.seek(0)
        self.fh.truncate()
        self._sha256 = hashlib.sha256()
        self._md5 = hashlib.md5(usedforsecurity=False)  # compared with the org's Checksum only
        self.size = 0

    def write(self, chunk: bytes) -> None:
        self.fh.write(chunk)
        self._sha256.update(chunk)
        self._md5.update(chunk)
        self.size += len(chunk)
        self.on_bytes(len(chunk))

    def close(self) -> None:
        if not self.fh.closed:
            self.fh.flush()
            os.fsync(self.fh.fileno())  # durable before the rename makes it count
            self.fh.close()

    @property
    def sha256(self) -> str:
        return self._sha256.hexdigest()

    @property
    def md5(self) -> str:
        return self._md5.hexdigest()


def _still_verified(entry: FileEntry | None, final: Path, relative: Path,
                    record: FileRecord) -> bool:
    """A complete manifest entry for the same org metadata whose file still hashes the same."""
    if not _same_metadata(entry, relative, record):
        return False
    assert entry is not None
    try:
        if final.stat().st_size != entry.size:
            return False
        return file_sha256(final) == entry.sha256
    except OSError:
        return False


def _same_metadata(entry: FileEntry | None, relative: Path, record: FileRecord) -> bool:
    """A complete manifest entry for the org's file as it is now listed."""
    if entry is None or not entry.complete or entry.path != relative.as_posix():
        return False
    if record.size is not None and entry.size != record.size:
        return False  # the org's file changed since (a new size): fetch it again
    return record.md5 is None or entry.md5 == record.md5


def _mismatch_reason(entry: FileEntry, record: FileRecord) -> str:
    parts = []
    if not entry.size_match:
        parts.append(f"size {entry.size} bytes, the org says {record.size}")
    if entry.md5_match is False:
        parts.append("MD5 differs from the org's Checksum")
    return "; ".join(parts) + " (downloaded twice; kept at " + entry.path + ")"
