"""``manifest.json``: what a backup holds and how to prove it (schema in docs/manifest.md).

Three writers share one manifest: the Bulk/REST data step (``export/bulk.py``), the files step
(``export/files.py``) and the weekly Data Export Service step (``export/weekly.py``). They all go
through :class:`ManifestStore`, whose update methods are thread-safe and rewrite the whole file
atomically (temp file + fsync + ``os.replace``): Ctrl-C or a crash leaves either the previous
manifest or the new one, never half of one. An entry is put only once its file is complete and
renamed into place, so "in the manifest" means "complete on disk" (verify.py checks it).

Finished objects are group-committed (:meth:`ManifestStore.put_object`): the file is rewritten
at most every :data:`GROUP_SECONDS`, and at once by every other update (usage, pause, finish,
permissions, files), by :meth:`ManifestStore.flush` and when the window ends. Rewriting and
fsyncing the whole manifest under the lock for each object cost a run of 54 objects ~54 full
rewrites (issue 23, client CPU). A crash inside a window loses at most that window's entries:
their files are on disk but unlisted, and a rerun reads those objects again (never trusts them).

Usage::

    store = ManifestStore.open_or_create(dest, org_id=..., org_name=..., api_version=...)
    store.put_object(ObjectEntry(...))
    store.put_files([FileEntry(...), ...])     # one atomic write for many files
    store.finish(api_calls=session.calls)
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import threading
import time
import typing
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sfexit import __version__
from sfexit.errors import UsageError
from sfexit.export import manifest_schema as schema
from sfexit.ondisk import atomic_write

SCHEMA_VERSION = 1
MANIFEST_NAME = "manifest.json"

METHODS = ("bulk", "rest", "per-parent")
GROUP_SECONDS = 1.0   # the longest a finished object waits to be written (module docstring)


@dataclass(frozen=True)
class SkippedField:
    name: str
    reason: str


@dataclass(frozen=True)
class ObjectEntry:
    """One object's data file ``data/<Object>.csv``, complete and hashed."""

    name: str
    method: str                      # "bulk" | "rest" | "per-parent"
    query: str                       # the SOQL (for per-parent: without the IN list)
    job_ids: list[str]               # Bulk 2.0 job ids (empty for REST)
    rows: int                        # data rows (header not counted)
    bytes: int                       # size of the CSV file on disk
    sha256: str                      # of the CSV file on disk
    file: str                        # relative to the backup dir, "data/Account.csv"
    skipped_fields: list[SkippedField] = field(default_factory=list)
    complete: bool = True
    include_deleted: bool = False
    # A delta (``export bulk --since``): the SystemModstamp lower bound of ``query`` (ISO 8601,
    # UTC); None when every row was read (a full export, or an object without SystemModstamp
    # re-exported whole in a delta). Absent from older manifests.
    since: str | None = None


@dataclass(frozen=True)
class BaseExport:
    """What a delta export (``export bulk --since BASE``) was taken against (docs/manifest.md)."""

    path: str                        # the base export's directory, as given to --since
    manifest_sha256: str             # of the base's manifest.json when the delta started
    start: str                       # window start: the base's started_at minus the overlap
    end: str                         # window end: this delta's started_at
    overlap_seconds: int             # the margin taken off the base's start (delta.py)


@dataclass(frozen=True)
class SkippedObject:
    name: str
    reason: str


@dataclass(frozen=True)
class FileEntry:
    """One file body (ContentVersion, Attachment, Document) under ``files/``."""

    object: str                      # "ContentVersion" | "Attachment" | "Document"
    id: str
    parent_id: str | None
    name: str                        # as in the org
    path: str                        # relative, "files/ContentVersion/068…-name.pdf"
    size: int
    sha256: str
    md5: str | None                  # the org's Checksum (ContentVersion), when it has one
    md5_match: bool | None           # None when the org gives no checksum
    size_match: bool
    complete: bool = True

    @property
    def key(self) -> str:
        return f"{self.object}/{self.id}"


