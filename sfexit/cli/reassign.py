"""``sfexit reassign``: give a departing user's records to a successor, and ``--undo`` it.

Thin: parse the options, build the plan (``people.ownership_read.build_plan``), show it, ask,
then one library call (``transfer`` or ``undo_transfer``). The org modules load inside the
command so ``sfexit --help`` stays light.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sfexit import errors
from sfexit.cli.confirmation import require_confirmation_possible
from sfexit.cli.context import AppContext, json_option, org_option, pass_app
from sfexit.cli.output import table

if TYPE_CHECKING:
    from sfexit.org.session import OrgSession
    from sfexit.people.ownership import OwnershipPlan
    from sfexit.people.ownership_transfer import TransferResult


def read_map(path: Path) -> list[tuple[str, str]]:
    """``from,to`` rows (a ``from,to`` header is optional). Raises UsageError."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            rows = [[c.strip() for c in r] for r in csv.reader(fh) if any(c.strip() for c in r)]
    except (OSError, UnicodeDecodeError) as exc:
        raise errors.UsageError(f"cannot read --map {path}: {exc}") from None
    if rows and [c.lower() for c in rows[0]] == ["from", "to"]:
        rows = rows[1:]
    for n, row in enumerate(rows, 1):
        if len(row) != 2 or not all(row):
            raise errors.UsageError(f"--map {path}: row {n} needs two values, from,to")
    if not rows:
        raise errors.UsageError(f"--map {path} has no from,to rows")
    return [(r[0], r[1]) for r in rows]


def _pairs(app: AppContext, source: str | None, target: str | None,
           map_file: Path | None) -> list[tuple[str, str]]:
    if map_file is not None:
        if source or target:
            raise errors.UsageError("give either --map or --from/--to, not both")
        return read_map(map_file)
    if not source:
        raise errors.UsageError("nobody to reassign from",
                                hint="give --from USER (with --to, or [users] successor), "
                                     "or --map FILE.csv")
    target = target or app.settings().users.successor
    if not target:
        raise errors.UsageError(f"no new owner for {source}",
                                hint="give --to USER_OR_QUEUE or set [users] successor")
    return [(source, target)]


def _objects(value: str | None) -> list[str] | None:
    if value is None:
        return None
    names = [n.strip() for n in value.split(",") if n.strip()]
    if not names:
        raise errors.UsageError("--objects needs at least one object name, e.g. Account,Lead")
    return names


def plan_dict(plan: OwnershipPlan) -> dict[str, Any]:
    return {"total": plan.total, "steps": [
        {"order": s.order, "object": s.object, "filter": s.filter.value,
         "filter_text": s.filter_text, "count": s.count,
         "moves": [{"from": m.source, "from_id": m.source_id, "to": m.target,
                    "to_id": m.target_id, "count": m.count} for m in s.moves]}
        for s in plan.steps],
        "refusals": list(plan.refusals), "warnings": list(plan.warnings),
        "notes": list(plan.notes)}


def plan_text(plan: OwnershipPlan) -> str:
    rows = [[s.order, s.object, s.filter_text, m.source, m.target, m.count]
            for s in plan.steps for m in s.moves]
    lines = ["Reassignment plan (nothing cascades; each step is its own update):",
             table(["Step", "Object", "Which records", "From", "To", "Records"], rows)
             if rows else "  no records to move",
             f"Total: {plan.total} records"]
    lines += [f"Refused: {r}" for r in plan.refusals]
    lines += [f"Warning: {w}" for w in plan.warnings]
    lines += [f"Note: {n}" for n in plan.notes]
    return "\n".join(lines)


def _confirm(app: AppContext, yes: bool, question: str) -> None:
    if not yes:
        app.confirm(question, no_terminal="confirmation needed and there is no terminal to ask",
                    hint="read the plan (--dry-run), then run again with --yes")


def _result(app: AppContext, done: TransferResult, extra: dict[str, Any]) -> dict[str, Any]:
    result = {**extra, "journal": done.journal, "moved_total": done.moved,
              "failed_total": done.failed,
              "moved": {o.object: o.moved_by_pair for o in done.objects},
              "objects": [{"object": o.object, "rows": o.rows, "moved": o.moved,
                           "failed": o.failed, "transport": o.transport,
                           "snapshot": o.snapshot, "failure_file": o.failure_file,
                           "lock_retried": o.lock_retried, "team_restored": o.team_restored,
                           "team_failed": o.team_failed}
                          for o in done.objects],
              "failure_files": {o.object: o.failure_file for o in done.objects
                                if o.failure_file}}
    if done.failed:
        app.out.warn(f"{done.failed} records failed; Salesforce's messages are in "
                     + ", ".join(result["failure_files"].values()))
    if done.team_failed:
        app.out.warn(f"{done.team_failed} dropped team members could not be re-added; "
                     f"Salesforce's messages are in the journal {done.journal}")
    return result


