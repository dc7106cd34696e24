"""sObject Collections (``composite/sobjects``): per-record results, allOrNone, 200-record cap."""

from __future__ import annotations

from typing import Any

import pytest

from org_client import authorized_session as _http
from sfexit_emulator import Emulator

ROLLED_BACK = {"statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
               "message": "Record rolled back because not all records were valid and the "
                          "request was using AllOrNone header",
               "fields": []}


def _url(org: Emulator) -> str:
    return f"{org.url}/services/data/v68.0/composite/sobjects"


def _contacts(*names: str | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name in names:
        record: dict[str, Any] = {"attributes": {"type": "Contact"}}
        if name is not None:
            record["LastName"] = name
        else:
            record["FirstName"] = "missing last name"
        out.append(record)
    return out


def _count(org: Emulator, where: str) -> int:
    return org.store.query(f"SELECT COUNT() FROM Contact WHERE {where}",
                           now=org.clock.now()).total_size


def test_create_update_delete_in_order(fresh_emulator: Emulator) -> None:
    org = fresh_emulator
    http = _http(org)
    created = http.post(_url(org), json={"allOrNone": False,
                                         "records": _contacts("Alpha", None, "Gamma")})
    assert created.status_code == 200
    results = created.json()
    assert [r["success"] for r in results] == [True, False, True]
    assert results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert "errorCode" not in results[1]["errors"][0]
    ids = [results[0]["id"], results[2]["id"]]
    # jsforce sends the id key lowercase.
    updated = http.patch(_url(org), json={"allOrNone": False, "records": [
        {"attributes": {"type": "Contact"}, "id": ids[0], "FirstName": "A"},
        {"attributes": {"type": "Contact"}, "ID": ids[1], "FirstName": "G"}]})
    assert updated.status_code == 200
    assert updated.json() == [{"id": ids[0], "success": True, "errors": []},
                              {"id": ids[1], "success": True, "errors": []}]
    deleted = http.delete(_url(org), params={"ids": ",".join(ids), "allOrNone": "false"})
    assert deleted.status_code == 200
    assert [r["success"] for r in deleted.json()] == [True, True]
    assert _count(org, "LastName IN ('Alpha', 'Gamma')") == 0


def test_all_or_none_rolls_everything_back(fresh_emulator: Emulator) -> None:
    org = fresh_emulator
    org.reset_stats()
    response = _http(org).post(_url(org), json={
        "allOrNone": True, "records": _contacts("Keep1", None, "Keep2")})
    assert response.status_code == 200
    results = response.json()
    assert results[0] == {"success": False, "errors": [ROLLED_BACK]}
    assert results[1]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert results[2] == {"success": False, "errors": [ROLLED_BACK]}
    assert _count(org, "LastName IN ('Keep1', 'Keep2')") == 0
    assert org.stats()["writes"] == 0


def test_all_or_none_success_commits(fresh_emulator: Emulator) -> None:
    org = fresh_emulator
    response = _http(org).post(_url(org), json={"allOrNone": True,
                                                "records": _contacts("Both1", "Both2")})
    assert all(r["success"] for r in response.json())
    assert _count(org, "LastName IN ('Both1', 'Both2')") == 2
    assert org.stats()["writes"] == 1


def test_more_than_200_records_is_refused(emulator: Emulator) -> None:
    response = _http(emulator).post(_url(emulator), json={
        "allOrNone": False, "records": _contacts(*[f"n{i}" for i in range(201)])})
    assert response.status_code == 400
    assert response.json() == [{
        "message": "record limit reached. cannot submit more than 200 records into this call",
        "errorCode": "EXCEEDED_ID_LIMIT"}]


def _account_ids(org: Emulator, n: int) -> list[str]:
    cursor = org.store.query(f"SELECT Id FROM Account ORDER BY Id LIMIT {n}", now=org.clock.now())
    return [str(row[0]) for row in cursor.rows()]


def test_retrieve_with_a_request_body_as_jsforce_sends_it(emulator: Emulator) -> None:
    """POST …/composite/sobjects/Account {"ids","fields"} (docs: "Get Records With a Request
    Body Using sObject Collections"): the same answer as GET ?ids=&fields=, null for a missing id."""
    ids = _account_ids(emulator, 2)
    missing = ids[0][:-6] + "ZZZZZZ"
    asked = [*ids, missing]
    body = {"ids": asked, "fields": ["Id", "Name"]}
    posted = _http(emulator).post(f"{_url(emulator)}/Account", json=body)
    assert posted.status_code == 200, posted.text
    got = _http(emulator).get(f"{_url(emulator)}/Account",
                              params={"ids": ",".join(asked), "fields": "Id,Name"})
    assert posted.json() == got.json()
    records = posted.json()
    assert [r["Id"] for r in records[:2]] == ids and records[2] is None
    assert records[0]["attributes"]["type"] == "Account" and "Name" in records[0]


def test_retrieve_refuses_an_unknown_field_and_a_bad_body(emulator: Emulator) -> None:
    ids = _account_ids(emulator, 1)
    bad_field = _http(emulator).post(f"{_url(emulator)}/Account",
                                     json={"ids": ids, "fields": ["Id", "NoSuchField__c"]})
    assert bad_field.status_code == 400
    assert bad_field.json()[0]["errorCode"] == "INVALID_FIELD"
    no_fields = _http(emulator).post(f"{_url(emulator)}/Account", json={"ids": ids})
    assert no_fields.status_code == 400


def test_all_or_none_keeps_or_drops_uploaded_file_bodies_with_their_records(
        fresh_emulator: Emulator) -> None:
    """The allOrNone path runs on the store's public transaction: a ContentVersion's body (kept
    beside the row) is undone with the row, and committed with it."""
    import base64

    org = fresh_emulator
    http = _http(org)
    body = b"version body " * 1000
    version = {"attributes": {"type": "ContentVersion"}, "Title": "atomic",
               "PathOnClient": "atomic.txt", "VersionData": base64.b64encode(body).decode()}
    files_before = org.store.storage_usage()[1]
    failed = http.post(_url(org), json={"allOrNone": True,
                                        "records": [version, *_contacts(None)]}).json()
    assert failed[0] == {"success": False, "errors": [ROLLED_BACK]}
    assert org.store.storage_usage()[1] == files_before
    titles = "SELECT COUNT() FROM ContentVersion WHERE Title = 'atomic'"
    assert org.store.query(titles, now=org.clock.now()).total_size == 0

    saved = http.post(_url(org), json={"allOrNone": True,
                                       "records": [version, *_contacts("Filed")]}).json()
    assert [r["success"] for r in saved] == [True, True]
    got = http.get(f"{org.url}/services/data/v68.0/sobjects/ContentVersion/{saved[0]['id']}"
                   "/VersionData")
    assert got.status_code == 200 and got.content == body
    assert org.store.storage_usage()[1] * 1024 * 1024 == \
        pytest.approx(files_before * 1024 * 1024 + len(body))


def test_routes_use_only_the_store_public_api() -> None:
    """No route reaches into OrgStore privates (``store._write``, ``store._conn``...)."""
    import re
    from pathlib import Path

    import sfexit_emulator.routes as routes

    offenders = [f"{path.name}:{n}" for path in sorted(Path(routes.__file__).parent.glob("*.py"))
                 for n, line in enumerate(path.read_text("utf-8").splitlines(), 1)
                 if re.search(r"store\._[a-z]", line)]
    assert offenders == []
