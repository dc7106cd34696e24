"""``sfexit offboard`` against the emulator over HTTPS: dry run, real run, skips, refusals."""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from auth_support import invoke
from offboard_support import (SUCCESSOR, offboard, offboard_config, run_json,
                              writes)
from users_support import org_rows

from sfexit.journal import Journal, read_journal, verify_journal
from sfexit_emulator import testing


def steps_of(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["name"]: s for s in body["steps"]}


def total(run: dict[str, Any], key: str, field: str = "rest_calls") -> int:
    return sum(int((s.get(key) or {}).get(field, 0)) for s in run["steps"])


def within(actual: int, predicted: int, share: float = 0.10) -> bool:
    return abs(actual - predicted) <= share * max(actual, 1)


@pytest.fixture
def both_runs(fresh_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
              ) -> tuple[Any, dict[str, Any], dict[str, Any], int]:
    """A dry run, then a real run of the same org: (org, dry run.json, real run.json,
    writes during the dry run)."""
    org = fresh_emulator
    config = offboard_config(tmp_path, org)
    before = writes(org)
    dry = offboard(config, org, "--dry-run", "--run-dir", str(tmp_path / "dry"))
    assert dry.code == 0, dry.output
    dry_writes = writes(org) - before
    real = offboard(config, org, "--yes", "--run-dir", str(tmp_path / "real"))
    assert real.code == 0, real.output
    assert real.body["result"]["journal"] == str(tmp_path / "real" / "journal.jsonl")
    return org, run_json(tmp_path / "dry"), run_json(tmp_path / "real"), dry_writes


def test_dry_run_writes_nothing_and_keeps_no_journal(both_runs: Any, tmp_path: Path) -> None:
    _org, dry, _real, dry_writes = both_runs
    assert dry_writes == 0
    assert dry["mode"] == "dry-run"
    assert not (tmp_path / "dry" / "journal.jsonl").exists()
    planned = {s["name"]: s["status"] for s in dry["steps"]}
    assert planned == {"preflight": "done", "dates": "done", "export": "planned",
                       "verify": "planned", "freeze": "planned", "reassign": "planned",
                       "deactivate": "skipped", "report": planned["report"]}
    assert dry["contract"]["contract_end"] == "2026-12-31"
    assert dry["org"]["name"] and dry["operator"]["username"]


def test_dry_run_predicts_the_real_runs_counts(both_runs: Any) -> None:
    _org, dry, real, _ = both_runs
    plan, done = steps_of(dry), steps_of(real)
    exported = done["export"]["result"]["objects"]
    assert {o["name"] for o in plan["export"]["result"]["objects"]} \
        == {o["name"] for o in exported}
    # Logging in adds LoginHistory rows between the two runs: the total is close, the data
    # objects exact.
    assert within(done["export"]["result"]["rows"], plan["export"]["result"]["rows"], 0.01)
    rows = {o["name"]: o["rows"] for o in exported}
    for o in plan["export"]["result"]["objects"]:
        if o["name"] in ("Account", "Contact", "Opportunity", "Lead", "Case", "Task"):
            assert rows[o["name"]] == o["rows"] > 0, o
    would = {i["username"] for i in plan["freeze"]["result"]["items"]
             if i["status"] == "would freeze"}
    frozen = {i["username"] for i in done["freeze"]["result"]["items"]
              if i["status"] == "frozen"}
    assert would and would == frozen
    assert plan["reassign"]["result"]["total"] == done["reassign"]["result"]["moved_total"] > 0
    planned_moves = {s["object"]: s["count"] for s in plan["reassign"]["result"]["steps"]}
    assert planned_moves == {o["object"]: o["moved"]
                             for o in done["reassign"]["result"]["objects"]}


def test_forecast_of_api_calls_is_within_ten_percent_of_what_the_run_used(
        both_runs: Any) -> None:
    _org, dry, real, _ = both_runs
    predicted, used = dry["forecast"]["rest_calls"], total(real, "used")
    assert predicted == total(dry, "forecast")
    assert within(used, predicted), (predicted, used)
    for name in ("export", "verify", "reassign"):
        f = steps_of(dry)[name]["forecast"]["rest_calls"]
        u = steps_of(real)[name]["used"]["rest_calls"]
        assert within(u, f, 0.15), (name, f, u)
    assert total(real, "used", "bulk_query_jobs") <= dry["forecast"]["bulk_query_jobs"]


