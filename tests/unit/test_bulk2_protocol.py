"""The Bulk API 2.0 query protocol on the wire (responses; one module under test)."""

from __future__ import annotations

import gzip
import json

import pytest
import responses
from responses import matchers

from sfexit import errors
from sfexit.org import bulk2
from sfexit.org.session import OrgSession

HOST = "https://acme.my.salesforce.com"
BASE = f"{HOST}/services/data/v62.0/jobs/query"


def _session(version: str = "62.0", read_only: bool = False) -> OrgSession:
    return OrgSession(HOST, "00Dx!token", api_version=version, read_only=read_only,
                      sleep=lambda _s: None)


def _job(state: str, **extra: object) -> dict[str, object]:
    return {"id": "750R0000001", "state": state, "object": "Account", "operation": "query",
            "apiVersion": 62.0, **extra}


@responses.activate
def test_create_sends_the_documented_body_and_queryall_for_deleted_rows() -> None:
    responses.post(BASE, json=_job("UploadComplete", operation="queryAll"),
                   match=[matchers.json_params_matcher({
                       "operation": "queryAll", "query": "SELECT Id FROM Account",
                       "contentType": "CSV", "columnDelimiter": "COMMA", "lineEnding": "LF"})])
    job = bulk2.create_query_job(_session(read_only=True), "SELECT Id FROM Account",
                                 include_deleted=True)
    assert (job.id, job.state, job.operation) == ("750R0000001", "UploadComplete", "queryAll")


@responses.activate
def test_a_refusal_carries_salesforces_error_code() -> None:
    responses.post(BASE, status=400, json=[{
        "errorCode": "INVALIDENTITY",
        "message": "Entity 'CaseStatus' is not supported by the Bulk API."}])
    with pytest.raises(errors.SalesforceError) as refused:
        bulk2.create_query_job(_session(), "SELECT Id FROM CaseStatus")
    assert refused.value.error_code == "INVALIDENTITY"
    assert "not supported by the Bulk API" in refused.value.message


@responses.activate
def test_wait_polls_with_growing_delays_until_complete() -> None:
    for state in ("UploadComplete", "InProgress", "InProgress"):
        responses.get(f"{BASE}/750R0000001", json=_job(state))
    responses.get(f"{BASE}/750R0000001", json=_job("JobComplete", numberRecordsProcessed=7))
    slept: list[float] = []
    info = bulk2.wait_for_job(_session(), "750R0000001", sleep=slept.append)
    assert info.state == "JobComplete" and info.records_processed == 7
    assert slept == [0.5, 0.75, 1.125]


@responses.activate
def test_wait_follows_a_given_schedule_after_an_initial_delay_and_counts_polls() -> None:
    for state in ("InProgress", "InProgress", "InProgress"):
        responses.get(f"{BASE}/750R0000001", json=_job(state))
    responses.get(f"{BASE}/750R0000001", json=_job("JobComplete", numberRecordsProcessed=3))
    slept: list[float] = []
    seen: list[str] = []
    info = bulk2.wait_for_job(_session(), "750R0000001", sleep=slept.append, initial_delay=2,
                              delays=[4, 8], on_poll=lambda i: seen.append(i.state))
    # the finite schedule repeats its last wait
    assert slept == [2, 4, 8, 8]
    assert info.polls == 4 and seen == ["InProgress"] * 3 + ["JobComplete"]


@responses.activate
def test_a_failed_job_can_be_returned_with_its_counts_instead_of_raised() -> None:
    responses.get(f"{BASE}/750R0000001", json=_job(
        "Failed", numberRecordsProcessed=10, numberRecordsFailed=4, errorMessage="too many"))
    info = bulk2.wait_for_job(_session(), "750R0000001", sleep=lambda _s: None,
                              raise_on_failure=False)
    assert (info.state, info.records_processed, info.records_failed, info.polls) \
        == ("Failed", 10, 4, 1)
    assert info.error_message == "too many"


@responses.activate
def test_a_failed_job_raises_with_its_message() -> None:
    responses.get(f"{BASE}/750R0000001",
                  json=_job("Failed", errorMessage="retried more than 15 times"))
    with pytest.raises(bulk2.JobFailed, match="retried more than 15 times"):
        bulk2.wait_for_job(_session(), "750R0000001", sleep=lambda _s: None)


