"""Progress a person sees, through CliRunner (no terminal: the log form), and the command
that continues a stopped run. The terminal form is looked at in tmux (see the report)."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from auth_support import on_org_clock, password_env, password_profile, write_config
from offboard_support import offboard_config

from sfexit.cli import cli


class StepClock:
    """A fake monotonic clock: every reading is 11 s after the previous one, so every third
    status passes the 30 s log interval. Nothing sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        self.now += 11
        return self.now


def test_export_bulk_without_a_terminal_logs_progress_lines(
        fresh_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    org = fresh_emulator
    config = write_config(tmp_path, org, **password_profile(org))
    run = CliRunner().invoke(cli, ["--config", str(config), "export", "bulk", "--dest",
                                   str(tmp_path / "b"), "--objects", "Account,Contact,Lead",
                                   "--no-files"], env=password_env(org),
                             obj=dataclasses.replace(on_org_clock(org), clock=StepClock()))
    assert run.exit_code == 0, run.output
    logged = [line for line in run.stderr.splitlines() if line.startswith("[")]
    assert logged, run.stderr
    assert all("objects " in line and "/3" in line and " rows" in line for line in logged)
    assert any("ETA" in line for line in logged) or len(logged) < 3
    # A small org: the schedule reads these objects over REST (schedule.py), and says so.
    assert "Account: " in run.stderr and "(rest)" in run.stderr
    # again: nothing is redone, and the summary says kept
    again = CliRunner().invoke(cli, ["--config", str(config), "export", "bulk", "--dest",
                                     str(tmp_path / "b"), "--objects", "Account,Contact,Lead",
                                     "--no-files"], env=password_env(org), obj=on_org_clock(org))
    assert again.exit_code == 0, again.output
    assert "3 objects (3 kept: complete and verified from an earlier run)" in again.stdout
    assert again.stdout.endswith(f"Check it with `sfexit export verify {tmp_path / 'b'}`.\n")
    assert "resumed" not in again.output


def test_export_bulk_interrupted_says_how_to_continue(
        fresh_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sfexit.cli.export as cli_export

    org = fresh_emulator

    def ctrl_c(_p: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_export._Progress, "update", lambda self, p: ctrl_c(p))
    config = write_config(tmp_path, org, **password_profile(org))
    run = CliRunner().invoke(cli, ["--config", str(config), "export", "bulk", "--dest",
                                   str(tmp_path / "b"), "--objects", "Account", "--no-files"],
                             env=password_env(org), obj=on_org_clock(org))
    assert run.exit_code == 130, run.output
    assert ("The export stopped; run the same export command again to continue: what is "
            "complete and verified is kept.") in run.stderr


def test_offboard_shows_each_step_start_and_end_and_how_to_resume(
        fresh_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sfexit.offboard import steps

    org = fresh_emulator
    config = offboard_config(tmp_path, org)

    def interrupted(_ctx: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setitem(steps.REAL_STEPS, "reassign", interrupted)
    run_dir = tmp_path / "r"
    run = CliRunner().invoke(cli, ["--config", str(config), "offboard", "--yes", "--skip",
                                   "export", "--skip", "verify", "--run-dir", str(run_dir)],
                             env=password_env(org), obj=on_org_clock(org))
    assert run.exit_code == 130, run.output
    err = run.stderr.splitlines()
    for line in ("preflight: started", "freeze: started", "reassign: started"):
        assert line in err, run.stderr
    assert any(line.startswith("freeze: done (") for line in err), run.stderr
    assert any(line.startswith("reassign: interrupted (") for line in err), run.stderr
    assert f"To continue: sfexit --config {config} offboard --resume {run_dir}" in err
