"""Bulk 2.0 query results reused across jobs while the org's data is unchanged, and gzip pages
compressed once (bulk_results.py, issue 23: the emulator's CPU per MB served). What a client
receives must not change: every test compares bytes with a job that read the org itself.
Tests never sleep: they move ``org.clock``.
"""

from __future__ import annotations

import csv
import gzip
import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import requests

from org_client import OrgClient
from sfexit_emulator import Emulator, bulk_jobs, bulk_results

V = "62.0"
SOQL = "SELECT Id, Name, Description, BillingCity, AnnualRevenue, IsDeleted FROM Account"


class Client(OrgClient):
    def __init__(self, org: Emulator) -> None:
        super().__init__(org, V)

    def job(self, soql: str = SOQL, **extra: Any) -> str:
        r = self.post("/jobs/query", {"operation": "query", "query": soql, **extra})
        assert r.status_code == 200, r.text
        job_id: str = r.json()["id"]
        self.org.clock.advance(10)
        assert self.get(f"/jobs/query/{job_id}").json()["state"] == "JobComplete"
        return job_id

    def page(self, job_id: str, encoding: str = "identity", **params: Any) -> requests.Response:
        r = self.get(f"/jobs/query/{job_id}/results", params=params,
                     headers={"Accept-Encoding": encoding}, stream=True)
        assert r.status_code == 200, r.text
        return r

    def body(self, job_id: str, encoding: str = "identity", **params: Any) -> bytes:
        raw: bytes = self.page(job_id, encoding, **params).raw.read(decode_content=False)
        return raw


def rows(body: bytes, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8"), newline=""), delimiter=delimiter))


@pytest.fixture
def client(fresh_emulator: Emulator) -> Client:
    return Client(fresh_emulator)


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """Every result file written from the org (not reused), as it is written."""
    written: list[Path] = []
    real = bulk_jobs.write_result

    def counted(path: Path, *args: Any) -> bulk_results.ResultFile:
        written.append(path)
        return real(path, *args)

    monkeypatch.setattr(bulk_jobs, "write_result", counted)
    return written


def test_a_second_job_over_unchanged_data_gets_the_same_bytes_without_reading_the_org(
        client: Client, writes: list[Path]) -> None:
    first = client.job()
    second = client.job()
    assert len(writes) == 1
    for params in ({}, {"maxRecords": 70}, {"maxRecords": 70, "locator": "MTQw"}):
        assert client.body(second, **params) == client.body(first, **params)
        assert client.body(second, "gzip", **params) == client.body(first, "gzip", **params)
    second_page = client.page(second, maxRecords=70)
    assert second_page.headers["Sforce-NumberOfRecords"] == "70"
    assert second_page.headers["Sforce-Locator"] == "NzA"   # row 70


def test_a_write_between_jobs_makes_the_next_job_read_the_org_again(client: Client,
                                                                   writes: list[Path]) -> None:
    before = client.body(client.job())
    account = client.get("/query", params={"q": "SELECT Id FROM Account LIMIT 1"})
    record_id = account.json()["records"][0]["Id"]
    assert client.patch(f"/sobjects/Account/{record_id}",
                        {"Name": 'Renamed "between" jobs'}).status_code == 204
    after = client.body(client.job())
    assert len(writes) == 2
    assert b'"Renamed ""between"" jobs"' in after
    assert b"Renamed" not in before


def test_another_dialect_or_query_is_read_from_the_org(client: Client,
                                                       writes: list[Path]) -> None:
    comma = client.body(client.job())
    tab = client.body(client.job(columnDelimiter="TAB", lineEnding="CRLF"))
    every = client.body(client.job(operation="queryAll"))
    assert len(writes) == 3
    assert tab.endswith(b'"\r\n') and rows(tab, "\t") == rows(comma, ",")
    assert len(every) >= len(comma)


def test_a_reused_result_outlives_the_deleted_job_it_came_from(client: Client,
                                                              writes: list[Path]) -> None:
    first = client.job()
    whole = client.body(first)
    second = client.job()
    assert client.delete(f"/jobs/query/{first}").status_code == 204
    assert client.body(second) == whole
    third = client.job()     # the kept copy is still there after both jobs' own files
    assert client.delete(f"/jobs/query/{second}").status_code == 204
    assert client.body(third) == whole
    assert len(writes) == 1


def test_a_gzip_page_is_compressed_once_and_a_cut_one_stays_apart(
        client: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    compressions: list[int] = []
    real: Callable[..., Any] = bulk_results.zlib.compressobj

    def counted(*args: Any) -> Any:
        compressions.append(1)
        return real(*args)

    monkeypatch.setattr(bulk_results.zlib, "compressobj", counted)
    first, second = client.job(), client.job()
    plain = client.body(first, maxRecords=60)
    zipped = client.body(first, "gzip", maxRecords=60)
    assert gzip.decompress(zipped) == plain
    assert client.body(first, "gzip", maxRecords=60) == zipped
    assert client.body(second, "gzip", maxRecords=60) == zipped
    assert len(compressions) == 1
    client.org.faults.update({"truncate_page_rate": 1.0, "fault_seed": 3})
    cut = client.body(first, "gzip", maxRecords=61)
    client.org.faults.update({"truncate_page_rate": 0.0})
    whole = client.body(first, "gzip", maxRecords=61)
    assert len(gzip.decompress(cut)) < len(gzip.decompress(whole))
    assert gzip.decompress(whole) == client.body(first, maxRecords=61)