@dataclass(frozen=True)
class WeeklyPart:
    """One zip part of the Data Export Service, as downloaded."""

    name: str
    size: int
    sha256: str
    path: str
    # Optional (absent from manifests written before them; schema_version stays 1):
    file_id: str | None = None       # the part's 092… id in its download URL
    export_date: str | None = None   # ISO date of the export, as the page gives it


@dataclass
class Manifest:
    schema_version: int
    org_id: str
    org_name: str
    api_version: str
    tool_version: str
    started_at: str                  # ISO 8601, UTC
    finished_at: str | None
    # None: the org refused to show it (preflight.PreflightReport.recorded_permissions).
    permissions: dict[str, bool | None] = field(default_factory=dict)
    objects: dict[str, ObjectEntry] = field(default_factory=dict)
    skipped: list[SkippedObject] = field(default_factory=list)
    files: dict[str, FileEntry] = field(default_factory=dict)   # key "<Object>/<Id>"
    weekly: list[WeeklyPart] = field(default_factory=list)
    api_calls: int = 0
    bulk_jobs: int = 0
    base: BaseExport | None = None   # set on a delta export only
    # Set while the run is paused for the org's daily limits (export/budget.py): when, why,
    # when to resume, the plan's days. Cleared when a run opens it again.
    paused: dict[str, Any] | None = None

    def to_json(self) -> dict[str, Any]:
        """Objects, skipped objects and files in name order: the file does not depend on the
        order in which parallel work finished (so the same backup gives the same manifest)."""
        raw = dataclasses.asdict(self)
        raw["objects"] = dict(sorted(raw["objects"].items()))
        raw["skipped"] = sorted(raw["skipped"], key=lambda s: s["name"])
        raw["files"] = dict(sorted(raw["files"].items()))
        return raw

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Manifest:
        """Every field checked against its type (``manifest_schema.py``). Raises ValueError
        naming the field, KeyError, TypeError on a malformed document."""
        if not isinstance(raw, dict):
            raise ValueError("expected a JSON object")
        version = raw.get("schema_version")
        if version != SCHEMA_VERSION:
            raise ValueError(f"schema_version {version!r} (this sfexit reads {SCHEMA_VERSION})")
        hints = typing.get_type_hints(Manifest)
        top = {k: schema.check(raw[k], hints[k], k) for k in
               ("org_id", "org_name", "api_version", "tool_version", "started_at",
                "finished_at", "permissions", "api_calls", "bulk_jobs") if k in raw}

        def each(key: str) -> dict[str, Any]:
            return dict(schema.check(raw.get(key, {}), dict[str, Any], key))

        def listed(key: str) -> list[Any]:
            return list(schema.check(raw.get(key, []), list[Any], key))

        return cls(
            schema_version=version, org_id=raw["org_id"], org_name=top.get("org_name", ""),
            api_version=top.get("api_version", ""), tool_version=top.get("tool_version", ""),
            started_at=top.get("started_at", ""), finished_at=top.get("finished_at"),
            permissions=dict(top.get("permissions", {})),
            objects={name: schema.build(ObjectEntry, o, f"objects.{name}",
                                        {"skipped_fields": SkippedField})
                     for name, o in each("objects").items()},
            skipped=[schema.build(SkippedObject, s, f"skipped[{i}]")
                     for i, s in enumerate(listed("skipped"))],
            files={k: schema.build(FileEntry, f, f"files.{k}") for k, f in each("files").items()},
            weekly=[schema.build(WeeklyPart, w, f"weekly[{i}]")
                    for i, w in enumerate(listed("weekly"))],
            api_calls=top.get("api_calls", 0), bulk_jobs=top.get("bulk_jobs", 0),
            base=schema.build(BaseExport, raw["base"], "base") if raw.get("base") else None,
            paused=(dict(schema.check(raw["paused"], dict[str, Any], "paused"))
                    if raw.get("paused") else None))


