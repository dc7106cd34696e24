"""`sfexit export bulk` against the emulator over HTTPS: content, fallbacks, deleted rows,
limits, the CLI envelope."""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import sfexit.export.bulk as bulk_module
from auth_support import invoke, on_org_clock, password_env, password_profile, write_config
from export_support import (SPECIAL_NAME, add_special_account, backup, clock_sleep, org_rows,
                            read_csv, session_for)
from sfexit_emulator import Emulator, testing
from sfexit.export.backup import BackupSummary, run_backup
from sfexit.export.bulk import largest_first, query_poll_delays
from sfexit.export.data_run import ExportOptions
from sfexit.export.manifest import ManifestStore
from sfexit.export.schedule import JOBS_AHEAD_PER_READER, MODEL
from sfexit.export.verify import verify_backup


@pytest.fixture(scope="module")
def org() -> Iterator[Emulator]:
    with Emulator(records=2000, seed=1) as emulator:
        add_special_account(emulator)
        yield emulator


@pytest.fixture(scope="module")
def full(org: Emulator, tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, BackupSummary]:
    dest = tmp_path_factory.mktemp("backup")
    return dest, backup(org, dest, parallel=4)


def _by_name(summary: BackupSummary) -> dict[str, Any]:
    return {o.name: o for o in summary.objects}


def test_every_bulk_object_matches_the_org_rows_exactly(org: Emulator,
                                                         full: tuple[Path, BackupSummary]) -> None:
    dest, summary = full
    manifest = ManifestStore.load(dest).manifest
    bulk_objects = [e for e in manifest.objects.values() if e.method == "bulk"]
    assert len(bulk_objects) >= 30
    for entry in bulk_objects:
        header, rows = read_csv(dest / entry.file)
        assert rows == org_rows(org, entry.name, header), entry.name
        assert len(rows) == entry.rows


def test_commas_quotes_newlines_and_non_latin_text_survive(org: Emulator,
                                                           full: tuple[Path, BackupSummary]) -> None:
    dest, _ = full
    header, rows = read_csv(dest / "data" / "Account.csv")
    special = [r for r in rows if r[header.index("Name")] == SPECIAL_NAME]
    assert len(special) == 1
    assert special[0][header.index("Description")] == 'a "b", c\r\nd'


def test_header_written_once_and_every_field_quoted(full: tuple[Path, BackupSummary]) -> None:
    dest, _ = full
    text = (dest / "data" / "Contact.csv").read_text(encoding="utf-8")
    first = text.split("\n", 1)[0]
    assert first.startswith('"Id","IsDeleted"')
    assert text.count(first + "\n") == 1


def test_objects_the_bulk_api_refuses_are_read_over_rest(org: Emulator,
                                                         full: tuple[Path, BackupSummary]) -> None:
    dest, summary = full
    results = _by_name(summary)
    for name in ("CaseStatus", "TaskStatus", "AcceptedEventRelation"):
        assert results[name].method == "rest", name
        header, rows = read_csv(dest / "data" / f"{name}.csv")
        expected = testing.rows(org, f"SELECT {', '.join(header)} FROM {name}")
        assert len(rows) == len(expected) > 0
        assert sorted(r[0] for r in rows) == sorted(str(r[0]) for r in expected)


def test_content_document_link_is_read_per_parent(org: Emulator,
                                                  full: tuple[Path, BackupSummary]) -> None:
    dest, summary = full
    assert _by_name(summary)["ContentDocumentLink"].method == "per-parent"
    header, rows = read_csv(dest / "data" / "ContentDocumentLink.csv")
    docs = [r[0] for r in testing.rows(org, "SELECT Id FROM ContentDocument")]
    quoted = ",".join(f"'{d}'" for d in docs)
    expected = testing.rows(org, f"SELECT Id FROM ContentDocumentLink WHERE ContentDocumentId "
                                 f"IN ({quoted})")
    assert sorted(r[header.index("Id")] for r in rows) == sorted(str(r[0]) for r in expected)
    assert len(rows) > 0


