"""sObject Collections: ``…/composite/sobjects`` POST (create), PATCH (update), DELETE (``ids=``),
and GET ``…/composite/sobjects/X?ids=&fields=`` or POST ``{"ids","fields"}`` (retrieve).

Facts (errors.md §1/§7; real-clients-wire.md "sObject REST and collections"):
- HTTP 200 with one result per record, in request order: ``{"id","success":true,"errors":[]}``
  or ``{"success":false,"errors":[{"statusCode","message","fields"}]}`` (``statusCode``, not
  errorCode);
- at most 200 records: more is ``400 EXCEEDED_ID_LIMIT "record limit reached. cannot submit more
  than 200 records into this call"``;
- the record id key may be ``id`` in any case (jsforce sends lowercase ``id``);
- ``allOrNone: true``: if any record fails, nothing is saved; the failing records keep their own
  errors and every other record gets ALL_OR_NONE_OPERATION_ROLLED_BACK.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from sfexit_emulator.http import Call, HttpError, Response, Router, json_response
from sfexit_emulator.routes import as_salesforce_fault

MAX_RECORDS = 200
TOO_MANY = "record limit reached. cannot submit more than 200 records into this call"
ROLLED_BACK = {"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
               "message": "Record rolled back because not all records were valid and the "
                          "request was using AllOrNone header",
               "fields": []}


def _error_entry(exc: Exception) -> dict[str, Any] | None:
    if type(exc).__name__ != "SalesforceFault":
        return None
    fields = getattr(exc, "fields", None)
    return {"statusCode": getattr(exc, "error_code"), "message": getattr(exc, "message"),
            "fields": list(fields) if fields is not None else []}


def _run(call: Call, items: list[Any], all_or_none: bool,
         action: Callable[[Any, Any], str]) -> Response:
    """Apply ``action(item, batch)`` to every item; ``batch`` is None outside allOrNone."""
    if all_or_none:
        results, wrote = _run_atomic(call, items, action)
        return json_response(results, is_write=wrote)
    results = [_attempt(action, item, None) for item in items]
    return json_response(results, is_write=any(r["success"] for r in results))


def _attempt(action: Callable[[Any, Any], str], item: Any, batch: Any) -> dict[str, Any]:
    try:
        return {"id": action(item, batch), "success": True, "errors": []}
    except Exception as exc:
        entry = _error_entry(exc)
        if entry is None:
            raise
        return {"success": False, "errors": [entry]}


def _run_atomic(call: Call, items: list[Any],
                action: Callable[[Any, Any], str]) -> tuple[list[dict[str, Any]], bool]:
    """allOrNone: every record in ONE store transaction, each under a savepoint
    (``batch.attempt``) so a failing record's partial writes are undone while the others are
    still checked; any failure rolls the whole transaction back."""
    assert call.session is not None
    results: list[dict[str, Any]] = []
    with call.app.store.transaction(as_user=call.session.user_id, now=call.now()) as batch:
        for item in items:
            results.append(_attempt(lambda it, b: b.attempt(lambda: action(it, b)), item, batch))
        if all(r["success"] for r in results):
            return results, bool(results)
        batch.rollback()
    rolled = [r if not r["success"] else {"success": False, "errors": [dict(ROLLED_BACK)]}
              for r in results]
    return rolled, False


def _body(call: Call) -> tuple[list[Any], bool]:
    body = call.request.json()
    if not isinstance(body, dict) or not isinstance(body.get("records"), list):
        raise HttpError(400, "JSON_PARSER_ERROR", "The request body must hold a records array")
    records = body["records"]
    if len(records) > MAX_RECORDS:
        raise HttpError(400, "EXCEEDED_ID_LIMIT", TOO_MANY)
    return records, bool(body.get("allOrNone", False))


def _type_of(record: Any) -> str:
    attributes = record.get("attributes") if isinstance(record, dict) else None
    kind = attributes.get("type") if isinstance(attributes, dict) else None
    if not kind:
        raise _fault(400, "INVALID_TYPE", "Must send a concrete entity type.", [])
    return str(kind)


def _fault(status: int, code: str, message: str, fields: list[str]) -> Exception:
    from sfexit_emulator.store import SalesforceFault

    return SalesforceFault(status, code, message, fields)


class _Writer:
    """One record write: through the store's public API, or through the allOrNone batch."""

    def __init__(self, call: Call, batch: Any) -> None:
        assert call.session is not None
        self.store, self.batch = call.app.store, batch
        self.user, self.now = call.session.user_id, call.now()

    def create(self, sobject: str, values: dict[str, Any]) -> str:
        if self.batch is not None:
            return str(self.batch.create(sobject, values))
        return str(self.store.create(sobject, values, as_user=self.user, now=self.now))

    def update(self, sobject: str, record_id: str, values: dict[str, Any]) -> None:
        if self.batch is not None:
            self.batch.update(sobject, record_id, values)
        else:
            self.store.update(sobject, record_id, values, as_user=self.user, now=self.now)

    def upsert(self, sobject: str, field: str, value: Any, values: dict[str, Any]) -> tuple[str, bool]:
        if self.batch is not None:
            found: tuple[str, bool] = self.batch.upsert(sobject, field, value, values)
            return found
        return self.store.upsert(sobject, field, value, values, as_user=self.user,
                                 now=self.now)

    def delete(self, sobject: str, record_id: str) -> None:
        if self.batch is not None:
            self.batch.delete(sobject, record_id)
        else:
            self.store.delete(sobject, record_id, as_user=self.user, now=self.now)


