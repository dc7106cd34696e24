"""Bulk API 2.0 ingest jobs against the emulator over real HTTPS (contract tests).

Shapes from the Bulk API 2.0 Developer Guide (Step 3 "Bulk Insert", create_job, upload_job_data,
close_job, get_job_info, successful/failed/unprocessed results, delete_job, abort_job),
users-protocol.md §5(b), errors.md §6/§9 and real-clients-wire.md (jsforce's chunked upload).
Tests move ``org.clock``; they never sleep.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from org_client import OrgClient, error_of
from sfexit_emulator import Emulator
from sfexit_emulator import ingest_jobs
from sfexit_emulator.routes import bulk_ingest

V = "62.0"
CREATE_KEYS = ["id", "operation", "object", "createdById", "createdDate", "systemModstamp", "state",
               "concurrencyMode", "contentType", "apiVersion", "contentUrl", "lineEnding",
               "columnDelimiter"]
INFO_TAIL = ["numberRecordsProcessed", "numberRecordsFailed", "retries", "totalProcessingTime",
             "apiActiveProcessingTime", "apexProcessingTime"]
SF_ERROR = re.compile(r"\A[A-Z_]+:.*:(?:[A-Za-z_,]+ --|--)\Z", re.S)


class Client(OrgClient):
    def __init__(self, org: Emulator, version: str = V) -> None:
        super().__init__(org, version)

    def put_csv(self, job_id: str, data: bytes | Iterator[bytes]) -> requests.Response:
        return self.session.put(self.url(f"/jobs/ingest/{job_id}/batches"), data=data,
                                headers={"Content-Type": "text/csv"}, timeout=60)

    def job(self, obj: str, operation: str, **extra: Any) -> dict[str, Any]:
        r = self.post("/jobs/ingest", {"object": obj, "operation": operation, **extra})
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    def run(self, obj: str, operation: str, data: str, **extra: Any) -> dict[str, Any]:
        """Create, upload, close, advance the clock, poll: the finished job info."""
        job = self.job(obj, operation, **extra)
        assert self.put_csv(job["id"], data.encode("utf-8")).status_code == 201
        assert self.patch(f"/jobs/ingest/{job['id']}", {"state": "UploadComplete"}).status_code == 200
        self.org.clock.advance(10)
        info: dict[str, Any] = self.get(f"/jobs/ingest/{job['id']}").json()
        return info

    def soql(self, q: str) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = self.get("/query", params={"q": q}).json()["records"]
        return records


def parse(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text, newline="")))



@pytest.fixture
def client(fresh_emulator: Emulator) -> Client:
    return Client(fresh_emulator)


@pytest.fixture
def shared(emulator: Emulator) -> Client:
    return Client(emulator)


def test_create_defaults_chunked_upload_close_and_clock(client: Client) -> None:
    org = client.org
    # jsforce's body: no contentType, lineEnding or columnDelimiter.
    job = client.job("Account", "update")
    assert list(job) == CREATE_KEYS
    assert job["state"] == "Open" and job["id"].startswith("750")
    assert (job["contentType"], job["lineEnding"], job["columnDelimiter"]) == ("CSV", "LF", "COMMA")
    assert job["contentUrl"] == f"services/data/v{V}/jobs/ingest/{job['id']}/batches"
    accounts = client.soql("SELECT Id, Description, BillingCity FROM Account "
                           "WHERE BillingCity != null LIMIT 3")
    assert len(accounts) == 3
    lines = ["Id,Description,BillingCity\n",
             f'{accounts[0]["Id"]},"Line one\nline two, with ""quotes"" and ünïcödé 東京",\n',
             f"{accounts[1]['Id']},plain,#N/A\n",
             f"{accounts[2]['Id']},,Paris\n"]

    def chunks() -> Iterator[bytes]:
        for line in lines:
            yield line.encode("utf-8")

    writes = org.stats()["writes"]
    r = client.put_csv(job["id"], chunks())      # a generator body: Transfer-Encoding: chunked
    assert r.request.headers.get("Transfer-Encoding") == "chunked"
    assert r.status_code == 201 and r.content == b""
    again = client.put_csv(job["id"], b"Id,Description\n")
    assert again.status_code == 400
    code, message = error_of(again)
    assert code == "INVALIDJOBSTATE" and message.startswith("Found multiple contents for job")

    r = client.patch(f"/jobs/ingest/{job['id']}", {"state": "UploadComplete"})
    assert r.status_code == 200 and r.json()["state"] == "UploadComplete"
    assert "contentUrl" not in r.json()
    info = client.get(f"/jobs/ingest/{job['id']}").json()
    assert info["state"] == "UploadComplete" and info["jobType"] == "V2Ingest"
    assert info["numberRecordsProcessed"] == 0
    org.clock.advance(1.0)
    assert client.get(f"/jobs/ingest/{job['id']}").json()["state"] == "InProgress"
    unchanged = client.soql(f"SELECT Description FROM Account WHERE Id = '{accounts[1]['Id']}'")
    assert unchanged[0]["Description"] == accounts[1]["Description"]
    org.clock.advance(10)
    info = client.get(f"/jobs/ingest/{job['id']}").json()
    assert info["state"] == "JobComplete"
    assert list(info)[-6:] == INFO_TAIL
    assert info["numberRecordsProcessed"] == 3 and info["numberRecordsFailed"] == 0
    assert "errorMessage" not in info and "contentUrl" not in info
    client.get("/limits")       # stats count a request after its answer: let the poll land
    assert org.stats()["writes"] == writes + 3      # upload, close, the poll that applied rows
    after = {r["Id"]: r for r in client.soql(
        "SELECT Id, Description, BillingCity FROM Account WHERE Id IN ('"
        + "','".join(a["Id"] for a in accounts) + "')")}
    assert after[accounts[0]["Id"]]["Description"] == 'Line one\nline two, with "quotes" and ünïcödé 東京'
    assert after[accounts[0]["Id"]]["BillingCity"] == accounts[0]["BillingCity"], "empty = ignored"
    assert after[accounts[1]["Id"]]["BillingCity"] is None, "#N/A = null"
    assert after[accounts[2]["Id"]]["Description"] == accounts[2]["Description"]
    assert after[accounts[2]["Id"]]["BillingCity"] == "Paris"

    ok = client.get(f"/jobs/ingest/{job['id']}/successfulResults")
    assert ok.headers["Content-Type"].startswith("text/csv")
    assert ok.text.startswith('"sf__Id","sf__Created",Id,Description,BillingCity\n')
    rows = parse(ok.text)
    assert [r["sf__Id"] for r in rows] == [a["Id"] for a in accounts]
    assert {r["sf__Created"] for r in rows} == {"false"}
    assert rows[1]["BillingCity"] == "#N/A"
    failed = client.get(f"/jobs/ingest/{job['id']}/failedResults/")
    assert failed.text == '"sf__Id","sf__Error",Id,Description,BillingCity\n'
    un = client.get(f"/jobs/ingest/{job['id']}/unprocessedrecords")
    assert un.status_code == 200 and parse(un.text) == []


def _users(client: Client) -> dict[str, str]:
    users = client.soql("SELECT Id, IsActive, UserType FROM User")
    active = next(u["Id"] for u in users if u["IsActive"] and u["UserType"] == "Standard"
                  and u["Id"] != client.org.store.admin_user_id)
    inactive = next(u["Id"] for u in users if not u["IsActive"] and u["UserType"] == "Standard")
    chatter = next(u["Id"] for u in users if u["UserType"] == "CsnOnly")
    return {"active": active, "inactive": inactive, "chatter": chatter}


def test_owner_update_round_trip_with_per_row_failures(client: Client) -> None:
    users = _users(client)
    accounts = client.soql("SELECT Id, OwnerId FROM Account WHERE IsDeleted = false LIMIT 4")
    data = "Id,OwnerId\n" + "".join(
        f"{a['Id']},{owner}\n" for a, owner in zip(accounts, [users["active"], users["inactive"],
                                                              users["chatter"], "not-an-id"]))
    info = client.run("Account", "update", data)
    assert info["state"] == "JobComplete"
    assert info["numberRecordsProcessed"] == 4 and info["numberRecordsFailed"] == 3
    job_id = info["id"]
    ok = parse(client.get(f"/jobs/ingest/{job_id}/successfulResults").text)
    assert [(r["sf__Id"], r["OwnerId"]) for r in ok] == [(accounts[0]["Id"], users["active"])]
    text = client.get(f"/jobs/ingest/{job_id}/failedResults").text
    assert text.startswith('"sf__Id","sf__Error",Id,OwnerId\n')
    failed = {r["Id"]: r for r in parse(text)}
    assert set(failed) == {a["Id"] for a in accounts[1:]}
    for row in failed.values():
        assert SF_ERROR.match(row["sf__Error"]), row["sf__Error"]
        assert row["sf__Id"] == row["Id"]
    inactive = failed[accounts[1]["Id"]]["sf__Error"]
    assert inactive.startswith("INACTIVE_OWNER_OR_USER:operation performed with inactive user [")
    assert failed[accounts[2]["Id"]]["sf__Error"] == (
        "OP_WITH_INVALID_USER_TYPE_EXCEPTION:Operation not valid for this user type:OwnerId --")
    assert failed[accounts[3]["Id"]]["sf__Error"].startswith("MALFORMED_ID:")
    owners = {r["Id"]: r["OwnerId"] for r in client.soql(
        "SELECT Id, OwnerId FROM Account WHERE Id IN ('" + "','".join(a["Id"] for a in accounts)
        + "')")}
    assert owners[accounts[0]["Id"]] == users["active"]
    for a in accounts[1:]:
        assert owners[a["Id"]] == a["OwnerId"], "a failed row changes nothing"


def test_lock_faults_fail_rows_with_salesforce_text(client: Client) -> None:
    org = client.org
    accounts = client.soql("SELECT Id FROM Account LIMIT 40")
    org.faults.update({"lock_row_rate": 1.0})
    data = "Id,Description\n" + "".join(f"{a['Id']},locked\n" for a in accounts[:3])
    info = client.run("Account", "update", data)
    assert info["numberRecordsFailed"] == 3 and info["state"] == "JobComplete"
    failed = parse(client.get(f"/jobs/ingest/{info['id']}/failedResults").text)
    for row in failed:
        assert row["sf__Error"] == ("UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this "
                                    f"record or 1 records: {row['Id']}:--")
    org.faults.update({"lock_row_rate": 0.5, "fault_seed": 3})
    data = "Id,Site\n" + "".join(f"{a['Id']},maybe\n" for a in accounts)
    info = client.run("Account", "update", data)
    failed_n = info["numberRecordsFailed"]
    assert 0 < failed_n < len(accounts)
    ok = parse(client.get(f"/jobs/ingest/{info['id']}/successfulResults").text)
    assert len(ok) + failed_n == len(accounts) == info["numberRecordsProcessed"]
    changed = client.soql("SELECT Id FROM Account WHERE Site = 'maybe'")
    assert {r["Id"] for r in changed} == {r["sf__Id"] for r in ok}
    assert org.stats()["faults_injected"]["lock_row"] == 3 + failed_n


def test_insert_upsert_and_delete(client: Client) -> None:
    info = client.run("Contact", "insert", "LastName,FirstName,Email\nBulk,One,one@example.com\n"
                                           "Bulk,Two,two@example.com\n,NoLastName,x@example.com\n")
    assert info["numberRecordsProcessed"] == 3 and info["numberRecordsFailed"] == 1
    ok = parse(client.get(f"/jobs/ingest/{info['id']}/successfulResults").text)
    assert [r["sf__Created"] for r in ok] == ["true", "true"]
    assert all(r["sf__Id"].startswith("003") for r in ok)
    failed = parse(client.get(f"/jobs/ingest/{info['id']}/failedResults").text)
    assert failed[0]["sf__Id"] == "" and failed[0]["sf__Error"].startswith("REQUIRED_FIELD_MISSING:")
    # upsert on Id: one existing row (update), one without Id (insert)
    info = client.run("Contact", "upsert",
                      f"Id,LastName\n{ok[0]['sf__Id']},Renamed\n,Fresh\n",
                      externalIdFieldName="Id")
    assert info["numberRecordsFailed"] == 0
    up = parse(client.get(f"/jobs/ingest/{info['id']}/successfulResults").text)
    assert [r["sf__Created"] for r in up] == ["false", "true"]
    info = client.run("Contact", "delete", "Id\n" + "".join(r["sf__Id"] + "\n" for r in ok))
    assert info["numberRecordsFailed"] == 0 and info["numberRecordsProcessed"] == 2
    gone = client.get("/queryAll", params={
        "q": f"SELECT Id, IsDeleted FROM Contact WHERE Id = '{ok[0]['sf__Id']}'"}).json()
    assert gone["records"][0]["IsDeleted"] is True


def test_abort_leaves_rows_unprocessed(client: Client) -> None:
    org = client.org
    accounts = client.soql("SELECT Id, Description FROM Account LIMIT 2")
    job = client.job("Account", "update")
    data = "Id,Site\n" + "".join(f"{a['Id']},aborted\n" for a in accounts)
    assert client.put_csv(job["id"], data.encode()).status_code == 201
    client.patch(f"/jobs/ingest/{job['id']}", {"state": "UploadComplete"})
    r = client.patch(f"/jobs/ingest/{job['id']}", {"state": "Aborted"})
    assert r.status_code == 200 and r.json()["state"] == "Aborted"
    org.clock.advance(30)
    info = client.get(f"/jobs/ingest/{job['id']}").json()
    assert info["state"] == "Aborted" and info["numberRecordsProcessed"] == 0
    un = client.get(f"/jobs/ingest/{job['id']}/unprocessedRecords")   # simple-salesforce's case
    assert [r["Id"] for r in parse(un.text)] == [a["Id"] for a in accounts]
    assert client.soql("SELECT Id FROM Account WHERE Site = 'aborted'") == []
    r = client.patch(f"/jobs/ingest/{job['id']}", {"state": "Aborted"})
    assert r.status_code == 400 and error_of(r)[0] == "INVALIDJOBSTATE"


def test_unknown_column_fails_the_job(client: Client) -> None:
    accounts = client.soql("SELECT Id FROM Account LIMIT 1")
    info = client.run("Account", "update", f"Id,NoSuchField__c\n{accounts[0]['Id']},x\n")
    assert info["state"] == "Failed"
    assert info["errorMessage"] == "InvalidBatch : Field name not found : NoSuchField__c"
    un = parse(client.get(f"/jobs/ingest/{info['id']}/unprocessedrecords").text)
    assert [r["Id"] for r in un] == [accounts[0]["Id"]]


def test_upload_cap_states_delete_and_list(client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bulk_ingest, "MAX_UPLOAD_BASE64", 400)
    job = client.job("Account", "insert", lineEnding="CRLF", columnDelimiter="PIPE")
    assert (job["lineEnding"], job["columnDelimiter"]) == ("CRLF", "PIPE")
    r = client.put_csv(job["id"], b"Name\r\n" + b"x" * 400 + b"\r\n")
    assert r.status_code == 400 and error_of(r)[0] == "ClientInputError"
    assert client.put_csv(job["id"], b"Name|Description\r\nPiped|a,b\r\n").status_code == 201
    r = client.delete(f"/jobs/ingest/{job['id']}")
    assert r.status_code == 400, "an Open job cannot be deleted"
    client.patch(f"/jobs/ingest/{job['id']}", {"state": "UploadComplete"})
    r = client.put_csv(job["id"], b"Name\r\nlate\r\n")
    assert r.status_code == 400 and error_of(r)[0] == "INVALIDJOBSTATE"
    client.org.clock.advance(10)
    info = client.get(f"/jobs/ingest/{job['id']}").json()
    assert info["numberRecordsProcessed"] == 1 and info["numberRecordsFailed"] == 0
    ok = parse(client.get(f"/jobs/ingest/{job['id']}/successfulResults").text)
    assert ok[0]["Name"] == "Piped"
    made = client.soql(f"SELECT Description FROM Account WHERE Id = '{ok[0]['sf__Id']}'")
    assert made[0]["Description"] == "a,b"
    listing = client.get("/jobs/ingest").json()
    assert listing["done"] is True and [j["id"] for j in listing["records"]] == [job["id"]]
    assert listing["records"][0]["jobType"] == "V2Ingest"
    assert client.get("/jobs/query").json()["records"] == []
    assert client.delete(f"/jobs/ingest/{job['id']}/").status_code == 204
    assert client.get(f"/jobs/ingest/{job['id']}").status_code == 404


def test_multipart_create_uploads_and_closes(client: Client) -> None:
    # The request of the guide's Step 4 "Bulk Insert with a Multipart Request", as written.
    body = (b'--BOUNDARY\r\nContent-Type: application/json\r\n'
            b'Content-Disposition: form-data; name="job"\r\n\r\n'
            b'{\r\n"object":"Contact",\r\n"contentType":"CSV",\r\n"operation": "insert",\r\n'
            b'"lineEnding" : "LF"\r\n}\r\n'
            b'--BOUNDARY\r\nContent-Type: text/csv\r\n'
            b'Content-Disposition: form-data; name="content"; filename="content"\r\n\r\n'
            b'FirstName,LastName,MailingCity\nAstro,Nomical,San Francisco\n'
            b'Hootie,McOwl,San Francisco\nAppy,Camper,San Francisco\n'
            b'Earnie,Badger,San Francisco\n\r\n--BOUNDARY--\r\n')
    r = client.session.post(client.url("/jobs/ingest/"), data=body, timeout=60,
                            headers={"Content-Type": 'multipart/form-data; boundary="BOUNDARY"'})
    assert r.status_code == 200, r.text
    job = r.json()
    assert job["state"] == "UploadComplete" and "contentUrl" not in job
    assert list(job)[-2:] == ["lineEnding", "columnDelimiter"]
    client.org.clock.advance(10)
    info = client.get(f"/jobs/ingest/{job['id']}").json()
    assert info["state"] == "JobComplete" and info["numberRecordsProcessed"] == 4
    ok = parse(client.get(f"/jobs/ingest/{job['id']}/successfulResults/").text)
    assert ok[0]["FirstName"] == "Astro" and ok[0]["sf__Created"] == "true"
    assert ok[-1]["MailingCity"] == "San Francisco"


def test_create_refusals(shared: Client) -> None:
    r = shared.post("/jobs/ingest", {"object": "CaseStatus", "operation": "insert"})
    assert r.status_code == 400 and error_of(r) == (
        "INVALIDENTITY", "Entity 'CaseStatus' is not supported by the Bulk API.")
    r = shared.post("/jobs/ingest", {"object": "Account", "operation": "merge"})
    assert r.status_code == 400 and error_of(r)[0] == "JSON_PARSER_ERROR"
    r = shared.post("/jobs/ingest", {"object": "Account", "operation": "upsert"})
    assert r.status_code == 400
    assert shared.get("/jobs/ingest/750000000000000AAA").status_code == 404


def test_sf_error_format() -> None:
    assert ingest_jobs.sf_error("REQUIRED_FIELD_MISSING", "Required fields are missing: [Name]",
                              ["Name"]) == "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --"
    assert ingest_jobs.sf_error("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id",
                              []) == "INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--"
