"""simple-salesforce, unchanged, against the emulator (trusting its CA via REQUESTS_CA_BUNDLE).

simple-salesforce builds every URL as ``https://<instance>``, so the emulator must serve HTTPS.
Its own login helpers (``Salesforce(username=…, password=…, security_token=…, domain=…)``) always
post to ``https://<domain>.salesforce.com`` and cannot reach the emulator; only the lower-level
``SalesforceLogin(scratch_url=…)`` can (tested in test_auth_web_soap.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceResourceNotFound

from sfexit_emulator import Emulator

BIG_RECORDS = 30000


@pytest.fixture
def sf(emulator: Emulator, emulator_ca_env: str) -> Any:
    # Any: simple-salesforce types `sf.Contact` as a union that mypy cannot call.
    return Salesforce(instance_url=emulator.url, session_id=emulator.token, version="64.0")


@pytest.fixture(scope="module")
def big_org() -> Iterator[Emulator]:
    with Emulator(records=BIG_RECORDS, seed=7) as org:
        yield org


def _largest(sf: Any) -> tuple[str, int]:
    counts = {name: sf.query(f"SELECT COUNT() FROM {name}")["totalSize"]
              for name in ("Account", "Contact", "Task", "Opportunity", "Lead", "Case", "Event")}
    name = max(counts, key=lambda n: counts[n])
    return name, counts[name]


def test_query_all_pages_over_2000_rows(big_org: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(big_org.ca_file))
    sf: Any = Salesforce(instance_url=big_org.url, session_id=big_org.token)
    name, count = _largest(sf)
    assert count > 2000
    big_org.reset_stats()
    result = sf.query_all(f"SELECT Id, CreatedDate FROM {name}")
    assert result["totalSize"] == count == len(result["records"])
    assert len({r["Id"] for r in result["records"]}) == count
    pages = -(-count // 2000)
    assert big_org.stats()["requests_by_route"] == {"query": 1, "query_more": pages - 1}
    assert sf.api_usage["api-usage"].used > 0


def test_query_all_iter_include_deleted_sees_deleted_rows(sf: Any) -> None:
    soql = "SELECT Id, IsDeleted FROM Account WHERE IsDeleted = true"
    assert sf.query_all(soql)["totalSize"] == 0
    deleted = list(sf.query_all_iter(soql, include_deleted=True))
    assert deleted and all(r["IsDeleted"] for r in deleted)


def test_sobject_crud(fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    org = fresh_emulator
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(org.ca_file))
    sf: Any = Salesforce(instance_url=org.url, session_id=org.token)
    created = sf.Contact.create({"LastName": "Simple", "Email": "simple@example.com"})
    assert created["success"] is True
    record_id = created["id"]
    assert sf.Contact.get(record_id)["LastName"] == "Simple"
    assert sf.Contact.update(record_id, {"LastName": "Salesforce"}) == 204
    assert sf.Contact.get(record_id)["LastName"] == "Salesforce"
    assert sf.Contact.delete(record_id) == 204
    with pytest.raises(SalesforceResourceNotFound):
        sf.Contact.get(record_id)
    deleted = sf.query_all(f"SELECT Id FROM Contact WHERE Id = '{record_id}'",
                           include_deleted=True)
    assert deleted["totalSize"] == 1


def test_describe_and_limits(sf: Any) -> None:
    names = {o["name"] for o in sf.describe()["sobjects"]}
    assert "Account" in names
    fields = {f["name"] for f in sf.Account.describe()["fields"]}
    assert {"Id", "Name", "OwnerId"} <= fields
    assert sf.Account.metadata()["objectDescribe"]["name"] == "Account"
    assert sf.limits()["DailyApiRequests"]["Max"] == 100_000


def test_collections_through_restful(fresh_emulator: Emulator,
                                     monkeypatch: pytest.MonkeyPatch) -> None:
    org = fresh_emulator
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(org.ca_file))
    own: Any = Salesforce(instance_url=org.url, session_id=org.token)
    results = own.restful("composite/sobjects", method="POST", json={
        "allOrNone": False,
        "records": [{"attributes": {"type": "Contact"}, "LastName": f"Bulk{i}"} for i in range(5)]})
    assert [r["success"] for r in results] == [True] * 5


def _page(sf: Any, soql: str, batch: int | None = None) -> int:
    headers = {"Sforce-Query-Options": f"batchSize={batch}"} if batch else {}
    first = sf.query(soql, headers=headers)
    assert first["done"] is False, "the query should need more than one page"
    return len(first["records"])


def test_page_size_follows_the_query_and_batch_size(big_org: Emulator,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """2,000 rows a page; 200 once a long-text field (Description) is selected, whatever
    batchSize asks (SOQL and SOSL Reference, "Change the Batch Size in Queries"); batchSize
    honoured within 200…2,000 otherwise. query_all still returns every row."""
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(big_org.ca_file))
    sf: Any = Salesforce(instance_url=big_org.url, session_id=big_org.token)
    name, count = _largest(sf)
    assert _page(sf, f"SELECT Id, Subject FROM {name}" if name in ("Task", "Event")
                 else f"SELECT Id FROM {name}") == 2000
    assert _page(sf, f"SELECT Id FROM {name}", batch=500) == 500
    assert _page(sf, f"SELECT Id FROM {name}", batch=50) == 200
    assert _page(sf, f"SELECT Id, Description FROM {name}") == 200
    assert _page(sf, f"SELECT Id, Description FROM {name}", batch=1000) == 200
    everything = sf.query_all(f"SELECT Id, Description FROM {name}")
    assert len({r["Id"] for r in everything["records"]}) == everything["totalSize"] == count
    assert _page(sf, "SELECT Id, (SELECT Id, Description FROM Tasks) FROM Account") == 200
