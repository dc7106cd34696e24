"""An export larger than one day's limits, planned across days (PURE; issue 23).

The need per limit is the preflight's forecast (``preflight.forecast``: API calls, one Bulk
query job per object, result MB; one home for those estimates, not repeated here). What a day
allows is the org's ``/limits`` Remaining minus a reserve left for everyone else (default
:data:`DEFAULT_RESERVE_PCT` of each limit's Max; ``--reserve`` / ``[export] reserve``).

Salesforce counts these limits over a ROLLING 24-hour window, not a calendar day: "the total
number of API requests allowed per rolling 24-hour period" (API Request Limits and
Allocations, developer.salesforce.com/docs/atlas.en-us.salesforce_app_limits_cheatsheet.meta/
salesforce_app_limits_cheatsheet/salesforce_app_limits_platform_api.htm); Bulk API 2.0 query
jobs and result storage "per 24-hour rolling period" (bulk_api_2_limits.htm; limits.md). So
what a run spends comes back 24 h after it was spent: a run that pauses at ``t`` can resume at
``t + 24 h`` with its whole day's allowance back (:func:`resume_after`).

Days are estimated as if the org's other use of the window stays as it is now (the same
allowance every day: a conservative guess; when nothing is left today it assumes the whole
window minus the reserve tomorrow).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Mapping
from dataclasses import dataclass

from sfexit import errors
from sfexit.config import DEFAULT_RESERVE_PCT
from sfexit.export.preflight import Forecast
from sfexit.org.rest import Limit
from sfexit.units import plural

__all__ = ["DEFAULT_RESERVE_PCT", "BudgetPlan", "LimitBudget", "Pause", "export_need",
           "plan_budget", "reserve_of", "resume_after"]

WINDOW = dt.timedelta(hours=24)    # Salesforce's rolling window (module docstring)
LIMITS = ("DailyApiRequests", "DailyBulkV2QueryJobs", "DailyBulkV2QueryFileStorageMB")


def reserve_of(maximum: int, pct: float) -> int:
    """The units of a limit kept back: ``pct`` of its Max, rounded up (never less kept)."""
    return math.ceil(maximum * pct / 100)


@dataclass(frozen=True)
class LimitBudget:
    """One daily limit: what the whole run needs and what a window allows above the reserve."""

    name: str
    need: int
    max: int
    remaining: int
    reserve: int
    setup: int = 0       # what every run spends before its first object (the preflight)

    @property
    def allowance(self) -> int:
        """What this run may spend now on the export itself without touching the reserve."""
        return max(0, self.remaining - self.reserve - self.setup)

    @property
    def days(self) -> int | None:
        """Windows of 24 h the need takes (1: it fits now); None when no day can hold it."""
        if self.need <= self.allowance:
            return 1
        later = self.allowance or max(0, self.max - self.reserve - self.setup)
        if later == 0:
            return None
        if self.allowance == 0:
            return 1 + math.ceil(self.need / later)
        return math.ceil(self.need / later)


@dataclass(frozen=True)
class BudgetPlan:
    reserve_pct: float
    started_at: dt.datetime
    limits: tuple[LimitBudget, ...]

    @property
    def days(self) -> int | None:
        """Days the whole run takes (the slowest limit); None when it can never finish."""
        found = [b.days for b in self.limits]
        return None if None in found else max((d for d in found if d is not None), default=1)

    @property
    def fits_today(self) -> bool:
        return self.days == 1

    @property
    def finish_by(self) -> dt.datetime | None:
        """When the last day's part can start: one window per day after the first."""
        days = self.days
        return None if days is None else self.started_at + (days - 1) * WINDOW

    def to_json(self) -> dict[str, object]:
        finish = self.finish_by
        return {"reserve_pct": self.reserve_pct, "days": self.days,
                "started_at": iso(self.started_at),
                "finish_by": iso(finish) if finish is not None else None,
                "limits": [{"name": b.name, "need": b.need, "max": b.max,
                            "remaining": b.remaining, "reserve": b.reserve,
                            "setup": b.setup, "allowance": b.allowance, "days": b.days}
                           for b in self.limits]}


def export_need(forecast: Forecast) -> dict[str, int]:
    """What the export's forecast (preflight.py) needs of each planned limit."""
    return {"DailyApiRequests": forecast.api_calls, "DailyBulkV2QueryJobs": forecast.bulk_jobs,
            "DailyBulkV2QueryFileStorageMB": forecast.result_mb}


def plan_budget(need: Mapping[str, int], limits: Mapping[str, Limit], reserve_pct: float,
                now: dt.datetime, *, setup_calls: int = 0) -> BudgetPlan:
    """The run's days from what it needs of each limit (:func:`export_need`; the offboard's
    forecast) and ``/limits`` (limits the org does not report are left out: nothing to plan
    against). ``setup_calls``: the API calls a run makes before its first object (identity,
    describe global, the preflight), repeated by every day's rerun; ``/limits`` was read
    during them, so they are counted once more."""
    budgets = tuple(LimitBudget(name, need.get(name, 0), limits[name].max, limits[name].remaining,
                                reserve_of(limits[name].max, reserve_pct),
                                setup_calls if name == "DailyApiRequests" else 0)
                    for name in LIMITS if name in limits)
    return BudgetPlan(reserve_pct, now, budgets)


def resume_after(paused_at: dt.datetime) -> dt.datetime:
    """When everything a run spent up to ``paused_at`` has left the rolling window."""
    return paused_at + WINDOW


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def utc_text(when: dt.datetime) -> str:
    return when.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


@dataclass(frozen=True)
class Pause:
    """Why and until when a run stopped for the limits (the manifest's ``paused``)."""

    at: dt.datetime
    limit: str
    objects_left: int
    files_paused: int
    plan: BudgetPlan

    @property
    def resume_after(self) -> dt.datetime:
        return resume_after(self.at)

    def to_json(self) -> dict[str, object]:
        return {"at": iso(self.at), "resume_after": iso(self.resume_after),
                "limit": self.limit, "objects_left": self.objects_left,
                "files_paused": self.files_paused, "plan": self.plan.to_json()}

    def error(self) -> errors.PausedForLimits:
        """The one line the command ends with (exit 4)."""
        left = ", ".join(part for part in (
            plural(self.objects_left, "object") if self.objects_left else "",
            plural(self.files_paused, "file body", "file bodies") if self.files_paused else "")
            if part)
        days, last = self.plan.days, self.plan.finish_by
        more = (f" (what is left needs about {days} daily runs, the last after {utc_text(last)})"
                if days and days > 1 and last else "")
        return errors.PausedForLimits(
            f"paused for limits before {self.limit}'s {self.plan.reserve_pct:g}% reserve "
            f"({left or 'the rest'} left); resume after {utc_text(self.resume_after)}{more}",
            hint="Salesforce counts daily limits over a rolling 24-hour window, so what this "
                 "run spent is free again by then: run the same command again then; "
                 "what is complete is kept", resume_after=iso(self.resume_after))