@responses.activate
def test_wait_gives_up_after_the_timeout_measured_on_the_given_clock() -> None:
    responses.get(f"{BASE}/750R0000001", json=_job("InProgress"))
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    with pytest.raises(bulk2.JobTimeout, match="still InProgress"):
        bulk2.wait_for_job(_session(), "750R0000001", sleep=sleep, clock=lambda: now[0],
                           timeout=60)
    assert now[0] <= 60


@responses.activate
def test_pages_follow_the_locator_until_null_and_gzip_is_undone() -> None:
    page1 = b'"Id"\n"001A"\n"001B"\n'
    page2 = b'"Id"\n"001C"\n'
    responses.get(f"{BASE}/750R0000001/results", body=gzip.compress(page1),
                  headers={"Sforce-Locator": "MjA", "Sforce-NumberOfRecords": "2",
                           "Content-Encoding": "gzip"},
                  match=[matchers.query_param_matcher({"maxRecords": "2"}),
                         matchers.header_matcher({"Accept-Encoding": "gzip"})])
    responses.get(f"{BASE}/750R0000001/results", body=page2,
                  headers={"Sforce-Locator": "null", "Sforce-NumberOfRecords": "1"},
                  match=[matchers.query_param_matcher({"maxRecords": "2", "locator": "MjA"})])
    seen = []
    for page, chunks in bulk2.iter_result_pages(_session(), "750R0000001", max_records=2):
        seen.append((page.locator, page.records, page.next_locator, b"".join(chunks)))
    assert seen == [(None, 2, "MjA", page1), ("MjA", 1, None, page2)]


@responses.activate
def test_result_pages_reads_both_documented_and_reported_shapes() -> None:
    url = f"{BASE}/750R0000001/resultPages"
    responses.get(url, json={"resultPages": [{"resultUrl": "/r?locator=A"},
                                             {"resultUrl": "/r?locator=B"}],
                             "done": False, "nextRecordsUrl": f"{url}?locator=2"},
                  match=[matchers.query_param_matcher({})])
    responses.get(url, json={"resultChunks": [{"resultLink": "/r?locator=C"}], "done": True},
                  match=[matchers.query_param_matcher({"locator": "2"})])
    urls = bulk2.result_page_urls(_session(), "750R0000001")
    assert urls == ["/r?locator=A", "/r?locator=B", "/r?locator=C"]
    assert [bulk2.locator_of(u) for u in ["/r", *urls]] == [None, "A", "B", "C"]


@responses.activate
def test_result_pages_absent_before_v58_or_when_not_served() -> None:
    assert bulk2.result_page_urls(_session("57.0"), "750R0000001") is None
    responses.get(f"{BASE}/750R0000001/resultPages", status=404,
                  json=[{"errorCode": "NOT_FOUND", "message": "The requested resource does "
                                                              "not exist"}])
    assert bulk2.result_page_urls(_session(), "750R0000001") is None


@responses.activate
def test_abort_and_delete() -> None:
    responses.patch(f"{BASE}/750R0000001", json=_job("Aborted"),
                    match=[matchers.json_params_matcher({"state": "Aborted"})])
    responses.delete(f"{BASE}/750R0000001", status=204)
    assert bulk2.abort_query_job(_session(), "750R0000001").state == "Aborted"
    bulk2.delete_query_job(_session(), "750R0000001")
    assert [c.request.method for c in responses.calls] == ["PATCH", "DELETE"]


@responses.activate
def test_a_read_only_session_may_abort_a_query_job_but_not_delete_it() -> None:
    """An export (read-only) aborts the jobs it created when it stops (export/data_run.py)."""
    responses.patch(f"{BASE}/750R0000001", json=_job("Aborted"))
    assert bulk2.abort_query_job(_session(read_only=True), "750R0000001").state == "Aborted"
    with pytest.raises(errors.ReadOnlyViolation):
        bulk2.delete_query_job(_session(read_only=True), "750R0000001")


def test_job_info_reads_the_wire_fields() -> None:
    info = bulk2.JobInfo.from_json(json.loads(
        '{"id": "750A", "state": "JobComplete", "object": "Account", "operation": "query",'
        ' "apiVersion": 62.0, "numberRecordsProcessed": 12}'))
    assert (info.records_processed, info.api_version, info.error_message) == (12, "62.0", None)
