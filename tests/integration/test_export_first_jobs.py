"""The export's first Bulk jobs are created beside the preflight (export/first_jobs.py, issue
23), but a run that refuses creates none: a job created and abandoned spends one of the org's
daily Bulk query jobs (limits.md: DailyBulkV2QueryJobs). Counted with the emulator's stats.
A permission read the org refuses only warns, so the jobs beside it are read; a run that stops
once they exist aborts those it did not read."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

import sfexit.export.preflight as preflight_module
from auth_support import admin_get, invoke, on_org_clock, password_env, password_profile, \
    write_config
from export_support import backup, clock_sleep, session_for
from sfexit import errors
from sfexit.errors import PausedForLimits, UsageError
from sfexit.export.backup import run_backup
from sfexit.export.data_run import ExportOptions
from sfexit.export.manifest import ManifestStore
from sfexit.org import bulk2
from sfexit_emulator import Emulator


def _jobs_created(org: Emulator) -> int:
    return int(org.stats()["requests_by_route"].get("bulk_query_create", 0))


def test_the_largest_jobs_are_created_before_the_preflight_samples(
        fresh_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    created = threading.Event()
    real_create, real_sample = bulk2.create_query_job, preflight_module.sample

    def create(*args: Any, **kwargs: Any) -> Any:
        job = real_create(*args, **kwargs)
        created.set()
        return job

    def sample(*args: Any, **kwargs: Any) -> Any:
        # Held until a job exists: without the first jobs none would before the preflight ends.
        assert created.wait(timeout=20), "no Bulk job was created beside the preflight"
        return real_sample(*args, **kwargs)

    monkeypatch.setattr(bulk2, "create_query_job", create)
    monkeypatch.setattr(preflight_module, "sample", sample)
    done = backup(fresh_emulator, tmp_path / "b")
    # Attempts, those Bulk refuses at creation (read over REST) among them.
    assert not done.failed and _jobs_created(fresh_emulator) >= done.bulk_jobs > 0


def test_a_bad_objects_list_creates_no_bulk_job(fresh_emulator: Emulator, tmp_path: Path) -> None:
    with pytest.raises(UsageError):
        backup(fresh_emulator, tmp_path / "b", objects=("Account", "NoSuchObject__c"))
    assert _jobs_created(fresh_emulator) == 0


def test_a_backup_of_another_org_in_dest_creates_no_bulk_job(fresh_emulator: Emulator,
                                                            tmp_path: Path) -> None:
    dest = tmp_path / "b"
    ManifestStore.open_or_create(dest, org_id="00D000000000OTHERAAA", api_version="62.0")
    with pytest.raises(UsageError, match="holds a backup of org 00D000000000OTHERAAA"):
        backup(fresh_emulator, dest)
    assert _jobs_created(fresh_emulator) == 0


def test_a_budget_refused_before_any_object_creates_no_bulk_job(fresh_emulator: Emulator,
                                                                tmp_path: Path) -> None:
    org = fresh_emulator
    org.faults.daily_api_max = 2000     # a 99% reserve leaves 20 calls: the preflight's alone
    with pytest.raises(PausedForLimits):
        run_backup(session_for(org), ExportOptions(dest=tmp_path / "b", rest_below=0),
                   files=False, sleep=clock_sleep(org), now=org.clock.now, reserve_pct=99)
    assert _jobs_created(org) == 0
    assert ManifestStore.load(tmp_path / "b").manifest.paused is not None


def _job_states(org: Emulator) -> list[str]:
    """The state of every Bulk query job of the org (Bulk 2.0 "Get Information About All
    Query Jobs"), on the org's clock."""
    version = session_for(org).api_version
    body = admin_get(org, f"/services/data/v{version}/jobs/query")
    return [str(job["state"]) for job in body["records"]]


def test_a_refused_permission_read_warns_and_the_export_goes_on(fresh_emulator: Emulator,
                                                                 tmp_path: Path) -> None:
    """The org refuses the permission sets' query (INSUFFICIENT_ACCESS): what they could grant
    is unknown, said in a warning; the export, its first jobs among them, runs to the end."""
    org = fresh_emulator
    config = write_config(tmp_path, org, **password_profile(org))
    org.faults.refuse_query_objects = "PermissionSetAssignment"
    run = invoke(["--config", str(config), "export", "bulk", "--dest", str(tmp_path / "out"),
                  "--no-files", "--rest-below", "0"],
                 env=password_env(org), app=on_org_clock(org))
    assert run.code == 0, run.output
    assert org.stats()["faults_injected"]["query_refused"] >= 1
    # The admin's Profile grants View All Data and API Enabled: Query All Files, which only a
    # permission set could grant, is unknown.
    assert run.body["warnings"] == [
        "could not read whether the running user has QueryAllFiles: the org refused the "
        "PermissionSetAssignment read (INSUFFICIENT_ACCESS); without it, files not shared with "
        "this user (ContentVersion, ContentDocumentLink) are not returned"]
    assert run.body["result"]["bulk_jobs"] > 0
    assert _jobs_created(org) >= run.body["result"]["bulk_jobs"]
    assert set(_job_states(org)) == {"JobComplete"}
    # Recorded as unknown (null), not as "not granted", in the JSON and the manifest, which
    # sfexit reads back (verify, a rerun).
    known = {"ViewAllData": True, "QueryAllFiles": None, "ApiEnabled": True}
    assert run.body["result"]["permissions"] == known
    assert ManifestStore.load(tmp_path / "out").snapshot().permissions == known


@pytest.mark.parametrize("stop", [
    errors.AuthError("Session expired or invalid (INVALID_SESSION_ID)"), KeyboardInterrupt()],
    ids=["auth", "ctrl-c"])
def test_a_run_that_stops_once_jobs_exist_aborts_them(
        fresh_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        stop: BaseException) -> None:
    """The preflight's permission query stops the run (exit 3, or Ctrl-C) after the first jobs
    were created: none is left Open, UploadComplete or InProgress on the org."""
    org = fresh_emulator
    created = threading.Event()
    real_create = bulk2.create_query_job

    def create(*args: Any, **kwargs: Any) -> Any:
        job = real_create(*args, **kwargs)
        created.set()
        return job

    session = session_for(org)
    real_exchange = session.exchange

    def exchange(method: str, url: str, **kwargs: Any) -> Any:
        if "FROM PermissionSetAssignment" in str((kwargs.get("params") or {}).get("q")):
            assert created.wait(timeout=20), "no Bulk job was created beside the preflight"
            raise stop
        return real_exchange(method, url, **kwargs)

    monkeypatch.setattr(bulk2, "create_query_job", create)
    monkeypatch.setattr(session, "exchange", exchange)
    with pytest.raises(type(stop)):
        backup(org, tmp_path / "b", session=session)
    states = _job_states(org)
    assert _jobs_created(org) > 0 and states
    assert set(states) <= {"Aborted", "JobComplete"}, states
    assert org.stats()["requests_by_route"].get("bulk_query_abort", 0) > 0


def test_a_first_job_rest_reads_sooner_at_the_measured_page_time_is_aborted_and_read_over_rest(
        tmp_path: Path) -> None:
    """A first job is created at the model's page time, before the sample measures the org's
    (first_jobs.py). Without the emulator's cost model a page answers in milliseconds (kept at
    the range's low end, 0.3 s): there, REST reads a long-text object of ~1,200 rows (6 pages)
    in ranges long before its Bulk job would end, so the job is aborted and the object read
    over REST, with the bytes every path gives."""
    with Emulator(records=8000) as org:
        by_rest = backup(org, tmp_path / "rest", rest_below=10**9)
        before = org.stats()["requests_by_route"]
        done = backup(org, tmp_path / "b", rest_below=None)   # the schedule's own routing
        after = org.stats()["requests_by_route"]
    aborted = after.get("bulk_query_abort", 0) - before.get("bulk_query_abort", 0)
    created = after.get("bulk_query_create", 0) - before.get("bulk_query_create", 0)
    assert not done.failed and not by_rest.failed
    assert aborted >= 1 and created == done.bulk_jobs
    methods = {n: e.method for n, e in ManifestStore.load(tmp_path / "b").manifest.objects.items()}
    assert methods["Task"] == "rest", methods
    # Every object, whichever path read it: the same bytes as REST alone gives.
    assert {p.name: p.read_bytes() for p in (tmp_path / "b" / "data").iterdir()} \
        == {p.name: p.read_bytes() for p in (tmp_path / "rest" / "data").iterdir()}
