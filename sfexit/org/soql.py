"""The one place SOQL text is assembled: quoting, identifiers, IN-list chunking.

Values are never pasted into a query by hand anywhere else in sfexit; callers pass Python
values and get back text whose literals are quoted with SOQL's escape rules
(https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_quotedstringescapes.htm).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import quote as url_quote

# SOQL's escapes inside a quoted string literal.
_ESCAPES = {"\\": "\\\\", "'": "\\'", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t",
            "\b": "\\b", "\f": "\\f"}
_IDENT = re.compile(r"^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$")
_OPERATORS = {"=", "!=", "<", ">", "<=", ">=", "LIKE"}

# Salesforce refuses URIs over 16,384 bytes (errors.md §2, 414). Keep every GET query well
# under that, leaving room for the host, the path and the other parameters.
MAX_QUERY_URL_BYTES = 12_000

# Relative date literals with a count (``LAST_N_DAYS:30``, ``N_MONTHS_AGO:2``), evaluated by the
# org in the org's time zone (SOQL "Date Formats and Date Literals",
# https://developer.salesforce.com/docs/atlas.en-us.soql_sosl.meta/soql_sosl/sforce_api_calls_soql_select_dateformats.htm).
_UNITS = "DAYS|WEEKS|MONTHS|QUARTERS|YEARS|FISCAL_QUARTERS|FISCAL_YEARS"
_RELATIVE = re.compile(rf"^(?:(?:LAST|NEXT)_N_(?:{_UNITS})|N_(?:{_UNITS})_AGO)$")


@dataclass(frozen=True)
class DateLiteral:
    """A relative date literal such as ``LAST_N_DAYS:30``; build it with :func:`last_n_days`
    or :func:`relative_date`, and compare with :func:`condition` like any other value."""

    name: str
    n: int

    def __str__(self) -> str:
        return f"{self.name}:{self.n}"


Value = str | int | float | Decimal | bool | dt.date | dt.datetime | DateLiteral | None


def quote(value: Value) -> str:
    """One SOQL literal: strings quoted and escaped, dates ISO, booleans TRUE/FALSE, None null.

    Raises TypeError for any other type (so nothing is silently str()-ed into a query).
    """
    if value is None:
        return "null"
    if isinstance(value, DateLiteral):
        return str(value)
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError("SOQL has no literal for NaN or infinity")
        return repr(value)
    if isinstance(value, dt.datetime):
        if value.tzinfo is None:
            raise ValueError("a datetime in SOQL needs a time zone")
        utc = value.astimezone(dt.UTC)
        return utc.strftime("%Y-%m-%dT%H:%M:%SZ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, str):
        return "'" + "".join(_ESCAPES.get(ch, ch) for ch in value) + "'"
    raise TypeError(f"cannot put a {type(value).__name__} into SOQL")


def quote_like(value: str) -> str:
    """A LIKE pattern matching ``value`` literally (``%`` and ``_`` escaped as ``\\%``, ``\\_``)."""
    return "'" + "".join(_ESCAPES.get(ch, "\\" + ch if ch in "%_" else ch)
                         for ch in value) + "'"


def relative_date(name: str, n: int) -> DateLiteral:
    """``NAME:n`` for the counted date literals (LAST_N_DAYS, NEXT_N_WEEKS, N_YEARS_AGO, …).

    Raises ValueError for another name or a count that is not an int ≥ 0."""
    if not _RELATIVE.match(name):
        raise ValueError(f"not a SOQL relative date literal: {name!r}")
    if isinstance(n, bool) or not isinstance(n, int) or n < 0:
        raise ValueError(f"{name} needs a whole number ≥ 0, not {n!r}")
    return DateLiteral(name, n)


def last_n_days(n: int) -> DateLiteral:
    """``LAST_N_DAYS:n``: from 00:00 n days back (the org's time zone) through now, so
    ``field < last_n_days(n)`` means "before that day". Raises ValueError for a count that is
    not an int ≥ 0."""
    return relative_date("LAST_N_DAYS", n)


def all_of(*clauses: str) -> str:
    """Clauses (from this module) joined with AND, each in parentheses."""
    return _joined("AND", clauses)


def any_of(*clauses: str) -> str:
    """Clauses (from this module) joined with OR, each in parentheses."""
    return _joined("OR", clauses)


def _joined(op: str, clauses: Sequence[str]) -> str:
    if not clauses:
        raise ValueError(f"{op} needs at least one clause")
    return f" {op} ".join(f"({c})" for c in clauses)


def ident(name: str) -> str:
    """An object or field name (``Owner.Username`` allowed). Raises ValueError otherwise."""
    if not _IDENT.match(name):
        raise ValueError(f"not a Salesforce field or object name: {name!r}")
    return name


def condition(field: str, op: str, value: Value) -> str:
    """``field op literal``; op is one of = != < > <= >= LIKE."""
    op = op.upper()
    if op not in _OPERATORS:
        raise ValueError(f"unsupported SOQL operator: {op!r}")
    return f"{ident(field)} {op} {quote(value)}"


def in_list(field: str, values: Iterable[Value], *, negate: bool = False) -> str:
    literals = [quote(v) for v in values]
    if not literals:
        raise ValueError("an IN list needs at least one value")
    return f"{ident(field)} {'NOT IN' if negate else 'IN'} ({','.join(literals)})"


def select(sobject: str, fields: Sequence[str], *, where: Sequence[str] = (),
           group_by: Sequence[str] = (), order_by: Sequence[str] = (),
           limit: int | None = None) -> str:
    """``SELECT f1, f2 FROM Obj [WHERE c1 AND c2] [GROUP BY g1, g2] [ORDER BY ...] [LIMIT n]``.

    ``where`` items come from :func:`condition` / :func:`in_list` (or are fixed text without
    values, such as ``"IsActive = TRUE"``); they are joined with AND, each in parentheses.
    ``group_by`` items are field names, checked like every identifier.
    """
    if not fields:
        raise ValueError("SELECT needs at least one field")
    text = f"SELECT {', '.join(_field_expr(f) for f in fields)} FROM {ident(sobject)}"
    if where:
        text += " WHERE " + all_of(*where)
    if group_by:
        text += " GROUP BY " + ", ".join(ident(g) for g in group_by)
    if order_by:
        text += " ORDER BY " + ", ".join(_order_expr(o) for o in order_by)
    if limit is not None:
        if limit < 0:
            raise ValueError("LIMIT must be ≥ 0")
        text += f" LIMIT {int(limit)}"
    return text


def count(sobject: str, *, where: Sequence[str] = ()) -> str:
    text = f"SELECT COUNT() FROM {ident(sobject)}"
    if where:
        text += " WHERE " + " AND ".join(f"({w})" for w in where)
    return text


def chunked_in(field: str, values: Iterable[Value], max_len: int) -> Iterator[str]:
    """``field IN (...)`` clauses, each at most ``max_len`` characters once URL-encoded.

    Duplicates are dropped (first occurrence wins). Raises ValueError if one value alone
    does not fit.
    """
    head = f"{ident(field)} IN ("
    seen: set[str] = set()
    chunk: list[str] = []
    size = _encoded_len(head) + _encoded_len(")")
    for value in values:
        literal = quote(value)
        if literal in seen:
            continue
        seen.add(literal)
        extra = _encoded_len(literal) + (_encoded_len(",") if chunk else 0)
        if chunk and size + extra > max_len:
            yield head + ",".join(chunk) + ")"
            chunk, size = [], _encoded_len(head) + _encoded_len(")")
            extra = _encoded_len(literal)
        if size + extra > max_len:
            raise ValueError(f"one value is too long for an IN list of {max_len} bytes")
        chunk.append(literal)
        size += extra
    if chunk:
        yield head + ",".join(chunk) + ")"


def select_in_chunks(sobject: str, fields: Sequence[str], in_field: str,
                     values: Iterable[Value], *, where: Sequence[str] = (),
                     max_url_bytes: int = MAX_QUERY_URL_BYTES) -> Iterator[str]:
    """Complete queries selecting rows whose ``in_field`` is one of ``values``.

    Each query, URL-encoded, stays under ``max_url_bytes``. No values → no queries.
    """
    base = select(sobject, fields, where=[*where, f"{ident(in_field)} IN ()"])
    room = max_url_bytes - _encoded_len(base)
    if room <= 0:
        raise ValueError("the query is too long even without IN values")
    for clause in chunked_in(in_field, values, room + _encoded_len(f"{in_field} IN ()")):
        yield select(sobject, fields, where=[*where, clause])


def _encoded_len(text: str) -> int:
    return len(url_quote(text, safe=""))


def _field_expr(expr: str) -> str:
    # Aggregates and functions are fixed text from our code, never user values.
    if re.fullmatch(r"(COUNT|COUNT_DISTINCT|MAX|MIN|SUM|AVG)\(\s*[A-Za-z0-9_.]*\s*\)"
                    r"(\s+[A-Za-z][A-Za-z0-9_]*)?", expr):
        return expr
    return ident(expr)


def _order_expr(expr: str) -> str:
    parts = expr.split()
    if not parts or len(parts) > 4 or (parts[1:] and not _order_suffix_ok(parts[1:])):
        raise ValueError(f"bad ORDER BY item: {expr!r}")
    return " ".join([ident(parts[0]), *[p.upper() for p in parts[1:]]])


def _order_suffix_ok(parts: list[str]) -> bool:
    text = " ".join(p.upper() for p in parts)
    return text in {"ASC", "DESC", "NULLS FIRST", "NULLS LAST", "ASC NULLS FIRST",
                    "ASC NULLS LAST", "DESC NULLS FIRST", "DESC NULLS LAST"}
