"""Compile a whole SOQL query: select list, aggregates, GROUP BY, ORDER BY, paging, object rules.

Object rules applied here (export-pitfalls.md A/B): ContentDocumentLink needs a filter on Id,
ContentDocumentId or LinkedEntityId (unless the user has Query All Files); ActivityHistory is not
queryable on its own; unknown objects (ScratchOrgInfo in a non-Dev-Hub org) are INVALID_TYPE.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import date

from sfexit_emulator import soql
from sfexit_emulator.schema import NOT_QUERYABLE_ALONE, FieldDef, Schema, SObjectDef
from sfexit_emulator.store_db import quote
from sfexit_emulator.store_fault import SalesforceFault
from sfexit_emulator.store_subquery import compile_child
from sfexit_emulator.store_query import (_CDL_RESTRICTION, _COUNT_FIELD, _NO_TYPE, _TEXT_TYPES,
                                         Column, CompiledQuery, _Compiler, fault)

# UNCONF: texts not in errors.md, written as Salesforce words them to our recollection:
# "duplicate field selected: X", "Field must be grouped or aggregated: X", "field 'X' can not be
# grouped/sorted in a query call", "Maximum SOQL offset allowed is 2000" (NUMBER_OUTSIDE_VALID_RANGE),
# "field X does not support aggregate operator SUM".
_CDL_FILTER_FIELDS = frozenset({"id", "contentdocumentid", "linkedentityid"})
MAX_OFFSET = 2000
# UNCONF (errors.md §9): Salesforce's texts for these Bulk refusals are not captured.
_BULK_AGGREGATE = "Aggregate queries are not supported by Bulk Query"
_BULK_OFFSET = "OFFSET is not supported by Bulk Query"
_BULK_BASE64 = "Selecting base64 data not supported in Bulk Query"
_BULK_SUBQUERY = "Aggregate Relationships not supported in Bulk Query"


def compile_query(schema: Schema, text: str, *, today: date, include_deleted: bool,
                  query_all_files: bool = False, hidden: frozenset[str] = frozenset()
                  ) -> CompiledQuery:
    """Raises SalesforceFault (400) with Salesforce's code and message. ``hidden``: objects
    the running user may not see, refused like an unknown object (errors.md §6: INVALID_TYPE
    "also when the user lacks object access")."""
    try:
        q = soql.parse(text)
    except soql.SoqlError as exc:
        raise fault(exc.code, text, exc.pos, exc.detail) from None
    obj = resolve_object(schema, q)
    if obj.name in hidden:
        raise fault("INVALID_TYPE", q.text, q.sobject_pos, _NO_TYPE.format(o=q.sobject))
    c = _Compiler(schema, q, obj, today)
    where = [c.condition(q.where)] if q.where is not None else []
    if obj.name == "ContentDocumentLink" and not query_all_files and not _cdl_filtered(q.where):
        raise SalesforceFault(400, "MALFORMED_QUERY", _CDL_RESTRICTION)
    if not include_deleted:
        where.append('t0."IsDeleted" = 0')
    where_sql = f" WHERE {' AND '.join(where)}" if where else ""
    from_sql = f"FROM {quote(obj.name)} AS t0"
    count_from = f"{from_sql} {' '.join(c.join_sql)}{where_sql}"
    where_params = list(c.params)
    if q.offset is not None and q.offset > MAX_OFFSET:
        raise SalesforceFault(400, "NUMBER_OUTSIDE_VALID_RANGE", f"Maximum SOQL offset allowed is {MAX_OFFSET}")
    aggregate = bool(q.group_by) or any(isinstance(s.expr, soql.Aggregate) for s in q.select)
    if q.count_only:
        columns: list[Column] = []
        sql_cols = ["1"]
        group_sql: list[str] = []
    elif aggregate:
        columns, sql_cols, group_sql = _aggregate_select(c, q)
    else:
        columns, sql_cols = _plain_select(c, q.select)
        group_sql = []
    order_sql = _order_by(c, q.order_by, aggregate)
    body = f"{from_sql} {' '.join(c.join_sql)}{where_sql}"
    if group_sql:
        body += " GROUP BY " + ", ".join(group_sql)
    paging = ""
    if q.limit is not None or q.offset is not None:
        paging = f" LIMIT {q.limit if q.limit is not None else -1} OFFSET {q.offset or 0}"
    sql = f"SELECT {', '.join(sql_cols)} {body}{' ORDER BY ' + ', '.join(order_sql) if order_sql else ''}{paging}"
    if q.count_only and group_sql:
        count_sql = f"SELECT COUNT(*) FROM (SELECT 1 {body})"
    else:
        count_sql = f"SELECT COUNT(*) {count_from}"
    return CompiledQuery(obj=obj, columns=columns, sql=sql, params=where_params, count_sql=count_sql,
                         count_params=list(where_params), is_aggregate=aggregate and not q.count_only,
                         is_count_only=q.count_only, limit=q.limit, offset=q.offset,
                         group_by=bool(q.group_by), joins=c.joins)


def resolve_object(schema: Schema, q: soql.Query) -> SObjectDef:
    obj = schema.get(q.sobject)
    if obj is None:
        raise fault("INVALID_TYPE", q.text, q.sobject_pos, _NO_TYPE.format(o=q.sobject))
    if obj.name in NOT_QUERYABLE_ALONE or not obj.key_prefix or not obj.queryable:
        raise SalesforceFault(400, "INVALID_TYPE_FOR_OPERATION",
                              f"entity type {obj.name} does not support query")
    return obj


def _cdl_filtered(where: soql.Condition | None) -> bool:
    """True when a top-level conjunct is `= 'id'` or `IN (...)` on an allowed Id field."""
    if where is None:
        return False
    conjuncts = where.items if isinstance(where, soql.BoolOp) and where.op == "and" else (where,)
    for cond in conjuncts:
        if isinstance(cond, soql.Comparison) and cond.op in ("=", "in") \
                and cond.field.parts[-1].lower() in _CDL_FILTER_FIELDS and len(cond.field.parts) == 1:
            return True
    return False


def _plain_select(c: _Compiler, items: Sequence[soql.SelectItem]) -> tuple[list[Column], list[str]]:
    sql_cols = [f'{c.prefix}t0."Id"']
    hop_index: dict[str, int] = {}
    columns: list[Column] = []
    seen: set[tuple[str, ...]] = set()
    for item in items:
        if isinstance(item.expr, soql.ChildQuery):
            columns.append(compile_child(c, item.expr, _plain_select, _order_by))
            continue
        assert isinstance(item.expr, soql.FieldPath)
        res = c.resolve(item.expr)
        key = tuple(n.lower() for n in res.names)
        if key in seen:
            raise c.err("MALFORMED_QUERY", item.expr.pos, f"duplicate field selected: {'.'.join(res.names)}")
        seen.add(key)
        col = Column(name=".".join(res.names), field=res.field, resolved=res)
        for hop in res.hops:
            if hop.alias not in hop_index:
                hop_index[hop.alias] = len(sql_cols)
                sql_cols.append(hop.id_sql)
            col.hop_indices.append(hop_index[hop.alias])
        if res.components:
            for name, sql in res.components:
                col.components.append((name, len(sql_cols)))
                sql_cols.append(sql)
        else:
            col.sql_index = len(sql_cols)
            sql_cols.append(res.sql)
        columns.append(col)
    return columns, sql_cols


def _aggregate_field(c: _Compiler, agg: soql.Aggregate) -> tuple[str, FieldDef, str]:
    """(SQL, describe, display text) of an aggregate expression."""
    if agg.arg is None:
        return "COUNT(*)", _COUNT_FIELD, "COUNT()"
    res = c.resolve(agg.arg)
    display = f"{agg.func.upper()}({'.'.join(res.names)})"
    if res.field.is_compound or res.field.type in ("base64", "textarea"):
        raise c.err("MALFORMED_QUERY", agg.arg.pos,
                    f"field {res.field.name} does not support aggregate operator {agg.func.upper()}")
    if agg.func == "count":
        return f"COUNT({res.sql})", _COUNT_FIELD, display
    if agg.func == "count_distinct":
        return f"COUNT(DISTINCT {res.sql})", _COUNT_FIELD, display
    if agg.func in ("sum", "avg"):
        if res.field.type not in ("int", "double", "currency", "percent"):
            raise c.err("MALFORMED_QUERY", agg.arg.pos,
                        f"field {res.field.name} does not support aggregate operator {agg.func.upper()}")
        return f"{agg.func.upper()}({res.sql})", dataclasses.replace(res.field, type="double"), display
    return f"{agg.func.upper()}({res.sql})", res.field, display


def _aggregate_select(c: _Compiler, q: soql.Query) -> tuple[list[Column], list[str], list[str]]:
    group_sql: list[str] = []
    grouped: set[tuple[str, ...]] = set()
    for path in q.group_by:
        res = c.resolve(path)
        if res.field.is_compound or not _groupable(res.field):
            raise c.err("MALFORMED_QUERY", path.pos, f"field '{res.field.name}' can not be grouped in a query call")
        group_sql.append(res.sql)
        grouped.add(tuple(n.lower() for n in res.names))
    columns: list[Column] = []
    sql_cols: list[str] = []
    expr_n = 0
    for item in q.select:
        if isinstance(item.expr, soql.ChildQuery):
            raise c.err("MALFORMED_QUERY", item.expr.pos, "unexpected token: 'SELECT'")
        if isinstance(item.expr, soql.Aggregate):
            sql, fdef, display = _aggregate_field(c, item.expr)
            name = item.alias or f"expr{expr_n}"
            if item.alias is None:
                expr_n += 1
            columns.append(Column(name=name, field=fdef, aggregate=True, display=display,
                                  sql_index=len(sql_cols)))
            sql_cols.append(sql)
            continue
        res = c.resolve(item.expr)
        if tuple(n.lower() for n in res.names) not in grouped:
            raise c.err("MALFORMED_QUERY", item.expr.pos,
                        f"Field must be grouped or aggregated: {res.field.name}")
        columns.append(Column(name=res.field.name, field=res.field, resolved=res, sql_index=len(sql_cols)))
        sql_cols.append(res.sql)
    return columns, sql_cols, group_sql


def _groupable(f: FieldDef) -> bool:
    return f.type not in ("double", "currency", "percent", "datetime", "textarea", "base64")


def _order_by(c: _Compiler, items: Sequence[soql.OrderItem], aggregate: bool) -> list[str]:
    out = []
    for item in items:
        if isinstance(item.expr, soql.Aggregate):
            sql, fdef, _ = _aggregate_field(c, item.expr)
        else:
            res = c.resolve(item.expr)
            sql, fdef = res.sql, res.field
            if fdef.is_compound or fdef.type == "base64" or (fdef.type == "textarea" and fdef.length > 255):
                raise c.err("MALFORMED_QUERY", item.expr.pos,
                            f"field '{fdef.name}' can not be sorted in a query call")
        if fdef.type in _TEXT_TYPES:
            sql += " COLLATE NOCASE"
        sql += " DESC" if item.descending else " ASC"
        if item.nulls_last is not None:
            sql += " NULLS LAST" if item.nulls_last else " NULLS FIRST"
        out.append(sql)
    if not aggregate:
        out.append(f"{c.prefix}t0.rowid")  # a total order, so pages never repeat or skip rows
    return out


def bulk_refusal(schema: Schema, soql_text: str, today: date) -> SalesforceFault | None:
    """What creating a Bulk API 2.0 query job answers for this query, or None (errors.md §9)."""
    try:
        # The ContentDocumentLink filter rule holds for Bulk too (Airbyte: QUERY_RESTRICTED).
        compiled = compile_query(schema, soql_text, today=today, include_deleted=False)
    except SalesforceFault as exc:
        if exc.error_code == "INVALID_TYPE_FOR_OPERATION":
            return SalesforceFault(400, "API_ERROR", "API does not support query")
        return exc
    obj = compiled.obj
    if obj.bulk is False:
        return SalesforceFault(400, "INVALIDENTITY", f"Entity '{obj.name}' is not supported by the Bulk API.")
    if any(c.field.is_compound for c in compiled.columns):
        return SalesforceFault(400, "API_ERROR", "Selecting compound data not supported in Bulk Query")
    if compiled.is_aggregate or compiled.is_count_only or compiled.group_by:
        return SalesforceFault(400, "API_ERROR", _BULK_AGGREGATE)
    if compiled.offset is not None:
        return SalesforceFault(400, "API_ERROR", _BULK_OFFSET)
    if any(c.child is not None for c in compiled.columns):
        return SalesforceFault(400, "API_ERROR", _BULK_SUBQUERY)
    if any(c.field.type == "base64" for c in compiled.columns):
        return SalesforceFault(400, "API_ERROR", _BULK_BASE64)
    return None
