"""Bulk API 2.0 query jobs against the emulator over real HTTPS (contract tests).

Shapes and texts come from the Bulk API 2.0 Developer Guide (query_create_job, query_get_one_job,
query_get_job_results, query_get_parallel_job_results, query_abort_job, query_delete_job,
query_get_all_jobs) and errors.md §9. Tests never sleep: they move ``org.clock``.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from org_client import OrgClient, error_of, store_rows
from sfexit_emulator import Emulator
from sfexit_emulator.routes import bulk_query
from sfexit_emulator.routes import limits as limits_mod

V = "62.0"
CREATE_KEYS = ["id", "operation", "object", "createdById", "createdDate", "systemModstamp", "state",
               "concurrencyMode", "contentType", "apiVersion", "lineEnding", "columnDelimiter"]
INFO_KEYS = ["id", "operation", "object", "createdById", "createdDate", "systemModstamp", "state",
             "concurrencyMode", "contentType", "apiVersion", "jobType", "lineEnding",
             "columnDelimiter", "numberRecordsProcessed", "retries", "totalProcessingTime",
             "isPkChunkingSupported"]
TEXT_SOQL = "SELECT Id, Name, Description, BillingCity FROM Account"


class Client(OrgClient):
    def __init__(self, org: Emulator, version: str = V) -> None:
        super().__init__(org, version)

    def create(self, soql: str, **extra: Any) -> dict[str, Any]:
        r = self.post("/jobs/query", {"operation": extra.pop("operation", "query"), "query": soql,
                                      **extra})
        assert r.status_code == 200, r.text
        job: dict[str, Any] = r.json()
        return job

    def complete(self, job_id: str) -> dict[str, Any]:
        self.org.clock.advance(10)
        info: dict[str, Any] = self.get(f"/jobs/query/{job_id}").json()
        assert info["state"] == "JobComplete", info
        return info

    def pages(self, job_id: str, **params: Any) -> Iterator[requests.Response]:
        locator = None
        while True:
            query = dict(params)
            if locator:
                query["locator"] = locator
            r = self.get(f"/jobs/query/{job_id}/results", params=query)
            assert r.status_code == 200, r.text
            yield r
            locator = r.headers["Sforce-Locator"]
            if locator == "null":
                return


def app_of(org: Emulator) -> Any:
    assert org.app is not None
    return org.app




def parse(text: str, delimiter: str = ",") -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))


@pytest.fixture
def client(fresh_emulator: Emulator) -> Client:
    return Client(fresh_emulator)


@pytest.fixture
def shared(emulator: Emulator) -> Client:
    return Client(emulator)


# --- create, info, states -------------------------------------------------------------------

def test_create_defaults_and_states_follow_the_clock(client: Client) -> None:
    org = client.org
    writes = org.stats()["writes"]
    # jsforce's body: no contentType, lineEnding or columnDelimiter.
    r = client.post("/jobs/query", {"query": "SELECT Id, Name FROM Account", "operation": "query"})
    assert r.status_code == 200
    job = r.json()
    assert list(job) == CREATE_KEYS
    assert job["id"].startswith("750") and len(job["id"]) == 18
    assert job["state"] == "UploadComplete" and job["object"] == "Account"
    assert (job["contentType"], job["lineEnding"], job["columnDelimiter"]) == ("CSV", "LF", "COMMA")
    assert job["apiVersion"] == 62.0 and job["concurrencyMode"] == "Parallel"
    assert job["createdById"] == org.store.admin_user_id
    assert org.stats()["writes"] == writes, "creating a query job is not a write"

    info = client.get(f"/jobs/query/{job['id']}").json()
    assert list(info) == INFO_KEYS
    assert info["state"] == "UploadComplete" and info["numberRecordsProcessed"] == 0
    assert info["jobType"] == "V2Query" and "errorMessage" not in info
    org.clock.advance(1.0)
    assert client.get(f"/jobs/query/{job['id']}").json()["state"] == "InProgress"
    info = client.complete(job["id"])
    expected = len(store_rows(org, "SELECT Id, Name FROM Account"))
    assert info["numberRecordsProcessed"] == expected > 0
    assert info["retries"] == 0 and info["totalProcessingTime"] > 0
    assert info["systemModstamp"] >= info["createdDate"]
    assert "errorMessage" not in info
    # sf's body: only lineEnding; trailing slash on the collection.
    r = client.post("/jobs/query/", {"query": "SELECT Id FROM Contact", "operation": "queryAll",
                                     "lineEnding": "LF"})
    assert r.status_code == 200 and r.json()["operation"] == "queryAll"


@pytest.mark.parametrize("soql, code, fragment", [
    ("SELECT Id, BillingAddress FROM Account", "API_ERROR",
     "Selecting compound data not supported in Bulk Query"),
    ("SELECT COUNT() FROM Account", "API_ERROR", ""),
    ("SELECT Name, COUNT(Id) FROM Account GROUP BY Name", "API_ERROR", ""),
    ("SELECT Id FROM Account LIMIT 5 OFFSET 5", "API_ERROR", ""),
    ("SELECT Id FROM CaseStatus", "INVALIDENTITY",
     "Entity 'CaseStatus' is not supported by the Bulk API."),
    ("SELECT Id FRM Account", "MALFORMED_QUERY", ""),
    ("SELECT Id, NoSuchField__c FROM Account", "INVALID_FIELD", "No such column 'NoSuchField__c'"),
    ("SELECT Id FROM NoSuchObject__c", "INVALID_TYPE", "sObject type 'NoSuchObject__c' is not supported"),
])
def test_create_refusals(shared: Client, soql: str, code: str, fragment: str) -> None:
    before = limits_mod.spent(app_of(shared.org)).used("DailyBulkV2QueryJobs")
    r = shared.post("/jobs/query", {"operation": "query", "query": soql})
    assert r.status_code == 400, r.text
    got_code, message = error_of(r)
    assert got_code == code
    assert fragment in message
    assert limits_mod.spent(app_of(shared.org)).used("DailyBulkV2QueryJobs") == before


def test_create_bad_bodies(shared: Client) -> None:
    r = shared.post("/jobs/query", {"operation": "insert", "query": "SELECT Id FROM Account"})
    assert r.status_code == 400 and error_of(r)[0] == "JSON_PARSER_ERROR"
    r = shared.post("/jobs/query", {"operation": "query", "query": "SELECT Id FROM Account",
                                    "lineEnding": "CR"})
    assert r.status_code == 400 and error_of(r)[0] == "JSON_PARSER_ERROR"
    r = shared.post("/jobs/query", {"operation": "query"})
    assert r.status_code == 400
    r = shared.session.post(shared.url("/jobs/query"), data=b"{not json", timeout=30,
                            headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and error_of(r)[0] == "JSON_PARSER_ERROR"
    assert shared.get("/jobs/query/750000000000000AAA").status_code == 404
    assert error_of(shared.get("/jobs/query/750000000000000AAA"))[0] == "NOT_FOUND"


# --- results ----------------------------------------------------------------------------------

def test_paging_with_max_records(client: Client) -> None:
    org = client.org
    job = client.create(TEXT_SOQL)
    info = client.complete(job["id"])
    expected = store_rows(org, TEXT_SOQL)
    assert info["numberRecordsProcessed"] == len(expected) > 100
    header_line = '"Id","Name","Description","BillingCity"'
    got: list[list[str]] = []
    sizes = []
    locators = []
    for page in client.pages(job["id"], maxRecords=40):
        assert page.headers["Content-Type"].startswith("text/csv")
        assert page.text.split("\n", 1)[0] == header_line, "every page starts with the header"
        rows = parse(page.text)
        assert rows[0] == ["Id", "Name", "Description", "BillingCity"]
        assert int(page.headers["Sforce-NumberOfRecords"]) == len(rows) - 1
        sizes.append(len(rows) - 1)
        locators.append(page.headers["Sforce-Locator"])
        got.extend(rows[1:])
    assert locators[-1] == "null" and "null" not in locators[:-1]
    assert all(s == 40 for s in sizes[:-1]) and 0 < sizes[-1] <= 40 and len(sizes) > 2
    assert got == expected
    assert sum(sizes) == info["numberRecordsProcessed"]
    # A locator stays valid: the same page again, byte for byte; and with a trailing slash.
    again = client.get(f"/jobs/query/{job['id']}/results/",
                       params={"locator": locators[0], "maxRecords": 40})
    first_again = client.get(f"/jobs/query/{job['id']}/results",
                             params={"locator": locators[0], "maxRecords": 40})
    assert again.content == first_again.content and again.status_code == 200
    # Without maxRecords the default page holds everything here.
    whole = client.get(f"/jobs/query/{job['id']}/results")
    assert whole.headers["Sforce-Locator"] == "null"
    assert parse(whole.text)[1:] == expected


def test_csv_quotes_every_field_and_keeps_commas_quotes_newlines_non_latin(client: Client) -> None:
    org = client.org
    job = client.create(TEXT_SOQL)
    client.complete(job["id"])
    text = client.get(f"/jobs/query/{job['id']}/results").content.decode("utf-8")
    expected = store_rows(org, TEXT_SOQL)
    assert parse(text)[1:] == expected
    flat = [v for row in expected for v in row]
    # The seed has such text; the test is only meaningful if it does.
    assert any("," in v for v in flat) and any('"' in v for v in flat)
    assert any("\n" in v for v in flat) and any(any(ord(c) > 0x24F for c in v) for v in flat)
    def line(values: list[str]) -> str:
        return '"' + '","'.join(v.replace('"', '""') for v in values) + '"\n'

    assert text == line(["Id", "Name", "Description", "BillingCity"]) + "".join(map(line, expected))
    # a value with a quote is written doubled, inside quotes
    quoted_value = next(v for v in flat if '"' in v)
    assert '"' + quoted_value.replace('"', '""') + '"' in text


def test_line_ending_and_delimiter(client: Client) -> None:
    org = client.org
    for delimiter, char in (("PIPE", "|"), ("TAB", "\t"), ("SEMICOLON", ";")):
        job = client.create("SELECT Id, Name FROM Account", columnDelimiter=delimiter,
                            lineEnding="CRLF")
        assert job["lineEnding"] == "CRLF" and job["columnDelimiter"] == delimiter
        client.complete(job["id"])
        raw = client.get(f"/jobs/query/{job['id']}/results").content
        assert raw.startswith(f'"Id"{char}"Name"\r\n'.encode())
        assert raw.endswith(b'"\r\n')
        rows = parse(raw.decode(), char)
        assert rows[1:] == store_rows(org, "SELECT Id, Name FROM Account")


def test_query_all_includes_deleted_rows_query_does_not(client: Client) -> None:
    soql = "SELECT Id, IsDeleted FROM Account"
    q = client.create(soql)
    qa = client.create(soql, operation="queryAll")
    client.complete(q["id"])
    plain = parse(client.get(f"/jobs/query/{q['id']}/results").text)[1:]
    every = parse(client.get(f"/jobs/query/{qa['id']}/results").text)[1:]
    assert all(flag == "false" for _, flag in plain)
    deleted = [row for row in every if row[1] == "true"]
    assert deleted, "the seed has deleted Accounts"
    assert len(every) == len(plain) + len(deleted)
    assert every == store_rows(client.org, soql, include_deleted=True)


def test_gzip(client: Client) -> None:
    job = client.create(TEXT_SOQL)
    client.complete(job["id"])
    plain = client.get(f"/jobs/query/{job['id']}/results", params={"maxRecords": 60},
                       headers={"Accept-Encoding": "identity"})
    assert plain.headers.get("Content-Encoding") is None
    assert int(plain.headers["Content-Length"]) == len(plain.content)
    zipped = client.get(f"/jobs/query/{job['id']}/results", params={"maxRecords": 60},
                        headers={"Accept-Encoding": "gzip"}, stream=True)
    raw = zipped.raw.read(decode_content=False)
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert int(zipped.headers["Content-Length"]) == len(raw) < len(plain.content)
    assert gzip.decompress(raw) == plain.content
    assert zipped.headers["Sforce-Locator"] == plain.headers["Sforce-Locator"]
    assert zipped.headers["Sforce-NumberOfRecords"] == "60"


def test_a_page_cut_by_a_reset_can_be_fetched_again(client: Client) -> None:
    org = client.org
    job = client.create(TEXT_SOQL)
    client.complete(job["id"])
    first = client.get(f"/jobs/query/{job['id']}/results", params={"maxRecords": 50},
                       headers={"Accept-Encoding": "identity"})
    locator = first.headers["Sforce-Locator"]
    whole = client.get(f"/jobs/query/{job['id']}/results",
                       params={"maxRecords": 50, "locator": locator},
                       headers={"Accept-Encoding": "identity"}).content
    org.faults.update({"reset_rate": 1.0, "fault_seed": 5})
    with pytest.raises(requests.exceptions.RequestException):
        client.get(f"/jobs/query/{job['id']}/results", params={"maxRecords": 50, "locator": locator},
                   headers={"Accept-Encoding": "identity"})
    org.faults.update({"reset_rate": 0.0})
    again = client.get(f"/jobs/query/{job['id']}/results", params={"maxRecords": 50,
                                                                   "locator": locator},
                       headers={"Accept-Encoding": "identity"})
    assert again.content == whole


def test_a_truncated_page_keeps_matching_lengths_and_the_full_record_count(client: Client
                                                                          ) -> None:
    """The fault ``truncate_page_rate``: a shorter body whose Content-Length (or gzip stream)
    is consistent, with the whole page's Sforce-NumberOfRecords and locator; fetched again
    without the fault, the page is whole."""
    org = client.org
    job = client.create(TEXT_SOQL)
    client.complete(job["id"])
    url = f"/jobs/query/{job['id']}/results"
    whole = client.get(url, params={"maxRecords": 50}, headers={"Accept-Encoding": "identity"})
    org.faults.update({"truncate_page_rate": 1.0, "fault_seed": 3})
    cuts = []
    for encoding in ("identity", "gzip") * 4:
        cut = client.get(url, params={"maxRecords": 50}, headers={"Accept-Encoding": encoding})
        assert cut.status_code == 200
        assert cut.headers["Sforce-NumberOfRecords"] == "50"
        assert cut.headers["Sforce-Locator"] == whole.headers["Sforce-Locator"]
        if encoding == "identity":
            assert int(cut.headers["Content-Length"]) == len(cut.content)
        assert len(cut.content) < len(whole.content)
        assert whole.content.startswith(cut.content)
        cuts.append(cut.content)
    # Both kinds happen: whole rows missing (ends at a record end) and cut anywhere.
    assert any(len(parse(c.decode("utf-8", "replace"))) - 1 < 50 and c.endswith(b'"\n')
               for c in cuts)
    assert any(not c.endswith(b'"\n') for c in cuts)
    assert org.stats()["faults_injected"]["truncate_page"] == 8
    org.faults.update({"truncate_page_rate": 0.0})
    again = client.get(url, params={"maxRecords": 50}, headers={"Accept-Encoding": "identity"})
    assert again.content == whole.content


def test_results_need_a_complete_job_and_the_same_version(client: Client) -> None:
    job = client.create("SELECT Id FROM Account")
    r = client.get(f"/jobs/query/{job['id']}/results")
    assert r.status_code == 412 and error_of(r)[0] == "JOB_NOT_COMPLETE"
    client.complete(job["id"])
    other = Client(client.org, "60.0")
    r = other.get(f"/jobs/query/{job['id']}/results")
    assert r.status_code == 409
    assert other.get(f"/jobs/query/{job['id']}").status_code == 200
    r = client.get(f"/jobs/query/{job['id']}/results", params={"locator": "!!bad"})
    assert r.status_code == 400
    r = client.get(f"/jobs/query/{job['id']}/results", params={"maxRecords": "0"})
    assert r.status_code == 400


def test_result_pages(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk_query, "DEFAULT_PAGE_ROWS", 20)
    job = client.create(TEXT_SOQL)
    info = client.complete(job["id"])
    total = info["numberRecordsProcessed"]
    pages = -(-total // 20)
    assert pages > 5
    urls: list[str] = []
    next_url: str | None = f"/services/data/v{V}/jobs/query/{job['id']}/resultPages"
    calls = 0
    while next_url:
        r = client.get(next_url)
        assert r.status_code == 200, r.text
        body = r.json()
        assert list(body) == ["resultPages", "nextRecordsUrl", "done"]
        assert 1 <= len(body["resultPages"]) <= 5
        urls += [p["resultUrl"] for p in body["resultPages"]]
        assert body["done"] == (body["nextRecordsUrl"] is None)
        next_url = body["nextRecordsUrl"]
        calls += 1
    assert len(urls) == pages and calls == -(-pages // 5)
    rows: list[list[str]] = []
    for url in urls:
        assert url.startswith(f"/services/data/v{V}/jobs/query/{job['id']}/results?locator=")
        page = client.get(url)
        parsed = parse(page.text)
        assert parsed[0] == ["Id", "Name", "Description", "BillingCity"]
        rows += parsed[1:]
    assert rows == store_rows(client.org, TEXT_SOQL)
    old = Client(client.org, "57.0")
    assert old.get(f"/jobs/query/{job['id']}/resultPages").status_code == 404
    assert Client(client.org, "60.0").get(f"/jobs/query/{job['id']}/resultPages").status_code == 409


# --- abort, delete, list ----------------------------------------------------------------------

def test_abort_delete_and_list(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    org = client.org
    a = client.create("SELECT Id FROM Account")
    r = client.patch(f"/jobs/query/{a['id']}", {"state": "Aborted"})
    assert r.status_code == 200
    assert r.json()["state"] == "Aborted"
    assert list(r.json()) == CREATE_KEYS[:10]
    r = client.patch(f"/jobs/query/{a['id']}", {"state": "Aborted"})
    assert r.status_code == 400 and error_of(r) == ("INVALIDJOBSTATE",
                                                 "Aborting already Completed Job not allowed")
    org.clock.advance(10)
    assert client.get(f"/jobs/query/{a['id']}").json()["state"] == "Aborted"
    b = client.create("SELECT Id FROM Contact")
    r = client.delete(f"/jobs/query/{b['id']}")
    assert r.status_code == 400 and error_of(r) == (
        "API_ERROR", "Error encountered when deleting the job because the job is not terminated")
    c = client.create("SELECT Id FROM Lead")
    client.complete(c["id"])
    monkeypatch.setattr(bulk_query, "LIST_PAGE_SIZE", 2)
    first = client.get("/jobs/query").json()
    assert list(first) == ["done", "records", "nextRecordsUrl"]
    assert first["done"] is False and len(first["records"]) == 2
    assert set(first["records"][0]) == set(CREATE_KEYS) | {"jobType"}
    second = client.get(first["nextRecordsUrl"]).json()
    assert second["done"] is True and second["nextRecordsUrl"] is None
    ids = [j["id"] for j in first["records"] + second["records"]]
    assert ids == [a["id"], b["id"], c["id"]]
    assert client.get("/jobs/query", params={"jobType": "V2Ingest"}).json()["records"] == []
    writes = org.stats()["writes"]
    assert client.delete(f"/jobs/query/{a['id']}").status_code == 204
    assert client.delete(f"/jobs/query/{c['id']}").status_code == 204
    client.get("/limits")       # stats count a request after its answer: let the delete land
    assert org.stats()["writes"] == writes + 2
    assert client.get(f"/jobs/query/{c['id']}").status_code == 404
    assert client.get(f"/jobs/query/{c['id']}/results").status_code == 404
    assert [j["id"] for j in client.get("/jobs/query").json()["records"]] == [b["id"]]


# --- limits -----------------------------------------------------------------------------------

def test_daily_limits_are_spent_and_enforced(client: Client) -> None:
    org = client.org
    app = app_of(org)

    def remaining(name: str) -> int:
        value: int = client.get("/limits").json()[name]["Remaining"]
        return value

    jobs_before = remaining("DailyBulkV2QueryJobs")
    storage_before = remaining("DailyBulkV2QueryFileStorageMB")
    job = client.create(TEXT_SOQL)
    assert remaining("DailyBulkV2QueryJobs") == jobs_before - 1
    client.complete(job["id"])
    assert remaining("DailyBulkV2QueryFileStorageMB") == storage_before - 1
    spent = limits_mod.spent(app)
    left = limits_mod.STATIC_MAX["DailyBulkV2QueryJobs"] - spent.used("DailyBulkV2QueryJobs")
    assert spent.spend("DailyBulkV2QueryJobs", left, limits_mod.STATIC_MAX["DailyBulkV2QueryJobs"])
    r = client.post("/jobs/query", {"operation": "query", "query": "SELECT Id FROM Account"})
    assert r.status_code == 400
    code, message = error_of(r)
    assert code == "LIMIT_EXCEEDED"
    assert message.startswith("Max bulk v2 query jobs (10000) per 24 hrs has been reached (")


def test_storage_limit(client: Client) -> None:
    app = app_of(client.org)
    spent = limits_mod.spent(app)
    maximum = limits_mod.STATIC_MAX["DailyBulkV2QueryFileStorageMB"]
    job = client.create("SELECT Id FROM Account")   # created before the storage runs out
    assert spent.spend("DailyBulkV2QueryFileStorageMB",
                       maximum - spent.used("DailyBulkV2QueryFileStorageMB"), maximum)
    client.org.clock.advance(10)
    info = client.get(f"/jobs/query/{job['id']}").json()
    assert info["state"] == "Failed" and "errorMessage" in info
    r = client.post("/jobs/query", {"operation": "query", "query": "SELECT Id FROM Account"})
    assert r.status_code == 400 and error_of(r) == (
        "LIMIT_EXCEEDED",
        "Max bulk v2 query result size stored (1000000000) kb per 24 hrs has been exceeded")