def test_real_run_matches_the_org(both_runs: Any) -> None:
    org, _dry, real, _ = both_runs
    done = steps_of(real)
    assert all(s["status"] in ("done", "skipped") for s in real["steps"]), real["steps"]
    frozen = {i["user_id"] for i in done["freeze"]["result"]["items"] if i["status"] == "frozen"}
    in_org = {r["UserId"][:15] for r in org_rows(org, "SELECT UserId FROM UserLogin "
                                                       "WHERE IsFrozen = true")}
    assert {u[:15] for u in frozen} <= in_org
    successor = org_rows(org, f"SELECT Id FROM User WHERE Username = '{SUCCESSOR}'")[0]["Id"]
    for obj in done["reassign"]["result"]["objects"]:
        snapshot = Path(obj["snapshot"]).read_text(encoding="utf-8").splitlines()[1:]
        ids = [line.split(",")[0] for line in snapshot]
        assert ids, obj["object"]
        owners = org_rows(org, f"SELECT Id, OwnerId FROM {obj['object']}")
        now = {r["Id"]: r["OwnerId"] for r in owners}
        assert all(now[i] == successor for i in ids), obj["object"]
    files = done["export"]["result"]["files"]
    assert files["downloaded"] == files["listed"] > 0
    on_disk = [p for p in (Path(real["steps"][2]["result"]["dest"]) / "files").rglob("*")
               if p.is_file()]
    assert len(on_disk) >= files["downloaded"]
    assert done["verify"]["result"]["ok"] is True


def test_real_run_journals_each_change_once_and_every_step(both_runs: Any,
                                                           tmp_path: Path) -> None:
    _org, _dry, real, _ = both_runs
    path = tmp_path / "real" / "journal.jsonl"
    check = verify_journal(path)
    assert check.ok and check.head_hash == real["journal_head"]
    entries = read_journal(path)
    changes = Counter((e.action, tuple(sorted(map(str, e.target.items()))))
                      for e in entries if e.kind == "change")
    assert changes and max(changes.values()) == 1
    started = [e.action for e in entries if e.kind == "step_start"
               and e.action.startswith("offboard ")]
    # The report step changes nothing and proves the journal's head: it is not in the chain.
    assert started == [f"offboard {n}" for n in
                       ("dates", "export", "verify", "freeze", "reassign")]


def test_a_finished_run_records_its_end_and_the_final_journal_head(both_runs: Any,
                                                                   tmp_path: Path) -> None:
    _org, dry, real, _ = both_runs
    for state in (dry, real):
        assert state["finished_at"] and state["finished_at"] >= state["started_at"]
    run_dir = tmp_path / "real"
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    assert report["finished_at"] == real["finished_at"]
    assert report["journal"]["head_matches"] and report["verification_ok"]
    ok = invoke(["report", "verify", str(run_dir)])
    assert ok.code == 0, ok.output
    # Anything journaled after the run finished is not its final head: report verify says so.
    Journal.open(run_dir / "journal.jsonl").note("written after the run had finished")
    bad = invoke(["report", "verify", str(run_dir)])
    assert bad.code == 1
    assert any("is not its head" in d for d in bad.body["result"]["differences"])