def test_activity_history_is_skipped_with_its_reason(full: tuple[Path, BackupSummary]) -> None:
    dest, summary = full
    skipped = {s.name: s.reason for s in ManifestStore.load(dest).manifest.skipped}
    assert "INVALID_TYPE_FOR_OPERATION" in skipped["ActivityHistory"]
    assert not (dest / "data" / "ActivityHistory.csv").exists()
    assert summary.failed == ()


def test_compound_fields_replaced_by_components_and_schema_saved(
        full: tuple[Path, BackupSummary]) -> None:
    dest, _ = full
    header, _ = read_csv(dest / "data" / "Account.csv")
    assert "BillingAddress" not in header and "ShippingAddress" not in header
    assert {"BillingStreet", "BillingCity", "BillingLatitude", "ShippingCountry"} <= set(header)
    entry = ManifestStore.load(dest).manifest.objects["Account"]
    assert {f.name for f in entry.skipped_fields} == {"BillingAddress", "ShippingAddress"}
    describe = json.loads((dest / "schema" / "Account.json").read_text(encoding="utf-8"))
    assert describe["name"] == "Account"
    attachment = ManifestStore.load(dest).manifest.objects["Attachment"]
    assert [f.name for f in attachment.skipped_fields] == ["Body"]


def test_the_backup_verifies_and_its_manifest_records_the_run(
        org: Emulator, full: tuple[Path, BackupSummary]) -> None:
    dest, summary = full
    report = verify_backup(dest)
    assert report.ok, report.differences
    manifest = ManifestStore.load(dest).manifest
    assert manifest.org_id.startswith("00D") and manifest.finished_at
    assert manifest.bulk_jobs == summary.bulk_jobs > 0
    assert manifest.api_calls == summary.api_calls > manifest.bulk_jobs
    assert manifest.permissions["ViewAllData"] is True
    assert not list(dest.rglob("*.part"))


def test_the_export_never_writes_to_the_org(org: Emulator, tmp_path: Path) -> None:
    before = org.stats()["writes"]
    backup(org, tmp_path, objects=("Account", "CaseStatus"))
    assert org.stats()["writes"] == before


def test_deleted_rows_only_with_include_deleted(fresh_emulator: Emulator, tmp_path: Path) -> None:
    org = fresh_emulator
    live = testing.count(org, "SELECT Id FROM Account")
    every = testing.count(org, "SELECT Id FROM Account", include_deleted=True)
    assert every > live
    plain = backup(org, tmp_path / "plain", objects=("Account",))
    deleted = backup(org, tmp_path / "deleted", objects=("Account",), include_deleted=True)
    assert _by_name(plain)["Account"].rows == live
    assert _by_name(deleted)["Account"].rows == every
    header, rows = read_csv(tmp_path / "deleted" / "data" / "Account.csv")
    assert rows == org_rows(org, "Account", header, include_deleted=True)
    assert {r[header.index("IsDeleted")] for r in rows} == {"true", "false"}


def test_a_forecast_over_the_limits_pauses_instead_of_refusing(fresh_emulator: Emulator,
                                                               tmp_path: Path) -> None:
    from sfexit.errors import ApiLimitError

    org = fresh_emulator
    org.faults.daily_api_max = 120
    with pytest.raises(ApiLimitError) as paused:   # PausedForLimits (test_export_dayspan.py)
        backup(org, tmp_path)
    assert "paused for limits before DailyApiRequests's 10% reserve" in paused.value.message
    forced = backup(org, tmp_path, objects=("Account",), force=True)
    assert _by_name(forced)["Account"].status in ("exported", "kept")


def _cli(org: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, dict[str, str]]:
    return write_config(tmp_path, org, **password_profile(org)), password_env(org)


