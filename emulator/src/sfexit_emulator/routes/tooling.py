"""A minimal Tooling API: ``GET …/tooling/query?q=`` answers an empty result for any object.

The Salesforce CLI asks ``SandboxProcess`` after an access-token login and tolerates an empty
result (real-clients-wire.md, step 6), whose exact shape is
``{"size":0,"totalSize":0,"done":true,"records":[],"entityTypeName":"SandboxProcess","queryLocator":null}``.
"""

from __future__ import annotations

import re

from sfexit_emulator.http import Call, HttpError, Response, Router, json_response

_FROM = re.compile(r"\bfrom\s+([A-Za-z_][A-Za-z0-9_]*)", re.IGNORECASE)


def tooling_query(call: Call) -> Response:
    soql = call.request.arg("q")
    found = _FROM.search(soql or "")
    if found is None:
        raise HttpError(400, "MALFORMED_QUERY", "unexpected token: '<EOF>'")
    return json_response({"size": 0, "totalSize": 0, "done": True, "records": [],
                          "entityTypeName": found.group(1), "queryLocator": None})


def register(router: Router) -> None:
    router.add("tooling_query", r"/services/data/{v}/tooling/query/?", tooling_query)
