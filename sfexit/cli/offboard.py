"""``sfexit offboard``: the whole exit as one resumable run (thin over ``sfexit.offboard``).

Reads the options, builds the one session (read-only for ``--dry-run``: zero writes possible),
computes the contract dates like ``sfexit deadline``, calls ``start_run`` or ``resume_run`` and
renders the outcome. Exit 0 done, 1 a step failed, 2 usage, 4 the forecast does not fit (see
``--force``), 5 some items failed (listed in the report), 130 interrupted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sfexit import errors
from sfexit.cli.confirmation import require_confirmation_possible
from sfexit.cli.context import (AppContext, json_option, org_option, pass_app,
                                require_writable_dir)
from sfexit.cli.output import table

if TYPE_CHECKING:
    from sfexit.offboard.run import RunOutcome
    from sfexit.rules import ContractPlan

STEP_NAMES = ("preflight", "dates", "export", "verify", "freeze", "reassign", "deactivate",
              "report")


def default_run_dir(app: AppContext) -> Path:
    """``[export] dest``/offboard-<UTC timestamp>, else the user data dir's runs/."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    base = app.settings().export.dest
    if base is None:
        import platformdirs

        base = Path(platformdirs.user_data_path("sfexit")) / "runs"
    candidate, n = Path(base).expanduser() / f"offboard-{stamp}", 2
    while candidate.exists():
        candidate = Path(base).expanduser() / f"offboard-{stamp}-{n}"
        n += 1
    return candidate


def contract_today(app: AppContext, leave: str | None = None,
                   effective: str | None = None) -> ContractPlan | None:
    """The contract plan for today (what `sfexit deadline` shows, with the same --leave and
    --effective), or None with no [contract] dates. Raises UsageError for a contract that does
    not add up, before any login."""
    from sfexit import configured_contract

    cfg = app.settings().contract
    if not configured_contract.has_dates(cfg):
        if leave is not None or effective is not None:
            raise errors.UsageError("--leave and --effective need the contract's dates",
                                    hint="set [contract] start and end in the config")
        return None
    flags = configured_contract.ContractFlags(leave=leave, effective=effective)
    return configured_contract.plan(configured_contract.resolve(cfg, flags), dt.date.today())


def _confirm(app: AppContext) -> Callable[[str], None]:
    def ask(question: str) -> None:
        app.confirm(question, no_terminal="the offboard changes the org and needs a "
                                          "confirmation, and there is no terminal to ask",
                    hint="read the plan (--dry-run), then run with --yes")
    return ask


@click.command("offboard")
@click.option("--dry-run", is_flag=True,
              help="Plan only, with real counts; read-only session, nothing is changed.")
@click.option("--run-dir", type=click.Path(path_type=Path, file_okay=False),
              help="The run directory (default: [export] dest/offboard-<UTC timestamp>).")
@click.option("--resume", "resume", type=click.Path(path_type=Path, file_okay=False),
              metavar="RUN_DIR", help="Continue this run from its first step not done.")
@click.option("--skip", multiple=True, type=click.Choice(STEP_NAMES), metavar="STEP",
              help="Leave a step out (repeatable): " + ", ".join(STEP_NAMES) + ".")
@click.option("--force", is_flag=True, help="Start even when the forecast exceeds the limits.")
@click.option("--lang", metavar="LANG", help="Report language [config: report.lang].")
@click.option("--leave", metavar="WAY", help="How the company leaves, as in `sfexit deadline`: "
              "end-of-term or early [config: contract.leave].")
@click.option("--effective", metavar="DATE", help="The day an early termination takes effect, "
              "YYYY-MM-DD; implies --leave early [config: contract.effective].")
