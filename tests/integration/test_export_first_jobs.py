"""The export's first Bulk jobs are created beside the preflight (export/first_jobs.py, issue
23), but a run that refuses creates none: a job created and abandoned spends one of the org's
daily Bulk query jobs (limits.md: DailyBulkV2QueryJobs). Counted with the emulator's stats."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest

import sfexit.export.preflight as preflight_module
from export_support import backup, clock_sleep, session_for
from sfexit.errors import PausedForLimits, UsageError
from sfexit.export.backup import run_backup
from sfexit.export.bulk import ExportOptions
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
