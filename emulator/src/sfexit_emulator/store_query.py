"""SOQL AST -> SQLite SQL, checked against the schema with Salesforce's errors.

`compile_query` resolves every name (case-insensitive, canonical casing out), turns parent paths
into LEFT JOINs on the parent's Id (polymorphic parents join each target and COALESCE), binds every
literal as a parameter, and keeps SOQL's semantics where SQL differs:
  - `!=`, NOT IN and NOT also match NULLs (SOQL compares NULL as a value);
  - text comparisons ignore case (COLLATE NOCASE), as SOQL does;
  - relative date literals are ranges over UTC days (the emulated org's time zone is UTC).
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import date, datetime, time, timedelta, timezone

from sfexit_emulator import soql
from sfexit_emulator.ids import normalize_id
from sfexit_emulator.schema import FieldDef, Schema, SObjectDef
from sfexit_emulator.store_db import format_datetime, parse_datetime, quote
from sfexit_emulator.store_fault import SalesforceFault

_NO_COLUMN = ("No such column '{f}' on entity '{o}'. If you are attempting to use a custom field, be "
              "sure to append the '__c' after the custom field name. Please reference your WSDL or "
              "the describe call for the appropriate names.")
_NO_TYPE = ("sObject type '{o}' is not supported. If you are attempting to use a custom object, be "
            "sure to append the '__c' after the entity name. Please reference your WSDL or the "
            "describe call for the appropriate names.")
_NO_RELATIONSHIP = ("Didn't understand relationship '{r}' in field path. If you are attempting to "
                    "use a custom relationship, be sure to append the '__r' after the custom "
                    "relationship name. Please reference your WSDL or the describe call for the "
                    "appropriate names.")
_CDL_RESTRICTION = ("Implementation restriction: ContentDocumentLink requires a filter by a single Id "
                    "on ContentDocumentId or LinkedEntityId using the equals operator or multiple "
                    "Id's using the IN operator.")
# Fields of the "Name" pseudo-object, the only ones a polymorphic parent (Case.Owner, Task.Who,
# Task.What) exposes (Object Reference, "Name"); others: "No such column 'X' on entity 'Name'".
# Those no target of the emulated org stores answer null (MiddleName, RecordTypeId...); NameOrAlias
# is the Name.
_NAME_ONLY_FIELDS = {"username": ("Username", "string"), "nameoralias": ("NameOrAlias", "string"),
                     "middlename": ("MiddleName", "string"), "recordtypeid": ("RecordTypeId", "reference"),
                     "lastvieweddate": ("LastViewedDate", "datetime"),
                     "lastreferenceddate": ("LastReferencedDate", "datetime")}
NAME_OBJECT_FIELDS = frozenset({"id", "alias", "email", "firstname", "isactive", "lastname", "name",
                                "phone", "profileid", "title", "type", "userroleid", *_NAME_ONLY_FIELDS})
_TEXT_TYPES = frozenset({"string", "textarea", "picklist", "multipicklist", "combobox", "email",
                         "phone", "url", "encryptedstring"})
_NUMBER_TYPES = frozenset({"int", "double", "currency", "percent"})
_COUNT_FIELD = FieldDef(name="expr", type="int", label="expr", nillable=False, digits=9)


def fault(code: str, text: str, pos: int | None, detail: str) -> SalesforceFault:
    message = soql.caret_message(text, pos, detail) if pos is not None else detail
    return SalesforceFault(400, code, message)


@dataclass
class Join:
    alias: str
    targets: list[tuple[SObjectDef, str]]  # (object, table alias); several when polymorphic
    id_sql: str
    polymorphic: bool = False  # the parent is the "Name" pseudo-object (Owner of Case, Who, What)


@dataclass
class Resolved:
    """A field path resolved: the SQL of its value, its describe and the relationship hops."""
    sql: str
    field: FieldDef
    names: tuple[str, ...]  # canonical: relationship names then the field name
    hops: tuple[Join, ...]
    components: tuple[tuple[str, str], ...] = ()  # compound: (component field name, sql)


@dataclass
class Column:
    """One selected column: `name` is the canonical path, the alias or exprN."""
    name: str
    field: FieldDef
    aggregate: bool = False
    display: str = ""
    resolved: Resolved | None = None
    sql_index: int = -1
    # compound columns: (component field name, index in the SQL row)
    components: list[tuple[str, int]] = dc_field(default_factory=list)
    # index in the SQL row of each relationship hop's parent Id (None when the parent is null)
    hop_indices: list[int] = dc_field(default_factory=list)
    child: "ChildPlan | None" = None  # a parent-to-child subquery (store_subquery.py)


@dataclass
class ChildPlan:
    """How to fetch one subquery's records for a page of parents: `sql` has CHILD_IDS_MARK where
    the parents' ids go (`fk IN (...)`), then `params`; row[fk_index] is the parent id."""
    entity: str
    relationship: str
    columns: list["Column"]
    sql: str
    params: list[object]
    fk_index: int
    limit: int | None


