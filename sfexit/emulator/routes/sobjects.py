"""``…/sobjects`` (describe global), ``…/sobjects/X`` (basic info), ``…/sobjects/X/describe``,
record GET/POST/PATCH/DELETE, and blob fields streamed with ``Content-Length``.

Facts (real-clients-wire.md "sObject REST and collections"; errors.md §1/§7/§10):
- POST → ``201 {"id","success":true,"errors":[]}``; PATCH/DELETE → ``204``; GET without
  ``fields=`` → every field plus ``attributes``;
- an unknown object or record → ``404 NOT_FOUND "The requested resource does not exist"``;
- ``ScratchOrgInfo`` is not an object of a non-Dev-Hub org (the store answers INVALID_TYPE to a
  query and we answer NOT_FOUND to the sObject URL);
- blobs (``ContentVersion/{id}/VersionData``, ``Attachment/{id}/Body``, ``Document/{id}/Body``)
  come as raw bytes with the record's content type; unknown id → 404 NOT_FOUND.
"""

from __future__ import annotations

from typing import Any

from sfexit.emulator.http import (
    NOT_FOUND_MESSAGE, Call, HttpError, Response, Router, empty_response, json_response)

BLOB_CHUNK = 256 * 1024


def _not_found() -> HttpError:
    return HttpError(404, "NOT_FOUND", NOT_FOUND_MESSAGE)


def sobject_name(call: Call) -> str:
    """The object's canonical name (case-insensitive lookup); 404 if the org has no such object."""
    name = call.app.store.sobject_name(call.params["sobject"])
    if not name:
        raise _not_found()
    return str(name)


def _write_body(call: Call) -> dict[str, Any]:
    body = call.request.json()
    if not isinstance(body, dict):
        # Salesforce: a JSON array where an object is expected (errors.md §2: 400 bad body).
        raise HttpError(400, "JSON_PARSER_ERROR",
                        "Cannot deserialize instance of SObject from START_ARRAY value")
    body.pop("attributes", None)
    return body


def describe_global(call: Call) -> Response:
    return json_response(call.app.store.describe_global(version=f"v{call.version}"))


def basic_info(call: Call) -> Response:
    name = sobject_name(call)
    everything = call.app.store.describe_global(version=f"v{call.version}")
    entry = next((o for o in everything.get("sobjects", []) if o.get("name") == name), None)
    if entry is None:
        raise _not_found()
    return json_response({"objectDescribe": entry, "recentItems": []})


def describe(call: Call) -> Response:
    return json_response(call.app.store.describe(sobject_name(call), version=f"v{call.version}"))


def create(call: Call) -> Response:
    name = sobject_name(call)
    assert call.session is not None
    new_id = call.app.store.create(name, _write_body(call), as_user=call.session.user_id,
                                   now=call.now())
    return json_response({"id": new_id, "success": True, "errors": []}, status=201,
                         is_write=True)


def record(call: Call) -> Response:
    name = sobject_name(call)
    record_id = call.params["id"]
    store = call.app.store
    method = call.request.method
    assert call.session is not None
    if method in ("GET", "HEAD"):
        fields_arg = call.request.arg("fields")
        fields = [f.strip() for f in fields_arg.split(",") if f.strip()] if fields_arg else None
        found = store.get(name, record_id, fields, version=f"v{call.version}")
        if found is None:
            raise _not_found()
        return json_response(found)
    if method == "PATCH":
        store.update(name, record_id, _write_body(call), as_user=call.session.user_id,
                     now=call.now())
        response = empty_response(204)
        response.is_write = True
        return response
    store.delete(name, record_id, as_user=call.session.user_id, now=call.now())
    response = empty_response(204)
    response.is_write = True
    return response


def blob(call: Call) -> Response:
    name = sobject_name(call)
    found = call.app.store.blob(name, call.params["id"], call.params["field"])
    if found is None:
        raise _not_found()
    return Response(status=200, content_type=getattr(found, "content_type", None)
                    or "application/octetstream",
                    stream=found.chunks(), content_length=int(found.size))


def register(router: Router) -> None:
    base = r"/services/data/{v}/sobjects"
    router.add("sobjects_global", base + "/?", describe_global)
    router.add("sobject_describe", base + r"/{sobject}/describe/?", describe)
    router.add("sobject_basic", base + r"/{sobject}/?", basic_info)
    router.add("sobject_create", base + r"/{sobject}/?", create, ("POST",))
    router.add("sobject_record", base + r"/{sobject}/{id}/?", record, ("GET", "PATCH", "DELETE"))
    router.add("sobject_blob", base + r"/{sobject}/{id}/(?P<field>[^/]+)/?", blob)
