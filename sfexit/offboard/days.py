"""The offboard over days (issue 23): the days its forecast takes of the org's daily limits
above the reserve (export/budget.py), and the check that pauses the run before a step that
would cross the reserve (the export step pauses on its own: export/budget_gate.py).
"""

from __future__ import annotations

import datetime as dt

from sfexit import errors
from sfexit.export.budget import (BudgetPlan, iso, plan_budget, reserve_of, resume_after,
                                  utc_text)
from sfexit.offboard import plan as planning
from sfexit.offboard import steps as st
from sfexit.offboard import survey
from sfexit.org.rest import Limit


def days_of(ctx: st.RunContext, sv: survey.Survey, fc: planning.Forecast, *,
          setup_calls: int) -> BudgetPlan:
    """The days the whole run takes of the org's daily limits above the reserve (budget.py)."""
    need = {"DailyApiRequests": fc.total.rest_calls,
            "DailyBulkV2QueryJobs": fc.total.bulk_query_jobs,
            "DailyBulkV2QueryFileStorageMB": fc.total.bulk_result_mb}
    limits = {n: Limit(n, int(v["max"]), int(v["remaining"])) for n, v in sv.limits.items()}
    return plan_budget(need, limits, ctx.settings.export.reserve, ctx.now(),
                       setup_calls=setup_calls)


def spans_days_of(fc: planning.Forecast, days: BudgetPlan) -> bool:
    """More than one day, and every limit short is one the plan spreads over days (the Bulk
    query limits and API calls; not, e.g., DailyBulkApiBatches of the reassign step)."""
    planned = {b.name for b in days.limits}
    return (days.days is not None and days.days > 1
            and all(x.limit in planned for x in fc.shortfall))


def iso_or_none(when: dt.datetime | None) -> str | None:
    return None if when is None else iso(when)


def room_for(ctx: st.RunContext, name: str) -> None:
    """A step after the export (which pauses on its own, budget_gate.py) starts only if its
    forecast API calls fit above the reserve of what the org says it has used (the
    ``Sforce-Limit-Info`` count); else the run pauses there. Not with ``force``."""
    usage = ctx.session.api_usage
    if ctx.force or name in ("export", "dates", "report") or usage is None:
        return
    used, maximum = usage
    need = int((ctx.run.step(name).get("forecast") or {}).get("rest_calls", 0))
    reserve = ctx.settings.export.reserve
    if used + need <= maximum - reserve_of(maximum, reserve):
        return
    when = resume_after(ctx.now())
    raise errors.PausedForLimits(
        f"paused for limits before the {name} step: it needs about {need:,} API calls and the "
        f"org has used {used:,} of {maximum:,} (reserve {reserve:g}%); resume after "
        f"{utc_text(when)}", hint="Salesforce counts daily limits over a rolling 24-hour "
        "window: run `sfexit offboard --resume` then",
        resume_after=iso(when))
