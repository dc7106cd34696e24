"""File bodies: ContentVersion.VersionData, Attachment.Body, Document.Body.

Seeded bodies are generated from a per-blob seed (seed_files.py); uploaded ones are stored bytes.
Both live in the `_blob` table keyed by (record id, field).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from sfexit.emulator.ids import normalize_id
from sfexit.emulator.schema import Schema
from sfexit.emulator.seed_files import generated_chunks
from sfexit.emulator.store_fault import not_found
from sfexit.emulator.store_records import existing_row, resolve_object

BLOB_FIELDS = {("ContentVersion", "VersionData"), ("Attachment", "Body"), ("Document", "Body")}


@dataclass(frozen=True)
class Blob:
    """A file body: generated from its seed (seeded files) or stored bytes (uploaded ones)."""
    size: int
    content_type: str
    seed: int | None
    data: bytes | None

    def chunks(self, size: int = 1 << 20) -> Iterator[bytes]:
        if self.data is not None:
            for i in range(0, len(self.data), size):
                yield self.data[i:i + size]
            return
        buf = b""
        for piece in generated_chunks(self.seed or 0, self.size):
            buf += piece
            while len(buf) >= size:
                yield buf[:size]
                buf = buf[size:]
        if buf:
            yield buf


def find_blob(conn: sqlite3.Connection, schema: Schema, sobject: str, record_id: str, field: str) -> Blob:
    """The body of a live record's blob field; 404 NOT_FOUND for anything else."""
    obj = resolve_object(schema, sobject)
    f = obj.field(field)
    if f is None or (obj.name, f.name) not in BLOB_FIELDS:
        raise not_found()
    existing_row(conn, obj, record_id)
    row = conn.execute("SELECT size, content_type, seed, data FROM _blob WHERE record_id = ? AND field = ?",
                       (normalize_id(record_id), f.name)).fetchone()
    if row is None:
        raise not_found()
    return Blob(size=row[0], content_type=row[1], seed=row[2], data=row[3])


def store_blobs(conn: sqlite3.Connection, schema: Schema, record_id: str, blobs: dict[str, bytes],
                values: dict[str, Any]) -> None:
    """Keep uploaded bodies; BodyLength follows the bytes (ContentVersion's size is set on insert)."""
    content_type = values.get("ContentType") or "application/octet-stream"
    for field_name, data in blobs.items():
        conn.execute("INSERT OR REPLACE INTO _blob (record_id, field, size, content_type, seed, data) "
                     "VALUES (?, ?, ?, ?, NULL, ?)", (record_id, field_name, len(data), content_type, data))
        obj = schema.by_prefix(record_id[:3])
        if obj is not None and obj.field("BodyLength") is not None:
            conn.execute(f'UPDATE "{obj.name}" SET "BodyLength" = ? WHERE "Id" = ?', (len(data), record_id))
