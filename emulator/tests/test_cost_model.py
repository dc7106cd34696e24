"""The server-time model (emulator/src/sfexit_emulator/costs.py): off by default and then inert; on, every API
call, REST query page and Bulk query job takes at least the modelled time.

Never timed on the wall clock: the server's clock and sleep are replaced by a fake whose time
moves only when the server sleeps, so what a request waited is exactly what the model owed;
Bulk jobs advance on the emulator clock, which the tests move.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from click.testing import CliRunner

from org_client import OrgClient
from sfexit_emulator.cli import main as cli
from sfexit_emulator import Emulator, bulk_jobs, costs
from sfexit_emulator import faults as faults_mod

V = "62.0"
SOQL = "SELECT Id, Subject, Status FROM Task"   # 294 rows in the 2,000-record org


class FakeServerTime:
    """The server's monotonic clock, moved only by its own sleeps (recorded)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []
        self._lock = threading.Lock()

    def clock(self) -> float:
        with self._lock:
            return self.now

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self.slept.append(seconds)
            self.now += seconds


@pytest.fixture
def timed(fresh_emulator: Emulator) -> Iterator[tuple[Emulator, FakeServerTime]]:
    fake = FakeServerTime()
    app = fresh_emulator.app
    assert app is not None
    app.server_clock, app.server_sleep = fake.clock, fake.sleep
    yield fresh_emulator, fake


def _pages(client: OrgClient, soql: str, batch: int) -> list[int]:
    """Rows on each REST page of ``soql`` read with ``batchSize=batch``."""
    headers = {"Sforce-Query-Options": f"batchSize={batch}"}
    body = client.get("/query", params={"q": soql}, headers=headers).json()
    rows = [len(body["records"])]
    while not body["done"]:
        body = client.get(body["nextRecordsUrl"], headers=headers).json()
        rows.append(len(body["records"]))
    return rows


def test_the_model_is_off_by_default_and_then_waits_nothing_and_keeps_job_timing(
        timed: tuple[Emulator, FakeServerTime]) -> None:
    org, fake = timed
    client = OrgClient(org, V)
    assert org.faults.cost_model is False
    assert sum(_pages(client, SOQL, 200)) > 200
    job = client.post("/jobs/query", {"operation": "query", "query": SOQL}).json()
    found = bulk_jobs.registry(org.app).query_job(job["id"])  # type: ignore[arg-type]
    assert found is not None and found.writing is None
    assert found.in_progress_at == found.created_at + bulk_jobs.START_DELAY
    assert found.complete_at == found.in_progress_at + bulk_jobs.run_seconds(
        found.expected_rows, bulk_jobs.QUERY_ROWS_PER_SECOND)
    assert fake.slept == []


def test_each_rest_query_page_waits_the_call_plus_the_profiles_page_time(
        timed: tuple[Emulator, FakeServerTime]) -> None:
    org, fake = timed
    org.faults.cost_model = True
    client = OrgClient(org, V)
    rows = _pages(client, SOQL, 200)
    assert len(rows) == 2 and rows[0] == 200
    # Central profile: 30 ms a call + 0.8 s a page, whatever its rows.
    assert fake.slept == pytest.approx([0.830, 0.830])


@pytest.mark.parametrize(("profile", "page_seconds"),
                         [("low", 0.3), ("central", 0.8), ("high", 2.0)])
def test_the_profiles_span_the_stated_rest_page_range(
        timed: tuple[Emulator, FakeServerTime], profile: str, page_seconds: float) -> None:
    org, fake = timed
    org.faults.update({"cost_model": True, "cost_profile": profile})
    body = OrgClient(org, V).get("/query", params={"q": SOQL + " LIMIT 10"}).json()
    assert len(body["records"]) == 10
    assert fake.slept == pytest.approx([0.030 + page_seconds])


def test_the_profile_names_are_the_models(fresh_emulator: Emulator) -> None:
    assert tuple(costs.PROFILES) == faults_mod.COST_PROFILES
    with pytest.raises(ValueError, match="cost_profile must be one of low, central, high"):
        fresh_emulator.faults.update({"cost_profile": "median"})


def test_a_call_that_is_not_a_query_waits_the_call_time_only(
        timed: tuple[Emulator, FakeServerTime]) -> None:
    org, fake = timed
    org.faults.cost_model = True
    assert OrgClient(org, V).get("/limits").status_code == 200
    assert fake.slept == pytest.approx([costs.SALESFORCE.call_seconds()])


def test_the_scales_multiply_the_synchronous_times(
        timed: tuple[Emulator, FakeServerTime]) -> None:
    org, fake = timed
    org.faults.update({"cost_model": True, "cost_rest_scale": 2.0, "cost_bulk_scale": 0.5})
    client = OrgClient(org, V)
    first = client.get("/query", params={"q": SOQL + " LIMIT 10"}).json()
    assert len(first["records"]) == 10
    assert fake.slept == pytest.approx([2 * (0.030 + 0.800)])


def _job(org: Emulator, client: OrgClient) -> tuple[str, bulk_jobs.QueryJob]:
    job = client.post("/jobs/query", {"operation": "query", "query": SOQL}).json()
    found = bulk_jobs.registry(org.app).query_job(job["id"])  # type: ignore[arg-type]
    assert found is not None and found.writing is not None  # written while it runs
    found.writing.result()   # the worker's file (its size sets the run time)
    return str(job["id"]), found