def test_cli_json_envelope_has_the_summary(fresh_emulator: Emulator, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    config, env = _cli(fresh_emulator, tmp_path, monkeypatch)
    dest = tmp_path / "out"
    run = invoke(["--config", str(config), "export", "bulk", "--dest", str(dest),
                  "--objects", "Account,CaseStatus,ActivityHistory", "--no-files"],
                 env=env, app=on_org_clock(fresh_emulator))
    assert run.code == 0, run.output
    result = run.body["result"]
    assert {"objects", "rows", "bytes", "skipped", "files", "dest", "manifest",
            "api_calls"} <= set(result)
    assert [o["name"] for o in result["objects"]] == ["Account", "CaseStatus"]
    assert result["rows"] == sum(o["rows"] for o in result["objects"]) > 0
    assert result["manifest"] == str(dest / "manifest.json")
    assert [s["name"] for s in result["skipped"]] == ["ActivityHistory"]
    assert result["api_calls"] > 0 and run.result.stderr == ""


def test_cli_limits_pause_exits_4_saying_when_to_resume(fresh_emulator: Emulator, tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    fresh_emulator.faults.daily_api_max = 100
    config, env = _cli(fresh_emulator, tmp_path, monkeypatch)
    run = invoke(["--config", str(config), "export", "bulk", "--dest", str(tmp_path / "o")],
                 env=env, app=on_org_clock(fresh_emulator))
    assert run.code == 4, run.output
    assert "DailyApiRequests" in run.body["message"] and "resume after" in run.body["message"]


def test_cli_unknown_object_is_a_usage_error(fresh_emulator: Emulator, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    config, env = _cli(fresh_emulator, tmp_path, monkeypatch)
    run = invoke(["--config", str(config), "export", "bulk", "--dest", str(tmp_path / "o"),
                  "--objects", "Acount"], env=env,
                 app=on_org_clock(fresh_emulator))
    assert run.code == 2
    assert run.body["message"].startswith("--objects: the org has no object named 'Acount' "
                                          "(did you mean 'Account'?)")


def test_cli_without_dest_is_a_usage_error(fresh_emulator: Emulator, tmp_path: Path,
                                           monkeypatch: pytest.MonkeyPatch) -> None:
    config, env = _cli(fresh_emulator, tmp_path, monkeypatch)
    run = invoke(["--config", str(config), "export", "bulk"], env=env,
                 app=on_org_clock(fresh_emulator))
    assert run.code == 2 and "--dest" in run.body["message"]


def test_cli_full_backup_with_files_then_verify_against_org(fresh_emulator: Emulator,
                                                            tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch
                                                            ) -> None:
    from click.testing import CliRunner

    from sfexit.cli import cli

    config, env = _cli(fresh_emulator, tmp_path, monkeypatch)
    dest = tmp_path / "full"
    result = CliRunner().invoke(cli, ["--config", str(config), "export", "bulk", "--dest",
                                      str(dest), "--objects",
                                      "Account,ContentVersion,ContentDocumentLink,Attachment",
                                      "--rest-below", "0"],
                                env=env, obj=on_org_clock(fresh_emulator))
    assert result.exit_code == 0, result.output
    assert "Account: " in result.stderr and "rows (bulk)" in result.stderr  # progress lines
    assert "ContentDocumentLink  per-parent" in result.stdout
    manifest = ManifestStore.load(dest).manifest
    assert {f.object for f in manifest.files.values()} >= {"ContentVersion", "Attachment"}
    run = invoke(["--config", str(config), "export", "verify", str(dest), "--against-org"],
                 env=env, app=on_org_clock(fresh_emulator))
    assert run.code == 0, run.body
    assert run.body["result"]["files_checked"] == len(manifest.files) > 0


def test_cli_an_object_that_cannot_be_read_either_way_exits_5_with_the_summary(
        fresh_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sfexit.export.rest_read as rest_read
    from sfexit.errors import SalesforceError

    real = rest_read.write_records

    def failing(run: Any, plan: Any, *args: Any) -> Any:
        if plan.name == "CaseStatus":
            raise SalesforceError("GET /query failed: An unexpected error occurred",
                                  error_code="UNKNOWN_EXCEPTION", status=500)
        return real(run, plan, *args)

    monkeypatch.setattr(rest_read, "write_records", failing)
    config, env = _cli(fresh_emulator, tmp_path, monkeypatch)
    dest = tmp_path / "out"
    run = invoke(["--config", str(config), "export", "bulk", "--dest", str(dest),
                  "--objects", "Account,CaseStatus", "--no-files"],
                 env=env, app=on_org_clock(fresh_emulator))
    assert run.code == 5
    assert run.body["status"] == 5 and run.body["name"] == "PartialFailure"
    assert "CaseStatus could not be exported" in run.body["message"]
    assert "UNKNOWN_EXCEPTION" in run.body["message"]
    assert [o["name"] for o in run.body["result"]["objects"]] == ["Account"]
    assert [o["name"] for o in run.body["result"]["failed"]] == ["CaseStatus"]
    assert "CaseStatus" not in ManifestStore.load(dest).manifest.objects


def test_a_rest_query_too_long_for_one_url_is_read_in_field_groups(
        fresh_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sfexit.export.rest_read as rest_read
    import sfexit.org.soql as soql

    whole = backup(fresh_emulator, tmp_path / "whole", objects=("AcceptedEventRelation",))
    monkeypatch.setattr(soql, "MAX_QUERY_URL_BYTES", 120)
    groups: list[list[list[str]]] = []
    real = rest_read.field_groups

    def spy(plan: Any) -> list[list[str]]:
        groups.append(real(plan))
        return groups[-1]

    monkeypatch.setattr(rest_read, "field_groups", spy)
    split = backup(fresh_emulator, tmp_path / "split", objects=("AcceptedEventRelation",),
                   force=True)
    assert split.objects[0].method == whole.objects[0].method == "rest"
    assert len(groups) == 1 and len(groups[0]) >= 2
    name = "data/AcceptedEventRelation.csv"
    assert (tmp_path / "split" / name).read_bytes() == (tmp_path / "whole" / name).read_bytes()


def test_cli_a_file_that_does_not_verify_exits_5_and_the_files_step_gets_the_options(
        fresh_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sfexit.export.backup as backup_module

    org = fresh_emulator
    rid = testing.rows(org, "SELECT Id FROM ContentVersion WHERE IsLatest = true LIMIT 1")[0][0]
    # Checksum is read-only over the API: set a wrong one around it
    testing.set_field(org, "ContentVersion", rid, "Checksum", "f" * 32)
    seen: list[dict[str, Any]] = []
    real = backup_module.export_files

    def spy(*args: Any, **kwargs: Any) -> Any:
        seen.append(kwargs)
        return real(*args, **kwargs)

    monkeypatch.setattr(backup_module, "export_files", spy)
    config, env = _cli(org, tmp_path, monkeypatch)
    run = invoke(["--config", str(config), "export", "bulk", "--dest", str(tmp_path / "out"),
                  "--objects", "Account,ContentVersion", "--parallel", "3", "--include-deleted"],
                 env=env, app=on_org_clock(org))
    assert [(k["parallel"], k["include_deleted"]) for k in seen] == [(3, True)]
    assert run.code == 5, run.output
    assert run.body["status"] == 5 and run.body["exitCode"] == 5
    assert run.body["name"] == "PartialFailure"
    assert "1 file bodies failed" in run.body["message"]
    assert [f["id"] for f in run.body["result"]["files"]["failed"]] == [rid]


def test_a_bulk_job_is_first_read_when_the_cost_model_expects_it_done(
        org: Emulator, tmp_path: Path) -> None:
    # A Bulk query job takes ~3 s however small (schedule.py, amp-labs/connectors#131): the
    # first status read waits for the model's estimate from the job's creation instead of
    # reading at 0.5, 1.0, 1.5 s (calls spent for nothing). The emulator (no cost model)
    # finishes this job in 1.25 s: one read sees it done.
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        org.clock.advance(seconds)

    before = org.stats()["requests_by_route"].get("bulk_query_job", 0)
    summary = run_backup(session_for(org), ExportOptions(dest=tmp_path, objects=("Account",),
                                                         parallel=1, rest_below=0),
                         files=False, sleep=sleep)
    assert [o.method for o in summary.objects] == ["bulk"]
    assert 2.5 < sum(waits) <= MODEL.bulk_ready_seconds(
        testing.count(org, "SELECT Id FROM Account"))
    assert org.stats()["requests_by_route"]["bulk_query_job"] - before == 1


def test_long_bulk_jobs_back_off_to_fifteen_seconds_between_reads() -> None:
    delays = list(itertools.islice(query_poll_delays(), 30))
    assert delays[:5] == [0.25, 0.25, 0.25, 0.25, 0.75]
    assert all(b >= a for a, b in zip(delays, delays[1:]))
    assert delays[-1] == 15.0


def test_the_schedule_starts_the_largest_objects_first_ties_by_name() -> None:
    counts = {"Task": 900, "Account": 40, "Contact": 300, "Lead": 300, "CaseStatus": 5}
    order = largest_first(["Account", "CaseStatus", "Contact", "Lead", "Task", "Uncounted"],
                          counts)
    assert order == ["Task", "Contact", "Lead", "Account", "CaseStatus", "Uncounted"]
    assert largest_first(["Task", "Account"], None) == ["Account", "Task"]


SCHEDULED = ("Account", "CaseStatus", "Contact", "Opportunity", "Task")


def _outputs(dest: Path) -> dict[str, Any]:
    """The CSV bytes and manifest object entries (the run's times and job ids excluded)."""
    out: dict[str, Any] = {p.name: p.read_bytes() for p in sorted((dest / "data").iterdir())}
    for name, e in ManifestStore.load(dest).manifest.objects.items():
        out[f"entry:{name}"] = (e.method, e.query, e.rows, e.bytes, e.sha256, e.file)
    return out


def test_the_backup_starts_objects_largest_first_and_the_output_does_not_change(
        org: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The jobs are created largest first: the first ones beside the preflight, side by side
    (first_jobs.py: the largest hold their places; one Bulk refuses goes to the next), then
    the data step's, one after the other; reads follow the jobs (due first: bulk._DueFirst)."""
    created: list[tuple[str, bool]] = []   # (object, by a first-jobs thread)
    real_create = bulk_module.bulk2.create_query_job

    def create(session: Any, query: str, **kwargs: Any) -> Any:
        first = threading.current_thread().name.startswith("sfexit-export-first")
        created.append((query.rsplit(" FROM ", 1)[1], first))
        return real_create(session, query, **kwargs)

    def check(given_order: list[str]) -> None:
        names = [name for name, _ in created]
        firsts = [name for name, first in created if first]
        assert sorted(names) == sorted(SCHEDULED) and firsts
        assert names[:len(firsts)] == firsts   # every first job before the data step's
        assert set(firsts) <= set(given_order[:JOBS_AHEAD_PER_READER + 1])
        assert given_order[0] in firsts
        assert names[len(firsts):] == [n for n in given_order if n not in firsts]

    monkeypatch.setattr(bulk_module.bulk2, "create_query_job", create)
    largest = backup(org, tmp_path / "largest", objects=SCHEDULED, parallel=1)
    counts = largest.preflight.row_counts if largest.preflight else {}
    assert set(counts) == set(SCHEDULED)
    order = sorted(SCHEDULED, key=lambda n: (-counts[n], n))
    check(order)
    assert order != sorted(SCHEDULED)  # the order really changed from name order

    monkeypatch.setattr(bulk_module, "largest_first", lambda objects, _counts: list(objects))
    created.clear()
    backup(org, tmp_path / "by_name", objects=SCHEDULED, parallel=1)
    check(sorted(SCHEDULED))
    assert _outputs(tmp_path / "largest") == _outputs(tmp_path / "by_name")


def test_the_library_export_returns_with_every_finished_object_in_the_manifest_on_disk(
        org: Emulator, tmp_path: Path) -> None:
    """The manifest groups its writes (at most one a second: manifest.py); export_data, used
    as a library without run_backup, still returns with what it exported written."""
    dest = tmp_path / "lib"
    store = ManifestStore.create(dest, org_id="lib")
    done = bulk_module.export_data(session_for(org), store,
                                   ExportOptions(dest=dest, objects=("Account", "Contact",
                                                                      "Task", "Case")),
                                   sleep=clock_sleep(org))
    exported = {o.name for o in done.objects if o.status == "exported"}
    assert exported == {"Account", "Contact", "Task", "Case"}
    assert set(ManifestStore.load(dest).manifest.objects) == exported
