"""Deltas in an archive: ``archive build LAST_DELTA`` follows the manifests' ``base`` pointers
back to the full export and applies every delta on top of it, oldest first (docs/archive.md).

- The chain: each delta's ``base.path`` (as given to ``--since``; when it no longer resolves,
  the directory of that name beside the delta) must hold the manifest whose SHA-256 the delta
  recorded, else UsageError: a base rewritten or resumed after its delta was taken.
- In the bag: the full export in ``data/`` as before, delta *n* (1 = the oldest) in
  ``data/deltas/<n>/``, each exactly as downloaded.
- In ``archive.sqlite``: a delta's rows are upserted by Id (the newest values win); a row the
  delta read with ``IsDeleted = true`` keeps its values and gets ``_sfexit_deleted_at`` (its
  SystemModstamp: when Salesforce recorded the deletion; the delta's start when the object has
  none): deleted rows are marked, never dropped. ``_sfexit_deltas`` lists the chain.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
import sqlite_utils

from sfexit.archive.columns import TablePlan, plan_table
from sfexit.archive.database import LOOKUP_TABLES, OBJECTS_TABLE, insert_rows
from sfexit.archive.source import ExportSource, open_export
from sfexit.errors import UsageError
from sfexit.export.manifest import MANIFEST_NAME, FileEntry, ManifestStore

DELTAS_DIR = "deltas"
DELTAS_TABLE = "_sfexit_deltas"
DELETED_AT = "_sfexit_deleted_at"
MAX_CHAIN = 1000   # a loop of pointers is refused long before


@dataclass(frozen=True)
class Chain:
    """The full export and its deltas, oldest first (``deltas`` empty for a full export)."""

    base: ExportSource
    deltas: tuple[ExportSource, ...]

    @property
    def exports(self) -> tuple[ExportSource, ...]:
        return (self.base, *self.deltas)


def open_chain(directory: Path) -> Chain:
    """The export in ``directory`` and, when it is a delta, every export it stands on.

    Raises UsageError for any export of the chain that ``open_export`` refuses, a base that
    is missing or not the one the delta recorded, or deltas of another org.
    """
    newest_first = [open_export(Path(directory))]
    while (ref := newest_first[-1].manifest.base) is not None:
        if len(newest_first) > MAX_CHAIN:
            raise UsageError(f"{directory}: the chain of bases loops")
        base_dir = _base_dir(newest_first[-1].directory, ref.path)
        base = open_export(base_dir)
        found = hashlib.sha256((base_dir / MANIFEST_NAME).read_bytes()).hexdigest()
        if found != ref.manifest_sha256:
            raise UsageError(f"{base_dir} is not the base the delta {newest_first[-1].directory} "
                             f"was taken against (manifest SHA-256 {found[:12]}…, recorded "
                             f"{ref.manifest_sha256[:12]}…)",
                             hint="give the base export exactly as it was when the delta ran")
        if base.manifest.org_id != newest_first[0].manifest.org_id:
            raise UsageError(f"{base_dir} is a backup of another org")
        newest_first.append(base)
    oldest_first = newest_first[::-1]
    return Chain(oldest_first[0], tuple(oldest_first[1:]))


def _base_dir(delta_dir: Path, recorded: str) -> Path:
    path = Path(recorded)
    if (path / MANIFEST_NAME).is_file():
        return path
    beside = delta_dir.resolve().parent / path.name
    if (beside / MANIFEST_NAME).is_file():
        return beside
    raise UsageError(f"the base {recorded} of the delta {delta_dir} is not there "
                     f"(nor {beside})", hint="put the base export back beside its delta")


def delta_prefix(n: int) -> str:
    """Where delta ``n`` (1 = oldest) sits in the bag's root before bagging."""
    return f"{DELTAS_DIR}/{n}/"


@dataclass(frozen=True)
class Applied:
    rows_read: dict[str, int]       # object → rows read from the delta's CSV
    tables: dict[str, int]          # object → rows in its table after the delta


