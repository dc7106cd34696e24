"""The SQLite layout of the org and the conversions between stored and wire values.

One table per object with an id (named as the object), one column per non-compound field (named
as the field), plus an `IsDeleted` column in every table (hidden when the object has no such
field) for soft deletes. Stored forms are chosen so SQL comparison and ordering match SOQL's:
  - datetimes: UTC text `2024-01-31T09:15:00.000Z` (sorts as time; Bulk CSV form as stored)
  - dates: `2024-01-31`; booleans: 0/1; numbers: INTEGER/REAL; ids: 18-char text
  - base64 fields: 1 when the record has a blob (bytes in `_blob`), else NULL.
Emulator-only tables start with `_`: `_setting`, `_password`, `_blob`, `_idseq`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any

from sfexit_emulator.schema import FieldDef, Schema, SObjectDef

_INTEGER_TYPES = frozenset({"boolean", "int"})
_REAL_TYPES = frozenset({"double", "currency", "percent"})
# Columns filtered on by clients and by the store's own rules: indexed for 1M-row orgs.
INDEXED_FIELDS = ("OwnerId", "UserId", "AccountId", "ContentDocumentId", "LinkedEntityId",
                  "ParentId", "ProfileId", "QueueId", "GroupId", "WhatId", "WhoId", "Project__c")

Converter = Callable[[Any], Any]


def quote(name: str) -> str:
    return '"' + name + '"'


def sql_type(f: FieldDef) -> str:
    if f.type in _INTEGER_TYPES or f.type == "base64":
        return "INTEGER"
    if f.type in _REAL_TYPES:
        return "REAL"
    return "TEXT"


def stored_columns(obj: SObjectDef) -> list[str]:
    """Column names of the object's table, in table order."""
    cols = [f.name for f in obj.stored_fields]
    if "IsDeleted" not in cols:
        cols.append("IsDeleted")
    return cols


def column_sql(f: FieldDef) -> str:
    # Non-nillable checkboxes are false unless set, so seeding can leave them out.
    default = " NOT NULL DEFAULT 0" if f.type == "boolean" and not f.nillable else ""
    return f"{quote(f.name)} {sql_type(f)}{default}"


def table_sql(obj: SObjectDef) -> str:
    defs = [column_sql(f) for f in obj.stored_fields]
    if obj.field("IsDeleted") is None:
        defs.append('"IsDeleted" INTEGER NOT NULL DEFAULT 0')
    return f"CREATE TABLE {quote(obj.name)} ({', '.join(defs)})"


def create_tables(conn: sqlite3.Connection, schema: Schema) -> None:
    for obj in schema.stored_objects():
        conn.execute(table_sql(obj))
    conn.executescript("""
        CREATE TABLE _setting (key TEXT PRIMARY KEY, value TEXT);
        CREATE TABLE _password (user_id TEXT PRIMARY KEY, password TEXT, token TEXT);
        CREATE TABLE _blob (record_id TEXT, field TEXT, size INTEGER, content_type TEXT,
                            seed INTEGER, data BLOB, PRIMARY KEY (record_id, field));
        CREATE TABLE _idseq (prefix TEXT PRIMARY KEY, next INTEGER);
    """)


def create_indexes(conn: sqlite3.Connection, schema: Schema) -> None:
    """Indexes after the bulk load: building them once is faster than maintaining them per row."""
    for obj in schema.stored_objects():
        table = quote(obj.name)
        conn.execute(f'CREATE UNIQUE INDEX "{obj.name}_Id" ON {table} ("Id")')
        for name in INDEXED_FIELDS:
            if obj.field(name) is not None:
                conn.execute(f'CREATE INDEX "{obj.name}_{name}" ON {table} ({quote(name)})')


def connect(path: str) -> sqlite3.Connection:
    conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None, timeout=30)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA cache_size=-16000")
    return conn


# --- stored -> wire ---------------------------------------------------------------------------

def _rest_datetime(v: str | None) -> str | None:
    return None if v is None else v[:-1] + "+0000"


def _to_bool(v: int | None) -> bool | None:
    return None if v is None else bool(v)


def json_converter(f: FieldDef) -> Converter | None:
    """How a stored value becomes its REST JSON value (None: as stored)."""
    if f.type == "boolean":
        return _to_bool
    if f.type == "datetime":
        return _rest_datetime
    return None


def csv_value_converter(f: FieldDef) -> Converter | None:
    """How a stored value becomes the flat value Bulk CSV writes (datetimes already in Z form)."""
    if f.type == "boolean":
        return _to_bool
    return None


def format_datetime(dt: datetime) -> str:
    """The stored (and Bulk CSV) form of a datetime: UTC, milliseconds, `Z`."""
    dt = dt.astimezone(timezone.utc) if dt.tzinfo else dt
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def parse_datetime(text: str) -> datetime | None:
    """A SOQL/REST datetime (`2024-01-31T09:15:00Z`, `.000+0000`, `+01:00`) as aware UTC, else None."""
    s = text.strip()
    if s.endswith(("Z", "z")):
        s = s[:-1] + "+00:00"
    if len(s) >= 5 and s[-5] in "+-" and s[-4:].isdigit() and s[-3] != ":":
        s = s[:-2] + ":" + s[-2:]
    try:
        dt = datetime.fromisoformat(s)
    except ValueError:
        return None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)
