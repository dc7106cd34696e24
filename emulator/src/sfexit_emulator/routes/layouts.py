"""Describe layouts, compact layouts and named layouts of layoutable objects.

- ``GET …/sobjects/<T>/describe/layouts``: DescribeLayoutResult ``{"layouts", "recordTypeMappings",
  "recordTypeSelectorRequired"}`` (REST API Developer Guide, "sObject Describe Layouts",
  resources_sobject_layouts.htm; SOAP API Developer Guide, "DescribeLayoutResult",
  sforce_api_calls_describelayout_describelayoutresult.htm, for the members);
- ``…/describe/layouts/<recordTypeId>``: that record type's DescribeLayout alone ("Get Layouts
  and Descriptions for an Object With Multiple Record Types", resources_sobject_layouts_multiple_rts_get.htm);
- ``…/describe/namedLayouts/<name>``: "named layouts ... One example is the UserAlt layout
  defined on the User object" (SOAP "describeLayout()"); only User's UserAlt here;
- ``…/sobjects/<T>/describe/compactLayouts``: DescribeCompactLayoutsResult ``{"compactLayouts",
  "defaultCompactLayoutId", "recordTypeCompactLayoutMappings"}`` ("sObject Describe Compact
  Layouts", resources_sobject_compactlayouts.htm); ``…/describe/compactLayouts?q=A,B``: the
  primary compact layout of each object, keyed by name ("Compact Layouts",
  resources_compact_layouts.htm); ``…/describe/compactLayouts/primary`` the primary one.

The emulated org has no page layout metadata and only the Master record type
(``012000000000000AAA``), so each layoutable object gets one generated layout (UNCONF: its
content): an "<Object> Information" section of two columns with the object's writable fields,
a "System Information" section with the audit fields, each item's ``details`` the field's own
describe; compact layouts are Salesforce's "System Default" (``id`` null, name ``SYSTEM``) with
the name field. No buttons, related lists or quick actions.
"""

from __future__ import annotations

from typing import Any

from sfexit_emulator.http import NOT_FOUND_MESSAGE, Call, HttpError, Response, Router, json_response
from sfexit_emulator.ids import make_id

MASTER_RECORD_TYPE = "012000000000000AAA"
NAMED_LAYOUTS = {"User": ("UserAlt",)}
_SYSTEM_FIELDS = ("CreatedById", "LastModifiedById")
_MAX_FIELDS = 24


def _not_found() -> HttpError:
    return HttpError(404, "NOT_FOUND", NOT_FOUND_MESSAGE)


def layoutable(call: Call, name: str) -> Any:
    """The schema object ``name``, 404 unless it exists and is layoutable."""
    obj = call.app.store.schema.get(name)
    if obj is None or not obj.flags.get("layoutable"):
        raise _not_found()
    return obj


def _number(call: Call, obj: Any, salt: int = 0) -> int:
    names = sorted(o.name for o in call.app.store.schema.objects.values())
    return names.index(obj.name) * 10 + salt + 1


def _item(described: dict[str, Any], tab_order: int) -> dict[str, Any]:
    """DescribeLayoutItem (SOAP API, "DescribeLayoutItem") holding one field."""
    return {"editableForNew": bool(described.get("createable")),
            "editableForUpdate": bool(described.get("updateable")),
            "label": described.get("label"),
            "layoutComponents": [{"details": described, "displayLines": 1, "tabOrder": tab_order,
                                  "type": "Field", "value": described.get("name")}],
            "placeholder": False,
            "required": not described.get("nillable", True) and bool(described.get("createable"))}


def _section(layout_id: str, section_id: str, heading: str,
             fields: list[dict[str, Any]]) -> dict[str, Any]:
    """DescribeLayoutSection (SOAP API, "DescribeLayoutSection"): rows of two items."""
    rows = []
    for start in range(0, len(fields), 2):
        pair = [_item(f, start + k + 1) for k, f in enumerate(fields[start:start + 2])]
        rows.append({"layoutItems": pair, "numItems": len(pair)})
    return {"collapsed": False, "columns": 2, "heading": heading, "layoutRows": rows,
            "layoutSectionId": section_id, "parentLayoutId": layout_id, "rows": len(rows),
            "tabOrder": "TopToBottom", "useCollapsibleSection": False, "useHeading": True}


def _described_fields(call: Call, obj: Any) -> dict[str, dict[str, Any]]:
    described = call.app.store.describe(obj.name, version=f"v{call.version}",
                                        instance_url=call.app.base_url)
    return {f["name"]: f for f in described.get("fields", [])}


def layout(call: Call, obj: Any, salt: int = 0) -> dict[str, Any]:
    """One DescribeLayout (SOAP API, "DescribeLayout"; keys as the REST example shows them)."""
    layout_id = make_id("00h", _number(call, obj, salt))
    fields = _described_fields(call, obj)
    main = [f for name, f in fields.items() if name not in _SYSTEM_FIELDS
            and (f.get("createable") or f.get("updateable") or f.get("nameField"))
            and f.get("type") != "address"
            and f.get("compoundFieldName") in (None, name)][:_MAX_FIELDS]
    system = [fields[name] for name in _SYSTEM_FIELDS if name in fields]
    sections = [_section(layout_id, make_id("01B", _number(call, obj, salt) * 2),
                         f"{obj.label} Information", main)]
    if system:
        sections.append(_section(layout_id, make_id("01B", _number(call, obj, salt) * 2 + 1),
                                 "System Information", system))
    return {"buttonLayoutSection": {"detailButtons": []}, "detailLayoutSections": sections,
            "editLayoutSections": sections, "feedView": None,
            "highlightsPanelLayoutSection": None, "id": layout_id,
            "multirowEditLayoutSections": [], "offlineLinks": [],
            "quickActionList": {"quickActionListItems": []}, "relatedContent": None,
            "relatedLists": [], "saveOptions": []}


