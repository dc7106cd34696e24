"""The steps of ``sfexit offboard``: each a function ``(ctx) -> StepResult`` over the EXISTING
library (sfexit.export, sfexit.people, sfexit.report); nothing here re-implements them.

``survey`` is the preflight's reading pass: the same discovery and counts the real steps do,
without downloading or changing anything, so it runs on the read-only session of a dry run.
The real people steps re-plan from the org's current state, which is what makes ``--resume``
safe: a user frozen or a record moved before the crash is seen as such and not touched again.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from sfexit.cli.output import to_jsonable
from sfexit.config import Settings
from sfexit.journal import Journal
from sfexit.offboard import plan as planning
from sfexit.offboard.notes import Note, note
from sfexit.offboard.rundir import RunDir
from sfexit.org.rest import RestClient
from sfexit.org.session import OrgSession
from sfexit.people.selection import KeepList, Selection, select_users
from sfexit.people.users import OrgUser, UserFilter, list_users

MB = 1024 * 1024
Progress = Callable[[str, Any], None]   # (step, event): an export ObjectProgress, or a message


@dataclass
class RunContext:
    settings: Settings
    session: OrgSession
    run: RunDir
    journal: Journal | None              # None in a dry run: nothing is changed
    dry_run: bool
    contract: dict[str, Any] | None      # `sfexit deadline --json`'s result for today
    lang: str
    force: bool = False
    cli_skip: tuple[str, ...] = ()
    sleep: Callable[[float], None] = lambda _s: None
    on_progress: Progress = lambda _step, _event: None
    survey: Survey | None = None


@dataclass(frozen=True)
class StepResult:
    status: str                                   # done | partial | failed | skipped | planned
    why: Note | None = None                       # the reason, with its stable code
    result: Any = None                            # JSON-ready
    used: Mapping[str, int] = field(default_factory=dict)  # besides rest_calls (measured)

    @property
    def reason(self) -> str | None:
        return self.why.text if self.why is not None else None


@dataclass(frozen=True)
class Survey:
    org: dict[str, Any]
    operator: dict[str, Any]
    limits: dict[str, dict[str, int]]
    permissions: dict[str, bool]
    counts: planning.Counts
    skipped_objects: tuple[Any, ...]
    freeze_plan: Any                   # people.freeze.FreezePlan
    ownership: Any | None              # people.ownership.OwnershipPlan
    ownership_note: str | None
    deactivate: Any | None             # (planned items, blocker reports, refused)
    warnings: tuple[Note, ...]


# --- who leaves -------------------------------------------------------------------------------

def leavers(ctx: RunContext, everyone: list[OrgUser], action: Any) -> Selection:
    """Every active user minus the keep-lists, the successor, the running user and the last
    admin (people.selection decides and gives each refusal its reason)."""
    cfg = ctx.settings.users
    keep = cfg.keep + ((cfg.successor,) if cfg.successor else ())
    return select_users(everyone, action=action, all_active=True,
                        keep=KeepList(keep, cfg.keep_profiles))


def _pairs(ctx: RunContext, selection: Selection) -> list[tuple[str, str]]:
    successor = ctx.settings.users.successor or ""
    return [(u.username, successor) for u in selection.touch
            if u.username.casefold() != successor.casefold()]


def _calls(session: OrgSession, since: int) -> int:
    return int(session.calls) - since


# --- preflight --------------------------------------------------------------------------------

def survey(ctx: RunContext, decisions: tuple[planning.StepDecision, ...]) -> Survey:
    """Read everything the plan needs. Reads only."""
    from sfexit.export.objects import select_objects
    from sfexit.export.preflight import check_permissions, row_counts, sample_row_bytes
    from sfexit.people import freeze

    s, rest, runs = ctx.session, RestClient(ctx.session), {d.name for d in decisions if d.run}
    warnings: list[Note] = []
    start = s.calls
    org, me, limits = rest.organization(), rest.identity(), rest.limits()
    permissions = check_permissions(s, me.user_id)
    cfg = ctx.settings.export
    selection = select_objects(rest, cfg.objects)
    rows = row_counts(rest, selection.objects, cfg.include_deleted)
    width = sample_row_bytes(rest, rows)
    export_reads = _calls(s, start)
    files = sum(rows.get(n, 0) for n in ("Attachment", "Document")) + rows.get(
        "ContentVersion" if cfg.all_versions else "ContentDocument", 0)
    mark = s.calls
    everyone = list_users(s, UserFilter(active_only=False))
    list_cost = _calls(s, mark)
    me_user = next((u for u in everyone if u.is_running_user), None)
    who = leavers(ctx, everyone, "freeze")
    mark = s.calls
    warnings += _permission_problem(s, me_user, "freeze")
    perm_cost = _calls(s, mark)
    mark = s.calls
    fplan = freeze.plan(s, "freeze", who.touch, who.refused)
    plan_cost = _calls(s, mark)
    ownership, own_note, reassign_reads = _survey_ownership(ctx, who, runs, list_cost + perm_cost)
    deact, deact_reads = _survey_deactivate(ctx, everyone, runs, list_cost + perm_cost)
    if ownership is not None:
        warnings += [note("reassign_warning", message=w)
                     for w in (*ownership.refusals, *ownership.warnings)]
    counts = planning.Counts(
        rows=rows if "export" in runs else {}, row_bytes=width, files=files,
        freeze_users=len(fplan.changes),
        moves={st.object: st.count for st in ownership.steps} if ownership else {},
        deactivate_users=sum(i.status != "blocked" for i in deact[0]) if deact else 0,
        reads={"export": export_reads, "freeze": list_cost + perm_cost + 2 * plan_cost,
               "reassign": reassign_reads, "deactivate": deact_reads},
        remaining={n: lim.remaining for n, lim in limits.items()})
    counts = _with_preflight(counts, _calls(s, start))
    return Survey(
        org={"id": org.org_id, "name": org.name, "instance_url": s.instance_url,
             "edition": org.edition, "is_sandbox": org.is_sandbox,
             "api_version": s.api_version},
        operator={"username": me.username, "user_id": me.user_id,
                  "profile": me_user.profile if me_user else None},
        limits={n: {"max": lim.max, "remaining": lim.remaining} for n, lim in limits.items()},
        permissions=permissions, counts=counts, skipped_objects=selection.skipped,
        freeze_plan=fplan, ownership=ownership, ownership_note=own_note, deactivate=deact,
        warnings=tuple(warnings))


def _with_preflight(counts: planning.Counts, calls: int) -> planning.Counts:
    return replace(counts, reads={**counts.reads, "preflight": calls})


def _permission_problem(session: OrgSession, me: OrgUser | None, action: Any) -> list[Note]:
    from sfexit.people.permissions import PermissionDenied, preflight

    if me is None:
        return []
    try:
        preflight(session, me.id, me.profile_id, action)
    except PermissionDenied as exc:
        return [note("permission_missing", step=str(action), message=exc.message)]
    return []


def _survey_ownership(ctx: RunContext, who: Selection, runs: set[str], base: int
                      ) -> tuple[Any | None, str | None, int]:
    from sfexit.people.ownership_io import build_plan

    if "reassign" not in runs:
        return None, None, 0
    pairs = _pairs(ctx, who)
    if not pairs:
        return None, "nobody leaves: no records to move", base
    mark = ctx.session.calls
    the_plan = build_plan(ctx.session, pairs)
    return the_plan, None, base + _calls(ctx.session, mark)


def _survey_deactivate(ctx: RunContext, everyone: list[OrgUser], runs: set[str], base: int
                       ) -> tuple[Any | None, int]:
    from sfexit.people import deactivate as deact
    from sfexit.people.blockers import scan_blockers

    if "deactivate" not in runs:
        return None, 0
    mark = ctx.session.calls
    who = leavers(ctx, everyone, "deactivate")
    reports = scan_blockers(ctx.session, who.touch)
    planned = deact.plan_items(who.touch, reports, ignore_blockers=False)
    refused = [(w if isinstance(w, str) else w.username, r) for w, r in who.refused]
    return (planned, reports, refused), base + _calls(ctx.session, mark)


def preflight_result(sv: Survey, fc: planning.Forecast) -> dict[str, Any]:
    return {"org": sv.org, "operator": sv.operator, "permissions": sv.permissions,
            "limits": sv.limits, "forecast": to_jsonable(fc), "fits": fc.fits,
            "forecast_lines": list(fc.lines), "warnings": [n.text for n in sv.warnings]}


# --- what a dry run shows for each step -------------------------------------------------------

def planned_result(name: str, ctx: RunContext) -> Any:
    """The plan of one step, from the survey (dry run)."""
    from sfexit.people import freeze

    sv = ctx.survey
    assert sv is not None
    c = sv.counts
    if name == "export":
        return {"objects": [{"name": n, "rows": r} for n, r in sorted(c.rows.items())],
                "object_count": len(c.rows), "rows": sum(c.rows.values()),
                "estimated_bytes": sum(c.rows.values()) * c.row_bytes, "files": c.files,
                "skipped": to_jsonable(sv.skipped_objects), "dest": str(ctx.run.export_dir)}
    if name == "verify":
        return {"objects": len(c.rows), "against_org": True}
    if name == "freeze":
        path = freeze.write_plan_csv(sv.freeze_plan, ctx.run.plans_dir / "freeze-plan.csv")
        return to_jsonable(freeze.unchanged_result(sv.freeze_plan, path))
    if name == "reassign":
        return ownership_summary(sv.ownership, sv.ownership_note)
    if name == "deactivate" and sv.deactivate is not None:
        planned, reports, refused = sv.deactivate
        return {"items": to_jsonable(planned), "refused": to_jsonable(refused),
                "blockers": to_jsonable(reports)}
    return None


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
    from sfexit.export.bulk import ExportOptions

    cfg = ctx.settings.export
    options = ExportOptions(dest=ctx.run.export_dir, objects=cfg.objects,
                            include_deleted=cfg.include_deleted, parallel=cfg.parallel)
    summary = run_backup(ctx.session, options, force=ctx.force, files=True,
                         all_versions=cfg.all_versions,
                         on_progress=lambda p: ctx.on_progress("export", p),
                         on_file_progress=lambda *a, **k: ctx.on_progress("export", a),
                         sleep=ctx.sleep)
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

    report = verify_backup(ctx.run.export_dir, session=ctx.session,
                           on_progress=lambda m: ctx.on_progress("verify", m))
    body = {**to_jsonable(report), "ok": report.ok}
    if report.ok:
        return StepResult("done", result=body)
    return StepResult("failed", note("verify_differences", count=len(report.differences)),
                      body)


def run_freeze(ctx: RunContext) -> StepResult:
    """people.freeze on every leaver, re-planned from the org's current state."""
    from sfexit.people import freeze

    assert ctx.journal is not None
    everyone = list_users(ctx.session, UserFilter(active_only=False))
    me = next((u for u in everyone if u.is_running_user), None)
    if me is not None:
        from sfexit.people.permissions import preflight

        preflight(ctx.session, me.id, me.profile_id, "freeze")
    who = leavers(ctx, everyone, "freeze")
    the_plan = freeze.plan(ctx.session, "freeze", who.touch, who.refused)
    path = freeze.write_plan_csv(the_plan, ctx.run.plans_dir / "freeze-plan.csv")
    result = freeze.apply(ctx.session, the_plan, ctx.journal, plan_file=path,
                          on_progress=lambda m: ctx.on_progress("freeze", m))
    result = _frozen_by_this_run(ctx.journal, result)
    body = {**to_jsonable(result), "changed": len(result.changed), "failed": len(result.failed)}
    status = "partial" if result.failed else "done"
    return StepResult(status, note("freeze_failed", count=len(result.failed))
                      if result.failed else None, body)


