"""The route table and the one dispatch path every request takes.

Order of checks, as Salesforce answers them: unknown route → 404 NOT_FOUND; injected latency and
503 (an HTML page on UI paths); unknown API version → 404; missing/invalid session → 401 INVALID_SESSION_ID; daily API
allowance spent → 403 REQUEST_LIMIT_EXCEEDED; Bulk ingest jobs past their finish time are
applied (session routes); then the handler; then, with the cost model on (costs.py), the
modelled server time is waited. ``/__emulator__/`` routes skip faults, auth, limits and the
cost model.

Route modules each expose ``register(router)`` and are listed in :data:`MODULES`.
"""

from __future__ import annotations

import importlib
import re
import sys
import traceback
import uuid
from typing import TYPE_CHECKING, Any

from sfexit_emulator import costs
from sfexit_emulator.http import (
    NOT_FOUND_MESSAGE, Call, HttpError, Request, Response, Router, error_response)

if TYPE_CHECKING:
    from sfexit_emulator.server import EmulatorApp

# Imported in this order; the first matching pattern wins (layouts and listviews before sobjects,
# whose ``/sobjects/X/{id}/{field}`` would take ``/sobjects/X/describe/layouts``).
MODULES = ("admin", "versions", "oauth", "oauth_web", "identity", "soap", "limits", "query",
           "replication", "search", "recent", "layouts", "listviews", "tabs", "sobjects", "upsert",
           "composite", "tooling", "bulk_query", "bulk_ingest", "dataexport")

SESSION_INVALID = "Session expired or invalid"  # errors.md §5, captured
# errors.md §5: 503 text UNCONF; one integration logs "server too busy". We choose this one.
SERVER_UNAVAILABLE = "Server is temporarily unavailable. Please try again later."


def build_router() -> Router:
    router = Router()
    for name in MODULES:
        importlib.import_module(f"{__name__}.{name}").register(router)
    return router


def bearer_token(request: Request) -> str | None:
    """``Authorization: Bearer <t>`` (or the older ``OAuth <t>``), else ``?oauth_token=``."""
    header = request.headers.get("Authorization") or ""
    scheme, _, value = header.partition(" ")
    if scheme.lower() in ("bearer", "oauth") and value.strip():
        return value.strip()
    return request.arg("oauth_token")


