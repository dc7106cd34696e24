"""Recently viewed items, describe layouts, compact and named layouts, list views, tabs and theme,
through simple-salesforce over HTTPS. Expected values come from the org's own records."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from org_client import OrgClient
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceResourceNotFound

from sfexit_emulator import Emulator

MASTER = "012000000000000AAA"


@pytest.fixture
def sf(emulator: Emulator, emulator_ca_env: str) -> Any:
    return Salesforce(instance_url=emulator.url, session_id=emulator.token, version="64.0")


@pytest.fixture
def private_sf(fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(fresh_emulator.ca_file))
    yield Salesforce(instance_url=fresh_emulator.url, session_id=fresh_emulator.token,
                     version="64.0")


def test_record_gets_make_the_recently_viewed_list(private_sf: Any) -> None:
    sf = private_sf
    # simple-salesforce answers None for an empty JSON list.
    assert not sf.restful("recent") and sf.Account.metadata()["recentItems"] == []
    accounts = sf.query("SELECT Id, Name FROM Account ORDER BY Id LIMIT 3")["records"]
    contact = sf.query("SELECT Id, Name FROM Contact LIMIT 1")["records"][0]
    for account in accounts:
        sf.Account.get(account["Id"])
    sf.Contact.get(contact["Id"])
    sf.Account.get(accounts[0]["Id"])          # viewed again: first again
    recent = sf.restful("recent")
    assert [r["Id"] for r in recent] == [accounts[0]["Id"], contact["Id"], accounts[2]["Id"],
                                         accounts[1]["Id"]]
    assert recent[0] == {"attributes": {
        "type": "Account", "url": f"/services/data/v64.0/sobjects/Account/{accounts[0]['Id']}"},
        "Id": accounts[0]["Id"], "Name": accounts[0]["Name"]}
    assert len(sf.restful("recent", params={"limit": 2})) == 2
    items = sf.Account.metadata()["recentItems"]
    assert [r["Id"] for r in items] == [accounts[0]["Id"], accounts[2]["Id"], accounts[1]["Id"]]
    sf.Account.delete(accounts[2]["Id"])
    assert accounts[2]["Id"] not in [r["Id"] for r in sf.restful("recent")]
    # SOQL FOR VIEW is the documented way to mark records viewed; a plain query is not.
    sf.query("SELECT Id FROM Lead ORDER BY Id LIMIT 2")
    assert sf.restful("recent")[0]["Id"] == accounts[0]["Id"]
    leads = sf.query("SELECT Id FROM Lead ORDER BY Id LIMIT 2 FOR VIEW")["records"]
    assert [r["Id"] for r in sf.restful("recent")][:2] == [r["Id"] for r in leads]


def test_describe_layouts_of_the_master_record_type(sf: Any) -> None:
    described = {f["name"]: f for f in sf.Account.describe()["fields"]}
    result = sf.restful("sobjects/Account/describe/layouts")
    assert set(result) == {"layouts", "recordTypeMappings", "recordTypeSelectorRequired"}
    mapping = result["recordTypeMappings"][0]
    assert mapping["recordTypeId"] == MASTER and mapping["layoutId"] == result["layouts"][0]["id"]
    assert mapping["urls"]["layout"].endswith(f"/Account/describe/layouts/{MASTER}")
    layout = sf.Account.describe_layout(MASTER)      # simple-salesforce: …/layouts/<recordTypeId>
    assert layout == result["layouts"][0]
    items = [item for section in layout["detailLayoutSections"]
             for row in section["layoutRows"] for item in row["layoutItems"]]
    for item in items:
        component = item["layoutComponents"][0]
        assert component["type"] == "Field" and component["details"] == described[component["value"]]
    assert "Name" in [i["layoutComponents"][0]["value"] for i in items]
    with pytest.raises(SalesforceResourceNotFound):
        sf.Account.describe_layout("012000000000001AAA")


def test_named_and_compact_layouts(sf: Any) -> None:
    named = sf.restful("sobjects/User/describe/namedLayouts/UserAlt")
    assert named["layouts"] and named["layouts"][0]["detailLayoutSections"]
    with pytest.raises(SalesforceResourceNotFound):
        sf.restful("sobjects/Account/describe/namedLayouts/UserAlt")
    compact = sf.restful("sobjects/Contact/describe/compactLayouts")
    assert set(compact) == {"compactLayouts", "defaultCompactLayoutId",
                            "recordTypeCompactLayoutMappings"}
    assert compact["compactLayouts"][0]["fieldItems"][0]["layoutComponents"][0]["value"] == "Name"
    primary = sf.restful("sobjects/Contact/describe/compactLayouts/primary")
    assert primary == compact["compactLayouts"][0]
    several = sf.restful("compactLayouts", params={"q": "Account,Contact"})
    assert set(several) == {"Account", "Contact"} and several["Contact"] == primary


def test_list_views_list_describe_and_results(sf: Any, emulator: Emulator) -> None:
    views = sf.restful("sobjects/Account/listviews")
    assert views["sobjectType"] == "Account" and views["size"] == len(views["listviews"]) == 3
    every = next(v for v in views["listviews"] if v["developerName"] == "AllAccounts")
    assert every["resultsUrl"] == every["url"] + "/results" and every["id"].startswith("00B")
    described = sf.restful(f"sobjects/Account/listviews/{every['id']}/describe")
    assert described["scope"] == "everything" and described["sobjectType"] == "Account"
    assert [c["fieldNameOrPath"] for c in described["columns"]][:2] == ["Name", "Site"]
    total = sf.query("SELECT COUNT() FROM Account")["totalSize"]
    results = sf.restful(f"sobjects/Account/listviews/{every['id']}/results",
                         params={"limit": 5, "offset": 0})
    assert results["size"] == 5 and results["done"] is (total <= 5)
    expected = sf.query(described["query"] + " LIMIT 5")["records"]
    firsts = [{c["fieldNameOrPath"]: c["value"] for c in r["columns"]} for r in results["records"]]
    assert [r["Id"] for r in firsts] == [r["Id"] for r in expected]
    # Dates come as Java's Date.toString(), as recorded ("Fri Aug 01 21:15:46 GMT 2014").
    assert firsts[0]["CreatedDate"].endswith(expected[0]["CreatedDate"][:4])
    assert " GMT " in firsts[0]["CreatedDate"]
    explained = OrgClient(emulator, "64.0").get("/query", params={"explain": every["id"]}).json()
    assert explained["plans"][0]["sobjectType"] == "Account"
    assert explained["plans"][0]["cardinality"] == total
    with pytest.raises(SalesforceResourceNotFound):
        sf.restful("sobjects/CampaignMember/listviews")


def test_tabs_and_theme_cover_the_objects_with_a_tab(sf: Any) -> None:
    tabs = sf.restful("tabs")
    names = [t["sobjectName"] for t in tabs]
    assert "Account" in names and "CampaignMember" not in names
    account = next(t for t in tabs if t["sobjectName"] == "Account")
    assert account["name"] == "standard-Account" and account["url"].endswith("/001/o")
    assert {"colors", "custom", "iconUrl", "icons", "label", "miniIconUrl", "name", "sobjectName",
            "url"} == set(account)
    theme = sf.restful("theme")
    assert [t["name"] for t in theme["themeItems"]] == names


def test_the_resources_map_lists_the_new_resources(sf: Any) -> None:
    resources = sf.restful("")
    for name in ("search", "parameterizedSearch", "recent", "tabs", "theme", "compactLayouts"):
        assert resources[name] == f"/services/data/v64.0/{name}"
