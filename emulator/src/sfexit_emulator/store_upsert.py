"""Upsert by an external id: find the record by the key field's value, update it or create one.

REST API Developer Guide, "Insert or Update (Upsert) a Record Using an External ID"
(dome_upsert.htm) and "Upsert Records Using sObject Rows by External ID"
(resources_sobject_upsert_patch.htm): no match → a record is created; one match → it is
updated; several → "a 300 error is returned, and no records are created or updated". The key is
a field with the External ID attribute, or a standard field with ``idLookup`` (SOAP API
upsert(): "the idLookup field property for standard objects"); an incorrect key field answers
404 NOT_FOUND. Matching is case-insensitive for text keys (UNCONF: Salesforce documents
case-sensitivity per custom field, "External ID ... Case Sensitive" is an option, off here).
"""

from __future__ import annotations

import sqlite3
from typing import Any

from sfexit_emulator.schema import FieldDef, SObjectDef
from sfexit_emulator.store_db import quote
from sfexit_emulator.store_fault import SalesforceFault, not_found
from sfexit_emulator.store_records import encode_value, resolve_object
from sfexit_emulator.store_writes import WriteContext, create_record, update_record


class DuplicateExternalId(SalesforceFault):
    """Several records hold the key value: REST answers 300 with their URLs; a collection or a
    Bulk row gets the error. UNCONF: the code and text, as Bulk API result files show them
    ("DUPLICATE_EXTERNAL_ID:more than one record found for external id field: [ids]")."""

    def __init__(self, sobject: str, field: str, ids: list[str]) -> None:
        super().__init__(300, "DUPLICATE_EXTERNAL_ID",
                         f"{field}: more than one record found for external id field: "
                         f"[{', '.join(ids)}]", [field])
        self.sobject = sobject
        self.ids = ids


def upsert_key(obj: SObjectDef, field_name: str) -> FieldDef:
    """The key field, or 404 NOT_FOUND (the guide's "Incorrect external ID field" answer)."""
    f = obj.field(field_name)
    if f is None or not (f.external_id or f.id_lookup):
        raise not_found()
    return f


def find_by_key(conn: sqlite3.Connection, obj: SObjectDef, key: FieldDef, value: Any) -> list[str]:
    stored = encode_value(key, value)
    if stored is None:
        return []
    collate = " COLLATE NOCASE" if isinstance(stored, str) and key.type != "id" else ""
    rows = conn.execute(f'SELECT "Id" FROM {quote(obj.name)} WHERE {quote(key.name)} = ?{collate} '
                            'AND "IsDeleted" = 0 ORDER BY "Id"', (stored,)).fetchall()
    return [str(r[0]) for r in rows]


def upsert_record(ctx: WriteContext, sobject: str, field_name: str, value: Any,
                  values: dict[str, Any]) -> tuple[str, bool, dict[str, bytes]]:
    """(record id, created, blobs to store). ``values`` must not hold Id; the key field in
    ``values`` is dropped on update (it matched) and set from ``value`` on create."""
    obj = resolve_object(ctx.schema, sobject)
    key = upsert_key(obj, field_name)
    if any(k.lower() == "id" for k in values):
        # "Do not specify Id or an external ID field in the request body or an error is
        # generated" (resources_sobject_upsert_patch.htm). UNCONF: the code and text.
        raise SalesforceFault(400, "INVALID_FIELD", "cannot specify Id in an upsert call", ["Id"])
    found = find_by_key(ctx.conn, obj, key, value)
    if len(found) > 1:
        raise DuplicateExternalId(obj.name, key.name, found)
    rest = {k: v for k, v in values.items() if k.lower() != key.name.lower()}
    if found:
        return found[0], False, update_record(ctx, obj.name, found[0], rest)
    if key.type == "id":
        raise not_found()  # an Id that matches nothing cannot be created under that Id
    new_id, blobs = create_record(ctx, obj.name, {**rest, key.name: value})
    return new_id, True, blobs
