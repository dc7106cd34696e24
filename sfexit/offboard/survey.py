"""What ``sfexit offboard`` knows before it changes anything: ``survey``, the preflight's reading
pass (the same discovery and counts the real steps do, without downloading or changing
anything, so it runs on the read-only session of a dry run), the preflight's result (with what
each step needs of the running user, read once: ``people.permissions.check_steps``), and what a
dry run shows for each step (``planned_result``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from sfexit import errors
from sfexit.export.preflight import export_permissions, recorded, unknown_warning
from sfexit.jsonable import to_jsonable
from sfexit.offboard import plan as planning
from sfexit.offboard.notes import Note, note
from sfexit.offboard.steps import (
    RunContext,
    calls_since,
    leavers,
    ownership_summary,
    successor_pairs,
)
from sfexit.org import permissions as org_permissions
from sfexit.org.permissions import PERMISSIONS, UserPermissions
from sfexit.org.rest import RestClient
from sfexit.org.session import OrgSession
from sfexit.people.permissions import (
    Requirement,
    StepPermissions,
    check_steps,
    with_object_rights,
)
from sfexit.people.selection import Selection
from sfexit.people.users import OrgUser, UserFilter, list_users


@dataclass(frozen=True)
class Survey:
    org: dict[str, Any]
    operator: dict[str, Any]
    limits: dict[str, dict[str, int]]
    # the export's (export.preflight.PERMISSIONS): None where the org refused to show it
    permissions: dict[str, bool | None]
    counts: planning.Counts
    skipped_objects: tuple[Any, ...]
    freeze_plan: Any                   # people.freeze.FreezePlan
    ownership: Any | None              # people.ownership.OwnershipPlan
    ownership_note: str | None
    deactivate: Any | None             # (planned items, blocker reports, refused)
    warnings: tuple[Note, ...]
    # what each step that runs needs of the running user (people.permissions.check_steps)
    permission_checks: tuple[StepPermissions, ...] = ()


# --- preflight --------------------------------------------------------------------------------

def survey(ctx: RunContext, decisions: tuple[planning.StepDecision, ...]) -> Survey:
    """Read everything the plan needs. Reads only."""
    from sfexit.export.objects import select_objects
    from sfexit.export.preflight import row_counts, sample
    from sfexit.people import freeze

    s, rest, runs = ctx.session, RestClient(ctx.session), {d.name for d in decisions if d.run}
    warnings: list[Note] = []
    start = s.calls
    org, me, limits = rest.organization(), rest.identity(), rest.limits()
    cfg = ctx.settings.export
    selection = select_objects(rest, cfg.objects)
    rows = row_counts(rest, selection.objects, cfg.include_deleted)
    # The row width and the REST page time the export's own preflight measures, so the plan
    # routes objects (REST or Bulk) as `export bulk` will (export.schedule.routing).
    sampled = sample(rest, rows)
    width, page_s = sampled.row_bytes, sampled.page_s
    export_reads = calls_since(s, start)
    files = _file_count(rows, cfg.objects, cfg.all_versions)
    file_bytes = _file_bytes(rest, cfg.all_versions, cfg.objects) if "export" in runs else 0
    mark = s.calls
    everyone = list_users(s, UserFilter(active_only=False))
    list_cost = calls_since(s, mark)
    me_user = next((u for u in everyone if u.is_running_user), None)
    who = leavers(ctx, everyone, "freeze")
    mark = s.calls
    perms = _read_permissions(s, me.user_id, me_user)
    perm_cost = calls_since(s, mark)
    mark = s.calls
    fplan = freeze.plan(s, "freeze", who.touch, who.refused)
    plan_cost = calls_since(s, mark)
    # The real steps list the users again; they take their permissions from this preflight.
    ownership, own_note, reassign_reads = _survey_ownership(ctx, who, runs, list_cost)
    deact, deact_reads = _survey_deactivate(ctx, everyone, runs, list_cost)
    # Edit access per object with records to move, once the plan names them: one more query
    # (none with Modify All Data), counted in the preflight's own reads (``start`` below).
    moves = {st.object: st.count for st in ownership.steps} if ownership else {}
    if moves:
        perms = with_object_rights(s, perms, moves)
    checks = check_steps(perms, [d.name for d in decisions if d.run], moves)
    warnings += _permission_warnings(checks, perms)
    if ownership is not None:
        warnings += [note("reassign_warning", message=w)
                     for w in (*ownership.refusals, *ownership.warnings)]
    counts = planning.Counts(
        rows=rows if "export" in runs else {}, row_bytes=width, files=files,
        rest_below=cfg.rest_below, rest_page_s=page_s, parallel=cfg.parallel,
        file_bytes=file_bytes, freeze_users=len(fplan.changes),
        moves=moves,
        deactivate_users=sum(i.status != "blocked" for i in deact[0]) if deact else 0,
        # The export checks its permissions itself (export.preflight, org.permissions): the
        # same reads as ours plus the user's ProfileId.
        reads={"export": export_reads + perm_cost + 1,
               "freeze": list_cost + 2 * plan_cost,
               "reassign": reassign_reads, "deactivate": deact_reads},
        remaining={n: lim.remaining for n, lim in limits.items()})
    counts = _with_preflight(counts, calls_since(s, start))
    return Survey(
        org={"id": org.org_id, "name": org.name, "instance_url": s.instance_url,
             "edition": org.edition, "is_sandbox": org.is_sandbox,
             "api_version": s.api_version},
        operator={"username": me.username, "user_id": me.user_id,
                  "profile": me_user.profile if me_user else None},
        limits={n: {"max": lim.max, "remaining": lim.remaining} for n, lim in limits.items()},
        permissions=recorded(*export_permissions(perms)),
        counts=counts, skipped_objects=selection.skipped,
        freeze_plan=fplan, ownership=ownership, ownership_note=own_note, deactivate=deact,
        warnings=tuple(warnings), permission_checks=checks)


def _with_preflight(counts: planning.Counts, calls: int) -> planning.Counts:
    return replace(counts, reads={**counts.reads, "preflight": calls})


def _file_count(rows: dict[str, int], objects: tuple[str, ...] | None,
                all_versions: bool) -> int:
    """The file bodies the export would download, from the row counts: those of the file
    objects the export's ``objects`` name (files_listing.sources); latest ContentVersions are
    as many as ContentDocuments."""
    from sfexit.export.files_listing import sources

    latest = rows.get("ContentDocument", rows.get("ContentVersion", 0))
    return sum(latest if s.object == "ContentVersion" and not all_versions
               else rows.get(s.object, 0) for s in sources(objects))


def _file_bytes(rest: RestClient, all_versions: bool, objects: tuple[str, ...] | None) -> int:
    """The bytes of the file bodies the export would download: ``SUM()`` of each file
    object's size field (of the file objects ``objects`` name), with the files step's own
    filter (latest ContentVersions unless ``all_versions``). One aggregate query per object; an
    object the user cannot query counts 0. Deleted files (``include_deleted``) are not in the
    sum: aggregates run on ``query``."""
    from sfexit.export.files_listing import file_filter, sources
    from sfexit.export.verify import sum_of

    total = 0
    for source in sources(objects):
        try:
            total += sum_of(rest, source.object, source.size_field,
                          file_filter(source, all_versions)) or 0
        except errors.SalesforceError:
            continue
    return total


def _read_permissions(session: OrgSession, user_id: str, me: OrgUser | None
                      ) -> UserPermissions:
    """The running user's permissions, read ONCE for every step, as the export reads them
    (org.permissions.start with ``refusals``: a read the org refuses leaves what it could
    grant unknown, never "not granted": export.preflight). Any other error of the org leaves
    every permission unknown, and ``refused`` says why."""
    try:
        return org_permissions.start(RestClient(session), user_id,
                                     profile_id=me.profile_id if me else None,
                                     refusals=True)()
    except errors.SalesforceError as exc:
        return replace(org_permissions.nothing_known(user_id),
                       refused=(f"permissions not readable: {exc.one_line()}",))


def _permission_warnings(checks: tuple[StepPermissions, ...], perms: UserPermissions
                         ) -> list[Note]:
    # ``check``: the report words the consequence in the reader's language
    # (report.perm_missed_<check>, per object report.perm_object_<lacks> with the object and
    # its records); ``message`` stays the English sentence. An unknown permission is a
    # ``permission_unknown`` warning, never a "missing permission" (_unknown_line).
    out: list[Note] = []
    for c in checks:
        for r in c.problems:
            if not r.consequence or r.status == "not checked":
                continue
            if r.status == "unknown" and r.permissions:
                out.append(note("permission_unknown", step=c.step,
                                message=_unknown_line(perms, c.step, r)))
                continue
            if not r.objects:
                out.append(note("permission_missing", step=c.step, message=r.consequence,
                                check=r.code))
                continue
            out += [note("permission_missing", step=c.step, message=a.consequence, check=r.code,
                         object=a.sobject, lacks=a.lacks, records=a.records)
                    for a in r.objects if a.consequence]
    return out


def _unknown_line(perms: UserPermissions, step: str, r: Requirement) -> str:
    """The line ``export bulk`` warns with for an unknown permission (export.preflight
    ``unknown_warning``), word for word for the export's own permissions."""
    _, export_unknown = export_permissions(perms)
    if step == "export" and len(r.permissions) == 1 and r.permissions[0] in export_unknown:
        return unknown_warning(r.permissions[0], export_unknown[r.permissions[0]])
    why = "; ".join(perms.refused) or "the org's API does not show it"
    return unknown_warning(" or ".join(r.permissions), f"{why}; {r.consequence}")