CHILD_IDS_MARK = "/*parent ids*/"


@dataclass
class CompiledQuery:
    obj: SObjectDef
    columns: list[Column]
    sql: str
    params: list[object]
    count_sql: str
    count_params: list[object]
    is_aggregate: bool
    is_count_only: bool
    limit: int | None
    offset: int | None
    group_by: bool
    joins: dict[tuple[str, ...], Join] = dc_field(default_factory=dict)


class _Compiler:
    def __init__(self, schema: Schema, query: soql.Query, obj: SObjectDef, today: date,
                 prefix: str = "") -> None:
        self.prefix = prefix  # table aliases of a semi-join's subquery must not clash with ours
        self.subqueries = 0
        self.schema = schema
        self.q = query
        self.obj = obj
        self.today = today
        self.joins: dict[tuple[str, ...], Join] = {}
        self.join_sql: list[str] = []
        self.params: list[object] = []

    def err(self, code: str, pos: int | None, detail: str) -> SalesforceFault:
        return fault(code, self.q.text, pos, detail)

    # --- names ---------------------------------------------------------------------------------
    def resolve(self, path: soql.FieldPath) -> Resolved:
        parts = list(path.parts)
        if len(parts) > 1 and parts[0].lower() == self.obj.name.lower() \
                and parts[0].lower() not in self.obj.relationships:
            parts = parts[1:]  # `Account.Name` FROM Account: the object name as a prefix
        current: list[tuple[SObjectDef, str]] = [(self.obj, f"{self.prefix}t0")]
        names: list[str] = []
        hops: list[Join] = []
        for rel in parts[:-1]:
            if hops and hops[-1].polymorphic:
                raise self.err("INVALID_FIELD", path.pos, _NO_RELATIONSHIP.format(r=rel))
            owner, alias = current[0]
            ref = owner.relationships.get(rel.lower())
            if ref is None:
                raise self.err("INVALID_FIELD", path.pos, _NO_RELATIONSHIP.format(r=rel))
            names.append(ref.relationship_name or rel)
            join = self.join(tuple(names), ref, alias)
            hops.append(join)
            current = join.targets
        return self.terminal(path, parts[-1], current, tuple(names), tuple(hops))

    def terminal(self, path: soql.FieldPath, name: str, current: list[tuple[SObjectDef, str]],
                 names: tuple[str, ...], hops: tuple[Join, ...]) -> Resolved:
        polymorphic = bool(hops) and hops[-1].polymorphic
        if polymorphic and name.lower() == "type":
            return self.polymorphic_type(current, names, hops)
        stored = "Name" if polymorphic and name.lower() == "nameoralias" else name
        found = [(o, a, o.field(stored)) for o, a in current if o.field(stored) is not None]
        if polymorphic and name.lower() not in NAME_OBJECT_FIELDS:
            found = []  # a polymorphic parent shows only the Name object's fields
        if polymorphic and name.lower() in _NAME_ONLY_FIELDS:
            canonical, ftype = _NAME_ONLY_FIELDS[name.lower()]
            synthetic = FieldDef(name=canonical, type=ftype, label=canonical, length=255 if ftype == "string" else 18)
            exprs = [f"{a}.{quote(f.name)}" for _, a, f in found if f is not None]
            sql = "NULL" if not exprs else exprs[0] if len(exprs) == 1 else f"COALESCE({', '.join(exprs)})"
            return Resolved(sql, synthetic, names + (canonical,), hops)
        if not found:
            entity = "Name" if polymorphic else current[0][0].name
            raise self.err("INVALID_FIELD", path.pos, _NO_COLUMN.format(f=name, o=entity))
        fdef = found[0][2]
        assert fdef is not None
        if fdef.is_compound:
            owner, alias, _ = found[0]
            comps = tuple((c.name, f"{alias}.{quote(c.name)}") for c in owner.components(fdef.name))
            return Resolved("NULL", fdef, names + (fdef.name,), hops, comps)
        exprs = [f"{a}.{quote(fdef.name)}" for _, a, _ in found]
        sql = exprs[0] if len(exprs) == 1 else f"COALESCE({', '.join(exprs)})"
        return Resolved(sql, fdef, names + (fdef.name,), hops)

    def polymorphic_type(self, current: list[tuple[SObjectDef, str]], names: tuple[str, ...],
                         hops: tuple[Join, ...]) -> Resolved:
        """`Owner.Type` on a polymorphic relationship: the parent's object ('User', 'Queue')."""
        whens = []
        for obj, alias in current:
            value = f"{alias}.\"Type\"" if obj.name == "Group" else f"'{obj.name}'"
            whens.append(f"WHEN {alias}.\"Id\" IS NOT NULL THEN {value}")
        fdef = FieldDef(name="Type", type="picklist", label="Type", length=255,
                        picklist=tuple(o.name for o, _ in current))
        return Resolved(f"(CASE {' '.join(whens)} END)", fdef, names + ("Type",), hops)

    def join(self, key: tuple[str, ...], ref: FieldDef, parent_alias: str) -> Join:
        if key in self.joins:
            return self.joins[key]
        targets = []
        for name in ref.reference_to:
            target = self.schema.get(name)
            if target is not None and target.key_prefix:
                alias = f"{self.prefix}j{len(self.join_sql) + 1}"
                self.join_sql.append(f"LEFT JOIN {quote(target.name)} AS {alias} "
                                     f"ON {alias}.\"Id\" = {parent_alias}.{quote(ref.name)}")
                targets.append((target, alias))
        if not targets:
            raise self.err("INVALID_FIELD", None, _NO_RELATIONSHIP.format(r=ref.relationship_name))
        ids = [f'{a}."Id"' for _, a in targets]
        join = Join(targets[0][1], targets, ids[0] if len(ids) == 1 else f"COALESCE({', '.join(ids)})",
                    polymorphic=ref.polymorphic or len(ref.reference_to) > 1)
        self.joins[key] = join
        return join

    # --- WHERE ---------------------------------------------------------------------------------
    def condition(self, cond: soql.Condition) -> str:
        if isinstance(cond, soql.BoolOp):
            joiner = " AND " if cond.op == "and" else " OR "
            return "(" + joiner.join(self.condition(c) for c in cond.items) + ")"
        if isinstance(cond, soql.Not):
            return f"(NOT COALESCE({self.condition(cond.item)}, 0))"
        return self.comparison(cond)

    def comparison(self, c: soql.Comparison) -> str:
        res = self.resolve(c.field)
        f = res.field
        if f.is_compound or f.type == "base64" or (f.type == "textarea" and f.length > 255):
            # UNCONF: text from recollection ("field 'X' can not be filtered in a query call").
            raise self.err("INVALID_FIELD", c.field.pos,
                           f"field '{f.name}' can not be filtered in a query call")
        if isinstance(c.value, soql.SemiJoin):
            return self.semi_join(res, c.op, c.value)
        if c.op in ("in", "notin"):
            assert isinstance(c.value, tuple)
            return self.in_list(res, c.op, c.value)
        assert isinstance(c.value, soql.Literal)
        lit = c.value
        if c.op == "like":
            if f.type in ("id", "reference"):
                raise self.err("INVALID_QUERY_FILTER_OPERATOR", c.field.pos, "invalid operator on id field")
            if lit.kind != "string":
                raise self.err("MALFORMED_QUERY", lit.pos, "Invalid operator on the field")
            self.params.append(lit.value)
            return f"({res.sql} LIKE ? ESCAPE '\\')"
        if lit.kind == "null":
            if c.op not in ("=", "!="):
                raise self.err("MALFORMED_QUERY", lit.pos, "unexpected token: 'null'")
            return f"({res.sql} IS {'NOT ' if c.op == '!=' else ''}NULL)"
        if lit.kind == "relative":
            return self.date_range(res, c.op, lit)
        value = self.value(f, lit)
        self.params.append(value)
        collate = " COLLATE NOCASE" if f.type in _TEXT_TYPES else ""
        if c.op == "!=":
            return f"({res.sql} IS NULL OR {res.sql} != ?{collate})"
        return f"({res.sql} {c.op} ?{collate})"

    def semi_join(self, res: Resolved, op: str, sj: soql.SemiJoin) -> str:
        """`f IN (SELECT g FROM X WHERE ...)`: both sides ids (SOQL's semi-join rule)."""
        target = self.schema.get(sj.sobject)
        if target is None or not target.key_prefix:
            raise self.err("INVALID_TYPE", sj.sobject_pos, _NO_TYPE.format(o=sj.sobject))
        self.subqueries += 1
        inner = _Compiler(self.schema, self.q, target, self.today, prefix=f"{self.prefix}s{self.subqueries}_")
        picked = inner.resolve(sj.field)
        if res.field.type not in ("id", "reference") or picked.field.type not in ("id", "reference"):
            # UNCONF: text; Salesforce only allows id fields on both sides of a semi-join.
            raise self.err("MALFORMED_QUERY", sj.field.pos, "Invalid semi join: both fields must be Id fields")
        where = [inner.condition(sj.where)] if sj.where is not None else []
        where += [f'{inner.prefix}t0."IsDeleted" = 0', f"{picked.sql} IS NOT NULL"]
        sub_sql = (f"SELECT {picked.sql} FROM {quote(target.name)} AS {inner.prefix}t0 "
                   f"{' '.join(inner.join_sql)} WHERE {' AND '.join(where)}")
        self.params.extend(inner.params)
        if op == "in":
            return f"({res.sql} IN ({sub_sql}))"
        if op == "notin":
            return f"({res.sql} IS NULL OR {res.sql} NOT IN ({sub_sql}))"
        raise self.err("MALFORMED_QUERY", sj.field.pos, "unexpected token: 'SELECT'")

    def in_list(self, res: Resolved, op: str, values: tuple[soql.Literal, ...]) -> str:
        concrete = [v for v in values if v.kind != "null"]
        has_null = len(concrete) < len(values)
        marks = []
        for lit in concrete:
            if lit.kind == "relative":
                raise self.err("MALFORMED_QUERY", lit.pos, "unexpected token: ':'")
            self.params.append(self.value(res.field, lit))
            marks.append("?")
        collate = " COLLATE NOCASE" if res.field.type in _TEXT_TYPES else ""
        inside = f"{res.sql}{collate} IN ({', '.join(marks)})" if marks else "0"
        if op == "in":
            return f"({inside} OR {res.sql} IS NULL)" if has_null else f"({inside})"
        null_part = f"{res.sql} IS NOT NULL AND " if has_null else f"{res.sql} IS NULL OR "
        return f"({null_part}NOT ({inside}))" if marks else f"({res.sql} IS NOT NULL)"

    def value(self, f: FieldDef, lit: soql.Literal) -> object:
        """A literal in the field's stored form, or Salesforce's type-mismatch error."""
        kind, v = lit.kind, lit.value
        if f.type in ("id", "reference"):
            if kind != "string":
                raise self.type_error(f, lit, "id")
            assert isinstance(v, str)
            norm = normalize_id(v)
            if norm is None:
                # UNCONF: errors.md has no capture; Salesforce answers `invalid ID field: <v>`.
                raise self.err("INVALID_QUERY_FILTER_OPERATOR", lit.pos, f"invalid ID field: {v}")
            return norm
        if f.type == "boolean":
            if kind != "boolean":
                raise self.type_error(f, lit, "boolean")
            return 1 if v else 0
        if f.type in _NUMBER_TYPES:
            if kind != "number":
                raise self.type_error(f, lit, "integer" if f.type == "int" else "double")
            return v
        if f.type == "date":
            if kind != "date":
                raise self.type_error(f, lit, "date")
            return v
        if f.type == "datetime":
            dt = parse_datetime(str(v)) if kind == "datetime" else None
            if dt is None:
                raise self.type_error(f, lit, "dateTime")
            return format_datetime(dt)
        if kind != "string":
            raise self.type_error(f, lit, "string")
        return v

    def type_error(self, f: FieldDef, lit: soql.Literal, expected: str) -> SalesforceFault:
        # UNCONF (code): Salesforce's text for a literal of the wrong type; code chosen as
        # INVALID_QUERY_FILTER_OPERATOR, the code it uses for filter-value errors.
        quoted = "should be enclosed in quotes" if expected in ("string", "id") \
            else "should not be enclosed in quotes"
        return self.err("INVALID_QUERY_FILTER_OPERATOR", lit.pos,
                        f"value of filter criterion for field '{f.name}' must be of type {expected} "
                        f"and {quoted}")

    def date_range(self, res: Resolved, op: str, lit: soql.Literal) -> str:
        if res.field.type not in ("date", "datetime"):
            raise self.type_error(res.field, lit, res.field.type)
        assert isinstance(lit.value, tuple)
        name, n = lit.value
        start, end = relative_range(name, n, self.today)
        if res.field.type == "datetime":
            lo: str = format_datetime(datetime.combine(start, time(), timezone.utc))
            hi: str = format_datetime(datetime.combine(end, time(), timezone.utc))
        else:
            lo, hi = start.isoformat(), end.isoformat()
        s = res.sql
        forms = {"=": (f"({s} >= ? AND {s} < ?)", [lo, hi]),
                 "!=": (f"({s} IS NULL OR {s} < ? OR {s} >= ?)", [lo, hi]),
                 "<": (f"({s} < ?)", [lo]), "<=": (f"({s} < ?)", [hi]),
                 ">": (f"({s} >= ?)", [hi]), ">=": (f"({s} >= ?)", [lo])}
        sql, params = forms[op]
        self.params.extend(params)
        return sql


