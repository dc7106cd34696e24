"""ObjectPermissions as Salesforce serves it (object reference
``sforce_api_objects_objectpermissions.htm``): describe, the ``ParentId IN`` / ``SobjectType
IN`` filters, the View Setup rule; and the owner-change rule it feeds (help.sf
``data_about_transfer.htm``): without Modify All Data, Transfer Record and Edit on the object."""

from __future__ import annotations

from typing import Any

import pytest
import requests
from org_client import OrgClient, authorized_session, error_of

from sfexit_emulator import Emulator
from sfexit_emulator.seed import DOMAIN

V = "64.0"
FLAGS = ("PermissionsCreate", "PermissionsRead", "PermissionsEdit", "PermissionsDelete",
         "PermissionsViewAllRecords", "PermissionsModifyAllRecords")


def user_id(org: Emulator, local: str) -> str:
    user = org.store.user_by_username(f"{local}@{DOMAIN}")
    assert user is not None
    return str(user["Id"])


def as_user(org: Emulator, local: str) -> OrgClient:
    client = OrgClient(org, V)
    client.session.headers["Authorization"] = f"Bearer {org.new_token(user_id(org, local))}"
    return client


def records(client: OrgClient, soql: str) -> list[dict[str, Any]]:
    r = client.get("/query", params={"q": soql})
    assert r.status_code == 200, r.text
    return list(r.json()["records"])


def sets_of(client: OrgClient, uid: str) -> list[str]:
    return [r["PermissionSetId"] for r in records(
        client, f"SELECT PermissionSetId FROM PermissionSetAssignment WHERE AssigneeId = '{uid}'")]


def rights(client: OrgClient, sets: list[str], objects: list[str]) -> dict[str, dict[str, Any]]:
    """ObjectPermissions of ``objects`` over ``sets``, merged per object (any row grants)."""
    quoted = ",".join(f"'{s}'" for s in sets)
    names = ",".join(f"'{o}'" for o in objects)
    rows = records(client, f"SELECT Id, ParentId, SobjectType, {', '.join(FLAGS)} FROM "
                           f"ObjectPermissions WHERE ParentId IN ({quoted}) AND SobjectType IN "
                           f"({names})")
    merged: dict[str, dict[str, Any]] = {}
    for row in rows:
        assert row["attributes"]["type"] == "ObjectPermissions" and row["Id"].startswith("110")
        assert row["ParentId"] in sets and row["SobjectType"] in objects
        assert all(isinstance(row[f], bool) for f in FLAGS), row
        old = merged.setdefault(row["SobjectType"], dict.fromkeys(FLAGS, False))
        for f in FLAGS:
            old[f] = old[f] or row[f]
    return merged


def test_describe_shows_its_fields_with_salesforce_types(emulator: Emulator) -> None:
    client = OrgClient(emulator, V)
    entry = next(o for o in client.get("/sobjects").json()["sobjects"]
                 if o["name"] == "ObjectPermissions")
    assert entry["keyPrefix"] == "110" and entry["queryable"] and entry["updateable"]
    fields = {f["name"]: f for f in client.get("/sobjects/ObjectPermissions/describe")
              .json()["fields"]}
    parent = fields["ParentId"]
    assert (parent["type"], parent["referenceTo"], parent["relationshipName"]) == \
        ("reference", ["PermissionSet"], "Parent")
    assert parent["createable"] and not parent["updateable"] and parent["filterable"]
    kind = fields["SobjectType"]
    assert (kind["type"], kind["length"], kind["nillable"]) == ("picklist", 40, False)
    assert {"Account", "Opportunity", "Lead", "Case", "Project__c"} <= \
        {p["value"] for p in kind["picklistValues"]}
    assert "Task" not in {p["value"] for p in kind["picklistValues"]}   # Edit Tasks instead
    for name in FLAGS:
        assert (fields[name]["type"], fields[name]["nillable"], fields[name]["updateable"]) == \
            ("boolean", False, True), name
    children = client.get("/sobjects/PermissionSet/describe").json()["childRelationships"]
    assert {"childSObject": "ObjectPermissions", "field": "ParentId",
            "relationshipName": "ObjectPerms"}.items() <= next(
        c for c in children if c["childSObject"] == "ObjectPermissions").items()


def test_the_admin_profile_may_do_everything_on_every_object(emulator: Emulator) -> None:
    client = OrgClient(emulator, V)
    sets = sets_of(client, emulator.store.admin_user_id)
    got = rights(client, sets, ["Account", "Opportunity", "Project__c", "Task"])
    assert set(got) == {"Account", "Opportunity", "Project__c"}   # no row for Task
    assert all(all(r.values()) for r in got.values()), got