def _mapping(call: Call, obj: Any) -> dict[str, Any]:
    """RecordTypeMapping (SOAP API, "RecordTypeMapping") of the Master record type."""
    base = f"/services/data/v{call.version}/sobjects/{obj.name}/describe/layouts"
    picklists = [{"picklistName": f["name"], "picklistValues": f.get("picklistValues", [])}
                 for f in _described_fields(call, obj).values()
                 if f.get("type") in ("picklist", "multipicklist")]
    return {"available": True, "defaultRecordTypeMapping": True, "developerName": "Master",
            "layoutId": make_id("00h", _number(call, obj)), "master": True, "name": "Master",
            "picklistsForRecordType": picklists, "recordTypeId": MASTER_RECORD_TYPE,
            "urls": {"layout": f"{base}/{MASTER_RECORD_TYPE}"}}


def describe_layouts(call: Call) -> Response:
    obj = layoutable(call, call.app.store.sobject_name(call.params["sobject"]))
    return json_response({"layouts": [layout(call, obj)], "recordTypeMappings": [_mapping(call, obj)],
                          "recordTypeSelectorRequired": [False]})


def record_type_layout(call: Call) -> Response:
    obj = layoutable(call, call.app.store.sobject_name(call.params["sobject"]))
    if call.params["rt"][:15] != MASTER_RECORD_TYPE[:15]:
        raise _not_found()
    return json_response(layout(call, obj))


def named_layout(call: Call) -> Response:
    obj = layoutable(call, call.app.store.sobject_name(call.params["sobject"]))
    names = {n.lower(): n for n in NAMED_LAYOUTS.get(obj.name, ())}
    if call.params["name"].lower() not in names:
        raise _not_found()
    # UNCONF: a named layout answers the DescribeLayoutResult shape without record type mappings.
    return json_response({"layouts": [layout(call, obj, salt=5)], "recordTypeMappings": [],
                          "recordTypeSelectorRequired": [False]})


def compact_layout(call: Call, obj: Any) -> dict[str, Any]:
    """Salesforce's "System Default" compact layout (DescribeCompactLayout: actions, fieldItems,
    id, imageItems, label, name, objectType): the name field."""
    fields = _described_fields(call, obj)
    name = next((f for f in fields.values() if f.get("nameField")), fields.get("Id"))
    items = [_item(name, 1)] if name else []
    return {"actions": [], "fieldItems": items, "id": None, "imageItems": [],
            "label": "System Default", "name": "SYSTEM", "objectType": obj.name}


def sobject_compact_layouts(call: Call) -> Response:
    obj = layoutable(call, call.app.store.sobject_name(call.params["sobject"]))
    base = f"/services/data/v{call.version}/sobjects/{obj.name}/describe/compactLayouts"
    mapping = {"available": True, "compactLayoutId": None, "compactLayoutName": "SYSTEM",
               "recordTypeId": MASTER_RECORD_TYPE, "recordTypeName": "Master",
               "urls": {"compactLayout": f"{base}/{MASTER_RECORD_TYPE}"}}
    return json_response({"compactLayouts": [compact_layout(call, obj)],
                          "defaultCompactLayoutId": None,
                          "recordTypeCompactLayoutMappings": [mapping]})


def one_compact_layout(call: Call) -> Response:
    """``…/describe/compactLayouts/primary`` or ``/<recordTypeId>``: one compact layout ("Get
    Primary Compact Layout", resources_sobject_compactlayouts_primary.htm)."""
    obj = layoutable(call, call.app.store.sobject_name(call.params["sobject"]))
    which = call.params["which"]
    if which.lower() != "primary" and which[:15] != MASTER_RECORD_TYPE[:15]:
        raise _not_found()
    return json_response(compact_layout(call, obj))


def compact_layouts(call: Call) -> Response:
    names = [n.strip() for n in (call.request.arg("q") or "").split(",") if n.strip()]
    if not names:
        # UNCONF: Salesforce's answer to a missing q.
        raise HttpError(400, "MALFORMED_QUERY", "Missing required parameter: q")
    out: dict[str, Any] = {}
    for name in names:
        obj = call.app.store.schema.get(name)
        if obj is None or not obj.flags.get("layoutable"):
            # UNCONF: the code and text for an object without compact layouts.
            raise HttpError(400, "INVALID_TYPE", f"sObject type '{name}' is not supported.")
        out[obj.name] = compact_layout(call, obj)
    return json_response(out)


def register(router: Router) -> None:
    base = r"/services/data/{v}/sobjects/{sobject}/describe"
    router.add("compact_layouts", r"/services/data/{v}/compactLayouts/?", compact_layouts)
    router.add("describe_layouts", base + r"/layouts/?", describe_layouts)
    router.add("describe_layout_rt", base + r"/layouts/(?P<rt>[0-9A-Za-z]{15,18})/?",
               record_type_layout)
    router.add("named_layout", base + r"/namedLayouts/(?P<name>[^/]+)/?", named_layout)
    router.add("sobject_compact_layouts", base + r"/compactLayouts/?", sobject_compact_layouts)
    router.add("sobject_compact_layout", base + r"/compactLayouts/(?P<which>[0-9A-Za-z]+)/?",
               one_compact_layout)
