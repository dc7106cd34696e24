"""REST query and queryAll: page shapes, paging by locator, batchSize, columns=true, errors."""

from __future__ import annotations

import re
from typing import Any

import pytest
import requests

from org_client import authorized_session as _http
from sfexit_emulator import Emulator

LOCATOR_URL = re.compile(r"/services/data/v(\d+\.\d)/query/(01g[0-9A-Za-z]{15})-(\d+)")


def _query(org: Emulator, soql: str, endpoint: str = "query", version: str = "68.0",
           **headers: str) -> requests.Response:
    return _http(org).get(f"{org.url}/services/data/v{version}/{endpoint}", params={"q": soql},
                          headers=headers)


def _biggest_object(org: Emulator) -> tuple[str, int]:
    counts = {name: org.store.query(f"SELECT COUNT() FROM {name}", now=org.clock.now()).total_size
              for name in ("Account", "Contact", "Task", "Opportunity", "Lead", "Case")}
    name = max(counts, key=lambda n: counts[n])
    return name, counts[name]


def test_first_page_shape(emulator: Emulator) -> None:
    response = _query(emulator, "SELECT Id, Name FROM Account LIMIT 5")
    assert response.status_code == 200
    assert response.headers["Content-Type"] == "application/json;charset=UTF-8"
    assert response.headers["Sforce-Limit-Info"].startswith("api-usage=")
    body = response.json()
    assert list(body) == ["totalSize", "done", "records"]
    assert body["totalSize"] == 5 and body["done"] is True
    record = body["records"][0]
    assert record["attributes"]["type"] == "Account"
    assert record["attributes"]["url"] == f"/services/data/v68.0/sobjects/Account/{record['Id']}"
    assert list(record) == ["attributes", "Id", "Name"]


def test_paging_by_locator_with_batch_size(emulator: Emulator) -> None:
    name, count = _biggest_object(emulator)
    assert count > 200
    http = _http(emulator)
    first = http.get(f"{emulator.url}/services/data/v68.0/query",
                     params={"q": f"SELECT Id FROM {name}"},
                     headers={"Sforce-Query-Options": "batchSize=200"}).json()
    assert first["totalSize"] == count and first["done"] is False
    assert len(first["records"]) == 200
    assert list(first) == ["totalSize", "done", "nextRecordsUrl", "records"]
    found = LOCATOR_URL.fullmatch(first["nextRecordsUrl"])
    assert found and found.group(1) == "68.0" and found.group(3) == "200"
    ids = [r["Id"] for r in first["records"]]
    page = first
    while not page["done"]:
        # jsforce: only the last segment, re-served under /query/ of its own version (50.0).
        locator = page["nextRecordsUrl"].rsplit("/", 1)[1]
        page = http.get(f"{emulator.url}/services/data/v50.0/query/{locator}").json()
        assert page["totalSize"] == count
        ids += [r["Id"] for r in page["records"]]
    assert len(ids) == count == len(set(ids))


def test_default_page_is_2000_and_batch_size_is_clamped(emulator: Emulator) -> None:
    name, count = _biggest_object(emulator)
    default = _query(emulator, f"SELECT Id FROM {name}").json()
    assert len(default["records"]) == min(2000, count)
    small = _query(emulator, f"SELECT Id FROM {name}",
                   **{"Sforce-Query-Options": "batchSize=10"}).json()
    assert len(small["records"]) == min(200, count)


def test_query_all_sees_deleted_rows(emulator: Emulator) -> None:
    soql = "SELECT Id, IsDeleted FROM Account WHERE IsDeleted = true"
    assert _query(emulator, soql).json()["totalSize"] == 0
    deleted = _query(emulator, soql, endpoint="queryAll").json()
    assert deleted["totalSize"] > 0
    assert all(r["IsDeleted"] is True for r in deleted["records"])


def test_query_all_locator_keeps_deleted_rows_under_query_path(emulator: Emulator) -> None:
    soql = "SELECT Id FROM Account"
    total_all = _query(emulator, soql, endpoint="queryAll").json()["totalSize"]
    total_live = _query(emulator, soql).json()["totalSize"]
    assert total_all > total_live
    http = _http(emulator)
    page = http.get(f"{emulator.url}/services/data/v68.0/queryAll", params={"q": soql},
                    headers={"Sforce-Query-Options": "batchSize=200"}).json()
    seen = len(page["records"])
    while not page["done"]:
        page = http.get(emulator.url + page["nextRecordsUrl"]).json()
        seen += len(page["records"])
    assert seen == total_all