def test_a_bulk_job_costs_3_s_then_its_csv_bytes_at_31_6_mb_a_second_on_the_emulator_clock(
        timed: tuple[Emulator, FakeServerTime]) -> None:
    org, _fake = timed
    # x1000: the run is seconds on the org clock, so real time between requests cannot blur it.
    org.faults.update({"cost_model": True, "cost_bulk_scale": 1000.0})
    client = OrgClient(org, V)
    job_id, found = _job(org, client)
    assert found.writing is not None
    result = found.writing.result()
    csv_bytes = result.size + len(result.header)
    queued, running = 3000.0, csv_bytes / 31_600.0   # 3 s and 31.6 MB/s, x1000
    assert found.complete_at - found.created_at == pytest.approx(queued + running)

    def state() -> str:
        return str(client.get(f"/jobs/query/{job_id}").json()["state"])

    # Status reads wait their call time on the fake server clock, never on the org clock.
    org.clock.advance(queued - 1)
    assert state() == "UploadComplete"
    org.clock.advance(1 + running / 2)
    assert state() == "InProgress"
    org.clock.advance(running / 2 + 0.01)
    info = client.get(f"/jobs/query/{job_id}").json()
    assert info["state"] == "JobComplete"
    assert info["totalProcessingTime"] == int(running * 1000)


def test_a_tiny_job_completes_about_3_s_after_create_as_in_the_published_log(
        fresh_emulator: Emulator) -> None:
    org = fresh_emulator
    org.faults.cost_model = True
    client = OrgClient(org, V)
    job = client.post("/jobs/query", {"operation": "query",
                                      "query": "SELECT Id, Name FROM Account LIMIT 10"}).json()
    found = bulk_jobs.registry(org.app).query_job(job["id"])  # type: ignore[arg-type]
    assert found is not None and found.writing is not None
    found.writing.result()
    # amp-labs/connectors#131: 10 rows of Id, Name, JobComplete 2.4-3.4 s after create.
    assert 3.0 <= found.complete_at - found.created_at < 3.001


def test_a_result_page_waits_its_csv_bytes_at_25_7_mb_a_second(
        timed: tuple[Emulator, FakeServerTime]) -> None:
    org, fake = timed
    org.faults.cost_model = True
    client = OrgClient(org, V)
    job_id, found = _job(org, client)
    org.clock.advance(60)
    fake.slept.clear()
    page = client.get(f"/jobs/query/{job_id}/results", params={"maxRecords": 100},
                      headers={"Accept-Encoding": "identity"})
    assert int(page.headers["Sforce-NumberOfRecords"]) == 100
    assert fake.slept == pytest.approx([0.030 + len(page.content) / 25.7e6])
    fake.slept.clear()
    zipped = client.get(f"/jobs/query/{job_id}/results", params={"maxRecords": 100},
                        headers={"Accept-Encoding": "gzip"})
    assert zipped.content == page.content   # gzip changes the wire, not the modelled bytes
    assert fake.slept == pytest.approx([0.030 + len(page.content) / 25.7e6])


def test_a_job_written_while_running_serves_the_same_bytes_as_one_written_at_the_end(
        fresh_emulator: Emulator) -> None:
    org = fresh_emulator
    client = OrgClient(org, V)

    def result_of(model: bool) -> bytes:
        org.faults.cost_model = model
        job = client.post("/jobs/query", {"operation": "query", "query": SOQL}).json()
        found = bulk_jobs.registry(org.app).query_job(job["id"])  # type: ignore[arg-type]
        if found is not None and found.writing is not None:
            found.writing.result()
        org.clock.advance(30)
        assert client.get(f"/jobs/query/{job['id']}").json()["state"] == "JobComplete"
        return client.get(f"/jobs/query/{job['id']}/results").content

    assert result_of(True) == result_of(False)


def test_the_bulk_figures_are_the_published_ones_and_scale_together() -> None:
    model = costs.CostModel()
    assert model.bulk_queue_seconds() == 3.0
    # forcedotcom/cli#3507: 13,998,730,299 bytes processed in 7 m 23.24 s, read in 9 m 4.53 s.
    assert model.bulk_run_seconds(13_998_730_299) == pytest.approx(443.24, rel=0.002)
    assert model.download_seconds(13_998_730_299) == pytest.approx(544.53, rel=0.002)
    slower = model.scaled(bulk=2.0)
    assert slower.bulk_queue_seconds() == 6.0
    assert slower.bulk_run_seconds(31_600_000) == pytest.approx(2.0)
    assert slower.download_seconds(25_700_000) == pytest.approx(2.0)
    assert slower.call_ms == model.call_ms and slower.query_page_ms == model.query_page_ms


def test_faults_refuse_a_scale_that_is_not_positive(fresh_emulator: Emulator) -> None:
    with pytest.raises(ValueError, match="cost_rest_scale must be > 0"):
        fresh_emulator.faults.update({"cost_rest_scale": 0})
    with pytest.raises(ValueError, match="cost_model must be true or false"):
        fresh_emulator.faults.update({"cost_model": "yes"})
    with pytest.raises(ValueError, match="must be > 0"):
        Emulator(cost_bulk_scale=-1)


def test_serve_refuses_a_scale_that_is_not_positive_in_one_line() -> None:
    result = CliRunner().invoke(cli, ["serve", "--cost-model",
                                      "--cost-rest-scale", "0"])
    assert result.exit_code == 2
    assert "--cost-rest-scale and --cost-bulk-scale must be > 0" in result.output
    assert "Traceback" not in result.output
