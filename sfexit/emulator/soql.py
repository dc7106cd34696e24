"""SOQL: tokenizer and recursive-descent parser for the subset the emulator serves.

`parse(text)` returns a `Query` AST; `store_query.py` checks names against the schema and translates
it to SQLite SQL. Supported: field lists with parent paths (`Owner.Profile.Name`), COUNT() /
COUNT(f) / COUNT_DISTINCT / MIN / MAX / SUM / AVG with aliases, FROM, WHERE with = != <> < > <= >=,
IN / NOT IN, LIKE, AND / OR / NOT and parentheses, null, true/false, strings with SOQL escapes,
numbers, date and datetime literals, relative date literals (TODAY, LAST_N_DAYS:n, ...), GROUP BY,
ORDER BY (ASC/DESC, NULLS FIRST/LAST), LIMIT, OFFSET.

Not supported (answered MALFORMED_QUERY, an emulator simplification): subqueries and semi-joins,
TYPEOF, FIELDS(...), HAVING, WITH, FOR, USING SCOPE, object aliases, INCLUDES/EXCLUDES.

Raises `SoqlError(code, detail, pos)`; the caller renders Salesforce's caret message with `caret_message`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

T = TypeVar("T")

KEYWORDS = frozenset({
    "select", "from", "where", "and", "or", "not", "in", "like", "null", "true", "false", "group",
    "by", "order", "limit", "offset", "asc", "desc", "nulls", "having", "with", "using", "typeof",
    "includes", "excludes",
})
AGGREGATES = frozenset({"count", "count_distinct", "min", "max", "sum", "avg"})
COMPARISONS = frozenset({"=", "!=", "<>", "<", ">", "<=", ">="})
# Relative date literals: those taking ":n" and those that do not (SOQL date formats reference).
DATE_LITERALS_N = frozenset({"last_n_days", "next_n_days", "n_days_ago", "last_n_weeks",
                             "next_n_weeks", "last_n_months", "next_n_months"})
DATE_LITERALS = frozenset({"yesterday", "today", "tomorrow", "last_week", "this_week", "next_week",
                           "last_month", "this_month", "next_month", "last_90_days",
                           "next_90_days", "this_year", "last_year", "next_year"})


class SoqlError(Exception):
    def __init__(self, code: str, detail: str, pos: int | None) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail
        self.pos = pos


def caret_message(text: str, pos: int, detail: str) -> str:
    """Salesforce's form: the query line, a caret under the column, the row/column, the detail."""
    line_start = text.rfind("\n", 0, pos) + 1
    line_end = text.find("\n", pos)
    line = text[line_start:line_end if line_end >= 0 else len(text)]
    row = text.count("\n", 0, pos) + 1
    col = pos - line_start + 1
    return f"\n{line}\n{' ' * (col - 1)}^\nERROR at Row:{row}:Column:{col}\n{detail}"


@dataclass(frozen=True)
class Token:
    kind: str  # ident, string, number, date, datetime, op, eof
    text: str  # as written (strings: decoded value)
    pos: int

    def is_kw(self, *words: str) -> bool:
        return self.kind == "ident" and self.text.lower() in words


_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f", '"': '"', "'": "'", "\\": "\\"}


def _read_string(text: str, start: int) -> tuple[str, int]:
    out: list[str] = []
    i = start + 1
    while i < len(text):
        ch = text[i]
        if ch == "'":
            return "".join(out), i + 1
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            if nxt in _ESCAPES:
                out.append(_ESCAPES[nxt])
            elif nxt in "%_":
                out.append("\\" + nxt)  # LIKE escapes: kept for the LIKE translation
            else:
                raise SoqlError("MALFORMED_QUERY", f"Invalid string literal '\\{nxt}'. Illegal "
                                "character sequence '\\" + nxt + "' in string literal.", i)
            i += 2
            continue
        out.append(ch)
        i += 1
    raise SoqlError("MALFORMED_QUERY", "unexpected token: <EOF>", len(text))


