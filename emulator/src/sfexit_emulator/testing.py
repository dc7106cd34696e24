"""The emulated org's records for tests and benchmarks: read them, seed them, bend them.

A test checks what a client did against the org's own state, not through the client under
test; a benchmark seeds the org before it measures. This module is that door, named and typed,
so that nothing outside the emulator reaches into its store, routes or schema::

    from sfexit_emulator import Emulator, testing

    with Emulator() as org:
        lead = testing.create(org, "Lead", {"LastName": "Ng", "Company": "Acme"})
        assert testing.rows(org, f"SELECT LastName FROM Lead WHERE Id = '{lead}'") == [("Ng",)]

Every function takes a started :class:`~sfexit_emulator.Emulator`. Queries and writes run at
the emulator clock's ``now``. Writes run as the org's admin unless ``as_user`` (a user id) says
otherwise, through the same code as the REST API: field checks, validation rules and the
owner-change rules apply, and a refused write raises :class:`SalesforceFault` with the error
code Salesforce answers. Two functions go around the API on purpose, for states a client
cannot make: :func:`set_field` (a read-only field such as ``ContentVersion.Checksum``) and
:func:`purge` (rows gone without a trace, as when Salesforce's retention removes them).
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from sfexit_emulator.store_fault import SalesforceFault

if TYPE_CHECKING:
    from sfexit_emulator import Emulator
    from sfexit_emulator.costs import CostModel
    from sfexit_emulator.dataexport import DataExportService, ExportRun
    from sfexit_emulator.store import OrgStore, WriteBatch

__all__ = [
    "BLOB_FIELDS", "SESSION_RECORDS", "SESSION_SEED", "Login", "SalesforceFault", "Writes",
    "add_validation_rule", "admin_id", "blob_bytes", "blob_chunks", "blob_size", "count",
    "create", "csv_text", "dataexport", "delete", "describe", "limit_max", "purge",
    "record_count", "records", "rows", "seed_export", "set_field", "soql_log", "spend_limit",
    "standard_login", "update", "user_id", "writes",
]

# The org the pytest fixtures `emulator` and `fresh_emulator` seed (pytest_plugin.py): a test
# that builds its own Emulator with these gets the same records (and reuses the cached seed).
SESSION_RECORDS = 2000
SESSION_SEED = 1

# The body field of each object that holds a file (the blob routes serve these, nothing else).
BLOB_FIELDS: Mapping[str, str] = {"ContentVersion": "VersionData", "Attachment": "Body",
                                  "Document": "Body"}


@dataclass(frozen=True)
class Login:
    """A seeded user's login: password and security token as the demo org has them."""

    username: str
    password: str
    security_token: str


class Writes(Protocol):
    """The writes of one :func:`writes` block: one transaction, as sObject Collections make."""

    def create(self, sobject: str, values: dict[str, Any]) -> str: ...

    def update(self, sobject: str, record_id: str, values: dict[str, Any]) -> None: ...

    def delete(self, sobject: str, record_id: str, *, hard: bool = False) -> None: ...


def _store(org: Emulator) -> OrgStore:
    return org.store


# --- reading ---------------------------------------------------------------------------------
def rows(org: Emulator, soql: str, *, include_deleted: bool = False) -> list[tuple[Any, ...]]:
    """Flat values in the order selected, as the Bulk API writes them (before CSV text:
    booleans are ``bool``, empty is ``None``); ``include_deleted`` is queryAll."""
    cursor = _store(org).query(soql, include_deleted=include_deleted, now=org.clock.now())
    try:
        return list(cursor.rows())
    finally:
        cursor.close()


def records(org: Emulator, soql: str, *,
            include_deleted: bool = False) -> list[dict[str, Any]]:
    """Every record of ``soql`` in REST's JSON shape (``attributes``, nested relationships)."""
    cursor = _store(org).query(soql, include_deleted=include_deleted, now=org.clock.now())
    try:
        return cursor.records(0, cursor.total_size)
    finally:
        cursor.close()


def count(org: Emulator, soql: str, *, include_deleted: bool = False) -> int:
    """The ``totalSize`` the org answers for ``soql``."""
    cursor = _store(org).query(soql, include_deleted=include_deleted, now=org.clock.now())
    cursor.close()
    return cursor.total_size


def record_count(org: Emulator, sobject: str, *, include_deleted: bool = False) -> int:
    """Rows of ``sobject`` (live ones, or with the recycle bin's)."""
    return _store(org).record_count(sobject, include_deleted=include_deleted)


