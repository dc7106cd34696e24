"""sfexit/export/data_run.py: what the export's workers share (no org needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pytest

from sfexit.export.data_run import PAUSE_SLICE, Cancelled, ExportOptions, ExportRun
from sfexit.export.manifest import ManifestStore
from sfexit.org.session import OrgSession


def _run(sleep: Any) -> ExportRun:
    session = OrgSession("https://org.invalid", "token", read_only=True)
    return ExportRun(session, cast(ManifestStore, None), ExportOptions(dest=Path(".")), None,
                     sleep)


def test_a_long_pause_between_polls_is_slept_in_slices_of_at_most_a_second() -> None:
    slept: list[float] = []
    run = _run(slept.append)
    run.pause(2.75)
    assert slept == [PAUSE_SLICE, PAUSE_SLICE, 0.75] and PAUSE_SLICE == 1.0


def test_a_cancel_ends_a_pause_after_the_slice_in_progress() -> None:
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        run.cancel.set()       # e.g. Ctrl-C in the main thread while this worker sleeps

    run = _run(sleep)
    with pytest.raises(Cancelled):
        run.pause(15.0)
    assert slept == [1.0]


def test_a_pause_after_a_cancel_sleeps_nothing() -> None:
    slept: list[float] = []
    run = _run(slept.append)
    run.cancel.set()
    with pytest.raises(Cancelled):
        run.pause(15.0)
    assert slept == []


def test_jobs_are_counted_across_threads() -> None:
    import threading

    run = _run(lambda _s: None)

    def count() -> None:
        for n in range(500):
            run.count_job(f"750{threading.get_ident()}-{n}")

    workers = [threading.Thread(target=count) for _ in range(4)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert run.bulk_jobs == 2000
