"""``GET …/search?q=<SOSL>`` and ``GET/POST …/parameterizedSearch``.

REST API Developer Guide, "Search" (resources_search.htm) and "Search for a String"
(dome_search.htm): the answer is ``{"searchRecords": [{"attributes": {"type", "url"}, "Id", ...}]}``
from version 37.0 on; the guide of versions 35.0/36.0 shows the bare array, which is what a
version below 37.0 gets here. "Parameterized Search" (resources_search_parameterized.htm, GET;
resources_search_parameterized_post.htm, POST; version 36.0 and later): ``q`` (plain text, no
SOSL), ``in``, ``sobject``/``sobjects``, ``fields``, ``<Obj>.fields``, ``<Obj>.where``,
``<Obj>.limit``, ``defaultLimit``, ``overallLimit``; the same ``searchRecords`` answer (UNCONF:
the ``metadata`` key some answers carry is not sent). The engine is sosl.py.
"""

from __future__ import annotations

from typing import Any

from sfexit_emulator import sosl
from sfexit_emulator.http import Call, HttpError, Response, Router, json_response
from sfexit_emulator.store_fault import SalesforceFault

FIRST_WRAPPED_VERSION = 37.0
# SQLite binds each literal of ``Id IN (...)``: stay below its variable limit (32,766).
MAX_MATCHED_IDS = 20000


def _matching_ids(call: Call, obj: Any, search: sosl.Search) -> list[str]:
    fields = sosl.searched_fields(obj, search.scope)
    if not fields:
        return []
    phone = [obj.field(name).type == "phone" for name in fields]
    cursor = call.app.store.query(f"SELECT Id, {', '.join(fields)} FROM {obj.name} ORDER BY Id",
                                  now=call.now())
    ids: list[str] = []
    try:
        for row in cursor.rows():
            values = [(str(v), p) for v, p in zip(row[1:], phone) if v is not None]
            if sosl.matches(search.terms, values):
                ids.append(str(row[0]))
                if len(ids) >= MAX_MATCHED_IDS:
                    break
    finally:
        cursor.close()
    return ids


def _soql(target: sosl.Returning, name: str, ids: list[str], limit: int) -> str:
    where = "Id IN ('" + "','".join(ids) + "')" if ids else "Id = null"
    if target.where:
        where += f" AND ({target.where})"
    soql = f"SELECT {target.select or 'Id'} FROM {name} WHERE {where}"
    if target.order_by:
        soql += f" ORDER BY {target.order_by}"
    return soql + f" LIMIT {limit}"


def _searchable(call: Call, name: str) -> Any:
    obj = call.app.store.schema.get(name)
    if obj is None:
        # The SOQL machinery answers INVALID_TYPE with Salesforce's text.
        call.app.store.query(f"SELECT Id FROM {name}", now=call.now())
    if obj is None or not obj.flags.get("searchable"):
        # UNCONF: the text of Salesforce's refusal of a non-searchable object.
        raise SalesforceFault(400, "INVALID_TYPE", f"entity type {name} does not support search")
    return obj


def _default_targets(call: Call) -> tuple[sosl.Returning, ...]:
    """No RETURNING: every searchable object that has records (SOSL: "If unspecified, the search
    results contain the IDs of all objects found"), Ids only."""
    counted = call.app.store.record_counts()
    return tuple(sosl.Returning(name) for name, count in counted if count
                 and call.app.store.schema.objects[name].flags.get("searchable"))


def run_search(call: Call, search: sosl.Search) -> list[dict[str, Any]]:
    """The records found, object by object in RETURNING order, at most ``search.limit``."""
    found: list[dict[str, Any]] = []
    for target in search.returning or _default_targets(call):
        obj = _searchable(call, target.sobject)
        remaining = search.limit - len(found)
        limit = remaining if target.limit is None else min(target.limit, remaining)
        ids = _matching_ids(call, obj, search) if limit > 0 else []
        if not (target.where or target.order_by):
            ids = ids[:limit]
        try:
            cursor = call.app.store.query(_soql(target, obj.name, ids, max(limit, 0)),
                                          now=call.now())
        except SalesforceFault as exc:
            # The SOQL built here is not what the client wrote: keep the error, drop the caret
            # block that quotes it (UNCONF: Salesforce quotes the SOSL with its own caret).
            raise SalesforceFault(exc.status, exc.error_code, exc.message.strip().splitlines()[-1],
                                  exc.fields) from None
        try:
            found.extend(cursor.records(0, max(limit, 0), version=f"v{call.version}"))
        finally:
            cursor.close()
    return found


def _answer(call: Call, records: list[dict[str, Any]]) -> Response:
    if float(call.version) < FIRST_WRAPPED_VERSION:
        return json_response(records)
    return json_response({"searchRecords": records})


def search(call: Call) -> Response:
    text = call.request.arg("q")
    if not text:
        raise HttpError(400, "MALFORMED_SEARCH", sosl.NO_TERM)
    return _answer(call, run_search(call, sosl.parse(text)))


def _int(value: Any, name: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        # UNCONF: the code and text of Salesforce's answer to a non-numeric limit.
        raise HttpError(400, "INVALID_SEARCH", f"Invalid value for parameter {name}") from None


def _listed(value: Any) -> str:
    return ", ".join(value) if isinstance(value, list) else str(value or "")


def parameterized(call: Call) -> Response:
    """GET takes URL parameters, POST a JSON body of the same names (``sobjects`` a list of
    ``{"name", "fields", "where", "limit"}``)."""
    if call.request.method == "POST":
        body = call.request.json()
        if not isinstance(body, dict):
            raise HttpError(400, "JSON_PARSER_ERROR", "The request body must be a JSON object")
        objects = [o for o in body.get("sobjects") or [] if isinstance(o, dict)]
        specs = [(str(o.get("name", "")), _listed(o.get("fields")), str(o.get("where") or ""),
                  _int(o.get("limit"), "limit")) for o in objects]
        params: dict[str, Any] = body
        fields = _listed(body.get("fields"))
    else:
        arg = call.request.arg
        specs = [(name, arg(f"{name}.fields") or "", arg(f"{name}.where") or "",
                  _int(arg(f"{name}.limit"), f"{name}.limit"))
                 for name in call.request.query.get("sobject", [])]
        params = {key: arg(key) for key in ("q", "in", "defaultLimit", "overallLimit")}
        fields = arg("fields") or ""
    text = str(params.get("q") or "")
    if not text:
        # UNCONF: Salesforce's answer to a missing q.
        raise HttpError(400, "MALFORMED_SEARCH", "Missing required parameter: q")
    scope = str(params.get("in") or "ALL").upper()
    if scope not in sosl.SCOPES:
        raise HttpError(400, "INVALID_SEARCH", f"Invalid value for parameter in: {scope}")
    default = _int(params.get("defaultLimit"), "defaultLimit")
    overall = _int(params.get("overallLimit"), "overallLimit") or sosl.MAX_RESULTS
    returning = tuple(sosl.Returning(name, spec_fields or fields, where,
                                     limit=limit if limit is not None else default)
                      for name, spec_fields, where, limit in specs)
    found = sosl.Search(sosl.parse_terms(text), scope, returning, min(overall, sosl.MAX_RESULTS))
    return _answer(call, run_search(call, found))


def register(router: Router) -> None:
    router.add("search", r"/services/data/{v}/search/?", search)
    router.add("parameterized_search", r"/services/data/{v}/parameterizedSearch/?", parameterized,
               ("GET", "POST"))
