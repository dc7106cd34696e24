"""``sfexit archive verify ARCHIVE``: stock BagIt validation plus sfexit's own checks.

1. the bag (``bagit``): structure, Payload-Oxum, completeness, the SHA-256 of every payload
   and tag file (the database, its metadata and index.html are tag files);
2. the export in ``data/`` against its own ``manifest.json`` (``sfexit export verify``:
   sizes, SHA-256 and CSV row counts recomputed);
3. ``archive.sqlite``: every object's table holds the manifest's row count, and every file of
   the manifest is in ``_sfexit_files`` with the manifest's SHA-256.
Any problem names its file; ``ok`` decides the exit code (0, or 1 "verification failed").
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

from sfexit.archive.bag import validate
from sfexit.archive.build import PAYLOAD
from sfexit.archive.chain import bagged_deltas, delta_prefix, expected_rows
from sfexit.archive.database import DATABASE_NAME, FILES_TABLE
from sfexit.archive.source import ExportSource
from sfexit.errors import UsageError
from sfexit.export.manifest import MANIFEST_NAME, Manifest, ManifestStore
from sfexit.export.verify import verify_backup


@dataclass(frozen=True)
class Problem:
    check: str          # "bag" | "export" | "database"
    name: str           # the file, table or record concerned
    detail: str


@dataclass(frozen=True)
class ArchiveVerifyReport:
    archive: str                # the directory, or the cloud URL (destination.py)
    objects_checked: int
    rows: int
    files_checked: int
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_archive(archive: Path) -> ArchiveVerifyReport:
    """Raises UsageError when ``archive`` is not a directory holding a bag of an export."""
    archive = Path(archive)
    if not (archive / "bagit.txt").is_file() or not (archive / PAYLOAD / MANIFEST_NAME).is_file():
        raise UsageError(f"{archive} is not an sfexit archive (no bagit.txt or "
                         f"{PAYLOAD}/{MANIFEST_NAME})",
                         hint="give the --out of `sfexit archive build`")
    problems = [Problem("bag", path, message) for path, message in validate(archive)]
    manifest = ManifestStore.load(archive / PAYLOAD).snapshot()
    export = verify_backup(archive / PAYLOAD)
    paths = _paths(manifest)
    problems += [Problem("export", paths.get((d.kind, d.name), d.name),
                         f"{d.what}: expected {d.expected}, found {d.actual}")
                 for d in export.differences]
    deltas = bagged_deltas(archive / PAYLOAD)
    for n, delta in enumerate(deltas, 1):
        problems += [Problem("export", f"{PAYLOAD}/{delta_prefix(n)}{d.name}",
                             f"{d.what}: expected {d.expected}, found {d.actual}")
                     for d in verify_backup(delta.directory).differences]
    expected = expected_rows(ExportSource(archive / PAYLOAD, manifest), deltas)
    problems += _database(archive / DATABASE_NAME, manifest, expected)
    return ArchiveVerifyReport(str(archive), export.objects_checked, export.rows,
                               export.files_checked, tuple(problems))


def _paths(manifest: Manifest) -> dict[tuple[str, str], str]:
    """(kind, name) of a Difference of ``export verify`` → its path in the bag."""
    out = {("object", o.name): f"{PAYLOAD}/{o.file}" for o in manifest.objects.values()}
    out.update({("file", key): f"{PAYLOAD}/{f.path}" for key, f in manifest.files.items()})
    out.update({("weekly", w.name): f"{PAYLOAD}/{w.path}" for w in manifest.weekly})
    return out


def _database(path: Path, manifest: Manifest, expected: dict[str, int]) -> list[Problem]:
    if not path.is_file():
        return [Problem("database", DATABASE_NAME, "missing")]
    # Read-only and immutable: verifying never writes a journal into the bag.
    conn = sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro&immutable=1", uri=True)
    try:
        return _counts(conn, expected) + _files(conn, manifest)
    except sqlite3.DatabaseError as exc:
        return [Problem("database", DATABASE_NAME, f"unreadable: {exc}")]
    finally:
        conn.close()


def _counts(conn: sqlite3.Connection, expected: dict[str, int]) -> list[Problem]:
    """Every table holds the manifest's rows (with deltas: chain.expected_rows)."""
    tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    out = []
    for name, wanted in sorted(expected.items()):
        if name not in tables:
            out.append(Problem("database", name, "table missing"))
            continue
        rows = conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0]
        if rows != wanted:
            out.append(Problem("database", name, f"rows: manifest {wanted}, table {rows}"))
    return out


def _files(conn: sqlite3.Connection, manifest: Manifest) -> list[Problem]:
    stored = {(o, i): s for o, i, s in conn.execute(
        f"SELECT DISTINCT object, id, sha256 FROM {FILES_TABLE}")}
    out = []
    for _key, f in sorted(manifest.files.items()):
        found = stored.pop((f.object, f.id), None)
        if found is None:
            out.append(Problem("database", f"{PAYLOAD}/{f.path}", f"not in {FILES_TABLE}"))
        elif found != f.sha256:
            out.append(Problem("database", f"{PAYLOAD}/{f.path}",
                               f"{FILES_TABLE}.sha256 {found} is not the manifest's {f.sha256}"))
    out += [Problem("database", f"{o}/{i}", f"in {FILES_TABLE}, not in the manifest")
            for o, i in sorted(stored)]
    return out