def describe(org: Emulator, sobject: str) -> dict[str, Any]:
    """The sObject describe, as ``GET …/sobjects/<sobject>/describe`` answers it."""
    return _store(org).describe(sobject)


def csv_text(value: Any) -> str:
    """The text the Bulk API's CSV holds for one value of :func:`rows`."""
    from sfexit_emulator.bulk_csv import text_value

    return text_value(value)


# --- users -----------------------------------------------------------------------------------
def user_id(org: Emulator, username: str) -> str:
    """The 18-character id of the user ``username`` (case ignored); KeyError if none."""
    user = _store(org).user_by_username(username)
    if user is None:
        raise KeyError(f"no user {username!r} in the emulated org")
    return str(user["Id"])


def admin_id(org: Emulator) -> str:
    """The id of the org's admin: the user of ``org.token`` and ``org.credentials``."""
    return _store(org).admin_user_id


def standard_login() -> Login:
    """The seeded standard user's login (no Manage Users, no Modify All Data)."""
    from sfexit_emulator.seed import DEMO_CREDENTIALS

    std = DEMO_CREDENTIALS.standard
    return Login(std.username, std.password, std.security_token)


# --- writing through the API's rules ---------------------------------------------------------
@contextlib.contextmanager
def _transaction(org: Emulator, as_user: str | None = None) -> Iterator[WriteBatch]:
    store = _store(org)
    with store.transaction(as_user=as_user or store.admin_user_id, now=org.clock.now()) as batch:
        yield batch


@contextlib.contextmanager
def writes(org: Emulator, *, as_user: str | None = None) -> Iterator[Writes]:
    """Several writes in one transaction: all of them land when the block ends, none if it
    raises. Much faster than one :func:`create` a record when seeding thousands."""
    with _transaction(org, as_user) as batch:
        yield batch


def create(org: Emulator, sobject: str, values: dict[str, Any], *,
           as_user: str | None = None) -> str:
    """Insert one record; returns its 18-character id. Blob fields take base64 text."""
    with writes(org, as_user=as_user) as batch:
        return batch.create(sobject, values)


def update(org: Emulator, sobject: str, record_id: str, values: dict[str, Any], *,
           as_user: str | None = None) -> None:
    with writes(org, as_user=as_user) as batch:
        batch.update(sobject, record_id, values)


def delete(org: Emulator, sobject: str, record_id: str, *, as_user: str | None = None,
           hard: bool = False) -> None:
    """Soft delete (queryAll still sees the row); ``hard=True`` as Bulk's hardDelete."""
    with writes(org, as_user=as_user) as batch:
        batch.delete(sobject, record_id, hard=hard)


def add_validation_rule(org: Emulator, sobject: str, applies: Callable[[dict[str, Any]], bool],
                        message: str, *, field: str | None = None) -> None:
    """Stand in for an org's validation rule: a create or update of ``sobject`` whose stored
    values (after the change) make ``applies`` true fails FIELD_CUSTOM_VALIDATION_EXCEPTION
    with ``message``, on ``field`` if given. It lasts as long as the org."""
    from sfexit_emulator.store_writes import ValidationRule

    _store(org).add_validation_rule(ValidationRule(sobject, applies, message, field))


# --- states no client can make ---------------------------------------------------------------
def _stored_field(org: Emulator, sobject: str, field: str) -> tuple[Any, Any]:
    from sfexit_emulator.store_records import resolve_object

    obj = resolve_object(_store(org).schema, sobject)
    f = obj.field(field)
    if f is None or f.type == "base64" or f.is_compound:
        raise ValueError(f"{sobject}.{field} is not a stored field of the emulated org")
    return obj, f


def set_field(org: Emulator, sobject: str, record_id: str, field: str, value: Any) -> None:
    """Store ``value`` in ``field`` as if the org had put it there, read-only or not (the
    value is checked and encoded as a write would be: type, length, picklist). No system
    field, audit row or rule runs. SalesforceFault NOT_FOUND for a record that is not there."""
    from sfexit_emulator.ids import normalize_id
    from sfexit_emulator.store_records import encode_value, existing_row, update_row

    obj, f = _stored_field(org, sobject, field)
    with _transaction(org) as batch:
        conn = batch.ctx.conn
        rid = normalize_id(record_id) or record_id
        existing_row(conn, obj, rid)
        update_row(conn, obj, rid, {f.name: encode_value(f, value)})