def _read_number_or_date(text: str, i: int) -> tuple[Token, int]:
    j = i
    if text[j] in "+-":
        j += 1
    while j < len(text) and (text[j].isdigit() or text[j] == "."):
        j += 1
    # 2024-01-31 or 2024-01-31T09:15:00(.000)(Z|+hh:mm|+hhmm)
    if j - i == 4 and text[i:j].isdigit() and text[j:j + 1] == "-":
        k = j
        while k < len(text) and (text[k].isalnum() or text[k] in "-:.+"):
            k += 1
        lit = text[i:k]
        kind = "datetime" if "T" in lit.upper() else "date"
        return Token(kind, lit, i), k
    return Token("number", text[i:j], i), j


def tokenize(text: str) -> list[Token]:
    tokens: list[Token] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch.isspace():
            i += 1
        elif ch == "'":
            value, i2 = _read_string(text, i)
            tokens.append(Token("string", value, i))
            i = i2
        elif ch.isdigit() or (ch in "+-" and i + 1 < n and text[i + 1].isdigit()
                              and (not tokens or tokens[-1].kind == "op")):
            tok, i = _read_number_or_date(text, i)
            tokens.append(tok)
        elif ch.isalpha() or ch == "_":
            j = i
            while j < n and (text[j].isalnum() or text[j] == "_"):
                j += 1
            tokens.append(Token("ident", text[i:j], i))
            i = j
        elif text.startswith(("!=", "<>", "<=", ">="), i):
            tokens.append(Token("op", text[i:i + 2], i))
            i += 2
        elif ch in "=<>(),.:":
            tokens.append(Token("op", ch, i))
            i += 1
        else:
            raise SoqlError("MALFORMED_QUERY", f"unexpected token: '{ch}'", i)
    tokens.append(Token("eof", "<EOF>", n))
    return tokens


@dataclass(frozen=True)
class FieldPath:
    parts: tuple[str, ...]  # as written
    pos: int

    @property
    def text(self) -> str:
        return ".".join(self.parts)


@dataclass(frozen=True)
class Aggregate:
    func: str  # lower case
    arg: FieldPath | None
    pos: int

    @property
    def text(self) -> str:
        return f"{self.func.upper()}({self.arg.text if self.arg else ''})"


@dataclass(frozen=True)
class SelectItem:
    expr: FieldPath | Aggregate
    alias: str | None


@dataclass(frozen=True)
class Literal:
    kind: str  # string, number, null, boolean, date, datetime, relative
    value: object  # str / int / float / bool / None; relative: (name, n)
    pos: int


@dataclass(frozen=True)
class Comparison:
    field: FieldPath
    op: str  # = != < > <= >= like in notin
    value: Literal | tuple[Literal, ...]


@dataclass(frozen=True)
class BoolOp:
    op: str  # and / or
    items: tuple["Condition", ...]


@dataclass(frozen=True)
class Not:
    item: "Condition"


Condition = Comparison | BoolOp | Not


@dataclass(frozen=True)
class OrderItem:
    expr: FieldPath | Aggregate
    descending: bool
    nulls_last: bool | None