def _same_base(directory: Path, held: BaseExport | None, wanted: BaseExport | None) -> None:
    """A resumed run continues the same kind of export: a delta of the same base (same
    manifest), or a full one."""
    same = (held is None and wanted is None) or (
        held is not None and wanted is not None
        and (held.manifest_sha256, held.start) == (wanted.manifest_sha256, wanted.start))
    if not same:
        what = f"a delta of {held.path}" if held else "a full backup"
        raise UsageError(f"{directory} already holds {what}",
                         hint="give a new --dest for this export")


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


class ManifestStore:
    """The one writer of ``<dir>/manifest.json``; share one instance between threads."""

    def __init__(self, directory: Path, manifest: Manifest) -> None:
        self.directory = Path(directory)
        self.path = self.directory / MANIFEST_NAME
        self._manifest = manifest
        self._lock = threading.RLock()
        self._written = float("-inf")                # time.monotonic() of the last write
        self._timer: threading.Timer | None = None   # set while entries wait to be written

    # --- opening -----------------------------------------------------------------------------

    @classmethod
    def load(cls, directory: Path) -> ManifestStore:
        """Raises UsageError when there is no manifest or it cannot be read."""
        path = Path(directory) / MANIFEST_NAME
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            manifest = Manifest.from_json(raw)
        except FileNotFoundError:
            raise UsageError(f"{path} does not exist",
                             hint="give the directory of a backup made by `sfexit export`") \
                from None
        except (ValueError, KeyError, TypeError) as exc:
            raise UsageError(f"{path} is not a readable sfexit manifest: {exc}") from None
        return cls(Path(directory), manifest)

    @classmethod
    def create(cls, directory: Path, *, org_id: str, org_name: str = "",
               api_version: str = "", base: BaseExport | None = None) -> ManifestStore:
        """A new, empty manifest, written at once (``base`` for a delta export)."""
        Path(directory).mkdir(parents=True, exist_ok=True)
        store = cls(Path(directory), Manifest(
            schema_version=SCHEMA_VERSION, org_id=org_id, org_name=org_name,
            api_version=api_version, tool_version=__version__,
            started_at=base.end if base else utc_now(), finished_at=None, base=base))
        store._write()
        return store

    @classmethod
    def open_or_create(cls, directory: Path, *, org_id: str, org_name: str = "",
                       api_version: str = "", base: BaseExport | None = None
                       ) -> ManifestStore:
        """The existing manifest (a resumed run) or a new one.

        Raises UsageError when the directory holds a backup of another org, or a delta of
        another base than ``base`` (or a full backup where a delta is asked, and back).
        """
        if (Path(directory) / MANIFEST_NAME).exists():
            store = cls.load(directory)
            if store.manifest.org_id and org_id and store.manifest.org_id != org_id:
                raise UsageError(
                    f"{directory} holds a backup of org {store.manifest.org_id}, not {org_id}",
                    hint="choose another --dest")
            _same_base(directory, store.manifest.base, base)
            with store._lock:
                store._manifest.finished_at = None
                store._manifest.paused = None   # running again: a pause is over
                store._manifest.tool_version = __version__
                if api_version:
                    store._manifest.api_version = api_version
                if org_name:
                    store._manifest.org_name = org_name
                store._write()
            return store
        return cls.create(directory, org_id=org_id, org_name=org_name, api_version=api_version,
                          base=base)

    # --- reading -----------------------------------------------------------------------------

    @property
    def manifest(self) -> Manifest:
        """The live manifest; treat it as read-only (copy before keeping it)."""
        return self._manifest

    def snapshot(self) -> Manifest:
        with self._lock:
            return Manifest.from_json(json.loads(json.dumps(self._manifest.to_json())))

    def object_entry(self, name: str) -> ObjectEntry | None:
        with self._lock:
            return self._manifest.objects.get(name)

    def file_entry(self, key: str) -> FileEntry | None:
        with self._lock:
            return self._manifest.files.get(key)

    def manifest_sha256(self) -> str:
        """SHA-256 of manifest.json as on disk (for the audit report), waiting entries
        written first."""
        with self._lock:
            self.flush()
            return hashlib.sha256(self.path.read_bytes()).hexdigest()

    # --- updating (each one rewrites manifest.json atomically) -------------------------------

    def put_object(self, entry: ObjectEntry) -> None:
        """Record a finished object: written now when the last write is GROUP_SECONDS old,
        else within that window (module docstring)."""
        if entry.method not in METHODS:
            raise ValueError(f"unknown method {entry.method!r}")
        with self._lock:
            self._manifest.objects[entry.name] = entry
            self._manifest.skipped = [s for s in self._manifest.skipped if s.name != entry.name]
            wait = self._written + GROUP_SECONDS - time.monotonic()
            if wait <= 0:
                self._write()
            elif self._timer is None:
                self._timer = threading.Timer(wait, self.flush)
                self._timer.daemon = True   # finish() or the failure path writes at the end
                self._timer.start()

    def flush(self) -> None:
        """Write the entries that wait (:meth:`put_object`), if any."""
        with self._lock:
            if self._timer is not None:
                self._write()

    def remove_object(self, name: str) -> None:
        """Forget an object whose file no longer verifies (it is being redone)."""
        with self._lock:
            if self._manifest.objects.pop(name, None) is not None:
                self._write()

    def put_file(self, entry: FileEntry) -> None:
        self.put_files([entry])

    def put_files(self, entries: Sequence[FileEntry]) -> None:
        """Record many finished files with one atomic write (the files step batches them).

        Rewriting and fsyncing the whole manifest once per file, under the lock, made the
        8-way download only 4.5x faster than sequential and grew quadratically with the number
        of files (bench/RESULTS.md). The caller passes only files already renamed into place,
        so a crash between two batches loses entries (a rerun fetches those files again), never
        records a file that is not there.
        """
        if not entries:
            return
        with self._lock:
            for entry in entries:
                self._manifest.files[entry.key] = entry
            self._write()

    def put_weekly(self, part: WeeklyPart) -> None:
        with self._lock:
            self._manifest.weekly = [w for w in self._manifest.weekly if w.name != part.name]
            self._manifest.weekly.append(part)
            self._write()

    def add_skipped(self, skipped: SkippedObject) -> None:
        with self._lock:
            self._manifest.skipped = [s for s in self._manifest.skipped
                                      if s.name != skipped.name] + [skipped]
            self._manifest.objects.pop(skipped.name, None)
            self._write()

    def set_org_name(self, name: str) -> None:
        """The org's name, when it is known after the manifest was opened (export/backup.py)."""
        with self._lock:
            if name and self._manifest.org_name != name:
                self._manifest.org_name = name
                self._write()

    def set_permissions(self, permissions: dict[str, bool | None]) -> None:
        with self._lock:
            self._manifest.permissions = dict(permissions)
            self._write()

    def add_usage(self, *, api_calls: int = 0, bulk_jobs: int = 0) -> None:
        """Add this run's calls and jobs (a resumed backup sums its runs)."""
        with self._lock:
            self._manifest.api_calls += api_calls
            self._manifest.bulk_jobs += bulk_jobs
            self._write()

    def pause(self, paused: dict[str, Any]) -> None:
        """Mark the run incomplete by the limits' budget (unfinished, ``paused`` says why)."""
        with self._lock:
            self._manifest.paused = dict(paused)
            self._write()

    def finish(self, *, api_calls: int = 0, bulk_jobs: int = 0) -> None:
        """Record this run's usage and the end time."""
        with self._lock:
            self._manifest.paused = None
            self._manifest.api_calls += api_calls
            self._manifest.bulk_jobs += bulk_jobs
            self._manifest.finished_at = utc_now()
            self._write()

    def _write(self) -> None:
        """Rewrite the file (under the lock): every waiting entry goes with it."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        data = json.dumps(self._manifest.to_json(), indent=2, ensure_ascii=False,
                          sort_keys=False).encode("utf-8") + b"\n"
        atomic_write(self.path, data)
        self._written = time.monotonic()
