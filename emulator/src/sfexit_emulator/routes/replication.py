"""The replication API: ``…/sobjects/X/updated/?start=&end=`` and ``…/sobjects/X/deleted/?start=&end=``.

REST API Developer Guide, "sObject Get Updated" (resources_getupdated.htm) and "sObject Get
Deleted" (resources_getdeleted.htm), with the SOAP API's getUpdated()/getDeleted() rules they
point to:
- updated: ``{"ids": [...], "latestDateCovered": ...}``; records added or changed in the span,
  judged on SystemModstamp (else LastModifiedDate); "no more than 30 days previous to the day
  the call is executed";
- deleted: ``{"deletedRecords": [{"id", "deletedDate"}], "earliestDateAvailable",
  "latestDateCovered"}``; "no more than 15 days previous" (the guide's figure; issue 21 said 30);
  deletedDate from SystemModstamp;
- more than 600,000 ids: EXCEEDED_ID_LIMIT; the seconds of start and end are ignored (getUpdated:
  "the API ignores the seconds portion"), so latestDateCovered is ``end`` to the minute.
UNCONF: the error texts; a start outside the window or after end answers 400
INVALID_REPLICATION_DATE (the StatusCode the SOAP calls document), an object that is not
replicateable 400 INVALID_TYPE_FOR_OPERATION; earliestDateAvailable is the start of the 15-day
window (the emulator purges nothing).
"""

from __future__ import annotations

import datetime as dt

from sfexit_emulator.http import Call, HttpError, Response, Router, json_response

MAX_IDS = 600_000
UPDATED_DAYS, DELETED_DAYS = 30, 15


def _when(call: Call, name: str) -> dt.datetime:
    raw = (call.request.arg(name) or "").strip().replace(" ", "+")  # an unescaped + decodes as space
    try:
        value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise HttpError(400, "INVALID_REPLICATION_DATE" if raw else "MISSING_ARGUMENT",
                        f"{name}: a date and time in ISO 8601 form is required") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return value.astimezone(dt.timezone.utc).replace(second=0, microsecond=0)


def _stamp(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _literal(value: dt.datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _span(call: Call, days: int) -> tuple[str, dt.datetime, dt.datetime, str]:
    """(object, start, end, the modstamp field) after the documented checks."""
    store = call.app.store
    name = store.sobject_name(call.params["sobject"])
    start, end = _when(call, "start"), _when(call, "end")
    now = call.app.clock.now().astimezone(dt.timezone.utc)
    if start > end:
        raise HttpError(400, "INVALID_REPLICATION_DATE", "start must be before end")
    if start < now - dt.timedelta(days=days):
        raise HttpError(400, "INVALID_REPLICATION_DATE",
                        f"start must be within the last {days} days")
    describe = store.describe(name, version=f"v{call.version}")
    if not describe.get("replicateable"):
        raise HttpError(400, "INVALID_TYPE_FOR_OPERATION",
                        f"entity type {name} does not support replication")
    fields = {f["name"] for f in describe["fields"]}
    stamp = "SystemModstamp" if "SystemModstamp" in fields else "LastModifiedDate"
    if stamp not in fields:
        raise HttpError(400, "INVALID_TYPE_FOR_OPERATION",
                        f"entity type {name} does not support replication")
    return name, start, min(end, now), stamp


def _rows(call: Call, soql: str, include_deleted: bool) -> list[tuple[str, str]]:
    assert call.session is not None
    cursor = call.app.store.query(soql, include_deleted=include_deleted, now=call.now(),
                                  user_id=call.session.user_id)
    try:
        if int(cursor.total_size) > MAX_IDS:
            raise HttpError(400, "EXCEEDED_ID_LIMIT",
                            "Too many ids were requested; choose start and end dates closer together")
        return [(str(r[0]), str(r[1])) for r in cursor.rows()]
    finally:
        close = getattr(cursor, "close", None)
        if callable(close):
            close()


def updated(call: Call) -> Response:
    name, start, end, stamp = _span(call, UPDATED_DAYS)
    rows = _rows(call, f"SELECT Id, {stamp} FROM {name} WHERE {stamp} >= {_literal(start)} "
                       f"AND {stamp} < {_literal(end)} ORDER BY {stamp}, Id", include_deleted=False)
    return json_response({"ids": [i for i, _ in rows], "latestDateCovered": _stamp(end)})


def deleted(call: Call) -> Response:
    name, start, end, stamp = _span(call, DELETED_DAYS)
    rows = _rows(call, f"SELECT Id, {stamp} FROM {name} WHERE IsDeleted = true AND "
                       f"{stamp} >= {_literal(start)} AND {stamp} < {_literal(end)} "
                       f"ORDER BY {stamp}, Id", include_deleted=True)
    window = call.app.clock.now().astimezone(dt.timezone.utc) - dt.timedelta(days=DELETED_DAYS)
    return json_response({
        "deletedRecords": [{"id": i, "deletedDate": when.replace("Z", "+0000")} for i, when in rows],
        "earliestDateAvailable": _stamp(window.replace(second=0, microsecond=0)),
        "latestDateCovered": _stamp(end)})


def register(router: Router) -> None:
    base = r"/services/data/{v}/sobjects/{sobject}"
    router.add("sobject_updated", base + r"/updated/?", updated)
    router.add("sobject_deleted", base + r"/deleted/?", deleted)
