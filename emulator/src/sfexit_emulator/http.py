"""Request and response types of the emulator, and the route registry.

The server (``server.py``) turns bytes into a :class:`Request`, the dispatcher (``routes/__init__.py``)
finds the :class:`Route`, checks auth and limits, and calls the handler, which returns a
:class:`Response`. Handlers never touch sockets, so a route is a plain function of a request.

Route patterns are regular expressions over the path (no query string). ``{v}`` stands for the
API version segment ``vNN.N`` and becomes the group ``version``; ``{id}`` for one path segment.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

if TYPE_CHECKING:
    from sfexit_emulator.server import EmulatorApp
    from sfexit_emulator.auth_state import Session

JSON_TYPE = "application/json;charset=UTF-8"

# Salesforce's generic 404 body (errors.md §7, captured).
NOT_FOUND_MESSAGE = "The requested resource does not exist"


class Headers:
    """Case-insensitive, read-only view of request headers (the last value of a name wins)."""

    def __init__(self, pairs: Iterable[tuple[str, str]]) -> None:
        self._items: dict[str, str] = {}
        for name, value in pairs:
            self._items[name.lower()] = value

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._items.get(name.lower(), default)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._items

    def items(self) -> list[tuple[str, str]]:
        return list(self._items.items())


@dataclasses.dataclass
class Request:
    method: str
    path: str
    query_string: str
    headers: Headers
    body: bytes
    client_host: str = "127.0.0.1"

    def __post_init__(self) -> None:
        self.query: dict[str, list[str]] = parse_qs(self.query_string, keep_blank_values=True)

    def arg(self, name: str, default: str | None = None) -> str | None:
        values = self.query.get(name)
        return values[0] if values else default

    def json(self) -> Any:
        """The body parsed as JSON; raises :class:`HttpError` 400 JSON_PARSER_ERROR if it is not."""
        try:
            return json.loads(self.body.decode("utf-8") or "null")
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            # Salesforce answers a broken JSON body with JSON_PARSER_ERROR (errors.md §2: 400 bad body).
            raise HttpError(400, "JSON_PARSER_ERROR", f"Unexpected character: {exc}") from exc

    def form(self) -> dict[str, str]:
        """An ``application/x-www-form-urlencoded`` body (first value of each name)."""
        parsed = parse_qs(self.body.decode("utf-8", "replace"), keep_blank_values=True)
        return {k: v[0] for k, v in parsed.items()}


@dataclasses.dataclass
class Response:
    """What a handler returns. ``stream`` (with ``content_length``) replaces ``body`` for blobs."""

    status: int = 200
    body: bytes = b""
    content_type: str | None = JSON_TYPE
    headers: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    stream: Iterable[bytes] | None = None
    content_length: int | None = None
    # True when the request changed a record, user, job or export (counted in stats["writes"]).
    is_write: bool = False
    # Set by the application: cut the body after this many bytes and drop the connection.
    reset_after: int | None = None
    close: bool = False
    # Server time the handler's work stands for beyond a plain call (costs.py, cost model on).
    server_seconds: float = 0.0

    def header(self, name: str) -> str | None:
        for key, value in self.headers:
            if key.lower() == name.lower():
                return value
        return None


class HttpError(Exception):
    """Raised by handlers for a Salesforce REST error: ``[{"message","errorCode"(,"fields")}]``."""

    def __init__(self, status: int, error_code: str, message: str,
                 fields: list[str] | None = None) -> None:
        super().__init__(f"{status} {error_code}: {message}")
        self.status = status
        self.error_code = error_code
        self.message = message
        self.fields = fields


def json_response(payload: Any, status: int = 200, headers: list[tuple[str, str]] | None = None,
                  is_write: bool = False) -> Response:
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(status=status, body=body, headers=list(headers or []), is_write=is_write)


def error_response(status: int, error_code: str, message: str,
                   fields: list[str] | None = None) -> Response:
    """Salesforce's REST error shape (errors.md §1): ``fields`` only where the error has them."""
    entry: dict[str, Any] = {"message": message, "errorCode": error_code}
    if fields is not None:
        entry["fields"] = fields
    return json_response([entry], status=status)


def parse_byte_range(header: str, size: int) -> tuple[int, int] | str | None:
    """A ``Range`` header against a body of ``size`` bytes (RFC 9110 §14.1.2, §14.2):
    one ``bytes=a-b`` / ``a-`` / ``-n`` → (first, last) inclusive, ``last`` clipped to the end;
    several ranges, another unit or a malformed/invalid one → None (ignore it: whole body, 200);
    a first byte past the end, or an empty suffix → ``"unsatisfiable"`` (416)."""
    match = re.fullmatch(r"\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*", header)
    if not match or (not match.group(1) and not match.group(2)):
        return None
    first, last = match.group(1), match.group(2)
    if not first:
        suffix = int(last)
        if suffix == 0 or size == 0:
            return "unsatisfiable"
        return max(0, size - suffix), size - 1
    start = int(first)
    if last and int(last) < start:
        return None
    if start >= size:
        return "unsatisfiable"
    return start, min(int(last), size - 1) if last else size - 1


def empty_response(status: int = 204) -> Response:
    return Response(status=status, body=b"", content_type=None)


@dataclasses.dataclass
class Call:
    """One matched request as a handler sees it."""

    app: EmulatorApp
    request: Request
    params: Mapping[str, str]
    session: Session | None = None

    @property
    def version(self) -> str:
        return self.params.get("version", "")

    def now(self) -> Any:
        return self.app.clock.now()


Handler = Callable[[Call], Response]

# auth: "session" (a Salesforce access token), "none" (public), "admin" (/__emulator__/, loopback only)
AUTH_KINDS = ("session", "none", "admin")


@dataclasses.dataclass(frozen=True)
class Route:
    name: str
    methods: frozenset[str]
    regex: re.Pattern[str]
    handler: Handler
    auth: str = "session"
    # Counts against DailyApiRequests and carries Sforce-Limit-Info.
    api: bool = True


_PLACEHOLDERS = {
    "{v}": r"v(?P<version>\d+\.\d)",
    "{id}": r"(?P<id>[^/]+)",
    "{sobject}": r"(?P<sobject>[^/]+)",
}


def compile_pattern(pattern: str) -> re.Pattern[str]:
    for key, value in _PLACEHOLDERS.items():
        pattern = pattern.replace(key, value)
    return re.compile(pattern + r"\Z")


class Router:
    """An ordered list of routes; the first whose pattern matches the path wins."""

    def __init__(self) -> None:
        self.routes: list[Route] = []

    def add(self, name: str, pattern: str, handler: Handler, methods: Iterable[str] = ("GET",),
            auth: str = "session", api: bool = True) -> None:
        if auth not in AUTH_KINDS:
            raise ValueError(f"unknown auth kind {auth!r}")
        self.routes.append(Route(name, frozenset(m.upper() for m in methods),
                                 compile_pattern(pattern), handler, auth, api))

    def match(self, method: str, path: str) -> tuple[Route | None, dict[str, str], list[str]]:
        """(route, params, allowed methods): route None and allowed empty means 404."""
        allowed: list[str] = []
        lookup = "GET" if method == "HEAD" else method
        for route in self.routes:
            found = route.regex.match(path)
            if not found:
                continue
            if lookup in route.methods:
                return route, {k: v for k, v in found.groupdict().items() if v is not None}, []
            allowed.extend(sorted(route.methods))
        return None, {}, allowed
