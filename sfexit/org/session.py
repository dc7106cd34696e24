"""The one resilient org session: every HTTP call sfexit makes to an org goes through here.

- One ``requests.Session`` (pooling). Its auth object holds the token, so a refresh reaches
  every caller: our own code, simple-salesforce (which shares the session) and Bulk 2.0.
- Retries (tenacity) for idempotent requests only, on connection errors, 5xx,
  ``UNABLE_TO_LOCK_ROW`` and ``REQUEST_LIMIT_EXCEEDED``: bounded exponential backoff with
  jitter, honouring ``Retry-After``. ``sleep`` is injectable, so tests never wait.
- Silent re-authentication on ``401 INVALID_SESSION_ID`` (or a login page instead of the API),
  then the request once more: for as long as logins succeed; only consecutive failures are
  bounded (``relogin.py``).
- Answers read whole are checked once here (``answers.py``): HTML, cut JSON, an empty 200 or a
  false ``Content-Encoding`` is retried like a 5xx when idempotent, then a ServerAnswerError
  naming the endpoint.
- Read-only mode (the basis of every ``--dry-run``): see :func:`is_read_only_safe`.
- Counts every API call (``calls``; Setup UI pages apart, in ``ui_calls``: they are not API
  requests and must not inflate the manifest's ``api_calls``), keeps ``Sforce-Limit-Info``
  current, logs each call at debug level with tokens and ids redacted.
"""

from __future__ import annotations

import logging
import random
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import requests
import tenacity

from sfexit import errors
from sfexit.org import answers
from sfexit.org.redaction import redact
from sfexit.org.relogin import Relogins
from sfexit.org.sferrors import (daily_limit_spent, error_code, error_from_response,
                                 is_dead_session, retry_after)

if TYPE_CHECKING:
    import simple_salesforce

log = logging.getLogger("sfexit.org")

# The API versions this sfexit understands: 50.0 (Winter '21) up to 68.0 (Winter '27).
MIN_API_VERSION = "50.0"
MAX_API_VERSION = "68.0"

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
RETRYABLE_ERROR_CODES = frozenset({"UNABLE_TO_LOCK_ROW", "REQUEST_LIMIT_EXCEEDED",
                                   "SERVER_UNAVAILABLE"})

# Read-only mode: the only requests besides GET/HEAD that may pass, because they cannot change
# the org's data, users or settings. Creating a Bulk 2.0 *query* job only reads (Salesforce
# counts it against DailyBulkV2QueryJobs, not as a change), and aborting one (PATCH: a query job
# only takes state Aborted, Bulk API 2.0 Developer Guide "Abort a Query Job"), so an export that
# stops does not leave its jobs running; deleting one is refused.
# The frontdoor POST trades the token (in the form body) for a UI session cookie and changes
# nothing in the org (Help 000386254 "Use of frontdoor.jsp to Log in to Salesforce", which
# prefers the POST form): allowed, so a read-only run keeps the token out of URLs.
READ_ONLY_ALLOWED = (
    ("POST", re.compile(r"^/services/data/v\d+\.\d/jobs/query/?$")),
    ("PATCH", re.compile(r"^/services/data/v\d+\.\d/jobs/query/[A-Za-z0-9]+/?$")),
    ("POST", re.compile(r"^/secur/frontdoor\.jsp$")),
)


def is_read_only_safe(method: str, path: str) -> bool:
    """Whether a request may be sent by a read-only session. The one place this is decided."""
    method = method.upper()
    if method in ("GET", "HEAD"):
        return True
    return any(method == m and rx.match(path) for m, rx in READ_ONLY_ALLOWED)


@dataclass(frozen=True, repr=False)
class Token:
    """A session from a login. Its repr never shows the secrets."""

    access_token: str
    instance_url: str
    refresh_token: str | None = None
    id_url: str | None = None
    issued_at: str | None = None

    def __repr__(self) -> str:
        return f"Token(instance_url={self.instance_url!r}, access_token=[REDACTED])"


Reauthenticate = Callable[[], Token]


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5            # tries in all, the first included
    base_seconds: float = 0.5    # exponential backoff: base * 2**n, full jitter
    max_seconds: float = 30.0    # cap for one backoff wait
    max_retry_after: float = 120.0  # a longer Retry-After is not waited for: give up instead


