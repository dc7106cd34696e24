"""OrgStore: the emulated org's data, metadata, SOQL and write rules over one SQLite file.

The wire layer (server.py, routes/) calls only this API:
  - `OrgStore.create(path, seed=, records=, now=)` builds (or copies from the cache) a seeded org;
  - describe_global / describe / sobject_name / object_for_id;
  - query(soql, include_deleted=, now=, user_id=) -> QueryCursor (store_cursor.py); bulk_refusal;
  - get / create / update / upsert (by external id) / delete (hard=True for hardDelete) / blob;
  - transaction(as_user=, now=, owner_change_options=) -> WriteBatch: several writes in one transaction, per-record
    savepoints (sObject Collections with allOrNone, Bulk ingest);
  - users: user_by_username / user_by_id / check_password / is_frozen / record_login;
  - usage: record_counts (``limits/recordCount``), storage_usage (``/limits`` storage);
  - emulator-only: setting / set_setting (default lead/case owner...), add_validation_rule,
    record_count, dump_checksum.
Errors are `SalesforceFault(status, error_code, message, fields)`.
Where Salesforce's exact text or code is unknown, the choice is marked UNCONF in the module
that makes it (orgrules.py, store_writes.py, store_query.py, store_select.py, seed_users.py).

Threads: one SQLite connection per thread (WAL, so reads run concurrently), one lock for writes.
Each query cursor holds its own connection and snapshot (see store_cursor.py).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sqlite3
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Protocol, TypeVar, overload

from sfexit_emulator import orgrules
from sfexit_emulator import schema as schema_mod
from sfexit_emulator.ids import normalize_id
from sfexit_emulator.schema import Schema
from sfexit_emulator.seed import DEMO_CREDENTIALS, SEED_FORMAT_VERSION, build_org, seed_fingerprint
from sfexit_emulator.store_blobs import Blob, find_blob, store_blobs
from sfexit_emulator.store_cursor import QueryCursor
from sfexit_emulator.store_db import column_sql, connect, stored_columns, table_sql
from sfexit_emulator.store_fault import SalesforceFault, not_found
from sfexit_emulator.store_records import existing_row, rest_record, resolve_object
from sfexit_emulator.store_select import bulk_refusal, compile_query
from sfexit_emulator.store_views import create_views
from sfexit_emulator.store_upsert import DuplicateExternalId, find_by_key, upsert_key, upsert_record
from sfexit_emulator.store_usage import record_counts, storage_mb
from sfexit_emulator.store_users import frozen, insert_login, password_matches, user_row
from sfexit_emulator.store_writes import (ValidationRule, WriteContext, create_record, delete_record,
                                          update_record)

__all__ = ["DEMO_CREDENTIALS", "SEED_FORMAT_VERSION", "Blob", "OrgStore", "QueryCursor",
           "SalesforceFault", "ValidationRule", "WriteBatch"]


def _prune_templates(cache: Path, prefix: str, keep: Path) -> None:
    """Drop this (seed, records)'s templates of other days or code versions (1M rows = ~360 MB),
    once they are an hour old, so a copy in progress elsewhere is not pulled from under it."""
    for old in cache.glob(f"{prefix}*.sqlite3"):
        if old != keep and time.time() - old.stat().st_mtime > 3600:
            old.unlink(missing_ok=True)


def _cache_dir(cache_dir: Path | str | None) -> Path:
    return Path(cache_dir) if cache_dir else Path(tempfile.gettempdir()) / "sfexit-emulator-cache"


T = TypeVar("T")


class WriteBatch:
    """The writes of one `OrgStore.transaction` (see there)."""

    def __init__(self, ctx: WriteContext) -> None:
        self.ctx = ctx
        self.rolled_back = False

    def create(self, sobject: str, values: dict[str, Any]) -> str:
        new_id, blobs = create_record(self.ctx, sobject, values)
        store_blobs(self.ctx.conn, self.ctx.schema, new_id, blobs, values)
        return new_id

    def update(self, sobject: str, record_id: str, values: dict[str, Any]) -> None:
        blobs = update_record(self.ctx, sobject, record_id, values)
        store_blobs(self.ctx.conn, self.ctx.schema, normalize_id(record_id) or record_id, blobs, values)

    def delete(self, sobject: str, record_id: str, *, hard: bool = False) -> None:
        delete_record(self.ctx, sobject, record_id, hard=hard)

    def upsert(self, sobject: str, field: str, value: Any, values: dict[str, Any]) -> tuple[str, bool]:
        """(record id, created): see store_upsert.py."""
        record_id, created, blobs = upsert_record(self.ctx, sobject, field, value, values)
        store_blobs(self.ctx.conn, self.ctx.schema, record_id, blobs, values)
        return record_id, created

    def attempt(self, action: Callable[[], T]) -> T:
        """Run one record's writes under a savepoint: undone if they raise."""
        self.ctx.conn.execute("SAVEPOINT record")
        try:
            result = action()
        except BaseException:
            self.ctx.conn.execute("ROLLBACK TO record")
            self.ctx.conn.execute("RELEASE record")
            raise
        self.ctx.conn.execute("RELEASE record")
        return result

    def rollback(self) -> None:
        """Undo the whole batch when the transaction block ends (allOrNone with a failure)."""
        self.rolled_back = True


