"""Salesforce's rules on writes: owners, deactivation blockers, last admin, freezing, audit rows."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import pytest

from sfexit_emulator.seed import DOMAIN
from sfexit_emulator.store import DEMO_CREDENTIALS, OrgStore, SalesforceFault

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=timezone.utc)


@pytest.fixture
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OrgStore]:
    store = OrgStore.create(tmp_path_factory.mktemp("rules") / "org.sqlite3", seed=1, records=2000, now=NOW)
    yield store
    store.close()


def ids(org: OrgStore, soql: str) -> list[str]:
    return [r["Id"] for r in org.query(soql, now=NOW).records(0, 2000)]


def user_id(org: OrgStore, local: str) -> str:
    user = org.user_by_username(f"{local}@{DOMAIN}")
    assert user is not None
    return str(user["Id"])


def fault(action) -> SalesforceFault:  # type: ignore[no-untyped-def]
    with pytest.raises(SalesforceFault) as info:
        action()
    return info.value


def deactivate(org: OrgStore, target: str, as_user: str | None = None) -> None:
    org.update("User", target, {"IsActive": False}, as_user=as_user or org.admin_user_id, now=NOW)


def test_chatter_free_user_cannot_own_records(org: OrgStore) -> None:
    account = ids(org, "SELECT Id FROM Account LIMIT 1")[0]
    chatter = ids(org, "SELECT Id FROM User WHERE UserType = 'CsnOnly' LIMIT 1")[0]
    err = fault(lambda: org.update("Account", account, {"OwnerId": chatter}, as_user=org.admin_user_id, now=NOW))
    assert (err.error_code, err.message) == ("OP_WITH_INVALID_USER_TYPE_EXCEPTION", "Operation not valid for this user type")


def test_inactive_owner_is_refused_with_entity_name(org: OrgStore) -> None:
    inactive = ids(org, "SELECT Id FROM User WHERE IsActive = false LIMIT 1")[0]
    case = ids(org, "SELECT Id FROM Case LIMIT 1")[0]
    err = fault(lambda: org.update("Case", case, {"OwnerId": inactive}, as_user=org.admin_user_id, now=NOW))
    assert err.error_code == "INACTIVE_OWNER_OR_USER"
    assert err.message == f"operation performed with inactive user [{inactive[:15]}] as owner of case"


def test_queue_owner_only_where_the_queue_supports_the_object(org: OrgStore) -> None:
    queues = {r["Name"]: r["Id"] for r in org.query("SELECT Id, Name FROM Group WHERE Type = 'Queue'",
                                                   now=NOW).records(0, 10)}
    case, account = ids(org, "SELECT Id FROM Case LIMIT 1")[0], ids(org, "SELECT Id FROM Account LIMIT 1")[0]
    org.update("Case", case, {"OwnerId": queues["Support Queue"]}, as_user=org.admin_user_id, now=NOW)
    assert org.get("Case", case, ["OwnerId"])["OwnerId"] == queues["Support Queue"]
    err = fault(lambda: org.update("Case", case, {"OwnerId": queues["Project Intake"]},
                                   as_user=org.admin_user_id, now=NOW))
    assert err.error_code == "INVALID_CROSS_REFERENCE_KEY"
    err = fault(lambda: org.update("Account", account, {"OwnerId": queues["Support Queue"]},
                                   as_user=org.admin_user_id, now=NOW))
    assert err.error_code == "MALFORMED_ID"  # Account owners are users only


def test_owner_change_does_not_cascade(org: OrgStore) -> None:
    account = org.query("SELECT AccountId FROM Contact WHERE AccountId != null LIMIT 1", now=NOW).records(0, 1)[0]["AccountId"]
    before = {r["Id"]: r["OwnerId"] for r in org.query(f"SELECT Id, OwnerId FROM Contact WHERE AccountId = '{account}'",
                                                        now=NOW).records(0, 100)}
    target = user_id(org, "standard.user")
    org.update("Account", account, {"OwnerId": target}, as_user=org.admin_user_id, now=NOW)
    after = {r["Id"]: r["OwnerId"] for r in org.query(f"SELECT Id, OwnerId FROM Contact WHERE AccountId = '{account}'",
                                                       now=NOW).records(0, 100)}
    assert after == before


def test_cannot_deactivate_or_freeze_yourself(org: OrgStore) -> None:
    err = fault(lambda: deactivate(org, org.admin_user_id))
    assert err.error_code == "FIELD_INTEGRITY_EXCEPTION" and "your own" in err.message
    login = ids(org, f"SELECT Id FROM UserLogin WHERE UserId = '{org.admin_user_id}'")[0]
    err = fault(lambda: org.update("UserLogin", login, {"IsFrozen": True}, as_user=org.admin_user_id, now=NOW))
    assert err.error_code == "FIELD_INTEGRITY_EXCEPTION" and "your own" in err.message


def test_last_active_admin_cannot_be_deactivated(org: OrgStore) -> None:
    admin2, admin3 = user_id(org, "sofia.lindqvist"), user_id(org, "kenji.watanabe")
    org.set_setting("workflow.default_user", None)  # admin2 holds that blocker in the seed
    deactivate(org, admin2)
    deactivate(org, admin3)
    standard = user_id(org, "standard.user")
    err = fault(lambda: deactivate(org, org.admin_user_id, as_user=standard))
    assert err.error_code == "CANNOT_DISABLE_LAST_ADMIN"


@pytest.mark.parametrize("setting, message", [
    ("lead.default_owner", "You cannot deactivate a user who is the default owner of leads"),
    ("case.default_owner", "You cannot deactivate a user who is the default owner of cases"),
    ("web_to_lead.default_creator", "You cannot disable the Web to Lead Default Creator"),
    ("workflow.default_user", "You cannot deactivate the Default Workflow User"),
])
def test_org_settings_block_deactivation(org: OrgStore, setting: str, message: str) -> None:
    holder = org.setting(setting)
    assert holder is not None
    err = fault(lambda: deactivate(org, holder))
    assert (err.error_code, err.message) == ("FIELD_INTEGRITY_EXCEPTION", message)
    assert org.user_by_id(holder)["IsActive"] is True  # type: ignore[index]


def test_hierarchy_field_and_manager_block_deactivation(org: OrgStore) -> None:
    err = fault(lambda: deactivate(org, user_id(org, "escalation.manager")))
    assert err.message == "Cannot inactivate user that is the value of a hierarchy field: Escalation Manager"
    err = fault(lambda: deactivate(org, user_id(org, "team.lead")))
    assert err.message == "Cannot inactivate user that is the value of a hierarchy field: Manager"


def test_manager_must_be_active(org: OrgStore) -> None:
    inactive = ids(org, "SELECT Id FROM User WHERE IsActive = false LIMIT 1")[0]
    err = fault(lambda: org.update("User", user_id(org, "standard.user"), {"ManagerId": inactive},
                                   as_user=org.admin_user_id, now=NOW))
    assert err.error_code == "FIELD_INTEGRITY_EXCEPTION" and err.fields == ["ManagerId"]


def test_deactivation_frees_licence_leaves_groups_and_audits(org: OrgStore) -> None:
    departing = user_id(org, "departing.user")
    used = org.query("SELECT UsedLicenses FROM UserLicense WHERE Name = 'Salesforce'", now=NOW).records(0, 1)[0]
    assert ids(org, f"SELECT Id FROM GroupMember WHERE UserOrGroupId = '{departing}'")
    deactivate(org, departing)
    after = org.query("SELECT UsedLicenses FROM UserLicense WHERE Name = 'Salesforce'", now=NOW).records(0, 1)[0]
    assert after["UsedLicenses"] == used["UsedLicenses"] - 1
    assert not ids(org, f"SELECT Id FROM GroupMember WHERE UserOrGroupId = '{departing}'")
    owned = org.query(f"SELECT COUNT() FROM Account WHERE OwnerId = '{departing}'", now=NOW).total_size
    assert owned > 0  # deactivated users keep their records
    org.update("User", departing, {"IsActive": True}, as_user=org.admin_user_id, now=NOW)
    trail = org.query("SELECT Action, Section, Display, CreatedById FROM SetupAuditTrail "
                      "WHERE CreatedDate = TODAY ORDER BY CreatedDate DESC", now=NOW).records(0, 10)
    assert [t["Action"] for t in trail] == ["deactivateduser", "activateduser"]
    assert trail[0] == {**trail[0], "Section": "Manage Users", "CreatedById": org.admin_user_id,
                        "Display": f"Deactivated user {DEMO_CREDENTIALS.departing_username}"}


def test_freeze_and_unfreeze_audit_and_block_login(org: OrgStore) -> None:
    standard = user_id(org, "standard.user")
    login = ids(org, f"SELECT Id FROM UserLogin WHERE UserId = '{standard}'")[0]
    org.update("UserLogin", login, {"IsFrozen": True}, as_user=org.admin_user_id, now=NOW)
    assert org.is_frozen(standard)
    org.update("UserLogin", login, {"IsFrozen": True}, as_user=org.admin_user_id, now=NOW)  # no change, no row
    org.update("UserLogin", login, {"IsFrozen": False}, as_user=org.admin_user_id, now=NOW)
    assert not org.is_frozen(standard)
    actions = [r["Action"] for r in org.query("SELECT Action FROM SetupAuditTrail WHERE CreatedDate = TODAY",
                                              now=NOW).records(0, 10)]
    assert actions == ["frozeuser", "unfrozeuser"]
    err = fault(lambda: org.update("UserLogin", login, {"UserId": org.admin_user_id}, as_user=org.admin_user_id, now=NOW))
    assert err.error_code == "INVALID_FIELD_FOR_INSERT_UPDATE"


def test_user_is_not_deletable_and_user_login_not_creatable(org: OrgStore) -> None:
    err = fault(lambda: org.delete("User", user_id(org, "standard.user"), as_user=org.admin_user_id, now=NOW))
    assert err.status == 400
    err = fault(lambda: org.create("UserLogin", {"IsFrozen": True}, as_user=org.admin_user_id, now=NOW))
    assert err.status == 400


def test_new_user_gets_a_user_login_and_a_unique_username(org: OrgStore) -> None:
    profile = org.query("SELECT Id FROM Profile WHERE Name = 'Standard User'", now=NOW).records(0, 1)[0]["Id"]
    values = {"Username": "new.hire@sfexit-demo.example", "LastName": "Hire", "Email": "new.hire@example.com",
              "Alias": "nhire", "TimeZoneSidKey": "Europe/Berlin", "LocaleSidKey": "de_DE",
              "EmailEncodingKey": "UTF-8", "ProfileId": profile, "LanguageLocaleKey": "en_US",
              "CommunityNickname": "new.hire"}
    new_id = org.create("User", values, as_user=org.admin_user_id, now=NOW)
    assert org.user_by_id(new_id)["IsActive"] is True  # type: ignore[index]
    assert ids(org, f"SELECT Id FROM UserLogin WHERE UserId = '{new_id}'")
    err = fault(lambda: org.create("User", {**values, "Username": "NEW.HIRE@sfexit-demo.example"},
                                   as_user=org.admin_user_id, now=NOW))
    assert err.error_code == "DUPLICATE_USERNAME"
