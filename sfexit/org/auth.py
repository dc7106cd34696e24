"""Logging in: sfexit's own OAuth and SOAP calls to any login host.

simple-salesforce's login helpers only reach ``*.salesforce.com``, so sfexit logs in itself
(production, sandbox, My Domain, the emulator) and hands the token to the session. Methods:

- ``jwt``: OAuth 2.0 JWT bearer (RS256; iss = consumer key, sub = username, aud = login URL,
  exp ≤ 3 minutes). Re-authentication signs a new assertion.
- ``client_credentials``: consumer key + secret; runs as the connected app's user.
- ``web``: the web server flow with PKCE (``webflow.py``) once at ``sfexit login``; the refresh
  token it yields is kept in the keyring and used by every later command.
- ``refresh_token``: a refresh token given by the person (flag/env/keyring/prompt).
- ``password``: OAuth username-password grant (password + security token).
- ``soap``: SOAP ``login()`` for API ≤ 64.0 — Salesforce retires it in Summer '27.
- ``sf``: the Salesforce CLI's login (``sfcli.py``).
- ``session``: a plain instance URL + access token.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

import requests

from sfexit import errors
from sfexit.config import OrgProfile
from sfexit.org.redaction import redact
from sfexit.org.secrets import SecretResolver
from sfexit.org.session import Token, check_https, require_https

# Login POSTs tried again after a dropped connection or a 5xx (bounded, short waits).
LOGIN_ATTEMPTS = 3
LOGIN_RETRY_SECONDS = 0.5

SOAP_MAX_VERSION = "64.0"  # SOAP login() is refused from API 65.0 on (Summer '27 retirement)
JWT_LIFETIME_SECONDS = 180  # Salesforce: exp at most 3 minutes ahead
HTTP_TIMEOUT = 60.0

# OAuth error → what to do (errors.md §3).
_OAUTH_HINTS = {
    "invalid_client_id": "check consumer_key in the org profile",
    "invalid_client": "check the consumer secret (SFEXIT_CLIENT_SECRET or the keyring)",
    "invalid_client_credentials": "check the consumer secret (SFEXIT_CLIENT_SECRET or the "
                                  "keyring)",
    "authentication failure": "check username, password and security token; the user may be "
                              "frozen or locked out",
    "user hasn't approved this consumer": "pre-authorize the connected app for the user's "
                                          "profile or permission set",
    "audience is invalid": "check login_url (production, sandbox or My Domain)",
    "invalid assertion": "check the private key, consumer_key and username",
    "inactive user": "the user is inactive or frozen in the org",
    "expired access/refresh token": "the refresh token was revoked or expired: run "
                                    "`sfexit login` again",
}

Warn = Callable[[str], None]


class Authenticator:
    """Logs in with one profile's method and can do it again when the session dies."""

    def __init__(self, profile: OrgProfile, secrets: SecretResolver, *, verify: str | bool,
                 warn: Warn | None = None, run_sf: Any = None,
                 web_login: Callable[[], Token] | None = None) -> None:
        self.profile = profile
        self.secrets = secrets
        self.verify = verify
        self.warn = warn or (lambda _message: None)
        self.run_sf = run_sf
        self.web_login = web_login
        self.token: Token | None = None
        self.login_url = require_https(profile.login_url, "login URL")
        if profile.instance_url:
            check_https(profile.instance_url, "instance URL")

    @property
    def login_host(self) -> str:
        return urlsplit(self.login_url).hostname or ""

    def login(self) -> Token:
        """A new session. Raises AuthError (wrong secrets, inactive user), ConnectionFailed."""
        method = self.profile.auth
        handler = getattr(self, f"_login_{method}")
        self.token = handler()
        return self.token

    def reauthenticate(self) -> Token:
        """A fresh session after INVALID_SESSION_ID (the session calls this once)."""
        if self.profile.auth == "web":
            return self._with_refresh_token(self._refresh_token_value())
        if self.profile.auth == "session":
            raise errors.AuthError("the access token has expired or was revoked",
                                   hint="set a fresh SFEXIT_ACCESS_TOKEN, or use another auth "
                                        "method")
        return self.login()

    # --- one method each ------------------------------------------------------------------

    def _login_jwt(self) -> Token:
        import jwt
        from cryptography.hazmat.primitives import serialization

        p = self.profile
        assert p.key_file is not None and p.username and p.consumer_key
        try:
            pem = p.key_file.read_bytes()
        except OSError as exc:
            raise errors.AuthError(f"cannot read the private key {p.key_file}: {exc.strerror}"
                                   ) from None
        passphrase = (self.secrets.get("key_passphrase") if b"ENCRYPTED" in pem else None)
        try:
            key = serialization.load_pem_private_key(
                pem, password=passphrase.encode() if passphrase else None)
        except (ValueError, TypeError):
            raise errors.AuthError(f"cannot load the private key {p.key_file}: wrong passphrase "
                                   "or not a PEM private key") from None
        claims = {"iss": p.consumer_key, "sub": p.username, "aud": self.login_url,
                  "exp": int(time.time()) + JWT_LIFETIME_SECONDS}
        assertion = jwt.encode(claims, key, algorithm="RS256")  # type: ignore[arg-type]
        return self._token_request({
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer",
            "assertion": assertion,
        })

    def _login_client_credentials(self) -> Token:
        return self._token_request({
            "grant_type": "client_credentials",
            "client_id": self.profile.consumer_key or "",
            "client_secret": self.secrets.get("client_secret") or "",
        })

    def _login_web(self) -> Token:
        refresh = self.secrets.get("refresh_token", required=False)
        if refresh:
            return self._with_refresh_token(refresh)
        if self.web_login is None:
            raise errors.AuthError(f"not logged in to org profile '{self.profile.name}'",
                                   hint="run `sfexit login` (web login in a browser)")
        return self.web_login()

    def _login_refresh_token(self) -> Token:
        return self._with_refresh_token(self._refresh_token_value())

    def _refresh_token_value(self) -> str:
        value = self.secrets.get("refresh_token")
        assert value is not None
        return value

    def _with_refresh_token(self, refresh_token: str) -> Token:
        form = {"grant_type": "refresh_token", "client_id": self.profile.consumer_key or "",
                "refresh_token": refresh_token}
        secret = self.secrets.get("client_secret", required=False)
        if secret:
            form["client_secret"] = secret
        token = self._token_request(form)
        if token.refresh_token is None:  # Salesforce does not rotate it: keep the one we have
            token = Token(token.access_token, token.instance_url, refresh_token, token.id_url,
                          token.issued_at)
        return token

    def _login_password(self) -> Token:
        password = self.secrets.get("password") or ""
        security_token = self.secrets.get("security_token", required=False, ask=True) or ""
        return self._token_request({
            "grant_type": "password",
            "client_id": self.profile.consumer_key or "",
            "client_secret": self.secrets.get("client_secret") or "",
            "username": self.profile.username or "",
            "password": password + security_token,
        })

    def _login_soap(self) -> Token:
        version = self.profile.api_version or SOAP_MAX_VERSION
        if float(version) > float(SOAP_MAX_VERSION):
            version = SOAP_MAX_VERSION
        self.warn("SOAP login() is retired by Salesforce in Summer '27 (refused from API 65.0); "
                  "switch this profile to auth = \"password\", \"jwt\" or \"web\"")
        password = (self.secrets.get("password") or "") + (
            self.secrets.get("security_token", required=False, ask=True) or "")
        envelope = (
            '<?xml version="1.0" encoding="utf-8"?>'
            '<env:Envelope xmlns:xsd="http://www.w3.org/2001/XMLSchema" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
            'xmlns:env="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns:urn="urn:partner.soap.sforce.com"><env:Body><urn:login>'
            f"<urn:username>{escape(self.profile.username or '')}</urn:username>"
            f"<urn:password>{escape(password)}</urn:password>"
            "</urn:login></env:Body></env:Envelope>")
        response = self._post(f"{self.login_url}/services/Soap/u/{version}", data=envelope.encode(),
                              headers={"Content-Type": "text/xml; charset=UTF-8",
                                       "SOAPAction": "login"})
        text = response.text
        if response.status_code != 200:
            fault = re.search(r"<faultcode>(?:\w+:)?([^<]+)</faultcode>\s*"
                              r"<faultstring>([^<]*)</faultstring>", text)
            code, message = (fault.group(1), fault.group(2)) if fault else (
                None, f"HTTP {response.status_code}")
            raise errors.AuthError(f"SOAP login to {self.login_host} failed: "
                                   f"{redact(message, self.secrets.known_values())}",
                                   hint=_hint_for(code or "", message))
        session_id = _xml_value(text, "sessionId")
        server_url = _xml_value(text, "serverUrl")
        if not session_id or not server_url:
            raise errors.AuthError(f"SOAP login to {self.login_host} gave no session")
        parts = urlsplit(server_url)
        instance = require_https(f"{parts.scheme}://{parts.netloc}", "instance URL")
        return Token(session_id, instance)

    def _login_sf(self) -> Token:
        from sfexit.org import sfcli

        assert self.profile.sf_alias
        return sfcli.sf_token(self.profile.sf_path, self.profile.sf_alias, run=self.run_sf)

    def _login_session(self) -> Token:
        instance = self.profile.instance_url
        if not instance:
            raise errors.AuthError("a plain session needs an instance URL",
                                   hint="set SFEXIT_INSTANCE_URL or instance_url")
        return Token(self.secrets.get("access_token") or "", require_https(instance,
                                                                             "instance URL"))

    # --- the wire ---------------------------------------------------------------------------

    def _post(self, url: str, *, repeatable: bool = True, **kwargs: Any) -> requests.Response:
        """POST to the login host. A login can be repeated safely (it only opens another
        session), so a dropped connection or a 5xx is tried again a few times; a one-time
        authorization code cannot (``repeatable=False``)."""
        check_https(url, "URL")
        attempts = LOGIN_ATTEMPTS if repeatable else 1
        for attempt in range(1, attempts + 1):
            last = attempt == attempts
            try:
                response = requests.post(url, timeout=HTTP_TIMEOUT, verify=self.verify, **kwargs)
            except requests.exceptions.SSLError:
                raise errors.ConnectionFailed(
                    f"TLS verification failed for {urlsplit(url).hostname}",
                    hint="give the org's CA with ca_bundle in the profile or REQUESTS_CA_BUNDLE"
                ) from None
            except (requests.ConnectionError, requests.Timeout,
                    requests.exceptions.ChunkedEncodingError) as exc:
                # ChunkedEncodingError: the connection broke in the middle of the answer.
                if last:
                    raise errors.ConnectionFailed(
                        f"{urlsplit(url).hostname} could not be reached: {type(exc).__name__}",
                        hint="check login_url, the network and proxy") from None
            else:
                if response.status_code < 500 or last:
                    return response
            time.sleep(LOGIN_RETRY_SECONDS * attempt)
        raise AssertionError("unreachable")  # pragma: no cover

    def _token_request(self, form: dict[str, str]) -> Token:
        response = self._post(f"{self.login_url}/services/oauth2/token", data=form,
                              headers={"Accept": "application/json"},
                              repeatable=form["grant_type"] != "authorization_code")
        try:
            body = response.json()
        except ValueError:
            body = {}
        if not isinstance(body, dict):
            # A 5xx may carry a REST error array instead of OAuth's {"error", ...} object.
            body = {}
        if response.status_code != 200 or "access_token" not in body:
            code = str(body.get("error") or f"HTTP {response.status_code}")
            message = str(body.get("error_description") or code)
            message = redact(message, self.secrets.known_values())
            raise errors.AuthError(f"login to {self.login_host} failed: {message} ({code})",
                                   hint=_hint_for(code, message))
        instance = require_https(str(body.get("instance_url") or self.login_url),
                                 "instance URL")
        return Token(body["access_token"], instance, body.get("refresh_token"), body.get("id"),
                     body.get("issued_at"))

    def web_flow(self, *, show_url: Callable[[str], None], open_browser: bool = True,
                 timeout: float | None = None) -> Token:
        """Log in a person through the browser (web server flow + PKCE). Raises AuthError."""
        import webbrowser

        from sfexit.org import webflow

        p = self.profile
        pkce = webflow.Pkce.new()
        url = webflow.authorize_url(self.login_url, p.consumer_key or "", p.redirect_uri, pkce)

        def start() -> None:
            show_url(url)
            if open_browser:
                webbrowser.open(url)

        code = webflow.wait_for_code(p.redirect_uri, pkce, start,
                                     timeout or webflow.DEFAULT_TIMEOUT)
        form = {"grant_type": "authorization_code", "code": code,
                "client_id": p.consumer_key or "", "redirect_uri": p.redirect_uri,
                "code_verifier": pkce.verifier}
        secret = self.secrets.get("client_secret", required=False)
        if secret:
            form["client_secret"] = secret
        token = self._token_request(form)
        if token.refresh_token:
            self.secrets.remember("refresh_token", token.refresh_token, "flag")
        return token

    def revoke(self, token: str) -> bool:
        """Revoke a refresh or access token at the login host; True if the org accepted it."""
        response = self._post(f"{self.login_url}/services/oauth2/revoke", data={"token": token})
        return response.status_code == 200


def _hint_for(code: str, message: str) -> str:
    for key in (message.strip().lower(), code):
        for text, hint in _OAUTH_HINTS.items():
            if key.startswith(text):
                return hint
    if code in ("INVALID_LOGIN", "LOGIN_MUST_USE_SECURITY_TOKEN"):
        return _OAUTH_HINTS["authentication failure"]
    return "check the org profile and secrets, then run `sfexit login` again"


def _xml_value(text: str, element: str) -> str | None:
    match = re.search(rf"<(?:\w+:)?{element}>([^<]*)</(?:\w+:)?{element}>", text)
    return match.group(1) if match else None
