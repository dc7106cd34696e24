"""A browser-like UI session opened from the API session: the only way to the Setup pages.

The Data Export Service has no API (research/export-protocol.md): every tool drives the Setup UI.
How a UI session is made from an API session (same research, "UI session from an API session"):

- ``/secur/frontdoor.jsp`` with ``sid=<access token>`` and ``retURL=<relative path>`` (Help
  000386254 "Use of frontdoor.jsp to Log in to Salesforce", which prefers a POST form; we POST so
  the token is not in a URL that proxies log), answered by ``Set-Cookie: sid`` and a redirect or a
  script interstitial (``top.window.location='…'``, ``location.replace('…')``:
  teamchong/SF-DataExport ``ResourceManager.cs``). A read-only session POSTs too: the guard in
  ``session.is_read_only_safe`` allows this one POST (it opens a UI session, changes no data).
- From then on only the cookie jar authenticates: no ``Authorization`` header goes to UI pages.
- A UI URL without a session answers ``302`` to ``/?ec=302&startURL=…`` and the login page
  (``<title>Login | Salesforce</title>``): that is an :class:`AuthError`, never data.

All traffic goes through :meth:`OrgSession.exchange` (same CA ``verify``, HTTPS-only check,
read-only guard, retries of idempotent requests, redaction), counted in ``ui_calls``, apart from
API calls. Redirects are followed here, one hop at a time, so each hop is checked and a loop is
cut (simple-salesforce #584 reports ``TooManyRedirects`` with a ``sid`` cookie). The token is
never logged: only paths are.
"""

from __future__ import annotations

import hashlib
import logging
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import requests
import urllib3
from requests.cookies import RequestsCookieJar

from sfexit import errors
from sfexit.org.answers import is_login_page
from sfexit.org.redaction import redact
from sfexit.org.session import OrgSession, check_https

log = logging.getLogger("sfexit.org.ui")

FRONTDOOR = "/secur/frontdoor.jsp"
MAX_HOPS = 10                 # redirects + interstitials per request before we call it a loop
INTERSTITIAL_MAX_BYTES = 16 * 1024
# Network reads: small enough that a connection broken mid-file keeps what arrived (urllib3
# drops a partly read chunk on IncompleteRead), so a Range resume has something to resume.
NET_CHUNK = 64 * 1024
RESUMES = 5                   # Range resumptions (or restarts) of one download
_SCRIPT_TARGETS = (
    re.compile(r"top\.window\.location(?:\.href)?\s*=\s*'((?:[^'\\]|\\.)*)'"),
    re.compile(r"(?:window\.)?location\.replace\(\s*'((?:[^'\\]|\\.)*)'\s*\)"),
    re.compile(r"window\.location\.href\s*=\s*'((?:[^'\\]|\\.)*)'"),
)

# What :meth:`UiSession.head` and :meth:`UiSession.stream` answer: callers outside org/ name
# the type by this alias so that only org/ imports requests (the import contracts, docs/layout.md).
UiResponse = requests.Response

LOGIN_HINT = ("the org did not accept a UI session for this login (session expired, an "
              "API-only user, login IP ranges, or MFA required for Setup); sign in again with "
              "`sfexit login`, or download the files from Setup > Data Export in a browser")


@dataclass(frozen=True)
class UiPage:
    """An HTML (or text) page after redirects and interstitials."""

    url: str
    status: int
    content_type: str
    text: str


def _cookie_only(r: requests.PreparedRequest) -> requests.PreparedRequest:
    # Replaces the session's Bearer auth for UI requests: a browser sends the cookie only.
    r.headers.pop("Authorization", None)
    return r


def is_login_url(url: str) -> bool:
    """``/?ec=302&startURL=…``, or ``/`` with ``startURL`` (the page timeout script's form)."""
    parts = urlsplit(url)
    query = parse_qs(parts.query)
    return parts.path in ("", "/", "/login.jsp") and ("startURL" in query or "ec" in query)


def interstitial_target(text: str) -> str | None:
    """The URL a small script-redirect page sends the browser to, if it is one."""
    if len(text) > INTERSTITIAL_MAX_BYTES:
        return None
    for pattern in _SCRIPT_TARGETS:
        match = pattern.search(text)
        if match:
            return _js_unescape(match.group(1))
    return None


