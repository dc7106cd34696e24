"""QueryCursor: the result of one SOQL query, served as REST record pages, CSV rows or column metadata.

A cursor owns a private SQLite connection holding one read transaction, so every page of a query
sees the same snapshot, as a Salesforce query locator does. Sequential pages continue the open
statement (no OFFSET scans); a page out of order re-runs the query from that position. The
connection closes when the last row was served, on close(), or when the cursor is collected.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from typing import Any

from sfexit_emulator.schema import FieldDef
from sfexit_emulator.store_db import csv_value_converter, json_converter
from sfexit_emulator.store_query import Column, CompiledQuery
from sfexit_emulator.store_subquery import fetch_children

_APEX_TYPES = {"id": "Id", "reference": "Id", "boolean": "Boolean", "int": "Integer",
               "double": "Double", "percent": "Double", "currency": "Decimal", "date": "Date",
               "datetime": "Datetime", "time": "Time", "base64": "Blob", "address": "Address",
               "location": "Location"}
_ADDRESS_KEYS = (("city", "City"), ("country", "Country"), ("geocodeAccuracy", "GeocodeAccuracy"),
                 ("latitude", "Latitude"), ("longitude", "Longitude"), ("postalCode", "PostalCode"),
                 ("state", "State"), ("street", "Street"))

RowBuilder = Callable[[tuple[Any, ...]], dict[str, Any]]


class QueryCursor:
    """See module docstring. `records(start, size)` pages; `rows()` streams flat tuples."""

    def __init__(self, compiled: CompiledQuery, connect: Callable[[], sqlite3.Connection]) -> None:
        self._q = compiled
        self._connect = connect
        self.entity = compiled.obj.name
        self.columns: list[Column] = compiled.columns
        self.is_aggregate = compiled.is_aggregate
        self.is_count_only = compiled.is_count_only
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._cur: sqlite3.Cursor | None = None
        self._pos = 0
        self._materialized: list[tuple[Any, ...]] | None = None
        self._builders: dict[str, RowBuilder] = {}
        self.total_size = self._open()

    def _open(self) -> int:
        conn = self._connect()
        if self.is_aggregate:
            self._materialized = conn.execute(self._q.sql, self._q.params).fetchall()
            conn.close()
            return len(self._materialized)
        conn.execute("BEGIN")  # one snapshot for the count and every page
        (count,) = conn.execute(self._q.count_sql, self._q.count_params).fetchone()
        if self._q.offset:
            count = max(0, count - self._q.offset)
        if self._q.limit is not None:
            count = min(count, self._q.limit)
        if count == 0 or self.is_count_only:
            conn.close()
            return int(count)
        self._conn = conn
        return int(count)

    @property
    def statement(self) -> tuple[str, list[object]]:
        """(SQL, parameters) of the rows: with the data, all a query's result depends on."""
        return self._q.sql, self._q.params

    def close(self) -> None:
        with self._lock:
            self._release()

    def _release(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn, self._cur = None, None

    def __del__(self) -> None:
        conn = getattr(self, "_conn", None)
        if conn is not None:
            conn.close()

    # --- pages ---------------------------------------------------------------------------------
    def _fetch(self, start: int, size: int) -> list[tuple[Any, ...]]:
        if self._materialized is not None:
            return self._materialized[start:start + size]
        if start >= self.total_size or self.is_count_only:
            return []
        with self._lock:
            if self._cur is None or start != self._pos:
                if self._conn is None:
                    self._conn = self._connect()
                self._cur = self._conn.execute(f"SELECT * FROM ({self._q.sql}) LIMIT -1 OFFSET {start}",
                                               self._q.params)
                self._pos = start
            rows = self._cur.fetchmany(min(size, self.total_size - start))
            self._pos += len(rows)
            if self._pos >= self.total_size:
                self._release()
            return rows

    def records(self, start: int, size: int, *, version: str = "v64.0") -> list[dict[str, Any]]:
        """REST JSON records [start, start+size), Salesforce's shape, urls under `version`."""
        builder = self._builders.get(version)
        if builder is None:
            builder = self._builders[version] = (self._aggregate_builder() if self.is_aggregate
                                                 else _record_builder(self.entity, self.columns, version))
        rows = self._fetch(start, size)
        records = [builder(row) for row in rows]
        children = [c for c in self.columns if c.child is not None]
        if children and rows:
            self._add_children(records, [row[0] for row in rows], children, version)
        return records

    def _add_children(self, records: list[dict[str, Any]], ids: list[str], columns: list[Column],
                      version: str) -> None:
        conn = self._connect()
        try:
            for col in columns:
                assert col.child is not None
                build = _record_builder(col.child.entity, col.child.columns, version)
                found = fetch_children(conn, col.child, ids, build)
                for rec, parent_id in zip(records, ids):
                    rec[col.name] = found.get(parent_id)
        finally:
            conn.close()

    def _aggregate_builder(self) -> RowBuilder:
        plan = [(c.name, c.sql_index, json_converter(c.field)) for c in self.columns]

        def build(row: tuple[Any, ...]) -> dict[str, Any]:
            rec: dict[str, Any] = {"attributes": {"type": "AggregateResult"}}
            for key, idx, conv in plan:
                v = row[idx]
                rec[key] = conv(v) if conv is not None else v
            return rec
        return build

    # --- Bulk CSV ------------------------------------------------------------------------------
    def rows(self) -> Iterator[tuple[Any, ...]]:
        """Flat values in `columns` order, streamed from a fresh snapshot (constant memory).

        Compound and base64 columns yield None: the Bulk API refuses to select them."""
        plan = [(-1 if c.field.type == "base64" else c.sql_index, csv_value_converter(c.field))
                for c in self.columns]
        if self._materialized is not None:
            source: Iterator[tuple[Any, ...]] = iter(self._materialized)
            conn = None
        else:
            conn = self._connect()
            source = conn.execute(self._q.sql, self._q.params)
        # Bulk writes every row of a job through here (~40 columns, 10-15 µs a row): when the
        # columns are consecutive in the SQL row, slice them (C) and convert only the few that
        # need it (booleans), instead of a generator step per value (cProfile, 2026-11-22).
        first = plan[0][0] if plan else 0
        width = len(plan)
        sliced = [idx for idx, _ in plan] == list(range(first, first + width)) and first >= 0
        fix = [(i, conv) for i, (idx, conv) in enumerate(plan) if idx >= 0 and conv is not None]
        try:
            if sliced and not fix:
                for row in source:
                    yield row[first:first + width]
            elif sliced:
                for row in source:
                    values = list(row[first:first + width])
                    for i, conv in fix:
                        values[i] = conv(values[i])
                    yield tuple(values)
            else:
                for row in source:
                    yield tuple(None if idx < 0 else (conv(row[idx]) if conv else row[idx])
                                for idx, conv in plan)
        finally:
            if conn is not None:
                conn.close()

    # --- columns=true --------------------------------------------------------------------------
    def column_metadata(self) -> dict[str, Any]:
        entries: list[dict[str, Any]] = []
        by_rel: dict[tuple[str, ...], dict[str, Any]] = {}
        for col in self.columns:
            if col.child is not None:
                entry = _meta_entry(col.name, col.name, None)
                entry["joinColumns"] = [_meta_entry(c.name, c.name, c.field) for c in col.child.columns]
                entries.append(entry)
                continue
            if col.aggregate:
                entries.append(_meta_entry(col.name, col.display, col.field, aggregate=True))
                continue
            names = col.resolved.names if col.resolved else (col.name,)
            target = entries
            for depth in range(len(names) - 1):
                key = tuple(n.lower() for n in names[:depth + 1])
                if key not in by_rel:
                    by_rel[key] = _meta_entry(names[depth], names[depth], None)
                    target.append(by_rel[key])
                target = by_rel[key]["joinColumns"]
            target.append(_meta_entry(names[-1], names[-1], col.field))
        id_selected = any(c.name.lower() == "id" for c in self.columns if not c.aggregate)
        return {"columnMetadata": entries, "entityName": self.entity,
                "groupBy": self._q.group_by, "idSelected": id_selected,
                "keyPrefix": self._q.obj.describe_key_prefix}


def _meta_entry(name: str, display: str, f: FieldDef | None, aggregate: bool = False) -> dict[str, Any]:
    ftype = f.type if f else ""
    return {"aggregate": aggregate, "apexType": _APEX_TYPES.get(ftype, "String") if f else None,
            "booleanType": ftype == "boolean", "columnName": name,
            "custom": bool(f and f.custom), "displayName": display, "foreignKeyName": None,
            "insertable": bool(f and f.createable and not aggregate), "joinColumns": [],
            "numberType": ftype in ("int", "double", "currency", "percent"),
            "textType": ftype in ("string", "textarea", "picklist", "email", "phone", "url", "combobox"),
            "updatable": bool(f and f.updateable and not aggregate)}


def _compound_value(f: FieldDef, comps: list[tuple[str, int]], row: tuple[Any, ...]) -> Any:
    values = {name: row[idx] for name, idx in comps}
    if all(v is None for v in values.values()):
        return None
    if f.type == "location":
        lat = next((v for n, v in values.items() if n.endswith(("Latitude", "Latitude__s"))), None)
        lon = next((v for n, v in values.items() if n.endswith(("Longitude", "Longitude__s"))), None)
        return {"latitude": lat, "longitude": lon}
    prefix = f.name[:-len("Address")]
    return {key: values.get(prefix + suffix) for key, suffix in _ADDRESS_KEYS}


def _record_builder(entity: str, columns: list[Column], version: str) -> RowBuilder:
    """A function row -> REST record, with nested parent records built from the hop Ids."""
    base = f"/services/data/{version}/sobjects/"
    ops: list[Callable[[tuple[Any, ...], dict[str, Any]], None]] = []
    for col in columns:
        ops.append(_column_op(col, base))
    top_url = f"{base}{entity}/"

    def build(row: tuple[Any, ...]) -> dict[str, Any]:
        rec: dict[str, Any] = {"attributes": {"type": entity, "url": top_url + row[0]}}
        for op in ops:
            op(row, rec)
        return rec
    return build


def _column_op(col: Column, base: str) -> Callable[[tuple[Any, ...], dict[str, Any]], None]:
    if col.child is not None:
        name = col.name

        def placeholder(row: tuple[Any, ...], rec: dict[str, Any]) -> None:
            rec[name] = None  # keeps the key in select-list order; filled per page (records())
        return placeholder
    assert col.resolved is not None
    res, f = col.resolved, col.field
    key = res.names[-1]
    if col.components:
        comps = col.components

        def leaf(row: tuple[Any, ...], rec: dict[str, Any]) -> None:
            rec[key] = _compound_value(f, comps, row)
    elif f.type == "base64":
        idx = col.sql_index

        def leaf(row: tuple[Any, ...], rec: dict[str, Any]) -> None:
            # REST gives a blob field as the URL of its content (sObject Blob Retrieve).
            rec[key] = None if row[idx] is None else rec["attributes"]["url"] + "/" + key
    else:
        idx, conv = col.sql_index, json_converter(f)
        if conv is None:
            def leaf(row: tuple[Any, ...], rec: dict[str, Any]) -> None:
                rec[key] = row[idx]
        else:
            def leaf(row: tuple[Any, ...], rec: dict[str, Any]) -> None:
                rec[key] = conv(row[idx])
    if not res.hops:
        return leaf
    hops = [(name, hop, col.hop_indices[i]) for i, (name, hop) in enumerate(zip(res.names, res.hops))]

    def nested(row: tuple[Any, ...], rec: dict[str, Any]) -> None:
        target = rec
        for name, hop, id_idx in hops:
            parent_id = row[id_idx]
            if parent_id is None:
                target[name] = None
                return
            child = target.get(name)
            if child is None:
                obj = _object_of(hop, parent_id)
                # UNCONF: a polymorphic parent's attributes.type is the Name pseudo-object's name.
                type_name = "Name" if hop.polymorphic else obj
                child = target[name] = {"attributes": {"type": type_name,
                                                       "url": f"{base}{obj}/{parent_id}"}}
            target = child
        leaf(row, target)
    return nested


def _object_of(hop: Any, record_id: str) -> str:
    """The object of a parent record: by key prefix when the relationship is polymorphic."""
    for obj, _alias in hop.targets:
        if obj.key_prefix == record_id[:3]:
            return str(obj.name)
    return str(hop.targets[0][0].name)
