"""sObject Rows by External ID: ``…/sobjects/X/Field/value`` (PATCH upsert, GET, DELETE); the
sObject Collections upsert is in composite.py. The store's rules: store_upsert.py.

REST API Developer Guide:
- "Upsert Records Using sObject Rows by External ID" (resources_sobject_upsert_patch.htm) and
  "Insert or Update (Upsert) a Record Using an External ID" (dome_upsert.htm): created → 201
  ``{"id","success":true,"errors":[],"created":true}``; updated → 200 with ``"created": false``
  (``created`` from API 46.0; before it an update answers 204 with no body); several matches →
  300 with the matching records; an incorrect external id field → 404 NOT_FOUND
  "The requested resource does not exist". ``?updateOnly=true`` (documented in the current
  guide) refuses to create: UNCONF, the answer then is 404 NOT_FOUND here.
- UNCONF: the 300 body. The guide says "the list of matching records"; it is given here as a
  JSON array of the records' REST URLs.
"""

from __future__ import annotations

from urllib.parse import unquote

from sfexit_emulator.http import (
    NOT_FOUND_MESSAGE, Call, HttpError, Response, Router, empty_response, json_response)

CREATED_FROM = 46.0


def _not_found() -> HttpError:
    return HttpError(404, "NOT_FOUND", NOT_FOUND_MESSAGE)


def _duplicates(call: Call, exc: Exception) -> Response | None:
    ids = getattr(exc, "ids", None)
    if ids is None:
        return None
    base = f"/services/data/v{call.version}/sobjects/{getattr(exc, 'sobject')}"
    return json_response([f"{base}/{i}" for i in ids], status=300)


def record_by_key(call: Call) -> Response:
    """PATCH (upsert), GET and DELETE of the record whose ``field`` holds ``value``."""
    store = call.app.store
    name = store.sobject_name(call.params["sobject"])
    field, value = call.params["field"], unquote(call.params["value"])
    assert call.session is not None
    method = call.request.method
    try:
        if method == "PATCH":
            return _upsert(call, name, field, value)
        record_id = store.find_by_key(name, field, value)
    except Exception as exc:
        duplicates = _duplicates(call, exc)
        if duplicates is None:
            raise
        return duplicates
    if record_id is None:
        raise _not_found()
    if method == "DELETE":
        store.delete(name, record_id, as_user=call.session.user_id, now=call.now())
        response = empty_response(204)
        response.is_write = True
        return response
    fields_arg = call.request.arg("fields")
    fields = [f.strip() for f in fields_arg.split(",") if f.strip()] if fields_arg else None
    return json_response(store.get(name, record_id, fields, version=f"v{call.version}"))


def _upsert(call: Call, name: str, field: str, value: str) -> Response:
    from sfexit_emulator.routes.sobjects import write_body

    assert call.session is not None
    store = call.app.store
    values = write_body(call)
    if (call.request.arg("updateOnly") or "").lower() == "true" \
            and store.find_by_key(name, field, value) is None:
        raise _not_found()
    record_id, created = store.upsert(name, field, value, values, as_user=call.session.user_id,
                                      now=call.now())
    if float(call.version) < CREATED_FROM:
        if not created:
            response = empty_response(204)
            response.is_write = True
            return response
        return json_response({"id": record_id, "success": True, "errors": []}, status=201,
                             is_write=True)
    return json_response({"id": record_id, "success": True, "errors": [], "created": created},
                         status=201 if created else 200, is_write=True)


def register(router: Router) -> None:
    base = r"/services/data/{v}"
    router.add("sobject_external_id", base + r"/sobjects/{sobject}/(?P<field>[^/]+)/(?P<value>[^/]+)/?",
               record_by_key, ("GET", "PATCH", "DELETE"))