def relative_range(name: str, n: int, today: date) -> tuple[date, date]:
    """[start, end) of a relative date literal. Weeks start on Sunday (en_US locale)."""
    day = timedelta(days=1)
    week_start = today - timedelta(days=(today.weekday() + 1) % 7)
    month_start = today.replace(day=1)

    def add_months(d: date, k: int) -> date:
        m = d.month - 1 + k
        return date(d.year + m // 12, m % 12 + 1, 1)

    ranges = {
        "yesterday": (today - day, today), "today": (today, today + day),
        "tomorrow": (today + day, today + 2 * day),
        "last_week": (week_start - 7 * day, week_start), "this_week": (week_start, week_start + 7 * day),
        "next_week": (week_start + 7 * day, week_start + 14 * day),
        "last_month": (add_months(month_start, -1), month_start),
        "this_month": (month_start, add_months(month_start, 1)),
        "next_month": (add_months(month_start, 1), add_months(month_start, 2)),
        "last_90_days": (today - 90 * day, today + day), "next_90_days": (today + day, today + 91 * day),
        "this_year": (date(today.year, 1, 1), date(today.year + 1, 1, 1)),
        "last_year": (date(today.year - 1, 1, 1), date(today.year, 1, 1)),
        "next_year": (date(today.year + 1, 1, 1), date(today.year + 2, 1, 1)),
        "last_n_days": (today - n * day, today + day), "next_n_days": (today + day, today + (n + 1) * day),
        "n_days_ago": (today - n * day, today - (n - 1) * day),
        "last_n_weeks": (week_start - 7 * n * day, week_start),
        "next_n_weeks": (week_start + 7 * day, week_start + 7 * (n + 1) * day),
        "last_n_months": (add_months(month_start, -n), month_start),
        "next_n_months": (add_months(month_start, 1), add_months(month_start, n + 1)),
    }
    return ranges[name]
