"""Parent-to-child subqueries: `SELECT Name, (SELECT Id FROM Contacts) FROM Account`.

Compiled once per query into a ChildPlan; a page of parent records fetches its children with one
`fk IN (<page ids>)` query per subquery (not one per parent). Salesforce returns the children as
`{"totalSize": n, "done": true, "records": [...]}`, or null when a parent has none.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from typing import Any

from sfexit_emulator import soql
from sfexit_emulator.schema import FieldDef
from sfexit_emulator.store_db import quote
from sfexit_emulator.store_query import CHILD_IDS_MARK, ChildPlan, Column, _Compiler

_NO_CHILD = ("Didn't understand relationship '{r}' in FROM part of query call. If you are attempting to "
             "use a custom relationship, be sure to append the '__r' after the custom relationship name. "
             "Please reference your WSDL or the describe call for the appropriate names.")
_BATCH = 500  # parent ids per child query: well under SQLite's bound-parameter limit

SelectFn = Callable[[_Compiler, Sequence[soql.SelectItem]], tuple[list[Column], list[str]]]
OrderFn = Callable[[_Compiler, Sequence[soql.OrderItem], bool], list[str]]


def compile_child(c: _Compiler, cq: soql.ChildQuery, select: SelectFn, order_by: OrderFn) -> Column:
    """The parent-side column of a subquery. Raises INVALID_TYPE for an unknown relationship."""
    from sfexit_emulator.schema import child_relationship_name

    found = c.schema.child_relationship(c.obj.name, cq.relationship)
    if found is None:
        # UNCONF (code): Salesforce's text for an unknown child relationship, code INVALID_TYPE.
        raise c.err("INVALID_TYPE", cq.pos, _NO_CHILD.format(r=cq.relationship))
    child, fk = found
    if not child.key_prefix and child.name != "ActivityHistory":
        # ActivityHistories is served from a view (store_views.py); other views are not.
        raise c.err("INVALID_TYPE_FOR_OPERATION", None, f"entity type {child.name} does not support query")
    c.subqueries += 1
    inner = _Compiler(c.schema, c.q, child, c.today, prefix=f"{c.prefix}c{c.subqueries}_")
    columns, sql_cols = select(inner, [soql.SelectItem(f, None) for f in cq.fields])
    fk_sql = f"{inner.prefix}t0.{quote(fk.name)}"
    sql_cols.append(fk_sql)
    where = [f"{fk_sql} IN ({CHILD_IDS_MARK})", f'{inner.prefix}t0."IsDeleted" = 0']
    if cq.where is not None:
        where.append(inner.condition(cq.where))
    order = order_by(inner, cq.order_by, False)
    sql = (f"SELECT {', '.join(sql_cols)} FROM {quote(child.name)} AS {inner.prefix}t0 "
           f"{' '.join(inner.join_sql)} WHERE {' AND '.join(where)} ORDER BY {', '.join(order)}")
    name = child_relationship_name(c.obj.name, child, fk) or cq.relationship
    plan = ChildPlan(child.name, name, columns, sql, list(inner.params), len(sql_cols) - 1, cq.limit)
    marker = FieldDef(name=name, type="childrelationship", label=name)
    return Column(name=name, field=marker, child=plan)


def fetch_children(conn: sqlite3.Connection, plan: ChildPlan, parent_ids: list[str],
                   build: Callable[[tuple[Any, ...]], dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """parent id -> the subquery's result object, for the parents that have children."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    for start in range(0, len(parent_ids), _BATCH):
        batch = parent_ids[start:start + _BATCH]
        sql = plan.sql.replace(CHILD_IDS_MARK, ", ".join("?" for _ in batch))
        for row in conn.execute(sql, [*batch, *plan.params]):
            records = grouped.setdefault(row[plan.fk_index], [])
            if plan.limit is None or len(records) < plan.limit:
                records.append(build(row))
    return {pid: {"totalSize": len(recs), "done": True, "records": recs} for pid, recs in grouped.items()}