@dataclass
class Query:
    text: str
    select: list[SelectItem]
    count_only: bool
    sobject: str
    sobject_pos: int
    where: Condition | None = None
    group_by: list[FieldPath] = field(default_factory=list)
    order_by: list[OrderItem] = field(default_factory=list)
    limit: int | None = None
    offset: int | None = None


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens = tokenize(text)
        self.i = 0

    @property
    def tok(self) -> Token:
        return self.tokens[self.i]

    def advance(self) -> Token:
        tok = self.tokens[self.i]
        self.i += 1
        return tok

    def unexpected(self, tok: Token | None = None) -> SoqlError:
        # UNCONF: the end-of-query form `unexpected token: <EOF>` (errors.md has the quoted form only).
        tok = tok or self.tok
        detail = "unexpected token: <EOF>" if tok.kind == "eof" else f"unexpected token: '{tok.text}'"
        return SoqlError("MALFORMED_QUERY", detail, tok.pos)

    def expect_kw(self, *words: str) -> Token:
        if not self.tok.is_kw(*words):
            raise self.unexpected()
        return self.advance()

    def expect_op(self, op: str) -> Token:
        if self.tok.kind != "op" or self.tok.text != op:
            raise self.unexpected()
        return self.advance()

    def at_op(self, op: str) -> bool:
        return self.tok.kind == "op" and self.tok.text == op

    def parse(self) -> Query:
        self.expect_kw("select")
        select, count_only = self.select_list()
        self.expect_kw("from")
        obj = self.advance()
        if obj.kind != "ident":  # keywords are fine here: `FROM Group` is an object
            raise self.unexpected(obj)
        query = Query(self.text, select, count_only, obj.text, obj.pos)
        if self.tok.is_kw("where"):
            self.advance()
            query.where = self.condition()
        if self.tok.is_kw("group"):
            self.advance()
            self.expect_kw("by")
            query.group_by = self.comma_list(self.field_path)
        if self.tok.is_kw("order"):
            self.advance()
            self.expect_kw("by")
            query.order_by = self.comma_list(self.order_item)
        if self.tok.is_kw("limit"):
            self.advance()
            query.limit = self.integer()
        if self.tok.is_kw("offset"):
            self.advance()
            query.offset = self.integer()
        if self.tok.kind != "eof":
            raise self.unexpected()
        return query

    def comma_list(self, item: Callable[[], T]) -> list[T]:
        items = [item()]
        while self.at_op(","):
            self.advance()
            items.append(item())
        return items

    def integer(self) -> int:
        tok = self.advance()
        if tok.kind != "number" or not tok.text.isdigit():
            raise self.unexpected(tok)
        return int(tok.text)

    def select_list(self) -> tuple[list[SelectItem], bool]:
        items = self.comma_list(self.select_item)
        count_only = any(isinstance(s.expr, Aggregate) and s.expr.func == "count"
                         and s.expr.arg is None for s in items)
        if count_only and len(items) > 1:
            bad = next(s for s in items if isinstance(s.expr, Aggregate) and s.expr.arg is None)
            assert isinstance(bad.expr, Aggregate)
            raise SoqlError("MALFORMED_QUERY", "COUNT() must be the only element in the SELECT list.",
                            bad.expr.pos)
        return items, count_only

    def select_item(self) -> SelectItem:
        tok = self.tok
        if self.at_op("("):
            # Subqueries are real SOQL but outside the emulator's subset.
            raise self.unexpected()
        if tok.kind != "ident" or tok.text.lower() in KEYWORDS - {"count"}:
            raise self.unexpected()
        nxt = self.tokens[self.i + 1]
        if nxt.kind == "op" and nxt.text == "(":
            if tok.text.lower() not in AGGREGATES:
                # FIELDS(ALL), FORMAT(), toLabel() ... are emulator simplifications: refused.
                raise self.unexpected(nxt)
            expr: FieldPath | Aggregate = self.aggregate()
            alias = None
            if self.tok.kind == "ident" and self.tok.text.lower() not in KEYWORDS:
                alias = self.advance().text
            return SelectItem(expr, alias)
        return SelectItem(self.field_path(), None)

    def aggregate(self) -> Aggregate:
        name = self.advance()
        self.expect_op("(")
        arg = None
        if not self.at_op(")"):
            arg = self.field_path()
        elif name.text.lower() != "count":
            raise self.unexpected()
        self.expect_op(")")
        return Aggregate(name.text.lower(), arg, name.pos)

    def field_path(self) -> FieldPath:
        first = self.advance()
        # `Group.Name` (GroupMember's parent) starts with a keyword; a path never does otherwise.
        keyword_path = first.text.lower() == "group" and self.at_op(".")
        if first.kind != "ident" or (first.text.lower() in KEYWORDS and not keyword_path):
            raise self.unexpected(first)
        parts = [first.text]
        while self.at_op("."):
            self.advance()
            part = self.advance()
            if part.kind != "ident":
                raise self.unexpected(part)
            parts.append(part.text)
        return FieldPath(tuple(parts), first.pos)

    def order_item(self) -> OrderItem:
        nxt = self.tokens[self.i + 1]
        if self.tok.kind == "ident" and nxt.kind == "op" and nxt.text == "(":
            if self.tok.text.lower() not in AGGREGATES:
                raise self.unexpected(nxt)
            expr: FieldPath | Aggregate = self.aggregate()
        else:
            expr = self.field_path()
        descending = False
        if self.tok.is_kw("asc", "desc"):
            descending = self.advance().text.lower() == "desc"
        nulls_last = None
        if self.tok.is_kw("nulls"):
            self.advance()
            nulls_last = self.expect_kw("first", "last").text.lower() == "last"
        return OrderItem(expr, descending, nulls_last)

    # WHERE: SOQL refuses AND and OR mixed at one level without parentheses.
    def condition(self) -> Condition:
        first = self.unary()
        if not self.tok.is_kw("and", "or"):
            return first
        op = self.tok.text.lower()
        items = [first]
        while self.tok.is_kw("and", "or"):
            if self.tok.text.lower() != op:
                raise self.unexpected()
            self.advance()
            items.append(self.unary())
        return BoolOp(op, tuple(items))

    def unary(self) -> Condition:
        if self.tok.is_kw("not"):
            self.advance()
            return Not(self.unary())
        if self.at_op("("):
            self.advance()
            inner = self.condition()
            self.expect_op(")")
            return inner
        return self.comparison()

    def comparison(self) -> Condition:
        path = self.field_path()
        tok = self.tok
        if tok.kind == "op" and tok.text in COMPARISONS:
            self.advance()
            op = "!=" if tok.text == "<>" else tok.text
            return Comparison(path, op, self.literal())
        if tok.is_kw("like"):
            self.advance()
            return Comparison(path, "like", self.literal())
        if tok.is_kw("not"):
            self.advance()
            self.expect_kw("in")
            return Comparison(path, "notin", self.value_list())
        if tok.is_kw("in"):
            self.advance()
            return Comparison(path, "in", self.value_list())
        raise self.unexpected()

    def value_list(self) -> tuple[Literal, ...]:
        self.expect_op("(")
        if self.tok.is_kw("select"):
            raise self.unexpected()  # semi-join: outside the subset
        values = tuple(self.comma_list(self.literal))
        self.expect_op(")")
        return values

    def literal(self) -> Literal:
        tok = self.advance()
        if tok.kind == "string":
            return Literal("string", tok.text, tok.pos)
        if tok.kind == "number":
            value: float | int = float(tok.text) if "." in tok.text else int(tok.text)
            return Literal("number", value, tok.pos)
        if tok.kind in ("date", "datetime"):
            return Literal(tok.kind, tok.text, tok.pos)
        if tok.kind == "ident":
            word = tok.text.lower()
            if word == "null":
                return Literal("null", None, tok.pos)
            if word in ("true", "false"):
                return Literal("boolean", word == "true", tok.pos)
            if word in DATE_LITERALS:
                return Literal("relative", (word, 0), tok.pos)
            if word in DATE_LITERALS_N:
                self.expect_op(":")
                return Literal("relative", (word, self.integer()), tok.pos)
        raise self.unexpected(tok)


def parse(text: str) -> Query:
    """Parse SOQL text. Raises SoqlError (MALFORMED_QUERY) with the position of the bad token."""
    return _Parser(text).parse()