def apply_delta(path: Path, delta: ExportSource, n: int, files: Mapping[str, FileEntry],
                bag_prefix: str) -> Applied:
    """Upsert delta ``n``'s rows into the database at ``path`` by Id (``INSERT OR REPLACE``
    through database.insert_rows, User and RecordType first: the restore-ready columns are
    looked up in them). ``files`` and ``bag_prefix`` are the full export's (a delta holds no
    file bodies). An object without Id in its CSV has nothing to upsert by: left out (it is
    still in the bag)."""
    db = sqlite_utils.Database(path)
    plans = _delta_plans(db, delta)
    read: dict[str, int] = {}
    deleted = 0
    for name in sorted(plans, key=lambda name: (name not in LOOKUP_TABLES, name)):
        plan, table = plans[name], db.table(name)
        if not table.exists():
            table.create({c.name: c.type for c in plan.columns}, pk=plan.pk)
        for column in plan.columns:
            if column.name not in table.columns_dict:
                table.add_column(column.name, column.type)
        if DELETED_AT not in table.columns_dict:
            table.add_column(DELETED_AT, str)
        gone = _deleted_at(delta, plan)
        read[name] = insert_rows(db, delta, plan, plans, files, bag_prefix,
                                 verb="INSERT OR REPLACE", extra=[(DELETED_AT, gone)])
        deleted += db.execute(f"SELECT count(*) FROM [{name}] WHERE [{DELETED_AT}] IS NOT NULL"
                              ).fetchone()[0]
    tables = {name: db.table(name).count for name in plans}
    base = delta.manifest.base
    assert base is not None
    with db.conn:
        for name, rows in tables.items():
            db.execute(f"UPDATE [{OBJECTS_TABLE}] SET rows = ? WHERE name = ?", [rows, name])
    db.table(DELTAS_TABLE).insert({
        "n": n, "bag_path": f"data/{delta_prefix(n)}", "manifest_sha256": _sha(delta.directory),
        "base_manifest_sha256": base.manifest_sha256, "window_start": base.start,
        "window_end": base.end, "overlap_seconds": base.overlap_seconds,
        "rows_upserted": sum(read.values()), "rows_marked_deleted": deleted},
        pk="n", alter=True)
    db.close()
    return Applied(read, tables)


def _delta_plans(db: sqlite_utils.Database, delta: ExportSource) -> dict[str, TablePlan]:
    headers = {name: delta.header(name) for name in sorted(delta.manifest.objects)}
    with_id = {name for name in db.table_names() if "Id" in db.table(name).columns_dict}
    with_id |= {name for name, header in headers.items() if "Id" in header}
    return {name: plan_table(name, header, delta.describe(name), with_id)
            for name, header in headers.items() if "Id" in header}


def _deleted_at(delta: ExportSource, plan: TablePlan) -> str:
    """SQL for ``_sfexit_deleted_at`` over the CSV's cells (?n is the n-th): the row's
    SystemModstamp when its IsDeleted is true, else NULL (a row undeleted is unmarked)."""
    header = [c.source for c in plan.columns if not c.derived]
    if "IsDeleted" not in header:
        return "NULL"
    started = delta.manifest.started_at.replace("'", "''")
    stamp = (f"NULLIF(?{header.index('SystemModstamp') + 1}, '')"
             if "SystemModstamp" in header else "NULL")
    return (f"CASE WHEN lower(?{header.index('IsDeleted') + 1}) = 'true' "
            f"THEN COALESCE({stamp}, '{started}') END")


def bagged_deltas(payload: Path) -> list[ExportSource]:
    """The deltas in a bag's payload, oldest first (read without checks: verify checks them)."""
    found = sorted((int(d.name), d) for d in (payload / DELTAS_DIR).glob("*")
                   if d.name.isdigit() and (d / MANIFEST_NAME).is_file())
    return [ExportSource(d, ManifestStore.load(d).snapshot()) for _n, d in found]


def expected_rows(base: ExportSource, deltas: list[ExportSource]) -> dict[str, int]:
    """Rows each table must hold once the deltas are applied: the full export's, plus every Id
    a delta brought that neither the full export nor an older delta held. Memory grows with
    the deltas' Ids only (the full export's CSVs are streamed)."""
    new: dict[str, set[str]] = {}
    for delta in deltas:
        for name in delta.manifest.objects:
            header = delta.header(name)
            if "Id" in header:
                at = header.index("Id")
                new.setdefault(name, set()).update(row[at] for row in delta.lines(name))
    counts = {name: entry.rows for name, entry in base.manifest.objects.items()}
    for name, ids in new.items():
        if name not in base.manifest.objects:
            counts[name] = len(ids)
        elif ids:
            at = base.header(name).index("Id")
            counts[name] += len(ids - {row[at] for row in base.lines(name) if row[at] in ids})
    return counts


def _sha(directory: Path) -> str:
    return hashlib.sha256((directory / MANIFEST_NAME).read_bytes()).hexdigest()
