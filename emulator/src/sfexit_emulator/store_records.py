"""Record reads and writes: field checks and value conversion with Salesforce's record errors.

Values may come from REST JSON (bool/int/float/str/None) or from Bulk CSV (all strings), so every
type also accepts its text form. An empty string is null, as in Salesforce. The org's business
rules (owners, users, freeze) live in `orgrules.py`; this module only knows fields.
"""

from __future__ import annotations

import base64
import re
import sqlite3
from datetime import date
from typing import Any

from sfexit_emulator.ids import normalize_id
from sfexit_emulator.schema import FieldDef, Schema, SObjectDef
from sfexit_emulator.store_db import (format_datetime, json_converter, parse_datetime, quote,
                                      stored_columns)
from sfexit_emulator.store_fault import SalesforceFault, not_found

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_TEXT = frozenset({"string", "textarea", "picklist", "multipicklist", "combobox", "email", "phone",
                   "url", "encryptedstring"})
_ADDRESS_KEYS = (("city", "City"), ("country", "Country"), ("geocodeAccuracy", "GeocodeAccuracy"),
                 ("latitude", "Latitude"), ("longitude", "Longitude"), ("postalCode", "PostalCode"),
                 ("state", "State"), ("street", "Street"))
_FALSE = frozenset({"false", "0", "no"})
_TRUE = frozenset({"true", "1", "yes"})


def record_error(code: str, message: str, fields: list[str]) -> SalesforceFault:
    return SalesforceFault(400, code, message, fields)


def resolve_object(schema: Schema, name: str) -> SObjectDef:
    obj = schema.get(name)
    if obj is None or not obj.key_prefix:
        raise not_found()
    return obj