def test_a_standard_user_edits_the_sales_objects_without_modify_all(emulator: Emulator) -> None:
    client = OrgClient(emulator, V)
    sets = sets_of(client, user_id(emulator, "standard.user"))
    got = rights(client, sets, ["Opportunity", "Campaign", "Invoice__c", "Project__c"])
    assert got["Opportunity"]["PermissionsEdit"] is True
    assert got["Opportunity"]["PermissionsModifyAllRecords"] is False
    assert got["Opportunity"]["PermissionsViewAllRecords"] is False
    assert got["Campaign"]["PermissionsRead"] is True and got["Campaign"]["PermissionsEdit"] is False
    # the custom objects come from the Sales Operations permission set, not the profile
    assert got["Invoice__c"]["PermissionsEdit"] is True
    profile_only = [s for s in sets if records(client, "SELECT Id FROM PermissionSet WHERE "
                                                       f"Id = '{s}' AND IsOwnedByProfile = true")]
    assert "Invoice__c" not in rights(client, profile_only, ["Invoice__c"])


def test_only_users_with_view_setup_may_query_it(emulator: Emulator) -> None:
    standard = as_user(emulator, "standard.user")
    r = standard.get("/query", params={"q": "SELECT Id FROM ObjectPermissions"})
    assert r.status_code == 400
    code, message = error_of(r)
    assert code == "INVALID_TYPE"
    assert "sObject type 'ObjectPermissions' is not supported." in message
    # the same user reads other objects as before
    assert standard.get("/query", params={"q": "SELECT Id FROM Account LIMIT 1"}).status_code \
        == 200


def owned(org: Emulator, sobject: str, owner: str, extra: str = "") -> str:
    cursor = org.store.query(f"SELECT Id FROM {sobject} WHERE OwnerId = '{owner}' {extra} "
                             "LIMIT 1", now=org.clock.now())
    return str(cursor.records(0, 1)[0]["Id"])


def change_owner(client: OrgClient, sobject: str, record: str, owner: str
                 ) -> requests.Response:
    return client.patch(f"/sobjects/{sobject}/{record}", {"OwnerId": owner})


def test_owner_changes_without_modify_all_data_follow_salesforces_rules(
        fresh_emulator: Emulator) -> None:
    org = fresh_emulator
    standard = as_user(org, "standard.user")
    me, departing = user_id(org, "standard.user"), user_id(org, "departing.user")
    successor = user_id(org, "team.lead")
    before = org.stats()["writes"]
    # Edit on Account, but no Transfer Record: someone else's record is refused
    r = change_owner(standard, "Account", owned(org, "Account", departing), successor)
    assert r.status_code == 400
    assert error_of(r) == ("INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
                           "insufficient access rights on cross-reference id")
    # read-only Campaign: no edit access at all
    campaign = owned(org, "Campaign", departing)
    assert error_of(change_owner(standard, "Campaign", campaign, successor)) == \
        ("INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id")
    org.stats()
    assert org.stats()["writes"] == before
    # Transfer Leads (the standard profile has it) and Edit on Lead: allowed
    lead = owned(org, "Lead", departing, "AND IsConverted = false")
    assert change_owner(standard, "Lead", lead, successor).status_code == 204
    # the owner gives away their own record with Edit alone
    mine = owned(org, "Account", me)
    assert change_owner(standard, "Account", mine, successor).status_code == 204
    # the admin (Modify All Data) moves anything
    admin = OrgClient(org, V)
    admin.session = authorized_session(org)
    account = owned(org, "Account", departing)
    assert change_owner(admin, "Account", account, successor).status_code == 204


@pytest.mark.parametrize("sobject", ["Opportunity", "Task"])
def test_transfer_record_still_needs_edit_on_the_object(fresh_emulator: Emulator,
                                                        sobject: str) -> None:
    """Transfer Record granted through a permission set; Edit on Opportunity taken away from
    every set of the user (Tasks: the Edit Tasks user permission)."""
    org = fresh_emulator
    uid, departing = user_id(org, "standard.user"), user_id(org, "departing.user")
    sets = [r["PermissionSetId"] for r in org.store.query(
        f"SELECT PermissionSetId FROM PermissionSetAssignment WHERE AssigneeId = '{uid}'",
        now=org.clock.now()).records(0, 50)]
    profile = org.store.user_by_id(uid)["ProfileId"]   # type: ignore[index]
    opp_rows = org.store.query("SELECT Id FROM ObjectPermissions WHERE SobjectType = "
                               "'Opportunity'", now=org.clock.now()).records(0, 500)
    with org.store.transaction(as_user=org.store.admin_user_id, now=org.clock.now()) as batch:
        batch.update("PermissionSet", sets[-1], {"PermissionsTransferAnyEntity": True})
        batch.update("Profile", profile, {"PermissionsEditTask": False})
        for row in opp_rows:
            batch.update("ObjectPermissions", row["Id"], {"PermissionsEdit": False})
    extra = "AND IsClosed = false" if sobject in ("Opportunity", "Task") else ""
    r = change_owner(as_user(org, "standard.user"), sobject, owned(org, sobject, departing, extra),
                     user_id(org, "team.lead"))
    assert error_of(r) == ("INSUFFICIENT_ACCESS_OR_READONLY",
                           "insufficient access rights on object id")
    account = owned(org, "Account", departing)   # Edit on Account + Transfer Record: allowed
    assert change_owner(as_user(org, "standard.user"), "Account", account,
                        user_id(org, "team.lead")).status_code == 204