def test_count_query_has_empty_records(emulator: Emulator) -> None:
    body = _query(emulator, "SELECT COUNT() FROM Account").json()
    assert body["records"] == [] and body["done"] is True and body["totalSize"] > 0


def test_columns_true_returns_column_metadata(emulator: Emulator) -> None:
    response = _http(emulator).get(f"{emulator.url}/services/data/v68.0/query", params={
        "q": "SELECT Id, Name, Owner.Username FROM Account", "columns": "true"})
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    assert isinstance(body["columnMetadata"], list)
    assert [c["columnName"] for c in body["columnMetadata"]] == ["Id", "Name", "Owner"]
    assert body["columnMetadata"][2]["joinColumns"][0]["columnName"] == "Username"
    assert body["entityName"] == "Account" and body["keyPrefix"] == "001"
    assert body["idSelected"] is True


@pytest.mark.parametrize(("soql", "code"), [
    ("SELECT Id FROM ScratchOrgInfo limit 1", "INVALID_TYPE"),
    ("SELECT NoSuchField__x FROM Account", "INVALID_FIELD"),
    ("SELECT Id FROM", "MALFORMED_QUERY"),
])
def test_query_errors(emulator: Emulator, soql: str, code: str) -> None:
    response = _query(emulator, soql)
    assert response.status_code == 400
    body = response.json()
    assert body[0]["errorCode"] == code and "fields" not in body[0]


def test_unknown_locator(emulator: Emulator) -> None:
    response = _http(emulator).get(
        f"{emulator.url}/services/data/v68.0/query/01g000000000000AAA-2000")
    assert response.status_code == 400
    assert response.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_query_needs_a_session(emulator: Emulator) -> None:
    response = requests.get(f"{emulator.url}/services/data/v68.0/query",
                            params={"q": "SELECT Id FROM Account"}, verify=str(emulator.ca_file))
    assert response.status_code == 401


def test_tooling_query_is_empty(emulator: Emulator) -> None:
    response = _http(emulator).get(f"{emulator.url}/services/data/v68.0/tooling/query", params={
        "q": "SELECT Id, Status FROM SandboxProcess WHERE SandboxOrganization = '00D'"})
    assert response.status_code == 200
    assert response.json() == {"size": 0, "totalSize": 0, "done": True, "records": [],
                                "entityTypeName": "SandboxProcess", "queryLocator": None}


def _ids(org: Emulator, soql: str, endpoint: str = "query") -> list[str]:
    """Every Id a query answers, following its pages."""
    http = _http(org)
    page = _query(org, soql, endpoint).json()
    ids = [r["Id"] for r in page["records"]]
    while not page["done"]:
        page = http.get(f"{org.url}{page['nextRecordsUrl']}").json()
        ids += [r["Id"] for r in page["records"]]
    return ids


@pytest.mark.parametrize("endpoint", ["query", "queryAll"])
@pytest.mark.parametrize("name", ["Contact", "AcceptedEventRelation"])
def test_id_ranges_ordered_by_id_hold_every_row_once(emulator: Emulator, name: str,
                                                     endpoint: str) -> None:
    """PK chunking over SOQL (Bulk API Developer Guide, "PK Chunking": ``WHERE Id >= '…' AND
    Id < '…'`` on base-62 bounds; SOQL "ORDER BY": ASC/DESC, LIMIT): the first and last Id by
    ORDER BY Id LIMIT 1, then ranges of 15-char bounds read in Id order give exactly the rows
    of the whole object, in the order of a plain read."""
    whole = _ids(emulator, f"SELECT Id FROM {name}", endpoint)
    assert len(whole) > 10
    first = _ids(emulator, f"SELECT Id FROM {name} ORDER BY Id ASC LIMIT 1", endpoint)
    last = _ids(emulator, f"SELECT Id FROM {name} ORDER BY Id DESC LIMIT 1", endpoint)
    assert first == [min(whole)] and last == [max(whole)]
    assert whole == sorted(whole)   # the emulator serves rows in Id order
    cuts = [sorted(whole)[n][:15] for n in (len(whole) // 3, 2 * len(whole) // 3)]
    parts = [f"Id < '{cuts[0]}'", f"Id >= '{cuts[0]}' AND Id < '{cuts[1]}'", f"Id >= '{cuts[1]}'"]
    read = [i for where in parts
            for i in _ids(emulator, f"SELECT Id FROM {name} WHERE {where} ORDER BY Id", endpoint)]
    assert read == whole
    descending = _ids(emulator, f"SELECT Id FROM {name} WHERE Id >= '{cuts[1]}' "
                                f"ORDER BY Id DESC LIMIT 3", endpoint)
    assert descending == sorted(whole)[::-1][:3]