def purge(org: Emulator, sobject: str, record_ids: Iterable[str]) -> int:
    """Remove rows outright, without the recycle bin or cascades (what Salesforce's retention
    does to LoginHistory or field history). Returns how many rows went."""
    from sfexit_emulator.ids import normalize_id
    from sfexit_emulator.store_db import quote

    obj, _ = _stored_field(org, sobject, "Id")
    ids = [normalize_id(i) or i for i in record_ids]
    gone = 0
    with _transaction(org) as batch:
        conn = batch.ctx.conn
        for rid in ids:
            gone += conn.execute(f'DELETE FROM {quote(obj.name)} WHERE "Id" = ?', (rid,)).rowcount
    return gone


# --- files -----------------------------------------------------------------------------------
def blob_chunks(org: Emulator, sobject: str, record_id: str, *,
                field: str | None = None) -> Iterator[bytes]:
    """The body of a ContentVersion, Attachment or Document as the org serves it, in pieces
    (a seeded body is generated, not stored: a large one costs no memory)."""
    return _store(org).blob(sobject, record_id, field or BLOB_FIELDS[sobject]).chunks()


def blob_bytes(org: Emulator, sobject: str, record_id: str, *, field: str | None = None) -> bytes:
    return b"".join(blob_chunks(org, sobject, record_id, field=field))


def blob_size(org: Emulator, sobject: str, record_id: str, *, field: str | None = None) -> int:
    """The body's length in bytes (not the size field, which a test may want to disagree)."""
    return _store(org).blob(sobject, record_id, field or BLOB_FIELDS[sobject]).size


# --- what clients ask ------------------------------------------------------------------------
@contextlib.contextmanager
def soql_log(org: Emulator) -> Iterator[list[str]]:
    """Every SOQL text the org is asked inside the block, whichever route carried it (REST
    query, Bulk job, this module), in order. The list stays readable after the block."""
    store = _store(org)
    texts: list[str] = []
    real = store.query

    def logged(soql: str, **kwargs: Any) -> Any:
        texts.append(soql)
        return real(soql, **kwargs)

    store.query = logged  # type: ignore[method-assign]
    try:
        yield texts
    finally:
        store.query = real  # type: ignore[method-assign]


# --- limits ----------------------------------------------------------------------------------
def limit_max(name: str) -> int:
    """The daily maximum of a limit the emulator counts itself (``DailyBulkV2QueryJobs``, ...),
    as ``/limits`` reports it. KeyError for others (the API calls: ``faults.daily_api_max``)."""
    from sfexit_emulator.routes.limits import STATIC_MAX

    return STATIC_MAX[name]


def spend_limit(org: Emulator, name: str, amount: int) -> bool:
    """Use up ``amount`` of the daily limit ``name`` as if clients had; False (and nothing
    spent) when that would pass its maximum."""
    from sfexit_emulator.routes.limits import spend

    if org.app is None:
        raise RuntimeError("the emulator is not started")
    return spend(org.app, name, amount)


# --- the Data Export Service (Setup's weekly export) -----------------------------------------
def dataexport(org: Emulator) -> DataExportService:
    """The Data Export Service's state: its knobs (``update({...})``), the current export
    (``current``), ``set_last_export``. Made on first use; one per org."""
    from sfexit_emulator.routes.dataexport import service

    if org.app is None:
        raise RuntimeError("the emulator is not started")
    return service(org.app)


def seed_export(org: Emulator, requested_at: dt.datetime, **options: Any) -> ExportRun:
    """Pretend an export was requested at ``requested_at`` (built from the org as it is now).
    ``options`` are the Export Now form's: ``include_attachments``, ``include_files``,
    ``replace_cr``, ``encoding``, ``objects``."""
    from sfexit_emulator.dataexport import ExportOptions

    return dataexport(org).seed_export(requested_at, ExportOptions(**options))


# --- Bulk result pages and the server-time model --------------------------------------------
@contextlib.contextmanager
def bulk_result_page_rows(rows: int) -> Iterator[None]:
    """Bulk query results paged by ``rows`` rows (a page without ``maxRecords``, and the pages
    ``resultPages`` lists) instead of 50,000, while the block runs: a small org can then test
    a client reading several pages. Process-wide, like the default it replaces."""
    from sfexit_emulator.routes import bulk_query

    before = bulk_query.DEFAULT_PAGE_ROWS
    bulk_query.DEFAULT_PAGE_ROWS = rows
    try:
        yield
    finally:
        bulk_query.DEFAULT_PAGE_ROWS = before


def cost_profile(name: str) -> CostModel:
    """The server-time model at profile ``name`` ("low", "central", "high"; costs.py), for a
    benchmark that computes what the model makes the ideal client take."""
    from sfexit_emulator.costs import PROFILES

    return PROFILES[name]
