"""Rendering for the CLI: the --json envelope, human text, and messages on stderr.

The envelope follows the Salesforce CLI's, which admins already script against:
success ``{"status": 0, "result": {...}, "warnings": [...]}``; failure
``{"status": N, "name": ..., "message": ..., "exitCode": N, "warnings": [...]}``; a partial
result (some work done, some failed: exit 5, or a verification that found differences) is both:
``{"status": N, "name": ..., "message": ..., "exitCode": N, "result": {...}, "warnings": [...]}``
(:meth:`Output.partial`).
Nothing but the envelope goes to stdout in --json mode.
"""

from __future__ import annotations

import dataclasses
import secrets
import sys
from collections.abc import Callable
from typing import Any

import click

from sfexit.cli.safe_text import json_safe, neutralise_cell, neutralise_line
from sfexit.jsonable import dumps as json_text


def dumps(value: Any) -> str:
    """Exact JSON (:mod:`sfexit.jsonable`), safe to print (safe_text.json_safe: C1 and bidi
    characters escaped)."""
    return json_safe(json_text(value))


def success_envelope(result: Any, warnings: list[str]) -> str:
    return dumps({"status": 0, "result": result, "warnings": list(warnings)})


def failure_envelope(name: str, message: str, exit_code: int, warnings: list[str]) -> str:
    return dumps(
        {
            "status": exit_code,
            "name": name,
            "message": message,
            "exitCode": exit_code,
            "warnings": list(warnings),
        }
    )


def partial_envelope(result: Any, name: str, message: str, exit_code: int,
                     warnings: list[str]) -> str:
    return dumps(
        {
            "status": exit_code,
            "name": name,
            "message": message,
            "exitCode": exit_code,
            "result": result,
            "warnings": list(warnings),
        }
    )


@dataclasses.dataclass
class Output:
    """How this invocation talks to the person or script that called it."""

    json: bool = False
    quiet: bool = False
    verbose: bool = False
    # None: colour only on a terminal (click strips styles on pipes); False: NO_COLOR or forced off.
    color: bool | None = None
    warnings: list[str] = dataclasses.field(default_factory=list)

    # Every line below reaches the terminal through neutralise_line (text that sfexit broke
    # into lines) or neutralise_cell (warnings and errors, one line each; table cells):
    # whatever the org's names and messages hold, no control or bidi character reaches the
    # terminal (cli/safe_text.py). A style sfexit put inside a text (style()) travels through
    # the neutraliser as a per-process mark the org cannot forge, and becomes ESC only after.

    def info(self, message: str) -> None:
        """A human message on stderr; silent with --quiet or --json."""
        if not (self.quiet or self.json):
            click.echo(_restyled(neutralise_line(message)), err=True, color=self.echo_color)

    def debug(self, message: str) -> None:
        if self.verbose and not self.json:
            click.echo(_restyled(neutralise_line(message)), err=True, color=self.echo_color)

    def warn(self, message: str) -> None:
        """A warning: in the envelope with --json, else on stderr (even with --quiet)."""
        self.warnings.append(message)
        if not self.json:
            click.echo(_restyled(self.style(f"Warning: {neutralise_cell(message)}",
                                            fg="yellow")), err=True, color=self.echo_color)

    @property
    def echo_color(self) -> bool | None:
        """For click.echo: None lets click colour only a terminal; False never (NO_COLOR)."""
        return False if self.color is False else None

    def style(self, text: str, **styles: Any) -> str:
        """``text`` styled (click.style's options) once it is printed through this Output."""
        if self.color is False:
            return text
        return click.style(text, **styles).replace("\x1b", _STYLE_MARK)

    def result(self, result: Any, human: str | Callable[[], str] | None = None) -> None:
        """The command's result: the envelope with --json, else the human rendering on stdout."""
        if self.json:
            click.echo(success_envelope(result, self.warnings))
            return
        self._human(result, human)

    def _human(self, result: Any, human: str | Callable[[], str] | None) -> None:
        text = human() if callable(human) else human
        if text is None:
            text = dumps(result)
        if text:
            click.echo(_restyled(neutralise_line(text)), color=self.echo_color)

    def partial(self, result: Any, human: str | Callable[[], str] | None = None, *, name: str,
                message: str, exit_code: int) -> int:
        """A result that is also a failure (some records failed, a backup that differs).

        With --json one envelope keeps both: ``status`` is the exit code (never 0 beside a
        non-zero exit), with ``name``, ``message``, ``exitCode``, ``result`` and ``warnings``.
        Else the human rendering on stdout and the one-line error on stderr. Returns
        ``exit_code``, so a command ends with ``return app.out.partial(...)``.
        """
        if self.json:
            click.echo(partial_envelope(result, name, message, exit_code, self.warnings))
            return exit_code
        self._human(result, human)
        self._error(message)
        return exit_code

    def failure(self, name: str, message: str, exit_code: int) -> None:
        if self.json:
            click.echo(failure_envelope(name, message, exit_code, self.warnings))
        else:
            self._error(message)

    def _error(self, message: str) -> None:
        """The one error line: one line whatever the message holds (cell-neutralised)."""
        click.echo(_restyled(self.style(f"Error: {neutralise_cell(message)}", fg="red")),
                   err=True, color=self.echo_color)


# Stands for ESC inside a styled text until it is printed: private-use characters and a nonce
# drawn per process, so no text from the org can carry a mark that turns into an escape.
_STYLE_MARK = "\ue000" + secrets.token_hex(8) + "\ue001"


def _restyled(text: str) -> str:
    return text.replace(_STYLE_MARK, "\x1b")


def table(headers: list[str], rows: list[list[Any]], max_width: int | None = None,
          keep: frozenset[int] = frozenset()) -> str:
    """A plain aligned text table (no colour, safe to paste into a ticket). Columns are
    measured in terminal cells (a CJK character is two); with ``max_width`` the widest
    columns (not those in ``keep``) are cut with an ellipsis so that each line fits."""
    from sfexit.cli.textwidth import cells, clip, fit_widths, pad

    body = [[neutralise_cell("" if c is None else str(c)) for c in row] for row in rows]
    widths = [cells(h) for h in headers]
    for row in body:
        for i, c in enumerate(row):
            widths[i] = max(widths[i], cells(c))
    if max_width is not None:
        widths = fit_widths(widths, max_width, keep=keep)

    def line(values: list[str]) -> str:
        return "  ".join(pad(clip(v, widths[i]), widths[i])
                         for i, v in enumerate(values)).rstrip()
    out = [line(headers), line(["-" * w for w in widths])]
    out.extend(line(r) for r in body)
    return "\n".join(out)


def stderr_is_tty() -> bool:
    return sys.stderr.isatty()
