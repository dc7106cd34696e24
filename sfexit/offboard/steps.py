"""The steps of ``sfexit offboard``: each a function ``(ctx) -> StepResult`` over the EXISTING
library (sfexit.export, sfexit.people, sfexit.report); nothing here re-implements them.

The preflight's reading pass (``survey``) and what a dry run shows are in ``survey.py``.
The real people steps re-plan from the org's current state, which is what makes ``--resume``
safe: a user frozen or a record moved before the crash is seen as such and not touched again.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from sfexit import errors
from sfexit.config import Settings
from sfexit.journal import Journal
from sfexit.jsonable import dumps, to_jsonable
from sfexit.offboard.notes import Note, note
from sfexit.offboard.rundir import RunDir, StepStatus
from sfexit.org.session import OrgSession
from sfexit.people.selection import KeepList, Selection, select_users
from sfexit.people.users import OrgUser, UserFilter, list_users

if TYPE_CHECKING:
    from sfexit.offboard.survey import Survey

MB = 1024 * 1024
Progress = Callable[[str, Any], None]   # (step, event): an export ObjectProgress, or a message


@dataclass
class RunContext:
    settings: Settings
    session: OrgSession
    run: RunDir
    journal: Journal | None              # None in a dry run: nothing is changed
    dry_run: bool
    contract: dict[str, Any] | None      # rules.ContractPlan as JSON (run.json's contract)
    lang: str
    force: bool = False
    cli_skip: tuple[str, ...] = ()
    sleep: Callable[[float], None] = lambda _s: None
    # the time a pause names (export/budget.py); the CLI's clock
    now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)
    on_progress: Progress = lambda _step, _event: None
    # each step as it starts ("started") and ends (its status): for a person watching
    on_step: Callable[[str, str], None] = lambda _step, _status: None
    survey: Survey | None = None


@dataclass(frozen=True)
class StepResult:
    status: StepStatus
    why: Note | None = None                       # the reason, with its stable code
    result: Any = None                            # JSON-ready
    used: Mapping[str, int] = field(default_factory=dict)  # besides rest_calls (measured)

    @property
    def reason(self) -> str | None:
        return self.why.text if self.why is not None else None


# --- who leaves -------------------------------------------------------------------------------

def leavers(ctx: RunContext, everyone: list[OrgUser], action: Any) -> Selection:
    """Every active user minus the keep-lists, the successor, the running user and the last
    admin (people.selection decides and gives each refusal its reason)."""
    cfg = ctx.settings.users
    keep = cfg.keep + ((cfg.successor,) if cfg.successor else ())
    return select_users(everyone, action=action, all_active=True,
                        keep=KeepList(keep, cfg.keep_profiles))


def check_named_people(settings: Settings, session: OrgSession) -> None:
    """``[users] keep`` and ``[users] successor`` name people of the org, and the successor
    can take over (active, not frozen), before the run writes anything (people.names: a
    keep-list typo would freeze the person meant to be kept). A successor may be a queue.
    Reads only (the user list, and a queue lookup for a successor that is no user).
    Raises UsageError naming each unknown name with the closest usernames."""
    from sfexit.people.names import Named, find_user, successor_problem, unknown_error
    from sfexit.people.ownership_read import find_queue

    cfg = settings.users
    everyone = list_users(session, UserFilter(active_only=False), running_id="")
    unknown = [Named(k, "[users] keep") for k in dict.fromkeys(cfg.keep)
               if find_user(everyone, k) is None]
    successor = find_user(everyone, cfg.successor) if cfg.successor else None
    if cfg.successor and successor is None and find_queue(session, cfg.successor) is None:
        unknown.append(Named(cfg.successor, "[users] successor"))
    if unknown:
        raise unknown_error(unknown, [u.username for u in everyone])
    problem = successor_problem(successor, "[users] successor") if successor else None
    if problem:
        raise errors.UsageError("refused before any change: " + problem)


def successor_pairs(ctx: RunContext, selection: Selection) -> list[tuple[str, str]]:
    successor = ctx.settings.users.successor or ""
    return [(u.username, successor) for u in selection.touch
            if u.username.casefold() != successor.casefold()]


def calls_since(session: OrgSession, since: int) -> int:
    return int(session.calls) - since

def ownership_summary(the_plan: Any | None, note: str | None) -> dict[str, Any]:
    if the_plan is None:
        return {"total": 0, "steps": [], "note": note}
    return {"total": the_plan.total, "refusals": list(the_plan.refusals),
            "warnings": list(the_plan.warnings), "steps": [
                {"object": s.object, "filter": s.filter_text, "count": s.count,
                 # ids beside the names: the report maps the transfer's id pairs exactly
                 "moves": [{"from": m.source, "source_id": m.source_id, "to": m.target,
                            "target_id": m.target_id, "count": m.count}
                           for m in s.moves]} for s in the_plan.steps]}


# --- the real steps ---------------------------------------------------------------------------

def run_dates(ctx: RunContext) -> StepResult:
    return StepResult("done", result=ctx.contract)


def run_export(ctx: RunContext) -> StepResult:
    """sfexit.export.backup.run_backup into RUN_DIR/export (resumes by its manifest)."""
    from sfexit.export.backup import run_backup
    from sfexit.export.data_run import ExportOptions

    cfg = ctx.settings.export
    options = ExportOptions(dest=ctx.run.export_dir, objects=cfg.objects,
                            include_deleted=cfg.include_deleted, parallel=cfg.parallel,
                            rest_below=cfg.rest_below)
    summary = run_backup(ctx.session, options, force=ctx.force, files=True,
                         all_versions=cfg.all_versions,
                         on_progress=lambda p: ctx.on_progress("export", p),
                         on_file_progress=lambda *a, **k: ctx.on_progress("export", a),
                         sleep=ctx.sleep, reserve_pct=cfg.reserve, now=ctx.now)
    body = to_jsonable(summary)
    failed = bool(summary.failed or summary.files_failed)
    # Which objects and files failed, and why, is in the result (and the report's tables).
    why = note("export_partial", objects=len(summary.failed),
               files=int(summary.files_failed)) if failed else None
    return StepResult("partial" if failed else "done", why, body,
                      {"bulk_query_jobs": summary.bulk_jobs,
                       "bulk_result_mb": math.ceil(summary.bytes / MB)})


def run_verify(ctx: RunContext) -> StepResult:
    """sfexit.export.verify against the disk and the org; a difference stops the run."""
    from sfexit.export.verify import verify_backup

    # changes=False: the export was made moments ago, in this run
    report = verify_backup(ctx.run.export_dir, session=ctx.session,
                           on_progress=lambda m: ctx.on_progress("verify", m), changes=False)
    body = {**to_jsonable(report), "ok": report.ok}
    if report.ok:
        return StepResult("done", result=body)
    return StepResult("failed", note("verify_differences", count=len(report.differences)),
                      body)


def run_freeze(ctx: RunContext) -> StepResult:
    """people.freeze on every leaver, re-planned from the org's current state."""
    from sfexit.people import freeze

    assert ctx.journal is not None
    _stop_if_refused(ctx, "freeze")
    everyone = list_users(ctx.session, UserFilter(active_only=False))
    who = leavers(ctx, everyone, "freeze")
    the_plan = freeze.plan(ctx.session, "freeze", who.touch, who.refused)
    path = freeze.write_plan_csv(the_plan, ctx.run.plans_dir / "freeze-plan.csv")
    # apply() first settles what an attempt killed during its call left (write-ahead intents,
    # read from the org), and reports users that attempt froze as frozen by this run.
    result = freeze.apply(ctx.session, the_plan, ctx.journal, plan_file=path,
                          on_progress=lambda m: ctx.on_progress("freeze", m))
    body = {**to_jsonable(result), "changed": len(result.changed), "failed": len(result.failed)}
    status: StepStatus = "partial" if result.failed else "done"
    return StepResult(status, note("freeze_failed", count=len(result.failed))
                      if result.failed else None, body)


