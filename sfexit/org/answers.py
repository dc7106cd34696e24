"""Answers that are not what the API promises: HTML pages, cut or misshapen JSON, empty bodies.

Checked in ONE place: :class:`~sfexit.org.session.OrgSession` runs :func:`problem` on every
API answer it reads whole (not on streamed bodies, nor on Setup UI pages), so every caller gets
one line naming the endpoint instead of ``JSONDecodeError``, and an idempotent request is sent
again first (the session's retry policy). A page that asks for a password (Salesforce's login
page after a session loss, or a proxy's) is an authentication error, not data.

The JSON objects of a checked answer are :class:`Answer` dicts that know their endpoint: a
missing member raises :class:`MissingMember` (a ServerAnswerError naming endpoint and member,
and a KeyError for code that expects one); :func:`member` and :func:`integer` check types.
Raw JSON stays inside ``sfexit/org/`` (STYLE.md, habit 6).
"""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Mapping
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests

from sfexit import errors
from sfexit.errors import ServerAnswerError

T = TypeVar("T")

# Salesforce ids (15/18 characters, 3-character key prefix) and anything token-like in a path
# segment: the endpoint named in a message is the resource, never the record or a secret.
_ID_SEGMENT = re.compile(r"^[A-Za-z0-9]{3}[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?$")
_LOGIN_TITLE = re.compile(r"<title>[^<]*(log\s*in|sign\s*in|anmelden|connexion)[^<]*</title>",
                          re.I)
_PASSWORD_INPUT = re.compile(r"<input[^>]+type\s*=\s*[\"']?password", re.I)
_HTML_START = re.compile(rb"^\s*(<!doctype\s+html|<html|<head|<body)", re.I)
_CACHE = "_sfexit_json"

LOGIN_HINT = ("a login page answered instead of the API (the session ended, or a proxy asks "
              "to sign in): run `sfexit login` again, or sign in to the proxy")


class MissingMember(ServerAnswerError, KeyError):
    """A JSON answer lacks a member the API documents (also a KeyError, for callers that
    expect one)."""

    def __str__(self) -> str:
        return self.message


class Answer(dict[str, Any]):
    """A JSON object from ``endpoint``; ``answer[key]`` on a missing key raises MissingMember."""

    endpoint = "the org"

    def __missing__(self, key: str) -> Any:
        raise MissingMember(f"{self.endpoint} answered JSON without {key!r}")


class NumberText(str):
    """A JSON number with a fraction or exponent, kept as the text the org sent (``1.0``,
    ``9.12260031E8``): turned into a float and back it could print otherwise, and the backup
    writes values exactly as served (export/csvsink.py). Asked for with ``number_text``."""


@functools.lru_cache(maxsize=256)
def _answer_of(where: str) -> type[Answer]:
    """An :class:`Answer` subclass that knows ``where``: json builds every object of an answer
    with it directly (``object_pairs_hook``), no Python call per object; a query page holds
    thousands (issue 23, client CPU). Endpoints are templated paths: few, kept."""
    return type("Answer", (Answer,), {"endpoint": where, "__slots__": ()})


def endpoint(method: str, url: str) -> str:
    """``GET /services/data/v64.0/jobs/query/{id}``: the path, ids and query string left out."""
    path = urlsplit(url).path
    parts = ["{id}" if _ID_SEGMENT.match(p) and any(c.isdigit() for c in p) else p
             for p in path.split("/")]
    return f"{method.upper()} {'/'.join(parts)}"


def endpoint_of(response: requests.Response) -> str:
    method = (response.request.method if response.request else None) or "GET"
    return endpoint(method, response.url or "")


def is_login_page(content_type: str, text: str) -> bool:
    """An HTML page that asks to sign in (Salesforce's login page, or a proxy's)."""
    if "html" not in content_type.lower() and not _HTML_START.match(text[:512].encode()):
        return False
    head = text[:65536]
    return bool(_LOGIN_TITLE.search(head) or _PASSWORD_INPUT.search(head))


def is_login_answer(response: requests.Response, *, stream: bool) -> bool:
    """A 2xx API answer read whole (not ``stream``) that is a login page, after redirects."""
    if stream or not 200 <= response.status_code < 300:
        return False
    head = response.content[:65536].decode("utf-8", "replace")
    return is_login_page(response.headers.get("Content-Type", ""), head)


def login_error(response: requests.Response) -> errors.AuthError:
    return errors.AuthError(f"{endpoint_of(response)} answered a login page instead of the API",
                            hint=LOGIN_HINT)


