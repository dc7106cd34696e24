"""The seed: deterministic, believable, scalable."""

from __future__ import annotations

import time
from datetime import datetime, timezone
from pathlib import Path

import pytest

from sfexit_emulator.seed import DEMO_CREDENTIALS, build_org
from sfexit_emulator.store import OrgStore

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=timezone.utc)


def make(tmp_path: Path, name: str, **kw: object) -> OrgStore:
    args: dict = {"seed": 1, "records": 2000, "now": NOW, "cache_dir": tmp_path / "cache"}
    args.update(kw)
    return OrgStore.create(tmp_path / f"{name}.sqlite3", **args)


def count(org: OrgStore, soql: str, **kw: bool) -> int:
    return org.query(soql, now=NOW, **kw).total_size


def test_same_seed_gives_identical_orgs_and_files(tmp_path: Path) -> None:
    build_org(tmp_path / "a.sqlite3", seed=7, records=1500, now=NOW)
    build_org(tmp_path / "b.sqlite3", seed=7, records=1500, now=NOW.replace(hour=23))
    assert (tmp_path / "a.sqlite3").read_bytes() == (tmp_path / "b.sqlite3").read_bytes()
    a, b = OrgStore(tmp_path / "a.sqlite3"), OrgStore(tmp_path / "b.sqlite3")
    assert a.dump_checksum() == b.dump_checksum()


def test_different_seed_gives_a_different_org(tmp_path: Path) -> None:
    one, two = make(tmp_path, "one", seed=1), make(tmp_path, "two", seed=2)
    assert one.dump_checksum() != two.dump_checksum()
    assert count(one, "SELECT Id FROM Account", include_deleted=True) == \
        count(two, "SELECT Id FROM Account", include_deleted=True)


def test_second_create_copies_the_cached_template(tmp_path: Path) -> None:
    first = make(tmp_path, "first")
    started = time.perf_counter()
    second = make(tmp_path, "second")
    assert time.perf_counter() - started < 1.0
    assert first.dump_checksum() == second.dump_checksum()
    assert len(list((tmp_path / "cache").glob("*.sqlite3"))) == 1


def test_users_of_every_kind(tmp_path: Path) -> None:
    org = make(tmp_path, "users")
    assert 45 <= count(org, "SELECT Id FROM User") <= 60
    assert count(org, "SELECT Id FROM User WHERE Profile.Name = 'System Administrator' AND IsActive = true") == 3
    assert count(org, "SELECT Id FROM User WHERE UserType = 'CsnOnly'") == 3
    assert count(org, "SELECT Id FROM User WHERE UserType = 'AutomatedProcess'") == 1
    assert count(org, "SELECT Id FROM User WHERE UserType = 'CloudIntegrationUser'") == 1
    assert count(org, "SELECT Id FROM User WHERE Profile.UserLicense.Name = 'Salesforce Integration'") == 1
    assert count(org, "SELECT Id FROM User WHERE IsActive = false") == 5
    assert count(org, "SELECT Id FROM UserLogin WHERE IsFrozen = true") == 3
    assert count(org, "SELECT Id FROM UserLogin") == count(org, "SELECT Id FROM User")
    assert count(org, "SELECT Id FROM User WHERE LastLoginDate < LAST_N_DAYS:180") > 0
    assert count(org, "SELECT Id FROM User WHERE LastLoginDate = null") > 0
    assert org.user_by_username(DEMO_CREDENTIALS.departing_username) is not None
    licences = org.query("SELECT Name, UsedLicenses, TotalLicenses, LicenseDefinitionKey FROM UserLicense",
                         now=NOW).records(0, 20)
    assert {"SFDC", "AUL", "PID_Chatter"} <= {l["LicenseDefinitionKey"] for l in licences}


def test_departing_user_owns_a_good_share(tmp_path: Path) -> None:
    org = make(tmp_path, "share")
    departing = org.user_by_username(DEMO_CREDENTIALS.departing_username)
    assert departing is not None
    for obj in ("Account", "Contact", "Opportunity", "Lead", "Case", "Task", "Project__c"):
        total = count(org, f"SELECT Id FROM {obj}")
        mine = count(org, f"SELECT Id FROM {obj} WHERE OwnerId = '{departing['Id']}'")
        assert 0.05 * total < mine < 0.35 * total, obj


