"""``sfexit users deactivate``: a blocker scan, then IsActive = false; ``--check`` and ``--undo``.

On the ``users`` group of ``users.py``, with its selection, confirmation and permission checks.
Exit 5 when some users failed or were held back by a blocker (``status`` 5 in ``--json``), and
for ``--check`` when a blocker was found for any user (a real run would hold them back).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from sfexit import errors
from sfexit.cli.confirmation import require_confirmation_possible
from sfexit.cli.context import AppContext, json_option, org_option, pass_app
from sfexit.cli.users import (change_options, check_permissions, finish,
                              journal_path_or_default, select_for, selection_options,
                             validate_selection)
from sfexit.jsonable import to_jsonable


@click.command("deactivate")
@selection_options
@click.option("--check", is_flag=True, help="Only scan for deactivation blockers (reads only).")
@click.option("--ignore-blockers", is_flag=True,
              help="Try users even when the scan found a blocker (Salesforce decides).")
@click.option("--undo", "undo", type=click.Path(path_type=Path, dir_okay=False, exists=True),
              metavar="JOURNAL", help="Reactivate the users this deactivation journal records.")
@change_options
@json_option
@org_option
@pass_app
def deactivate_cmd(app: AppContext, usernames: tuple[str, ...], all_active: bool,
                   keep: tuple[str, ...], keep_profile: tuple[str, ...], check: bool,
                   ignore_blockers: bool, undo: Path | None, dry_run: bool,
                   journal_path: Path | None, plan_file: Path | None) -> int:
    """Deactivate users (IsActive = false), after a blocker scan; frees their licences.

    Opt-in, after freeze and reassignment. Refuses the same users as freeze. Every source of
    blockers is reported as clear, FOUND or unknown (with the Setup page to check).
    --undo JOURNAL reactivates them (licences must be free).

    --check exits 0 when no blocker is found and 5 when one is (those users would be held
    back); unknown sources do not change the exit code.
    """
    from sfexit.people import deactivate as deact
    from sfexit.people.blockers import scan_blockers

    if undo is not None:
        return _undo_deactivate(app, undo, dry_run)
    validate_selection("deactivate", usernames, all_active)
    if not (dry_run or check):
        require_confirmation_possible(app.yes, "deactivating users")
    session = app.connect(read_only=dry_run or check)
    everyone, selection = select_for(app, session, "deactivate", usernames, all_active, keep,
                                     keep_profile)
    reports = scan_blockers(session, selection.touch)
    refused = [(w if isinstance(w, str) else w.username, r) for w, r in selection.refused]
    if check:
        return _finish_deactivate(app, None, reports, refused, check=True)
    check_permissions(app, session, everyone, "deactivate", dry_run)
    planned = deact.plan_items(selection.touch, reports, ignore_blockers=ignore_blockers)
    if plan_file is not None:
        deact.write_plan_csv(plan_file, planned, refused)
    if dry_run:
        return _finish_deactivate(app, deact.DeactivateResult("deactivate", True, planned,
                                                              refused, None), reports, refused)
    todo = [i for i in planned if i.status != "blocked"]
    if todo:
        app.confirm(f"Deactivate {len(todo)} user(s)? Their licences are freed")
    from sfexit.journal import Journal

    journal = Journal.open(journal_path_or_default(journal_path, "deactivate"))
    app.out.info(f"Journal: {journal.path}")
    items = deact.set_active(session, planned, journal, direction="deactivate",
                             on_progress=app.out.debug)
    result = deact.DeactivateResult("deactivate", False, items, refused, str(journal.path))
    return _finish_deactivate(app, result, reports, refused)


def _undo_deactivate(app: AppContext, source: Path, dry_run: bool) -> int:
    from sfexit.journal import Journal, read_journal
    from sfexit.people import deactivate as deact
    from sfexit.people.intents import resolve_files

    read_journal(source)   # a tampered journal stops here, before any login
    if not dry_run:
        require_confirmation_possible(app.yes, "reactivating users")
    app.out.warn(deact.LICENCE_WARNING)
    session = app.connect(read_only=dry_run)
    if not dry_run:  # a deactivation killed during its call: journal what the org shows first
        resolve_files(session, [source], warn=app.out.warn)
    entries = read_journal(source)
    planned = deact.undo_plan(session, entries)
    todo = [i for i in planned if i.status == "would reactivate"]
    for item in planned:
        if item.status == deact.DRIFTED:
            app.out.warn(f"{item.username} was reactivated by someone after sfexit deactivated "
                         "it: left alone")
    if not todo:
        app.out.info("Nothing to reactivate: no user this journal deactivated is inactive now.")
    drifted = any(i.status == deact.DRIFTED for i in planned)
    undone = any(e.kind == "change" and e.action == "deactivate" for e in entries)
    if undone and not (dry_run or todo or drifted):   # a repeated undo: says so
        Journal.open(source).note("reactivate: nothing to undo (no user this journal "
                                  "deactivated is inactive now)", no_op=True)
    if dry_run or not (todo or drifted):
        return _finish_deactivate(app, deact.DeactivateResult("reactivate", True, planned, [],
                                                              None), [], [])
    if todo:
        from sfexit.people.users import UserFilter, list_users

        check_permissions(app, session, list_users(session, UserFilter()), "reactivate",
                          dry_run)
        app.confirm(f"Reactivate {len(todo)} user(s)?")
    # Users changed by hand since are journaled as left alone, even with nobody to reactivate.
    journal = Journal.open(source)  # the undo is recorded in the journal it undoes
    app.out.info(f"Journal: {journal.path}")
    items = deact.set_active(session, planned, journal, direction="reactivate",
                             on_progress=app.out.debug)
    return _finish_deactivate(app, deact.DeactivateResult("reactivate", False, items, [],
                                                          str(journal.path)), [], [])


def _finish_deactivate(app: AppContext, result: Any, reports: Sequence[Any],
                       refused: Sequence[tuple[str, str]], *, check: bool = False) -> int:
    body: dict[str, Any] = to_jsonable(result) if result is not None else {
        "check": True, "refused": [list(r) for r in refused], "journal": None}
    body["blockers"] = [{"username": r.username, "user_id": r.user_id,
                         "found": [c.line() for c in r.found],
                         "checks": to_jsonable(r.checks)} for r in reports]
    failed = result.failed if result is not None else []
    for item in failed:
        app.out.warn(f"{item.username}: {item.status}: "
                     + (f"{item.status_code}: " if item.status_code else "")
                     + (item.message or ""))
    from sfexit.people.deactivate import report_lines, unknown_sources

    unknown = len(unknown_sources(reports))
    if unknown:
        app.out.warn(f"{unknown} blocker source{'' if unknown == 1 else 's'} could not be read "
                     "through the API: unknown, not clear; check them in Setup (listed once in the output)")

    def human() -> str:
        return "\n".join(report_lines(result, reports, refused))

    blocked = [r.username for r in reports if r.found]
    if check and blocked:
        return app.out.partial(body, human, name="BlockersFound",
                               message=f"a blocker was found for {len(blocked)} of "
                                       f"{len(reports)} users: {', '.join(blocked)}; "
                                       "deactivating them would hold them back",
                               exit_code=errors.EXIT_PARTIAL)
    if check or result is None:
        app.out.result(body, human)
        return errors.EXIT_OK
    what = "deactivated (failed or blocked)" if result.direction == "deactivate" \
        else "reactivated"
    return finish(app, body, human, len(failed), what)
