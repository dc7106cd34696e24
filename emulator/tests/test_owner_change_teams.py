"""An owner change drops the record's team (KB 000390190; SOAP API Developer Guide,
OwnerChangeOptions): REST through simple-salesforce, sObject Collections, Bulk 2.0 ingest, and
SOAP update with and without ``KeepAccountTeam`` / ``KeepSalesTeam``."""

from __future__ import annotations

from typing import Any

import pytest
from simple_salesforce import Salesforce

from org_client import OrgClient
from sfexit_emulator import Emulator


def _team(org: Emulator, team: str, parent: str, record_id: str, deleted: bool = False) -> int:
    cursor = org.store.query(f"SELECT Id FROM {team} WHERE {parent} = '{record_id}'",
                             include_deleted=deleted, now=org.clock.now())
    return len(list(cursor.rows()))


def _with_team(org: Emulator, sobject: str, team: str, parent: str, n: int = 1) -> list[tuple[str, str]]:
    """(record id, an active user who does not own it) for ``n`` records that have a team."""
    rows = org.store.query(f"SELECT {parent}, {parent[:-2]}.OwnerId FROM {team}",
                           now=org.clock.now()).rows()
    users = [str(u) for (u,) in org.store.query(
        "SELECT Id FROM User WHERE IsActive = true AND UserType = 'Standard'",
        now=org.clock.now()).rows()]
    out: dict[str, str] = {}
    for record_id, owner in rows:
        out.setdefault(str(record_id), next(u for u in users if u != owner))
    assert len(out) >= n, f"the seed should give {n} {sobject} records a team"
    return list(out.items())[:n]


@pytest.fixture
def sf(fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(fresh_emulator.ca_file))
    return Salesforce(instance_url=fresh_emulator.url, session_id=fresh_emulator.token,
                      version="64.0")


@pytest.mark.parametrize(("sobject", "team", "parent"), [
    ("Account", "AccountTeamMember", "AccountId"),
    ("Opportunity", "OpportunityTeamMember", "OpportunityId")])
def test_a_rest_owner_change_deletes_the_team(fresh_emulator: Emulator, sf: Any, sobject: str,
                                              team: str, parent: str) -> None:
    org = fresh_emulator
    [(record_id, new_owner)] = _with_team(org, sobject, team, parent)
    members = _team(org, team, parent, record_id)
    assert getattr(sf, sobject).update(record_id, {"Description": "no owner change"}) == 204
    assert _team(org, team, parent, record_id) == members
    assert getattr(sf, sobject).update(record_id, {"OwnerId": new_owner}) == 204
    assert _team(org, team, parent, record_id) == 0
    # in the recycle bin (UNCONF), so queryAll still sees them
    assert _team(org, team, parent, record_id, deleted=True) == members


def test_a_collections_owner_change_deletes_the_team(fresh_emulator: Emulator, sf: Any) -> None:
    org = fresh_emulator
    pairs = _with_team(org, "Account", "AccountTeamMember", "AccountId", 2)
    records = [{"attributes": {"type": "Account"}, "id": rid, "OwnerId": owner}
               for rid, owner in pairs]
    results = sf.restful("composite/sobjects", method="PATCH",
                         json={"allOrNone": False, "records": records})
    assert [r["success"] for r in results] == [True, True]
    assert all(_team(org, "AccountTeamMember", "AccountId", rid) == 0 for rid, _ in pairs)


def test_a_bulk_ingest_owner_change_deletes_the_team(fresh_emulator: Emulator) -> None:
    org = fresh_emulator
    pairs = _with_team(org, "Opportunity", "OpportunityTeamMember", "OpportunityId", 2)
    client = OrgClient(org, "64.0")
    job = client.post("/jobs/ingest", {"object": "Opportunity", "operation": "update"}).json()
    data = "Id,OwnerId\n" + "".join(f"{rid},{owner}\n" for rid, owner in pairs)
    put = client.session.put(client.url(f"/jobs/ingest/{job['id']}/batches"), data=data,
                             headers={"Content-Type": "text/csv"}, timeout=60)
    assert put.status_code == 201
    assert client.patch(f"/jobs/ingest/{job['id']}", {"state": "UploadComplete"}).ok
    org.clock.advance(60)
    info = client.get(f"/jobs/ingest/{job['id']}").json()
    assert info["state"] == "JobComplete" and info["numberRecordsFailed"] == 0
    assert all(_team(org, "OpportunityTeamMember", "OpportunityId", rid) == 0 for rid, _ in pairs)