class _CreateOrg(Protocol):
    def __call__(self, path: Path, *, seed: int = 1, records: int = 2000, now: datetime,
                 cache_dir: Path | str | None = None) -> "OrgStore": ...


class _CreateRecord(Protocol):
    def __call__(self, sobject: str, values: dict[str, Any], *, as_user: str, now: datetime) -> str: ...


class _CreateDescriptor:
    """`OrgStore.create(path, ...)` builds an org; `store.create(sobject, values, ...)` inserts a
    record. Both names are the wire layer's contract, so one attribute serves both."""

    @overload
    def __get__(self, obj: None, owner: type["OrgStore"]) -> _CreateOrg: ...

    @overload
    def __get__(self, obj: "OrgStore", owner: type["OrgStore"]) -> _CreateRecord: ...

    def __get__(self, obj: "OrgStore | None", owner: type["OrgStore"]) -> _CreateOrg | _CreateRecord:
        return owner.create_org if obj is None else obj.create_record


class OrgStore:
    """See module docstring."""

    create = _CreateDescriptor()

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.schema = Schema.load()
        self._local = threading.local()
        self._write_lock = threading.RLock()
        self._connections: list[tuple[threading.Thread, sqlite3.Connection]] = []
        self._connections_lock = threading.Lock()
        self.validation_rules: list[ValidationRule] = []
        settings = dict(self._conn().execute("SELECT key, value FROM _setting").fetchall())
        self.org_id: str = settings["org.id"]
        self.org_name: str = settings["org.name"]
        self.admin_user_id: str = settings["admin.user_id"]

    @classmethod
    def create_org(cls, path: Path, *, seed: int = 1, records: int = 2000, now: datetime,
                   cache_dir: Path | str | None = None) -> "OrgStore":
        """A seeded org at `path`, copied from a cached template built once per
        (seed, records, day, SEED_FORMAT_VERSION and the seed code's fingerprint)."""
        cache = _cache_dir(cache_dir)
        cache.mkdir(parents=True, exist_ok=True)
        key = f"org-s{seed}-r{records}-{now.date().isoformat()}-v{SEED_FORMAT_VERSION}-{seed_fingerprint()}"
        template = cache / f"{key}.sqlite3"
        if not template.exists():
            tmp = cache / f"{key}.{os.getpid()}.{threading.get_ident()}.building"
            build_org(tmp, seed=seed, records=records, now=now)
            os.replace(tmp, template)  # atomic: a concurrent builder's copy is just as good
            _prune_templates(cache, f"org-s{seed}-r{records}-", keep=template)
        path = Path(path)
        for suffix in ("", "-wal", "-shm"):
            Path(str(path) + suffix).unlink(missing_ok=True)
        shutil.copyfile(template, path)
        return cls(path)

    # --- connections ---------------------------------------------------------------------------
    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._new_conn()
            self._local.conn = conn
            with self._connections_lock:
                # A threaded server makes a thread per client connection: close the SQLite
                # connections of threads that ended, or they pile up (memory, file handles).
                alive = []
                for thread, other in self._connections:
                    if thread.is_alive():
                        alive.append((thread, other))
                    else:
                        other.close()
                alive.append((threading.current_thread(), conn))
                self._connections = alive
        return conn

    def _new_conn(self) -> sqlite3.Connection:
        conn = connect(str(self.path))
        create_views(conn, self.schema)
        return conn

    def close(self) -> None:
        with self._connections_lock:
            for _thread, conn in self._connections:
                conn.close()
            self._connections.clear()
        self._local = threading.local()

    @contextlib.contextmanager
    def transaction(self, *, as_user: str, now: datetime,
                    owner_change_options: frozenset[str] = frozenset()) -> Iterator["WriteBatch"]:
        """Several writes in one transaction (sObject Collections with allOrNone, Bulk ingest).

        Commits when the block ends, unless it raised or `batch.rollback()` was called. Use
        `batch.attempt(fn)` per record: a failing record's partial writes are undone (savepoint)
        and its SalesforceFault re-raised, while the batch goes on with the next record.
        `owner_change_options`: the SOAP OwnerChangeOptions types set to execute (store_writes)."""
        with self._write_lock:
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")
            batch = WriteBatch(WriteContext(conn, self.schema, self.validation_rules,
                                            normalize_id(as_user) or as_user, now,
                                            owner_change_options))
            try:
                yield batch
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("ROLLBACK" if batch.rolled_back else "COMMIT")

    def declare(self, declared: dict[str, dict[str, Any]]) -> None:
        """Add the custom objects and fields of a schema file (schema_custom.py): tables and
        columns are created; the seed's rows are kept."""
        schema = Schema.build(declared)
        with self._write_lock:
            conn = self._conn()
            for obj in schema.stored_objects():
                have = {r[1] for r in conn.execute(f'PRAGMA table_info("{obj.name}")')}
                if not have:
                    conn.execute(table_sql(obj))
                    conn.execute(f'CREATE UNIQUE INDEX "{obj.name}_Id" ON "{obj.name}" ("Id")')
                    continue
                for f in obj.stored_fields:
                    if f.name not in have:
                        conn.execute(f'ALTER TABLE "{obj.name}" ADD COLUMN {column_sql(f)}')
            self.schema = schema

    # --- describe ------------------------------------------------------------------------------
    def describe_global(self, version: str = "v64.0") -> dict[str, Any]:
        return schema_mod.describe_global(self.schema, version)

    def describe(self, sobject: str, version: str = "v64.0", instance_url: str = "") -> dict[str, Any]:
        obj = self.schema.get(sobject)
        if obj is None:
            raise not_found()
        return schema_mod.describe_object(self.schema, obj, version, instance_url)

    def sobject_name(self, name: str) -> str:
        obj = self.schema.get(name)
        if obj is None:
            raise not_found()
        return obj.name

    def object_for_id(self, record_id: str) -> str | None:
        obj = self.schema.by_prefix(record_id[:3])
        return obj.name if obj else None

    # --- SOQL ----------------------------------------------------------------------------------
    def query(self, soql: str, *, include_deleted: bool = False, now: datetime,
              user_id: str | None = None) -> QueryCursor:
        """Raises SalesforceFault 400 MALFORMED_QUERY / INVALID_FIELD / INVALID_TYPE / ..."""
        compiled = compile_query(self.schema, soql, today=now.astimezone(timezone.utc).date(),
                                 include_deleted=include_deleted,
                                 query_all_files=self._has_permission(user_id, "PermissionsQueryAllFiles"),
                                 hidden=self._hidden_setup(user_id, soql))
        return QueryCursor(compiled, self._new_conn)

    def _hidden_setup(self, user_id: str | None, soql: str) -> frozenset[str]:
        """ObjectPermissions: "As of Summer '20 and later, only users with the View Setup and
        Configuration permission can access this object" (object reference,
        sforce_api_objects_objectpermissions.htm). Checked only when the query names it."""
        if user_id is None or "objectpermissions" not in soql.lower():
            return frozenset()
        uid = normalize_id(user_id) or user_id
        if orgrules.user_permission(self._conn(), uid, orgrules.VIEW_SETUP):
            return frozenset()
        return frozenset({"ObjectPermissions"})

    def _has_permission(self, user_id: str | None, permission: str) -> bool:
        # Only permissions the research schema lists exist (PermissionsQueryAllFiles does not,
        # so nobody bypasses the ContentDocumentLink filter rule).
        if user_id is None or self.schema.objects["Profile"].field(permission) is None:
            return False
        row = self._conn().execute(f'SELECT p."{permission}" FROM "User" u JOIN "Profile" p '
                                   'ON p."Id" = u."ProfileId" WHERE u."Id" = ?',
                                   (normalize_id(user_id),)).fetchone()
        return bool(row and row[0])

    def bulk_refusal(self, soql: str, *, now: datetime | None = None) -> SalesforceFault | None:
        """What creating a Bulk API 2.0 query job for `soql` answers, or None when accepted."""
        today = (now or datetime.now(timezone.utc)).astimezone(timezone.utc).date()
        return bulk_refusal(self.schema, soql, today)

    # --- records -------------------------------------------------------------------------------
    def get(self, sobject: str, record_id: str, fields: list[str] | None = None, *,
            version: str = "v64.0") -> dict[str, Any]:
        obj = resolve_object(self.schema, sobject)
        row = existing_row(self._conn(), obj, record_id)
        return rest_record(obj, row, fields, version)

    # One-record writes are a one-record WriteBatch: the same code as sObject Collections.
    def create_record(self, sobject: str, values: dict[str, Any], *, as_user: str, now: datetime) -> str:
        """Insert a record as `as_user`; returns the new 18-char id."""
        with self.transaction(as_user=as_user, now=now) as batch:
            return batch.create(sobject, values)

    def update(self, sobject: str, record_id: str, values: dict[str, Any], *, as_user: str,
               now: datetime) -> None:
        with self.transaction(as_user=as_user, now=now) as batch:
            batch.update(sobject, record_id, values)

    def is_upsert_key(self, sobject: str, field: str) -> bool:
        obj = self.schema.get(sobject)
        f = obj.field(field) if obj is not None else None
        return f is not None and (f.external_id or f.id_lookup)

    def find_by_key(self, sobject: str, field: str, value: Any) -> str | None:
        """The live record whose upsert key ``field`` holds ``value``, or None. Raises
        SalesforceFault 404 (no such key field) or DuplicateExternalId (several records)."""
        obj = resolve_object(self.schema, sobject)
        found = find_by_key(self._conn(), obj, upsert_key(obj, field), value)
        if len(found) > 1:
            raise DuplicateExternalId(obj.name, field, found)
        return found[0] if found else None

    def upsert(self, sobject: str, field: str, value: Any, values: dict[str, Any], *,
               as_user: str, now: datetime) -> tuple[str, bool]:
        """Upsert by the external id ``field`` = ``value``: (record id, created). Raises
        SalesforceFault (404 for a field that is no upsert key; DuplicateExternalId, status 300)."""
        with self.transaction(as_user=as_user, now=now) as batch:
            return batch.upsert(sobject, field, value, values)

    def delete(self, sobject: str, record_id: str, *, as_user: str, now: datetime,
               hard: bool = False) -> None:
        """Soft delete (queryAll still sees it); `hard=True` for Bulk's hardDelete."""
        with self.transaction(as_user=as_user, now=now) as batch:
            batch.delete(sobject, record_id, hard=hard)

    def blob(self, sobject: str, record_id: str, field: str) -> Blob:
        """Body of ContentVersion.VersionData / Attachment.Body / Document.Body; else 404 NOT_FOUND."""
        return find_blob(self._conn(), self.schema, sobject, record_id, field)

    def add_validation_rule(self, rule: ValidationRule) -> None:
        """Test hook: make updates/creates of matching records fail FIELD_CUSTOM_VALIDATION_EXCEPTION."""
        self.validation_rules.append(rule)

    # --- users and auth ------------------------------------------------------------------------
    def user_by_username(self, username: str) -> dict[str, Any] | None:
        """Flat User fields (REST value forms) plus ProfileName and IsFrozen; usernames ignore case."""
        return user_row(self._conn(), self.schema, '"Username" = ? COLLATE NOCASE', username)

    def user_by_id(self, user_id: str) -> dict[str, Any] | None:
        norm = normalize_id(user_id)
        return None if norm is None else user_row(self._conn(), self.schema, '"Id" = ?', norm)

    def check_password(self, username: str, password: str) -> bool:
        """True for the user's password, or password + security token (SOAP / OAuth password grant).
        Says nothing about IsActive or freezing: callers check user_by_username / is_frozen."""
        return password_matches(self._conn(), username, password)

    def is_frozen(self, user_id: str) -> bool:
        return frozen(self._conn(), normalize_id(user_id) or user_id)

    def record_login(self, user_id: str, *, now: datetime, login_type: str, status: str = "Success",
                     application: str = "Browser", source_ip: str = "127.0.0.1") -> None:
        """A LoginHistory row; a successful login also sets User.LastLoginDate."""
        uid = normalize_id(user_id) or user_id
        with self.transaction(as_user=uid, now=now) as batch:
            insert_login(batch.ctx.conn, batch.ctx.next_id("0Ya"), uid, now, login_type, status,
                         application, source_ip)

    # --- org settings (emulator-only) ----------------------------------------------------------
    def setting(self, key: str) -> str | None:
        row = self._conn().execute("SELECT value FROM _setting WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_setting(self, key: str, value: str | None) -> None:
        with self._write_lock:
            if value is None:
                self._conn().execute("DELETE FROM _setting WHERE key = ?", (key,))
            else:
                self._conn().execute("INSERT OR REPLACE INTO _setting (key, value) VALUES (?, ?)", (key, value))

    # --- usage (``…/limits/recordCount``, storage in ``/limits``; store_usage.py) ----------------
    def record_counts(self, sobjects: list[str] | None = None) -> list[tuple[str, int]]:
        """(name, live rows) per object asked (unknown names left out), or of every object."""
        return record_counts(self._conn(), self.schema, sobjects)

    def storage_usage(self) -> tuple[float, float]:
        """(data MB, file MB) used: 2 KB per counted record, file bytes of live records."""
        return storage_mb(self._conn(), self.schema)

    def record_count(self, sobject: str, *, include_deleted: bool = False) -> int:
        obj = resolve_object(self.schema, sobject)
        sql = f'SELECT COUNT(*) FROM "{obj.name}"' + ("" if include_deleted else ' WHERE "IsDeleted" = 0')
        return int(self._conn().execute(sql).fetchone()[0])

    def dump_checksum(self) -> str:
        """SHA-256 over every table's rows in id order: equal for equal orgs (seed determinism)."""
        digest = hashlib.sha256()
        conn = self._conn()
        for obj in sorted(self.schema.stored_objects(), key=lambda o: o.name):
            cols = ", ".join(f'"{c}"' for c in stored_columns(obj))
            for row in conn.execute(f'SELECT {cols} FROM "{obj.name}" ORDER BY rowid'):
                digest.update(repr(row).encode())
        for row in conn.execute("SELECT record_id, field, size, seed FROM _blob ORDER BY record_id, field"):
            digest.update(repr(row).encode())
        return digest.hexdigest()

