"""Real clients, unchanged, against the emulator's Bulk API 2.0.

- simple-salesforce's ``sf.bulk2.<Object>.download/query/query_all/update/insert`` (its
  ``bulk2.sleep`` between polls is replaced by a move of the emulator clock, so nothing waits);
- the request sequences of jsforce and the Salesforce CLI from real-clients-wire.md ("Bulk API
  2.0"), replayed byte for byte over ``http.client``: jsforce's ingest upload is
  ``Transfer-Encoding: chunked`` without ``Content-Length``; sf creates a query job with only
  ``lineEnding``, calls ``GET /services/data/vXX.X`` before every results page and sends
  ``content-Type: text/csv`` on the GET.
"""

from __future__ import annotations

import csv
import http.client
import io
import json
import ssl
from pathlib import Path
from typing import Any

import pytest
import simple_salesforce.bulk2
from simple_salesforce import Salesforce

from org_client import store_rows
from sfexit_emulator import Emulator

V = "62.0"


@pytest.fixture
def org(fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Emulator:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(fresh_emulator.ca_file))
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    # simple-salesforce sleeps between polls: move the emulator's clock instead.
    monkeypatch.setattr(simple_salesforce.bulk2, "sleep",
                        lambda seconds: fresh_emulator.clock.advance(float(seconds)))
    return fresh_emulator


@pytest.fixture
def sf(org: Emulator) -> Any:
    return Salesforce(instance_url=org.url, session_id=org.token, version=V)



def parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline="")))


SOQL = "SELECT Id, Name, Description FROM Account"


