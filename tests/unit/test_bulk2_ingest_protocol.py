"""The Bulk API 2.0 ingest protocol, one module with `responses`: order, bodies, retries, polls."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator

import pytest
import responses

from sfexit import errors
from sfexit.org.bulk2_ingest import (Bulk2Ingest, PollSchedule, csv_bytes, parse_csv, split_csv,
                                     split_sf_error)
from sfexit.org.session import OrgSession, RetryPolicy

BASE = "https://acme.my.salesforce.com"
DATA = f"{BASE}/services/data/v64.0"
JOB = "7505g00000ABCDEFAA"


class Clock:
    """A clock the fake sleep moves: polls never wait."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


def session() -> OrgSession:
    return OrgSession(BASE, "00D000000000001!AQ.token", api_version="64.0", sleep=lambda _s: None,
                      retry=RetryPolicy(attempts=3, base_seconds=0))


def info(state: str, processed: int = 0, failed: int = 0) -> dict[str, object]:
    return {"id": JOB, "object": "Lead", "operation": "update", "state": state,
            "numberRecordsProcessed": processed, "numberRecordsFailed": failed}


def test_a_job_is_created_uploaded_closed_polled_and_its_failures_read(
        mocked: responses.RequestsMock) -> None:
    create = mocked.post(f"{DATA}/jobs/ingest", json=info("Open"))
    upload = mocked.put(f"{DATA}/jobs/ingest/{JOB}/batches", status=201)
    close = mocked.patch(f"{DATA}/jobs/ingest/{JOB}", json=info("UploadComplete"))
    mocked.get(f"{DATA}/jobs/ingest/{JOB}", json=info("InProgress"))
    mocked.get(f"{DATA}/jobs/ingest/{JOB}", json=info("JobComplete", 3, 1))
    mocked.get(f"{DATA}/jobs/ingest/{JOB}/failedResults/", body=(
        '"sf__Id","sf__Error","Id","OwnerId"\n'
        '"","UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record or 1 records: '
        '00Q1:--","00Q1","0052"\n'), content_type="text/csv")
    clock = Clock()
    bulk = Bulk2Ingest(session(), sleep=clock.sleep, clock=clock)
    data = csv_bytes(["Id", "OwnerId"], [{"Id": f"00Q{i}", "OwnerId": "0052"} for i in range(3)])
    outcome = bulk.run("Lead", data, 3)
    assert json.loads(create.calls[0].request.body) == {
        "object": "Lead", "operation": "update", "contentType": "CSV", "lineEnding": "LF"}
    assert upload.calls[0].request.body == b"Id,OwnerId\n00Q0,0052\n00Q1,0052\n00Q2,0052\n"
    assert upload.calls[0].request.headers["Content-Type"] == "text/csv"
    assert json.loads(close.calls[0].request.body) == {"state": "UploadComplete"}
    assert outcome.job.state == "JobComplete" and outcome.job.polls == 2
    assert [r["Id"] for r in outcome.failed] == ["00Q1"]
    assert split_sf_error(outcome.failed[0]["sf__Error"]) == (
        "UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record or 1 records: 00Q1")
    assert outcome.unprocessed == ()
    assert clock.sleeps == [2.0, 4.0]


def test_job_create_is_never_retried_blindly(mocked: responses.RequestsMock) -> None:
    create = mocked.post(f"{DATA}/jobs/ingest", status=503,
                         json=[{"errorCode": "SERVER_UNAVAILABLE", "message": "busy"}])
    with pytest.raises(errors.SalesforceError):
        Bulk2Ingest(session()).create_job("Lead")
    assert len(create.calls) == 1


def test_an_upload_of_bytes_is_retried_and_a_failed_upload_aborts_the_job(
        mocked: responses.RequestsMock) -> None:
    mocked.post(f"{DATA}/jobs/ingest", json=info("Open"))
    put = mocked.put(f"{DATA}/jobs/ingest/{JOB}/batches", status=503,
                     json=[{"errorCode": "SERVER_UNAVAILABLE", "message": "busy"}])
    abort = mocked.patch(f"{DATA}/jobs/ingest/{JOB}", json=info("Aborted"))
    with pytest.raises(errors.SalesforceError):
        Bulk2Ingest(session()).run("Lead", b"Id,OwnerId\n00Q1,0052\n", 1)
    assert len(put.calls) == 3           # the session's attempts: PUT of the same bytes is safe
    assert json.loads(abort.calls[0].request.body) == {"state": "Aborted"}


def test_polls_grow_and_a_100k_job_needs_few_of_them(mocked: responses.RequestsMock) -> None:
    for _ in range(6):
        mocked.get(f"{DATA}/jobs/ingest/{JOB}", json=info("InProgress"))
    mocked.get(f"{DATA}/jobs/ingest/{JOB}", json=info("JobComplete", 100_000))
    clock = Clock()
    done = Bulk2Ingest(session(), sleep=clock.sleep, clock=clock).wait(JOB)
    assert done.polls == 7
    assert clock.sleeps == [2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]
    # 10 polls cover 2+4+8+16+32+60*5 = 362 s of processing.
    assert sum(itertools.islice(PollSchedule().intervals(), 10)) == 362


