"""``…/sobjects`` (describe global), ``…/sobjects/X`` (basic info), ``…/sobjects/X/describe``,
record GET/POST/PATCH/DELETE, and blob fields streamed with ``Content-Length``.

Facts (real-clients-wire.md "sObject REST and collections"; errors.md §1/§7/§10):
- POST → ``201 {"id","success":true,"errors":[]}``; PATCH/DELETE → ``204``; GET without
  ``fields=`` → every field plus ``attributes``;
- an unknown object or record → ``404 NOT_FOUND "The requested resource does not exist"``;
- ``ScratchOrgInfo`` is not an object of a non-Dev-Hub org (the store answers INVALID_TYPE to a
  query and we answer NOT_FOUND to the sObject URL);
- blobs (``ContentVersion/{id}/VersionData``, ``Attachment/{id}/Body``, ``Document/{id}/Body``)
  come as raw bytes with the record's content type; unknown id → 404 NOT_FOUND; a ``Range``
  is answered 206 (UNCONF, see :func:`blob`).
"""

from __future__ import annotations

from typing import Any

from sfexit_emulator.http import (
    NOT_FOUND_MESSAGE, Call, HttpError, Response, Router, empty_response, json_response,
    parse_byte_range)

BLOB_CHUNK = 256 * 1024


def _not_found() -> HttpError:
    return HttpError(404, "NOT_FOUND", NOT_FOUND_MESSAGE)


def sobject_name(call: Call) -> str:
    """The object's canonical name (case-insensitive lookup); 404 if the org has no such object."""
    name = call.app.store.sobject_name(call.params["sobject"])
    if not name:
        raise _not_found()
    return str(name)


def write_body(call: Call) -> dict[str, Any]:
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
    from sfexit_emulator.routes.recent import recent_items

    # recentItems: the user's recently viewed records of this object (routes/recent.py).
    return json_response({"objectDescribe": entry, "recentItems": recent_items(call, name)})


def describe(call: Call) -> Response:
    return json_response(call.app.store.describe(sobject_name(call), version=f"v{call.version}",
                                                 instance_url=call.app.base_url))


def create(call: Call) -> Response:
    """201 with the new record's URL in ``Location`` (recorded traffic, issue 21; HTTP's
    201 Created, RFC 9110 §15.3.2)."""
    name = sobject_name(call)
    assert call.session is not None
    new_id = call.app.store.create(name, write_body(call), as_user=call.session.user_id,
                                   now=call.now())
    location = f"/services/data/v{call.version}/sobjects/{name}/{new_id}"
    return json_response({"id": new_id, "success": True, "errors": []}, status=201,
                         headers=[("Location", location)], is_write=True)


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
        from sfexit_emulator.routes.recent import mark_viewed

        from sfexit_emulator.ids import normalize_id

        mark_viewed(call, name, str(found.get("Id") or normalize_id(record_id) or record_id))
        return json_response(found)
    if method == "PATCH":
        store.update(name, record_id, write_body(call), as_user=call.session.user_id,
                     now=call.now())
        response = empty_response(204)
        response.is_write = True
        return response
    store.delete(name, record_id, as_user=call.session.user_id, now=call.now())
    response = empty_response(204)
    response.is_write = True
    return response


def blob(call: Call) -> Response:
    """The body, whole (200) or one byte range (206 / 416).

    UNCONF: Salesforce documents no ``Range`` support on sObject Blob Get (errors.md §10; "sObject
    Blob Get" lists no headers, searched 2026-11). HTTP's rules are followed (RFC 9110 §14): one
    ``bytes=a-b`` / ``a-`` / ``-n`` → 206 with ``Content-Range: bytes a-b/size``; a start past the
    end → 416 with ``Content-Range: bytes */size`` and an empty body (the text Salesforce would
    send is unknown); several ranges, a malformed one, ``If-Range`` (no validators here) or a
    HEAD → the whole body, 200. ``Accept-Ranges: bytes`` on every body. The ``ignore_range``
    fault turns all of this off (a server that answers every request whole)."""
    name = sobject_name(call)
    if call.app.store.is_upsert_key(name, call.params["id"]):
        # ``…/sobjects/X/ExtIdField/value``: the same URL shape, a record by external id
        from sfexit_emulator.routes.upsert import record_by_key

        return record_by_key(Call(call.app, call.request, {
            **call.params, "field": call.params["id"], "value": call.params["field"]},
            call.session))
    found = call.app.store.blob(name, call.params["id"], call.params["field"])
    if found is None:
        raise _not_found()
    size = int(found.size)
    content_type = getattr(found, "content_type", None) or "application/octetstream"
    wanted = call.request.headers.get("Range")
    ranged = (wanted and call.request.method == "GET" and not call.app.faults.ignore_range
              and "If-Range" not in call.request.headers)
    parsed = parse_byte_range(wanted, size) if ranged and wanted else None
    if parsed == "unsatisfiable":
        return Response(status=416, body=b"", content_type=None,
                        headers=[("Content-Range", f"bytes */{size}")])
    if isinstance(parsed, tuple):
        first, last = parsed
        return Response(status=206, content_type=content_type,
                        headers=[("Accept-Ranges", "bytes"),
                                 ("Content-Range", f"bytes {first}-{last}/{size}")],
                        stream=found.chunks(start=first, stop=last + 1),
                        content_length=last - first + 1)
    headers = [] if call.app.faults.ignore_range else [("Accept-Ranges", "bytes")]
    return Response(status=200, content_type=content_type, headers=headers,
                    stream=found.chunks(), content_length=size)


def register(router: Router) -> None:
    base = r"/services/data/{v}/sobjects"
    router.add("sobjects_global", base + "/?", describe_global)
    router.add("sobject_describe", base + r"/{sobject}/describe/?", describe)
    router.add("sobject_basic", base + r"/{sobject}/?", basic_info)
    router.add("sobject_create", base + r"/{sobject}/?", create, ("POST",))
    router.add("sobject_record", base + r"/{sobject}/{id}/?", record, ("GET", "PATCH", "DELETE"))
    router.add("sobject_blob", base + r"/{sobject}/{id}/(?P<field>[^/]+)/?", blob)