@click.option("--yes", "yes_here", is_flag=True, help="Do not ask for confirmation.")
@json_option
@org_option
@pass_app
def offboard(app: AppContext, dry_run: bool, run_dir: Path | None, resume: Path | None,
             skip: tuple[str, ...], force: bool, lang: str | None, leave: str | None,
             effective: str | None, yes_here: bool) -> int:
    """Take the company out of the org: preflight, dates, export, verify, freeze, reassign,
    deactivate (only if enabled), report. Every change is journaled in the run directory.

    --dry-run shows the whole plan with real counts and the forecast of every API limit, and
    writes a report marked as a plan. After a crash or Ctrl-C, --resume RUN_DIR continues
    without redoing what was done.
    """
    if yes_here:
        app.yes = True
    if resume is not None and (run_dir is not None or dry_run or leave or effective):
        raise errors.UsageError("--resume continues a run: give it alone, without --run-dir, "
                                "--dry-run, --leave or --effective")
    outcome = execute(app, dry_run=dry_run, run_dir=run_dir, resume=resume, skip=skip,
                      force=force, lang=lang, leave=leave, effective=effective)
    return _render(app, outcome)


def execute(app: AppContext, *, dry_run: bool = False, run_dir: Path | None = None,
            resume: Path | None = None, skip: tuple[str, ...] = (), force: bool = False,
            lang: str | None = None, leave: str | None = None,
            effective: str | None = None) -> RunOutcome:
    """One offboard run (new or resumed) with ``app``'s settings and clock (``app.sleep``);
    returns the RunOutcome. Shared with ``sfexit demo``."""
    from sfexit.offboard.run import RunOptions, resume_run, start_run

    settings = app.settings()
    target = _validate(app, dry_run=dry_run, run_dir=run_dir, resume=resume, lang=lang)
    contract = contract_today(app, leave, effective) if resume is None else None
    steps = StepProgress(app)
    options = RunOptions(
        dry_run=dry_run, force=force, cli_skip=skip, lang=lang or settings.report.lang,
        contract=contract,
        sleep=app.sleep, now=app.now, confirm=_confirm(app), info=app.out.info,
        warn=app.out.warn,
        on_progress=steps.progress, on_step=steps.step)
    session = app.connect(read_only=dry_run)
    app.out.info(f"Run directory: {target}")
    if contract is not None:
        from sfexit.cli.deadline import plan_line

        app.out.info(plan_line(contract))
    try:
        outcome = (resume_run(settings, session, target, options) if resume is not None
                   else start_run(settings, session, target, options))
    except BaseException:
        steps.close()
        if not dry_run and (target / "run.json").exists():
            app.out.info(f"To continue: {resume_command(app, target)}")
        raise
    steps.close()
    if outcome.mode == "real" and any(s["status"] == "failed" for s in outcome.steps):
        app.out.info(f"To continue after fixing the cause: {resume_command(app, target)}")
    return outcome


def resume_command(app: AppContext, run_dir: Path) -> str:
    """The exact command that continues ``run_dir`` (with this invocation's --config/--org)."""
    import shlex

    words = ["sfexit"]
    if app.config_path is not None:
        words += ["--config", str(app.config_path)]
    if app.org:
        words += ["--org", app.org]
    return shlex.join([*words, "offboard", "--resume", str(run_dir)])


class StepProgress:
    """Each step as it starts and ends (a line each, with how long it took), and what the
    step reports meanwhile as the live status (cli/progress.py)."""

    def __init__(self, app: AppContext) -> None:
        from sfexit.cli.progress import Progress

        self.app = app
        self.show = Progress(app.out, clock=app.clock)
        self.began: dict[str, float] = {}

    def step(self, name: str, status: str) -> None:
        from sfexit.cli.progress import duration

        now = self.app.clock()
        if status == "started":
            self.began[name] = now
            self.show.note(f"{name}: started")
            return
        took = now - self.began.pop(name, now)
        self.show.note(f"{name}: {status} ({duration(took)})")

    def progress(self, step: str, event: Any) -> None:
        self.app.out.debug(f"{step}: {event}")
        text = _event_text(event)
        if text:
            self.show.status(f"{step}: {text}")

    def close(self) -> None:
        self.show.close()


def _event_text(event: Any) -> str | None:
    """A step's progress event in words: an export object's rows, a file, a message."""
    if isinstance(event, str):
        return event
    if hasattr(event, "object") and hasattr(event, "rows"):      # export.ObjectProgress
        total = f"/{event.total:,}" if getattr(event, "total", None) else ""
        return f"{event.object} {event.rows:,}{total} rows"
    if isinstance(event, tuple) and event and hasattr(event[0], "files_total"):
        p = event[0]                                              # export.FileProgress
        return f"files {p.files_done:,}/{p.files_total:,}"
    return None


