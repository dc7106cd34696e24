"""cli/progress.py: a live line on a terminal; one status line every 30 s without one."""

from __future__ import annotations

import pytest

from sfexit.cli.output import Output
from sfexit.cli.progress import Progress, duration, eta


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_without_a_terminal_one_status_line_every_30_seconds(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    clock = FakeClock()
    show = Progress(Output(), clock=clock, tty=False)
    for second in range(0, 95, 5):   # a status every 5 s for 90 s
        clock.now = 1000.0 + second
        show.status(f"rows {second}")
    show.note("Account: 5 rows (bulk)")
    lines = capsys.readouterr().err.splitlines()
    assert lines == ["[30 s] rows 30", "[1 min 00 s] rows 60", "[1 min 30 s] rows 90",
                     "Account: 5 rows (bulk)"]


def test_a_terminal_gets_one_live_line_and_notes_above_it(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    clock = FakeClock()
    show = Progress(Output(), clock=clock, tty=True)
    show.status("objects 0/2")
    clock.now += 1
    show.note("Account: 5 rows (bulk)")
    clock.now += 1
    show.status("objects 1/2")
    show.close()
    err = capsys.readouterr().err
    assert err == ("\r\x1b[Kobjects 0/2" "\r\x1b[K" "Account: 5 rows (bulk)\n"
                   "\r\x1b[Kobjects 1/2" "\r\x1b[K")


def test_json_and_quiet_print_nothing(capsys: pytest.CaptureFixture[str]) -> None:
    for out in (Output(json=True), Output(quiet=True)):
        show = Progress(out, clock=FakeClock(), tty=False)
        show.note("x")
        show.status("y", force=True)
    assert capsys.readouterr().err == ""


def test_eta_only_once_it_can_be_estimated() -> None:
    assert eta(0, 100, 60) is None and eta(50, None, 60) is None and eta(10, 100, 1) is None
    assert eta(25, 100, 60) == "ETA 3 min 00 s"
    assert duration(7325) == "2 h 02 min"
