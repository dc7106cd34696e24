"""The data step's schedule (sfexit/export/bulk.py "Schedule"): every Bulk job is created before
the objects are waited for and read, ``parallel`` at a time, largest first, and the split of
the REST readers into sfexit/export/rest_read.py changed nothing they write."""

from __future__ import annotations

import itertools
import threading
from pathlib import Path
from typing import Any

import pytest

from export_support import backup
from sfexit_emulator import Emulator
from sfexit.export import bulk as bulk_module
from sfexit.export import data_run
from sfexit.export.manifest import ManifestStore
from sfexit.export.schedule import CostModel

OBJECTS = ("Account", "Contact", "Lead", "Opportunity", "Task")
# Only reached when the jobs are NOT created ahead (the test then fails instead of hanging).
GIVE_UP_SECONDS = 20


def test_every_job_is_created_before_the_first_object_is_waited_for(
        fresh_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    created = waits_until_every_job_is_created(monkeypatch)
    monkeypatch.setattr(data_run, "JOBS_AHEAD_PER_READER", len(OBJECTS))  # room for all
    started: list[str] = []
    summary = backup(fresh_emulator, tmp_path, objects=OBJECTS, parallel=1,
                     on_progress=lambda p: started.append(p.object)
                     if p.object not in started else None)
    assert sorted(created) == sorted(OBJECTS) == sorted(started)
    assert {o.status for o in summary.objects} == {"exported"}
    # With room for all, every job is a first job: created side by side, largest submitted
    # first (first_jobs.py), so the order of their creation is the network's.
    assert summary.bulk_jobs == len(OBJECTS)


def test_jobs_created_ahead_of_the_readers_are_bounded(
        fresh_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """At most JOBS_AHEAD_PER_READER x parallel jobs exist created and not yet read: an org of
    900 objects does not hold 900 jobs at once. Every object is still exported."""
    lock = threading.Lock()
    unread: set[str] = set()
    most = 0
    real_create, real_download = bulk_module.bulk2.create_query_job, bulk_module._download

    def create(session: Any, query: str, **kwargs: Any) -> Any:
        nonlocal most
        job = real_create(session, query, **kwargs)
        with lock:
            unread.add(job.id)
            most = max(most, len(unread))
        return job

    def download(run: Any, plan: Any, query: str, done: Any) -> Any:
        try:
            return real_download(run, plan, query, done)
        finally:
            with lock:
                unread.discard(done.id)

    monkeypatch.setattr(bulk_module.bulk2, "create_query_job", create)
    monkeypatch.setattr(bulk_module, "_download", download)
    monkeypatch.setattr(data_run, "JOBS_AHEAD_PER_READER", 2)
    summary = backup(fresh_emulator, tmp_path, objects=OBJECTS, parallel=1)
    assert {o.status for o in summary.objects} == {"exported"}
    assert summary.bulk_jobs == len(OBJECTS)
    assert most == 2   # the window filled, and never overflowed


def test_a_rerun_creates_no_job_for_what_it_resumes(fresh_emulator: Emulator,
                                                    tmp_path: Path) -> None:
    org = fresh_emulator
    backup(org, tmp_path, objects=("Account", "Contact"))
    (tmp_path / "data" / "Contact.csv").write_bytes(b"changed")
    before = org.stats()["requests_by_route"].get("bulk_query_create", 0)
    again = backup(org, tmp_path, objects=("Account", "Contact"))
    assert {o.name: o.status for o in again.objects} == {"Account": "kept",
                                                         "Contact": "exported"}
    assert org.stats()["requests_by_route"]["bulk_query_create"] - before == 1
    assert again.bulk_jobs == 1


def test_the_data_step_reads_describe_global_once(fresh_emulator: Emulator,
                                                  tmp_path: Path) -> None:
    org = fresh_emulator
    org.reset_stats()
    backup(org, tmp_path, objects=("Account",))
    routes = org.stats()["requests_by_route"]
    assert routes["sobjects_global"] == 1, routes   # run_backup's, handed to export_data


def test_an_error_for_the_whole_run_while_jobs_are_created_stops_every_object(
        fresh_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sfexit.errors import ApiLimitError, SalesforceError

    real_create = bulk_module.bulk2.create_query_job
    made: list[str] = []

    def create(session: Any, query: str, **kwargs: Any) -> Any:
        if len(made) == 2:
            raise SalesforceError("POST jobs/query failed: Max bulk v2 query jobs (10000) per "
                                  "24 hrs has been reached (10001)", error_code="LIMIT_EXCEEDED",
                                  status=400)
        made.append(query)
        return real_create(session, query, **kwargs)

    monkeypatch.setattr(bulk_module.bulk2, "create_query_job", create)
    with pytest.raises(ApiLimitError, match="Bulk API limit reached"):
        backup(fresh_emulator, tmp_path, objects=OBJECTS, parallel=2)
    manifest = ManifestStore.load(tmp_path).manifest
    assert manifest.finished_at is None
    assert len(manifest.objects) < len(OBJECTS)
    assert not list(tmp_path.rglob("*.part"))


def test_a_reader_takes_the_job_the_model_expects_done_first_not_the_first_created(
        fresh_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A small job is done long before a large one (bulk._DueFirst): with a model where the
    rows decide (1 byte/s), one reader thread, once every job exists, reads them smallest
    first. The first read is the first job handed to the readers (every job is a first job
    here, created side by side: first_jobs.py)."""
    created = waits_until_every_job_is_created(monkeypatch)
    monkeypatch.setattr(bulk_module, "MODEL", CostModel(bulk_bytes_per_s=1.0))
    monkeypatch.setattr(bulk_module, "read_slots", lambda _parallel: 1)   # one reader thread
    monkeypatch.setattr(data_run, "JOBS_AHEAD_PER_READER", len(OBJECTS))  # room for all
    read: list[str] = []
    summary = backup(fresh_emulator, tmp_path, objects=OBJECTS, parallel=1,
                     on_progress=lambda p: read.append(p.object) if p.object not in read else None)
    counts = summary.preflight.row_counts if summary.preflight else {}
    assert {o.status for o in summary.objects} == {"exported"}
    assert sorted(created) == sorted(read) == sorted(OBJECTS)
    rows_read = [counts[n] for n in read[1:]]   # equal counts: as their jobs were created
    assert rows_read == sorted(rows_read) and rows_read != sorted(rows_read, reverse=True)


def test_downloads_take_the_rest_cursors_places_when_no_rest_read_needs_them(
        fresh_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With ``--parallel 1`` and every object by Bulk, three downloads still run at once: the
    read places are the REST cursors' plus the readers' (data_run.ExportRun.reading), and
    waiting for a job holds none. Before, one reader downloaded one object at a time."""
    together = threading.Barrier(3, timeout=GIVE_UP_SECONDS)
    real, calls = bulk_module.stream_pages, itertools.count()

    def stream_pages(*args: Any, **kwargs: Any) -> Any:
        if next(calls) < 3:
            try:
                together.wait()
            except threading.BrokenBarrierError:
                raise AssertionError("fewer than 3 downloads ran at once") from None
        return real(*args, **kwargs)

    monkeypatch.setattr(bulk_module, "stream_pages", stream_pages)
    summary = backup(fresh_emulator, tmp_path, objects=("Account", "Contact", "Task"),
                     parallel=1)
    assert {o.status for o in summary.objects} == {"exported"} and summary.bulk_jobs == 3


def waits_until_every_job_is_created(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every wait for a job blocks until a job exists for each of OBJECTS (with one reader,
    jobs made one object at a time would leave the rest uncreated at the first wait); returns
    the objects in the order their jobs were created."""
    created: list[str] = []
    all_created = threading.Event()
    real_create, real_wait = bulk_module.bulk2.create_query_job, bulk_module.bulk2.wait_for_job

    def create(session: Any, query: str, **kwargs: Any) -> Any:
        job = real_create(session, query, **kwargs)
        created.append(query.rsplit(" FROM ", 1)[1])
        if len(created) == len(OBJECTS):
            all_created.set()
        return job

    def wait(*args: Any, **kwargs: Any) -> Any:
        assert all_created.wait(GIVE_UP_SECONDS), f"only {created} created before a wait"
        return real_wait(*args, **kwargs)

    monkeypatch.setattr(bulk_module.bulk2, "create_query_job", create)
    monkeypatch.setattr(bulk_module.bulk2, "wait_for_job", wait)
    return created
