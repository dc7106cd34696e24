"""``sfexit_emulator.testing``: the door sfexit's tests and benchmarks use into the org's state.

Each function is checked against what a client sees over the wire (REST with the admin's
token), so the door cannot drift from the org it describes.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sfexit_emulator import Emulator, testing

V = "v64.0"   # the version of the urls in testing.records


@pytest.fixture(scope="module")
def org() -> Iterator[Emulator]:
    """A private org for this module (the session's `emulator` must not be written)."""
    with Emulator(records=testing.SESSION_RECORDS, seed=testing.SESSION_SEED) as org:
        yield org


def rest(org: Emulator, method: str, path: str, **kw: Any) -> requests.Response:
    return requests.request(method, f"{org.url}/services/data/{V}/{path}", timeout=30,
                            headers={"Authorization": f"Bearer {org.token}"},
                            verify=str(org.ca_file), **kw)


def wire_query(org: Emulator, soql: str) -> dict[str, Any]:
    r = rest(org, "GET", "query", params={"q": soql})
    r.raise_for_status()
    body: dict[str, Any] = r.json()
    return body


def test_records_and_rows_are_what_the_rest_api_answers(org: Emulator) -> None:
    soql = "SELECT Id, Name, IsDeleted, Owner.Name FROM Account ORDER BY Id LIMIT 5"
    wire = wire_query(org, soql)["records"]
    assert testing.records(org, soql) == wire
    assert testing.rows(org, "SELECT Id, Name, IsDeleted FROM Account ORDER BY Id LIMIT 5") == [
        (r["Id"], r["Name"], False) for r in wire]
    assert testing.count(org, "SELECT Id FROM Account") == wire_query(
        org, "SELECT Id FROM Account")["totalSize"] == testing.record_count(org, "Account")
    assert testing.csv_text(True) == "true" and testing.csv_text(None) == ""


def test_writes_run_as_the_user_given_through_the_apis_rules(org: Emulator) -> None:
    std = testing.user_id(org, testing.standard_login().username)
    lead = testing.create(org, "Lead", {"LastName": "Door", "Company": "Acme"}, as_user=std)
    [row] = testing.records(org, f"SELECT CreatedById, OwnerId FROM Lead WHERE Id = '{lead}'")
    assert row["CreatedById"] == row["OwnerId"] == std != testing.admin_id(org)
    testing.update(org, "Lead", lead, {"Company": "Beta"})
    assert testing.rows(org, f"SELECT Company, LastModifiedById FROM Lead WHERE Id = '{lead}'") \
        == [("Beta", testing.admin_id(org))]
    with pytest.raises(testing.SalesforceFault) as refused:
        testing.update(org, "Lead", lead, {"IsDeleted": True})
    assert refused.value.error_code == "INVALID_FIELD_FOR_INSERT_UPDATE"
    testing.delete(org, "Lead", lead)
    soql = f"SELECT Id FROM Lead WHERE Id = '{lead}'"
    assert testing.count(org, soql) == 0 and testing.count(org, soql, include_deleted=True) == 1
    with pytest.raises(KeyError):
        testing.user_id(org, "nobody@example.invalid")


def test_one_writes_block_is_one_transaction(org: Emulator) -> None:
    before = testing.record_count(org, "Lead")
    with pytest.raises(testing.SalesforceFault):
        with testing.writes(org) as batch:
            batch.create("Lead", {"LastName": "First", "Company": "Acme"})
            batch.create("Lead", {"LastName": "Second"})          # Company is required
    assert testing.record_count(org, "Lead") == before
    with testing.writes(org) as batch:
        ids = [batch.create("Lead", {"LastName": f"L{i}", "Company": "Acme"}) for i in range(3)]
    assert testing.record_count(org, "Lead") == before + 3 and len(set(ids)) == 3


def test_a_validation_rule_refuses_the_rest_write_it_matches(org: Emulator) -> None:
    lead = testing.create(org, "Lead", {"LastName": "Rule", "Company": "Acme"})
    testing.add_validation_rule(org, "Lead", lambda row: row.get("Company") == "Blocked",
                                "No blocked companies", field="Company")
    r = rest(org, "PATCH", f"sobjects/Lead/{lead}", json={"Company": "Blocked"})
    assert r.status_code == 400
    assert r.json() == [{"message": "No blocked companies", "fields": ["Company"],
                         "errorCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION"}]
    assert rest(org, "PATCH", f"sobjects/Lead/{lead}", json={"Company": "Fine"}).status_code \
        == 204


def test_set_field_stores_what_the_api_refuses_and_purge_leaves_no_trace(org: Emulator) -> None:
    [(rid,)] = testing.rows(org, "SELECT Id FROM ContentVersion WHERE IsLatest = true "
                                 "ORDER BY Id LIMIT 1")
    r = rest(org, "PATCH", f"sobjects/ContentVersion/{rid}", json={"Checksum": "0" * 32})
    assert r.status_code == 400 and r.json()[0]["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"
    testing.set_field(org, "ContentVersion", rid, "Checksum", "0" * 32)
    assert wire_query(org, f"SELECT Checksum FROM ContentVersion WHERE Id = '{rid}'")[
        "records"][0]["Checksum"] == "0" * 32
    with pytest.raises(ValueError, match="not a stored field"):
        testing.set_field(org, "ContentVersion", rid, "NoSuchField__c", 1)
    with pytest.raises(testing.SalesforceFault):
        testing.set_field(org, "ContentVersion", "068000000000000AAA", "Checksum", "1" * 32)

    logins = [r[0] for r in testing.rows(org, "SELECT Id FROM LoginHistory LIMIT 3")]
    total = testing.count(org, "SELECT Id FROM LoginHistory", include_deleted=True)
    assert testing.purge(org, "LoginHistory", logins) == 3
    assert testing.count(org, "SELECT Id FROM LoginHistory", include_deleted=True) == total - 3


def test_blob_bytes_are_the_body_the_blob_route_serves(org: Emulator) -> None:
    [(rid, size, checksum)] = testing.rows(
        org, "SELECT Id, ContentSize, Checksum FROM ContentVersion WHERE IsLatest = true "
             "ORDER BY Id DESC LIMIT 1")   # not the one whose Checksum the test above set
    served = rest(org, "GET", f"sobjects/ContentVersion/{rid}/VersionData").content
    assert testing.blob_bytes(org, "ContentVersion", rid) == served
    assert testing.blob_size(org, "ContentVersion", rid) == len(served) == size
    assert hashlib.md5(served).hexdigest() == checksum
    body = b"minutes\n"
    att = testing.create(org, "Attachment", {"ParentId": testing.rows(
        org, "SELECT Id FROM Account LIMIT 1")[0][0], "Name": "m.txt",
        "Body": base64.b64encode(body).decode()})
    assert b"".join(testing.blob_chunks(org, "Attachment", att)) == body


def test_soql_log_sees_the_wire_queries_inside_the_block_only(org: Emulator) -> None:
    with testing.soql_log(org) as texts:
        wire_query(org, "SELECT Id FROM Contact LIMIT 1")
    wire_query(org, "SELECT Id FROM Case LIMIT 1")
    assert texts == ["SELECT Id FROM Contact LIMIT 1"]


def test_limits_spent_here_show_in_the_limits_resource(org: Emulator) -> None:
    name = "DailyBulkV2QueryJobs"
    maximum = testing.limit_max(name)
    before = rest(org, "GET", "limits").json()[name]
    assert before["Max"] == maximum
    assert testing.spend_limit(org, name, 5)
    assert rest(org, "GET", "limits").json()[name]["Remaining"] == before["Remaining"] - 5
    assert not testing.spend_limit(org, name, maximum)


def test_a_seeded_data_export_is_the_services_current_one(org: Emulator) -> None:
    run = testing.seed_export(org, org.clock.now() - dt.timedelta(hours=1),
                              include_attachments=True)
    service = testing.dataexport(org)
    assert service.current is run and run.options.include_attachments
    assert service.state(org.clock.now()) == "ready" and run.files
