"""An export larger than one day's limits (issue 23): it runs until the reserve, pauses with the
time the rolling 24-hour window frees up, and the same command continues it to the same bytes.

Against the emulator, whose daily limits roll with its clock (sfexit_emulator/rolling.py): the
tests move the clock to the time the pause names instead of waiting a day.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from auth_support import invoke, on_org_clock, password_env, password_profile, write_config
from export_support import clock_sleep, session_for
from sfexit.errors import PausedForLimits
from sfexit.export.backup import BackupSummary, run_backup
from sfexit.export.data_run import ExportOptions
from sfexit.export.manifest import ManifestStore
from sfexit_emulator import Emulator

DAILY_CALLS = 150          # the whole org's export needs about three such days (below)


def _backup(org: Emulator, dest: Path, **kw: Any) -> BackupSummary:
    # Every object by Bulk (rest_below=0): the call counts these tests are built on; the
    # schedule would read this small org over REST in far fewer calls (schedule.py).
    return run_backup(session_for(org), ExportOptions(dest=dest, rest_below=0), files=False,
                      sleep=clock_sleep(org), now=org.clock.now, **kw)


def _calls_used(org: Emulator) -> int:
    """The org's own DailyApiRequests count over the last 24 h (what /limits reports)."""
    return int(org.stats()["api_requests_used"])


def _parse(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for sub in ("data", "schema") for p in sorted((root / sub).rglob("*")) if p.is_file()}


def _next_day(org: Emulator) -> None:
    """Past every call made so far: the window is empty again."""
    org.clock.advance(24 * 3600 + 1)


def test_an_export_needing_three_days_pauses_twice_then_ends_identical_to_one_that_never_paused(
        fresh_emulator: Emulator, tmp_path: Path) -> None:
    org = fresh_emulator
    whole = _backup(org, tmp_path / "whole")          # unconstrained, for the bytes
    assert not [o for o in whole.objects if o.status in ("failed", "paused")]
    _next_day(org)
    org.faults.daily_api_max = DAILY_CALLS
    line = DAILY_CALLS - DAILY_CALLS // 10          # what the 10% reserve leaves
    dest = tmp_path / "spread"
    pauses: list[dict[str, Any]] = []
    for _ in range(5):
        try:
            done = _backup(org, dest)
            break
        except PausedForLimits as paused:
            assert _calls_used(org) <= line, "the reserve was crossed"
            held = ManifestStore.load(dest).manifest
            assert held.finished_at is None and held.paused is not None
            assert held.paused["limit"] == "DailyApiRequests"
            resume = _parse(held.paused["resume_after"])
            assert resume == _parse(held.paused["at"]) + dt.timedelta(hours=24)
            assert f"resume after {resume:%Y-%m-%d %H:%M} UTC" in paused.message
            pauses.append(held.paused)
            assert _calls_used(org) > 0
            org.clock.set(resume)                     # the time the pause named, no later
            assert _calls_used(org) == 0, "the window frees up when the pause said"
    else:
        pytest.fail("the export never finished")
    assert len(pauses) == 2
    assert pauses[0]["plan"]["days"] == 3 and pauses[1]["plan"]["days"] == 2
    assert _calls_used(org) <= line
    held = ManifestStore.load(dest).manifest
    assert held.paused is None and held.finished_at is not None
    assert done.plan is not None and done.plan.days == 1
    assert {o.name for o in done.objects if o.status == "kept"}     # the earlier days' work
    assert _tree(dest) == _tree(tmp_path / "whole")
    assert (dest / "data").is_dir() and len(_tree(dest)) > 40


def test_the_reserve_holds_whatever_its_size(fresh_emulator: Emulator, tmp_path: Path) -> None:
    org = fresh_emulator
    org.faults.daily_api_max = 400
    with pytest.raises(PausedForLimits):
        _backup(org, tmp_path / "o", reserve_pct=70)
    assert _calls_used(org) <= 400 - 280
    held = ManifestStore.load(tmp_path / "o").manifest
    assert held.paused is not None and held.paused["plan"]["reserve_pct"] == 70
    assert held.objects   # it did not refuse: it exported what fitted


def test_force_runs_past_the_reserve(fresh_emulator: Emulator, tmp_path: Path) -> None:
    org = fresh_emulator
    org.faults.daily_api_max = 400
    summary = _backup(org, tmp_path / "o", reserve_pct=70, force=True)
    assert not [o for o in summary.objects if o.status == "paused"]
    assert _calls_used(org) > 400 - 280


# --- the command -------------------------------------------------------------------------------

def _cli(org: Emulator, tmp_path: Path, export: str = "") -> tuple[list[str], dict[str, str]]:
    config = write_config(tmp_path, org, **password_profile(org))
    # rest_below = 0: every object by Bulk, as _backup (the call counts DAILY_CALLS fits).
    config.write_text(config.read_text() + f"[export]\nrest_below = 0\n{export}\n")
    return ["--config", str(config)], password_env(org)


