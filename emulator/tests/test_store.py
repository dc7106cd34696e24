"""OrgStore records and describe: shapes, field checks, soft deletes, blobs, users and logins."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest

from sfexit_emulator.ids import case_safe_suffix, make_id, normalize_id
from sfexit_emulator.store import DEMO_CREDENTIALS, OrgStore, SalesforceFault, ValidationRule

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=timezone.utc)


@pytest.fixture
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrgStore]:
    store = OrgStore.create(tmp_path_factory.mktemp("store") / "org.sqlite3", seed=1, records=2000, now=NOW)
    yield store
    store.close()


def one(org: OrgStore, soql: str) -> dict:
    return org.query(soql, now=NOW).records(0, 1)[0]


def fault(action) -> SalesforceFault:  # type: ignore[no-untyped-def]
    with pytest.raises(SalesforceFault) as info:
        action()
    return info.value


def test_case_safe_suffix_matches_salesforce() -> None:
    # A published example: 001A0000006Vm9r -> 001A0000006Vm9rIAC
    assert case_safe_suffix("001A0000006Vm9r") == "IAC"
    assert normalize_id("001A0000006Vm9r") == "001A0000006Vm9rIAC"
    assert normalize_id("001A0000006Vm9rxxx") == "001A0000006Vm9rIAC"
    assert normalize_id("not an id") is None
    assert make_id("001", 5)[:3] == "001" and len(make_id("001", 5)) == 18


def test_org_identity(org: OrgStore) -> None:
    assert org.org_id.startswith("00D") and len(org.org_id) == 18
    assert org.object_for_id(org.org_id) == "Organization"
    assert org.object_for_id(org.admin_user_id) == "User"
    assert org.sobject_name("project__C") == "Project__c"
    assert fault(lambda: org.sobject_name("ScratchOrgInfo")).error_code == "NOT_FOUND"


def test_create_get_update_delete_roundtrip(org: OrgStore) -> None:
    admin = org.admin_user_id
    rid = org.create("Account", {"Name": "Müller & Søn, \"Nord\"\r\n株式会社 🚀", "AnnualRevenue": "1200.5",
                                 "NumberOfEmployees": 12, "BillingCity": "Hamburg"}, as_user=admin, now=NOW)
    got = org.get("Account", rid)
    assert got["attributes"] == {"type": "Account", "url": f"/services/data/v64.0/sobjects/Account/{rid}"}
    assert got["Name"] == "Müller & Søn, \"Nord\"\r\n株式会社 🚀"
    assert got["AnnualRevenue"] == 1200.5 and got["NumberOfEmployees"] == 12
    assert got["OwnerId"] == admin and got["CreatedById"] == admin
    assert got["CreatedDate"] == "2026-11-22T10:00:00.000+0000"
    assert got["BillingAddress"]["city"] == "Hamburg" and got["IsDeleted"] is False
    later = NOW + timedelta(hours=1)
    org.update("Account", rid[:15], {"Name": "Renamed"}, as_user=admin, now=later)
    got = org.get("Account", rid, ["Name", "LastModifiedDate", "SystemModstamp"], version="v58.0")
    assert got == {"attributes": {"type": "Account", "url": f"/services/data/v58.0/sobjects/Account/{rid}"},
                   "Name": "Renamed", "LastModifiedDate": "2026-11-22T11:00:00.000+0000",
                   "SystemModstamp": "2026-11-22T11:00:00.000+0000"}
    org.delete("Account", rid, as_user=admin, now=later)
    err = fault(lambda: org.get("Account", rid))
    assert (err.status, err.error_code, err.message) == (404, "ENTITY_IS_DELETED", "entity is deleted")
    assert fault(lambda: org.delete("Account", rid, as_user=admin, now=later)).error_code == "ENTITY_IS_DELETED"
    assert org.query(f"SELECT Id FROM Account WHERE Id = '{rid}'", now=NOW).total_size == 0
    assert org.query(f"SELECT Id FROM Account WHERE Id = '{rid}'", now=NOW, include_deleted=True).total_size == 1


def test_unknown_record_and_object_are_not_found(org: OrgStore) -> None:
    err = fault(lambda: org.get("Account", "001000000000000AAA"))
    assert (err.status, err.error_code, err.message) == (404, "NOT_FOUND", "The requested resource does not exist")
    assert fault(lambda: org.describe("NoSuchThing__c")).status == 404


def test_field_errors_on_write(org: OrgStore) -> None:
    admin = org.admin_user_id
    err = fault(lambda: org.create("Contact", {"FirstName": "No"}, as_user=admin, now=NOW))
    assert (err.error_code, err.message, err.fields) == ("REQUIRED_FIELD_MISSING",
                                                         "Required fields are missing: [LastName]", ["LastName"])
    err = fault(lambda: org.create("Account", {"Name": "x", "Bogus__c": 1}, as_user=admin, now=NOW))
    assert err.error_code == "INVALID_FIELD"
    err = fault(lambda: org.create("Account", {"Name": "x", "IsDeleted": True}, as_user=admin, now=NOW))
    assert err.error_code == "INVALID_FIELD_FOR_INSERT_UPDATE" and err.fields == ["IsDeleted"]
    err = fault(lambda: org.create("Account", {"Name": "x" * 256}, as_user=admin, now=NOW))
    assert err.error_code == "STRING_TOO_LONG" and "(max length=255)" in err.message
    err = fault(lambda: org.create("Account", {"Name": "x", "ParentId": "garbage"}, as_user=admin, now=NOW))
    assert (err.error_code, err.message) == ("MALFORMED_ID", "Parent ID: id value of incorrect type: garbage")
    err = fault(lambda: org.create("Account", {"Name": "x", "ParentId": "001000000000000AAA"}, as_user=admin, now=NOW))
    assert (err.error_code, err.fields) == ("INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY", [])
    err = fault(lambda: org.create("Invoice__c", {"Project__c": one(org, "SELECT Id FROM Project__c")["Id"],
                                                  "Status__c": "Maybe"}, as_user=admin, now=NOW))
    assert err.error_code == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    err = fault(lambda: org.create("Account", {"Name": "x", "NumberOfEmployees": "many"}, as_user=admin, now=NOW))
    assert err.error_code == "INVALID_TYPE_ON_FIELD_IN_RECORD"


def test_csv_strings_are_accepted(org: OrgStore) -> None:
    rid = org.create("Opportunity", {"Name": "From CSV", "StageName": "Prospecting", "CloseDate": "2027-01-31",
                                     "Amount": "99.5", "IsPrivate": "false"}, as_user=org.admin_user_id, now=NOW)
    got = org.get("Opportunity", rid, ["CloseDate", "Amount", "IsPrivate"])
    assert (got["CloseDate"], got["Amount"], got["IsPrivate"]) == ("2027-01-31", 99.5, False)


def test_master_detail_delete_cascades(org: OrgStore) -> None:
    admin = org.admin_user_id
    project = org.create("Project__c", {"Name": "Cascade"}, as_user=admin, now=NOW)
    invoice = org.create("Invoice__c", {"Project__c": project, "Amount__c": 10}, as_user=admin, now=NOW)
    assert org.get("Invoice__c", invoice)["Name"].startswith("INV-")
    org.delete("Project__c", project, as_user=admin, now=NOW)
    assert fault(lambda: org.get("Invoice__c", invoice)).error_code == "ENTITY_IS_DELETED"


def test_converted_lead_cannot_be_updated(org: OrgStore) -> None:
    lead = one(org, "SELECT Id FROM Lead WHERE IsConverted = true")["Id"]
    err = fault(lambda: org.update("Lead", lead, {"Title": "x"}, as_user=org.admin_user_id, now=NOW))
    assert err.error_code == "CANNOT_UPDATE_CONVERTED_LEAD"


def test_validation_rule_hook(org: OrgStore) -> None:
    org.add_validation_rule(ValidationRule("Account", lambda row: row.get("Rating") == "Hot",
                                           "Hot accounts are locked", "Rating"))
    rid = one(org, "SELECT Id FROM Account WHERE Rating != 'Hot'")["Id"]
    err = fault(lambda: org.update("Account", rid, {"Rating": "Hot"}, as_user=org.admin_user_id, now=NOW))
    assert (err.error_code, err.message, err.fields) == ("FIELD_CUSTOM_VALIDATION_EXCEPTION",
                                                         "Hot accounts are locked", ["Rating"])


def test_transaction_rolls_back_a_failed_record_only_or_everything(org: OrgStore) -> None:
    admin = org.admin_user_id
    with org.transaction(as_user=admin, now=NOW) as batch:
        good = batch.attempt(lambda: batch.create("Account", {"Name": "kept"}))
        with pytest.raises(SalesforceFault):
            batch.attempt(lambda: batch.create("Account", {}))
    assert org.get("Account", good)["Name"] == "kept"
    with org.transaction(as_user=admin, now=NOW) as batch:
        gone = batch.create("Account", {"Name": "rolled back"})
        batch.rollback()
    assert fault(lambda: org.get("Account", gone)).error_code == "NOT_FOUND"


def test_describe_global_and_object(org: OrgStore) -> None:
    body = org.describe_global()
    assert body["encoding"] == "UTF-8" and body["maxBatchSize"] == 200
    names = {s["name"] for s in body["sobjects"]}
    assert {"Account", "Project__c", "Invoice__c", "UserLogin", "AcceptedEventRelation"} <= names
    assert "ScratchOrgInfo" not in names
    account = org.describe("account", version="v60.0")
    assert account["name"] == "Account" and account["keyPrefix"] == "001"
    assert account["urls"]["describe"] == "/services/data/v60.0/sobjects/Account/describe"
    fields = {f["name"]: f for f in account["fields"]}
    assert fields["BillingAddress"]["type"] == "address" and fields["BillingCity"]["compoundFieldName"] == "BillingAddress"
    assert fields["OwnerId"]["referenceTo"] == ["User"] and fields["OwnerId"]["relationshipName"] == "Owner"
    lead_owner = {f["name"]: f for f in org.describe("Lead")["fields"]}["OwnerId"]
    assert lead_owner["referenceTo"] == ["Group", "User"] and lead_owner["polymorphicForeignKey"]
    project = {f["name"]: f for f in org.describe("Project__c")["fields"]}
    assert project["Site_Location__c"]["type"] == "location" and project["Account__c"]["custom"]
    invoice = org.describe("Invoice__c")
    assert "OwnerId" not in {f["name"] for f in invoice["fields"]}
    assert any(c["childSObject"] == "Invoice__c" and c["cascadeDelete"]
               for c in org.describe("Project__c")["childRelationships"])


def test_blob_bytes_match_checksum_and_size(org: OrgStore) -> None:
    version = one(org, "SELECT Id, ContentSize, Checksum FROM ContentVersion ORDER BY ContentSize DESC")
    blob = org.blob("ContentVersion", version["Id"], "VersionData")
    assert blob.size == version["ContentSize"] > 5 * 2**20
    digest, total = hashlib.md5(), 0
    for chunk in blob.chunks(777_777):
        digest.update(chunk)
        total += len(chunk)
    assert (total, digest.hexdigest()) == (version["ContentSize"], version["Checksum"])
    attachment = one(org, "SELECT Id, BodyLength, Body FROM Attachment")
    assert attachment["Body"].endswith(f"/sobjects/Attachment/{attachment['Id']}/Body")
    assert org.blob("Attachment", attachment["Id"], "Body").size == attachment["BodyLength"]
    assert fault(lambda: org.blob("Account", one(org, "SELECT Id FROM Account")["Id"], "Name")).status == 404


def test_uploaded_content_version_creates_document(org: OrgStore) -> None:
    import base64
    data = b"hello, world\n" * 100
    vid = org.create("ContentVersion", {"Title": "up", "PathOnClient": "up.txt",
                                        "VersionData": base64.b64encode(data).decode()},
                     as_user=org.admin_user_id, now=NOW)
    version = org.get("ContentVersion", vid, ["ContentDocumentId", "Checksum", "ContentSize", "IsLatest"])
    assert version["Checksum"] == hashlib.md5(data).hexdigest() and version["ContentSize"] == len(data)
    assert version["IsLatest"] is True and version["ContentDocumentId"].startswith("069")
    assert b"".join(org.blob("ContentVersion", vid, "VersionData").chunks()) == data


def test_users_passwords_and_logins(org: OrgStore) -> None:
    demo = DEMO_CREDENTIALS
    admin = org.user_by_username(demo.username.upper())
    assert admin is not None and admin["Id"] == org.admin_user_id
    assert admin["ProfileName"] == "System Administrator" and admin["IsActive"] is True
    assert org.user_by_id(org.admin_user_id[:15])["Username"] == demo.username  # type: ignore[index]
    assert org.check_password(demo.username, demo.password)
    assert org.check_password(demo.username, demo.password + demo.security_token)
    assert not org.check_password(demo.username, "wrong")
    assert org.check_password(demo.standard.username, demo.standard.password)
    assert org.user_by_username("nobody@example.com") is None
    frozen = one(org, "SELECT UserId FROM UserLogin WHERE IsFrozen = true")["UserId"]
    assert org.is_frozen(frozen) and not org.is_frozen(org.admin_user_id)
    org.record_login(org.admin_user_id, now=NOW, login_type="Remote Access 2.0")
    row = one(org, f"SELECT LoginTime, LoginType, Status FROM LoginHistory WHERE UserId = '{org.admin_user_id}' "
                   "ORDER BY LoginTime DESC")
    assert (row["LoginTime"], row["LoginType"], row["Status"]) == ("2026-11-22T10:00:00.000+0000",
                                                                   "Remote Access 2.0", "Success")
    assert org.user_by_id(org.admin_user_id)["LastLoginDate"] == "2026-11-22T10:00:00.000+0000"  # type: ignore[index]


def test_bulk_refusals(org: OrgStore) -> None:
    assert org.bulk_refusal("SELECT Id, Name FROM Account") is None
    cases = {
        "SELECT Id FROM CaseStatus": ("INVALIDENTITY", "Entity 'CaseStatus' is not supported by the Bulk API."),
        "SELECT Id FROM AcceptedEventRelation": ("INVALIDENTITY",
                                                 "Entity 'AcceptedEventRelation' is not supported by the Bulk API."),
        "SELECT Id, BillingAddress FROM Account": ("API_ERROR", "Selecting compound data not supported in Bulk Query"),
        "SELECT Id FROM ActivityHistory": ("API_ERROR", "API does not support query"),
    }
    for soql, expected in cases.items():
        refusal = org.bulk_refusal(soql)
        assert refusal is not None and (refusal.error_code, refusal.message) == expected, soql
    cdl = org.bulk_refusal("SELECT Id FROM ContentDocumentLink")
    assert cdl is not None and cdl.error_code == "MALFORMED_QUERY"
    for soql in ("SELECT COUNT(Id) FROM Account", "SELECT Id FROM Account LIMIT 5 OFFSET 5",
                 "SELECT Id, VersionData FROM ContentVersion", "SELECT Id FROM NoSuch__c"):
        assert org.bulk_refusal(soql) is not None, soql


def test_threads_read_and_write_concurrently(org: OrgStore) -> None:
    import threading

    errors: list[BaseException] = []
    created: list[str] = []

    def reader() -> None:
        try:
            for _ in range(20):
                cursor = org.query("SELECT Id, Owner.Username FROM Contact", now=NOW)
                assert len(cursor.records(0, 2000)) == cursor.total_size
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion below
            errors.append(exc)

    def writer() -> None:
        try:
            for i in range(20):
                created.append(org.create("Account", {"Name": f"t{i}"}, as_user=org.admin_user_id, now=NOW))
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(4)] + [threading.Thread(target=writer) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(set(created)) == 40
    assert len(org._connections) <= 7  # connections of finished threads are closed


def test_hard_delete_leaves_nothing_for_query_all(org: OrgStore) -> None:
    rid = org.create("Account", {"Name": "gone for good"}, as_user=org.admin_user_id, now=NOW)
    org.delete("Account", rid, as_user=org.admin_user_id, now=NOW, hard=True)
    assert org.query(f"SELECT Id FROM Account WHERE Id = '{rid}'", now=NOW, include_deleted=True).total_size == 0
    assert fault(lambda: org.get("Account", rid)).error_code == "NOT_FOUND"


def test_org_computed_fields_follow_writes(org: OrgStore) -> None:
    admin = org.admin_user_id
    opp = org.create("Opportunity", {"Name": "o", "StageName": "Prospecting", "CloseDate": "2027-01-01"},
                     as_user=admin, now=NOW)
    org.update("Opportunity", opp, {"StageName": "Closed Won"}, as_user=admin, now=NOW)
    got = org.get("Opportunity", opp, ["IsClosed", "IsWon", "ForecastCategory"])
    assert (got["IsClosed"], got["IsWon"], got["ForecastCategory"]) == (True, True, "Closed")
    contact = org.create("Contact", {"FirstName": "Ada", "LastName": "Lovelace"}, as_user=admin, now=NOW)
    org.update("Contact", contact, {"FirstName": "Augusta"}, as_user=admin, now=NOW)
    assert org.get("Contact", contact, ["Name"])["Name"] == "Augusta Lovelace"