def _js_unescape(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        body = match.group(1)
        return chr(int(body[1:], 16)) if body[0] in "xu" else body
    return re.sub(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|.)", one, text)


class UiSession:
    """Cookie-authenticated access to the org's Classic UI, opened by :func:`open_ui_session`."""

    def __init__(self, org: OrgSession) -> None:
        self.org = org
        self.base = org.instance_url
        self.jar = RequestsCookieJar()
        self._lock = threading.Lock()
        self._reopen_lock = threading.Lock()
        self.generation = 0          # how many times the UI session was opened
        self.landing = "/home/home.jsp"

    # --- opening -----------------------------------------------------------------------------
    def open(self, ret_url: str = "/home/home.jsp") -> UiPage:
        """Exchange the API token for the ``sid`` cookie and land on ``ret_url``.

        Raises AuthError (the frontdoor sends us to the login page), ConnectionFailed,
        SalesforceError (a loop or an error status).
        """
        token = self.org.access_token
        self.landing = ret_url
        form = {"sid": token, "retURL": ret_url}
        # Only trades the token for a cookie: safe to resend after a 503 or a reset. Allowed to
        # a read-only session too (session.READ_ONLY_ALLOWED), so the token is never in a URL.
        response = self._send("POST", self._url(FRONTDOOR), data=form, idempotent=True)
        page = self._follow(response, FRONTDOOR)
        self.generation += 1
        log.debug("UI session opened through %s", FRONTDOOR)
        return page

    def reopen(self, seen: int | None = None) -> None:
        """Open again after the UI sent us to the login page: first let the API session renew
        its token (one cheap authenticated call re-authenticates on 401), then the frontdoor.
        ``seen`` = the generation that failed: parallel downloads reopen once, not once each."""
        with self._reopen_lock:
            if seen is not None and seen != self.generation:
                return  # another thread already opened a new UI session
            self.org.request("GET", self.org.data_url(""))
            with self._lock:
                self.jar.clear()
            self.open(self.landing)

    # --- pages ---------------------------------------------------------------------------------
    def get(self, path_or_url: str, *, retry_login: bool = True) -> UiPage:
        """A UI page, redirects and interstitials followed. Raises AuthError (login page, also
        after one reopen), SalesforceError (loop, 4xx/5xx), ConnectionFailed."""
        seen = self.generation
        try:
            return self._follow(self._send("GET", self._url(path_or_url)), path_or_url)
        except errors.AuthError:
            if not retry_login:
                raise
        self.reopen(seen)
        return self.get(path_or_url, retry_login=False)

    def post_form(self, action: str, fields: Sequence[tuple[str, str]], *,
                  referer: str | None = None) -> UiPage:
        """Post a form as a browser does (urlencoded, fields in order); never retried: it may
        have been processed. Raises AuthError, ReadOnlyViolation, SalesforceError."""
        headers = {"Referer": referer} if referer else {}
        response = self._send("POST", self._url(action), data=list(fields), headers=headers,
                              idempotent=False)
        return self._follow(response, action)

    def head(self, path_or_url: str) -> requests.Response:
        """A HEAD without following redirects (a redirect here means the login page)."""
        response = self._send("HEAD", self._url(path_or_url))
        response.close()
        return response

    def stream(self, path_or_url: str, *, range_start: int = 0) -> requests.Response:
        """A streamed GET of a file (``Range: bytes=N-`` when resuming). The caller checks the
        status and closes it; a redirect is returned as is (the caller treats it as login)."""
        headers = {"Range": f"bytes={range_start}-"} if range_start > 0 else {}
        return self._send("GET", self._url(path_or_url), headers=headers, stream=True)

    def auth_error(self, what: str) -> errors.AuthError:
        return errors.AuthError(f"Salesforce answered {what} with its login page", hint=LOGIN_HINT)

    # --- the wire ------------------------------------------------------------------------------
    def _url(self, path_or_url: str) -> str:
        return check_https(urljoin(self.base + "/", path_or_url), "URL")

    def _send(self, method: str, url: str, *, headers: Mapping[str, str] | None = None,
              **kwargs: Any) -> requests.Response:
        with self._lock:
            cookies = self.jar.copy()
        # ui_page: counted in org.ui_calls, not as an API call (the manifest's api_calls).
        response = self.org.exchange(
            method, url, headers=dict(headers or {}), cookies=cookies, auth=_cookie_only,
            allow_redirects=False, timeout=kwargs.pop("timeout", 120.0), ui_page=True, **kwargs)
        self._keep_cookies(response)
        log.debug("UI %s %s -> %s", method, redact(urlsplit(url).path), response.status_code)
        return response

    def _keep_cookies(self, response: requests.Response) -> None:
        if not response.cookies:
            return
        with self._lock:
            self.jar.update(response.cookies)
        # requests also stores them in the shared session's jar; take them out again so the UI
        # cookie never rides along on API calls (those authenticate by the Bearer header).
        shared = self.org.http.cookies
        for cookie in response.cookies:
            try:
                shared.clear(cookie.domain, cookie.path, cookie.name)
            except KeyError:
                pass

    def _follow(self, response: requests.Response, what: str) -> UiPage:
        """Follow redirects and script interstitials; the final page or an error."""
        seen: list[str] = []
        for _hop in range(MAX_HOPS + 1):
            if response.is_redirect:
                target = urljoin(response.url, response.headers.get("Location", ""))
                response.close()
                if is_login_url(target):
                    raise self.auth_error(redact(urlsplit(what).path))
                seen.append(urlsplit(target).path)
                response = self._send("GET", target)
                continue
            text = response.text
            content_type = response.headers.get("Content-Type", "")
            if is_login_page(content_type, text) or is_login_url(response.url):
                raise self.auth_error(redact(urlsplit(what).path))
            target_script = interstitial_target(text) if "html" in content_type.lower() else None
            if target_script:
                seen.append(urlsplit(target_script).path)
                response = self._send("GET", urljoin(response.url, target_script))
                continue
            if response.status_code >= 400:
                raise errors.SalesforceError(
                    f"{redact(urlsplit(response.url).path)} answered HTTP {response.status_code}",
                    status=response.status_code)
            return UiPage(response.url, response.status_code, content_type, text)
        raise errors.SalesforceError(
            f"the org's UI redirected more than {MAX_HOPS} times ({' → '.join(seen[-4:])})",
            hint="a UI session from the API token is not accepted here (known with some "
                 "orgs, simple-salesforce #584); download the files from Setup > Data Export")


# --- downloads -----------------------------------------------------------------------------------
class BrokenDownload(Exception):
    """The body kept breaking off; worth another attempt later."""


@dataclass(frozen=True)
class Download:
    size: int                  # bytes written
    sha256: str                # of exactly those bytes, computed while streaming
    announced: int | None      # the whole file's size as the server stated it


def announced_size(response: requests.Response) -> int | None:
    """The whole file's size as an answer states it (Content-Length of a 200, the total of a
    206's ``Content-Range: bytes a-b/total``)."""
    if response.status_code == 206:
        total = response.headers.get("Content-Range", "").rpartition("/")[2]
    else:
        total = response.headers.get("Content-Length", "")
    return int(total) if total.isdigit() else None


def download_to(ui: UiSession, path_or_url: str, target: Path, *,
                check: Callable[[requests.Response], None]) -> Download:
    """Stream a file to ``target``, hashing it in the same pass. A body that breaks off is asked
    again from where it stopped (``Range``), used only when the server answers 206 with that
    start; a 200 starts over. ``check`` raises for an answer that is not the file (login page,
    gone). Raises BrokenDownload, and whatever ``check`` raises."""
    hasher, written, resumes, announced = hashlib.sha256(), 0, 0, None
    with open(target, "wb") as fh:
        while True:
            response = ui.stream(path_or_url, range_start=written)
            try:
                check(response)
                resumed = (response.status_code == 206 and response.headers.get(
                    "Content-Range", "").startswith(f"bytes {written}-"))
                if written and not resumed:
                    fh.seek(0)
                    fh.truncate()
                    hasher, written = hashlib.sha256(), 0
                announced = announced_size(response) or announced
                for chunk in response.iter_content(NET_CHUNK):
                    fh.write(chunk)
                    hasher.update(chunk)
                    written += len(chunk)
                return Download(written, hasher.hexdigest(), announced)
            except (requests.RequestException, urllib3.exceptions.HTTPError):
                resumes += 1
                if resumes > RESUMES:
                    raise BrokenDownload(f"the connection broke {resumes} times") from None
            finally:
                response.close()


def open_ui_session(org: OrgSession, ret_url: str = "/home/home.jsp") -> UiSession:
    """A UI session for ``org``'s login. Raises AuthError, ConnectionFailed, SalesforceError."""
    ui = UiSession(org)
    ui.open(ret_url)
    return ui