def test_a_job_that_never_finishes_times_out_with_its_id(mocked: responses.RequestsMock) -> None:
    polls = mocked.get(f"{DATA}/jobs/ingest/{JOB}", json=info("InProgress"))
    clock = Clock()
    bulk = Bulk2Ingest(session(), sleep=clock.sleep, clock=clock,
                       schedule=PollSchedule(first=10, factor=1, cap=10, timeout=25))
    with pytest.raises(errors.SfexitError, match=JOB):
        bulk.wait(JOB)
    # reads at 10 s and 20 s; a third wait would pass the 25 s timeout, so it gives up
    assert len(polls.calls) == 2 and clock.now <= 25


def test_a_failed_job_that_processed_rows_is_returned_and_its_failures_read(
        mocked: responses.RequestsMock) -> None:
    mocked.post(f"{DATA}/jobs/ingest", json=info("Open"))
    mocked.put(f"{DATA}/jobs/ingest/{JOB}/batches", status=201)
    mocked.patch(f"{DATA}/jobs/ingest/{JOB}", json=info("UploadComplete"))
    mocked.get(f"{DATA}/jobs/ingest/{JOB}", json={**info("Failed", 2, 1),
                                                  "errorMessage": "too many failed records"})
    mocked.get(f"{DATA}/jobs/ingest/{JOB}/failedResults/", body=(
        '"sf__Id","sf__Error","Id","OwnerId"\n'
        '"","INACTIVE_OWNER_OR_USER:operation performed with inactive user:--","00Q2","0052"\n'))
    clock = Clock()
    bulk = Bulk2Ingest(session(), sleep=clock.sleep, clock=clock)
    out = bulk.run("Lead", b"Id,OwnerId\n00Q1,0052\n00Q2,0052\n", 2)
    assert out.job.state == "Failed" and out.job.records_failed == 1 and out.job.polls == 1
    assert [r["Id"] for r in out.failed] == ["00Q2"]
    assert bulk.polls == 1


def test_a_failed_job_with_nothing_processed_raises_its_message(
        mocked: responses.RequestsMock) -> None:
    mocked.post(f"{DATA}/jobs/ingest", json=info("Open"))
    mocked.put(f"{DATA}/jobs/ingest/{JOB}/batches", status=201)
    mocked.patch(f"{DATA}/jobs/ingest/{JOB}", json=info("UploadComplete"))
    mocked.get(f"{DATA}/jobs/ingest/{JOB}", json={**info("Failed"),
                                                  "errorMessage": "InvalidBatch : Field name not found : Owner"})
    clock = Clock()
    with pytest.raises(errors.SalesforceError, match="Field name not found"):
        Bulk2Ingest(session(), sleep=clock.sleep, clock=clock).run("Lead", b"Id,Owner\n1,2\n", 1)


def test_rows_not_processed_are_read_back(mocked: responses.RequestsMock) -> None:
    mocked.post(f"{DATA}/jobs/ingest", json=info("Open"))
    mocked.put(f"{DATA}/jobs/ingest/{JOB}/batches", status=201)
    mocked.patch(f"{DATA}/jobs/ingest/{JOB}", json=info("UploadComplete"))
    mocked.get(f"{DATA}/jobs/ingest/{JOB}", json=info("JobComplete", 1))
    mocked.get(f"{DATA}/jobs/ingest/{JOB}/unprocessedrecords/", body="Id,OwnerId\n00Q2,0052\n")
    clock = Clock()
    out = Bulk2Ingest(session(), sleep=clock.sleep, clock=clock).run(
        "Lead", b"Id,OwnerId\n00Q1,0052\n00Q2,0052\n", 2)
    assert out.unprocessed == ({"Id": "00Q2", "OwnerId": "0052"},)


def test_query_pages_follow_the_locator(mocked: responses.RequestsMock) -> None:
    mocked.post(f"{DATA}/jobs/query", json={"id": JOB, "state": "UploadComplete"})
    mocked.get(f"{DATA}/jobs/query/{JOB}", json={"id": JOB, "state": "JobComplete"})
    mocked.get(f"{DATA}/jobs/query/{JOB}/results", body="Id\n1\n",
               headers={"Sforce-Locator": "abc"},
               match=[responses.matchers.query_param_matcher({"maxRecords": "250000"})])
    mocked.get(f"{DATA}/jobs/query/{JOB}/results", body="Id\n2\n",
               headers={"Sforce-Locator": "null"},
               match=[responses.matchers.query_param_matcher({"maxRecords": "250000",
                                                              "locator": "abc"})])
    clock = Clock()
    rows = list(Bulk2Ingest(session(), sleep=clock.sleep, clock=clock).query_csv("SELECT Id FROM Lead"))
    assert rows == [{"Id": "1"}, {"Id": "2"}]


def test_csv_is_split_under_the_size_limit_with_a_header_each() -> None:
    rows = [{"Id": f"00Q{i:04d}", "OwnerId": "0052"} for i in range(10)]
    chunks = list(split_csv(["Id", "OwnerId"], rows, max_bytes=50))
    assert all(len(c) <= 50 and c.startswith(b"Id,OwnerId\n") for c, _ in chunks)
    assert sum(n for _, n in chunks) == 10
    assert [r["Id"] for c, _ in chunks for r in parse_csv(c)] == [r["Id"] for r in rows]


def test_salesforce_error_text_keeps_the_message_and_drops_the_field_list() -> None:
    assert split_sf_error("REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --") \
        == ("REQUIRED_FIELD_MISSING", "Required fields are missing: [Name]")
    assert split_sf_error("INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--") \
        == ("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")
