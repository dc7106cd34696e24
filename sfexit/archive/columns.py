"""From an object's describe and its CSV header to the columns of its SQLite table (pure).

Types (docs/archive.md, "Tables"): Salesforce field types map to SQLite storage classes:
``boolean`` → INTEGER 0/1; ``int``/``long`` → INTEGER; ``double``/``currency``/``percent`` →
REAL; everything else TEXT, dates and datetimes kept as the ISO 8601 text Bulk API 2.0 writes
(``2026-01-31``, ``2026-01-31T09:30:00.000Z``), which sorts and compares correctly as text.
An empty CSV cell is NULL (Bulk writes null as empty; Salesforce stores no empty strings).
base64 fields are not in the CSV (the files step downloads the bodies): the table gets a
``<Field>__path`` column with the body's path in the bag instead.

Restore-ready columns (docs/archive.md, "Restore"): beside ``OwnerId`` and ``CreatedById``,
``<Field>__username`` and ``<Field>__email`` of that user; beside ``RecordTypeId``,
``RecordTypeId__developer_name``. They are stored columns, not a view, so ``SELECT *`` of one
table is all a loader into another org or CRM needs.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

INTEGER_TYPES = frozenset({"int", "long"})
REAL_TYPES = frozenset({"double", "currency", "percent"})
USER_FIELDS = ("OwnerId", "CreatedById")
RECORD_TYPE_FIELD = "RecordTypeId"
# The base64 field whose body the files step saved, per object (export/files_listing.py).
FILE_FIELDS = {"ContentVersion": "VersionData", "Attachment": "Body", "Document": "Body"}


@dataclass(frozen=True)
class Column:
    name: str
    type: type                  # str, int or float (sqlite-utils' column types)
    source: str                 # the CSV column it is read from (derived: the one it is about)
    derived: str = ""           # "", "username", "email", "developer_name", "file_path"


@dataclass(frozen=True)
class TablePlan:
    name: str
    columns: tuple[Column, ...]
    pk: str | None
    foreign_keys: tuple[tuple[str, str], ...]      # (column, referenced table) on its Id
    indexed: tuple[str, ...]                       # polymorphic and dangling references


def sql_type(field_type: str) -> type:
    if field_type == "boolean" or field_type in INTEGER_TYPES:
        return int
    if field_type in REAL_TYPES:
        return float
    return str


def fields_by_name(describe: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {str(f["name"]): f for f in describe.get("fields", [])}


def plan_table(name: str, header: Sequence[str], describe: dict[str, Any],
               tables: Collection[str]) -> TablePlan:
    """The table of object ``name``; ``tables`` are the objects the archive has a table for
    (a reference becomes a foreign key only to one of them)."""
    fields = fields_by_name(describe)
    columns: list[Column] = []
    fks: list[tuple[str, str]] = []
    indexed: list[str] = []
    for source in header:
        field = fields.get(source, {})
        columns.append(Column(source, sql_type(str(field.get("type", ""))), source))
        columns += _restore_columns(source, field)
        targets = [str(t) for t in field.get("referenceTo") or []]
        if field.get("type") == "reference" and targets:
            if len(targets) == 1 and targets[0] in tables:
                fks.append((source, targets[0]))
            else:
                indexed.append(source)   # polymorphic, or to an object not in the archive
    if name in FILE_FIELDS and "Id" in header:
        columns.append(Column(f"{FILE_FIELDS[name]}__path", str, "Id", "file_path"))
    return TablePlan(name, tuple(columns), "Id" if "Id" in header else None, tuple(fks),
                     tuple(indexed))


def _restore_columns(source: str, field: dict[str, Any]) -> list[Column]:
    targets = field.get("referenceTo") or []
    if source in USER_FIELDS and "User" in targets:
        return [Column(f"{source}__username", str, source, "username"),
                Column(f"{source}__email", str, source, "email")]
    if source == RECORD_TYPE_FIELD and "RecordType" in targets:
        return [Column(f"{source}__developer_name", str, source, "developer_name")]
    return []


def sql_value(column: Column, param: int) -> str:
    """The SQL expression that stores the CSV cell bound at ``?param`` in ``column``.

    Done by SQLite itself, not per cell in Python (bench/archive_database.py): an empty cell
    is NULL; ``true``/``false`` are 1/0 in an INTEGER column; the column's type affinity turns
    text that is a well-formed number into INTEGER or REAL and keeps any other text as it is
    (SQLite, "Datatypes In SQLite" §3), so nothing that does not parse is lost.
    """
    cell = f"?{param}"
    if column.type is int:
        return f"CASE {cell} WHEN 'true' THEN 1 WHEN 'false' THEN 0 ELSE NULLIF({cell}, '') END"
    return f"NULLIF({cell}, '')"
