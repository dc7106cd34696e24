"""The export preflight's reads run side by side (sfexit/export/preflight.py, issue 12), make the
same calls as one after the other, describe each object once per export (the data step takes the
preflight's describes), and stop as before on an error or Ctrl-C, leaving no thread behind."""

from __future__ import annotations

import json
import threading
from concurrent.futures import Future
from dataclasses import replace
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from export_support import backup, session_for
from sfexit import errors
from sfexit_emulator import Emulator
from sfexit.export import objects as objects_module
from sfexit.export import preflight as preflight_module
from sfexit.export.objects import DescribeCache, select_objects
from sfexit.export.preflight import PreflightReport, preflight
from sfexit.export.schedule import rest_calls
from sfexit.org.rest import RestClient
from sfexit.org.session import OrgSession

# Only reached when the reads do NOT overlap (the test then fails instead of hanging).
GIVE_UP_SECONDS = 20


class Watched:
    """Wraps ``session.exchange``: requests in flight, describes per object, and an optional
    ``before`` hook that runs in the requesting thread (to hold or break a request)."""

    def __init__(self, session: OrgSession, monkeypatch: pytest.MonkeyPatch,
                 before: Callable[[str], None] | None = None) -> None:
        self.in_flight = 0
        self.peak = 0
        self.describes: Counter[str] = Counter()
        self.before = before
        self._lock = threading.Lock()
        real = session.exchange

        def exchange(method: str, url: str, **kwargs: Any) -> Any:
            path = url.split("?", 1)[0]
            with self._lock:
                self.in_flight += 1
                self.peak = max(self.peak, self.in_flight)
                if path.endswith("/describe"):
                    self.describes[path.rsplit("/", 2)[-2]] += 1
            try:
                if self.before is not None:
                    self.before(path)
                return real(method, url, **kwargs)
            finally:
                with self._lock:
                    self.in_flight -= 1

        monkeypatch.setattr(session, "exchange", exchange)


def _ready(org: Emulator) -> tuple[OrgSession, str, tuple[str, ...]]:
    """A session, the running user's id and every queryable object (read before watching)."""
    session = session_for(org)
    rest = RestClient(session)
    return session, rest.identity().user_id, select_objects(rest).objects


def _routes(org: Emulator) -> Counter[str]:
    return Counter(org.stats()["requests_by_route"])


def _preflight_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("sfexit-preflight")]


def _hold_until(parties: int) -> Callable[[str], None]:
    """A ``before`` hook: the first ``parties`` requests wait for each other, so they pass only
    when that many are in flight at once (one after the other, the barrier breaks)."""
    barrier = threading.Barrier(parties, timeout=GIVE_UP_SECONDS)
    seen = {"n": 0}
    lock = threading.Lock()

    def before(_path: str) -> None:
        with lock:
            seen["n"] += 1
            mine = seen["n"] <= parties
        if mine:
            barrier.wait()
    return before


