"""What every command shares: the app context (global options) and the shared options.

Command modules import from here, never from ``sfexit.cli`` itself: the root group in
``sfexit/cli/__init__.py`` imports the command modules and registers them with ``add_command``,
so there is no import cycle between the root and its commands.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sfexit import errors
from sfexit.cli.confirmation import can_ask
from sfexit.cli.output import Output
from sfexit.cli.safe_text import neutralise_line
from sfexit.config import Settings, load_settings

if TYPE_CHECKING:   # costs nothing at start-up: `sfexit --help` loads no org code
    from sfexit.org.session import OrgSession
    from sfexit.storage import Reach


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclasses.dataclass
class AppContext:
    """What the global options say, shared by every command through ``ctx.obj``.

    ``sleep``, ``clock`` and ``now`` are how this invocation waits and reads the time: the
    session's retries and the commands' polls take them from here. Real time, except where the
    caller runs an org's own clock: ``sfexit demo`` on the emulator it owns, and tests, which
    pass ``AppContext(sleep=org.clock.advance, ...)`` as CliRunner's ``obj``
    (``tests/integration/auth_support.py``: ``on_org_clock``), so nothing really sleeps.
    """

    config_path: Path | None = None
    org: str | None = None
    yes: bool = False
    out: Output = dataclasses.field(default_factory=Output)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    now: Callable[[], dt.datetime] = utc_now
    _settings: Settings | None = dataclasses.field(default=None, repr=False)

    def settings(self) -> Settings:
        """The validated settings (config file + SFEXIT_* env + global flags), read once."""
        if self._settings is None:
            self._settings = load_settings(self.config_path, self.org)
        return self._settings

    def reach(self) -> Reach:
        """How a command's first contact with a store waits for its endpoint: a line per
        retry at normal verbosity, on this invocation's clock (storage.wait_for_endpoint)."""
        from sfexit.storage import Reach

        return Reach(on_retry=self.out.info, sleep=self.sleep)

    def prompt(self) -> Callable[[str], str] | None:
        """A hidden-input prompt, or None with --yes or without a terminal (twine's rule)."""
        if self.yes or not can_ask():
            return None
        return lambda label: str(click.prompt(label, hide_input=True, err=True))

    def confirm(self, question: str, *, no_terminal: str | None = None,
                hint: str = "pass --yes to go ahead, or --dry-run to only look") -> None:
        """The one confirmation before a change: --yes answers yes; without a terminal, refuse
        to guess (UsageError, exit 2: ``no_terminal`` and ``hint``); "no" aborts (exit 1)."""
        if self.yes:
            return
        if not can_ask():
            raise errors.UsageError(
                no_terminal or f"{question} needs a confirmation and there is no terminal",
                hint=hint)
        if not click.confirm(neutralise_line(question), default=False, err=True):
            raise click.exceptions.Abort()

    def connect(self, *, read_only: bool = False, may_prompt: bool = True) -> OrgSession:
        """The one org session of this command, built the same way for every command:
        the configured profile, this invocation's prompt rule (``may_prompt=False``: never
        ask, for a login that is only nice to have), ``self.sleep`` for its retries, warnings
        and -v debug lines."""
        from sfexit.org import connect

        return connect(self.settings(), read_only=read_only,
                       prompt=self.prompt() if may_prompt else None,
                       warn=self.out.warn, on_event=self.out.debug, sleep=self.sleep)


pass_app = click.make_pass_decorator(AppContext, ensure=True)


def require_writable_dir(path: Path, option: str) -> Path:
    """``path`` when sfexit can create it or write in it, else UsageError (exit 2): the same
    line for every command that writes a folder or a file (``--dest``, ``--run-dir``,
    ``--out``), before any login and without creating ``path``. The nearest existing folder is
    probed with a temporary file, because ``os.access`` says yes to root on a read-only mount.
    """
    path = Path(path).expanduser()
    existing = path
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    hint = f"choose another {option}, or fix the folder's permissions"
    if not existing.is_dir():
        raise errors.UsageError(f"cannot write to {path}: {existing} is a file, not a folder",
                                hint=hint)
    try:
        handle, probe = tempfile.mkstemp(prefix=".sfexit-probe-", dir=existing)
        os.close(handle)
        os.unlink(probe)
    except OSError as exc:
        raise errors.UsageError(f"cannot write to {path}: {exc.strerror or exc} in {existing}",
                                hint=hint) from None
    return path


def endpoint_option(f: Any) -> Any:
    """``--endpoint-url`` of a cloud destination (sfexit/storage.py, check_endpoint)."""
    return click.option(
        "--endpoint-url", metavar="URL",
        help="The store's endpoint for s3:// URLs (an S3-compatible store; default: the AWS "
             "chain's, e.g. AWS_ENDPOINT_URL) and gs:// URLs (a GCS emulator on loopback is "
             "sent no credentials); https://, http:// on loopback only. az:// takes its "
             "endpoint from AZURE_STORAGE_CONNECTION_STRING.")(f)


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
