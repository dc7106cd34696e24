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


def test_each_rest_query_page_waits_the_call_plus_its_rows_times_columns(
        timed: tuple[Emulator, FakeServerTime]) -> None:
    org, fake = timed
    org.faults.cost_model = True
    client = OrgClient(org, V)
    rows = _pages(client, SOQL, 200)
    assert len(rows) == 2 and rows[0] == 200
    model = costs.SALESFORCE
    owed = [model.call_seconds() + model.query_page_seconds(n, 3) for n in rows]
    assert fake.slept == pytest.approx(owed)
    # 200 rows x 3 columns: 30 ms call + 70 ms page + 600 cells x 3 µs = 101.8 ms.
    assert fake.slept[0] == pytest.approx(0.1018)


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
    assert fake.slept == pytest.approx([2 * (0.030 + 0.070 + 30 * 3e-6)])


def test_a_bulk_job_queues_and_runs_for_the_modelled_time_on_the_emulator_clock(
        timed: tuple[Emulator, FakeServerTime]) -> None:
    org, _fake = timed
    # x100: 294 rows run ~2.9 s, so the real time between requests (ms) cannot blur a state.
    org.faults.update({"cost_model": True, "cost_bulk_scale": 100.0})
    client = OrgClient(org, V)
    job = client.post("/jobs/query", {"operation": "query", "query": SOQL}).json()
    found = bulk_jobs.registry(org.app).query_job(job["id"])  # type: ignore[arg-type]
    assert found is not None and found.writing is not None  # written while it runs
    queued, running = costs.SALESFORCE.scaled(bulk=100.0).bulk_seconds(found.expected_rows)
    assert queued == 200.0 and running == pytest.approx(found.expected_rows / 100)

    def state() -> str:
        return str(client.get(f"/jobs/query/{job['id']}").json()["state"])

    # Status reads wait their call time on the fake server clock, never on the org clock.
    org.clock.advance(queued - 1)
    assert state() == "UploadComplete"
    org.clock.advance(1 + running / 2)
    assert state() == "InProgress"
    org.clock.advance(running / 2 + 0.01)
    info = client.get(f"/jobs/query/{job['id']}").json()
    assert info["state"] == "JobComplete"
    assert info["totalProcessingTime"] == int(running * 1000)
    page = client.get(f"/jobs/query/{job['id']}/results")
    assert int(page.headers["Sforce-NumberOfRecords"]) == found.expected_rows > 0
    assert page.text.count("\n") == found.expected_rows + 1


def test_a_job_written_while_running_serves_the_same_bytes_as_one_written_at_the_end(
        fresh_emulator: Emulator) -> None:
    org = fresh_emulator
    client = OrgClient(org, V)

    def result_of(model: bool) -> bytes:
        org.faults.cost_model = model
        job = client.post("/jobs/query", {"operation": "query", "query": SOQL}).json()
        org.clock.advance(30)
        assert client.get(f"/jobs/query/{job['id']}").json()["state"] == "JobComplete"
        return client.get(f"/jobs/query/{job['id']}/results").content

    assert result_of(True) == result_of(False)


def test_bulk_jobs_split_into_chunks_that_run_four_at_a_time() -> None:
    model = costs.CostModel()
    assert model.bulk_seconds(0) == (2.0, 0.0)
    assert model.bulk_seconds(30_000) == (2.0, 3.0)
    assert model.bulk_seconds(400_000) == (2.0, 10.0)    # 4 chunks of 100,000 at once
    assert model.bulk_seconds(500_000) == (2.0, 20.0)    # a 5th chunk: a second wave
    slower = model.scaled(bulk=2.0)
    assert slower.bulk_seconds(30_000) == (4.0, 6.0)
    assert slower.call_ms == model.call_ms


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
