"""``/__emulator__/…``: instrumentation, clock and faults (outside Salesforce's namespace).

No Salesforce session is needed, but only loopback clients are served. These calls are not
Salesforce API calls: no faults, no DailyApiRequests, no ``Sforce-Limit-Info``.

Stats: ``requests_total``, ``requests_by_route`` (route names as registered), ``responses_by_status``,
``writes`` (requests that changed a record, user, job or export, as the handler reports it: a
failed write is not one; creating a Bulk query job is not one; a login is not one although it
adds a LoginHistory row), ``bytes_sent`` (response bodies as sent, after gzip), ``bytes_received``
(request bodies), ``faults_injected`` by kind, ``connections`` accepted, ``api_requests_used``.
A request (its route, status, write and body bytes) is counted before the first byte of its
answer is written, so a client that has its answer sees all of it in stats, without polling.
Requests the server cannot parse are counted as ``bad_request``; a bug in dispatch as
``internal_error``.
"""

from __future__ import annotations

from sfexit_emulator.clock import parse_iso
from sfexit_emulator.http import Call, HttpError, Response, Router, json_response


def _loopback_only(call: Call) -> None:
    from sfexit_emulator.server import is_loopback

    if not is_loopback(call.request.client_host):
        raise HttpError(403, "FORBIDDEN", "The emulator's admin API is served to loopback only")


def stats(call: Call) -> Response:
    _loopback_only(call)
    snapshot = call.app.stats.snapshot()
    snapshot["api_requests_used"] = call.app.api.used
    snapshot["now"] = call.app.clock.now().isoformat()
    return json_response(snapshot)


def reset_stats(call: Call) -> Response:
    _loopback_only(call)
    call.app.stats.reset()
    return json_response(call.app.stats.snapshot())


def clock(call: Call) -> Response:
    _loopback_only(call)
    if call.request.method == "POST":
        body = call.request.json()
        if not isinstance(body, dict) or not ({"advance_seconds", "set"} & body.keys()):
            raise HttpError(400, "INVALID_INPUT",
                            'send {"advance_seconds": n} or {"set": "<ISO 8601 datetime>"}')
        try:
            if "set" in body:
                call.app.clock.set(parse_iso(str(body["set"])))
            if "advance_seconds" in body:
                call.app.clock.advance(float(body["advance_seconds"]))
        except (TypeError, ValueError) as exc:
            raise HttpError(400, "INVALID_INPUT", str(exc)) from exc
    return json_response({"now": call.app.clock.now().isoformat()})


def faults(call: Call) -> Response:
    _loopback_only(call)
    if call.request.method == "POST":
        body = call.request.json()
        if not isinstance(body, dict):
            raise HttpError(400, "INVALID_INPUT", "send a JSON object of fault settings")
        try:
            call.app.faults.update(body)
        except (TypeError, ValueError) as exc:
            raise HttpError(400, "INVALID_INPUT", str(exc)) from exc
    return json_response(call.app.faults.to_dict())


def register(router: Router) -> None:
    router.add("admin_stats", r"/__emulator__/stats", stats, auth="admin", api=False)
    router.add("admin_stats_reset", r"/__emulator__/stats/reset", reset_stats, ("POST",),
               auth="admin", api=False)
    router.add("admin_clock", r"/__emulator__/clock", clock, ("GET", "POST"), auth="admin",
               api=False)
    router.add("admin_faults", r"/__emulator__/faults", faults, ("GET", "POST"), auth="admin",
               api=False)
