"""``sfexit export verify DIR``: the completeness proof of a backup.

Recomputes, from the files on disk, every SHA-256, size and CSV row count the manifest lists
and compares them, and checks every record of every CSV has its header's column count and the
file ends outside quotes (``csvshape.scan_csv``); with a session (``--against-org``) also compares each object's row count
with ``SELECT COUNT()`` in the org (queryAll when the object was exported with deleted rows)
and the number and bytes of file bodies, and counts per object the records changed in the org
since the export started (``SystemModstamp`` after the manifest's ``started_at``: one COUNT()
per object). Every skipped object is listed with its reason. ``VerifyReport.ok`` is what
decides the exit code (0 match, 1 "verification failed"); changed records do not: the backup
is what it says, but no longer the org's present state.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path

from sfexit import errors
from sfexit.export.schedule import PER_PARENT
from sfexit.export.csvshape import scan_csv
from sfexit.export.delta import MODSTAMP
from sfexit.export.files_listing import SOURCES, file_filter
from sfexit.export.manifest import Manifest, ManifestStore, ObjectEntry, SkippedObject
from sfexit.ondisk import file_digest
from sfexit.org import soql
from sfexit.org.rest import RestClient
from sfexit.org.session import OrgSession

IN_CLAUSE_BYTES = 10_000


@dataclass(frozen=True)
class Difference:
    """One mismatch. On-disk checks: expected = the manifest, actual = the disk. Org checks:
    expected = the org, actual = the backup."""

    kind: str          # "object" | "file" | "weekly" | "org-rows" | "org-files"
    name: str
    what: str          # "missing", "sha256", "bytes", "rows", "count", "shape"
    expected: str
    actual: str


@dataclass(frozen=True)
class VerifyReport:
    directory: Path | str        # a directory, or a cloud URL (export/cloud.py)
    manifest_sha256: str
    objects_checked: int
    files_checked: int
    weekly_checked: int
    rows: int
    against_org: bool
    differences: tuple[Difference, ...]
    skipped: tuple[SkippedObject, ...]
    notes: tuple[str, ...] = ()
    files_bytes: int = 0
    started_at: str = ""        # the export's start (manifest.json)
    # --against-org: per object, the records whose SystemModstamp is after the export's
    # start (None: the object cannot be counted that way, e.g. it has no SystemModstamp)
    changed_since: dict[str, int | None] | None = None

    @property
    def changed(self) -> int:
        return sum(n for n in (self.changed_since or {}).values() if n)

    @property
    def ok(self) -> bool:
        return not self.differences


# Logs the org appends to on its own, including for the logins and setup changes sfexit itself
# makes (export-pitfalls.md F; users-protocol.md section 6): growth after the export is expected,
# a shrink is still a difference.
APPEND_ONLY_LOGS = frozenset({"LoginHistory", "SetupAuditTrail"})


def _on_disk(_relative: str) -> AbstractContextManager[None]:
    return contextlib.nullcontext()


def verify_backup(directory: Path, *, session: OrgSession | None = None,
                  on_progress: Callable[[str], None] | None = None,
                  changes: bool = True,
                  fetch: Callable[[str], AbstractContextManager[None]] = _on_disk
                  ) -> VerifyReport:
    """``changes``: with a session, also count the records changed since the export started
    (one COUNT() per object; the offboard, verifying the export it has just made, leaves it
    out). ``fetch(relative)`` puts ``directory / relative`` there while it is checked (a cloud
    export: export/cloud.py; one file at a time). Raises UsageError when ``directory`` holds
    no readable manifest; org errors with a session (AuthError, ConnectionFailed,
    ApiLimitError)."""
    store = ManifestStore.load(directory)
    manifest = store.snapshot()
    note = on_progress or (lambda _name: None)
    diffs: list[Difference] = []
    rows = 0
    for entry in manifest.objects.values():
        note(entry.file)
        rows += entry.rows
        with fetch(entry.file):
            diffs += _check_object(Path(directory), entry)
    for f in manifest.files.values():
        with fetch(f.path):
            diffs += _check_blob(Path(directory), "file", f.key, f.path, f.size, f.sha256)
    for w in manifest.weekly:
        with fetch(w.path):
            diffs += _check_blob(Path(directory), "weekly", w.name, w.path, w.size, w.sha256)
    notes: list[str] = []
    changed: dict[str, int | None] | None = None
    if session is not None:
        rest = RestClient(session)
        changed = {} if changes else None
        for entry in manifest.objects.values():
            note(f"COUNT() {entry.name}")
            diffs += _org_rows(rest, entry, notes)
            if changed is not None:
                changed[entry.name] = _changed_since(rest, entry, manifest.started_at)
        diffs += _org_files(rest, manifest)
    return VerifyReport(directory=Path(directory), manifest_sha256=store.manifest_sha256(),
                        objects_checked=len(manifest.objects), files_checked=len(manifest.files),
                        weekly_checked=len(manifest.weekly), rows=rows,
                        against_org=session is not None, differences=tuple(diffs),
                        skipped=tuple(manifest.skipped), notes=tuple(notes),
                        files_bytes=sum(f.size for f in manifest.files.values()),
                        started_at=manifest.started_at, changed_since=changed)


def _check_object(directory: Path, entry: ObjectEntry) -> list[Difference]:
    path = directory / entry.file
    if not path.is_file():
        return [Difference("object", entry.name, "missing", entry.file, "no such file")]
    facts = scan_csv(path)
    out = []
    if facts.size != entry.bytes:
        out.append(Difference("object", entry.name, "bytes", str(entry.bytes), str(facts.size)))
    if facts.sha256 != entry.sha256:
        out.append(Difference("object", entry.name, "sha256", entry.sha256, facts.sha256))
    if facts.rows != entry.rows:
        out.append(Difference("object", entry.name, "rows", str(entry.rows), str(facts.rows)))
    if facts.problem is not None:
        # Checked apart from the manifest: a file listed with the sha256 of a malformed
        # CSV (a cut page, a row with an extra column) is still named, with the record.
        out.append(Difference("object", entry.name, "shape", "well-formed CSV",
                              f"{entry.file}: {facts.problem}"))
    return out


def _check_blob(directory: Path, kind: str, name: str, relative: str, size: int,
                sha256: str) -> list[Difference]:
    path = directory / relative
    if not path.is_file():
        return [Difference(kind, name, "missing", relative, "no such file")]
    found_size, found_sha = file_digest(path)
    out = []
    if found_size != size:
        out.append(Difference(kind, name, "bytes", str(size), str(found_size)))
    if found_sha != sha256:
        out.append(Difference(kind, name, "sha256", sha256, found_sha))
    return out


def _org_rows(rest: RestClient, entry: ObjectEntry, notes: list[str]) -> list[Difference]:
    try:
        counted = _org_count(rest, entry)
    except errors.SalesforceError as exc:
        return [Difference("org-rows", entry.name, "count",
                           f"not countable: {exc.error_code or exc.message}", str(entry.rows))]
    if entry.name in APPEND_ONLY_LOGS and counted > entry.rows:
        notes.append(f"{entry.name}: {counted - entry.rows} rows added in the org since the "
                     "export (an append-only log; logging in to verify adds to it)")
        return []
    if counted != entry.rows:
        return [Difference("org-rows", entry.name, "rows", str(counted), str(entry.rows))]
    return []


def _changed_since(rest: RestClient, entry: ObjectEntry, started_at: str) -> int | None:
    """Records of ``entry``'s object modified in the org after the export started: the
    export holds their earlier state. SystemModstamp is indexed and on nearly every object
    (export-pitfalls.md F: the first delta key; History rows lack it). None where it cannot be asked: a per-parent object
    (its COUNT() needs the parents' ids), an append-only log, an unreadable start, no such
    field."""
    if entry.method == "per-parent" or entry.name in APPEND_ONLY_LOGS:
        return None
    try:
        since = dt.datetime.fromisoformat(started_at.replace("Z", "+00:00"))
    except ValueError:
        return None
    if since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    where = [soql.condition("SystemModstamp", ">", since)]
    try:
        # queryAll when the export read deleted rows (always in a delta, delta.py): a record
        # deleted since is a change too. A delta's started_at is its window's end (its own
        # start): what it read from the window's start on is in it, not changed since.
        return rest.count(soql.count(entry.name, where=where),
                          include_deleted=entry.include_deleted)
    except errors.SalesforceError:
        return None


def _org_count(rest: RestClient, entry: ObjectEntry) -> int:
    """The org's rows of what the entry read: all of them, or in a delta those changed since
    its window's start (delta.py): a delta verified later counts what changed since it."""
    if entry.since is not None:
        start = dt.datetime.fromisoformat(entry.since)
        return rest.count(soql.count(entry.name, where=[soql.condition(MODSTAMP, ">=", start)]),
                          include_deleted=entry.include_deleted)
    if entry.method != "per-parent":
        return rest.count(soql.count(entry.name), include_deleted=entry.include_deleted)
    field, parent = PER_PARENT[entry.name]
    ids = (str(r["Id"]) for r in rest.query_iter(soql.select(parent, ["Id"]),
                                                 include_deleted=entry.include_deleted))
    return sum(rest.count(soql.count(entry.name, where=[clause]),
                          include_deleted=entry.include_deleted)
               for clause in soql.chunked_in(field, ids, IN_CLAUSE_BYTES))


def _org_files(rest: RestClient, manifest: Manifest) -> list[Difference]:
    """Number and bytes of file bodies per object, listed vs in the org (only for objects whose
    files the backup holds). ContentVersion counts latest versions unless the backup holds more
    (``--all-versions``)."""
    out: list[Difference] = []
    for source in SOURCES:   # the files step's objects, size fields and filter
        sobject, size_field = source.object, source.size_field
        listed = [f for f in manifest.files.values() if f.object == sobject]
        if not listed:
            continue
        where = file_filter(source, all_versions=False)
        try:
            count = rest.count(soql.count(sobject, where=where))
            if sobject == "ContentVersion" and len(listed) > count:
                where = []
                count = rest.count(soql.count(sobject))
            total = sum_of(rest, sobject, size_field, where)
        except errors.SalesforceError as exc:
            out.append(Difference("org-files", sobject, "count",
                                  f"not countable: {exc.error_code or exc.message}",
                                  str(len(listed))))
            continue
        if count != len(listed):
            out.append(Difference("org-files", sobject, "count", str(count), str(len(listed))))
        size = sum(f.size for f in listed)
        if total is not None and total != size:
            out.append(Difference("org-files", sobject, "bytes", str(total), str(size)))
    return out


def sum_of(rest: RestClient, sobject: str, field: str, where: list[str]) -> int | None:
    """``SUM(field)`` over the matching rows (0 for none); None when the org answers no row."""
    rows = list(rest.query_iter(soql.select(sobject, [f"SUM({field})"], where=where)))
    if not rows:
        return None
    value = next(iter(rows[0].values()), None)
    return int(value) if value is not None else 0