def _frozen_by_this_run(journal: Journal, result: Any) -> Any:
    """After a resume, users this run froze before the crash read as 'already frozen' now;
    the journal says this run froze them, so the result says 'frozen' (before: not frozen)."""
    from sfexit.people.freeze import FreezeItem

    ours = {e.target.get("user_id") for e in journal.entries()
            if e.kind == "change" and e.action == "freeze"}
    items = [FreezeItem(i.username, i.user_id, "frozen", False, True)
             if i.user_id in ours and i.status == "leave: already frozen" else i
             for i in result.items]
    return replace(result, items=items)


def run_reassign(ctx: RunContext) -> StepResult:
    """people.ownership_io: plan from the CURRENT owners (records moved before a crash are not
    planned again), then transfer."""
    from sfexit.people.ownership_io import build_plan, transfer

    assert ctx.journal is not None
    everyone = list_users(ctx.session, UserFilter(active_only=False))
    pairs = _pairs(ctx, leavers(ctx, everyone, "freeze"))
    if not pairs:
        return StepResult("done", note("nobody_leaves"),
                          {"moved_total": 0, "failed_total": 0, "objects": []})
    the_plan = build_plan(ctx.session, pairs)
    if the_plan.refused:
        return StepResult("failed", note("reassign_refused",
                                         refusals="; ".join(the_plan.refusals)),
                          ownership_summary(the_plan, None))
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
    return StepResult("partial" if done.failed else "done",
                      note("reassign_failed", count=done.failed) if done.failed else None,
                      body, used)


