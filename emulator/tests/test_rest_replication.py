"""The replication API (REST API Developer Guide, "sObject Get Updated" / "sObject Get Deleted"),
through simple-salesforce's ``SFType.updated`` / ``SFType.deleted``."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from sfexit_emulator import Emulator


@pytest.fixture
def sf(fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(fresh_emulator.ca_file))
    return Salesforce(instance_url=fresh_emulator.url, session_id=fresh_emulator.token,
                      version="64.0")


def test_updated_and_deleted_list_the_changes_of_the_span(fresh_emulator: Emulator, sf: Any) -> None:
    org = fresh_emulator
    org.clock.advance(120)
    start = org.clock.now()
    org.clock.advance(60)
    made = sf.Account.create({"Name": "Replicated"})["id"]
    changed = sf.query("SELECT Id FROM Account WHERE Name != 'Replicated' LIMIT 2")["records"]
    sf.Account.update(changed[0]["Id"], {"Description": "touched"})
    sf.Account.delete(changed[1]["Id"])
    org.clock.advance(120)
    end = org.clock.now()
    updated = sf.Account.updated(start, end)
    assert set(updated["ids"]) == {made, changed[0]["Id"]}
    assert updated["latestDateCovered"] == end.strftime("%Y-%m-%dT%H:%M:00.000+0000")
    deleted = sf.Account.deleted(start, end)
    assert [d["id"] for d in deleted["deletedRecords"]] == [changed[1]["Id"]]
    assert deleted["deletedRecords"][0]["deletedDate"].endswith("+0000")
    assert set(deleted) == {"deletedRecords", "earliestDateAvailable", "latestDateCovered"}
    # the span's changes are not in the day before it
    assert made not in sf.Account.updated(start - dt.timedelta(days=1), start)["ids"]


def test_the_windows_are_30_days_for_updated_and_15_for_deleted(fresh_emulator: Emulator,
                                                                 sf: Any) -> None:
    now = fresh_emulator.clock.now()
    assert sf.Account.updated(now - dt.timedelta(days=29), now)["ids"] is not None
    with pytest.raises(SalesforceMalformedRequest) as too_old:
        sf.Account.updated(now - dt.timedelta(days=31), now)
    assert too_old.value.content[0]["errorCode"] == "INVALID_REPLICATION_DATE"
    assert "deletedRecords" in sf.Account.deleted(now - dt.timedelta(days=14), now)
    with pytest.raises(SalesforceMalformedRequest):
        sf.Account.deleted(now - dt.timedelta(days=16), now)
    with pytest.raises(SalesforceMalformedRequest):
        sf.Account.updated(now, now - dt.timedelta(days=1))
