"""The web server flow's browser half: ``GET/POST /services/oauth2/authorize``.

As on Salesforce, GET without a UI session redirects (302) to the login page,
``/?ec=302&startURL=<the authorize URL>`` (routes/dataexport.py serves it); logging in there sets
the ``sid`` cookie and redirects back to the authorize URL, which then redirects (302) to
``redirect_uri?code=…&state=…`` (REST API Developer Guide, "OAuth 2.0 Web Server Flow": the
user "logs in to Salesforce" at the authorization endpoint's login page; the hops between are
UNCONF: Salesforce also passes through its approval and frontdoor pages). A POST of username
and password to the authorize URL itself (the emulator's earlier form) still works.
The code is then exchanged at ``/services/oauth2/token`` (``grant_code`` in oauth.py, PKCE S256).
A loopback ``redirect_uri`` may use any port (RFC 8252 §7.3, see :func:`redirect_allowed`).
Bad ``client_id`` / ``redirect_uri`` get Salesforce's error text as a page
(``error=invalid_client_id&error_description=client%20identifier%20invalid``); a bad
``response_type`` is redirected back with ``error=unsupported_response_type``.
"""

from __future__ import annotations

import html
from urllib.parse import quote, urlencode, urlsplit

from sfexit_emulator.http import Call, Response, Router
from sfexit_emulator.routes.oauth import OAuthError, password_user

_PARAMS = ("response_type", "client_id", "redirect_uri", "code_challenge",
           "code_challenge_method", "state", "scope", "prompt")
# The login page's message for a failed login (Salesforce's UI text).
LOGIN_FAILED = ("Please check your username and password. If you still can't log in, "
                "contact your Salesforce administrator.")
ALLOWED_REDIRECTS_EXTRA = ("http://localhost:1717/OauthRedirect",)
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "::1")


def _loopback_parts(uri: str) -> tuple[str, str, str] | None:
    """(scheme, path, query) of an ``http`` URI on a loopback host, else None."""
    try:
        parts = urlsplit(uri)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return None
    if parts.scheme != "http" or parts.hostname not in LOOPBACK_HOSTS or parts.fragment:
        return None
    return parts.scheme, parts.path or "/", parts.query


def redirect_allowed(registered: tuple[str, ...], given: str | None) -> bool:
    """Exact match with a registered callback, or a loopback one on any port.

    RFC 8252 §7.3: for loopback redirect URIs "the authorization server MUST allow any port to
    be specified at the time of the request". Salesforce lets an app register several callback
    URLs; UNCONF whether it applies §7.3 itself. Our choice: a registered
    ``http://localhost:1717/OauthRedirect`` also matches ``http://localhost:<port>`` and
    ``http://127.0.0.1:<port>`` (or ``[::1]``) with the same path and query, so tests can listen
    on a free port; the scheme, path and query must still match.
    """
    if not given:
        return False
    if given in registered:
        return True
    wanted = _loopback_parts(given)
    return wanted is not None and any(_loopback_parts(uri) == wanted for uri in registered)


def _page(status: int, body: str) -> Response:
    return Response(status=status, body=body.encode("utf-8"),
                    content_type="text/html;charset=UTF-8")


def _error_page(error: str, description: str) -> Response:
    return _page(400, f"error={error}&error_description={quote(description)}")


def _form(params: dict[str, str], message: str = "") -> Response:
    hidden = "".join(
        f'<input type="hidden" name="{name}" value="{html.escape(params[name])}">'
        for name in _PARAMS if params.get(name) is not None)
    error = f'<div id="error" class="loginError">{html.escape(message)}</div>' if message else ""
    return _page(200, f"""<!DOCTYPE html>
<html><head><meta charset="UTF-8"><title>Login | Salesforce</title></head>
<body><form id="login_form" name="login" method="post" action="/services/oauth2/authorize">
{error}{hidden}
<label for="username">Username</label><input id="username" name="username" type="email">
<label for="password">Password</label><input id="password" name="pw" type="password">
<input id="Login" name="Login" type="submit" value="Log In">
</form></body></html>""")


def _params(call: Call) -> dict[str, str]:
    source = call.request.form() if call.request.method == "POST" else {}
    values = {k: v[0] for k, v in call.request.query.items()}
    values.update(source)
    return values


def _check(call: Call, params: dict[str, str]) -> Response | None:
    app_cfg = call.app.auth.app
    if params.get("client_id") != app_cfg.consumer_key:
        return _error_page("invalid_client_id", "client identifier invalid")
    if not redirect_allowed((app_cfg.redirect_uri, *ALLOWED_REDIRECTS_EXTRA),
                            params.get("redirect_uri")):
        return _error_page("redirect_uri_mismatch", "redirect_uri must match configuration")
    if params.get("response_type") != "code":
        return _redirect(params, {"error": "unsupported_response_type",
                                  "error_description": "response type not supported"})
    if params.get("code_challenge") and params.get("code_challenge_method", "S256") not in (
            "S256", "plain"):
        return _redirect(params, {"error": "invalid_request",
                                  "error_description": "invalid code_challenge_method"})
    return None


def _redirect(params: dict[str, str], query: dict[str, str]) -> Response:
    if params.get("state") is not None:
        query["state"] = params["state"]
    target = params["redirect_uri"]
    sep = "&" if "?" in target else "?"
    return Response(status=302, body=b"", content_type=None,
                    headers=[("Location", f"{target}{sep}{urlencode(query)}")])


def authorize(call: Call) -> Response:
    params = _params(call)
    refused = _check(call, params)
    if refused is not None:
        return refused
    if call.request.method == "GET":
        from sfexit_emulator.routes.dataexport import login_redirect, ui_session

        session = ui_session(call)
        if session is None:
            return login_redirect(call)
        return _redirect(params, {"code": _issue_code(call, session.user_id, params)})
    username = params.get("username", "")
    password = params.get("pw") or params.get("password") or ""
    try:
        user_id = password_user(call, username, password)
    except OAuthError:
        return _form(params, LOGIN_FAILED)
    return _redirect(params, {"code": _issue_code(call, user_id, params)})


def _issue_code(call: Call, user_id: str, params: dict[str, str]) -> str:
    return call.app.auth.issue_code(
        user_id, params["client_id"], params["redirect_uri"], params.get("code_challenge"),
        params.get("code_challenge_method") or ("S256" if params.get("code_challenge") else None),
        call.app.clock.now())


def register(router: Router) -> None:
    router.add("oauth_authorize", r"/services/oauth2/authorize", authorize, ("GET", "POST"),
               auth="none", api=False)
