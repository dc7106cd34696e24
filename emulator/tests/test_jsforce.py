"""jsforce, unchanged, against the emulator over HTTPS (issue 10's fidelity test).

The scripts in ``emulator/tests/js/`` use jsforce as any application would:
``new jsforce.Connection({instanceUrl, accessToken, version})`` trusting the emulator's CA only
through ``NODE_EXTRA_CA_CERTS``. They print one JSON object; the tests compare it with the org's
own state (the store), never with numbers written down here. jsforce 3.10.16 is pinned: later
3.10.x releases need Node >= 22 (their undici 8), our machines run Node 20.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from js_clients import client_env, node_project, run_json

from sfexit_emulator import Emulator

# Seed and size whose Contact table spans three REST pages (and Account two Bulk-sized ones).
RECORDS, SEED = 30000, 7
PAGED_OBJECT = "Contact"
VERSION = "62.0"


def _count(org: Emulator, soql: str, include_deleted: bool = False) -> int:
    return int(org.store.query(soql, include_deleted=include_deleted, now=org.clock.now()).total_size)


def _rows(org: Emulator, soql: str) -> list[tuple[Any, ...]]:
    cursor = org.store.query(soql, now=org.clock.now())
    try:
        return [tuple(row) for row in cursor.rows()]
    finally:
        close = getattr(cursor, "close", None)
        if callable(close):
            close()


@pytest.fixture(scope="module")
def js_project() -> Path:
    return node_project("js", "jsforce/package.json")


@pytest.fixture(scope="module")
def rest(js_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with Emulator(records=RECORDS, seed=SEED) as org:
        expected = {
            "paged": _count(org, f"SELECT COUNT() FROM {PAGED_OBJECT}"),
            "deleted": _count(org, "SELECT COUNT() FROM Account WHERE IsDeleted = true", True),
            "accounts": _count(org, "SELECT COUNT() FROM Account"),
        }
        org.reset_stats()
        env = client_env(org, tmp_path_factory.mktemp("home"), SF_API_VERSION=VERSION)
        out = run_json(["node", "rest.mjs", PAGED_OBJECT], js_project, env)
        yield {"out": out, "org": org, "expected": expected, "stats": org.stats(),
               "after_accounts": _count(org, "SELECT COUNT() FROM Account")}


@pytest.fixture(scope="module")
def bulk(js_project: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    with Emulator(records=RECORDS, seed=SEED) as org:
        accounts = _rows(org, "SELECT Id, Name, Description FROM Account ORDER BY Id")
        targets = [str(row[0]) for row in accounts[:3]]
        expected = {
            "accounts": accounts,
            "deleted": _count(org, "SELECT COUNT() FROM Account WHERE IsDeleted = true", True),
            "targets": targets,
        }
        org.reset_stats()
        env = client_env(org, tmp_path_factory.mktemp("home"), SF_API_VERSION=VERSION)
        out = run_json(["node", "bulk.mjs", ",".join(targets)], js_project, env)
        names = dict(_rows(org, "SELECT Id, Name FROM Account WHERE Id IN ('"
                           + "','".join(targets) + "')"))
        yield {"out": out, "org": org, "expected": expected, "stats": org.stats(),
               "names": names}


def _ok(result: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = result["out"]
    assert "error" not in out, out.get("error")
    return out


def test_identity_reads_the_resources_map_and_the_identity_url(rest: dict[str, Any]) -> None:
    out, org = _ok(rest), rest["org"]
    identity = out["identity"]
    assert identity["organization_id"] == org.org_id
    assert identity["user_id"] == org.store.admin_user_id
    assert identity["id"] == f"{org.url}/id/{org.org_id}/{org.store.admin_user_id}"
    assert identity["username"] == org.credentials.username
    assert out["version"] == VERSION


def test_query_auto_fetch_follows_every_page(rest: dict[str, Any]) -> None:
    out, expected = _ok(rest), rest["expected"]
    paged = out["paged"]
    assert expected["paged"] > 2000   # more than one page, or this test proves nothing
    assert paged["totalSize"] == paged["count"] == paged["unique"] == expected["paged"]
    assert paged["done"] is True and paged["types"] == [PAGED_OBJECT]
    pages = -(-expected["paged"] // 2000)
    assert rest["stats"]["requests_by_route"]["query_more"] == pages - 1


def test_scan_all_query_sees_deleted_rows(rest: dict[str, Any]) -> None:
    out = _ok(rest)
    assert out["deleted"]["totalSize"] == rest["expected"]["deleted"] > 0
    assert out["deleted"]["allDeleted"] is True


def test_sobject_create_update_retrieve_destroy(rest: dict[str, Any]) -> None:
    crud = _ok(rest)["crud"]
    new_id = crud["created"]["id"]
    assert crud["created"] == {"id": new_id, "success": True, "errors": []}
    assert new_id.startswith("001") and len(new_id) == 18
    assert crud["updated"] == crud["created"] == crud["destroyed"]
    assert crud["retrieved"] == {"Id": new_id, "Name": "jsforce one, renamed",
                                 "Description": "made by jsforce", "type": "Account"}
    # A deleted record is in the recycle bin: Salesforce answers ENTITY_IS_DELETED.
    assert crud["gone"]["errorCode"] == "ENTITY_IS_DELETED"


def test_collections_report_per_record_results(rest: dict[str, Any]) -> None:
    collections = _ok(rest)["collections"]
    created = collections["created"]
    assert [r["success"] for r in created] == [True, True, False]
    assert created[2]["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    ids = [r["id"] for r in created[:2]]
    assert [r["id"] for r in collections["updated"]] == ids
    assert collections["retrieved"] == ["many 0", "many 1"]   # POST composite/sobjects/Account
    assert [r["id"] for r in collections["destroyed"]] == ids
    # Everything created was destroyed again.
    assert rest["after_accounts"] == rest["expected"]["accounts"]


def test_upsert_by_external_id_single_and_many(rest: dict[str, Any]) -> None:
    out, org = _ok(rest), rest["org"]
    upsert = out["upsert"]
    created = upsert["created"]
    assert created["success"] is True and created["id"].startswith("003")
    assert upsert["updated"]["id"] == created["id"] and upsert["updated"]["success"] is True
    many = upsert["many"]
    assert [r["success"] for r in many] == [True, True]
    assert [r.get("created") for r in many] == [True, False] and many[1]["id"] == created["id"]
    rows = _rows(org, "SELECT Id, LastName FROM Contact WHERE Email = 'jsforce.upsert@example.com'")
    assert rows == [(created["id"], "jsforce many b")]


def test_logout_ends_the_session(rest: dict[str, Any]) -> None:
    assert _ok(rest)["logout"]["errorCode"] == "INVALID_SESSION_ID"


def test_describe_and_limits(rest: dict[str, Any]) -> None:
    out, org = _ok(rest), rest["org"]
    describe = out["describe"]
    assert describe["name"] == "Account"
    assert describe["fields"] == [f["name"] for f in org.store.describe("Account")["fields"]]
    assert describe["sobjects"] > 10
    limits = out["limits"]["DailyApiRequests"]
    assert limits["Max"] == org.faults.daily_api_max
    # Every counted call before /limits spent one, and /limits spends one too.
    assert 0 < limits["Max"] - limits["Remaining"] <= org.stats()["api_requests_used"]


def test_bulk2_query_reads_every_row_as_stored(bulk: dict[str, Any]) -> None:
    out, accounts = _ok(bulk), bulk["expected"]["accounts"]
    query = out["query"]
    assert query["count"] == query["unique"] == len(accounts)
    assert query["columns"] == ["Id", "Name", "Description"]
    sample = query["sample"]   # a row whose text has a newline, comma or quote
    assert sample is not None
    stored = {str(row[0]): row for row in accounts}[sample["Id"]]
    assert (sample["Name"], sample["Description"]) == (stored[1], stored[2])
    assert out["queryAll"]["count"] == bulk["expected"]["deleted"] > 0
    by_route = bulk["stats"]["requests_by_route"]
    assert by_route["bulk_query_create"] == 2 and by_route["bulk_query_results"] >= 2


def test_bulk2_ingest_applies_rows_and_reports_failures(bulk: dict[str, Any]) -> None:
    ingest, targets = _ok(bulk)["ingest"], bulk["expected"]["targets"]
    assert ingest["successful"] == [{"id": t, "created": "false"} for t in targets]
    assert len(ingest["failed"]) == 1
    assert ingest["failed"][0]["error"].startswith("INVALID_CROSS_REFERENCE_KEY:")
    assert ingest["unprocessed"] == 0
    renamed = {t: f'Bulk, "renamed" {n} 東京' for n, t in enumerate(targets)}
    assert bulk["names"] == renamed                       # in the org
    assert _ok(bulk)["after"] == renamed                  # and as jsforce reads it back
    assert bulk["stats"]["requests_by_route"]["bulk_ingest_upload"] == 1