def field_for_write(obj: SObjectDef, name: str, creating: bool) -> FieldDef:
    f = obj.field(name)
    if f is None:
        raise SalesforceFault(400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {obj.name}", [])
    if not (f.createable if creating else f.updateable):
        raise record_error("INVALID_FIELD_FOR_INSERT_UPDATE",
                           f"Unable to create/update fields: {f.name}. Please check the security "
                           "settings of this field and verify that it is read/write for your "
                           "profile or permission set.", [f.name])
    return f


def _type_error(f: FieldDef, value: Any) -> SalesforceFault:
    return record_error("INVALID_TYPE_ON_FIELD_IN_RECORD",
                        f"{f.label}: value not of required type: {value}", [f.name])


def encode_value(f: FieldDef, value: Any) -> Any:
    """The stored form of a written value. Raises the record error Salesforce gives."""
    if value is None or (value == "" and f.type != "boolean"):
        return None
    if f.type in _TEXT:
        return _encode_text(f, value)
    if f.type == "boolean":
        return _encode_bool(f, value)
    if f.type in ("id", "reference"):
        norm = normalize_id(value) if isinstance(value, str) else None
        if norm is None:
            raise record_error("MALFORMED_ID", f"{f.label}: id value of incorrect type: {value}", [f.name])
        return norm
    if f.type in ("int", "double", "currency", "percent"):
        return _encode_number(f, value)
    if f.type == "date":
        try:
            return date.fromisoformat(str(value)[:10]).isoformat()
        except ValueError:
            raise _type_error(f, value) from None
    if f.type == "datetime":
        dt = parse_datetime(str(value))
        if dt is None:
            raise _type_error(f, value)
        return format_datetime(dt)
    raise _type_error(f, value)


def _encode_number(f: FieldDef, value: Any) -> int | float:
    if isinstance(value, bool):  # JSON true is no number, though Python says it is
        raise _type_error(f, value)
    try:
        return int(value) if f.type == "int" else float(value)
    except (TypeError, ValueError):
        raise _type_error(f, value) from None


def _encode_text(f: FieldDef, value: Any) -> str:
    text = value if isinstance(value, str) else str(value)
    if len(text) > f.length:
        raise record_error("STRING_TOO_LONG",
                           f"{f.label}: data value too large: {text} (max length={f.length})", [f.name])
    if f.restricted_picklist and text not in f.picklist:
        raise record_error("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                           f"{f.label}: bad value for restricted picklist field: {text}", [f.name])
    if f.type == "email" and not _EMAIL.match(text):
        raise record_error("INVALID_EMAIL_ADDRESS", f"{f.label}: invalid email address: {text}", [f.name])
    return text


def _encode_bool(f: FieldDef, value: Any) -> int | None:
    if isinstance(value, bool):
        return int(value)
    if value == "" or value is None:
        return 0
    if isinstance(value, str) and value.strip().lower() in _TRUE | _FALSE:
        return int(value.strip().lower() in _TRUE)
    raise _type_error(f, value)


def decode_blob_value(f: FieldDef, value: Any) -> bytes:
    try:
        return base64.b64decode(value, validate=True)
    except (ValueError, TypeError):
        raise _type_error(f, "<base64>") from None


def fetch_row(conn: sqlite3.Connection, obj: SObjectDef, record_id: str) -> dict[str, Any] | None:
    """The stored row as {column: value}, or None."""
    cols = stored_columns(obj)
    cur = conn.execute(f"SELECT {', '.join(quote(c) for c in cols)} FROM {quote(obj.name)} "
                       'WHERE "Id" = ?', (record_id,))
    row = cur.fetchone()
    return None if row is None else dict(zip(cols, row))


def existing_row(conn: sqlite3.Connection, obj: SObjectDef, record_id: str) -> dict[str, Any]:
    """The live row of `record_id`; 404 NOT_FOUND / ENTITY_IS_DELETED as Salesforce answers."""
    norm = normalize_id(record_id)
    if norm is None or norm[:3] != obj.key_prefix:
        raise not_found()
    row = fetch_row(conn, obj, norm)
    if row is None:
        raise not_found()
    if row["IsDeleted"]:
        raise SalesforceFault(404, "ENTITY_IS_DELETED", "entity is deleted", [])
    return row


def rest_record(obj: SObjectDef, row: dict[str, Any], fields: list[str] | None,
                version: str) -> dict[str, Any]:
    """A stored row as the REST sObject GET body (all fields, or `fields` in the given order)."""
    url = f"/services/data/{version}/sobjects/{obj.name}/{row['Id']}"
    out: dict[str, Any] = {"attributes": {"type": obj.name, "url": url}}
    wanted = obj.fields if fields is None else [_readable(obj, n) for n in fields]
    for f in wanted:
        out[f.name] = _rest_value(obj, f, row, url)
    return out


def _readable(obj: SObjectDef, name: str) -> FieldDef:
    f = obj.field(name.strip())
    if f is None:
        raise SalesforceFault(400, "INVALID_FIELD",
                              f"No such column '{name.strip()}' on entity '{obj.name}'. If you are "
                              "attempting to use a custom field, be sure to append the '__c' after "
                              "the custom field name. Please reference your WSDL or the describe "
                              "call for the appropriate names.")
    return f


def _rest_value(obj: SObjectDef, f: FieldDef, row: dict[str, Any], url: str) -> Any:
    if f.type == "address":
        prefix = f.name[:-len("Address")]
        values = {key: row.get(prefix + suffix) for key, suffix in _ADDRESS_KEYS}
        return None if all(v is None for v in values.values()) else values
    if f.type == "location":
        comps = {c.name: row.get(c.name) for c in obj.components(f.name)}
        lat = next((v for n, v in comps.items() if "Latitude" in n), None)
        lon = next((v for n, v in comps.items() if "Longitude" in n), None)
        return None if lat is None and lon is None else {"latitude": lat, "longitude": lon}
    value = row.get(f.name)
    if f.type == "base64":
        return None if value is None else f"{url}/{f.name}"
    conv = json_converter(f)
    return conv(value) if conv is not None and value is not None else value


def insert_row(conn: sqlite3.Connection, obj: SObjectDef, values: dict[str, Any]) -> None:
    cols = list(values)
    conn.execute(f"INSERT INTO {quote(obj.name)} ({', '.join(quote(c) for c in cols)}) "
                 f"VALUES ({', '.join('?' for _ in cols)})", [values[c] for c in cols])


def update_row(conn: sqlite3.Connection, obj: SObjectDef, record_id: str, values: dict[str, Any]) -> None:
    if not values:
        return
    sets = ", ".join(f"{quote(c)} = ?" for c in values)
    conn.execute(f'UPDATE {quote(obj.name)} SET {sets} WHERE "Id" = ?', [*values.values(), record_id])


def required_missing(obj: SObjectDef, row: dict[str, Any]) -> list[str]:
    """Fields a create must give: not nillable, createable, and not defaulted by the org."""
    return [f.name for f in obj.fields
            if not f.nillable and f.createable and not f.defaulted_on_create
            and f.type != "boolean" and row.get(f.name) is None]

