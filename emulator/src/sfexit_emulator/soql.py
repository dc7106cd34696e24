"""SOQL: tokenizer and recursive-descent parser for the subset the emulator serves.

`parse(text)` returns a `Query` AST; `store_query.py` checks names against the schema and translates
it to SQLite SQL. Supported: field lists with parent paths (`Owner.Profile.Name`), COUNT() /
COUNT(f) / COUNT_DISTINCT / MIN / MAX / SUM / AVG with aliases, FROM, WHERE with = != <> < > <= >=,
IN / NOT IN, LIKE, AND / OR / NOT and parentheses, null, true/false, strings with SOQL escapes,
numbers, date and datetime literals, relative date literals (TODAY, LAST_N_DAYS:n, ...), GROUP BY,
ORDER BY (ASC/DESC, NULLS FIRST/LAST), LIMIT, OFFSET.

Semi-joins `Id IN (SELECT AccountId FROM Contact WHERE ...)`, anti-joins (NOT IN) and
parent-to-child subqueries `(SELECT Id FROM Contacts WHERE ... ORDER BY ... LIMIT n)` are supported.
Not supported (answered MALFORMED_QUERY, an emulator simplification):
TYPEOF, FIELDS(...), HAVING, WITH, USING SCOPE, object aliases, INCLUDES/EXCLUDES.
FOR VIEW / FOR REFERENCE / FOR UPDATE are accepted and change nothing.

Raises `SoqlError(code, detail, pos)`; the caller renders Salesforce's caret message with `caret_message`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

# Re-exported: callers use soql.SoqlError and soql.caret_message.
from sfexit_emulator.soql_tokens import SoqlError as SoqlError
from sfexit_emulator.soql_tokens import Token as Token
from sfexit_emulator.soql_tokens import caret_message as caret_message
from sfexit_emulator.soql_tokens import tokenize as tokenize

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
class ChildQuery:
    """A parent-to-child subquery in the select list: `(SELECT Id FROM Contacts WHERE ...)`."""
    fields: tuple[FieldPath, ...]
    relationship: str
    pos: int
    where: "Condition | None"
    order_by: tuple["OrderItem", ...]
    limit: int | None


@dataclass(frozen=True)
class SelectItem:
    expr: FieldPath | Aggregate | ChildQuery
    alias: str | None


@dataclass(frozen=True)
class Literal:
    kind: str  # string, number, null, boolean, date, datetime, relative
    value: object  # str / int / float / bool / None; relative: (name, n)
    pos: int


@dataclass(frozen=True)
class SemiJoin:
    """`IN (SELECT field FROM Obj [WHERE ...])`: one field, no ORDER BY / LIMIT."""
    field: FieldPath
    sobject: str
    sobject_pos: int
    where: "Condition | None"


@dataclass(frozen=True)
class Comparison:
    field: FieldPath
    op: str  # = != < > <= >= like in notin
    value: Literal | tuple[Literal, ...] | SemiJoin


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
        if self.tok.is_kw("for"):
            # SOQL and SOSL Reference, "FOR VIEW and FOR REFERENCE" and "FOR UPDATE": accepted
            # and answered as the plain query (the emulator keeps no recently-viewed data and no
            # row locks: an emulator simplification).
            self.advance()
            if not self.tok.is_kw("view", "reference", "update"):
                raise self.unexpected()
            self.advance()
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
            return SelectItem(self.child_query(), None)
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

    def child_query(self) -> ChildQuery:
        self.expect_op("(")
        self.expect_kw("select")
        fields = tuple(self.comma_list(self.field_path))
        self.expect_kw("from")
        rel = self.advance()
        if rel.kind != "ident":
            raise self.unexpected(rel)
        where: Condition | None = None
        order_by: tuple[OrderItem, ...] = ()
        limit: int | None = None
        if self.tok.is_kw("where"):
            self.advance()
            where = self.condition()
        if self.tok.is_kw("order"):
            self.advance()
            self.expect_kw("by")
            order_by = tuple(self.comma_list(self.order_item))
        if self.tok.is_kw("limit"):
            self.advance()
            limit = self.integer()
        self.expect_op(")")
        return ChildQuery(fields, rel.text, rel.pos, where, order_by, limit)

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

    def value_list(self) -> tuple[Literal, ...] | SemiJoin:
        self.expect_op("(")
        if self.tok.is_kw("select"):
            return self.semi_join()
        values = tuple(self.comma_list(self.literal))
        self.expect_op(")")
        return values

    def semi_join(self) -> SemiJoin:
        self.advance()
        path = self.field_path()
        self.expect_kw("from")
        obj = self.advance()
        if obj.kind != "ident":
            raise self.unexpected(obj)
        where = None
        if self.tok.is_kw("where"):
            self.advance()
            where = self.condition()
        self.expect_op(")")
        return SemiJoin(path, obj.text, obj.pos, where)

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