def test_the_command_pauses_with_exit_4_and_one_line_saying_when_to_resume(
        fresh_emulator: Emulator, tmp_path: Path) -> None:
    org = fresh_emulator
    org.faults.daily_api_max = DAILY_CALLS
    base, env = _cli(org, tmp_path)
    dest = tmp_path / "out"
    args = [*base, "export", "bulk", "--dest", str(dest), "--no-files"]
    run = invoke(args, env=env, app=on_org_clock(org))
    assert run.code == 4, run.output
    assert run.body["name"] == "PausedForLimits"
    message = run.body["message"]
    resume = _parse(ManifestStore.load(dest).manifest.paused["resume_after"])  # type: ignore[index]
    assert f"resume after {resume:%Y-%m-%d %H:%M} UTC" in message and "\n" not in message
    assert "rolling 24-hour window" in message
    org.clock.set(resume)
    again = invoke([*args, "--resume"], env=env, app=on_org_clock(org))
    assert again.code in (0, 4), again.output
    assert again.body["result" if again.code == 0 else "name"]


@pytest.mark.parametrize("daily", [25, 40, 60])
def test_an_all_bulk_export_at_a_tiny_daily_max_pauses_before_the_org_refuses_a_call(
        fresh_emulator: Emulator, tmp_path: Path, daily: int) -> None:
    """Each object's describe is counted before it is made (BudgetGate.admit_describe): they
    were made first and counted with the object, so the describes of the objects the gate
    refused, and of all those started after it had, spent the reserve and the org answered
    REQUEST_LIMIT_EXCEEDED (exit 4 all the same, but no pause to resume from)."""
    org = fresh_emulator
    org.faults.daily_api_max = daily
    base, env = _cli(org, tmp_path)
    dest = tmp_path / "out"
    run = invoke([*base, "export", "bulk", "--dest", str(dest), "--rest-below", "0"], env=env,
                 app=on_org_clock(org))
    assert run.code == 4, run.output
    assert run.body["name"] == "PausedForLimits", run.body
    stats = org.stats()
    assert "request_limit_exceeded" not in stats["faults_injected"], stats["faults_injected"]
    assert "403" not in stats["responses_by_status"]
    assert _calls_used(org) <= daily - daily // 10
    assert ManifestStore.load(dest).manifest.paused is not None


def test_the_dry_run_gives_the_days_and_the_finish_date_and_writes_nothing(
        fresh_emulator: Emulator, tmp_path: Path) -> None:
    org = fresh_emulator
    org.faults.daily_api_max = DAILY_CALLS
    base, env = _cli(org, tmp_path)
    app = on_org_clock(org)
    start = org.clock.now().replace(microsecond=0)
    run = invoke([*base, "export", "bulk", "--dest", str(tmp_path / "out"), "--no-files",
                  "--dry-run"], env=env, app=app)
    assert run.code == 0, run.output
    budget = run.body["result"]["budget"]
    assert budget["days"] == 3 and budget["reserve_pct"] == 10
    finish = _parse(budget["finish_by"])
    assert dt.timedelta(hours=48) <= finish - start < dt.timedelta(hours=48, minutes=1)
    assert not (tmp_path / "out").exists()
    text = invoke([*base, "export", "bulk", "--dest", str(tmp_path / "out"), "--no-files",
                   "--dry-run"], env=env, app=app)
    assert text.code == 0


def test_the_human_dry_run_names_the_days_and_the_window(fresh_emulator: Emulator,
                                                          tmp_path: Path) -> None:
    from click.testing import CliRunner

    from sfexit.cli import cli

    org = fresh_emulator
    org.faults.daily_api_max = DAILY_CALLS
    base, env = _cli(org, tmp_path)
    result = CliRunner().invoke(cli, [*base, "export", "bulk", "--dest", str(tmp_path / "o"),
                                      "--no-files", "--dry-run"], env=env,
                                obj=on_org_clock(org))
    assert result.exit_code == 0, result.output
    assert "Needs about 3 days" in result.stdout and "rolling" in result.stdout
    assert "DailyApiRequests" in result.stdout


@pytest.mark.parametrize("value", ["abc", "-5", "95", "nan", "", "10%%"])
def test_a_bad_reserve_flag_is_a_usage_error_in_one_line(fresh_emulator: Emulator,
                                                         tmp_path: Path, value: str) -> None:
    base, env = _cli(fresh_emulator, tmp_path)
    before = _calls_used(fresh_emulator)
    run = invoke([*base, "export", "bulk", "--dest", str(tmp_path / "o"), "--reserve", value],
                 env=env, app=on_org_clock(fresh_emulator))
    assert run.code == 2, run.output
    assert run.body["message"].startswith("--reserve: must be a percentage from 0 to 90")
    assert "\n" not in run.body["message"]
    assert _calls_used(fresh_emulator) == before and not (tmp_path / "o").exists()