def run_reassign(ctx: RunContext) -> StepResult:
    """Plan from the CURRENT owners (people.ownership_read: records moved before a crash are
    not planned again), then transfer (people.ownership_transfer)."""
    from sfexit.people.ownership_read import build_plan
    from sfexit.people.ownership_transfer import transfer

    assert ctx.journal is not None
    everyone = list_users(ctx.session, UserFilter(active_only=False))
    pairs = successor_pairs(ctx, leavers(ctx, everyone, "freeze"))
    if not pairs:
        return StepResult("done", note("nobody_leaves"),
                          {"moved_total": 0, "failed_total": 0, "objects": []})
    the_plan = build_plan(ctx.session, pairs)
    if the_plan.refused:
        return StepResult("failed", note("reassign_refused",
                                         refusals="; ".join(the_plan.refusals)),
                          ownership_summary(the_plan, None))
    the_plan, held = _hold_back_blocked(ctx, the_plan)
    (ctx.run.plans_dir / "reassign-plan.json").write_text(
        _json(ownership_summary(the_plan, None)), encoding="utf-8")
    done = transfer(ctx.session, the_plan, ctx.journal, sleep=ctx.sleep,
                    now=dt.datetime.now(dt.UTC),
                    on_progress=lambda m: ctx.on_progress("reassign", m))
    body = {**to_jsonable(done), "moved_total": done.moved, "failed_total": done.failed,
            "moved": {o.object: o.moved_by_pair for o in done.objects},
            "failure_files": {o.object: o.failure_file for o in done.objects
                              if o.failure_file},
            "plan": ownership_summary(the_plan, None)}
    bulk = [o for o in done.objects if o.transport == "bulk"]
    used = {"ingest_records": sum(o.rows for o in bulk), "bulk_query_jobs": len(bulk)}
    if held:
        body["held_back"] = held
        return StepResult("partial", note("reassign_held", objects=", ".join(held),
                                          count=sum(held.values())), body, used)
    return StepResult("partial" if done.failed else "done",
                      note("reassign_failed", count=done.failed) if done.failed else None,
                      body, used)