def test_objects_that_need_care_are_seeded(tmp_path: Path) -> None:
    org = make(tmp_path, "care")
    for obj in ("AccountHistory", "AccountShare", "AccountTeamMember", "OpportunityTeamMember", "CaseStatus",
                "TaskStatus", "AcceptedEventRelation", "QueueSobject", "GroupMember", "PermissionSetAssignment",
                "Note", "Folder", "Document", "Attachment", "ContentDocument", "Campaign", "CampaignMember",
                "Invoice__c", "LoginHistory", "SetupAuditTrail", "Contract"):
        assert count(org, f"SELECT Id FROM {obj}") > 0, obj
    assert count(org, "SELECT Id FROM Organization") == 1
    assert count(org, "SELECT Id FROM Group WHERE Type = 'Queue'") == 3
    assert count(org, "SELECT Id FROM Lead WHERE IsConverted = true") > 0
    assert count(org, "SELECT Id FROM Lead WHERE Owner.Name IN ('Support Queue', 'Lead Qualification')") > 0
    assert count(org, "SELECT Id FROM Lead WHERE Owner.Type = 'Queue'") == \
        count(org, "SELECT Id FROM Lead WHERE Owner.Name IN ('Support Queue', 'Lead Qualification')")
    assert count(org, "SELECT Id FROM Lead WHERE Owner.Type = 'User'") > 0
    assert count(org, "SELECT Id FROM Event WHERE StartDateTime > 2026-11-22T10:00:00Z") > 0
    assert count(org, "SELECT Id FROM Event WHERE StartDateTime < 2026-11-22T10:00:00Z") > 0
    assert count(org, "SELECT Id FROM Task WHERE IsClosed = true") > 0
    assert count(org, "SELECT Id FROM ContentVersion WHERE IsLatest = false") > 0


def test_text_is_hard_for_csv(tmp_path: Path) -> None:
    org = make(tmp_path, "text")
    names = [r["Name"] for r in org.query("SELECT Name FROM Account", now=NOW).records(0, 2000)]
    assert any("\n" in n and '"' in n and "," in n for n in names)
    assert any("\r\n" in n for n in names)
    assert any("株式会社" in n for n in names) and any("🚀" in n for n in names)
    assert any("Ελληνικά" in n for n in names)


def test_about_three_percent_deleted(tmp_path: Path) -> None:
    org = make(tmp_path, "deleted")
    live = count(org, "SELECT Id FROM Task")
    deleted = count(org, "SELECT Id FROM Task WHERE IsDeleted = true", include_deleted=True)
    assert 0.005 < deleted / (live + deleted) < 0.08


def test_scale_20000_records(tmp_path: Path) -> None:
    started = time.perf_counter()
    org = make(tmp_path, "big", records=20000)
    assert time.perf_counter() - started < 15
    total = sum(count(org, f"SELECT Id FROM {obj}", include_deleted=True)
                for obj in ("Account", "Contact", "Opportunity", "Lead", "Case", "Task", "Event"))
    assert 14000 < total < 17000
    files = count(org, "SELECT Id FROM ContentVersion")
    assert files < 60  # blobs do not scale linearly


@pytest.mark.slow
def test_one_million_rows_under_a_minute(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if "slow" not in str(request.config.getoption("markexpr") or ""):
        pytest.skip("1M-row seed takes ~20 s: run with -m slow (emulator/bench/seed_1m.py prints the numbers)")
    started = time.perf_counter()
    build_org(tmp_path / "m.sqlite3", seed=1, records=1_000_000, now=NOW)
    assert time.perf_counter() - started < 60


def test_fields_that_are_not_nillable_are_filled(tmp_path: Path) -> None:
    org = make(tmp_path, "nillable")
    conn = org._conn()
    for obj in org.schema.stored_objects():
        for f in obj.stored_fields:
            if not f.nillable and f.type != "boolean":
                (n,) = conn.execute(f'SELECT COUNT(*) FROM "{obj.name}" WHERE "{f.name}" IS NULL').fetchone()
                assert n == 0, f"{obj.name}.{f.name}"