def run_deactivate(ctx: RunContext) -> StepResult:
    """people.deactivate after the blocker scan; users already inactive are not touched."""
    from sfexit.people import deactivate as deact
    from sfexit.people.blockers import scan_blockers

    assert ctx.journal is not None
    everyone = list_users(ctx.session, UserFilter(active_only=False))
    me = next((u for u in everyone if u.is_running_user), None)
    if me is not None:
        from sfexit.people.permissions import preflight

        preflight(ctx.session, me.id, me.profile_id, "deactivate")
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
    """sfexit.report.build_report, loaded lazily: skipped with the reason when absent."""
    try:
        from sfexit.report import build_report  # type: ignore[attr-defined,unused-ignore]
    except ImportError as exc:
        return StepResult("skipped", note("report_unavailable", error=str(exc)))
    json_path, html_path = build_report(ctx.run.path, lang=ctx.lang)
    return StepResult("done", result={"json": str(json_path), "html": str(html_path)})


def _json(value: Any) -> str:
    return json.dumps(to_jsonable(value), indent=2, ensure_ascii=False) + "\n"


REAL_STEPS: dict[str, Callable[[RunContext], StepResult]] = {
    "dates": run_dates, "export": run_export, "verify": run_verify, "freeze": run_freeze,
    "reassign": run_reassign, "deactivate": run_deactivate, "report": run_report,
}