def problem(response: requests.Response, *, number_text: bool = False
            ) -> ServerAnswerError | None:
    """What is wrong with a 2xx API answer read whole, or None. Parses JSON bodies once
    (:func:`json_body` reuses the result; ``number_text`` as there). A login page is :func:`is_login_page`, checked by
    the session before this."""
    if response.status_code == 204 or (response.request and response.request.method == "HEAD"):
        return None
    body = response.content
    content_type = response.headers.get("Content-Type", "").lower()
    where = endpoint_of(response)
    if not body.strip():
        # An empty CSV (ingest results) is the CSV reader's business; JSON is never empty.
        empty_json = response.status_code == 200 and ("json" in content_type or not content_type)
        return ServerAnswerError(f"{where} answered HTTP 200 with an empty body"
                                 ) if empty_json else None
    if "html" in content_type or _HTML_START.match(body[:512]):
        return ServerAnswerError(f"{where} answered an HTML page instead of JSON")
    if "json" in content_type:
        try:
            _parse(response, body, where, number_text)
        except ServerAnswerError as exc:
            return exc
    return None


def json_body(response: requests.Response, kind: type[T] | None = None, *,
              number_text: bool = False) -> T | Any:
    """The parsed JSON of an answer (cached), its objects as :class:`Answer`; ``kind`` (dict or
    list) is the top-level shape the API documents; ``number_text``: numbers with a fraction or
    exponent as :class:`NumberText`. Raises ServerAnswerError."""
    where = endpoint_of(response)
    cached = getattr(response, _CACHE, None)
    value = (cached[0] if cached and cached[1] == number_text
             else _parse(response, response.content, where, number_text))
    if kind is not None and not isinstance(value, kind):
        raise ServerAnswerError(f"{where} answered JSON {_shape(value)} where "
                                f"{_shape_name(kind)} was expected")
    return value


def member(body: Mapping[str, Any], key: str, kind: type[T], *, default: Any = ...) -> T:
    """``body[key]`` checked to be ``kind``; a missing key gives ``default`` when one is given.
    Raises ServerAnswerError naming the endpoint, the member and what it held."""
    if key not in body:
        if default is not ...:
            return default
        raise MissingMember(f"{_where(body)} answered JSON without {key!r}")
    value = body[key]
    if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
        raise ServerAnswerError(f"{_where(body)} answered {key!r} as {_shape(value)} where "
                                f"{_shape_name(kind)} was expected")
    return value


def checked(value: Any, kind: type[T], parent: Mapping[str, Any] | None, what: str) -> T:
    """``value`` (an element of ``parent``'s ``what``) checked to be ``kind``."""
    if not isinstance(value, kind):
        raise ServerAnswerError(f"{_where(parent or {})} answered {what} as {_shape(value)} "
                                f"where {_shape_name(kind)} was expected")
    return value


def integer(body: Mapping[str, Any], key: str, default: int | None = None) -> int:
    """``body[key]`` as an int (Salesforce sends counts as numbers, some as strings); a
    missing or null member is ``default`` when given. Raises ServerAnswerError."""
    value = body.get(key)
    if value is None and default is not None:
        return default
    try:
        if isinstance(value, bool):
            raise ValueError
        return int(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        if key not in body:
            raise MissingMember(f"{_where(body)} answered JSON without {key!r}") from None
        raise ServerAnswerError(f"{_where(body)} answered {key!r} as {_shape(value)} where "
                                "a number was expected") from None


def _parse(response: requests.Response, body: bytes, where: str, number_text: bool = False
           ) -> Any:
    try:
        value = json.loads(body, object_pairs_hook=_answer_of(where),
                           parse_float=NumberText if number_text else None)
    except UnicodeDecodeError as exc:
        raise ServerAnswerError(f"{where} answered JSON that is not UTF-8 (byte {exc.start})"
                                ) from None
    except ValueError as exc:
        at = getattr(exc, "pos", None)
        what = ("truncated JSON" if at is not None and at >= len(body.rstrip()) else
                "invalid JSON")
        place = f" (byte {at} of {len(body)})" if at is not None else ""
        raise ServerAnswerError(f"{where} answered {what}{place}") from None
    setattr(response, _CACHE, (value, number_text))
    return value


def _where(body: Mapping[str, Any]) -> str:
    return body.endpoint if isinstance(body, Answer) else "the org"


def _shape(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, dict):
        return "an object"
    return {list: "a list", str: "a string", bool: "a boolean", int: "a number",
            float: "a number"}.get(type(value), "a value")


def _shape_name(kind: type[Any]) -> str:
    return {dict: "an object", list: "a list", str: "a string", int: "a number",
            bool: "a boolean"}.get(kind, kind.__name__)
