"""Upsert by external id (REST API Developer Guide, "Insert or Update (Upsert) a Record Using an
External ID" and "Upsert Multiple Records with Fewer Round-Trips"), through simple-salesforce
and over plain HTTPS. Contact.Email is an idLookup field (recorded describes), so a standard
object's upsert key."""

from __future__ import annotations

from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMoreThanOneRecord, SalesforceResourceNotFound

from org_client import OrgClient
from sfexit_emulator import Emulator


@pytest.fixture
def sf(fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(fresh_emulator.ca_file))
    return Salesforce(instance_url=fresh_emulator.url, session_id=fresh_emulator.token,
                      version="64.0")


def _contacts(org: Emulator, email: str) -> list[tuple[Any, ...]]:
    cursor = org.store.query(f"SELECT Id, LastName FROM Contact WHERE Email = '{email}'",
                             now=org.clock.now())
    return [tuple(r) for r in cursor.rows()]


def test_upsert_creates_then_updates_then_refuses_a_duplicate_key(fresh_emulator: Emulator,
                                                                  sf: Any) -> None:
    org = fresh_emulator
    created = sf.Contact.upsert("Email/upsert.one@example.com", {"LastName": "One"},
                                raw_response=True)
    assert created.status_code == 201
    body = created.json()
    assert body == {"id": body["id"], "success": True, "errors": [], "created": True}
    assert _contacts(org, "upsert.one@example.com") == [(body["id"], "One")]
    # matched once, case-insensitively: updated, 200 with created false (API 46.0+)
    updated = sf.Contact.upsert("Email/UPSERT.ONE@example.com", {"LastName": "Uno"},
                                raw_response=True)
    assert updated.status_code == 200
    assert updated.json() == {"id": body["id"], "success": True, "errors": [], "created": False}
    assert _contacts(org, "upsert.one@example.com") == [(body["id"], "Uno")]
    assert sf.Contact.get_by_custom_id("Email", "upsert.one@example.com")["Id"] == body["id"]
    sf.Contact.create({"LastName": "Two", "Email": "upsert.one@example.com"})
    with pytest.raises(SalesforceMoreThanOneRecord) as many:
        sf.Contact.upsert("Email/upsert.one@example.com", {"LastName": "Three"})
    urls = many.value.content
    assert isinstance(urls, list) and len(urls) == 2
    assert all(u.startswith("/services/data/v64.0/sobjects/Contact/003") for u in urls)
    assert sorted(r[1] for r in _contacts(org, "upsert.one@example.com")) == ["Two", "Uno"]


def test_an_old_version_answers_an_update_with_204(fresh_emulator: Emulator) -> None:
    client = OrgClient(fresh_emulator, "45.0")
    first = client.patch("/sobjects/Contact/Email/old.api@example.com", {"LastName": "Old"})
    assert first.status_code == 201 and "created" not in first.json()
    again = client.patch("/sobjects/Contact/Email/old.api@example.com", {"LastName": "Older"})
    assert again.status_code == 204 and again.content == b""


def test_a_field_that_is_no_key_and_an_unknown_object_answer_404(fresh_emulator: Emulator,
                                                                 sf: Any) -> None:
    client = OrgClient(fresh_emulator, "64.0")
    for path in ("/sobjects/Contact/LastName/Smith", "/sobjects/Nope__c/Email/a@b.c",
                 "/sobjects/Nope__c/003000000000001AAA/Body"):
        r = client.patch(path, {"LastName": "X"})
        assert r.status_code == 404, (path, r.text)
        assert r.json()[0]["errorCode"] == "NOT_FOUND"
    with pytest.raises(SalesforceResourceNotFound):
        sf.Contact.upsert("Title/CEO", {"LastName": "X"})
    assert client.patch("/sobjects/Contact/Email/nobody@example.com?updateOnly=true",
                        {"LastName": "X"}).status_code == 404
    assert _contacts(fresh_emulator, "nobody@example.com") == []


def test_collections_upsert_reports_created_per_record(fresh_emulator: Emulator, sf: Any) -> None:
    org = fresh_emulator
    existing = sf.Contact.create({"LastName": "Before", "Email": "coll.a@example.com"})["id"]
    records = [{"attributes": {"type": "Contact"}, "Email": "coll.a@example.com", "LastName": "A"},
               {"attributes": {"type": "Contact"}, "Email": "coll.b@example.com", "LastName": "B"},
               {"attributes": {"type": "Contact"}, "LastName": "no key"}]
    results = sf.restful("composite/sobjects/Contact/Email", method="PATCH",
                         json={"allOrNone": False, "records": records})
    assert results[0] == {"id": existing, "success": True, "errors": [], "created": False}
    assert results[1]["success"] is True and results[1]["created"] is True
    assert results[2]["success"] is False
    assert _contacts(org, "coll.a@example.com") == [(existing, "A")]
    assert len(_contacts(org, "coll.b@example.com")) == 1
    client = OrgClient(org, "64.0")
    assert client.patch("/composite/sobjects/Contact/LastName", {"records": []}).status_code == 404


def test_a_method_on_an_unknown_object_is_404_not_405(emulator: Emulator) -> None:
    client = OrgClient(emulator, "64.0")
    assert client.delete("/sobjects/Nope__c").status_code == 404
    assert client.patch("/sobjects/Nope__c", {}).status_code == 404
    assert client.delete("/sobjects/Account").status_code == 405   # a known object keeps 405
