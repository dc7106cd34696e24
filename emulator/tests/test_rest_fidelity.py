"""Shapes held against recorded Salesforce traffic (issue 21), through simple-salesforce over HTTPS:
the create's Location header, the cross-reference error, describe flags and urls, the
resources map."""

from __future__ import annotations

from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from org_client import OrgClient
from sfexit_emulator import Emulator


@pytest.fixture
def sf(emulator: Emulator, emulator_ca_env: str) -> Any:
    return Salesforce(instance_url=emulator.url, session_id=emulator.token, version="64.0")


def test_create_answers_201_with_the_record_location(fresh_emulator: Emulator) -> None:
    client = OrgClient(fresh_emulator, "64.0")
    created = client.post("/sobjects/Account", {"Name": "Located"})
    assert created.status_code == 201
    assert created.headers["Location"] == f"/services/data/v64.0/sobjects/Account/{created.json()['id']}"


def test_a_lookup_to_a_missing_record_is_insufficient_access(fresh_emulator: Emulator,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(fresh_emulator.ca_file))
    sf: Any = Salesforce(instance_url=fresh_emulator.url, session_id=fresh_emulator.token)
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.Contact.create({"LastName": "Orphan", "AccountId": "001000000000000AAA"})
    assert refused.value.content == [{
        "message": "insufficient access rights on cross-reference id",
        "errorCode": "INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY", "fields": []}]


def _fields(describe: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {f["name"]: f for f in describe["fields"]}


def test_describe_flags_follow_the_recorded_describes(sf: Any, emulator: Emulator) -> None:
    contact, lead = _fields(sf.Contact.describe()), _fields(sf.Lead.describe())
    opportunity, account = sf.Opportunity.describe(), sf.Account.describe()
    assert contact["Email"]["idLookup"] and lead["Email"]["idLookup"]
    assert _fields(opportunity)["Name"]["idLookup"] and not _fields(account)["Name"]["idLookup"]
    assert _fields(account)["BillingAddress"]["filterable"] is True
    assert contact["MailingAddress"]["filterable"] is True
    assert _fields(opportunity)["HasOpenActivity"]["filterable"] is False
    assert _fields(opportunity)["HasOverdueTask"]["filterable"] is False
    assert _fields(account)["JigsawCompanyId"]["relationshipName"] == "JigsawCompany"
    assert contact["JigsawContactId"]["relationshipName"] == "JigsawContact"
    urls = account["urls"]
    assert urls["uiDetailTemplate"] == f"{emulator.url}/{{ID}}"
    assert urls["uiEditTemplate"] == f"{emulator.url}/{{ID}}/e"
    assert urls["uiNewRecord"] == f"{emulator.url}/001/e"
    assert account["sobjectDescribeOption"] == "FULL"


def test_describe_global_urls_as_recorded(sf: Any) -> None:
    entries = {e["name"]: e["urls"] for e in sf.describe()["sobjects"]}
    assert "listviews" in entries["Account"] and "listviews" not in entries["CampaignMember"]
    assert set(entries["User"]) == {"compactLayouts", "rowTemplate", "namedLayouts",
                                    "passwordUtilities", "describe", "quickActions", "layouts",
                                    "sobject"}
    assert set(entries["Organization"]) == {"rowTemplate", "describe", "sobject"}


def test_the_resources_map_lists_only_what_answers(emulator: Emulator) -> None:
    client = OrgClient(emulator, "64.0")
    resources = client.get("").json()
    assert "search" not in resources and "recent" not in resources and "tabs" not in resources
    for name, url in resources.items():
        answer = client.get(url)
        assert answer.status_code != 404, (name, url)