def create(call: Call) -> Response:
    records, all_or_none = _body(call)

    def action(record: Any, batch: Any) -> str:
        kind = _type_of(record)
        values = {k: v for k, v in record.items() if k != "attributes"}
        if any(k.lower() == "id" for k in values):
            raise _fault(400, "INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
        return _Writer(call, batch).create(kind, values)

    return _run(call, records, all_or_none, action)


def update(call: Call) -> Response:
    records, all_or_none = _body(call)

    def action(record: Any, batch: Any) -> str:
        kind = _type_of(record)
        values = {k: v for k, v in record.items() if k != "attributes"}
        id_keys = [k for k in values if k.lower() == "id"]
        record_id = values.pop(id_keys[0], None) if id_keys else None
        for extra in id_keys[1:]:
            values.pop(extra)
        if not record_id:
            raise _fault(400, "MISSING_ARGUMENT", "Id not specified in an update call", [])
        _Writer(call, batch).update(kind, str(record_id), values)
        return _id18(str(record_id))

    return _run(call, records, all_or_none, action)


def upsert(call: Call) -> Response:
    """``PATCH …/composite/sobjects/X/ExtIdField`` (REST API Developer Guide, "Upsert Multiple
    Records with Fewer Round-Trips", API 46.0+): records of the URL's type only, each with
    ``attributes.type`` and its key value, never an Id; UpsertResults in order, each with
    ``created``. An incorrect key field is 404 NOT_FOUND as for one record (store_upsert.py);
    a key held by several records is that record's DUPLICATE_EXTERNAL_ID error."""
    name = call.app.store.sobject_name(call.params["sobject"])
    field = call.params["field"]
    if not call.app.store.is_upsert_key(name, field):
        raise HttpError(404, "NOT_FOUND", "The requested resource does not exist")
    records, all_or_none = _body(call)
    created: dict[int, bool] = {}

    def action(record: Any, batch: Any) -> str:
        if _type_of(record).lower() != name.lower():
            # UNCONF: the code and text for a record of another type.
            raise _fault(400, "INVALID_TYPE", f"Record type must be {name}", [])
        values = {k: v for k, v in record.items() if k != "attributes"}
        key = next((k for k in values if k.lower() == field.lower()), None)
        if key is None or values[key] in (None, ""):
            # UNCONF: the code and text for a record without its key value.
            raise _fault(400, "MISSING_ARGUMENT", f"{field} not specified", [])
        record_id, created[id(record)] = _Writer(call, batch).upsert(name, field, values.pop(key), values)
        return record_id

    response = _run(call, records, all_or_none, action)
    results = json.loads(response.body)
    for record, result in zip(records, results, strict=True):
        if result["success"]:
            result["created"] = created[id(record)]
    return json_response(results, is_write=response.is_write)


def delete(call: Call) -> Response:
    ids = [i for i in (call.request.arg("ids") or "").split(",") if i]
    if len(ids) > MAX_RECORDS:
        raise HttpError(400, "EXCEEDED_ID_LIMIT", TOO_MANY)
    all_or_none = (call.request.arg("allOrNone") or "").lower() == "true"

    def action(record_id: str, batch: Any) -> str:
        sobject = call.app.store.object_for_id(record_id)
        if not sobject:
            raise _fault(400, "MALFORMED_ID", f"malformed id {record_id}", [])
        _Writer(call, batch).delete(sobject, record_id)
        return _id18(record_id)

    return _run(call, ids, all_or_none, action)


def retrieve(call: Call) -> Response:
    """GET ``?ids=&fields=`` or POST ``{"ids": [...], "fields": [...]}`` (the form for long id
    lists; jsforce's ``retrieve([...])`` uses it). Docs "Get Records Using sObject Collections"
    and "Get Records With a Request Body Using sObject Collections": up to 2,000 ids; an
    invalid field is 400 for the whole request; an id that is invalid or not found is null."""
    name = call.app.store.sobject_name(call.params["sobject"])
    if not name:
        raise HttpError(404, "NOT_FOUND", "The requested resource does not exist")
    if call.request.method == "POST":
        ids, fields = _retrieve_body(call)
    else:
        ids = [i for i in (call.request.arg("ids") or "").split(",") if i]
        fields = [f for f in (call.request.arg("fields") or "").split(",") if f]
    if len(ids) > 2000:
        raise HttpError(400, "EXCEEDED_ID_LIMIT", "Retrieve is limited to 2000 ids")
    out: list[Any] = []
    for record_id in ids:
        try:
            out.append(call.app.store.get(name, record_id, fields or None,
                                          version=f"v{call.version}"))
        except Exception as exc:
            if as_salesforce_fault(exc) is None or getattr(exc, "error_code", "") == "INVALID_FIELD":
                raise
            out.append(None)
    return json_response(out)


def _retrieve_body(call: Call) -> tuple[list[str], list[str]]:
    body = call.request.json()
    ids = body.get("ids") if isinstance(body, dict) else None
    fields = body.get("fields") if isinstance(body, dict) else None
    if not isinstance(ids, list) or not isinstance(fields, list):
        # UNCONF text: the docs say both are required, not what the refusal says.
        raise HttpError(400, "JSON_PARSER_ERROR", "The request body must hold ids and fields arrays")
    return [str(i) for i in ids if i], [str(f) for f in fields if f]


def _id18(record_id: str) -> str:
    from sfexit_emulator.ids import normalize_id

    return normalize_id(record_id) or record_id


def composite_resources(call: Call) -> Response:
    """``GET …/composite``: the composite resources served (REST API Developer Guide, "Composite
    Resources": Salesforce lists batch, tree, sobjects, graph...; only sObject Collections is
    emulated)."""
    return json_response({"sobjects": f"/services/data/v{call.version}/composite/sobjects"})


def register(router: Router) -> None:
    router.add("composite_resources", r"/services/data/{v}/composite/?", composite_resources)
    base = r"/services/data/{v}/composite/sobjects"
    router.add("composite_create", base + "/?", create, ("POST",))
    router.add("composite_update", base + "/?", update, ("PATCH",))
    router.add("composite_delete", base + "/?", delete, ("DELETE",))
    router.add("composite_retrieve", base + r"/{sobject}/?", retrieve, ("GET", "POST"))
    router.add("composite_upsert", base + r"/{sobject}/(?P<field>[^/]+)/?", upsert, ("PATCH",))
