"""One large object read over REST in Id ranges side by side (issue 23; PK chunking over SOQL:
id_ranges.py has the technique and its sources).

A REST query is one cursor: its ``nextRecordsUrl`` pages come one after the other, so an object
of n pages takes n page times however many cursors are free. Here its first and last Id are
read (two one-row queries side by side, ``ORDER BY Id ASC/DESC LIMIT 1``; queryAll with
``include_deleted``), the Id space between them is cut into ranges (``schedule.id_range_count``)
and each range is queried ``WHERE Id >= low AND Id < high ORDER BY Id``: the object's own
read place reads ranges, and more cursors join it as read places come free (never more
than the run's read places: data_run.ExportRun.spare_reading), taking ranges from one queue.

Each range is written to its own spill file beside the part (``data/<Object>.csv.<n>.part``,
memory flat), then the spills are appended to the part in range order, the part hashed over
its final bytes in that one pass. The ranges read one after the other hold the rows in Id
order, which is the order a plain read and a Bulk job of the emulator serve: the file has
the same bytes whichever path read it (tests/integration/test_export_rest_ranges.py). The
manifest records the object's query (not the ranges'), so an interrupted split read leaves
only ``.part`` files and the rerun reads the object again from the start.
"""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import quote_plus

from sfexit import errors
from sfexit.export import id_ranges, schedule
from sfexit.export.csvsink import PartFile, csv_line, header_line
from sfexit.export.data_run import ExportRun, ObjectProgress, ObjectResult, finish, sink
from sfexit.export.delta import window
from sfexit.export.objects import ObjectPlan
from sfexit.org import soql

REST_PROGRESS_EVERY = 2000
# Longest bound clause the ranges add to the object's query ("Id >= '…' AND Id < '…'").
_RANGE_CLAUSE = "(Id >= '000000000000000') AND (Id < '000000000000000') AND  ORDER BY Id"


def fits_url(run: ExportRun, plan: ObjectPlan) -> bool:
    """Whether a range's query fits one GET URL (a longer one is read in field groups, on one
    cursor: rest_read.rest_records)."""
    query = soql.select(plan.name, plan.fields, where=window(plan.fields, run.options.since))
    return len(quote_plus(query + _RANGE_CLAUSE)) <= soql.MAX_QUERY_URL_BYTES


def range_queries(run: ExportRun, plan: ObjectPlan, count: int) -> list[str] | None:
    """The queries of up to ``count`` Id ranges, each with the object's window (a delta's)
    and ``ORDER BY Id``; None when the object does not take them (its bounds' query refused:
    it is read on one cursor, as before). Run-wide errors are raised."""
    where = window(plan.fields, run.options.since)
    try:
        first, last = _first_and_last(run, plan, where)
    except errors.SalesforceError:
        return None
    if first is None or last is None:
        return None   # no row: one plain read
    return [soql.select(plan.name, plan.fields, order_by=["Id"], where=[
        *where,
        *([soql.condition("Id", ">=", r.low)] if r.low is not None else []),
        *([soql.condition("Id", "<", r.high)] if r.high is not None else [])])
        for r in id_ranges.split(first, last, count)]


def read_ranges(run: ExportRun, plan: ObjectPlan, query: str, queries: list[str]
                ) -> ObjectResult:
    """Read the object's ``queries`` (:func:`range_queries`) into ``data/<Object>.csv``, in
    that order; the manifest records ``query``, the object's own."""
    part = sink(run, plan.name)
    spills = [PartFile(part.final.with_name(f"{part.final.name}.{n}"), hashed=False)
              for n in range(len(queries))]
    try:
        rows = _RangeReads(run, plan, queries, spills).read()
        part.write(header_line(plan.fields))
        for spill in spills:
            part.append(spill)
        return finish(run, plan, query, "rest", part, rows, [])
    finally:
        for spill in spills:
            spill.close()
        part.close()


def _first_and_last(run: ExportRun, plan: ObjectPlan, where: list[str]
                    ) -> tuple[str | None, str | None]:
    """The object's lowest and highest Id, two one-row queries side by side."""
    def one(order: str) -> str | None:
        text = soql.select(plan.name, ["Id"], where=where, order_by=[f"Id {order}"], limit=1)
        for record in run.rest.query_iter(text, include_deleted=run.options.include_deleted):
            return str(record.get("Id") or "") or None
        return None

    with ThreadPoolExecutor(2, thread_name_prefix="sfexit-idbounds") as pool:
        low, high = pool.submit(one, "ASC"), pool.submit(one, "DESC")
        return low.result(), high.result()


class _RangeReads:
    """The ranges of one object, read from one queue by its own cursor (the caller's thread,
    in the object's read place) and by spare cursors as read places come free."""

    def __init__(self, run: ExportRun, plan: ObjectPlan, queries: list[str],
                 spills: list[PartFile]) -> None:
        self.export, self.plan, self.queries, self.spills = run, plan, queries, spills
        self._todo = deque(range(len(queries)))
        self._lock = threading.Lock()
        self._failed = threading.Event()
        self.rows = 0

    def read(self) -> int:
        """Every range read; the first error of any cursor raised (the others stop)."""
        spare = min(len(self.queries), schedule.REST_CURSORS) - 1
        with ThreadPoolExecutor(max(1, spare), thread_name_prefix="sfexit-range") as pool:
            helpers = [pool.submit(self._spare) for _ in range(spare)]
            self.export.on_progress(ObjectProgress(self.plan.name, 0, None, False, "rest"))
            self._work()
            for helper in helpers:
                helper.result()
        return self.rows

    def _spare(self) -> None:
        with self.export.spare_reading(self._given_up) as had:
            if had:
                self._work()

    def _given_up(self) -> bool:
        with self._lock:
            return not self._todo or self._failed.is_set()

    def _next(self) -> int | None:
        with self._lock:
            return self._todo.popleft() if self._todo and not self._failed.is_set() else None

    def _work(self) -> None:
        try:
            while (n := self._next()) is not None:
                self.export.check()
                self._read(n)
        except BaseException:
            self._failed.set()
            raise

    def _read(self, n: int) -> None:
        run, plan, spill = self.export, self.plan, self.spills[n]
        records: Iterator[dict[str, Any]] = run.rest.query_iter(
            self.queries[n], include_deleted=run.options.include_deleted, number_text=True)
        for record in records:
            spill.write(csv_line((record.get(f) for f in plan.fields), plan.kinds))
            with self._lock:
                self.rows += 1
                rows = self.rows
            if rows % REST_PROGRESS_EVERY == 0:
                run.check()
                if self._failed.is_set():
                    return
                run.on_progress(ObjectProgress(plan.name, rows, None, False, "rest"))

