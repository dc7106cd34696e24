"""The OAuth 2.0 web server flow with PKCE, for a person at a browser.

A one-shot listener on the loopback redirect URI (``http://localhost:1717/OauthRedirect`` by
default, the Salesforce CLI's) receives the authorization code; the browser is opened with
``webbrowser`` unless ``--no-browser``, in which case the URL is handed to ``show_url`` for the
person to open. The code is exchanged with the PKCE verifier. The redirect is plain HTTP on
loopback only (RFC 8252 §7.3); no org traffic ever is.
"""

from __future__ import annotations

import base64
import hashlib
import http.server
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

from sfexit.errors import AuthError

DEFAULT_TIMEOUT = 300.0

_DONE_PAGE = (b"<!doctype html><meta charset=utf-8><title>sfexit</title>"
              b"<p>sfexit is logged in. You can close this window.</p>")
_FAIL_PAGE = (b"<!doctype html><meta charset=utf-8><title>sfexit</title>"
              b"<p>Login failed; see the terminal.</p>")


@dataclass(frozen=True, repr=False)
class Pkce:
    verifier: str
    challenge: str
    state: str

    @staticmethod
    def new() -> Pkce:
        verifier = secrets.token_urlsafe(64)[:96]
        digest = hashlib.sha256(verifier.encode("ascii")).digest()
        challenge = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
        return Pkce(verifier, challenge, secrets.token_urlsafe(24))


def authorize_url(login_url: str, consumer_key: str, redirect_uri: str, pkce: Pkce) -> str:
    query = urlencode({"response_type": "code", "client_id": consumer_key,
                       "redirect_uri": redirect_uri, "code_challenge": pkce.challenge,
                       "code_challenge_method": "S256", "state": pkce.state,
                       "scope": "api refresh_token"})
    return f"{login_url}/services/oauth2/authorize?{query}"


class _Listener(http.server.HTTPServer):
    code: str | None = None
    error: str | None = None
    expected_state: str = ""
    path: str = "/"


class _Handler(http.server.BaseHTTPRequestHandler):
    server: _Listener

    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        parts = urlsplit(self.path)
        if parts.path != self.server.path:
            self.send_error(404)
            return
        query = parse_qs(parts.query)
        state = (query.get("state") or [""])[0]
        if state != self.server.expected_state:
            self.server.error = "the login answer did not carry our state (not our request?)"
        elif "error" in query:
            self.server.error = (query.get("error_description") or query["error"])[0]
        else:
            self.server.code = (query.get("code") or [""])[0] or None
            if not self.server.code:
                self.server.error = "the login answer had no authorization code"
        body = _FAIL_PAGE if self.server.error else _DONE_PAGE
        self.send_response(200 if not self.server.error else 400)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:  # the URL holds the code
        return


def wait_for_code(redirect_uri: str, pkce: Pkce, start: Callable[[], None],
                  timeout: float = DEFAULT_TIMEOUT) -> str:
    """Listen on ``redirect_uri``, call ``start()`` (open the browser), return the code.

    Raises AuthError on a refused login, a wrong state, or no answer within ``timeout``.
    """
    parts = urlsplit(redirect_uri)
    if parts.scheme != "http" or parts.hostname not in ("localhost", "127.0.0.1"):
        raise AuthError(f"redirect URI {redirect_uri} must be http://localhost:PORT/… or "
                        "http://127.0.0.1:PORT/… (a loopback listener)")
    try:
        server = _Listener(("127.0.0.1", parts.port or 80), _Handler)
    except OSError as exc:
        raise AuthError(f"cannot listen on {parts.hostname}:{parts.port}: {exc.strerror}",
                        hint="free that port, or change redirect_uri") from None
    server.expected_state = pkce.state
    server.path = parts.path or "/"
    server.timeout = 1.0
    done = threading.Event()

    def serve() -> None:
        while not done.is_set() and server.code is None and server.error is None:
            server.handle_request()

    thread = threading.Thread(target=serve, name="sfexit-oauth-redirect", daemon=True)
    thread.start()
    try:
        start()
        thread.join(timeout)
    finally:
        done.set()
        thread.join(5)
        server.server_close()
    if server.error:
        raise AuthError(f"web login failed: {server.error}")
    if server.code is None:
        raise AuthError(f"no answer from the browser login within {timeout:.0f} s",
                        hint="run `sfexit login` again; with --no-browser open the printed URL")
    return server.code