def check_https(url: str, what: str) -> str:
    """``url`` unchanged; raises UsageError for anything but https:// (before any connection)."""
    if not url.lower().startswith("https://") or not urlsplit(url).hostname:
        shown = redact(url.split("?")[0])
        raise errors.UsageError(f"{what} {shown} is not HTTPS; sfexit only connects over "
                                "https:// (nothing was sent)")
    return url


def require_https(url: str, what: str) -> str:
    """A base URL (instance, login host) without trailing slash; https:// only."""
    return check_https(url, what).rstrip("/")


class BearerAuth(requests.auth.AuthBase):
    """Holds the token; sends it only to the org's own hosts."""

    def __init__(self, token: str, hosts: set[str]) -> None:
        self.token = token
        self.hosts = hosts

    def __call__(self, r: requests.PreparedRequest) -> requests.PreparedRequest:
        host = urlsplit(r.url or "").hostname or ""
        if host in self.hosts:
            r.headers["Authorization"] = f"Bearer {self.token}"
        else:
            r.headers.pop("Authorization", None)
        return r

    def __repr__(self) -> str:
        return "BearerAuth([REDACTED])"


POOL_SIZE = 64


class _Http(requests.Session):
    """requests.Session whose every request (also simple-salesforce's) goes through OrgSession."""

    def __init__(self, owner: OrgSession, verify: str | bool) -> None:
        super().__init__()
        self.owner = owner
        self.pinned_verify = verify
        self._merged: dict[Any, dict[str, Any]] = {}   # merge_environment_settings, kept
        # One kept-alive connection per thread that may call at once: an export runs up to
        # 25 REST cursors, 4 starters, 4 readers and 16 result downloads (export/schedule.py,
        # bulk_pages.py). requests keeps 10 by default and drops the rest after each call,
        # so every further call paid a new TLS handshake ("Connection pool is full").
        for prefix in ("https://", "http://"):
            self.mount(prefix, requests.adapters.HTTPAdapter(pool_maxsize=POOL_SIZE))

    def request(self, method: str | bytes, url: str | bytes,
                *args: Any, **kwargs: Any) -> requests.Response:
        if args:
            raise TypeError("pass request options by keyword")
        idempotent = kwargs.pop("idempotent", None)
        ui_page = bool(kwargs.pop("ui_page", False))
        return self.owner.exchange(str(method, "ascii") if isinstance(method, bytes) else method,
                                   str(url, "utf-8") if isinstance(url, bytes) else url,
                                   idempotent=idempotent, ui_page=ui_page, **kwargs)

    def raw_request(self, method: str, url: str, **kwargs: Any) -> requests.Response:
        return super().request(method, url, **kwargs)

    def merge_environment_settings(self, url: Any, proxies: Any, stream: Any, verify: Any,
                                   cert: Any) -> Any:
        # requests lets REQUESTS_CA_BUNDLE override Session.verify (python-stack.md): the CA
        # bundle of the profile must win, for every caller of this session.
        # requests reads the proxy variables (every os.environ entry, twice) on each request:
        # a third of a small call's CPU (issue 23). The environment does not change during a
        # run, so the settings are kept per scheme and host (no_proxy is decided per host).
        key = (urlsplit(str(url))[:2], stream, cert)
        given = bool(proxies)   # requests fills the dict it passes: decided before
        kept = None if given else self._merged.get(key)
        if kept is None:
            kept = dict(super().merge_environment_settings(url, proxies, stream, verify, cert))
            if not given:
                self._merged[key] = kept
        return {**kept, "proxies": dict(kept["proxies"]), "verify": self.pinned_verify}