def _validate(app: AppContext, *, dry_run: bool, run_dir: Path | None, resume: Path | None,
              lang: str | None) -> Path:
    """Every flag and the confirmation rule, before any login, read or write (issue 19):
    --lang, the steps to skip, the run directory (new and free, or a run to resume), and a
    terminal or --yes for a run that will ask. Returns the run directory. Raises UsageError."""
    from sfexit.offboard.plan import STEPS, unknown_steps
    from sfexit.offboard.rundir import RUN_FILE, RunDir
    from sfexit.report.i18n import check_lang

    if lang is not None:
        check_lang(lang)
    bad = unknown_steps(tuple(app.settings().offboard.skip))
    if bad:
        raise errors.UsageError(f"unknown step {bad[0]!r}", hint="steps: " + ", ".join(STEPS))
    if resume is not None:
        run = RunDir.load(resume)  # a bad directory is one line before any login
        will_ask = run.mode == "real" and run.step("preflight")["status"] != "done"
        target = resume
    else:
        target = run_dir or default_run_dir(app)
        if (target / RUN_FILE).exists():
            raise errors.UsageError(f"{target} already holds an offboard run",
                                    hint=f"continue it with --resume {target}, or pick another "
                                         "--run-dir")
        will_ask = not dry_run
    require_writable_dir(target, "--resume" if resume is not None else "--run-dir")
    if will_ask:
        require_confirmation_possible(app.yes, "the offboard changes the org and")
    return target


def _render(app: AppContext, outcome: RunOutcome) -> int:
    result = {
        "run_dir": str(outcome.run_dir), "mode": outcome.mode,
        "steps": [{"name": s["name"], "status": s["status"], "reason": s["reason"]}
                  for s in outcome.steps],
        "report": outcome.report, "journal": str(outcome.journal) if outcome.journal else None,
        "forecast": outcome.forecast, "run_json": str(outcome.run_dir / "run.json"),
        "permissions": outcome.permissions, "plan": list(outcome.plan),
    }
    code = int(outcome.exit_code)
    if code != errors.EXIT_OK:
        bad = [f"{s['name']}: {s['status']} ({s['reason']})" for s in outcome.steps
               if s["status"] in ("failed", "partial")]
        return int(app.out.partial(result, lambda: _text(outcome), name="OffboardIncomplete",
                                   message="; ".join(bad) + f"; see {outcome.run_dir}",
                                   exit_code=code))
    app.out.result(result, lambda: _text(outcome))
    return 0


def _text(outcome: RunOutcome) -> str:
    rows = [[s["name"], s["status"], f'{(s.get("used") or {}).get("rest_calls", 0):,}',
             f'{(s.get("forecast") or {}).get("rest_calls", 0):,}', s["reason"] or ""]
            for s in outcome.steps]
    lines = [("Dry run (a plan: nothing was changed)" if outcome.mode == "dry-run"
              else "Offboard run") + f" in {outcome.run_dir}",
             *outcome.plan]
    forecast = (outcome.forecast or {}).get("lines") or []
    if outcome.mode == "dry-run" and forecast:
        lines += ["Forecast of the API limits:", *(f"  {line}" for line in forecast)]
    lines.append(table(["Step", "Status", "API calls", "Forecast", "Note"], rows))
    if outcome.permissions:
        lines += ["Permissions of the running user (what each step needs):",
                  _permission_table(outcome.permissions)]
    if outcome.report:
        lines.append(f"Report: {outcome.report.get('html')}")
    if outcome.journal:
        lines.append(f"Journal: {outcome.journal}")
    return "\n".join(lines)


def _permission_table(checks: list[dict[str, Any]]) -> str:
    """One row per requirement (offboard/survey.py ``permission_result``); a step that cannot
    work says so on its first row."""
    rows = []
    for c in checks:
        for n, r in enumerate(c.get("requirements") or []):
            status = str(r.get("status"))
            if n == 0 and c.get("refused"):
                status += " (step cannot work)"
            rows.append([c.get("step"), " or ".join(r.get("needs") or []) or "edit per object",
                         status, r.get("consequence") or ""])
    return table(["Step", "Needs", "Status", "Without it"], rows)
