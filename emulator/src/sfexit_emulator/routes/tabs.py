"""``GET …/tabs`` and ``GET …/theme``.

REST API Developer Guide, "Tabs" (resources_tabs.htm): "a list of all tabs", each a DescribeTab
(SOAP API "DescribeTab": colors, custom, iconUrl, icons, label, miniIconUrl, name, sobjectName,
url). "Themes" (resources_themes.htm): ``{"themeItems": [{"colors": [{"color", "context",
"theme"}], "icons": [{"contentType", "height", "theme", "url", "width"}], "name"}]}``; colors are
RGB without ``#``; SVG icons have height and width 0 ("If the icon content type is an SVG type,
height and width values are not used").

The emulated org's tabs are those of its objects with a tab (the ones with list views,
schema_recorded.LISTVIEWS), named ``standard-<Object>`` or ``<Object>`` for custom ones, their
URL the object's home page ``<instance>/<keyPrefix>/o``. UNCONF: the colors (one blue for all)
and the icon files' names (Salesforce's standard-icon paths, lower-cased object names).
"""

from __future__ import annotations

from typing import Any

from sfexit_emulator.http import Call, Response, Router, json_response
from sfexit_emulator.schema_recorded import LISTVIEWS

_COLOR = "1b96ff"


def _tabbed(call: Call) -> list[Any]:
    schema = call.app.store.schema
    return [obj for name in sorted(LISTVIEWS) if (obj := schema.get(name)) is not None]


def _colors() -> list[dict[str, str]]:
    return [{"color": _COLOR, "context": "primary", "theme": theme} for theme in ("theme4", "theme3")]


def _icons(call: Call, obj: Any) -> list[dict[str, Any]]:
    base = f"{call.app.base_url}/img/icon"
    stem = obj.name.lower() if not obj.custom else "custom"
    return [{"contentType": "image/png", "height": 32, "theme": "theme3",
             "url": f"{base}/{stem}32.png", "width": 32},
            {"contentType": "image/png", "height": 16, "theme": "theme3",
             "url": f"{base}/{stem}16.png", "width": 16},
            {"contentType": "image/svg+xml", "height": 0, "theme": "theme4",
             "url": f"{base}/t4v35/standard/{stem}.svg", "width": 0}]


def tabs(call: Call) -> Response:
    out = []
    for obj in _tabbed(call):
        icons = _icons(call, obj)
        out.append({"colors": _colors(), "custom": obj.custom, "iconUrl": icons[0]["url"],
                    "icons": icons, "label": obj.label_plural, "miniIconUrl": icons[1]["url"],
                    "name": obj.name if obj.custom else f"standard-{obj.name}",
                    "sobjectName": obj.name,
                    "url": f"{call.app.base_url}/{obj.describe_key_prefix or obj.key_prefix}/o"})
    return json_response(out)


def theme(call: Call) -> Response:
    items = [{"colors": _colors(), "icons": _icons(call, obj), "name": obj.name}
             for obj in _tabbed(call)]
    return json_response({"themeItems": items})


def register(router: Router) -> None:
    router.add("tabs", r"/services/data/{v}/tabs/?", tabs)
    router.add("theme", r"/services/data/{v}/theme/?", theme)
