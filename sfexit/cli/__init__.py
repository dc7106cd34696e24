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
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from sfexit import __version__
from sfexit import errors
from sfexit.cli.output import Output
from sfexit.config import Settings, load_settings, no_color_requested


@dataclasses.dataclass
class AppContext:
    """What the global options say, shared by every command through ``ctx.obj``."""

    config_path: Path | None = None
    org: str | None = None
    yes: bool = False
    out: Output = dataclasses.field(default_factory=Output)
    _settings: Settings | None = dataclasses.field(default=None, repr=False)

    def settings(self) -> Settings:
        """The validated settings (config file + SFEXIT_* env + global flags), read once."""
        if self._settings is None:
            self._settings = load_settings(self.config_path, self.org)
        return self._settings

    def prompt(self) -> Callable[[str], str] | None:
        """A hidden-input prompt, or None with --yes or without a terminal (twine's rule)."""
        if self.yes or not (sys.stdin.isatty() and sys.stderr.isatty()):
            return None
        return lambda label: str(click.prompt(label, hide_input=True, err=True))


    def connect(self, *, read_only: bool = False, may_prompt: bool = True,
                sleep: Callable[[float], None] | None = None) -> Any:
        """The one org session of this command, built the same way for every command:
        the configured profile, this invocation's prompt rule (``may_prompt=False``: never
        ask, for a login that is only nice to have), warnings and -v debug lines.
        ``sleep`` is how long waits are spent (tests pass the emulator clock's advance)."""
        from sfexit.org import connect

        extra: dict[str, Any] = {} if sleep is None else {"sleep": sleep}
        return connect(self.settings(), read_only=read_only,
                       prompt=self.prompt() if may_prompt else None,
                       warn=self.out.warn, on_event=self.out.debug, **extra)


pass_app = click.make_pass_decorator(AppContext, ensure=True)


def json_option(f: Any) -> Any:
    """``--json`` on a command as well as on the group (``sfexit whoami --json`` works)."""

    def callback(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
        if value:
            ctx.ensure_object(AppContext).out.json = True

    return click.option(
        "--json", "json_", is_flag=True, expose_value=False, callback=callback,
        is_eager=True, help="Print the result as a JSON envelope on stdout.",
    )(f)


def org_option(f: Any) -> Any:
    """``--org NAME`` on a command as well as on the group (``sfexit whoami --org prod``)."""

    def callback(ctx: click.Context, _param: click.Parameter, value: str | None) -> None:
        if value:
            app = ctx.ensure_object(AppContext)
            app.org = value
            app._settings = None

    return click.option(
        "--org", "org_", metavar="NAME", expose_value=False, callback=callback,
        help="Named org profile from [orgs.NAME] in the config.",
    )(f)


class SfexitGroup(click.Group):
    """A group whose ``main`` is the error boundary, so CliRunner tests go through it too."""

    def main(self, args: Any = None, prog_name: str | None = None,
             complete_var: str | None = None, standalone_mode: bool = True,
             **extra: Any) -> Any:
        argv = list(sys.argv[1:] if args is None else args)
        out_hint = Output(json=_flag_given(argv, "--json"), verbose=_verbose_given(argv),
                          color=False if no_color_requested() else None)
        extra.setdefault("obj", AppContext(out=out_hint))
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
        handler.setFormatter(logging.Formatter("debug: %(name)s: %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)


class _StderrHandler(logging.StreamHandler):  # type: ignore[type-arg,unused-ignore]
    """Writes to whatever sys.stderr is at the time (CliRunner swaps it per invocation)."""

    @property
    def stream(self) -> Any:
        return sys.stderr

    @stream.setter
    def stream(self, _value: Any) -> None:
        pass


def main() -> None:
    cli()


# Command modules register themselves on `cli` with @cli.command / @cli.group.
# One import line per module; keep them light (no simple-salesforce, no emulator at import).
# --- command modules ---
from sfexit.cli import auth as _auth  # noqa: E402,F401  login, logout, whoami, limits
from sfexit.cli import deadline  # noqa: E402,F401
from sfexit.cli import emulator  # noqa: E402,F401
from sfexit.cli import export as _export  # noqa: E402,F401  export bulk, verify (+ files, weekly)
from sfexit.cli import export_weekly as _export_weekly  # noqa: E402,F401  export weekly
from sfexit.cli import export_files as _export_files  # noqa: E402,F401  export files
from sfexit.cli import users as _users  # noqa: E402,F401  the `users` group
from sfexit.cli import users_deactivate as _users_deactivate  # noqa: E402,F401  users deactivate
from sfexit.cli import reassign as _reassign  # noqa: E402,F401  reassign, --undo
from sfexit.cli import offboard as _offboard  # noqa: E402,F401  offboard
from sfexit.cli import demo as _demo  # noqa: E402,F401  demo
from sfexit.cli import report as _report  # noqa: E402,F401  report verify, render
# --- end command modules ---
