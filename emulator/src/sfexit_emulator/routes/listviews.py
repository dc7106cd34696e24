"""List views: ``GET …/sobjects/<T>/listviews``, ``…/listviews/<id>`` , ``…/listviews/<id>/describe``,
``…/listviews/<id>/results``.

REST API Developer Guide: "List Views" (resources_listviews.htm: ``{"done", "listviews": [{
"describeUrl", "developerName", "id", "label", "resultsUrl", "soqlCompatible", "url"}],
"nextRecordsUrl", "size", "sobjectType"}``), "List View Describe"
(resources_listviewdescribe.htm: ``{"columns", "id", "orderBy", "query", "relatedEntityId",
"scope", "scopeEntityId", "sobjectType", "whereCondition"}``), "List View Results"
(resources_listviewresults.htm: ``limit`` 1–2,000, default 25, and ``offset``; the answer
``{"columns", "developerName", "done", "id", "label", "records": [{"columns": [{
"fieldNameOrPath", "value"}]}], "size"}``, captured in restforce's
spec/fixtures/sobject/list_view_results_success_response.json, whose date values are
Java's ``Fri Aug 01 21:15:46 GMT 2014``).

The emulated org has the standard views every object with a tab starts with (UNCONF: which
ones; these three exist in every org): "All <Objects>" (scope everything), "My <Objects>"
(scope mine: the caller's records) and "New This Week" (``CreatedDate = THIS_WEEK``). Columns:
the name field, Owner.Alias when the object has an owner, then the hidden Id and audit dates
(the captured Account view shows Name, Site, BillingState, Phone, Type, Owner.Alias; Account
gets those). Results run through the SOQL machinery, ordered by the name field then Id.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sfexit_emulator.http import NOT_FOUND_MESSAGE, Call, HttpError, Response, Router, json_response
from sfexit_emulator.ids import make_id, normalize_id
from sfexit_emulator.schema_recorded import LISTVIEWS

DEFAULT_LIMIT, MAX_LIMIT = 25, 2000
_HIDDEN = ("Id", "CreatedDate", "LastModifiedDate", "SystemModstamp")
_ACCOUNT_COLUMNS = ("Name", "Site", "BillingState", "Phone", "Type", "Owner.Alias")


@dataclass(frozen=True)
class View:
    sobject: str
    developer_name: str
    label: str
    scope: str                 # everything / mine
    where: str                 # SOQL condition, "" for none
    id: str


def _not_found() -> HttpError:
    return HttpError(404, "NOT_FOUND", NOT_FOUND_MESSAGE)


def views(call: Call, name: str) -> list[View]:
    """The list views of object ``name``; 404 for an object without a tab."""
    obj = call.app.store.schema.get(name)
    if obj is None or obj.name not in LISTVIEWS:
        raise _not_found()
    number = sorted(LISTVIEWS).index(obj.name) * 10
    plural = obj.label_plural
    made = [("All" + plural.replace(" ", ""), f"All {plural}", "everything", ""),
            ("My" + plural.replace(" ", ""), f"My {plural}", "mine", ""),
            ("NewThisWeek", "New This Week", "everything", "CreatedDate = THIS_WEEK")]
    if obj.field("OwnerId") is None:
        made = [m for m in made if m[2] != "mine"]
    return [View(obj.name, dev, label, scope, where, make_id("00B", number + k + 1))
            for k, (dev, label, scope, where) in enumerate(made)]


def _view(call: Call) -> View:
    name = call.app.store.sobject_name(call.params["sobject"])
    wanted = normalize_id(call.params["view"]) or call.params["view"]
    found = next((v for v in views(call, name) if v.id == wanted), None)
    if found is None:
        raise _not_found()
    return found


def view_query(call: Call, view_id: str) -> str | None:
    """The SOQL of the list view ``view_id`` (``…/query?explain=<list view id>``, REST API
    Developer Guide "Query" ``explain``: "a query, report, or list view ID"), None if unknown."""
    wanted = normalize_id(view_id)
    schema = call.app.store.schema
    for name in sorted(LISTVIEWS):
        if schema.get(name) is None:
            continue
        found = next((v for v in views(call, name) if v.id == wanted), None)
        if found is not None:
            return _soql(call, found)
    return None


def _entry(call: Call, view: View) -> dict[str, Any]:
    url = f"/services/data/v{call.version}/sobjects/{view.sobject}/listviews/{view.id}"
    return {"describeUrl": f"{url}/describe", "developerName": view.developer_name,
            "id": view.id, "label": view.label, "resultsUrl": f"{url}/results",
            "soqlCompatible": True, "url": url}


def list_views(call: Call) -> Response:
    name = call.app.store.sobject_name(call.params["sobject"])
    found = [_entry(call, v) for v in views(call, name)]
    return json_response({"done": True, "listviews": found, "nextRecordsUrl": None,
                          "size": len(found), "sobjectType": name})


def one_view(call: Call) -> Response:
    return json_response(_entry(call, _view(call)))


def _paths(call: Call, view: View) -> list[str]:
    obj = call.app.store.schema.objects[view.sobject]
    if obj.name == "Account":
        shown = list(_ACCOUNT_COLUMNS)
    else:
        name = next((f.name for f in obj.fields if f.name_field), "Id")
        shown = [name] + (["Owner.Alias"] if obj.field("OwnerId") is not None else [])
    return shown + [h for h in _HIDDEN if h not in shown and obj.field(h) is not None]


def _column(call: Call, view: View, path: str, first: bool) -> dict[str, Any]:
    """A list view column (List View Describe / Results "columns"; the captured Account view)."""
    obj = call.app.store.schema.objects[view.sobject]
    owner = path.startswith("Owner.")
    target = call.app.store.schema.objects["User"] if owner else obj
    f = target.field(path.split(".")[-1])
    kind = f.type if f is not None else "string"
    hidden = path in _HIDDEN and path not in ("Name",)
    label = (f"{obj.label} Owner Alias" if owner else
             f"{obj.label} ID" if path == "Id" else (f.label if f is not None else path))
    numeric = kind in ("int", "double", "currency", "percent", "phone")
    sortable = not hidden
    return {"ascendingLabel": None if hidden else ("9-0" if numeric else
                                                   "Low to High" if kind == "picklist" else "Z-A"),
            "descendingLabel": None if hidden else ("0-9" if numeric else
                                                    "High to Low" if kind == "picklist" else "A-Z"),
            "fieldNameOrPath": path, "hidden": hidden, "label": label,
            "selectListItem": f"toLabel({path})" if kind == "picklist" else path,
            "sortDirection": "ascending" if first else None, "sortIndex": 0 if first else None,
            "sortable": sortable, "type": kind}


def _soql(call: Call, view: View) -> str:
    paths = _paths(call, view)
    conditions = [view.where] if view.where else []
    if view.scope == "mine":
        assert call.session is not None
        conditions.append(f"OwnerId = '{call.session.user_id}'")
    where = f" WHERE {' AND '.join(conditions)}" if conditions else ""
    return (f"SELECT {', '.join(paths)} FROM {view.sobject}{where} "
            f"ORDER BY {paths[0]} ASC NULLS FIRST, Id ASC NULLS FIRST")


def describe(call: Call) -> Response:
    view = _view(call)
    paths = _paths(call, view)
    condition = None
    if view.where:
        # The one filter the emulated views have (List View Describe "whereCondition").
        condition = {"field": "CreatedDate", "operator": "equals", "values": ["THIS_WEEK"]}
    return json_response({
        "columns": [_column(call, view, p, k == 0) for k, p in enumerate(paths)],
        "id": view.id,
        "orderBy": [{"fieldNameOrPath": paths[0], "nullsPosition": "first",
                     "sortDirection": "ascending"},
                    {"fieldNameOrPath": "Id", "nullsPosition": "first", "sortDirection": "ascending"}],
        "query": _soql(call, view), "relatedEntityId": None, "scope": view.scope,
        "scopeEntityId": None, "sobjectType": view.sobject, "whereCondition": condition})


def _value(value: Any) -> Any:
    """Results carry text: dates in Java's ``Date.toString()`` form (captured), others as text
    (UNCONF for numbers and booleans)."""
    if value is None or isinstance(value, str) and not _is_datetime(value):
        return value
    if isinstance(value, str):
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00").replace("+0000", "+00:00"))
        return moment.astimezone(dt.timezone.utc).strftime("%a %b %d %H:%M:%S GMT %Y")
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _is_datetime(text: str) -> bool:
    return len(text) >= 20 and text[4] == "-" and text[10] == "T"


def _flat(record: dict[str, Any], path: str) -> Any:
    value: Any = record
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def _bounded(call: Call, name: str, default: int, low: int, high: int) -> int:
    text = call.request.arg(name)
    if text is None:
        return default
    if not text.isdigit() or not low <= int(text) <= high:
        # UNCONF: Salesforce's code and text for an out-of-range limit/offset.
        raise HttpError(400, "INVALID_PARAMETER_VALUE", f"Invalid value for {name}: {text}")
    return int(text)


def results(call: Call) -> Response:
    view = _view(call)
    paths = _paths(call, view)
    limit = _bounded(call, "limit", DEFAULT_LIMIT, 1, MAX_LIMIT)
    offset = _bounded(call, "offset", 0, 0, 2000)
    assert call.session is not None
    cursor = call.app.store.query(_soql(call, view), now=call.now(), user_id=call.session.user_id)
    try:
        total = int(cursor.total_size)
        records = cursor.records(offset, limit, version=f"v{call.version}")
    finally:
        cursor.close()
    rows = [{"columns": [{"fieldNameOrPath": p, "value": _value(_flat(r, p))} for p in paths]}
            for r in records]
    return json_response({
        "columns": [_column(call, view, p, k == 0) for k, p in enumerate(paths)],
        "developerName": view.developer_name, "done": offset + len(rows) >= total,
        "id": view.id, "label": view.label, "records": rows, "size": len(rows)})


def register(router: Router) -> None:
    base = r"/services/data/{v}/sobjects/{sobject}/listviews"
    router.add("listviews", base + r"/?", list_views)
    router.add("listview", base + r"/(?P<view>[0-9A-Za-z]{15,18})/?", one_view)
    router.add("listview_describe", base + r"/(?P<view>[0-9A-Za-z]{15,18})/describe/?", describe)
    router.add("listview_results", base + r"/(?P<view>[0-9A-Za-z]{15,18})/results/?", results)
