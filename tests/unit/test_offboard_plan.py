"""The offboard plan (pure): which steps run and why not, and the limits forecast."""

from __future__ import annotations

import math

import pytest

from sfexit.export.schedule import rest_calls
from sfexit.offboard import plan
from sfexit.offboard.plan import Counts, Switches, Usage, decide_steps, forecast

EVERYTHING = Switches(has_contract=True, successor="ops@acme.com", deactivate=True)


def reasons(switches: Switches) -> dict[str, str | None]:
    return {d.name: d.reason for d in decide_steps(switches) if not d.run}


def test_every_step_runs_when_everything_is_configured() -> None:
    decisions = decide_steps(EVERYTHING)
    assert [d.name for d in decisions] == list(plan.STEPS)
    assert all(d.run for d in decisions)


def test_steps_without_their_inputs_are_skipped_with_the_reason() -> None:
    skipped = reasons(Switches())
    assert set(skipped) == {"dates", "reassign", "deactivate"}
    assert "[contract]" in str(skipped["dates"])
    assert "successor" in str(skipped["reassign"])
    assert "deactivate = true" in str(skipped["deactivate"])


def test_skip_from_the_command_line_and_the_config_say_which() -> None:
    skipped = reasons(Switches(has_contract=True, successor="x", deactivate=True,
                               config_skip=("freeze",), cli_skip=("export",)))
    assert skipped["export"] == "skipped with --skip export"
    assert "[offboard] skip" in str(skipped["freeze"])
    assert "no backup to verify" in str(skipped["verify"])


def test_unknown_step_names_are_found() -> None:
    assert plan.unknown_steps(["export", "frezee"]) == ["frezee"]


def test_export_forecast_counts_jobs_pages_files_and_storage() -> None:
    counts = Counts(rows={"Account": 120_000, "Contact": 10}, row_bytes=1000, files=7,
                    max_records=50_000, reads={"export": 20}, rest_below=0)
    usage = plan.step_usage("export", counts)
    pages = 3 + 1
    assert usage.rest_calls == (20 + 2 * plan.EXPORT_CALLS_PER_OBJECT
                                + math.ceil(2 * plan.POLLS_PER_JOB) + pages + 7)
    assert usage.bulk_query_jobs == 2
    assert usage.bulk_result_mb == math.ceil(120_010 * 1000 / (1024 * 1024))


def test_export_forecast_counts_rest_pages_for_the_objects_the_schedule_reads_over_rest(
        ) -> None:
    counts = Counts(rows={"Account": 120_000, "Contact": 10}, row_bytes=1000, files=7,
                    max_records=50_000, reads={"export": 20})
    usage = plan.step_usage("export", counts)
    # Contact (10 rows) is one REST page and no job. Account: without long text 25 cursors
    # read it in Id ranges (its calls, the costlier route), with long text a Bulk job (the job
    # counted): the forecast takes each object's worst (schedule.usage).
    assert usage.rest_calls == 20 + 2 + 1 + rest_calls(120_000, 2000) + 7
    assert usage.bulk_query_jobs == 1
    assert usage.bulk_result_mb == math.ceil(120_000 * 1000 / (1024 * 1024))


def test_reassign_uses_collections_for_small_objects_and_bulk_ingest_above_2000() -> None:
    counts = Counts(moves={"Lead": 450, "Task": 5000}, reads={"reassign": 30})
    usage = plan.step_usage("reassign", counts)
    assert usage.rest_calls == 30 + (1 + 3) + plan.BULK_REASSIGN_CALLS
    assert usage.ingest_records == 5000
    assert usage.bulk_query_jobs == 1


def test_team_objects_add_their_snapshot_and_check() -> None:
    without = plan.step_usage("reassign", Counts(moves={"Lead": 10}))
    with_team = plan.step_usage("reassign", Counts(moves={"Account": 10}))
    assert with_team.rest_calls - without.rest_calls == 2


def test_freeze_and_deactivate_writes_scale_with_users() -> None:
    counts = Counts(freeze_users=401, deactivate_users=3, reads={"freeze": 5, "deactivate": 4})
    assert plan.step_usage("freeze", counts).rest_calls == 5 + 3   # 200 UserLogin per call
    assert plan.step_usage("deactivate", counts).rest_calls == 4 + 3  # one call per user


def test_forecast_sums_only_the_steps_that_run() -> None:
    counts = Counts(rows={"Account": 10}, freeze_users=2, reads={"preflight": 50},
                    remaining={"DailyApiRequests": 10_000})
    decisions = decide_steps(Switches(cli_skip=("export",)))
    fc = forecast(decisions, counts)
    assert "export" not in fc.steps and "verify" not in fc.steps
    assert fc.total == sum(fc.steps.values(), Usage())
    assert fc.total.rest_calls == 50 + 1
    assert fc.fits


def test_forecast_that_does_not_fit_names_the_limit_and_the_numbers() -> None:
    counts = Counts(rows={f"O{i}": 10 for i in range(100)}, reads={"preflight": 10},
                    remaining={"DailyApiRequests": 300, "DailyBulkV2QueryJobs": 50},
                    rest_below=0)
    fc = forecast(decide_steps(EVERYTHING), counts)
    assert not fc.fits
    bad = [line for line in fc.lines if "NOT" in line]
    assert any(line.startswith("DailyApiRequests:") and "300 remaining" in line for line in bad)
    assert any("DailyBulkV2QueryJobs: needs about 100, 50 remaining" in line for line in bad)


def test_ingest_records_are_compared_in_batches_of_10000() -> None:
    counts = Counts(moves={"Task": 25_000}, remaining={"DailyBulkApiBatches": 2})
    fc = forecast(decide_steps(EVERYTHING), counts)
    assert not fc.fits
    assert any("DailyBulkApiBatches: needs about 3 batches, 2 remaining" in line
               for line in fc.lines)


def test_a_limit_the_org_does_not_report_is_said_not_assumed() -> None:
    fc = forecast(decide_steps(EVERYTHING), Counts(rows={"A": 1}))
    assert fc.fits
    assert all("does not report it" in line for line in fc.lines)


@pytest.mark.parametrize("name", ["dates", "report"])
def test_steps_that_call_no_api_forecast_nothing(name: str) -> None:
    assert plan.step_usage(name, Counts(rows={"A": 5}, freeze_users=3)) == Usage()


def test_verify_counts_each_object_and_the_file_totals() -> None:
    counts = Counts(rows={"A": 1, "B": 2, "C": 0}, reads={"verify": 0})
    assert plan.step_usage("verify", counts).rest_calls == 3 + plan.VERIFY_FILE_CALLS


def test_every_skip_reason_has_a_stable_code_for_the_report() -> None:
    """run.json keeps the English reason and adds its code; the report translates the code."""
    from sfexit.offboard.notes import TEXTS

    decisions = {d.name: d for d in decide_steps(Switches(cli_skip=("export",)))
                 if not d.run}
    assert {n: d.why.code for n, d in decisions.items() if d.why} == {
        "dates": "skip_no_contract", "export": "skip_cli", "verify": "skip_no_export",
        "reassign": "skip_no_successor", "deactivate": "skip_deactivate_off"}
    export = decisions["export"].why
    assert export is not None and export.params == {"step": "export"}
    assert export.step_fields() == {"reason": "skipped with --skip export",
                                    "reason_code": "skip_cli",
                                    "reason_params": {"step": "export"}}
    assert all(d.reason == TEXTS[d.why.code].format(**d.why.params)
               for d in decisions.values() if d.why)
