"""``archive.sqlite``: one database of the whole org, built from the export with sqlite-utils.

One table per exported object (columns from :mod:`sfexit.archive.columns`), rows streamed from
its CSV in batches (``executemany`` on sqlite-utils' connection, see ``insert_rows``: memory stays
flat whatever the org's size), ``Id`` as primary key, foreign keys from single-target references to objects in the
archive, an index on every other reference. Then three tables of sfexit's own:
``_sfexit_objects`` (labels, row counts, where each CSV is in the bag, skipped objects with
their reason), ``_sfexit_fields`` (labels, types, references and picklist values of every
field) and ``_sfexit_files`` (every file body linked to its record; docs/archive.md).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlite_utils

from sfexit.archive.columns import Column, TablePlan, fields_by_name, plan_table, sql_value
from sfexit.archive.source import ExportSource
from sfexit.errors import SfexitError
from sfexit.export.manifest import FileEntry
from sfexit.export.objects import plan_fields

DATABASE_NAME = "archive.sqlite"
BATCH_SIZE = 2000
OBJECTS_TABLE = "_sfexit_objects"
FIELDS_TABLE = "_sfexit_fields"
FILES_TABLE = "_sfexit_files"
# derived column → (table, column) it is looked up in, by Id
LOOKUPS = {"username": ("User", "Username"), "email": ("User", "Email"),
           "developer_name": ("RecordType", "DeveloperName")}
LOOKUP_TABLES = frozenset(table for table, _ in LOOKUPS.values())


@dataclass(frozen=True)
class DatabaseSummary:
    path: Path
    tables: dict[str, int]          # object → rows inserted
    plans: dict[str, TablePlan]
    files: int                      # rows of _sfexit_files


CACHE_KIB = 32 * 1024        # within issue 22's 150 MB RSS budget (79 MB without it)


def build_database(source: ExportSource, path: Path, *, bag_prefix: str = "data/"
                   ) -> DatabaseSummary:
    """Write ``path`` from ``source``; ``bag_prefix`` is where the export sits in the bag
    (file paths in the database are relative to the bag's root, where the database is)."""
    db = sqlite_utils.Database(path)
    # A new file that is renamed into place only when complete: no journal needed.
    db.execute("PRAGMA journal_mode=OFF")
    db.execute("PRAGMA synchronous=OFF")
    # The index builds at the end sort every row: with SQLite's default 2 MB page cache they
    # spill to temporary files, costing wall time in I/O (bench/archive_database.py).
    db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
    plans = _plans(source)
    for plan in plans.values():
        db.table(plan.name).create({c.name: c.type for c in plan.columns}, pk=plan.pk)
    # On empty tables, so adding the keys (a table rewrite in SQLite) costs nothing.
    db.add_foreign_keys([(p.name, column, other, "Id") for p in plans.values()
                         for column, other in p.foreign_keys])
    files = source.manifest.files
    # User and RecordType first: the restore-ready columns of the others are looked up in them.
    first = sorted(plans, key=lambda name: (name not in LOOKUP_TABLES, name))
    inserted = {name: insert_rows(db, source, plans[name], plans, files, bag_prefix)
                for name in first}
    counts = {name: inserted[name] for name in plans}
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


def insert_rows(db: sqlite_utils.Database, source: ExportSource, plan: TablePlan,
                plans: Mapping[str, TablePlan], files: Mapping[str, FileEntry],
                bag_prefix: str, *, verb: str = "INSERT",
                extra: Sequence[tuple[str, str]] = ()) -> int:
    """Stream the CSV into the table: one ``executemany`` over its rows as csv.reader gives
    them, the conversions and lookups done by SQLite in the INSERT (``sql_value``,
    ``_derived``). Not sqlite-utils' ``insert_all``, which splits every batch at SQLite's
    variable limit (17 rows a statement for a 56-column table) and inspects every value in
    Python: 6x the time of ``executemany`` alone (bench/archive_database.py).

    ``verb`` "INSERT OR REPLACE" upserts by the primary key (a delta, chain.py); ``extra``
    adds (column, SQL expression over ``?n``, the CSV's n-th cell) to every row."""
    read = [c for c in plan.columns if not c.derived]       # the CSV's columns, in its order
    header = [c.source for c in read]
    width = len(read)
    derived = [c for c in plan.columns if c.derived]
    path_at = header.index("Id") + 1 if any(c.derived == "file_path" for c in derived) else 0
    values = [sql_value(c, at + 1) for at, c in enumerate(read)]
    values += [_derived(c, header.index(c.source) + 1, plans, width + 1) for c in derived]
    values += [expression for _name, expression in extra]
    names = ", ".join([*(f"[{c.name}]" for c in [*read, *derived]),
                       *(f"[{name}]" for name, _expression in extra)])
    sql = f"{verb} INTO [{plan.name}] ({names}) VALUES ({', '.join(values)})"

    def rows() -> Iterator[list[str]]:
        for number, row in enumerate(source.lines(plan.name), start=1):
            if len(row) != width:     # a cut page, a shifted row: not the export's CSV
                raise SfexitError(f"{source.manifest.objects[plan.name].file}: record "
                                  f"{number} has {len(row)} fields, its header {width}",
                                  hint="run `sfexit export verify` on the export, then "
                                       "export again")
            if path_at:
                entry = files.get(f"{plan.name}/{row[path_at - 1]}")
                row = [*row, bag_prefix + entry.path if entry is not None else ""]
            yield row

    try:
        with db.conn:
            return int(db.conn.executemany(sql, rows()).rowcount)
    except csv.Error as exc:
        raise SfexitError(f"{source.manifest.objects[plan.name].file}: not a well-formed CSV "
                          f"({exc})", hint="run `sfexit export verify` on the export, then "
                                           "export again") from None


def _derived(column: Column, param: int, plans: Mapping[str, TablePlan], path: int) -> str:
    """A restore-ready column, looked up by SQLite in the User or RecordType table (inserted
    first) with the CSV cell bound at ``?param``; the file path is bound at ``?path``. NULL
    when the lookup table or its column is not in the archive."""
    if column.derived == "file_path":
        return f"NULLIF(?{path}, '')"
    table, wanted = LOOKUPS[column.derived]
    if table not in plans or wanted not in {c.name for c in plans[table].columns}:
        return "NULL"
    return f"(SELECT [{wanted}] FROM [{table}] WHERE Id = ?{param})"


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
