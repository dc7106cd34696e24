"""The offboard runner: preflight → dates → export → verify → freeze → reassign → deactivate →
report, each step's state in run.json and its start/end in the journal; resumable.

- Preflight surveys the org (reads only), decides the steps, forecasts every limit and plans
  the days it takes (export/budget.py: the org's daily limits above ``[export] reserve``):
  a run larger than one day is not refused, its export pauses at the reserve (exit 4) and
  ``--resume`` continues it once the 24-hour window frees up. It refuses with the numbers only
  what no number of days can hold (a limit the plan does not cover, or nothing above the
  reserve); ``force`` goes ahead, without the reserve.
- A dry run stops after the survey: every step that would run is ``planned`` with its plan as
  the result; the report is written like a real one, marked ``mode: "dry-run"``. No journal.
- A real run asks ``confirm`` once, before the first step after the preflight, showing totals.
- ``resume_run`` continues from the first step not done or skipped. A step that was running
  when the process died is run again as a whole: each step re-reads the org's state (and the
  export its manifest), so what was already done is seen and not done twice.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from sfexit import __version__, errors
from sfexit.config import Settings
from sfexit.export.budget import utc_text
from sfexit.journal import Journal
from sfexit.jsonable import to_jsonable
from sfexit.offboard import plan as planning
from sfexit.offboard import steps as st
from sfexit.offboard import survey
from sfexit.offboard.days import days_of, iso_or_none, room_for, spans_days_of
from sfexit.offboard.notes import NO_REASON, Note, note, step_fields
from sfexit.offboard.rundir import RunDir, StepStatus, now_iso, zero_usage
from sfexit.org.session import OrgSession
from sfexit.rules import ContractPlan
from sfexit.units import plural, size

STEP_FINISHED = "step finished"


@dataclass(frozen=True)
class RunOptions:
    dry_run: bool = False
    force: bool = False
    cli_skip: tuple[str, ...] = ()
    lang: str = "en"
    contract: ContractPlan | None = None   # rules.plan for today; run.json keeps its JSON
    sleep: Callable[[float], None] = lambda _s: None
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    confirm: Callable[[str], None] = lambda _q: None
    info: Callable[[str], None] = lambda _m: None
    warn: Callable[[str], None] = lambda _m: None
    on_progress: st.Progress = lambda _s, _e: None
    on_step: Callable[[str, str], None] = lambda _s, _status: None


@dataclass(frozen=True)
class RunOutcome:
    run_dir: Path
    mode: str
    steps: list[dict[str, Any]]
    journal: Path | None
    report: dict[str, str] | None
    forecast: dict[str, Any] | None
    fits: bool | None
    # the preflight's permission_checks: what each step needs of the running user
    permissions: list[dict[str, Any]] | None = None
    # the counts the real run's question shows (plan_lines); empty when this attempt did
    # not survey (a resume after the preflight)
    plan: tuple[str, ...] = ()

    @property
    def exit_code(self) -> int:
        statuses = {s["status"] for s in self.steps}
        if "failed" in statuses:
            return errors.EXIT_FAILURE
        return errors.EXIT_PARTIAL if "partial" in statuses else errors.EXIT_OK


def switches(settings: Settings, cli_skip: tuple[str, ...]) -> planning.Switches:
    c = settings.contract
    return planning.Switches(has_contract=c.start is not None and c.end is not None,
                             successor=settings.users.successor,
                             deactivate=settings.offboard.deactivate,
                             config_skip=tuple(settings.offboard.skip), cli_skip=cli_skip)


def _initial_steps(decisions: tuple[planning.StepDecision, ...]) -> list[dict[str, Any]]:
    return [{"name": d.name, "status": "planned" if d.run else "skipped", **step_fields(d.why),
             "started_at": None, "finished_at": None, "forecast": zero_usage(),
             "used": zero_usage(), "result": None} for d in decisions]


def start_run(settings: Settings, session: OrgSession, run_path: Path,
              options: RunOptions) -> RunOutcome:
    """A new run in ``run_path``. Raises UsageError (bad --skip, run dir in use),
    ApiLimitError (forecast does not fit), and whatever a step raises."""
    bad = planning.unknown_steps(options.cli_skip + tuple(settings.offboard.skip))
    if bad:
        raise errors.UsageError(f"unknown step {bad[0]!r}",
                                hint="steps: " + ", ".join(planning.STEPS))
    decisions = planning.decide_steps(switches(settings, options.cli_skip))
    notes: list[Note] = []
    if not next(d for d in decisions if d.name == "preflight").run:
        # The survey is what makes the plan and the forecast; it reads only, so it always
        # runs, and the skip is noted.
        decisions = tuple(replace(d, run=True, why=None) if d.name == "preflight" else d
                          for d in decisions)
        notes.append(note("preflight_not_skippable"))
    st.check_named_people(settings, session)   # before run.json: a typo writes nothing
    run = RunDir.create(run_path, mode="dry-run" if options.dry_run else "real",
                        tool_version=__version__, lang=options.lang,
                        steps=_initial_steps(decisions))
    run.set(contract=to_jsonable(options.contract))
    _warn(run, *notes)
    ctx = _context(settings, session, run, options, run.data.get("contract"))
    try:
        _preflight(ctx, decisions, options)
        if options.dry_run:
            return _dry_run(ctx, decisions)
        _confirm(ctx, options)
        return _continue(ctx, options)
    finally:
        _finish(ctx)


def resume_run(settings: Settings, session: OrgSession, run_path: Path,
               options: RunOptions) -> RunOutcome:
    """Continue ``run_path`` from its first step not done. Raises UsageError."""
    run = RunDir.load(run_path)
    if run.mode != "real":
        raise errors.UsageError(f"{run_path} is a dry run: there is nothing to resume",
                                hint="start a real run with `sfexit offboard`")
    st.check_named_people(settings, session)
    ctx = _context(settings, session, run, options, run.data.get("contract"))
    run.set(finished_at=None)   # running again: set when this attempt ends
    try:
        if run.step("preflight")["status"] != "done":
            decisions = planning.decide_steps(switches(settings, options.cli_skip))
            _skip_now(run, decisions)
            _preflight(ctx, decisions, options)
            _confirm(ctx, options)
        ctx.journal = Journal.open(run.journal_path)
        ctx.journal.note("resumed", run_id=run.data["run_id"], at_step=run.first_unfinished())
        return _continue(ctx, options)
    finally:
        _finish(ctx)


def _skip_now(run: RunDir, decisions: tuple[planning.StepDecision, ...]) -> None:
    """A run the preflight refused (a permission, the forecast) is resumed with ``--skip
    STEP``: the step, not started yet, is skipped now, with its reason."""
    for d in decisions:
        if not d.run and d.name != "preflight" and run.step(d.name)["status"] == "planned":
            run.update_step(d.name, status="skipped", **step_fields(d.why))


def _warn(run: RunDir, *notes: Note) -> None:
    """Add warnings: the English ``warnings`` (unchanged shape) and ``warning_codes``."""
    if notes:
        run.set(warnings=[*run.data.get("warnings", []), *(n.text for n in notes)],
                warning_codes=[*run.data.get("warning_codes", []),
                               *(n.warning() for n in notes)])


def _finish(ctx: st.RunContext) -> None:
    """The run ends here (done, partial, failed, refused or interrupted): ``finished_at``,
    and the journal's head as it is now, which is then its FINAL head: `report verify` of a
    finished run requires exactly that head. Called before the report step too, because the
    report step changes nothing in the org and journals nothing (the report proves the head; it
    cannot be part of the chain it proves). A resume clears ``finished_at`` again."""
    values: dict[str, Any] = {}
    if not ctx.run.data.get("finished_at"):
        values["finished_at"] = now_iso()
    if ctx.journal is not None:
        values["journal_head"] = ctx.journal.head_hash
    if values:
        ctx.run.set(**values)


def _context(settings: Settings, session: OrgSession, run: RunDir, options: RunOptions,
             contract: dict[str, Any] | None) -> st.RunContext:
    """``contract``: the plan as run.json holds it (a resumed run keeps its first day's)."""
    return st.RunContext(settings=settings, session=session, run=run, journal=None,
                         dry_run=run.mode != "real", contract=contract,
                         lang=options.lang, force=options.force, cli_skip=options.cli_skip,
                         sleep=options.sleep, now=options.now,
                         on_progress=options.on_progress,
                         on_step=options.on_step)


def _preflight(ctx: st.RunContext, decisions: tuple[planning.StepDecision, ...],
               options: RunOptions) -> None:
    run = ctx.run
    started, calls = now_iso(), ctx.session.calls
    run.update_step("preflight", status="running", started_at=started)
    ctx.on_step("preflight", "started")
    try:
        sv = survey.survey(ctx, decisions)
    except BaseException as exc:
        run.update_step("preflight", status="failed", **_reason(exc).step_fields(),
                        finished_at=now_iso())
        ctx.on_step("preflight", "failed")
        raise
    ctx.survey = sv
    fc = planning.forecast(decisions, sv.counts)
    days = days_of(ctx, sv, fc, setup_calls=ctx.session.calls - calls)
    for name, usage in fc.steps.items():
        run.update_step(name, forecast=to_jsonable(usage))
    run.set(org=sv.org, operator=sv.operator, limits_before=sv.limits,
            forecast={**to_jsonable(fc.total), "fits": fc.fits, "lines": list(fc.lines),
                      "days": days.days, "reserve_pct": days.reserve_pct,
                      "finish_by": iso_or_none(days.finish_by)})
    _warn(run, *sv.warnings)
    for unknown in (n for n in sv.warnings if n.code == "permission_unknown"):
        options.warn(str(unknown.params["message"]))   # the line `export bulk` warns with
    used = {**zero_usage(), "rest_calls": ctx.session.calls - calls}
    result = survey.preflight_result(sv, fc)
    _refuse_without_permissions(ctx, sv, used, result)
    spans_days = not ctx.force and spans_days_of(fc, days)
    if spans_days:   # not refused: planned over days (a dry run shows it, the report too)
        _warn(run, note("forecast_days", days=days.days, reserve=f"{days.reserve_pct:g}",
                        finish_by=utc_text(days.finish_by) if days.finish_by else "?"))
    if not fc.fits and not ctx.force and not ctx.dry_run and not spans_days:
        run.update_step("preflight", status="failed", used=used, result=result,
                        finished_at=now_iso(), **note("forecast_refused").step_fields())
        raise errors.ApiLimitError(
            "the offboard does not fit the org's remaining limits: " + fc.short_lines,
            hint="wait for the 24-hour limits to recover, skip steps (--skip), or pass "
                 "--force to start anyway (what completes is kept; --resume continues)")
    if not fc.fits and (ctx.force or ctx.dry_run):   # recorded, and shown in the report
        # ``limits``: the English lines (the warning's text); ``shortfall``: the same as
        # numbers, which the report words and formats in the reader's language.
        _warn(run, note("forecast_short" if ctx.dry_run else "forecast_forced",
                        limits=fc.short_lines,
                        shortfall=[{"limit": x.limit, "forecast": x.forecast,
                                    "remaining": x.remaining} for x in fc.shortfall]))
    run.update_step("preflight", status="done", used=used, result=result,
                    finished_at=now_iso())
    ctx.on_step("preflight", "done")
    if not ctx.dry_run:   # a dry run prints them with its plan
        for line in fc.lines:
            options.info(f"Forecast: {line}")


def _refuse_without_permissions(ctx: st.RunContext, sv: survey.Survey, used: dict[str, int],
                                result: dict[str, Any]) -> None:
    """A step that certainly cannot work with the running user's permissions (its own check
    would stop it: people.permissions) stops a real run here, before the first change,
    unless ``force``. A dry run reports it (the preflight's warnings and permission_checks)."""
    blocked = [c for c in sv.permission_checks if c.refusal]
    if not blocked or ctx.force or ctx.dry_run:
        return
    names = [c.step for c in blocked]
    ctx.run.update_step("preflight", status="failed", used=used, result=result,
                        finished_at=now_iso(),
                        **note("permissions_refused", steps=", ".join(names)).step_fields())
    from sfexit.people.permissions import PermissionDenied

    raise PermissionDenied(
        "the offboard did not start, nothing was changed: "
        + "; ".join(f"{c.step}: {c.refusal}" for c in blocked),
        hint=f"leave the step out with {' '.join('--skip ' + n for n in names)}, ask an admin "
             "to grant the permission, or pass --force to start anyway and let the step fail")


def plan_lines(ctx: st.RunContext) -> list[str]:
    """What the run will do, in numbers: the real run's question shows these lines, the dry
    run prints them (the same counts, from the same survey)."""
    sv = ctx.survey
    if sv is None:
        return []
    c = sv.counts
    names = {s["name"] for s in ctx.run.data["steps"] if s["status"] != "skipped"}
    calls = ctx.run.data.get("forecast", {}).get("rest_calls", 0)
    lines = [f"Org: {sv.org.get('name')}"]
    if "export" in names:
        lines.append(f"Export: {plural(len(c.rows), 'object')} "
                     f"({plural(sum(c.rows.values()), 'row')}), {plural(c.files, 'file')} "
                     f"({size(c.file_bytes)})")
    if "freeze" in names:
        lines.append(f"Users to freeze: {c.freeze_users:,}")
    if "reassign" in names:
        per = ", ".join(f"{k} {v:,}" for k, v in sorted(c.moves.items()) if v)
        lines.append(f"Records to move to {ctx.settings.users.successor or 'nobody'}: "
                     f"{sum(c.moves.values()):,}" + (f" ({per})" if per else ""))
    if "deactivate" in names:
        lines.append(f"Users to deactivate: {c.deactivate_users:,}")
    lines.append(f"API calls: about {calls:,}")
    fc = ctx.run.data.get("forecast", {})
    if fc.get("days") and fc["days"] > 1:
        lines.append(f"Days: about {fc['days']} of the org's daily limits above a "
                     f"{fc.get('reserve_pct', 10):g}% reserve (Salesforce's rolling 24-hour "
                     f"window): the export pauses at the reserve, --resume continues it; the "
                     f"last part after {fc.get('finish_by')}")
    elif fc.get("days") == 1:
        lines.append(f"Days: one (fits the org's daily limits above a "
                     f"{fc.get('reserve_pct', 10):g}% reserve)")
    return lines


def _confirm(ctx: st.RunContext, options: RunOptions) -> None:
    options.confirm("\n".join(plan_lines(ctx)) + "\nGo ahead?")


def _dry_run(ctx: st.RunContext, decisions: tuple[planning.StepDecision, ...]) -> RunOutcome:
    run = ctx.run
    for d in decisions:
        if not d.run or d.name in ("preflight", "report"):
            continue
        if d.name == "dates":
            run.update_step("dates", status="done", result=ctx.contract, started_at=now_iso(),
                            finished_at=now_iso())
            continue
        run.update_step(d.name, status="planned", result=survey.planned_result(d.name, ctx))
    _finish(ctx)
    if next(d for d in decisions if d.name == "report").run:
        _run_step(ctx, "report", st.run_report)
    return replace(_outcome(run, None), plan=tuple(plan_lines(ctx)))


def _continue(ctx: st.RunContext, options: RunOptions) -> RunOutcome:
    run = ctx.run
    if ctx.journal is None:   # its path is in the result, printed once at the end
        ctx.journal = Journal.open(run.journal_path)
    for s in list(run.data["steps"]):
        if s["status"] in ("done", "skipped"):
            continue
        if s["name"] == "report":
            _finish(ctx)   # the report reads the finished run.json
        outcome = _run_step(ctx, s["name"], st.REAL_STEPS[s["name"]])
        if outcome == "failed":
            break
    return replace(_outcome(run, ctx.journal), plan=tuple(plan_lines(ctx)))


def _run_step(ctx: st.RunContext, name: str, fn: Callable[[st.RunContext], st.StepResult]
              ) -> StepStatus:
    run = ctx.run
    # The report step journals nothing: it changes nothing, and proves the journal's head.
    journal = ctx.journal if name != "report" else None
    before = run.step(name)
    prior = before.get("used") or zero_usage()
    calls = ctx.session.calls
    run.update_step(name, status="running", **NO_REASON,
                    started_at=before.get("started_at") or now_iso(), finished_at=None)
    if journal is not None:
        journal.step_start(f"offboard {name}", resumed=before["status"] in ("running", "failed"))
    ctx.on_step(name, "started")
    try:
        room_for(ctx, name)
        res = fn(ctx)
        # The last moment a crash can leave a step's changes made but not recorded as done
        # (tests interrupt here); a resume re-runs the step, which finds nothing left to do.
        ctx.on_progress(name, STEP_FINISHED)
    except BaseException as exc:
        used = _add(prior, {"rest_calls": ctx.session.calls - calls})
        why = _reason(exc)
        run.update_step(name, status="failed", **why.step_fields(), used=used,
                        finished_at=now_iso())
        if journal is not None:
            journal.step_end(f"offboard {name}", "failed", reason=why.text)
            run.set(journal_head=journal.head_hash)
        ctx.on_step(name, "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed")
        raise
    used = _add(prior, {"rest_calls": ctx.session.calls - calls, **res.used})
    if journal is not None:
        journal.step_end(f"offboard {name}", res.status, reason=res.reason)
    run.update_step(name, status=res.status, **step_fields(res.why), used=used,
                    result=res.result, finished_at=now_iso())
    if journal is not None:
        run.set(journal_head=journal.head_hash)
    ctx.on_step(name, res.status)
    return res.status


def _add(prior: dict[str, Any], new: dict[str, Any]) -> dict[str, int]:
    out = {k: int(prior.get(k, 0)) for k in zero_usage()}
    for k, v in new.items():
        out[k] = out.get(k, 0) + int(math.ceil(v))
    return out


def _reason(exc: BaseException) -> Note:
    if isinstance(exc, KeyboardInterrupt):
        return note("interrupted")
    if isinstance(exc, errors.PausedForLimits):
        return note("paused_for_limits", resume_after=exc.resume_after or "?")
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    return note("step_error", error=message)


def _outcome(run: RunDir, journal: Journal | None) -> RunOutcome:
    report = next((s.get("result") for s in run.data["steps"]
                   if s["name"] == "report" and s["status"] == "done"), None)
    fc = run.data.get("forecast") or None
    pre = run.step("preflight").get("result")
    return RunOutcome(run.path, run.mode, [dict(s) for s in run.data["steps"]],
                      journal.path if journal is not None else None, report, fc,
                      fc.get("fits") if fc else None,
                      pre.get("permission_checks") if isinstance(pre, dict) else None)
