"""``GET …/recent[?limit=n]`` and the ``recentItems`` of ``GET …/sobjects/<Type>``.

REST API Developer Guide, "Recently Viewed Items" (resources_recent_items.htm): "the most
recently accessed items that were viewed or referenced by the current user"; ``limit`` defaults
to the maximum number of RecentlyViewed entries, 200. "View Recently Viewed Records"
(dome_recent_items.htm) and "sObject Basic Information" (resources_sobject_basic_info.htm) show
each item as ``{"attributes": {"type", "url"}, "Id", "Name"}``, most recent first.

What counts as viewed here (an emulator simplification, kept in memory per user, not in the
org's data): a record read by ``GET …/sobjects/<Type>/<id>`` and the rows of a REST query ending
in ``FOR VIEW`` or ``FOR REFERENCE`` (the documented way to mark records, "Mark Records as
Recently Viewed"); the ``LastViewedDate`` field stays null. Deleted records drop out of the list. An object whose
name field is not ``Name`` (Case: CaseNumber) shows that field (UNCONF).
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import Any

from sfexit_emulator.http import Call, HttpError, Response, Router, json_response

MAX_ITEMS = 200
_KEY = "recently_viewed"
_LOCK = threading.Lock()


def _views(call: Call) -> OrderedDict[tuple[str, str], str]:
    """(user id, record id) → object name, least recent first, for every user of the org."""
    found = call.app.extensions.get(_KEY)
    if found is None:
        found = call.app.extensions[_KEY] = OrderedDict()
    assert isinstance(found, OrderedDict)
    return found


def mark_viewed(call: Call, sobject: str, record_id: str) -> None:
    """Called by a record GET: the record becomes the user's most recent item."""
    assert call.session is not None
    key = (call.session.user_id, str(record_id))
    with _LOCK:
        views = _views(call)
        views.pop(key, None)
        views[key] = sobject
        mine = [k for k in views if k[0] == key[0]]
        for old in mine[:-MAX_ITEMS]:
            del views[old]


def mark_records_viewed(call: Call, records: list[dict[str, Any]]) -> None:
    """SOQL ``FOR VIEW`` / ``FOR REFERENCE``: the records returned become recently viewed, the
    first row most recent (UNCONF: the order Salesforce gives rows viewed together)."""
    for found in reversed(records):
        url = (found.get("attributes") or {}).get("url") or ""
        kind = (found.get("attributes") or {}).get("type")
        if kind and url:
            mark_viewed(call, str(kind), url.rsplit("/", 1)[-1])


def recent_items(call: Call, sobject: str | None = None, limit: int = MAX_ITEMS) -> list[dict[str, Any]]:
    """The user's recently viewed records (of ``sobject`` only, if given), most recent first."""
    assert call.session is not None
    with _LOCK:
        mine = [(rid, name) for (uid, rid), name in reversed(_views(call).items())
                if uid == call.session.user_id and (sobject is None or name == sobject)]
    items: list[dict[str, Any]] = []
    store = call.app.store
    for record_id, name in mine:
        if len(items) >= limit:
            break
        obj = store.schema.get(name)
        label = next((f.name for f in obj.fields if f.name_field), "Id") if obj else "Id"
        try:
            items.append(store.get(name, record_id, ["Id", label] if label != "Id" else ["Id"],
                                   version=f"v{call.version}"))
        except Exception:
            continue  # deleted since it was viewed
    return items


def recent(call: Call) -> Response:
    text = call.request.arg("limit")
    limit = MAX_ITEMS
    if text:
        if not text.isdigit():
            # UNCONF: Salesforce's code and text for a bad limit.
            raise HttpError(400, "INVALID_PARAMETER_VALUE", f"Invalid limit: {text}")
        limit = min(int(text), MAX_ITEMS)
    return json_response(recent_items(call, limit=limit))


def register(router: Router) -> None:
    router.add("recent", r"/services/data/{v}/recent/?", recent)
