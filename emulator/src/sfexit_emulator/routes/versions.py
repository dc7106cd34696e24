"""``GET /services/data`` (versions list, no auth) and ``GET /services/data/vXX.X`` (resources).

The Salesforce CLI takes the highest ``version`` and uses it for everything; jsforce defaults to
50.0 (real-clients-wire.md, "Versions and resources"). The resources map must carry an
absolute ``identity`` URL on our own base URL: jsforce's ``identity()`` calls it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sfexit_emulator.http import Call, Response, Router, json_response


@dataclass(frozen=True)
class Retirement:
    """API versions ``first``…``last`` stop being served on ``retired`` (emulator clock date).

    Salesforce's answer to a retired version: "REST API returns 410: GONE. SOAP API returns 500:
    UNSUPPORTED_API_VERSION. Bulk API returns 400: InvalidVersion" (KB 000354473 and KB
    005321531). UNCONF: the day of each release (Salesforce's summer releases reach production
    instances over several weekends from late May; the first of June is used)."""
    first: int
    last: int
    deprecated: dt.date
    retired: dt.date


RETIREMENTS = (
    # KB 000354473: deprecated Summer '22, retired Summer '25.
    Retirement(21, 30, dt.date(2022, 6, 1), dt.date(2025, 6, 1)),
    # KB 005321531 "Salesforce Platform API Versions 31.0 through 40.0 Retirement": deprecated
    # in Summer '27 (still served, no support), retired in Summer '28.
    Retirement(31, 40, dt.date(2027, 6, 1), dt.date(2028, 6, 1)),
)


def retired(version: str, today: dt.date) -> bool:
    """Whether ``version`` (``"31.0"``) is retired on ``today``."""
    try:
        number = float(version)
    except ValueError:
        return False
    return any(r.first <= number <= r.last + 0.9 and today >= r.retired for r in RETIREMENTS)


def served(versions: tuple[str, ...], today: dt.date) -> list[str]:
    return [v for v in versions if not retired(v, today)]

# The resources of ``/services/data/vXX.X``: only those this org serves at their own URL (issue
# 21: a map that advertises search, recent, tabs, theme, chatter, quickActions or process while
# they answer 404 misleads a client that follows it). Salesforce's map lists many more (REST API
# Developer Guide, "Resources by Version", resources_discoveryresource.htm); the ones left out
# are listed as not emulated in the README. ``jobs/ingest`` and ``jobs/query`` (Bulk API 2.0) and
# ``tooling/query`` are served below roots that are not, so they are not listed.
_RESOURCES = ("compactLayouts", "composite", "limits", "parameterizedSearch", "query", "queryAll",
              "recent", "search", "sobjects", "tabs", "theme")


def identity_url(call: Call, user_id: str) -> str:
    from sfexit_emulator.ids import normalize_id

    org18 = normalize_id(call.app.org_id) or call.app.org_id
    return f"{call.app.base_url}/id/{org18}/{normalize_id(user_id) or user_id}"


def versions(call: Call) -> Response:
    from sfexit_emulator.server import release_label

    today = call.app.clock.now().date()
    return json_response([
        {"label": release_label(v), "url": f"/services/data/v{v}", "version": v}
        for v in served(call.app.versions, today)
    ])


def resources(call: Call) -> Response:
    base = f"/services/data/v{call.version}"
    payload: dict[str, str] = {name: f"{base}/{name}" for name in _RESOURCES}
    assert call.session is not None
    payload["identity"] = identity_url(call, call.session.user_id)
    return json_response(dict(sorted(payload.items())))


def register(router: Router) -> None:
    router.add("versions", r"/services/data/?", versions, auth="none", api=False)
    router.add("resources", r"/services/data/{v}/?", resources)
