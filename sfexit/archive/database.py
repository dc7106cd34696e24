"""``archive.sqlite``: one database of the whole org, built from the export with sqlite-utils.

One table per exported object (columns from :mod:`sfexit.archive.columns`), rows streamed from
its CSV in batches (``executemany`` on sqlite-utils' connection, see ``_insert``: memory stays
flat whatever the org's size), ``Id`` as primary key, foreign keys from single-target references to objects in the
archive, an index on every other reference. Then three tables of sfexit's own:
``_sfexit_objects`` (labels, row counts, where each CSV is in the bag, skipped objects with
their reason), ``_sfexit_fields`` (labels, types, references and picklist values of every
field) and ``_sfexit_files`` (every file body linked to its record; docs/archive.md).
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from sfexit.archive.columns import Column, TablePlan, converter, fields_by_name, plan_table
from sfexit.archive.source import ExportSource
from sfexit.export.manifest import FileEntry
from sfexit.export.objects import plan_fields

DATABASE_NAME = "archive.sqlite"
BATCH_SIZE = 2000
OBJECTS_TABLE = "_sfexit_objects"
FIELDS_TABLE = "_sfexit_fields"
FILES_TABLE = "_sfexit_files"
NO_USER = (None, None)


@dataclass(frozen=True)
class DatabaseSummary:
    path: Path
    tables: dict[str, int]          # object → rows inserted
    plans: dict[str, TablePlan]
    files: int                      # rows of _sfexit_files


@dataclass(frozen=True)
class Lookups:
    """What the restore-ready columns need, read once from the User and RecordType CSVs."""

    users: dict[str, tuple[str | None, str | None]]     # Id → (Username, Email)
    record_types: dict[str, str | None]                 # Id → DeveloperName

    @classmethod
    def read(cls, source: ExportSource) -> Lookups:
        users: dict[str, tuple[str | None, str | None]] = {}
        if "User" in source.manifest.objects:
            users = {r["Id"]: (r.get("Username") or None, r.get("Email") or None)
                     for r in source.rows("User")}
        types: dict[str, str | None] = {}
        if "RecordType" in source.manifest.objects:
            types = {r["Id"]: r.get("DeveloperName") or None for r in source.rows("RecordType")}
        return cls(users, types)


def build_database(source: ExportSource, path: Path, *, bag_prefix: str = "data/"
                   ) -> DatabaseSummary:
    """Write ``path`` from ``source``; ``bag_prefix`` is where the export sits in the bag
    (file paths in the database are relative to the bag's root, where the database is)."""
    db = sqlite_utils.Database(path)
    # A new file that is renamed into place only when complete: no journal needed.
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    plans = _plans(source)
    for plan in plans.values():
        db.table(plan.name).create({c.name: c.type for c in plan.columns}, pk=plan.pk)
    # On empty tables, so adding the keys (a table rewrite in SQLite) costs nothing.
    db.add_foreign_keys([(p.name, column, other, "Id") for p in plans.values()
                         for column, other in p.foreign_keys])
    lookups = Lookups.read(source)
    files = source.manifest.files
    counts = {name: _insert(db, source, plan, lookups, files, bag_prefix)
              for name, plan in plans.items()}
    db.index_foreign_keys()
    for plan in plans.values():
        for column in plan.indexed:
            db.table(plan.name).create_index([column], if_not_exists=True)
    _objects_table(db, source, counts, bag_prefix)
    _fields_table(db, source, plans)
    linked = _files_table(db, source, plans, bag_prefix)
    db.execute("PRAGMA journal_mode=DELETE")
    db.close()
    return DatabaseSummary(path, counts, plans, linked)


def _plans(source: ExportSource) -> dict[str, TablePlan]:
    names = sorted(source.manifest.objects)
    # An empty file (never written by sfexit, which always writes the header line) still
    # gets its table, with the fields the export selects.
    headers = {name: source.header(name) or list(plan_fields(source.describe(name)).fields)
               for name in names}
    with_id = {name for name, header in headers.items() if "Id" in header}
    return {name: plan_table(name, headers[name], source.describe(name), with_id)
            for name in names}


def _insert(db: sqlite_utils.Database, source: ExportSource, plan: TablePlan,
            lookups: Lookups, files: Mapping[str, FileEntry], bag_prefix: str) -> int:
    """Stream the CSV into the table with ``executemany`` on sqlite-utils' connection, in
    batches of BATCH_SIZE rows. Not ``insert_all``: it splits every batch at SQLite's variable
    limit (17 rows a statement for a 56-column table) and inspects every value for JSON, which
    made the build 6x slower than executemany alone (bench/archive_database.py)."""
    read = [c for c in plan.columns if not c.derived]       # the CSV's columns, in its order
    header = [c.source for c in read]
    derived = [c for c in plan.columns if c.derived]
    typed = [(at, converter(c)) for at, c in enumerate(read) if c.type is not str]
    extra = [_cell(plan.name, c, header.index(c.source), lookups, files, bag_prefix)
             for c in derived]
    width = len(read)
    names = ", ".join(f"[{c.name}]" for c in [*read, *derived])
    sql = (f"INSERT INTO [{plan.name}] ({names}) "
           f"VALUES ({', '.join('?' * (width + len(derived)))})")

    def values(row: list[str]) -> list[Any]:
        if len(row) < width:     # a short row (never written by sfexit): the rest is NULL
            row = row + [""] * (width - len(row))
        out: list[Any] = [cell or None for cell in row[:width]]   # TEXT: "" is NULL
        for at, convert in typed:
            out[at] = convert(row[at])
        out += [cell(row) for cell in extra]
        return out

    counted = 0
    lines = source.lines(plan.name)
    while batch := list(itertools.islice(lines, BATCH_SIZE)):
        with db.conn:
            db.conn.executemany(sql, [values(row) for row in batch])
        counted += len(batch)
    return counted


Cell = Callable[[Sequence[str]], Any]


def _cell(table: str, column: Column, at: int, lookups: Lookups,
          files: Mapping[str, FileEntry], bag_prefix: str) -> Cell:
    """How a derived column's value is made from a CSV row (chosen once per table)."""
    if column.derived in ("username", "email"):
        pick = 0 if column.derived == "username" else 1
        return lambda row: lookups.users.get(row[at], NO_USER)[pick]
    if column.derived == "developer_name":
        return lambda row: lookups.record_types.get(row[at])

    def file_path(row: Sequence[str]) -> str | None:   # row[at] is the record's Id
        entry = files.get(f"{table}/{row[at]}")
        return bag_prefix + entry.path if entry is not None else None

    return file_path


def _objects_table(db: sqlite_utils.Database, source: ExportSource, counts: Mapping[str, int],
                   bag_prefix: str) -> None:
    rows: list[dict[str, Any]] = []
    for name, entry in sorted(source.manifest.objects.items()):
        d = source.describe(name)
        rows.append({"name": name, "label": d.get("label"), "label_plural": d.get("labelPlural"),
                     "custom": int(bool(d.get("custom"))), "key_prefix": d.get("keyPrefix"),
                     "rows": counts[name], "manifest_rows": entry.rows,
                     "csv_path": bag_prefix + entry.file, "csv_sha256": entry.sha256,
                     "method": entry.method, "include_deleted": int(entry.include_deleted),
                     "skipped_reason": None})
    for skipped in source.manifest.skipped:
        rows.append({"name": skipped.name, "skipped_reason": skipped.reason})
    db.table(OBJECTS_TABLE).insert_all(rows, pk="name", alter=True)


def _fields_table(db: sqlite_utils.Database, source: ExportSource,
                  plans: Mapping[str, TablePlan]) -> None:
    def rows() -> Iterator[dict[str, Any]]:
        for name, plan in plans.items():
            columns = {c.name for c in plan.columns}
            skipped = {s.name: s.reason for s in source.manifest.objects[name].skipped_fields}
            for field_name, f in fields_by_name(source.describe(name)).items():
                picklist = [{"value": p.get("value"), "label": p.get("label"),
                             "active": p.get("active"), "default": p.get("defaultValue")}
                            for p in f.get("picklistValues") or []]
                yield {"object": name, "name": field_name, "label": f.get("label"),
                       "type": f.get("type"),
                       "column": field_name if field_name in columns else None,
                       "skipped_reason": skipped.get(field_name),
                       "reference_to": json.dumps(f.get("referenceTo") or []) or None,
                       "relationship_name": f.get("relationshipName"),
                       "picklist_values": json.dumps(picklist, ensure_ascii=False)
                       if picklist else None,
                       "length": f.get("length"), "custom": int(bool(f.get("custom")))}

    db.table(FIELDS_TABLE).insert_all(rows(), pk=("object", "name"),
                                batch_size=BATCH_SIZE, alter=True,
                                columns={"picklist_values": str, "skipped_reason": str,
                                         "relationship_name": str, "length": int})


def _files_table(db: sqlite_utils.Database, source: ExportSource,
                 plans: Mapping[str, TablePlan], bag_prefix: str) -> int:
    """One row per (file, record it belongs to). A ContentVersion belongs to every record its
    ContentDocument is linked to (ContentDocumentLink.LinkedEntityId); with no link exported,
    to its ContentDocument. An Attachment to its ParentId, a Document to its FolderId."""
    prefixes = {str(d["keyPrefix"]): name for name in plans
                if (d := source.describe(name)).get("keyPrefix")}
    links = "ContentDocumentLink" in plans

    def rows() -> Iterator[dict[str, Any]]:
        for f in source.manifest.files.values():
            records = [f.parent_id]
            if f.object == "ContentVersion" and links and f.parent_id:
                linked = [r[0] for r in db.execute(
                    "SELECT LinkedEntityId FROM ContentDocumentLink WHERE ContentDocumentId = ?"
                    " ORDER BY LinkedEntityId", [f.parent_id]).fetchall()]
                records = linked or records
            for record in records:
                yield {"object": f.object, "id": f.id, "name": f.name, "record_id": record,
                       "record_object": prefixes.get((record or "")[:3]),
                       "parent_id": f.parent_id, "path": bag_prefix + f.path, "size": f.size,
                       "sha256": f.sha256, "md5": f.md5, "complete": int(f.complete)}

    table = db.table(FILES_TABLE)
    table.create({"object": str, "id": str, "name": str, "record_id": str,
                  "record_object": str, "parent_id": str, "path": str, "size": int,
                  "sha256": str, "md5": str, "complete": int})
    table.insert_all(rows(), batch_size=BATCH_SIZE)
    table.create_index(["record_id"])
    table.create_index(["object", "id"])
    return table.count