def _numbered(app: AppContext, objects: int) -> Any:
    """The transfer's messages, each object's first one numbered: "[2/5] Lead: 40 records
    by REST" (a retry of the same object keeps its number)."""
    seen: list[str] = []

    def say(message: str) -> None:
        name = message.split(":", 1)[0]
        if name not in seen:
            seen.append(name)
        app.out.info(f"[{seen.index(name) + 1}/{objects}] {message}")
    return say


def _render(app: AppContext, done: TransferResult, result: dict[str, Any], verb: str) -> int:
    """The result; exit 5 in one envelope (``status`` 5) when any record or team row failed."""
    if not (done.failed or done.team_failed):
        app.out.result(result, lambda: _human(done, verb))
        return errors.EXIT_OK
    what = [f"{done.failed} of {done.failed + done.moved} records failed"] if done.failed else []
    what += [f"{done.team_failed} team members not re-added"] if done.team_failed else []
    return app.out.partial(result, lambda: _human(done, verb), name="PartialFailure",
                           message="; ".join(what) + f" (journal: {done.journal})",
                           exit_code=errors.EXIT_PARTIAL)


def _human(done: TransferResult, verb: str) -> str:
    rows = [[o.object, o.transport, o.moved, o.failed, o.failure_file or ""]
            for o in done.objects]
    return (f"{verb} {done.moved} records ({done.failed} failed).\n"
            + table(["Object", "Via", "Done", "Failed", "Failure file"], rows)
            + f"\nJournal: {done.journal}")


@click.command()
@click.option("--from", "source", metavar="USER", help="Departing user (username or id).")
@click.option("--to", "target", metavar="USER_OR_QUEUE",
              help="New owner: username, user id or queue name [config: users.successor].")
@click.option("--map", "map_file", type=click.Path(path_type=Path, dir_okay=False),
              help="CSV of from,to rows, for several departing users.")
@click.option("--objects", metavar="A,B",
              help="Only these objects (default: every object whose OwnerId can change).")