def test_simple_salesforce_download_pages_to_files(org: Emulator, sf: Any, tmp_path: Path) -> None:
    org.reset_stats()
    results = sf.bulk2.Account.download(SOQL, path=str(tmp_path), max_records=40)
    expected = store_rows(org, SOQL)
    assert len(results) == -(-len(expected) // 40) > 1
    rows: list[list[str]] = []
    for result in results:
        with open(result["file"], encoding="utf-8", newline="") as fh:
            parsed = list(csv.reader(fh))
        assert parsed[0] == ["Id", "Name", "Description"]
        assert len(parsed) - 1 == result["number_of_records"]
        rows += parsed[1:]
    assert results[-1]["locator"] == ""
    assert rows == expected
    sf.limits()     # stats count a request after its answer: let the last page land
    by_route = org.stats()["requests_by_route"]
    assert by_route["bulk_query_create"] == 1
    assert by_route["bulk_query_results"] == len(results)
    assert by_route["bulk_query_job"] >= 1


def test_simple_salesforce_query_and_query_all(org: Emulator, sf: Any) -> None:
    pages = list(sf.bulk2.Account.query(SOQL, max_records=50))
    rows = [row for page in pages for row in parse(page)[1:]]
    assert all(parse(page)[0] == ["Id", "Name", "Description"] for page in pages)
    assert rows == store_rows(org, SOQL)
    soql = "SELECT Id, IsDeleted FROM Account"
    every = [row for page in sf.bulk2.Account.query_all(soql) for row in parse(page)[1:]]
    assert any(flag == "true" for _, flag in every)
    assert every == store_rows(org, soql, include_deleted=True)


def test_simple_salesforce_update_owner_with_failures(org: Emulator, sf: Any,
                                                      tmp_path: Path) -> None:
    users = sf.query_all("SELECT Id, IsActive, UserType FROM User")["records"]
    active = next(u["Id"] for u in users if u["IsActive"] and u["UserType"] == "Standard"
                  and u["Id"] != org.store.admin_user_id)
    chatter = next(u["Id"] for u in users if u["UserType"] == "CsnOnly")
    accounts = sf.query("SELECT Id, OwnerId FROM Account LIMIT 5")["records"]
    path = tmp_path / "owners.csv"
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(["Id", "OwnerId"])
        for i, a in enumerate(accounts):
            writer.writerow([a["Id"], chatter if i == 4 else active])
    writes = org.stats()["writes"]
    result = sf.bulk2.Account.update(csv_file=str(path))
    assert len(result) == 1
    summary = result[0]
    assert summary["numberRecordsProcessed"] == 5 == summary["numberRecordsTotal"]
    assert summary["numberRecordsFailed"] == 1
    assert org.stats()["writes"] > writes
    failed = list(csv.DictReader(io.StringIO(
        sf.bulk2.Account.get_failed_records(summary["job_id"]))))
    assert failed == [{"sf__Id": accounts[4]["Id"],
                       "sf__Error": "OP_WITH_INVALID_USER_TYPE_EXCEPTION:Operation not valid "
                                    "for this user type:OwnerId --",
                       "Id": accounts[4]["Id"], "OwnerId": chatter}]
    ok = list(csv.DictReader(io.StringIO(
        sf.bulk2.Account.get_successful_records(summary["job_id"]))))
    assert [r["sf__Id"] for r in ok] == [a["Id"] for a in accounts[:4]]
    assert sf.bulk2.Account.get_unprocessed_records(summary["job_id"]).strip() == "Id,OwnerId"
    owners = {r["Id"]: r["OwnerId"] for r in sf.query_all(
        "SELECT Id, OwnerId FROM Account WHERE Id IN ('"
        + "','".join(a["Id"] for a in accounts) + "')")["records"]}
    assert [owners[a["Id"]] for a in accounts[:4]] == [active] * 4
    assert owners[accounts[4]["Id"]] == accounts[4]["OwnerId"]


def test_simple_salesforce_insert_records(org: Emulator, sf: Any) -> None:
    result = sf.bulk2.Contact.insert(records=[{"LastName": "Bulk", "FirstName": "Ada"},
                                              {"LastName": "Bulk", "FirstName": "Grace"}])
    assert result[0]["numberRecordsFailed"] == 0 and result[0]["numberRecordsProcessed"] == 2
    made = sf.query("SELECT FirstName FROM Contact WHERE LastName = 'Bulk' ORDER BY FirstName")
    assert [r["FirstName"] for r in made["records"]] == ["Ada", "Grace"]


# --- recorded request sequences (real-clients-wire.md) ----------------------------------------

class Wire:
    """One keep-alive HTTPS connection; every exchange is recorded as (method, path, status)."""

    def __init__(self, org: Emulator) -> None:
        context = ssl.create_default_context(cafile=str(org.ca_file))
        self.conn = http.client.HTTPSConnection("127.0.0.1", org.port, context=context, timeout=60)
        self.token = org.token
        self.log: list[tuple[str, str, int]] = []

    def send(self, method: str, path: str, body: Any = None,
             headers: dict[str, str] | None = None, chunked: bool = False) -> tuple[Any, bytes]:
        all_headers = {"Authorization": f"Bearer {self.token}", **(headers or {})}
        self.conn.request(method, path, body=body, headers=all_headers, encode_chunked=chunked)
        response = self.conn.getresponse()
        data = response.read()
        self.log.append((method, path.split("?")[0], response.status))
        return response, data


def test_jsforce_chunked_ingest_sequence(org: Emulator) -> None:
    wire = Wire(org)
    base = f"/services/data/v{V}/jobs/ingest"
    accounts = org.store.query("SELECT Id FROM Account LIMIT 3", now=org.clock.now(),
                               user_id=org.store.admin_user_id)
    ids = [row[0] for row in accounts.rows()]
    accounts.close()
    _, body = wire.send("POST", base, json.dumps({"object": "Account", "operation": "update"}),
                        {"Content-Type": "application/json"})
    job = json.loads(body)
    assert job["operation"] == "update" and job["state"] == "Open"
    csv_lines = ["Id,Description\n"] + [f"{i},jsforce {n}\n" for n, i in enumerate(ids)]
    response, body = wire.send("PUT", f"{base}/{job['id']}/batches",
                               (line.encode() for line in csv_lines),
                               {"Content-Type": "text/csv", "Transfer-Encoding": "chunked"},
                               chunked=True)
    assert response.status == 201 and body == b""
    response, body = wire.send("PATCH", f"{base}/{job['id']}",
                               json.dumps({"state": "UploadComplete"}),
                               {"Content-Type": "application/json"})
    assert json.loads(body)["state"] == "UploadComplete"
    states = []
    for _ in range(5):                      # jsforce polls every second
        org.clock.advance(1.0)
        _, body = wire.send("GET", f"{base}/{job['id']}")
        states.append(json.loads(body)["state"])
        if states[-1] == "JobComplete":
            break
    assert states[0] in ("UploadComplete", "InProgress") and states[-1] == "JobComplete"
    outputs = {}
    for kind in ("successfulResults", "failedResults", "unprocessedrecords"):
        response, body = wire.send("GET", f"{base}/{job['id']}/{kind}")
        assert response.status == 200
        outputs[kind] = body.decode()
    assert len(list(csv.DictReader(io.StringIO(outputs["successfulResults"])))) == 3
    assert [m for m, _, _ in wire.log[:3]] == ["POST", "PUT", "PATCH"]
    assert all(status < 300 for _, _, status in wire.log)


def test_sf_cli_query_sequence(org: Emulator) -> None:
    wire = Wire(org)
    base = f"/services/data/v{V}/jobs/query"
    _, body = wire.send("POST", base, json.dumps({"query": SOQL, "operation": "query",
                                                  "lineEnding": "LF"}),
                        {"Content-Type": "application/json"})
    job = json.loads(body)
    assert (job["contentType"], job["columnDelimiter"]) == ("CSV", "COMMA")
    org.clock.advance(5.0)                  # sf polls every 5 s
    _, body = wire.send("GET", f"{base}/{job['id']}")
    info = json.loads(body)
    assert info["state"] == "JobComplete"
    locator = None
    rows: list[list[str]] = []
    pages = 0
    while True:
        response, _ = wire.send("GET", f"/services/data/v{V}")
        assert response.status == 200
        query = f"?locator={locator}&maxRecords=50" if locator else "?maxRecords=50"
        response, body = wire.send("GET", f"{base}/{job['id']}/results{query}",
                                   headers={"content-Type": "text/csv", "user-agent": "undici"})
        assert response.status == 200
        pages += 1
        parsed = parse(body.decode())
        rows += parsed[1:]                  # sf drops the first line of every page
        locator = response.getheader("Sforce-Locator")
        assert locator is not None, "clients loop forever without the header"
        if locator == "null":
            break
    assert len(rows) == info["numberRecordsProcessed"]
    assert rows == store_rows(org, SOQL)
    assert pages == -(-len(rows) // 50)