def dispatch(app: EmulatorApp, request: Request) -> tuple[Response, str]:
    """The response to ``request`` and the route name it is counted under in stats."""
    route, params, allowed = app.router.match(request.method, request.path)
    if route is None:
        if allowed and not _unknown_sobject(app, request.path):
            # errors.md §7: 405 METHOD_NOT_ALLOWED, text UNCONF; this is the form seen in the wild.
            methods = set(allowed) | ({"HEAD"} if "GET" in allowed else set())
            message = (f"HTTP Method '{request.method}' not allowed. Allowed are "
                       + ",".join(sorted(methods)))
            return error_response(405, "METHOD_NOT_ALLOWED", message), "method_not_allowed"
        return error_response(404, "NOT_FOUND", NOT_FOUND_MESSAGE), "not_found"

    if route.auth == "admin":
        return _call(route.handler, Call(app, request, params)), route.name

    faults = app.faults
    from sfexit_emulator.server import latency_sleep

    latency_sleep(faults.latency_ms)
    if faults.roll("error_503_rate", request.method):
        app.stats.count_fault("error_503")
        if is_ui_path(request.path):
            return unavailable_page(), route.name
        return _finish(app, route.api, error_response(503, "SERVER_UNAVAILABLE",
                                                      SERVER_UNAVAILABLE)), route.name
    version = params.get("version")
    if version is not None and _version_gone(version, app):
        # KB 000354473: a retired version answers "410: GONE" (body UNCONF).
        return error_response(410, "GONE", f"Version v{version} of the API is retired"), route.name
    if version is not None and version not in app.versions:
        # errors.md §4: REST unknown version → 404 NOT_FOUND (UNCONF).
        return error_response(404, "NOT_FOUND", NOT_FOUND_MESSAGE), route.name

    session = None
    if route.auth == "session":
        token = bearer_token(request)
        session = (app.auth.use(token, app.clock.now(), faults.expire_session_after_calls,
                                 faults.generation) if token else None)
        if session is None:
            known = app.auth.peek(token) if token else None
            if known is not None and not known.revoked \
                    and faults.expire_session_after_calls is not None:
                app.stats.count_fault("session_expired")   # a live token the fault ended
            return _finish(app, route.api, error_response(
                401, "INVALID_SESSION_ID", SESSION_INVALID)), route.name
    if route.api and not app.api.consume(faults.daily_api_max):
        app.stats.count_fault("request_limit_exceeded")
        return _finish(app, route.api, error_response(
            403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")), route.name

    # Bulk ingest rows are applied when a request first sees the job past its finish time;
    # doing that before every session route makes a REST read after the job's end see them,
    # as on Salesforce where the job runs whether or not anyone polls it.
    started = app.server_clock()
    settled = settle_bulk_ingest(app) if route.auth == "session" else False
    response = _call(route.handler, Call(app, request, params, session))
    response.is_write = response.is_write or settled
    model = costs.active(app)
    if model is not None and route.api:
        # The modelled server time of this call, waited in this thread (not computed).
        costs.pay(app, started, model.call_seconds() + response.server_seconds)
    response = _finish(app, route.api, response)
    if route.auth != "admin" and faults.roll("reset_rate", request.method):
        length = response.content_length if response.stream is not None else len(response.body)
        if length and length > 1:
            app.stats.count_fault("reset")
            response.reset_after = faults.cut_point(length)
    return response, route.name


_SOBJECT_PATH = re.compile(r"/services/data/v\d+\.\d/sobjects/([^/]+)")


def _unknown_sobject(app: EmulatorApp, path: str) -> bool:
    """A method the route does not take, on an object the org does not have: Salesforce answers
    404 NOT_FOUND (the object is looked up first), not 405 (issue 21, recorded traffic)."""
    found = _SOBJECT_PATH.match(path)
    if found is None:
        return False
    try:
        app.store.sobject_name(found.group(1))
    except Exception:
        return True
    return False


def _version_gone(version: str, app: EmulatorApp) -> bool:
    from sfexit_emulator.routes.versions import retired

    return retired(version, app.clock.now().date())


def settle_bulk_ingest(app: EmulatorApp) -> bool:
    """Apply the rows of every Bulk ingest job past its finish time; True if rows were applied.

    Free when no Bulk job was ever made (the registry is created by the first Bulk request)."""
    if "bulk_jobs" not in app.extensions:
        return False
    from sfexit_emulator import ingest_jobs

    return bool(ingest_jobs.settle(app))


# The Salesforce UI (Classic pages, frontdoor, the servlet, Lightning) answers in HTML, not in
# REST JSON, including when it is unavailable.
UI_PREFIXES = ("/secur/", "/ui/", "/servlet/", "/home/", "/lightning/")


def is_ui_path(path: str) -> bool:
    return path == "/" or path.startswith(UI_PREFIXES)


def unavailable_page() -> Response:
    """UNCONF: the body of Salesforce's UI 503 is not captured in our research; this is a plain
    maintenance-style page with the same sentence as the REST error, served as HTML so a
    scraper looking for a form or a file index fails the way it would on Salesforce."""
    body = ("<!DOCTYPE html>\n<html><head><title>Service Unavailable</title></head><body>"
            f"<h1>Service Unavailable</h1><p>{SERVER_UNAVAILABLE}</p></body></html>\n")
    return Response(status=503, body=body.encode("utf-8"), content_type="text/html;charset=UTF-8")


def _finish(app: EmulatorApp, api: bool, response: Response) -> Response:
    if api:
        response.headers.append(("Sforce-Limit-Info", app.limit_info()))
    return response


def _call(handler: Any, call: Call) -> Response:
    try:
        response: Response = handler(call)
        return response
    except HttpError as exc:
        return error_response(exc.status, exc.error_code, exc.message, exc.fields)
    except Exception as exc:
        fault = as_salesforce_fault(exc)
        if fault is not None:
            return fault
        traceback.print_exc(file=sys.stderr)
        # Salesforce's 500 body: UNKNOWN_EXCEPTION with an error id to quote to support.
        error_id = f"{uuid.uuid4().int % 10**10}-{uuid.uuid4().int % 10**5} ({uuid.uuid4().int % 10**10})"
        return error_response(500, "UNKNOWN_EXCEPTION",
                              "An unexpected error occurred. Please include this ErrorId if you "
                              f"contact support: {error_id}")


def as_salesforce_fault(exc: BaseException) -> Response | None:
    """The store's ``SalesforceFault(status, error_code, message, fields)`` as a REST error."""
    if type(exc).__name__ != "SalesforceFault":
        return None
    status = int(getattr(exc, "status", 400))
    fields = getattr(exc, "fields", None)
    return error_response(status, str(getattr(exc, "error_code")), str(getattr(exc, "message")),
                          list(fields) if fields is not None else None)
