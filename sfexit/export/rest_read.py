"""The export's REST readers: objects Bulk refuses (REST query, queryAll with
``include_deleted``) and objects Salesforce only serves filtered by a parent id (per parent,
``soql.select_in_chunks``). Rows go to ``data/<Object>.csv`` as Bulk would have served them
(csvsink.csv_field: its dialect and its text of each value type), so an object's bytes do not
depend on the path that read it (issue 19, item 7).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote_plus

from sfexit import errors
from sfexit.export.csvsink import csv_line, header_line
from sfexit.export.data_run import (UNREADABLE_CODES, ExportRun, ObjectProgress,
                                    ObjectResult, finish, needs_filter, reason, sink, skip)
from sfexit.export.delta import window
from sfexit.export.objects import ObjectPlan
from sfexit.export import schedule
from sfexit.export.rest_ranges import REST_PROGRESS_EVERY, fits_url, range_queries, read_ranges
from sfexit.export.schedule import PER_PARENT
from sfexit.org import soql


def read_rest(run: ExportRun, plan: ObjectPlan, query: str, why: str,
              rows: int | None = None) -> ObjectResult:
    """The object over REST query; ``why`` (Bulk's refusal) goes into a failure's reason.
    ``rows`` (the preflight's count): from a few pages on, the object is read in Id ranges side
    by side (rest_ranges.py)."""
    try:
        ranges = schedule.id_range_count(rows, schedule.page_rows(plan.long_text))
        queries = range_queries(run, plan, ranges) if ranges > 1 and fits_url(run, plan) \
            else None
        if queries is not None:
            try:
                return read_ranges(run, plan, query, queries)
            except errors.SalesforceError:
                # A range's Id filter refused where the bounds' query was answered: one
                # cursor, as before ranges (its own refusal, if any, is handled below).
                pass
        return write_records(run, plan, query, "rest", rest_records(run, plan, query))
    except errors.SalesforceError as exc:
        text = reason(exc)
        if needs_filter(exc):
            return read_per_parent(run, plan, query, text)
        if exc.error_code in UNREADABLE_CODES:
            return skip(run, plan.name, text)
        return ObjectResult(plan.name, "failed", "rest", reason=f"{why}; REST query: {text}")


def rest_records(run: ExportRun, plan: ObjectPlan, query: str) -> Iterator[dict[str, Any]]:
    """Rows over REST. A query too long for one GET URL (414 past 16,384 bytes, errors.md §2)
    is split into field groups, each ``ORDER BY Id``, read side by side and joined by Id:
    still one pass, memory flat."""
    include_deleted = run.options.include_deleted
    if len(quote_plus(query)) <= soql.MAX_QUERY_URL_BYTES:
        yield from run.rest.query_iter(query, include_deleted=include_deleted, number_text=True)
        return
    groups = field_groups(plan)
    where = window(plan.fields, run.options.since)   # a delta's rows only (delta.py)
    streams = [run.rest.query_iter(soql.select(plan.name, ["Id", *g], where=where,
                                               order_by=["Id"]),
                                   include_deleted=include_deleted, number_text=True)
               for g in groups]
    for parts in itertools.zip_longest(*streams):
        ids = {p.get("Id") if p else None for p in parts}
        if len(ids) != 1 or None in ids:
            raise errors.SalesforceError(
                f"{plan.name} changed while it was read in {len(groups)} field groups",
                error_code="ROWS_CHANGED_DURING_READ", hint="run the export again")
        merged: dict[str, Any] = {}
        for part in parts:
            merged.update(part)
        yield merged


def field_groups(plan: ObjectPlan) -> list[list[str]]:
    groups: list[list[str]] = [[]]
    for field in (f for f in plan.fields if f != "Id"):
        trial = soql.select(plan.name, ["Id", *groups[-1], field], order_by=["Id"])
        if groups[-1] and len(quote_plus(trial)) > soql.MAX_QUERY_URL_BYTES:
            groups.append([])
        groups[-1].append(field)
    return groups


def read_per_parent(run: ExportRun, plan: ObjectPlan, query: str, why: str) -> ObjectResult:
    if plan.name not in PER_PARENT:
        return skip(run, plan.name, f"{why} (needs a filter sfexit does not know)")
    field, parent = PER_PARENT[plan.name]
    include_deleted = run.options.include_deleted
    parent_ids = (str(r["Id"]) for r in
                  run.rest.query_iter(soql.select(parent, ["Id"]),
                                      include_deleted=include_deleted))
    records = (record
               for text in soql.select_in_chunks(plan.name, plan.fields, field, parent_ids)
               for record in run.rest.query_iter(text, include_deleted=include_deleted,
                                                 number_text=True))
    try:
        return write_records(run, plan, query, "per-parent", records)
    except errors.SalesforceError as exc:
        return ObjectResult(plan.name, "failed", "per-parent", reason=reason(exc))
    except ValueError as exc:  # the field list alone is too long for a GET URL
        return ObjectResult(plan.name, "failed", "per-parent", reason=str(exc))


def write_records(run: ExportRun, plan: ObjectPlan, query: str, method: str,
                  records: Iterator[dict[str, Any]]) -> ObjectResult:
    part = sink(run, plan.name)
    try:
        part.write(header_line(plan.fields))
        rows = 0
        run.on_progress(ObjectProgress(plan.name, 0, None, False, method))
        for record in records:
            part.write(csv_line((record.get(f) for f in plan.fields), plan.kinds))
            rows += 1
            if rows % REST_PROGRESS_EVERY == 0:
                run.check()
                run.on_progress(ObjectProgress(plan.name, rows, None, False, method))
        return finish(run, plan, query, method, part, rows, [])
    finally:
        part.close()
