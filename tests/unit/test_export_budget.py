"""The day-spanning plan (export/budget.py) and its gate (export/budget_gate.py), pure parts."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from sfexit.config import parse_reserve
from sfexit.errors import UsageError
from sfexit.export.budget import (LimitBudget, export_need, plan_budget, reserve_of,
                                  resume_after)
from sfexit.export.budget_gate import BudgetGate
from sfexit.export.preflight import Forecast, object_calls
from sfexit.export.schedule import Routing
from sfexit.org.rest import Limit

NOW = dt.datetime(2026, 12, 7, 9, 30, tzinfo=dt.UTC)


def _need(calls: int) -> dict[str, int]:
    return export_need(Forecast(objects=1, rows=0, row_bytes=400, api_calls=calls, bulk_jobs=1,
                                result_mb=0, files=0, remaining={}))


def _limits(calls_max: int, calls_left: int) -> dict[str, Limit]:
    return {"DailyApiRequests": Limit("DailyApiRequests", calls_max, calls_left),
            "DailyBulkV2QueryJobs": Limit("DailyBulkV2QueryJobs", 10_000, 10_000),
            "DailyBulkV2QueryFileStorageMB": Limit("DailyBulkV2QueryFileStorageMB", 976_562,
                                                   976_562)}


def test_a_run_that_fits_above_the_reserve_takes_one_day() -> None:
    plan = plan_budget(_need(899), _limits(1000, 1000), 10, NOW)
    assert plan.days == 1 and plan.fits_today and plan.finish_by == NOW


def test_two_and_a_half_days_of_calls_take_three_runs_a_day_apart() -> None:
    plan = plan_budget(_need(2250), _limits(1000, 1000), 10, NOW)
    assert plan.days == 3
    assert plan.finish_by == NOW + dt.timedelta(hours=48)


def test_every_days_setup_calls_are_not_available_to_the_export() -> None:
    assert plan_budget(_need(1700), _limits(1000, 1000), 10, NOW).days == 2
    assert plan_budget(_need(1700), _limits(1000, 1000), 10, NOW,
                       setup_calls=60).days == 3


def test_with_nothing_left_today_the_days_start_tomorrow() -> None:
    budget = LimitBudget("DailyApiRequests", need=500, max=1000, remaining=50, reserve=100)
    assert budget.allowance == 0 and budget.days == 2


def test_a_limit_whose_reserve_is_all_of_it_never_finishes() -> None:
    budget = LimitBudget("DailyApiRequests", need=5, max=10, remaining=0, reserve=10)
    assert budget.days is None
    # a 90% reserve and the day's own setup calls leave nothing for the export itself
    assert plan_budget(_need(5), _limits(100, 100), 90, NOW, setup_calls=10).days is None


def test_the_reserve_rounds_up_and_the_window_is_24_hours() -> None:
    assert reserve_of(15_000, 10) == 1500 and reserve_of(15, 10) == 2
    assert resume_after(NOW) == NOW + dt.timedelta(hours=24)


@pytest.mark.parametrize("value, pct", [("10", 10.0), ("12.5%", 12.5), (0, 0.0), ("90", 90.0)])
def test_reserve_values(value: Any, pct: float) -> None:
    assert parse_reserve(value) == pct


@pytest.mark.parametrize("value", ["x", "-1", "90.5", "inf", "nan", "", True])
def test_bad_reserve_values_are_usage_errors(value: Any) -> None:
    with pytest.raises(UsageError, match=r"^--reserve: must be a percentage from 0 to 90"):
        parse_reserve(value)


class _Session:
    def __init__(self, used: int, calls: int = 0) -> None:
        self.api_usage: tuple[int, int] | None = (used, 1000)
        self.calls = calls


def _gate(session: _Session, rows: dict[str, int], left: int = 1000) -> BudgetGate:
    plan = plan_budget(_need(0), _limits(1000, left), 10, NOW)
    return BudgetGate(plan, rows, 400, session)  # type: ignore[arg-type]


def test_the_gate_admits_objects_until_the_reserve_then_nothing_more() -> None:
    per_object = object_calls(10, Routing(), None)
    session = _Session(used=900 - 3 * per_object)
    gate = _gate(session, {"A": 10, "B": 10, "C": 10, "D": 10, "E": 0})
    assert [gate.admit_object(n) for n in "ABC"] == [True, True, True]
    assert not gate.admit_object("D")
    assert gate.refused is not None and gate.refused.limit == "DailyApiRequests"
    assert not gate.admit_object("E") and not gate.admit_file()   # paused: nothing starts


def test_a_describe_admitted_first_is_counted_once_with_its_object() -> None:
    """The data step asks for an object's describe before the object (bulk._start): the two
    cost what the object alone did, and a describe refused starts nothing."""
    per_object = object_calls(10, Routing(), None)
    session = _Session(used=900 - 2 * per_object)
    gate = _gate(session, {"A": 10, "B": 10, "C": 10})
    assert gate.admit_describe("A") and gate.admit_describe("A")   # once per object
    assert gate.admit_object("A")
    assert gate.admit_describe("B") and gate.admit_object("B")
    assert not gate.admit_describe("C")   # the reserve: C is not even described
    assert gate.refused is not None


def test_a_first_job_counts_as_a_bulk_job_whatever_the_routing_says() -> None:
    """A first job is created before the page time is measured (first_jobs.py): the gate counts
    its Bulk job even for an object its routing would read over REST."""
    gate = _gate(_Session(used=0), {"A": 10, "B": 10})   # 10 rows: REST reads both
    assert gate.admit_object("A") and gate.admit_object("B", bulk_job=True)
    assert gate._admitted.get("DailyBulkV2QueryJobs", 0) == 1


def test_the_gate_counts_what_other_clients_spend_meanwhile() -> None:
    session = _Session(used=100)
    gate = _gate(session, {"A": 10})
    assert gate.admit_file()
    session.api_usage = (100 + 5 + 800, 1000)   # 5 of ours, 800 by someone else
    session.calls = 5
    assert not gate.admit_file()


def test_a_gate_built_before_the_preflight_ends_counts_its_last_calls() -> None:
    """The first jobs' gate (backup.py) is built before the preflight's sample, permissions and
    Organization query: it holds their most calls, then counts the ones really sent."""
    per_object = object_calls(10, Routing(), None)
    session = _Session(used=900 - 2 * per_object)
    plan = plan_budget(_need(0), _limits(1000, 1000), 10, NOW)
    gate = BudgetGate(plan, {"A": 10, "B": 10}, None, session,  # type: ignore[arg-type]
                      unsettled_calls=per_object)
    assert gate.admit_object("A", bound=400)
    assert not gate.admit_object("B", bound=400)   # B's calls would leave no room for the held

    session = _Session(used=900 - 2 * per_object)
    gate = BudgetGate(plan, {"A": 10, "B": 10}, None, session,  # type: ignore[arg-type]
                      unsettled_calls=per_object)
    session.calls = 1   # the preflight sent one call (the org's count lags: api_usage as built)
    gate.set_row_bytes(400, plan, Routing())
    assert gate.admit_object("A")
    assert not gate.admit_object("B")   # one call over: the preflight's is counted