def permission_result(checks: tuple[StepPermissions, ...]) -> list[dict[str, Any]]:
    """The preflight's ``permission_checks`` (run.json, ``--json``): per step that runs, what
    it needs, granted / missing / unknown / not checked, and what would be missed; the per
    object check lists each object with records to move (``objects``)."""
    return [{"step": c.step, "refused": c.refusal is not None, "refusal": c.refusal,
             "requirements": [{"code": r.code, "needs": [PERMISSIONS[k] for k in r.permissions],
                               "status": r.status, "consequence": r.consequence,
                               **({"objects": [{"object": a.sobject, "status": a.status,
                                                "lacks": a.lacks, "records": a.records}
                                               for a in r.objects]} if r.objects else {})}
                              for r in c.requirements]} for c in checks]


def _survey_ownership(ctx: RunContext, who: Selection, runs: set[str], base: int
                      ) -> tuple[Any | None, str | None, int]:
    from sfexit.people.ownership_read import build_plan

    if "reassign" not in runs:
        return None, None, 0
    pairs = successor_pairs(ctx, who)
    if not pairs:
        return None, "nobody leaves: no records to move", base
    mark = ctx.session.calls
    the_plan = build_plan(ctx.session, pairs)
    return the_plan, None, base + calls_since(ctx.session, mark)


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
    return (planned, reports, refused), base + calls_since(ctx.session, mark)


def preflight_result(sv: Survey, fc: planning.Forecast) -> dict[str, Any]:
    return {"org": sv.org, "operator": sv.operator, "permissions": sv.permissions,
            "permission_checks": permission_result(sv.permission_checks),
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
                "files_bytes": c.file_bytes,
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