@click.option("--dry-run", is_flag=True, help="Show the plan; read-only session, no writes.")
@click.option("--journal", "journal_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Journal file (default: the user data dir, journals/).")
@click.option("--undo", "undo_path", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              help="Put back every owner the reassignment in this journal changed.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@json_option
@org_option
@pass_app
def reassign(app: AppContext, source: str | None, target: str | None, map_file: Path | None,
             objects: str | None, dry_run: bool, journal_path: Path | None,
             undo_path: Path | None, yes: bool) -> int:
    """Reassign record ownership from departing users, with a plan first and an undo.

    Each object is its own step (nothing cascades through the API). Owner changes fire
    validation rules, triggers and flows; failed records go to failed-<Object>-<n>.csv (exit 5).
    """
    from sfexit.journal import Journal, default_journal_path

    if undo_path is not None:
        if source or target or map_file or objects:
            raise errors.UsageError("--undo takes only a journal; drop --from/--to/--map/--objects")
        return _undo(app, undo_path, journal_path, dry_run, yes)
    pairs = _pairs(app, source, target, map_file)
    only = _objects(objects)
    if not dry_run:
        require_confirmation_possible(yes or app.yes, "reassigning records")
    session = app.connect(read_only=dry_run)
    from sfexit.people.ownership_read import build_plan
    from sfexit.people.ownership_transfer import transfer

    plan = build_plan(session, pairs, only)
    for warning in plan.warnings:
        app.out.warn(warning)
    if plan.refused:
        more = f" (and {len(plan.refusals) - 1} more)" if len(plan.refusals) > 1 else ""
        raise errors.UsageError(f"refused before any change: {plan.refusals[0]}{more}")
    moves = {s.object: s.count for s in plan.steps}
    if dry_run:
        _preflight(app, session, moves, dry_run=True)
        app.out.result({"dry_run": True, "plan": plan_dict(plan), "journal": None},
                       lambda: plan_text(plan) + "\nDry run: nothing was changed.")
        return errors.EXIT_OK
    app.out.info(plan_text(plan))
    if not plan.total:
        app.out.result({"dry_run": False, "plan": plan_dict(plan), "journal": None,
                        "moved_total": 0, "failed_total": 0, "moved": {}, "objects": [],
                        "failure_files": {}}, "Nothing to reassign.")
        return errors.EXIT_OK
    _preflight(app, session, moves)
    _confirm(app, yes, f"Reassign {plan.total} records now?")
    journal = Journal.open(journal_path or default_journal_path("reassign"))
    app.out.info(f"Journal: {journal.path}")
    try:
        done = transfer(session, plan, journal, sleep=app.sleep, clock=app.clock,
                        on_progress=_numbered(app, len(plan.steps)))
    except BaseException:
        app.out.info("The reassignment stopped; run the same reassign command again to "
                     "continue (records already moved are found and not moved twice), or "
                     f"undo it with `sfexit reassign --undo {journal.path}`.")
        raise
    result = _result(app, done, {"dry_run": False, "plan": plan_dict(plan)})
    return _render(app, done, result, "Reassigned")


def _preflight(app: AppContext, session: OrgSession, moves: dict[str, int],
               dry_run: bool = False) -> None:
    """Before any write: Modify All Data, or Transfer Record and edit on every object with
    records to move (people.permissions.preflight reads ObjectPermissions for those objects
    only, and not at all with Modify All Data). An object the running user cannot move stops
    the command (all or nothing: --objects leaves it out); one whose access cannot be read is
    a warning. A dry run only warns."""
    from sfexit.people.permissions import PermissionDenied, access_per_object, preflight
    from sfexit.people.users import running_user_id

    try:
        perms = preflight(session, running_user_id(session), None, "reassign", moves,
                          profile_from_user=True)
    except PermissionDenied as exc:
        if not dry_run:
            raise
        app.out.warn(f"a real run would stop here: {exc.message}")
        return
    unknown = [a for a in access_per_object(perms, moves) if a.status == "unknown"]
    if unknown:
        why = f" ({perms.rights_error})" if perms.rights_error else ""
        app.out.warn("edit access could not be read before the run" + why + ": "
                     + "; ".join(a.short for a in unknown)
                     + "; records the running user cannot edit fail and are listed per object")


def _undo(app: AppContext, source: Path, journal_path: Path | None, dry_run: bool,
          yes: bool) -> int:
    from sfexit.journal import Journal, default_journal_path
    from sfexit.people.ownership_undo import plan_undo, preview_undo, undo_transfer

    # From the files every entry recorded (checked against their hashes): a resumed run has
    # several entries per object, and only the merge of all of them says what goes back.
    steps = {sobject: len(rows) for sobject, rows in plan_undo(source)}
    if not dry_run:
        require_confirmation_possible(yes or app.yes, "putting owners back")
    session = app.connect(read_only=dry_run)
    if dry_run:   # what goes back depends on the owners now: records changed since stay
        preview = preview_undo(session, source)
        body = {"dry_run": True, "undo": str(source), "journal": None,
                "objects": {o: len(s.back) for o, s in preview},
                "drifted": {o: len(s.drifted) for o, s in preview if s.drifted},
                "already": {o: s.already for o, s in preview if s.already}}
        app.out.result(body, lambda: "\n".join(
            [f"{o}: would put back {len(s.back)}, {len(s.drifted)} changed owner since "
             f"(left alone), {s.already} already back" for o, s in preview]
            + ["Dry run: nothing was changed."]))
        return errors.EXIT_OK
    summary = ", ".join(f"{k}: {v}" for k, v in steps.items())
    app.out.info(f"Undo of {source}: {summary} (records whose owner changed since are left "
                 "alone)")
    _preflight(app, session, steps)
    _confirm(app, yes, "Put these owners back now?")
    journal = Journal.open(journal_path or default_journal_path("reassign-undo"))
    app.out.info(f"Journal: {journal.path}")
    done = undo_transfer(session, source, journal, sleep=app.sleep, clock=app.clock,
                         on_progress=app.out.info)
    result = _result(app, done, {"dry_run": False, "undo": str(source)})
    result["drifted_total"] = done.drifted
    result["drifted"] = {o.object: o.drifted for o in done.objects if o.drifted}
    result["drift_files"] = {o.object: o.drift_file for o in done.objects if o.drift_file}
    result["already"] = {o.object: o.already for o in done.objects if o.already}
    if done.drifted:
        app.out.warn(f"{done.drifted} records changed owner after sfexit moved them and were "
                     "left alone; they are listed in " + ", ".join(result["drift_files"].values()))
    if not done.moved and not done.failed:
        app.out.info("Nothing to put back: every record already has its original owner or "
                     "changed owner since.")
    return _render(app, done, result, "Restored")