def _permission_check(ctx: RunContext, step: str) -> dict[str, Any]:
    """The preflight's permission check of ``step`` from run.json (offboard/survey.py
    ``permission_result``): the running user's permissions are read once, before any change,
    and every step acts on the answer the plan was confirmed on. Empty when not checked."""
    pre = ctx.run.step("preflight").get("result")
    checks = pre.get("permission_checks") if isinstance(pre, dict) else None
    return next((c for c in checks or [] if isinstance(c, dict) and c.get("step") == step), {})


def _stop_if_refused(ctx: RunContext, step: str) -> None:
    """A step the preflight found cannot work (a run started with --force) fails here, before
    any change, with the preflight's line (people.permissions.missing_for)."""
    refusal = _permission_check(ctx, step).get("refusal")
    if refusal:
        from sfexit.people.permissions import PermissionDenied

        raise PermissionDenied(str(refusal), hint="ask an admin to grant it (a permission "
                                                  "set), or log in as a user who has it")


def _hold_back_blocked(ctx: RunContext, the_plan: Any) -> tuple[Any, dict[str, int]]:
    """Leave out the objects the preflight found the running user may not move (no edit or
    transfer right: people.ownership_access), rather than send every record to fail on its
    own; their records stay with the departing users, as the preflight said
    (:func:`_permission_check`). Returns the plan without them and object -> records held back."""
    from dataclasses import replace as replaced

    blocked = {str(o.get("object")) for req in _permission_check(ctx, "reassign")
               .get("requirements") or [] for o in req.get("objects") or []
               if o.get("status") == "missing"}
    held: dict[str, int] = {}
    for step in the_plan.steps:
        if step.object in blocked:
            held[step.object] = held.get(step.object, 0) + step.count
    if not held:
        return the_plan, {}
    return replaced(the_plan, steps=tuple(s for s in the_plan.steps
                                          if s.object not in blocked)), held


def run_deactivate(ctx: RunContext) -> StepResult:
    """people.deactivate after the blocker scan; users already inactive are not touched."""
    from sfexit.people import deactivate as deact
    from sfexit.people.blockers import scan_blockers

    assert ctx.journal is not None
    _stop_if_refused(ctx, "deactivate")
    everyone = list_users(ctx.session, UserFilter(active_only=False))
    who = leavers(ctx, everyone, "deactivate")
    reports = scan_blockers(ctx.session, who.touch)
    planned = deact.plan_items(who.touch, reports, ignore_blockers=False)
    refused = [(w if isinstance(w, str) else w.username, r) for w, r in who.refused]
    deact.write_plan_csv(ctx.run.plans_dir / "deactivate-plan.csv", planned, refused)
    items = deact.set_active(ctx.session, planned, ctx.journal, direction="deactivate",
                             on_progress=lambda m: ctx.on_progress("deactivate", m))
    result = deact.DeactivateResult("deactivate", False, items, refused, str(ctx.journal.path))
    body = {**to_jsonable(result), "blockers": to_jsonable(reports),
            "changed": len(result.changed), "failed": len(result.failed)}
    return StepResult("partial" if result.failed else "done",
                      note("deactivate_failed", count=len(result.failed))
                      if result.failed else None, body)


def run_report(ctx: RunContext) -> StepResult:
    """sfexit.report.build_report (loaded when the step runs)."""
    from sfexit.report import build_report

    # own_step: the report shows this step done (run.json says running while it writes)
    json_path, html_path = build_report(ctx.run.path, lang=ctx.lang, own_step=True)
    return StepResult("done", result={"json": str(json_path), "html": str(html_path)})


def _json(value: Any) -> str:
    return dumps(value) + "\n"


REAL_STEPS: dict[str, Callable[[RunContext], StepResult]] = {
    "dates": run_dates, "export": run_export, "verify": run_verify, "freeze": run_freeze,
    "reassign": run_reassign, "deactivate": run_deactivate, "report": run_report,
}

