"""Progress of long commands on stderr, for a person at a terminal and for CI and cron logs.

The library reports progress through callbacks and never prints (STYLE, habit 1); the commands
turn those callbacks into :class:`Progress` calls:

- ``status(text)``: what is going on now. On a terminal one live line, redrawn in place; without
  one (a pipe, CI, cron) the latest status once every ``LOG_INTERVAL`` seconds, so a log shows
  the command is alive without a line per row.
- ``note(text)``: a line that always prints (an object finished, a step started or ended).

Nothing is printed with ``--json`` or ``--quiet``. The clock is the command's own
(``AppContext.clock``; tests give a fake one, so nothing sleeps). Thread-safe: the export reports from worker threads.
"""

from __future__ import annotations

import shutil
import threading
from collections.abc import Callable
from typing import Any

import click

from sfexit.cli.safe_text import neutralise_cell, neutralise_line

LOG_INTERVAL = 30.0    # seconds between two status lines without a terminal
REDRAW = 0.1           # seconds between two redraws of the live line
ETA_AFTER = 5.0        # seconds of work before an ETA is worth showing


def duration(seconds: float) -> str:
    """``45 s``, ``3 min 20 s``, ``2 h 05 min``."""
    s = int(round(seconds))
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60:02d} s"
    return f"{s // 3600} h {(s % 3600) // 60:02d} min"


def eta(done: float, total: float | None, elapsed: float) -> str | None:
    """``ETA 3 min 20 s`` once it can be estimated (some work done, a total known)."""
    if not total or done <= 0 or done >= total or elapsed < ETA_AFTER:
        return None
    return "ETA " + duration(elapsed * (total - done) / done)


class Progress:
    def __init__(self, out: Any, *, clock: Callable[[], float],
                 tty: bool | None = None) -> None:
        """``clock``: monotonic seconds, the command's own (``AppContext.clock``: tests and the
        demo give the org's clock, so nothing waits for real time)."""
        import sys

        self.silent = bool(out.json or out.quiet)
        self.tty = sys.stderr.isatty() if tty is None else tty
        self._clock = clock
        self.started = self.now()
        self._last_log = self.started
        self._last_draw = 0.0
        self._live = False
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._clock()

    @property
    def elapsed(self) -> float:
        return self.now() - self.started

    def status(self, text: str, *, force: bool = False) -> None:
        if self.silent:
            return
        text = neutralise_cell(text)   # object and file names are org data (cli/safe_text.py)
        with self._lock:
            now = self.now()
            if self.tty:
                if force or now - self._last_draw >= REDRAW:
                    self._last_draw = now
                    width = max(20, shutil.get_terminal_size().columns - 1)
                    click.echo("\r\x1b[K" + text[:width], err=True, nl=False, color=True)
                    self._live = True
            elif now - self._last_log >= LOG_INTERVAL:
                self._last_log = now
                click.echo(f"[{duration(now - self.started)}] {text}", err=True)

    def note(self, text: str) -> None:
        if self.silent:
            return
        text = neutralise_line(text)
        with self._lock:
            if self.tty and self._live:
                click.echo("\r\x1b[K", err=True, nl=False, color=True)
                self._live = False
            click.echo(text, err=True)

    def close(self) -> None:
        if self.silent:
            return
        with self._lock:
            if self.tty and self._live:
                click.echo("\r\x1b[K", err=True, nl=False, color=True)
                self._live = False
