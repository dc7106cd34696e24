"""The live side of a budgeted export (budget.py): before each object (its describe first) and
each file body, admit it only if its estimated cost stays above the reserve of every daily
limit; once one is refused, the run pauses (nothing more is started; what is in flight
completes).

Counted against each limit's line (Max - reserve):
- API calls: the org's count at the start (``Sforce-Limit-Info: api-usage=N/M`` on every REST
  response, read by ``OrgSession.api_usage``; else ``/limits``) plus every estimate admitted
  (conservative: an estimate is not given back when the object spent less), plus what OTHER
  clients of the org spent since (the header's growth beyond this session's own ``calls``);
- Bulk query jobs (one per object) and result MB (rows × the sampled row width), from the
  ``/limits`` read by the preflight plus what was admitted.
An object's calls and Bulk job are estimated as the forecast does (``preflight.object_calls``,
``preflight.export_usage``: the schedule's costlier possible route), so the gate pauses where the plan
said it would.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from typing import NoReturn

from sfexit.export.budget import (DEFAULT_RESERVE_PCT, BudgetPlan, LimitBudget, Pause,
                                  export_need, plan_budget)
from sfexit.export.manifest import ManifestStore
from sfexit.export import schedule
from sfexit.export.preflight import MB, Forecast, export_usage, object_calls
from sfexit.org.rest import RestClient
from sfexit.org.session import OrgSession

API = "DailyApiRequests"
JOBS = "DailyBulkV2QueryJobs"
RESULT_MB = "DailyBulkV2QueryFileStorageMB"
# Calls of a files step besides one GET per body: the COUNT()s of its progress display and the
# pages of its listing (2,000 rows each), bounded for any listing of a few hundred thousand.
FILES_STEP_CALLS = 10


@dataclass(frozen=True)
class Refusal:
    limit: str
    used: int
    line: int        # Max - reserve
    max: int


class BudgetGate:
    """Thread-safe: the export's workers ask it side by side."""

    def __init__(self, plan: BudgetPlan, row_counts: Mapping[str, int], row_bytes: int | None,
                 session: OrgSession, *, routing: schedule.Routing | None = None,
                 max_records: int | None = None, unsettled_calls: int = 0) -> None:
        self.plan = plan
        self.routing = routing or schedule.Routing()
        self.max_records = max_records
        self.row_counts = dict(row_counts)
        self.row_bytes = row_bytes      # None until the preflight's sample (set_row_bytes)
        self.session = session
        self._lock = threading.Lock()
        self._budgets: dict[str, LimitBudget] = {b.name: b for b in plan.limits}
        self._start: dict[str, int] = {b.name: b.max - b.remaining for b in plan.limits}
        live = session.api_usage
        if live is not None and API in self._start:
            self._start[API] = max(self._start[API], live[0])
        self._live_base = (live[0], session.calls) if live is not None else None
        self._admitted: dict[str, int] = {}
        self._described: set[str] = set()     # objects whose describe was admitted alone
        # Built before the preflight's last reads (the first jobs: backup.py), the gate holds
        # their most calls (``unsettled_calls``) until set_row_bytes counts what this session
        # really sent since: they show in neither the start nor the others (_others).
        self._unsettled = unsettled_calls
        self._calls_at_start = session.calls
        self._result_bytes = 0
        self.refused: Refusal | None = None

    def admit_describe(self, name: str) -> bool:
        """Admit one object's describe, asked before it is made (the data step describes an
        object before it asks :meth:`admit_object`, which then counts the rest). Else the
        describes of the objects the gate refuses, and of every object started once it has
        refused, went uncounted: at a daily max of a few dozen calls they spent the reserve
        and the org refused the run (REQUEST_LIMIT_EXCEEDED) before it paused. Once per
        object (the export's first jobs and then the data step may both ask)."""
        with self._lock:
            if name in self._described:
                return True
        if not self._admit({API: 1}, 0):
            return False
        with self._lock:
            self._described.add(name)
        return True

    def admit_object(self, name: str, bound: int = 0, *, bulk_job: bool = False) -> bool:
        """Admit one object's reads, and its describe unless :meth:`admit_describe` did.
        Before the row width is known (the export's first jobs start beside the preflight:
        backup.py), its result MB are counted at ``bound`` (its widest row:
        objects.ObjectPlan.max_row_bytes), never given back. ``bulk_job``: one Bulk job is
        counted whatever the routing says (a first job, created before the page time is
        measured, may be one the measured routing would not make: first_jobs.py)."""
        rows = max(0, self.row_counts.get(name, 0))
        width = self.row_bytes if self.row_bytes is not None else bound
        with self._lock:
            routing = self.routing
            described = name in self._described
        jobs = max(int(bulk_job), export_usage({name: rows}, routing, self.max_records).bulk_jobs)
        calls = object_calls(rows, routing, self.max_records, name) - (1 if described else 0)
        return self._admit({API: calls, JOBS: jobs}, rows * width)

    def set_row_bytes(self, row_bytes: int, plan: BudgetPlan,
                      routing: schedule.Routing) -> None:
        """The preflight's sampled width, its plan and the run's routing (measured page time),
        for every object admitted from now on."""
        with self._lock:
            self.row_bytes, self.plan, self.routing = row_bytes, plan, routing
            # The preflight's calls since the gate was built, at most the ``unsettled_calls``
            # it held for them; the first jobs' own calls are in what the gate admitted for
            # them (each object at its costlier route). Adding every call sent since counted
            # those twice: with 32 first candidates a 150-call day planned 4 days for 3.
            if API in self._start:
                self._start[API] += min(self.session.calls - self._calls_at_start,
                                        self._unsettled)
            self._unsettled = 0

    def admit_files_step(self) -> bool:
        return self._admit({API: FILES_STEP_CALLS}, 0)

    def admit_file(self) -> bool:
        return self._admit({API: 1}, 0)

    def _admit(self, cost: Mapping[str, int], result_bytes: int) -> bool:
        with self._lock:
            if self.refused is not None:
                return False   # paused: nothing more starts, even what would still fit
            wanted = dict(cost)
            result_mb = -(-(self._result_bytes + result_bytes) // MB)
            for name, budget in self._budgets.items():
                line = budget.max - budget.reserve
                if name == RESULT_MB:
                    used = self._start[name] + result_mb
                else:
                    used = self._start[name] + self._admitted.get(name, 0) + wanted.get(name, 0)
                    if name == API:
                        used += self._others() + self._unsettled
                if used > line:
                    self.refused = Refusal(name, used - wanted.get(name, 0), line, budget.max)
                    return False
            for name, amount in wanted.items():
                self._admitted[name] = self._admitted.get(name, 0) + amount
            self._result_bytes += result_bytes
            return True

    def _others(self) -> int:
        """API calls other clients made since the start: the org's count grew by more than
        this session sent (0 when the org sends no count)."""
        live, base = self.session.api_usage, self._live_base
        if live is None or base is None:
            return 0
        return max(0, (live[0] - base[0]) - (self.session.calls - base[1]))


def pause_run(store: ManifestStore, gate: BudgetGate, at: dt.datetime, *, objects_left: int = 0,
              files_left: int = 0) -> NoReturn:
    """Mark the manifest paused (incomplete by the budget: why, until when, the plan) and
    raise PausedForLimits, whose one line says when to run the command again."""
    refused = gate.refused
    pause = Pause(at, refused.limit if refused else API, objects_left, files_left, gate.plan)
    store.pause(pause.to_json())
    raise pause.error()


def files_gate(session: OrgSession, files: int, *, reserve_pct: float = DEFAULT_RESERVE_PCT,
               now: dt.datetime) -> BudgetGate:
    """The gate of ``export files`` on its own: one call per body plus the step's own, against
    ``/limits`` read now (one call). Raises what the read raises."""
    limits = RestClient(session).limits()
    need = Forecast(objects=0, rows=0, row_bytes=0, api_calls=files + FILES_STEP_CALLS,
                    bulk_jobs=0, result_mb=0, files=files,
                    remaining={n: limit.remaining for n, limit in limits.items()})
    return BudgetGate(plan_budget(export_need(need), limits, reserve_pct, now), {}, 0, session)
