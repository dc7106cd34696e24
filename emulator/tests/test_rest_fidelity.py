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
    assert "chatter" not in resources and "quickActions" not in resources
    assert "process" not in resources
    for name, url in resources.items():
        answer = client.get(url)
        assert answer.status_code != 404, (name, url)


@pytest.mark.parametrize("clause", ["FOR VIEW", "FOR REFERENCE", "FOR UPDATE"])
def test_for_clauses_are_accepted(sf: Any, clause: str) -> None:
    assert sf.query(f"SELECT Id FROM Account LIMIT 3 {clause}")["totalSize"] == 3


def test_the_name_object_has_username_and_its_other_fields(sf: Any) -> None:
    soql = ("SELECT Owner.Username, Owner.NameOrAlias, Owner.MiddleName, Owner.RecordTypeId, "
            "Owner.LastViewedDate, Owner.LastReferencedDate FROM {} LIMIT 5")
    for sobject in ("Task", "Case"):
        records = sf.query(soql.format(sobject))["records"]
        assert records and all(r["Owner"]["Username"] or r["Owner"]["NameOrAlias"] for r in records)
        users = [r["Owner"] for r in records if r["Owner"]["attributes"]["url"].split("/")[-1][:3] == "005"]
        assert all("@" in u["Username"] and u["NameOrAlias"] for u in users)


def test_activity_histories_are_served_as_a_subquery_only(sf: Any) -> None:
    records = sf.query_all("SELECT Id, (SELECT Id, Subject, IsTask FROM ActivityHistories) "
                           "FROM Account")["records"]
    histories = [h for r in records if r["ActivityHistories"] for h in r["ActivityHistories"]["records"]]
    assert histories and {h["attributes"]["type"] for h in histories} == {"ActivityHistory"}
    assert {h["Id"][:3] for h in histories} <= {"00T", "00U"}
    with pytest.raises(SalesforceMalformedRequest):
        sf.query("SELECT Id FROM ActivityHistory")


def test_explain_answers_the_query_plan_shape(emulator: Emulator) -> None:
    client = OrgClient(emulator, "64.0")
    answer = client.get("/query", params={"explain": "SELECT Id FROM Account WHERE Name != null"})
    assert answer.status_code == 200, answer.text
    [plan] = answer.json()["plans"]
    assert set(plan) == {"cardinality", "fields", "leadingOperationType", "notes", "relativeCost",
                         "sobjectCardinality", "sobjectType"}
    assert plan["sobjectType"] == "Account" and plan["leadingOperationType"] == "TableScan"
    assert 0 < plan["cardinality"] <= plan["sobjectCardinality"]
    bad = client.get("/query", params={"explain": "SELECT Nope FROM Account"})
    assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "INVALID_FIELD"