class _Retry(Exception):
    """A try that may be repeated; after the last one, ``response`` is returned or ``error``
    raised (else ConnectionFailed)."""

    def __init__(self, reason: str, retry_after: float | None = None,
                 response: requests.Response | None = None,
                 error: errors.SfexitError | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.retry_after = retry_after
        self.response = response
        self.error = error


class OrgSession:
    """The connection to one org. Build it with :func:`sfexit.org.connect`."""

    def __init__(self, instance_url: str, access_token: str, *,
                 api_version: str | None = None, read_only: bool = False,
                 verify: str | bool = True, reauthenticate: Reauthenticate | None = None,
                 retry: RetryPolicy = RetryPolicy(), sleep: Callable[[float], None] = time.sleep,
                 on_event: Callable[[str], None] | None = None,
                 extra_hosts: set[str] | None = None) -> None:
        self.instance_url = require_https(instance_url, "instance URL")
        self.read_only = read_only
        self.calls = 0               # API requests sent (retries included)
        self.ui_calls = 0            # Setup UI page requests (uisession.py), not API calls
        self.api_usage: tuple[int, int] | None = None
        self.retry = retry
        self._api_version: str | None = api_version
        self._reauthenticate = reauthenticate
        self._sleep = sleep
        self._on_event = on_event or (lambda _message: None)
        self._verify = verify
        hosts = {urlsplit(self.instance_url).hostname or ""} | (extra_hosts or set())
        self._auth = BearerAuth(access_token, hosts)
        self._http = _Http(self, verify)
        self._http.auth = self._auth
        self._http.headers["Sforce-Call-Options"] = "client=sfexit"
        self._sf: simple_salesforce.Salesforce | None = None
        self._relogins = Relogins()
        self._lock = threading.RLock()  # parallel downloads share this session
        self._version_lock = threading.Lock()  # threads asking at once negotiate once

    def __repr__(self) -> str:
        return f"OrgSession({self.instance_url!r}, read_only={self.read_only})"

    # --- public API ---------------------------------------------------------------------------

    @property
    def http(self) -> requests.Session:
        """The shared requests.Session (for libraries that want one); it goes through here."""
        return self._http

    @property
    def access_token(self) -> str:
        return self._auth.token

    @property
    def api_version(self) -> str:
        if self._api_version is None:
            with self._version_lock:
                if self._api_version is None:
                    self._api_version = self._negotiate_version()
        return self._api_version

    def data_url(self, rest: str) -> str:
        return f"{self.instance_url}/services/data/v{self.api_version}/{rest.lstrip('/')}"

    def url_for(self, path_or_url: str) -> str:
        """Absolute URL: ``https://…`` as is, ``/path`` on the instance, ``data/…`` shortcut."""
        if "://" in path_or_url:
            return check_https(path_or_url, "URL")
        if path_or_url.startswith("data/"):
            return self.data_url(path_or_url[len("data/"):])
        if path_or_url.startswith("/"):
            return self.instance_url + path_or_url
        raise ValueError(f"not a path or URL: {path_or_url!r}")

    def request(self, method: str, path_or_url: str, *, params: Any = None, json: Any = None,
                data: Any = None, headers: Mapping[str, str] | None = None, stream: bool = False,
                idempotent: bool | None = None, timeout: float | None = 120.0,
                number_text: bool = False) -> requests.Response:
        """Send one request with the session's policies; a Salesforce error raises.
        ``number_text``: the JSON answer is parsed (once, when checked) with its numbers that
        have a fraction or exponent as ``answers.NumberText`` (read it with ``answers.json_body
        (response, number_text=True)``).

        Raises AuthError (401), ApiLimitError (REQUEST_LIMIT_EXCEEDED), SalesforceError (other
        error answers), ConnectionFailed, ReadOnlyViolation, UsageError (not https).
        """
        response = self.exchange(method, self.url_for(path_or_url), params=params, json=json,
                                 data=data, headers=dict(headers or {}), stream=stream,
                                 idempotent=idempotent, timeout=timeout,
                                 number_text=number_text)
        if response.status_code >= 400:
            raise error_from_response(response, method)
        return response

    def get_json(self, path: str, *, kind: type[Any] = dict, **kw: Any) -> Any:
        """The JSON of a GET, checked to be ``kind`` (the shape the API documents: an object,
        or a list); its objects are :class:`~sfexit.org.answers.Answer` dicts, so a missing
        member is a ServerAnswerError naming the endpoint. Raises as :meth:`request`."""
        return answers.json_body(self.request("GET", path, **kw), kind)

    def simple_salesforce(self) -> simple_salesforce.Salesforce:
        """simple-salesforce bound to this session (same pool, token, retries and guard)."""
        if self._sf is None:
            from simple_salesforce import Salesforce

            self._sf = Salesforce(instance_url=self.instance_url, session_id=self.access_token,
                                  session=self._http, version=self.api_version)
        return self._sf

    # --- the exchange -------------------------------------------------------------------------

    def exchange(self, method: str, url: str, *, idempotent: bool | None = None,
                 ui_page: bool = False, number_text: bool = False, **kwargs: Any
                 ) -> requests.Response:
        """Send with guard, retries and re-auth; return the final response (even an error).

        ``ui_page``: a Setup UI request (counted in ``ui_calls``, not ``calls``).
        """
        method = method.upper()
        url = check_https(url, "URL")
        path = urlsplit(url).path
        if self.read_only and not is_read_only_safe(method, path):
            raise errors.ReadOnlyViolation(
                f"refused {method} {path}: this session is read-only (dry run); nothing was sent")
        if idempotent is None:
            idempotent = method in IDEMPOTENT_METHODS
        kwargs["verify"] = self._verify
        kwargs.setdefault("timeout", 120.0)
        while True:
            with self._lock:
                # The token is taken with its generation: what comes back is told of the
                # session it was sent with, even if another thread signs in meanwhile.
                generation, kwargs["auth"] = self._relogins.sending(), self._auth
            response = self._sent(generation, method, url, idempotent, kwargs, ui_page,
                                  number_text)
            streamed = bool(kwargs.get("stream"))
            login_page = not ui_page and answers.is_login_answer(response, stream=streamed)
            dead = login_page or is_dead_session(response)
            with self._lock:
                self._relogins.came_back(generation, served=not dead, refused=dead)
            if not dead:
                return response
            if self._reauthenticate is None or self._give_up(generation):
                if login_page:
                    raise answers.login_error(response)
                return response
            response.close()
            # A 401 or a login page was not processed, so sending again is safe, even a POST.
            self._refresh(generation)

    def _sent(self, generation: int, method: str, url: str, idempotent: bool,
              kwargs: dict[str, Any], ui_page: bool, number_text: bool) -> requests.Response:
        """:meth:`_with_retries`, telling the session's tally of a request that raised."""
        try:
            return self._with_retries(method, url, idempotent, kwargs, ui_page, number_text)
        except BaseException:
            with self._lock:
                self._relogins.came_back(generation, served=False, refused=False)
            raise

    def _with_retries(self, method: str, url: str, idempotent: bool,
                      kwargs: dict[str, Any], ui_page: bool = False,
                      number_text: bool = False) -> requests.Response:
        policy = self.retry
        retrying = tenacity.Retrying(
            stop=tenacity.stop_after_attempt(policy.attempts if idempotent else 1),
            wait=self._wait, sleep=self._sleep, reraise=True,
            retry=tenacity.retry_if_exception_type(_Retry),
            before_sleep=lambda state: self._on_event(
                f"retrying {method} {redact(urlsplit(url).path)} after "
                f"{state.outcome.exception() if state.outcome else '?'} "
                f"(attempt {state.attempt_number + 1} of {policy.attempts})"),
        )
        try:
            for attempt in retrying:
                with attempt:
                    return self._send_once(method, url, kwargs, ui_page, number_text)
        except _Retry as last:
            if last.response is not None:
                return last.response
            if last.error is not None:
                raise last.error from None
            raise errors.ConnectionFailed(
                f"{self.instance_url} could not be reached: {last.reason}",
                hint="check the network, proxy and CA bundle, then run the command again",
            ) from None
        raise AssertionError("unreachable")  # pragma: no cover

    def _send_once(self, method: str, url: str, kwargs: dict[str, Any],
                   ui_page: bool = False, number_text: bool = False) -> requests.Response:
        started = time.monotonic()
        with self._lock:
            if ui_page:
                self.ui_calls += 1
            else:
                self.calls += 1
        try:
            response = self._http.raw_request(method, url, **kwargs)
        except requests.exceptions.SSLError as exc:
            raise errors.ConnectionFailed(
                f"TLS verification failed for {urlsplit(url).hostname}: {_short(exc)}",
                hint="give the org's CA with ca_bundle in the profile or REQUESTS_CA_BUNDLE",
            ) from None
        except requests.exceptions.ChunkedEncodingError as exc:
            # The connection broke in the middle of the body: the org was reached.
            log.debug("%s %s -> %s", method, redact(url), type(exc).__name__)
            cut = errors.ConnectionFailed(
                f"{answers.endpoint(method, url)}: the answer was cut short in transit",
                hint="check the network and any proxy, then run the command again (it resumes)")
            raise _Retry(_short(exc), error=cut) from None
        except (requests.ConnectionError, requests.Timeout) as exc:
            log.debug("%s %s -> %s", method, redact(url), type(exc).__name__)
            raise _Retry(_short(exc)) from None
        except requests.exceptions.ContentDecodingError:
            # A Content-Encoding (gzip, deflate) the body does not have: read whole, so the
            # answer cannot be used (a streamed body is decoded by its reader, bulk2.py).
            bad = errors.ServerAnswerError(
                f"{answers.endpoint(method, url)} answered a body that does not match its "
                "Content-Encoding header")
            raise _Retry(bad.message, error=bad) from None
        log.debug("%s %s -> %s (%.0f ms)", method, redact(url), response.status_code,
                  (time.monotonic() - started) * 1000)
        self._note_limit_info(response)
        if response.status_code >= 500 or response.status_code in (403, 400, 429):
            code = error_code(response) if response.status_code < 500 else None
            if response.status_code >= 500 or code in RETRYABLE_ERROR_CODES \
                    or response.status_code == 429:
                if code == "REQUEST_LIMIT_EXCEEDED" and daily_limit_spent(response):
                    return response  # waiting minutes cannot bring back a daily limit
                # Read the (small) error body: it frees the connection of a streamed response
                # and keeps the body for the error message if this was the last try.
                response.content
                raise _Retry(f"{response.status_code} {code or response.reason}",
                             retry_after(response), response)
        if (200 <= response.status_code < 300 and not ui_page and not kwargs.get("stream")
                and not answers.is_login_answer(response, stream=False)):
            wrong = answers.problem(response, number_text=number_text)
            if wrong is not None:
                log.debug("%s %s -> %s", method, redact(url), wrong.message)
                raise _Retry(wrong.message, error=wrong)
        return response

    def _wait(self, state: tenacity.RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, _Retry) and exc.retry_after is not None:
            if exc.retry_after > self.retry.max_retry_after:
                raise exc  # stop: the server asks for longer than we are willing to wait
            return exc.retry_after
        ceiling = min(self.retry.max_seconds,
                      self.retry.base_seconds * 2 ** (state.attempt_number - 1))
        return random.uniform(0, ceiling)

    def _give_up(self, generation: int) -> bool:
        """Whether a dead session ends the request (``relogin.py``)."""
        with self._lock:
            return self._relogins.give_up(generation)

    def _refresh(self, generation: int) -> None:
        """Sign in again, once for all threads that saw the same dead session. Raises
        AuthError, ConnectionFailed (``relogin.py``)."""
        assert self._reauthenticate is not None
        with self._lock:
            if self._relogins.generation != generation:
                return  # another thread already signed in again
            self._on_event("session expired; signing in again")
            token = self._relogins.sign_in(self._reauthenticate, lambda n: self._sleep(
                min(self.retry.max_seconds, self.retry.base_seconds * 2 ** n)))
            # A new object, not a new token in the old one: a request being sent keeps the
            # token of the generation it was counted under (exchange).
            self._auth = BearerAuth(token.access_token, self._auth.hosts)
            self._http.auth = self._auth
            if self._sf is not None:
                self._sf.session_id = token.access_token
                self._sf.headers["Authorization"] = "Bearer " + token.access_token

    def _note_limit_info(self, response: requests.Response) -> None:
        info = response.headers.get("Sforce-Limit-Info", "")
        match = re.search(r"api-usage=(\d+)/(\d+)", info)
        if match:
            self.api_usage = (int(match.group(1)), int(match.group(2)))

    def _negotiate_version(self) -> str:
        listed = self.get_json("/services/data", kind=list)
        versions = sorted((v["version"] for v in listed
                           if isinstance(v, dict) and _supported(v.get("version"))),
                          key=_version_key)
        if not versions:
            raise errors.SalesforceError(
                f"the org supports none of the API versions {MIN_API_VERSION}–{MAX_API_VERSION}",
                hint="pin api_version in the org profile")
        return str(versions[-1])


def _short(exc: BaseException) -> str:
    text = redact(str(exc))
    return text if len(text) < 200 else text[:197] + "..."


def _version_key(version: str) -> tuple[int, int]:
    major, _, minor = version.partition(".")
    return int(major), int(minor or 0)


def _supported(version: Any) -> bool:
    if not isinstance(version, str) or not re.fullmatch(r"\d+\.\d+", version):
        return False
    return _version_key(MIN_API_VERSION) <= _version_key(version) <= _version_key(
        MAX_API_VERSION)

