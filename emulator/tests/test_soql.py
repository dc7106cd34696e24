"""SOQL: parsing, translation to SQL against a seeded org, and Salesforce's query errors."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from sfexit_emulator import soql
from sfexit_emulator.store import OrgStore, SalesforceFault

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrgStore]:
    store = OrgStore.create(tmp_path_factory.mktemp("soql") / "org.sqlite3", seed=1, records=2000, now=NOW)
    yield store
    store.close()


def rows(org: OrgStore, q: str, **kw: object) -> list[dict]:
    cursor = org.query(q, now=NOW, **kw)  # type: ignore[arg-type]
    return cursor.records(0, 5000)


def count(org: OrgStore, q: str) -> int:
    return org.query(q, now=NOW).total_size


def fault_of(org: OrgStore, q: str) -> SalesforceFault:
    with pytest.raises(SalesforceFault) as info:
        org.query(q, now=NOW)
    return info.value


# --- parser ------------------------------------------------------------------------------------

def test_parse_full_query_shape() -> None:
    q = soql.parse("select Id, Owner.Profile.Name, COUNT(Id) cnt FROM Account WHERE (Name LIKE 'A%' "
                   "OR Name = null) AND NOT Industry IN ('Banking', 'Energy') GROUP BY Id, Owner.Profile.Name "
                   "ORDER BY Name DESC NULLS LAST LIMIT 10 OFFSET 5")
    assert q.sobject == "Account"
    assert [s.alias for s in q.select] == [None, None, "cnt"]
    assert q.limit == 10 and q.offset == 5
    assert q.order_by[0].descending and q.order_by[0].nulls_last
    assert isinstance(q.where, soql.BoolOp) and q.where.op == "and"


def test_string_escapes_are_decoded() -> None:
    q = soql.parse(r"SELECT Id FROM Account WHERE Name = 'O\'Brien \\ \n\"x\"'")
    assert isinstance(q.where, soql.Comparison) and isinstance(q.where.value, soql.Literal)
    assert q.where.value.value == "O'Brien \\ \n\"x\""


@pytest.mark.parametrize("text, token", [
    ("SELECT Id, FROM Account", "FROM"),
    ("SELECT Id FROM Account WHERE", "<EOF>"),
    ("SELECT Id FROM Account WHERE Name = 'a' AND Name = 'b' OR Name = 'c'", "OR"),
    ("SELECT FIELDS(ALL) FROM Account", "("),
    ("SELECT Id, (SELECT COUNT() FROM Contacts) FROM Account", "("),
    ("SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact ORDER BY Name)", "ORDER"),
    ("SELECT Id FROM Account LIMIT x", "x"),
])
def test_malformed_queries_name_the_token(text: str, token: str) -> None:
    with pytest.raises(soql.SoqlError) as info:
        soql.parse(text)
    assert info.value.code == "MALFORMED_QUERY"
    expected = "unexpected token: <EOF>" if token == "<EOF>" else f"unexpected token: '{token}'"
    assert info.value.detail == expected


def test_caret_message_points_at_the_column() -> None:
    message = soql.caret_message("SELECT Id, Foo FROM Account", 11, "detail")
    assert message == "\nSELECT Id, Foo FROM Account\n           ^\nERROR at Row:1:Column:12\ndetail"


# --- errors through the store --------------------------------------------------------------------

def test_unknown_field_is_invalid_field_with_salesforce_text(org: OrgStore) -> None:
    err = fault_of(org, "SELECT Id, Foo__x FROM Account")
    assert (err.status, err.error_code) == (400, "INVALID_FIELD")
    assert err.message == (
        "\nSELECT Id, Foo__x FROM Account\n           ^\nERROR at Row:1:Column:12\n"
        "No such column 'Foo__x' on entity 'Account'. If you are attempting to use a custom field, be sure to "
        "append the '__c' after the custom field name. Please reference your WSDL or the describe call for "
        "the appropriate names.")


def test_scratch_org_info_is_invalid_type(org: OrgStore) -> None:
    err = fault_of(org, "SELECT Id FROM ScratchOrgInfo limit 1")
    assert err.error_code == "INVALID_TYPE"
    assert err.message == (
        "\nSELECT Id FROM ScratchOrgInfo limit 1\n               ^\nERROR at Row:1:Column:16\n"
        "sObject type 'ScratchOrgInfo' is not supported. If you are attempting to use a custom object, be "
        "sure to append the '__c' after the entity name. Please reference your WSDL or the describe call "
        "for the appropriate names.")


def test_malformed_query_from_store_has_caret(org: OrgStore) -> None:
    err = fault_of(org, "SELECT Id FROM Account WHERE Name = 'x' ORDER")
    assert err.error_code == "MALFORMED_QUERY"
    assert err.message.endswith("ERROR at Row:1:Column:46\nunexpected token: <EOF>")


def test_unknown_relationship(org: OrgStore) -> None:
    err = fault_of(org, "SELECT Ownr.Name FROM Account")
    assert err.error_code == "INVALID_FIELD"
    assert "Didn't understand relationship 'Ownr' in field path." in err.message


def test_activity_history_does_not_support_query(org: OrgStore) -> None:
    err = fault_of(org, "SELECT Id FROM ActivityHistory")
    assert (err.error_code, err.message) == ("INVALID_TYPE_FOR_OPERATION",
                                             "entity type ActivityHistory does not support query")


def test_content_document_link_needs_a_filter(org: OrgStore) -> None:
    err = fault_of(org, "SELECT Id FROM ContentDocumentLink")
    assert err.error_code == "MALFORMED_QUERY"
    assert err.message == ("Implementation restriction: ContentDocumentLink requires a filter by a single Id on "
                           "ContentDocumentId or LinkedEntityId using the equals operator or multiple Id's using "
                           "the IN operator.")
    doc = rows(org, "SELECT Id FROM ContentDocument LIMIT 1")[0]["Id"]
    linked = rows(org, f"SELECT Id, LinkedEntityId FROM ContentDocumentLink WHERE ContentDocumentId = '{doc}'")
    assert len(linked) >= 2
    assert fault_of(org, f"SELECT Id FROM ContentDocumentLink WHERE ContentDocumentId != '{doc}'")


def test_query_as_a_user(org: OrgStore) -> None:
    assert org.query("SELECT Id FROM Account", now=NOW, user_id=org.admin_user_id).total_size > 0
    with pytest.raises(SalesforceFault):
        org.query("SELECT Id FROM ContentDocumentLink", now=NOW, user_id=org.admin_user_id)


def test_like_on_id_is_refused(org: OrgStore) -> None:
    assert fault_of(org, "SELECT Id FROM Account WHERE Id LIKE '001%'").error_code == "INVALID_QUERY_FILTER_OPERATOR"


def test_boolean_filter_with_quotes_is_refused(org: OrgStore) -> None:
    err = fault_of(org, "SELECT Id FROM User WHERE IsActive = 'true'")
    assert "must be of type boolean and should not be enclosed in quotes" in err.message


def test_offset_over_2000_is_refused(org: OrgStore) -> None:
    err = fault_of(org, "SELECT Id FROM Contact LIMIT 10 OFFSET 2001")
    assert (err.error_code, err.message) == ("NUMBER_OUTSIDE_VALID_RANGE", "Maximum SOQL offset allowed is 2000")


def test_ungrouped_field_in_aggregate_is_refused(org: OrgStore) -> None:
    err = fault_of(org, "SELECT Name, COUNT(Id) FROM Account GROUP BY Industry")
    assert "Field must be grouped or aggregated: Name" in err.message


# --- semantics ---------------------------------------------------------------------------------

def test_names_are_case_insensitive_and_returned_canonical(org: OrgStore) -> None:
    rec = rows(org, "select id, NAME, owner.USERNAME from ACCOUNT limit 1")[0]
    assert list(rec) == ["attributes", "Id", "Name", "Owner"]
    assert rec["attributes"]["type"] == "Account"
    assert rec["attributes"]["url"] == f"/services/data/v64.0/sobjects/Account/{rec['Id']}"
    assert set(rec["Owner"]) == {"attributes", "Username"}


def test_every_comparison_operator(org: OrgStore) -> None:
    total = count(org, "SELECT Id FROM Opportunity")
    lo = count(org, "SELECT Id FROM Opportunity WHERE Amount < 100000")
    hi = count(org, "SELECT Id FROM Opportunity WHERE Amount >= 100000")
    assert lo + hi + count(org, "SELECT Id FROM Opportunity WHERE Amount = null") == total
    assert count(org, "SELECT Id FROM Opportunity WHERE Amount <= 100000") >= lo
    assert count(org, "SELECT Id FROM Opportunity WHERE Amount > 100000") <= hi
    eq = count(org, "SELECT Id FROM Opportunity WHERE StageName = 'Prospecting'")
    assert count(org, "SELECT Id FROM Opportunity WHERE StageName != 'Prospecting'") == total - eq
    assert count(org, "SELECT Id FROM Opportunity WHERE StageName <> 'Prospecting'") == total - eq
    assert count(org, "SELECT Id FROM Opportunity WHERE StageName = 'PROSPECTING'") == eq  # case-insensitive


def test_in_not_in_and_not(org: OrgStore) -> None:
    total = count(org, "SELECT Id FROM Case")
    inside = count(org, "SELECT Id FROM Case WHERE Status IN ('New', 'Closed')")
    assert count(org, "SELECT Id FROM Case WHERE Status NOT IN ('New', 'Closed')") == total - inside
    assert count(org, "SELECT Id FROM Case WHERE NOT (Status = 'New' OR Status = 'Closed')") == total - inside


def test_not_equal_matches_nulls_like_soql(org: OrgStore) -> None:
    total = count(org, "SELECT Id FROM Contact")
    nulls = count(org, "SELECT Id FROM Contact WHERE AccountId = null")
    assert nulls > 0
    some = rows(org, "SELECT AccountId FROM Contact WHERE AccountId != null LIMIT 1")[0]["AccountId"]
    same = count(org, f"SELECT Id FROM Contact WHERE AccountId = '{some}'")
    assert count(org, f"SELECT Id FROM Contact WHERE AccountId != '{some}'") == total - same


def test_like_wildcards(org: OrgStore) -> None:
    names = [r["Name"] for r in rows(org, "SELECT Name FROM Account WHERE Name LIKE 'acme%'")]
    assert names and all(n.lower().startswith("acme") for n in names)
    assert count(org, "SELECT Id FROM Account WHERE Name LIKE '_cme Corp%'") == len(names)


def test_semi_join_and_anti_join(org: OrgStore) -> None:
    total = count(org, "SELECT Id FROM Account")
    with_contacts = count(org, "SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact)")
    without = count(org, "SELECT Id FROM Account WHERE Id NOT IN (SELECT AccountId FROM Contact)")
    assert 0 < with_contacts < total and with_contacts + without == total
    hot = count(org, "SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact WHERE Title = 'CEO') "
                     "AND Name LIKE '%a%'")
    assert 0 < hot <= with_contacts
    both = count(org, "SELECT Id FROM Account WHERE Id IN (SELECT AccountId FROM Contact) "
                      "AND Id IN (SELECT AccountId FROM Opportunity)")
    assert 0 < both <= with_contacts
    doc = rows(org, "SELECT Id FROM ContentDocumentLink WHERE LinkedEntityId IN "
                    "(SELECT Id FROM Account WHERE Owner.IsActive = true)")
    assert doc
    err = fault_of(org, "SELECT Id FROM Account WHERE Name IN (SELECT Name FROM Contact)")
    assert err.error_code == "MALFORMED_QUERY"


def test_fifteen_char_ids_match(org: OrgStore) -> None:
    rid = rows(org, "SELECT Id FROM Account LIMIT 1")[0]["Id"]
    assert rows(org, f"SELECT Id FROM Account WHERE Id = '{rid[:15]}'")[0]["Id"] == rid
    assert len(rows(org, f"SELECT Id FROM Account WHERE Id IN ('{rid[:15]}', '{rid}')")) == 1


def test_multi_level_relationship_path(org: OrgStore) -> None:
    rec = rows(org, "SELECT Username, Profile.Name, Profile.UserLicense.Name, UserRole.Name FROM User "
                    "WHERE Profile.Name = 'System Administrator' ORDER BY Username")[0]
    assert rec["Profile"]["Name"] == "System Administrator"
    assert rec["Profile"]["UserLicense"]["Name"] == "Salesforce"
    assert rec["Profile"]["UserLicense"]["attributes"]["type"] == "UserLicense"


def test_null_parent_is_null(org: OrgStore) -> None:
    rec = rows(org, "SELECT Id, Account.Name FROM Contact WHERE AccountId = null LIMIT 1")[0]
    assert rec["Account"] is None


def test_polymorphic_owner_resolves_user_or_queue(org: OrgStore) -> None:
    queue_owned = rows(org, "SELECT Id, Owner.Name FROM Case WHERE Owner.Name = 'Support Queue' LIMIT 1")[0]
    assert queue_owned["Owner"]["attributes"]["type"] == "Name"
    assert "/sobjects/Group/00G" in queue_owned["Owner"]["attributes"]["url"]
    user_owned = rows(org, "SELECT Id, Owner.Name, Owner.Type FROM Case WHERE Owner.Type = 'User' LIMIT 1")[0]
    assert "/sobjects/User/005" in user_owned["Owner"]["attributes"]["url"]
    assert user_owned["Owner"]["Type"] == "User"
    err = fault_of(org, "SELECT Owner.ManagerId FROM Case")
    assert "No such column 'ManagerId' on entity 'Name'" in err.message
    assert rows(org, "SELECT Owner.Username FROM Account LIMIT 1")[0]["Owner"]["Username"]  # not polymorphic
    task = rows(org, "SELECT Who.Name, What.Name, What.Type FROM Task WHERE What.Type = 'Account' LIMIT 1")[0]
    assert task["What"]["Type"] == "Account" and task["What"]["Name"]


def test_compound_address_and_location(org: OrgStore) -> None:
    rec = rows(org, "SELECT BillingAddress, BillingCity FROM Account WHERE BillingLatitude != null LIMIT 1")[0]
    assert set(rec["BillingAddress"]) == {"city", "country", "geocodeAccuracy", "latitude", "longitude",
                                          "postalCode", "state", "street"}
    assert rec["BillingAddress"]["city"] == rec["BillingCity"]
    loc = rows(org, "SELECT Site_Location__c FROM Project__c WHERE Site_Location__Latitude__s != null LIMIT 1")[0]
    assert set(loc["Site_Location__c"]) == {"latitude", "longitude"}
    assert fault_of(org, "SELECT Id FROM Account WHERE BillingAddress = null").error_code == "INVALID_FIELD"


def test_value_forms(org: OrgStore) -> None:
    rec = rows(org, "SELECT CreatedDate, CloseDate, IsWon, Amount FROM Opportunity WHERE Amount != null LIMIT 1")[0]
    assert rec["CreatedDate"].endswith(".000+0000") and len(rec["CreatedDate"]) == 28
    assert len(rec["CloseDate"]) == 10
    assert isinstance(rec["IsWon"], bool) and isinstance(rec["Amount"], float)


def test_date_and_datetime_literals(org: OrgStore) -> None:
    total = count(org, "SELECT Id FROM Account")
    before = count(org, "SELECT Id FROM Account WHERE CreatedDate < 2025-06-01T00:00:00Z")
    after = count(org, "SELECT Id FROM Account WHERE CreatedDate >= 2025-06-01T02:00:00+02:00")
    assert before + after == total
    assert count(org, "SELECT Id FROM Account WHERE CreatedDate >= 2025-06-01T00:00:00.000+0000") == after
    assert count(org, "SELECT Id FROM Opportunity WHERE CloseDate > 2026-01-01") > 0
    err = fault_of(org, "SELECT Id FROM Account WHERE CreatedDate > 2025-06-01")
    assert "must be of type dateTime" in err.message


def test_relative_date_literals(org: OrgStore) -> None:
    total = count(org, "SELECT Id FROM User")
    recent = count(org, "SELECT Id FROM User WHERE LastLoginDate = LAST_N_DAYS:30")
    old = count(org, "SELECT Id FROM User WHERE LastLoginDate < LAST_N_DAYS:180")
    never = count(org, "SELECT Id FROM User WHERE LastLoginDate = null")
    assert recent > 0 and old > 0 and never > 0 and recent + old + never <= total
    assert count(org, "SELECT Id FROM Event WHERE StartDateTime = NEXT_N_DAYS:90") > 0
    for literal in ("TODAY", "YESTERDAY", "LAST_WEEK", "THIS_MONTH", "LAST_90_DAYS", "THIS_YEAR"):
        count(org, f"SELECT Id FROM Task WHERE ActivityDate = {literal}")


def test_order_by_limit_offset(org: OrgStore) -> None:
    names = [r["Username"] for r in rows(org, "SELECT Username FROM User ORDER BY Username ASC")]
    assert names == sorted(names, key=str.lower)
    page = [r["Username"] for r in rows(org, "SELECT Username FROM User ORDER BY Username LIMIT 5 OFFSET 3")]
    assert page == names[3:8]
    desc = rows(org, "SELECT LastLoginDate FROM User ORDER BY LastLoginDate DESC NULLS LAST")
    assert desc[-1]["LastLoginDate"] is None and desc[0]["LastLoginDate"] is not None
    first = rows(org, "SELECT LastLoginDate FROM User ORDER BY LastLoginDate DESC NULLS FIRST")
    assert first[0]["LastLoginDate"] is None


def test_count_only(org: OrgStore) -> None:
    cursor = org.query("SELECT COUNT() FROM Lead WHERE IsConverted = true", now=NOW)
    assert cursor.is_count_only and cursor.total_size > 0
    assert cursor.records(0, 2000) == []


def test_group_by_with_aggregates_and_alias(org: OrgStore) -> None:
    cursor = org.query("SELECT OwnerId, COUNT(Id), COUNT(Id) n, MAX(Amount) FROM Opportunity GROUP BY OwnerId",
                       now=NOW)
    recs = cursor.records(0, 2000)
    assert cursor.is_aggregate and cursor.total_size == len(recs)
    assert recs[0]["attributes"] == {"type": "AggregateResult"}
    assert set(recs[0]) == {"attributes", "OwnerId", "expr0", "n", "expr1"}
    assert sum(r["expr0"] for r in recs) == count(org, "SELECT Id FROM Opportunity")


def test_deleted_rows_only_with_query_all(org: OrgStore) -> None:
    live = count(org, "SELECT Id FROM Contact")
    everything = org.query("SELECT Id FROM Contact", now=NOW, include_deleted=True).total_size
    deleted = org.query("SELECT Id FROM Contact WHERE IsDeleted = true", now=NOW, include_deleted=True).total_size
    assert deleted > 0 and everything == live + deleted
    assert count(org, "SELECT Id FROM Contact WHERE IsDeleted = true") == 0


def test_paging_is_sequential_and_complete(org: OrgStore) -> None:
    cursor = org.query("SELECT Id FROM Task", now=NOW)
    seen = []
    for start in range(0, cursor.total_size, 100):
        seen += [r["Id"] for r in cursor.records(start, 100)]
    assert len(seen) == len(set(seen)) == cursor.total_size
    again = cursor.records(100, 3)  # out of order: re-read from the position
    assert [r["Id"] for r in again] == seen[100:103]


def test_rows_stream_flat_csv_values(org: OrgStore) -> None:
    cursor = org.query("SELECT Id, Owner.Email, CreatedDate, IsClosed FROM Case WHERE Owner.Type = 'User' LIMIT 3", now=NOW)
    flat = list(cursor.rows())
    assert len(flat) == 3
    rid, username, created, closed = flat[0]
    assert rid.startswith("500") and "@" in username and created.endswith("Z") and isinstance(closed, bool)


def test_column_metadata_shapes(org: OrgStore) -> None:
    meta = org.query("SELECT Id, Owner.Username, Owner.Name FROM Account", now=NOW).column_metadata()
    assert meta["entityName"] == "Account" and meta["idSelected"] and meta["keyPrefix"] == "001"
    assert meta["groupBy"] is False
    assert [c["columnName"] for c in meta["columnMetadata"]] == ["Id", "Owner"]
    owner = meta["columnMetadata"][1]
    assert [j["columnName"] for j in owner["joinColumns"]] == ["Username", "Name"]
    agg = org.query("SELECT COUNT(Id) FROM Account", now=NOW).column_metadata()["columnMetadata"][0]
    assert (agg["aggregate"], agg["columnName"], agg["displayName"]) == (True, "expr0", "COUNT(Id)")


def test_parameters_are_bound_not_pasted(org: OrgStore) -> None:
    assert count(org, "SELECT Id FROM Account WHERE Name = 'x\\' OR Name != null'") == 0


def test_more_shapes_of_where_and_order(org: OrgStore) -> None:
    assert count(org, "SELECT Id FROM Opportunity WHERE Amount > -1") == \
        count(org, "SELECT Id FROM Opportunity WHERE Amount != null")
    assert count(org, "SELECT Id FROM Opportunity WHERE Amount >= 0.5 AND Amount < 1000000.0") > 0
    like = count(org, "SELECT Id FROM Account WHERE Name LIKE '%Corp%'")
    assert count(org, "SELECT Id FROM Account WHERE NOT Name LIKE '%Corp%'") == count(org, "SELECT Id FROM Account") - like
    users = rows(org, "SELECT Id, Owner.Name FROM Account ORDER BY Owner.Name DESC, Name LIMIT 20")
    names = [u["Owner"]["Name"] for u in users]
    assert names == sorted(names, key=str.lower, reverse=True)
    assert count(org, "SELECT Id FROM Account WHERE Owner.Profile.Name IN ('Standard User', 'Marketing User')") > 0
    assert org.query("SELECT Id FROM Account LIMIT 0", now=NOW).total_size == 0
    assert count(org, "SELECT Id FROM Account WHERE Account.Name != null") == count(org, "SELECT Id FROM Account")


def test_aggregate_order_and_count_distinct(org: OrgStore) -> None:
    recs = rows(org, "SELECT StageName, COUNT(Id) c, COUNT_DISTINCT(OwnerId), SUM(Amount) total FROM Opportunity "
                     "GROUP BY StageName ORDER BY COUNT(Id) DESC")
    counts = [r["c"] for r in recs]
    assert counts == sorted(counts, reverse=True)
    assert all(isinstance(r["total"], float) for r in recs if r["total"] is not None)
    single = rows(org, "SELECT COUNT(Id), MIN(CreatedDate), MAX(CloseDate) FROM Opportunity")[0]
    assert single["expr1"].endswith("+0000") and len(single["expr2"]) == 10
    err = fault_of(org, "SELECT SUM(Name) FROM Account")
    assert err.error_code == "MALFORMED_QUERY"


def test_parent_to_child_subquery(org: OrgStore) -> None:
    recs = rows(org, "SELECT Id, Name, (SELECT Id, LastName, Account.Name FROM Contacts WHERE LastName != null "
                     "ORDER BY LastName LIMIT 3), Owner.Name FROM Account ORDER BY Name")
    assert list(recs[0]) == ["attributes", "Id", "Name", "Contacts", "Owner"]
    with_children = [r for r in recs if r["Contacts"] is not None]
    assert with_children and any(r["Contacts"] is None for r in recs)
    sample = with_children[0]["Contacts"]
    assert sample["done"] is True and 1 <= sample["totalSize"] <= 3
    child = sample["records"][0]
    assert child["attributes"]["type"] == "Contact" and child["Account"]["Name"] == with_children[0]["Name"]
    names = [c["LastName"] for c in sample["records"]]
    assert names == sorted(names, key=str.lower)
    total = sum(len(r["Contacts"]["records"]) for r in rows(
        org, "SELECT Id, (SELECT Id FROM Contacts) FROM Account") if r["Contacts"])
    assert total == count(org, "SELECT Id FROM Contact WHERE AccountId != null AND Account.IsDeleted = false")
    custom = rows(org, "SELECT Id, (SELECT Name, Amount__c FROM Invoices__r) FROM Project__c LIMIT 50")
    assert any(r["Invoices__r"] for r in custom)
    err = fault_of(org, "SELECT Id, (SELECT Id FROM Nothings) FROM Account")
    assert err.error_code == "INVALID_TYPE" and "Didn't understand relationship 'Nothings'" in err.message
    refusal = org.bulk_refusal("SELECT Id, (SELECT Id FROM Contacts) FROM Account")
    assert refusal is not None and refusal.error_code == "API_ERROR"
