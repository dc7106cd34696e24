"""The sfexit command line: a thin Click layer over the library.

This module holds the group, the global options and the ONE error boundary: every
exception ends here as one line (a traceback only with -v) and a documented exit code.
Keep imports light: `sfexit --help` must not pay for simple-salesforce or the emulator.
"""

from __future__ import annotations

import dataclasses
import logging
import sys
import traceback
from pathlib import Path
from typing import Any

import click

from sfexit import __version__, allocator
from sfexit import errors
from sfexit.cli import (archive, auth, config_cmd, deadline, demo, emulator, export,
                        export_files, export_verify, export_weekly, offboard, reassign, report,
                        users, users_deactivate)
from sfexit.cli.context import AppContext
from sfexit.cli.output import Output
from sfexit.cli.safe_text import neutralise_line
from sfexit.config import no_color_requested

__all__ = ["cli", "main", "report_exception"]


class SfexitGroup(click.Group):
    """A group whose ``main`` is the error boundary, so CliRunner tests go through it too."""

    def main(self, args: Any = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        out_hint = Output(json=_flag_given(argv, "--json"), verbose=_verbose_given(argv),
                          color=False if no_color_requested() else None)
        # A caller's own AppContext (tests: CliRunner's obj, for the org's clock) keeps its
        # clock; the output settings come from argv as for everyone.
        extra["obj"] = dataclasses.replace(extra.get("obj") or AppContext(), out=out_hint)
        try:
            code = super().main(argv, prog_name, complete_var, standalone_mode=False, **extra)
            code = code if isinstance(code, int) else 0
        except BaseException as exc:  # the one boundary: everything ends here
            code = report_exception(exc, extra["obj"].out)
        if standalone_mode:
            sys.exit(code)
        return code


def _flag_given(argv: list[str], flag: str) -> bool:
    return flag in argv[: argv.index("--")] if "--" in argv else flag in argv


def _verbose_given(argv: list[str]) -> bool:
    return _flag_given(argv, "-v") or _flag_given(argv, "--verbose")


def report_exception(exc: BaseException, out: Output) -> int:
    """Turn any exception into one line on stderr (or a JSON envelope) and an exit code."""
    if isinstance(exc, SystemExit):
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    if isinstance(exc, click.exceptions.Exit):
        return exc.exit_code
    if isinstance(exc, (KeyboardInterrupt, click.exceptions.Abort)):
        out.failure("Interrupted", "Interrupted; nothing half-written is left marked complete.",
                    errors.EXIT_INTERRUPTED)
        return errors.EXIT_INTERRUPTED
    if isinstance(exc, click.exceptions.NoArgsIsHelpError) and not out.json:
        # A bare `sfexit` (or `sfexit export`): the help it asked for, not an error.
        click.echo(exc.format_message())
        return errors.EXIT_OK
    if isinstance(exc, click.exceptions.ClickException):
        code = exc.exit_code if exc.exit_code else errors.EXIT_USAGE
        out.failure("UsageError", exc.format_message(), code)
        return code
    if isinstance(exc, errors.SfexitError):
        if out.verbose:
            traceback.print_exception(exc, file=sys.stderr)
        out.failure(exc.name, exc.one_line(), exc.exit_code)
        return exc.exit_code
    if out.verbose:
        traceback.print_exception(exc, file=sys.stderr)
    message = f"internal error: {type(exc).__name__}: {exc}".replace("\n", " ")
    out.failure("InternalError", message + " (run again with -v for the traceback)",
                errors.EXIT_FAILURE)
    return errors.EXIT_FAILURE


@click.group(cls=SfexitGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="sfexit")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Config file (default: the platform's config dir, sfexit/config.toml).")
@click.option("--org", metavar="NAME", help="Named org profile from [orgs.NAME] in the config.")
@click.option("--json", "json_", is_flag=True, help="Print results as a JSON envelope on stdout.")
@click.option("-v", "--verbose", is_flag=True, help="Debug output and tracebacks on stderr.")
@click.option("-q", "--quiet", is_flag=True, help="Only errors and warnings on stderr.")
@click.option("--yes", is_flag=True, help="Never prompt; a command that would need to ask fails.")
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, org: str | None, json_: bool,
        verbose: bool, quiet: bool, yes: bool) -> None:
    """sfexit: leave a Salesforce org safely, with nothing lost and every step on the record."""
    app = ctx.ensure_object(AppContext)
    app.config_path = config_path
    app.org = org
    app.yes = yes
    app.out.json = app.out.json or json_
    app.out.verbose = verbose
    app.out.quiet = quiet
    if no_color_requested():
        app.out.color = False
    _debug_logging_to_stderr(verbose)


def _debug_logging_to_stderr(on: bool) -> None:
    """-v: sfexit's debug log on stderr (the session redacts tokens and ids in its lines).

    Also switched off again, so an in-process caller (tests, a notebook) running one command
    with -v does not keep debug output for the next.
    """
    logger = logging.getLogger("sfexit")
    ours = [h for h in logger.handlers if isinstance(h, _StderrHandler)]
    if not on:
        for handler in ours:
            logger.removeHandler(handler)
        if ours:
            logger.setLevel(logging.NOTSET)
        return
    if not ours:
        handler = _StderrHandler()
        # The time since start shows where a slow run waits.
        handler.setFormatter(logging.Formatter(
            "debug: %(name)s: %(message)s [at %(relativeCreated).0f ms]"))
        logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg,unused-ignore]
    """Writes to whatever sys.stderr is at the time (CliRunner swaps it per invocation); a
    log line may quote the org (a name in a URL, a message), so it is neutralised first."""

    def format(self, record: logging.LogRecord) -> str:
        return neutralise_line(super().format(record))

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def main() -> None:
    allocator.tune()   # before any thread: peak RSS of a many-threaded export (allocator.py)
    cli()


# Every command, registered in one place (CumulusCI's cci.py): the command modules never import
# this module. Keep them light at import (no simple-salesforce, no emulator): `--help` loads all.
for _command in (archive.archive, auth.login, auth.logout, auth.whoami, auth.limits,
                 config_cmd.config_group, deadline.deadline, deadline.notice, demo.demo,
                 emulator.emulator_group, export.export, offboard.offboard, reassign.reassign,
                 report.report, users.users):
    cli.add_command(_command)
for _subcommand in (export_files.files, export_weekly.weekly, export_verify.verify):
    export.export.add_command(_subcommand)
users.users.add_command(users_deactivate.deactivate_cmd)