def test_steps_without_inputs_are_skipped_with_a_clear_reason(
        fresh_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    org = fresh_emulator
    config = offboard_config(tmp_path, org, contract=False, successor=None)
    run = offboard(config, org, "--dry-run", "--skip", "export", "--skip", "preflight",
                   "--run-dir", str(tmp_path / "r"))
    assert run.code == 0, run.output
    why = {s["name"]: s["reason"] for s in run.body["result"]["steps"]
           if s["status"] == "skipped"}
    assert "no [contract]" in why["dates"]
    assert "no successor" in why["reassign"]
    assert why["export"] == "skipped with --skip export"
    assert "no backup to verify" in why["verify"]
    assert "deactivate = true" in why["deactivate"]
    state = run_json(tmp_path / "r")
    assert state["contract"] is None
    assert "preflight" not in why  # it only reads, and the plan comes from it: said so
    assert any("preflight cannot be skipped" in w for w in state["warnings"])


def test_a_run_larger_than_a_day_is_not_refused_its_export_pauses_and_resume_continues(
        fresh_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 23: planned over days (export/budget.py), the export pauses at the reserve with
    the time the 24-hour window frees up; nothing is changed in the org before the export is
    complete; `--resume` at that time continues the export."""
    org = fresh_emulator
    org.faults = {"daily_api_max": 250}
    config = offboard_config(tmp_path, org)
    # Every object by Bulk (the call counts 250 is built on): the schedule would read this
    # small org over REST in far fewer calls (export/schedule.py).
    config.write_text(config.read_text(encoding="utf-8").replace(
        "[export]\n", "[export]\nrest_below = 0\n"), encoding="utf-8")
    before = writes(org)
    run = offboard(config, org, "--yes", "--run-dir", str(tmp_path / "r"))
    assert run.code == 4, run.output
    assert run.body["name"] == "PausedForLimits"
    assert "paused for limits before DailyApiRequests's 10% reserve" in run.body["message"]
    assert writes(org) == before
    assert org.stats()["api_requests_used"] <= 225          # the reserve held
    raw = run_json(tmp_path / "r")
    state = steps_of(raw)
    assert state["preflight"]["status"] == "done"
    assert raw["forecast"]["fits"] is False and raw["forecast"]["days"] >= 2
    [days] = [w for w in raw["warning_codes"] if w["code"] == "forecast_days"]
    assert days["params"]["days"] == raw["forecast"]["days"]
    assert state["export"]["status"] == "failed"
    assert state["export"]["reason_code"] == "paused_for_limits"
    resume_after = state["export"]["reason_params"]["resume_after"]
    assert f"resume after {resume_after[:10]} {resume_after[11:16]} UTC" in run.body["message"]
    journal = (tmp_path / "r" / "journal.jsonl").read_text(encoding="utf-8")
    assert f"--resume after {resume_after}" in journal   # the pause is journaled (step_end)
    for _ in range(6):      # each day: --resume at the time the pause named
        org.clock.set(dt.datetime.fromisoformat(resume_after.replace("Z", "+00:00")))
        again = offboard(config, org, "--yes", "--resume", str(tmp_path / "r"))
        assert org.stats()["api_requests_used"] <= 225
        if again.code == 0:
            break
        assert again.code == 4 and again.body["name"] == "PausedForLimits", again.output
        [paused] = [s for s in run_json(tmp_path / "r")["steps"] if s["status"] == "failed"]
        assert paused["reason_code"] == "paused_for_limits"
        resume_after = paused["reason_params"]["resume_after"]
    else:
        pytest.fail("the offboard never finished")
    done = run_json(tmp_path / "r")
    assert all(s["status"] in ("done", "skipped") for s in done["steps"]), done["steps"]


def test_the_dry_run_and_its_report_give_the_days_and_the_finish_date(
        fresh_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    org = fresh_emulator
    org.faults = {"daily_api_max": 250}
    config = offboard_config(tmp_path, org)
    start = org.clock.now().replace(microsecond=0)
    run = offboard(config, org, "--dry-run", "--run-dir", str(tmp_path / "dry"))
    assert run.code == 0, run.output
    forecast = run_json(tmp_path / "dry")["forecast"]
    days = forecast["days"]
    assert days >= 2 and forecast["reserve_pct"] == 10
    finish = dt.datetime.fromisoformat(forecast["finish_by"].replace("Z", "+00:00"))
    assert dt.timedelta(days=days - 1) <= finish - start < dt.timedelta(days=days - 1, minutes=1)
    [line] = [p for p in run.body["result"]["plan"] if p.startswith("Days: ")]
    assert f"about {days} of the org's daily limits" in line
    assert f"the last part after {forecast['finish_by']}" in line
    report = json.loads((tmp_path / "dry" / "report.json").read_text(encoding="utf-8"))
    [warned] = [w for w in report["warning_codes"] if w["code"] == "forecast_days"]
    assert warned["params"]["days"] == days
    page = (tmp_path / "dry" / "report.html").read_text(encoding="utf-8")
    assert f"needs about {days} days" in page and warned["params"]["finish_by"] in page
    german = invoke(["report", "render", str(tmp_path / "dry"), "--lang", "de"])
    assert german.code == 0, german.output
    assert f"etwa {days} Tage" in (tmp_path / "dry" / "report.de.html").read_text(
        encoding="utf-8")


def test_a_run_no_day_can_hold_is_refused_with_the_numbers(
        fresh_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a 90% reserve the preflight alone passes what is left of 250 calls a day: no
    number of days holds the run, so it is refused before anything starts."""
    org = fresh_emulator
    org.faults = {"daily_api_max": 250}
    config = offboard_config(tmp_path, org)
    config.write_text(config.read_text(encoding="utf-8").replace(
        "[export]\n", "[export]\nreserve = 90\n"), encoding="utf-8")
    before = writes(org)
    run = offboard(config, org, "--yes", "--run-dir", str(tmp_path / "r"))
    assert run.code == 4, run.output
    message = run.body["message"]
    assert "DailyApiRequests: needs about" in message and "remaining" in message
    assert writes(org) == before
    raw = run_json(tmp_path / "r")
    state = steps_of(raw)
    assert state["preflight"]["status"] == "failed"
    assert state["preflight"]["reason_code"] == "forecast_refused"
    assert state["export"]["status"] == "planned"
    assert raw["forecast"]["days"] is None
    assert raw["finished_at"]   # the run ended there (refused); --resume would continue


def test_force_goes_past_a_forecast_refusal_and_records_it_as_a_warning(
        fresh_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The org has fewer Bulk query jobs left than the forecast asks (it counts one per object;
    objects the Bulk API refuses are read by REST): without --force the export pauses at the
    reserve (issue 23), with it the run goes ahead."""
    org = fresh_emulator
    config = offboard_config(tmp_path, org)
    # Every object by Bulk: on this small org the schedule would read them all over REST.
    config.write_text(config.read_text(encoding="utf-8").replace(
        "[export]\n", "[export]\nrest_below = 0\n"), encoding="utf-8")
    dry = offboard(config, org, "--dry-run", "--run-dir", str(tmp_path / "dry"))
    assert dry.code == 0, dry.output
    wanted = run_json(tmp_path / "dry")["forecast"]["bulk_query_jobs"]
    assert wanted > 0
    name = "DailyBulkV2QueryJobs"
    assert testing.spend_limit(org, name, testing.limit_max(name) - wanted + 1)
    refused = offboard(config, org, "--yes", "--run-dir", str(tmp_path / "refused"))
    assert refused.code == 4 and f"paused for limits before {name}'s" in refused.body["message"]
    run = offboard(config, org, "--yes", "--force", "--run-dir", str(tmp_path / "r"))
    assert run.code == 0, run.output
    state = run_json(tmp_path / "r")
    assert all(s["status"] in ("done", "skipped") for s in state["steps"]), state["steps"]
    assert state["forecast"]["fits"] is False
    [forced] = [w for w in state["warning_codes"] if w["code"] == "forecast_forced"]
    assert forced["text"] in state["warnings"] and name in forced["params"]["limits"]
    assert "--force" in forced["text"]
    report = json.loads((tmp_path / "r" / "report.json").read_text(encoding="utf-8"))
    assert forced["text"] in report["warnings"]
    assert "started anyway with --force" in (tmp_path / "r" / "report.html").read_text(
        encoding="utf-8")
    german = invoke(["report", "render", str(tmp_path / "r"), "--lang", "de"])
    assert german.code == 0, german.output
    page = (tmp_path / "r" / "report.de.html").read_text(encoding="utf-8")
    assert "trotzdem mit --force gestartet" in page and "started anyway" not in page


def test_without_a_terminal_or_yes_the_run_refuses_before_any_change(
        fresh_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    org = fresh_emulator
    config = offboard_config(tmp_path, org)
    before = writes(org)
    run = offboard(config, org, "--run-dir", str(tmp_path / "r"))
    assert run.code == 2, run.output
    assert "--yes" in run.output
    assert writes(org) == before
    assert not (tmp_path / "r" / "export").exists()


def test_bad_resume_directory_is_one_line_exit_2(emulator: Any, tmp_path: Path) -> None:
    config = offboard_config(tmp_path, emulator)
    run = offboard(config, emulator, "--resume", str(tmp_path / "nowhere"))
    assert run.code == 2
    assert "holds no offboard run" in run.body["message"]
    assert "Traceback" not in run.output


def test_report_step_writes_the_report_or_says_why_not(both_runs: Any) -> None:
    _org, dry, real, _ = both_runs
    for state in (dry, real):
        report = steps_of(state)["report"]
        try:
            from sfexit.report import build_report  # noqa: F401
        except ImportError:
            assert report["status"] == "skipped"
            assert "sfexit.report.build_report" in report["reason"]
        else:
            assert report["status"] == "done", report
            assert Path(report["result"]["html"]).is_file()


def test_deactivate_runs_only_when_enabled_and_leaves_blocked_users_active(
        fresh_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    org = fresh_emulator
    config = offboard_config(tmp_path, org, deactivate=True)
    run = offboard(config, org, "--yes", "--skip", "export", "--run-dir", str(tmp_path / "r"))
    raw = run_json(tmp_path / "r")
    assert raw["finished_at"]   # set whether the run ends done or partial
    state = steps_of(raw)
    result = state["deactivate"]["result"]
    blocked = {i["user_id"] for i in result["items"] if i["status"] == "blocked"}
    gone = {i["user_id"] for i in result["items"] if i["status"] == "deactivated"}
    assert gone
    assert run.code == (5 if blocked else 0), run.output
    assert state["deactivate"]["status"] == ("partial" if blocked else "done")
    active = {r["Id"] for r in org_rows(org, "SELECT Id FROM User WHERE IsActive = true")}
    assert not gone & active
    assert blocked <= active
    assert within(state["deactivate"]["used"]["rest_calls"],
                  state["deactivate"]["forecast"]["rest_calls"])


def test_the_plan_report_does_not_claim_a_verified_journal(both_runs: Any,
                                                           tmp_path: Path) -> None:
    """A dry run writes no journal and no export: its report says so instead of "both verify"."""
    html_dry = (tmp_path / "dry" / "report.html").read_text("utf-8")
    html_real = (tmp_path / "real" / "report.html").read_text("utf-8")
    assert "nothing to verify yet" in html_dry and "both verify" not in html_dry
    assert "both verify" in html_real and "nothing to verify yet" not in html_real


def test_the_runs_report_shows_every_step_final_its_own_included(both_runs: Any,
                                                                  tmp_path: Path) -> None:
    """The report step is ``running`` in run.json while it writes; its report says done."""
    for name in ("dry", "real"):
        report = json.loads((tmp_path / name / "report.json").read_text(encoding="utf-8"))
        statuses = {s["name"]: s["status"] for s in report["steps"]}
        assert "running" not in statuses.values(), statuses
        assert statuses["report"] == "done"
        own = next(s for s in report["steps"] if s["name"] == "report")
        assert own["finished_at"] == report["generated_at"]


def test_render_writes_beside_the_runs_report_and_never_over_it(
        both_runs: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_dir = tmp_path / "real"
    original = (run_dir / "report.html").read_bytes()
    monkeypatch.chdir(tmp_path)   # rendered from elsewhere: paths stay relative to the run
    german = invoke(["report", "render", "real", "--lang", "de"])
    assert german.code == 0, german.output
    assert german.body["result"]["html"] == str(Path("real") / "report.de.html")
    assert (run_dir / "report.html").read_bytes() == original
    body = json.loads((run_dir / "report.de.json").read_text(encoding="utf-8"))
    assert body["journal"]["path"] == "journal.jsonl"
    assert body["export"]["manifest_path"] == "export/manifest.json"
    assert body["run_dir"] == "real"
    elsewhere = invoke(["report", "render", str(run_dir), "--lang", "fr", "--out",
                        str(tmp_path / "fr")])
    assert elsewhere.code == 0, elsewhere.output
    assert (tmp_path / "fr" / "report.fr.html").is_file()
    assert not (run_dir / "report.fr.html").exists()
    assert (run_dir / "report.html").read_bytes() == original


def test_dry_run_prints_the_counts_the_real_run_asks_about_and_the_forecast(
        fresh_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from click.testing import CliRunner

    from auth_support import on_org_clock
    from offboard_support import password_env
    from sfexit.cli import cli

    org = fresh_emulator
    config = offboard_config(tmp_path, org)
    base = ["--config", str(config), "offboard", "--skip", "export", "--skip", "verify"]
    dry = CliRunner().invoke(cli, [*base, "--dry-run", "--run-dir", str(tmp_path / "d")],
                             env=password_env(org), obj=on_org_clock(org))
    assert dry.exit_code == 0, dry.output
    plan = [line for line in dry.stdout.splitlines()
            if line.startswith(("Users to freeze:", "Records to move to ", "API calls: about"))]
    assert len(plan) == 3, dry.stdout
    assert "Forecast of the API limits:" in dry.stdout and "DailyApiRequests" in dry.stdout
    asked: list[str] = []
    import sfexit.cli.offboard as cli_offboard

    import sfexit.cli.confirmation as confirmation

    monkeypatch.setattr(cli_offboard, "_confirm", lambda app: asked.append)
    monkeypatch.setattr(confirmation, "can_ask", lambda: True)   # as at a terminal
    real = CliRunner().invoke(cli, [*base, "--run-dir", str(tmp_path / "r")],
                              env=password_env(org), obj=on_org_clock(org))
    assert real.exit_code == 0, real.output
    question = asked[0].splitlines()
    assert question[-1] == "Go ahead?"
    assert [line for line in question if line in plan] == plan   # the same counts
    assert real.output.count("Journal:") == 1
