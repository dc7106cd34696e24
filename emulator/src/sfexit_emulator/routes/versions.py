"""``GET /services/data`` (versions list, no auth) and ``GET /services/data/vXX.X`` (resources).

The Salesforce CLI takes the highest ``version`` and uses it for everything; jsforce defaults to
50.0 (real-clients-wire.md, "Versions and resources"). The resources map must carry an
absolute ``identity`` URL on our own base URL: jsforce's ``identity()`` calls it.
"""

from __future__ import annotations

from sfexit_emulator.http import Call, Response, Router, json_response

# Resource names of a v60+ org's `/services/data/vXX.X` answer, the ones a client might follow.
_RESOURCES = (
    "tooling", "metadata", "eclair", "folders", "prechatForms", "chatter", "tabs", "appMenu",
    "quickActions", "queryAll", "commerce", "wave", "iot", "analytics", "search",
    "composite", "parameterizedSearch", "fingerprint", "theme", "nouns", "event",
    "serviceTemplates", "recent", "connect", "licensing", "limits", "process", "dedupe",
    "async-queries", "query", "jobs", "match", "emailConnect", "compactLayouts",
    "knowledgeManagement", "sobjects", "actions", "support", "scheduling", "localizedvalue",
)


def identity_url(call: Call, user_id: str) -> str:
    from sfexit_emulator.ids import normalize_id

    org18 = normalize_id(call.app.org_id) or call.app.org_id
    return f"{call.app.base_url}/id/{org18}/{normalize_id(user_id) or user_id}"


def versions(call: Call) -> Response:
    from sfexit_emulator.server import release_label

    return json_response([
        {"label": release_label(v), "url": f"/services/data/v{v}", "version": v}
        for v in call.app.versions
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