@pytest.mark.parametrize("value", ['"lots"', "120", "true", "-1"])
def test_a_bad_reserve_in_the_config_is_a_usage_error_naming_the_key(
        fresh_emulator: Emulator, tmp_path: Path, value: str) -> None:
    base, env = _cli(fresh_emulator, tmp_path, export=f"reserve = {value}")
    run = invoke([*base, "export", "bulk", "--dest", str(tmp_path / "o")], env=env,
                 app=on_org_clock(fresh_emulator))
    assert run.code == 2, run.output
    assert "export.reserve: must be a percentage from 0 to 90" in run.body["message"]
    assert not (tmp_path / "o").exists()


def test_a_reserve_from_the_config_is_used(fresh_emulator: Emulator, tmp_path: Path) -> None:
    base, env = _cli(fresh_emulator, tmp_path, export="reserve = 25")
    fresh_emulator.faults.daily_api_max = DAILY_CALLS
    run = invoke([*base, "export", "bulk", "--dest", str(tmp_path / "o"), "--dry-run",
                  "--no-files"], env=env, app=on_org_clock(fresh_emulator))
    assert run.code == 0 and run.body["result"]["budget"]["reserve_pct"] == 25


def test_resume_refuses_a_dest_with_no_export(fresh_emulator: Emulator, tmp_path: Path) -> None:
    base, env = _cli(fresh_emulator, tmp_path)
    run = invoke([*base, "export", "bulk", "--dest", str(tmp_path / "none"), "--resume"],
                 env=env, app=on_org_clock(fresh_emulator))
    assert run.code == 2 and run.body["message"].startswith("--resume: ")


# --- file bodies: one call each ----------------------------------------------------------------

FILE_OBJECTS = ("ContentVersion", "Attachment", "Document")


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in sorted((root / "files").rglob("*")) if p.is_file()}


def test_the_files_step_pauses_between_bodies_and_a_rerun_fetches_the_rest(
        fresh_emulator: Emulator, tmp_path: Path) -> None:
    org = fresh_emulator
    run = {"files": True, "sleep": clock_sleep(org), "now": org.clock.now}
    whole = run_backup(session_for(org), ExportOptions(dest=tmp_path / "whole",
                                                       objects=FILE_OBJECTS), **run)
    _next_day(org)
    org.faults.daily_api_max = 60                   # the data fits, the 39 bodies do not
    dest = tmp_path / "spread"
    with pytest.raises(PausedForLimits) as paused:
        run_backup(session_for(org), ExportOptions(dest=dest, objects=FILE_OBJECTS), **run)
    assert _calls_used(org) <= 54
    held = ManifestStore.load(dest).manifest
    assert held.paused is not None and held.paused["objects_left"] == 0
    assert 0 < held.paused["files_paused"] < whole.files["listed"]
    assert f"{held.paused['files_paused']} file bodies left" in paused.value.message
    assert not list(dest.rglob("*.part"))
    for _ in range(3):
        org.clock.set(_parse(ManifestStore.load(dest).manifest.paused["resume_after"]))  # type: ignore[index]
        try:
            done = run_backup(session_for(org), ExportOptions(dest=dest, objects=FILE_OBJECTS),
                              **run)
            break
        except PausedForLimits:
            assert _calls_used(org) <= 54
    else:
        pytest.fail("the files never finished")
    assert done.files["paused"] == 0 and done.files["skipped"] > 0
    assert _files(dest) == _files(tmp_path / "whole") and _tree(dest) == _tree(tmp_path / "whole")


def test_export_files_alone_pauses_with_exit_4_and_continues(fresh_emulator: Emulator,
                                                            tmp_path: Path) -> None:
    org = fresh_emulator
    org.faults.daily_api_max = 40
    base, env = _cli(org, tmp_path)
    dest = tmp_path / "out"
    args = [*base, "export", "files", "--dest", str(dest)]
    run = invoke(args, env=env, app=on_org_clock(org))
    assert run.code == 4, run.output
    assert run.body["name"] == "PausedForLimits" and "file bodies left" in run.body["message"]
    assert _calls_used(org) <= 36
    for _ in range(4):
        org.clock.set(_parse(ManifestStore.load(dest).manifest.paused["resume_after"]))  # type: ignore[index]
        run = invoke(args, env=env, app=on_org_clock(org))
        assert _calls_used(org) <= 36
        if run.code == 0:
            break
        assert run.code == 4, run.output
    assert run.code == 0, run.output
    assert run.body["result"]["paused"] == 0
    assert ManifestStore.load(dest).manifest.paused is None
