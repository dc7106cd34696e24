"""``sfexit users``: list, licences, freeze, unfreeze (deactivate is ``users_deactivate.py``).
Thin over ``sfexit.people``.

Every changing command: permissions preflight, a plan written and shown before anything
changes, a confirmation (``--yes`` skips it; without a terminal and without ``--yes`` the
command fails instead of guessing), a journal whose path is printed and named as ``journal``
in the ``--json`` result, and ``--dry-run`` on a read-only session (zero writes possible).
Exit 5 when some users failed, with a ``--json`` envelope whose ``status`` is 5 too
(:func:`finish`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sfexit import errors
from sfexit.cli.confirmation import require_confirmation_possible
from sfexit.cli.context import AppContext, json_option, org_option, pass_app
from sfexit.cli.output import dumps, table
from sfexit.jsonable import to_jsonable

if TYPE_CHECKING:
    from sfexit.org.session import OrgSession
    from sfexit.people.freeze import FreezePlan, FreezeResult
    from sfexit.people.selection import Selection
    from sfexit.people.users import OrgUser


def journal_path_or_default(given: Path | None, kind: str) -> Path:
    from sfexit.journal import default_journal_path

    return given if given is not None else default_journal_path(kind)


def _plan_path(given: Path | None, journal_path: Path, kind: str) -> Path:
    """Beside the journal: ``<journal>-plan.csv`` (``-<kind>-plan.csv`` in a foreign journal)."""
    if given is not None:
        return given
    stem = journal_path.name.removesuffix(".jsonl")
    return journal_path.with_name(f"{stem}-plan.csv" if stem.endswith(kind)
                                  else f"{stem}-{kind}-plan.csv")


@click.group()
def users() -> None:
    """People in the org: list, licences, freeze, unfreeze, deactivate."""


# --- list -------------------------------------------------------------------------------------

@users.command("list")
@click.option("--all", "all_", is_flag=True, help="Every user, not only active ones.")
@click.option("--profile", multiple=True, metavar="NAME", help="Only this profile (repeatable).")
@click.option("--licence", "--license", "licence", multiple=True, metavar="NAME",
              help="Only this licence name or LicenseDefinitionKey (repeatable).")
@click.option("--inactive-since", type=click.IntRange(min=0), metavar="DAYS",
              help="Only users with no login for DAYS days (or never, created before).")
@click.option("--format", "fmt", type=click.Choice(["table", "csv", "json"]), default="table",
              show_default=True, help="Output format (--json gives the JSON envelope).")
@json_option
@org_option
@pass_app
def list_cmd(app: AppContext, all_: bool, profile: tuple[str, ...], licence: tuple[str, ...],
             inactive_since: int | None, fmt: str) -> None:
    """List users: profile, role, licence, type, last login, frozen, and flags for the
    running user, integration, Automated Process, Platform Integration and system users."""
    from sfexit.people.users import UserFilter, list_users

    session = app.connect(read_only=True)
    found = list_users(session, UserFilter(active_only=not all_, profiles=profile,
                                           licences=licence, inactive_days=inactive_since))
    rows = [u.summary() for u in found]
    app.out.result({"users": rows, "count": len(rows)}, lambda: _render_users(rows, fmt))


def _render_users(rows: list[dict[str, Any]], fmt: str) -> str:
    if fmt == "json":
        return dumps(rows)
    headers = ["username", "name", "profile", "role", "licence", "user_type", "last_login",
               "frozen", "flags"]
    values = [[r["username"], r["name"], r["profile"], r["role"], r["licence"], r["user_type"],
               r["last_login"].isoformat(timespec="seconds") if r["last_login"] else "never",
               {True: "yes", False: "no", None: "?"}[r["frozen"]], ",".join(r["flags"])]
              for r in rows]
    if fmt == "table":   # minutes are enough on a screen; csv keeps the full ISO time
        for v, r in zip(values, rows, strict=True):
            v[6] = r["last_login"].strftime("%Y-%m-%d %H:%M") if r["last_login"] else "never"
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(headers)
        writer.writerows(values)
        return buf.getvalue().rstrip("\n")
    return (table(headers, values, max_width=_terminal_width(), keep=frozenset({0}))
            + f"\n{len(rows)} user{'' if len(rows) == 1 else 's'}.")


def _terminal_width() -> int | None:
    """The terminal's width when stdout is one (a table fits it, cut with "…"); None for a
    pipe or a file, which get every character (or use --format csv)."""
    import shutil
    import sys

    return shutil.get_terminal_size().columns if sys.stdout.isatty() else None


# --- freeze / unfreeze ------------------------------------------------------------------------

def change_options(f: Any) -> Any:
    options = [
        click.option("--dry-run", is_flag=True,
                     help="Show exactly what would happen; read-only session, nothing sent."),
        click.option("--journal", "journal_path", type=click.Path(path_type=Path,
                     dir_okay=False), help="Journal file (default: the data dir's journals/)."),
        click.option("--plan-file", type=click.Path(path_type=Path, dir_okay=False),
                     help="Where the CSV of who will be touched goes (default: beside the "
                          "journal)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def selection_options(f: Any) -> Any:
    options = [
        click.argument("usernames", nargs=-1),
        click.option("--all-active", is_flag=True, help="Every active user (minus refusals)."),
        click.option("--keep", multiple=True, metavar="USERNAME",
                     help="Never touch this user (repeatable; adds to [users] keep)."),
        click.option("--keep-profile", multiple=True, metavar="NAME",
                     help="Never touch users of this profile (repeatable; adds to [users] "
                          "keep_profiles)."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def validate_selection(action: str, usernames: Sequence[str], all_active: bool) -> None:
    """Before any login: someone must be named (people.selection says the same later)."""
    if not usernames and not all_active:
        raise errors.UsageError(f"name the users to {action}, or pass --all-active")


def select_for(app: AppContext, session: OrgSession, action: Any, usernames: Sequence[str],
               all_active: bool, keep: Sequence[str], keep_profile: Sequence[str]
               ) -> tuple[list[OrgUser], Selection]:
    from sfexit.people.names import Named, require_known
    from sfexit.people.selection import KeepList, select_users
    from sfexit.people.users import UserFilter, list_users

    cfg = app.settings().users
    everyone = list_users(session, UserFilter(active_only=False))
    # A keep-list with a typo protects nobody: every name must be a user (people.names).
    require_known(everyone, [*(Named(n, "named") for n in usernames),
                             *(Named(n, "--keep") for n in keep),
                             *(Named(n, "[users] keep") for n in cfg.keep)])
    selection = select_users(everyone, action=action, usernames=usernames, all_active=all_active,
                             keep=KeepList(tuple(keep) + cfg.keep,
                                           tuple(keep_profile) + cfg.keep_profiles))
    _refuse_if_nothing_left(selection.touch, selection.refusal_lines(), usernames)
    return everyone, selection


def _refuse_if_nothing_left(touch: Sequence[Any], refusals: list[str],
                            usernames: Sequence[str]) -> None:
    """Named users all refused: one clear line, exit 2 (nothing was asked that we may do)."""
    if usernames and not touch and refusals:
        raise errors.UsageError("refused: " + "; ".join(refusals))


def check_permissions(app: AppContext, session: OrgSession, everyone: Sequence[OrgUser],
                      action: Any, dry_run: bool) -> None:
    from sfexit.people.permissions import PermissionDenied, preflight

    me = next((u for u in everyone if u.is_running_user), None)
    if me is None:
        return
    try:
        preflight(session, me.id, me.profile_id, action)
    except PermissionDenied as exc:
        if not dry_run:
            raise
        app.out.warn(f"a real run would stop here: {exc.message}")


def _show_plan(app: AppContext, the_plan: FreezePlan, plan_file: Path) -> None:
    lines = [f"{p.user.username}: {p.planned}" for p in the_plan.users]
    lines += [f"{who if isinstance(who, str) else who.username}: refused: {reason}"
              for who, reason in the_plan.refused]
    app.out.info(f"Plan ({len(the_plan.changes)} to {the_plan.direction}), written to "
                 f"{plan_file}:\n  " + "\n  ".join(lines or ["nobody"]))


def finish(app: AppContext, body: dict[str, Any], human: Callable[[], str], failed: int,
           what: str) -> int:
    """The result, or, when ``failed`` users failed, the partial envelope and exit 5."""
    if not failed:
        app.out.result(body, human)
        return errors.EXIT_OK
    return app.out.partial(body, human, name="PartialFailure",
                           message=f"{failed} user(s) could not be {what}"
                                   + (f" (journal: {body['journal']})" if body.get("journal")
                                      else ""),
                           exit_code=errors.EXIT_PARTIAL)


def _finish_freeze(app: AppContext, result: FreezeResult) -> int:
    body = to_jsonable(result)
    body["failed"] = len(result.failed)
    body["changed"] = len(result.changed)
    for item in result.failed:
        app.out.warn(f"{item.username}: {item.message}")
    done = "frozen" if result.direction == "freeze" else "unfrozen"
    return finish(app, body, lambda: "\n".join(result.report_lines()), len(result.failed), done)


def _run_freeze(app: AppContext, session: OrgSession, the_plan: FreezePlan, dry_run: bool,
                journal_path: Path | None, plan_file: Path | None, kind: str) -> int:
    from sfexit.journal import Journal
    from sfexit.people import freeze

    jpath = journal_path_or_default(journal_path, kind)
    ppath = freeze.write_plan_csv(the_plan, _plan_path(plan_file, jpath, kind))
    if dry_run:   # the result lists every user once; here only where the plan went
        app.out.info(f"Plan ({len(the_plan.changes)} to {the_plan.direction}) written to "
                     f"{ppath}")
        return _finish_freeze(app, freeze.unchanged_result(the_plan, ppath))
    _show_plan(app, the_plan, ppath)
    if not the_plan.users:  # nobody to touch or to record: no journal
        app.out.info(f"Nobody to {the_plan.direction}.")
        return _finish_freeze(app, freeze.unchanged_result(the_plan, ppath, dry_run=False))
    if the_plan.changes:
        app.confirm(f"{the_plan.direction.capitalize()} {len(the_plan.changes)} user(s)?")
    else:  # still journaled: who was left alone, and why
        app.out.info(f"Nothing to {the_plan.direction}.")
    journal = Journal.open(jpath)
    app.out.info(f"Journal: {journal.path}")
    result = freeze.apply(session, the_plan, journal, plan_file=ppath, on_progress=app.out.debug)
    return _finish_freeze(app, result)


@users.command("freeze")
@selection_options
@change_options
@json_option
@org_option
@pass_app
def freeze_cmd(app: AppContext, usernames: tuple[str, ...], all_active: bool,
               keep: tuple[str, ...], keep_profile: tuple[str, ...], dry_run: bool,
               journal_path: Path | None, plan_file: Path | None) -> int:
    """Freeze users (UserLogin.IsFrozen): they cannot log in; licences stay assigned.

    Never the running user, the last active System Administrator, or integration/system users
    unless named. Already-frozen users are left alone and recorded, so `unfreeze` keeps them
    frozen.
    """
    from sfexit.people import freeze

    validate_selection("freeze", usernames, all_active)
    if not dry_run:
        require_confirmation_possible(app.yes, "freezing users")
    session = app.connect(read_only=dry_run)
    everyone, selection = select_for(app, session, "freeze", usernames, all_active, keep,
                                     keep_profile)
    check_permissions(app, session, everyone, "freeze", dry_run)
    the_plan = freeze.plan(session, "freeze", selection.touch, selection.refused)
    return _run_freeze(app, session, the_plan, dry_run, journal_path, plan_file, "freeze")


@users.command("unfreeze")
@click.argument("usernames", nargs=-1)
@click.option("--dry-run", is_flag=True,
              help="Show exactly what would happen; read-only session, nothing sent.")
@click.option("--journal", "journal_path", type=click.Path(path_type=Path, dir_okay=False,
              exists=True), help="The freeze journal to undo; this run's changes are appended "
                                 "to it.")
@click.option("--plan-file", type=click.Path(path_type=Path, dir_okay=False),
              help="Where the CSV of who will be touched goes (default: beside the journal).")
@json_option
@org_option
@pass_app
def unfreeze_cmd(app: AppContext, usernames: tuple[str, ...], dry_run: bool,
                 journal_path: Path | None, plan_file: Path | None) -> int:
    """Unfreeze users sfexit froze, restoring exactly the state before.

    Give usernames, or --journal PATH (a freeze journal), or both. Without --journal, every
    journal in the journals directory is read. A user who was frozen before sfexit came stays
    frozen: only freezes sfexit recorded are undone.
    """
    from sfexit.journal import default_journal_path, read_journal
    from sfexit.people import freeze
    from sfexit.people.intents import resolve_files
    from sfexit.people.users import UserFilter, list_users

    if not usernames and journal_path is None:
        raise errors.UsageError("name the users to unfreeze, or pass --journal PATH",
                                hint="the journal is the one `sfexit users freeze` printed")
    if not dry_run:
        require_confirmation_possible(app.yes, "unfreezing users")
    session = app.connect(read_only=dry_run)
    paths = [journal_path] if journal_path is not None \
        else freeze.journals_in(default_journal_path("x").parent)
    if not dry_run:  # a freeze killed during its call: journal what the org shows first
        resolve_files(session, paths, warn=app.out.warn)
    entries = read_journal(journal_path) if journal_path is not None \
        else freeze.entries_from(paths, warn=app.out.warn)
    everyone = list_users(session, UserFilter(active_only=False))
    ours = freeze.frozen_by_sfexit(entries)
    touch, refused = freeze.unfreeze_candidates(everyone, ours, usernames)
    _refuse_if_nothing_left(touch, [f"{w if isinstance(w, str) else w.username}: {r}"
                                    for w, r in refused], usernames)
    check_permissions(app, session, everyone, "unfreeze", dry_run)
    the_plan = freeze.plan(session, "unfreeze", touch, refused,
                           frozen_by_us={uid for uid, e in ours.items() if e.kind == "change"})
    for p in the_plan.users:
        if p.planned == freeze.DRIFTED:
            app.out.warn(f"{p.user.username} was unfrozen by someone after sfexit froze it: "
                         "left alone")
    undone = any(e.kind == "change" and e.action == "freeze" for e in entries)
    if not the_plan.users and journal_path is not None and not dry_run and undone:
        from sfexit.journal import Journal

        # A repeated undo changes nothing, and says so in the journal it undoes.
        Journal.open(journal_path).note("unfreeze: nothing to undo (every freeze this journal "
                                        "records is undone already)", no_op=True)
    return _run_freeze(app, session, the_plan, dry_run, journal_path, plan_file, "unfreeze")


# --- licences ---------------------------------------------------------------------------------

@users.command("licences")
@click.option("--days", type=click.IntRange(min=1), metavar="DAYS",
              help="No login for this many days counts as unused [config: users.inactive_days].")
@click.option("--price", metavar="AMOUNT",
              help="Monthly price of one licence [config: users.price_per_licence].")
@json_option
@org_option
@pass_app
def licences_cmd(app: AppContext, days: int | None, price: str | None) -> None:
    """Licences: total, used and free; paid licences held by users with no recent login; and
    what removing them saves per month and for the rest of the term (with a price)."""
    import datetime as dt

    from sfexit import rules
    from sfexit.people.licences import licence_report

    settings = app.settings()
    amount = rules.parse_money(price, "--price") if price is not None \
        else settings.users.price_per_licence
    report = licence_report(app.connect(read_only=True),
                            inactive_days=days or settings.users.inactive_days,
                            today=dt.date.today(), price=amount, contract=settings.contract)
    body = to_jsonable(report)
    for row, lic in zip(body["licences"], report.licences, strict=True):
        row["free"] = lic.free
    app.out.result(body, lambda: "\n".join(
        [table(["licence", "key", "total", "used", "free", "paid", "unused"],
               [[r.name, r.key, f"{r.total:,}", f"{r.used:,}", f"{r.free:,}",
                 "yes" if r.paid else "no", f"{r.unused_holders:,}"]
                for r in report.licences]), *report.report_lines()]))