def test_the_first_reads_are_in_flight_together_and_the_calls_are_the_same(
        fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """The two permission chains (User, PermissionSetAssignment), /limits and the row counts
    depend on nothing: all four are sent before any answers. The calls, route by route, are the
    ones the preflight makes with one read at a time."""
    org = fresh_emulator
    session, user_id, objects = _ready(org)
    parallel = preflight_module.PARALLEL
    monkeypatch.setattr(preflight_module, "PARALLEL", 1)
    before = _routes(org)
    one_at_a_time = preflight(session, user_id, objects)
    sequential_calls = _routes(org) - before
    monkeypatch.setattr(preflight_module, "PARALLEL", parallel)

    watched = Watched(session, monkeypatch, before=_hold_until(4))
    calls_before, before = session.calls, _routes(org)
    report = preflight(session, user_id, objects)
    assert watched.peak >= 4
    assert _routes(org) - before == sequential_calls
    assert session.calls - calls_before == sum(sequential_calls.values())
    assert sequential_calls["sobject_describe"] >= 2 + 1  # Profile, PermissionSet, a sample
    # the same answer (only the limits' "remaining" moved: the first run spent calls)
    assert replace(report.forecast, remaining={}) == replace(one_at_a_time.forecast, remaining={})
    assert (report.permissions, report.row_counts) == (one_at_a_time.permissions,
                                                       one_at_a_time.row_counts)


def test_exact_counts_with_deleted_rows_run_side_by_side(
        fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """With deleted rows the counts are one ``SELECT COUNT()`` per object (queryAll): they fill
    every reader of the preflight at once instead of going one after the other."""
    org = fresh_emulator
    session, user_id, objects = _ready(org)
    parties = preflight_module.PARALLEL
    watched = Watched(session, monkeypatch, before=_hold_until(parties))
    before = _routes(org)
    report = preflight(session, user_id, objects, include_deleted=True)
    assert watched.peak >= parties
    assert (_routes(org) - before)["query_all"] == len(objects)
    assert set(report.row_counts) == set(objects) and sum(report.row_counts.values()) > 0


def test_an_export_describes_each_object_once_and_saves_the_same_schema(
        fresh_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    org = fresh_emulator
    session = session_for(org)
    watched = Watched(session, monkeypatch)
    before = _routes(org)
    summary = backup(org, tmp_path, session=session)
    assert summary.preflight is not None
    counts = summary.preflight.row_counts
    largest = sorted((n for n in counts if counts[n] > 0), key=lambda n: -counts[n])[:3]
    # the preflight's describes (permissions, the row-width sample) are among the exported ones
    assert {"Profile", "PermissionSet", *largest} <= set(watched.describes)
    assert {n for n, times in watched.describes.items() if times > 1} == set()
    assert (_routes(org) - before)["sobject_describe"] == len(watched.describes)
    # Each schema file is the describe as Salesforce sends it, saved as before this change.
    rest = RestClient(session_for(org))
    for name in ("Profile", "PermissionSet", *largest, "Account"):
        fresh = json.dumps(rest.describe(name), indent=1, sort_keys=True, ensure_ascii=False)
        assert (tmp_path / "schema" / f"{name}.json").read_bytes() == fresh.encode("utf-8"), name


def test_a_describe_asked_by_several_threads_at_once_is_read_once(
        fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """The first asker's describe is held until the three others wait for its answer."""
    waiting = threading.Semaphore(0)

    class CountedFuture(Future[Any]):
        def result(self, timeout: float | None = None) -> Any:
            waiting.release()
            return super().result(timeout)

    def hold(path: str) -> None:
        if path.endswith("/describe"):
            for _ in range(3):
                assert waiting.acquire(timeout=GIVE_UP_SECONDS), "the others did not wait"

    monkeypatch.setattr(objects_module, "Future", CountedFuture)
    session = session_for(fresh_emulator)
    watched = Watched(session, monkeypatch, before=hold)
    cache, rest = DescribeCache(), RestClient(session)
    answers: list[dict[str, Any]] = []
    threads = [threading.Thread(target=lambda: answers.append(cache.get(rest, "Account")))
               for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert watched.describes == {"Account": 1}
    assert len(answers) == 4 and all(a is answers[0] for a in answers)
    watched.before = None
    assert cache.take(rest, "Account") is answers[0]   # handed over, no longer kept
    assert cache.take(rest, "Account")["name"] == "Account"
    assert watched.describes == {"Account": 2}


def _stopped(org: Emulator, monkeypatch: pytest.MonkeyPatch,
             before: Callable[[str], None] | None = None,
             fault: Callable[[], None] | None = None) -> tuple[BaseException, Watched]:
    session, user_id, objects = _ready(org)
    watched = Watched(session, monkeypatch, before=before)
    if fault is not None:
        fault()
    with pytest.raises(BaseException) as stopped:
        preflight(session, user_id, objects)
    # Nothing of the preflight runs on after it returned.
    assert watched.in_flight == 0 and _preflight_threads() == []
    return stopped.value, watched


def test_a_session_that_dies_stops_the_preflight_with_the_auth_error(
        fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    org = fresh_emulator
    error, _ = _stopped(org, monkeypatch,
                        fault=lambda: setattr(org.faults, "expire_session_after_calls", 3))
    assert isinstance(error, errors.AuthError) and error.exit_code == 3
    assert error.message == "Session expired or invalid (INVALID_SESSION_ID)"


def test_a_spent_daily_limit_stops_the_preflight_with_exit_4(
        fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    org = fresh_emulator

    def spend() -> None:
        org.faults.daily_api_max = org.stats()["api_requests_used"] + 3

    error, _ = _stopped(org, monkeypatch, fault=spend)
    assert isinstance(error, errors.ApiLimitError) and error.exit_code == 4
    assert error.message == "TotalRequests Limit exceeded. (REQUEST_LIMIT_EXCEEDED)"


@pytest.mark.parametrize("refused", [False, True])
def test_a_permission_reads_error_is_raised_before_a_later_reads_error(
        fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch, refused: bool) -> None:
    """As when the reads ran one after the other: the permission reads' error comes first, even
    when the row counts (read at the same time) met another one; but a permission read the org
    refused is no error (the permission is unknown: test_export_first_jobs.py)."""
    limit = errors.ApiLimitError("TotalRequests Limit exceeded. (REQUEST_LIMIT_EXCEEDED)")
    failed = errors.SalesforceError("GET /services/data/v60.0/query failed: no access",
                                    error_code="INSUFFICIENT_ACCESS", status=403) if refused \
        else errors.AuthError("Session expired or invalid (INVALID_SESSION_ID)")

    def before(path: str) -> None:
        if path.endswith("/limits/recordCount"):
            raise limit
        if path.endswith("/query") and threading.current_thread().name.startswith(
                "sfexit-preflight"):
            raise failed

    error, _ = _stopped(fresh_emulator, monkeypatch, before=before)
    assert error is (limit if refused else failed)


def test_ctrl_c_stops_the_preflight_and_its_dependent_reads(
        fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    def before(path: str) -> None:
        if path.endswith("/limits/recordCount"):   # the row counts: the main thread's read
            raise KeyboardInterrupt

    error, watched = _stopped(fresh_emulator, monkeypatch, before=before)
    assert isinstance(error, KeyboardInterrupt)
    # The sample waits for the counts: it never started (only permission describes were read).
    assert set(watched.describes) <= {"Profile", "PermissionSet"}


def test_the_forecast_is_the_same_pure_function_of_what_was_read() -> None:
    from sfexit.org.rest import Limit

    fc = preflight_module.forecast(
        ["Account", "ContentVersion"], {"Account": 120_000, "ContentVersion": 3}, 400,
        {"DailyApiRequests": Limit("DailyApiRequests", 100, 10)},
        include_files=True, max_records=50_000, rest_below=0)
    # 1 describe global + 2 x (describe + 4 polls) + pages 3 + 1 + 3 file bodies
    assert fc.api_calls == 1 + 2 * 5 + 4 + 3
    assert fc.files == 3 and fc.rows == 120_003 and fc.result_mb == 46
    assert fc.problems() == ["DailyApiRequests: needs about 18, 10 remaining"]
    report = PreflightReport("005", {}, {}, fc)
    assert not report.fits


def test_the_forecast_counts_rest_pages_and_no_job_for_the_objects_read_over_rest() -> None:
    from sfexit.org.rest import Limit

    fc = preflight_module.forecast(
        ["Account", "ContentVersion"], {"Account": 120_000, "ContentVersion": 3}, 400,
        {"DailyBulkV2QueryJobs": Limit("DailyBulkV2QueryJobs", 100, 1)},
        include_files=True, max_records=50_000)
    # ContentVersion (3 rows) is one REST page and no job: 1 + 2 describes + Account's
    # costlier route (without long text its Id ranges on the 25 cursors, schedule.rest_calls;
    # with long text a Bulk job, counted) + 1 page + 3 file bodies
    assert fc.api_calls == 1 + 2 + rest_calls(120_000, 2000) + 1 + 3
    assert fc.bulk_jobs == 1 and fc.problems() == []
    # A REST page of 200 rows when the object selects long text: the costlier route counts.
    # 3 pages are read in 4 Id ranges (schedule.rest_calls): the first and last Id, then at
    # most 3 + 4 - 1 range pages.
    wide = preflight_module.forecast(["Note"], {"Note": 599}, 400, {}, include_files=False,
                                     max_records=50_000)
    assert wide.api_calls == 1 + 1 + (2 + 3 + 3) and wide.bulk_jobs == 0


def test_threads_asking_for_the_api_version_at_once_negotiate_it_once(
        fresh_emulator: Emulator) -> None:
    """OrgSession.api_version is read lazily; the export's first reads run side by side."""
    org = fresh_emulator
    org.faults.latency_ms = 50   # the first caller is still negotiating when the others ask
    session = session_for(org)
    before = org.stats()["requests_by_route"].get("versions", 0)
    start = threading.Barrier(4)

    def ask() -> str:
        start.wait(10)
        return session.api_version

    threads_out: list[str] = []
    workers = [threading.Thread(target=lambda: threads_out.append(ask())) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(30)
    org.faults.latency_ms = 0
    assert len(threads_out) == 4 and len(set(threads_out)) == 1
    assert org.stats()["requests_by_route"].get("versions", 0) - before == 1


def test_the_record_counts_are_asked_beside_describe_global(
        fresh_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every object's recordCount (no sObjects) goes out while describe global is still being
    answered, not after it (the first jobs wait for both); the counts are those of the list."""
    org = fresh_emulator
    session = session_for(org)
    counting = threading.Event()
    global_held = []

    def before(path: str) -> None:
        if path.endswith("/limits/recordCount"):
            counting.set()
        elif path.endswith("/sobjects"):
            global_held.append(counting.wait(timeout=10))

    Watched(session, monkeypatch, before=before)
    summary = backup(org, tmp_path, session=session)
    assert global_held == [True], "describe global answered before recordCount was asked"
    assert summary.preflight is not None
    rest = RestClient(session_for(org))
    listed = rest.record_counts(list(summary.preflight.row_counts))
    assert summary.preflight.row_counts == {n: listed.get(n, 0)
                                            for n in summary.preflight.row_counts}
