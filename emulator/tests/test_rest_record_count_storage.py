"""``…/limits/recordCount`` and the storage figures of ``/limits``, as a client sees them.

Expected numbers come from the org's own rows (SOQL through the store), never from constants:
the emulator must answer what the org holds, exactly, after every write.
"""

from __future__ import annotations

import base64
import math

import pytest
import requests

from org_client import authorized_session as _http
from sfexit_emulator import Emulator


def _url(org: Emulator, path: str, version: str = "68.0") -> str:
    return f"{org.url}/services/data/v{version}/{path}"


def _live(org: Emulator, sobject: str) -> int:
    return org.store.query(f"SELECT COUNT() FROM {sobject}", now=org.clock.now()).total_size


def _counts(http: requests.Session, org: Emulator, sobjects: str | None) -> dict[str, int]:
    params = {"sObjects": sobjects} if sobjects is not None else None
    response = http.get(_url(org, "limits/recordCount"), params=params)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"sObjects"}
    for entry in body["sObjects"]:
        assert set(entry) == {"count", "name"} and isinstance(entry["count"], int)
    names = [e["name"] for e in body["sObjects"]]
    assert len(names) == len(set(names))
    return {e["name"]: e["count"] for e in body["sObjects"]}


def test_record_count_of_the_objects_asked_for(emulator: Emulator) -> None:
    counts = _counts(_http(emulator), emulator, "Account,Contact")
    assert counts == {"Account": _live(emulator, "Account"), "Contact": _live(emulator, "Contact")}
    assert counts["Account"] > 0 and counts["Contact"] > 0


def test_record_count_leaves_out_unknown_objects_and_canonicalises_names(
        emulator: Emulator) -> None:
    counts = _counts(_http(emulator), emulator, "account,NoSuchThing__c,Opportunity,Account")
    assert counts == {"Account": _live(emulator, "Account"),
                      "Opportunity": _live(emulator, "Opportunity")}


@pytest.mark.parametrize("sobjects", [None, ""])
def test_record_count_without_a_list_covers_every_object(emulator: Emulator,
                                                         sobjects: str | None) -> None:
    counts = _counts(_http(emulator), emulator, sobjects)
    for name in ("Account", "Contact", "Opportunity", "Case", "Lead", "User", "ContentVersion",
                 "Attachment", "Document", "Project__c", "Invoice__c"):
        assert counts[name] == _live(emulator, name), name


def test_record_count_excludes_deleted_rows_and_follows_writes(fresh_emulator: Emulator) -> None:
    org = fresh_emulator
    http = _http(org)
    deleted_before = org.store.record_count("Account", include_deleted=True) - _live(org, "Account")
    before = _counts(http, org, "Account")["Account"]
    created = [http.post(_url(org, "sobjects/Account"), json={"Name": f"Count {i}"}).json()["id"]
               for i in range(3)]
    assert _counts(http, org, "Account")["Account"] == before + 3
    assert http.delete(_url(org, f"sobjects/Account/{created[0]}")).status_code == 204
    assert _counts(http, org, "Account")["Account"] == before + 2
    # The deleted row is still in the recycle bin (queryAll), but not counted.
    deleted_now = org.store.record_count("Account", include_deleted=True) - _live(org, "Account")
    assert deleted_now == deleted_before + 1


def _storage(http: requests.Session, org: Emulator) -> tuple[dict[str, int], dict[str, int]]:
    body = http.get(_url(org, "limits")).json()
    return body["DataStorageMB"], body["FileStorageMB"]


def _expected_data_kb(org: Emulator) -> int:
    per_record = {"Campaign": 8, "CampaignMember": 1}
    counted = ("Account", "Contact", "Lead", "Opportunity", "Event", "Task", "Case", "Note",
               "Contract", "Campaign", "CampaignMember", "Project__c", "Invoice__c")
    return sum(_live(org, name) * per_record.get(name, 2) for name in counted)


def _expected_file_bytes(org: Emulator) -> int:
    total = 0
    for sobject, size_field in (("ContentVersion", "ContentSize"), ("Attachment", "BodyLength"),
                                ("Document", "BodyLength")):
        rows = org.store.query(f"SELECT SUM({size_field}) FROM {sobject}", now=org.clock.now())
        total += int(rows.records(0, 1)[0]["expr0"] or 0)
    return total


def test_storage_usage_is_two_kb_per_record_and_the_file_bytes(emulator: Emulator) -> None:
    data_mb, file_mb = emulator.store.storage_usage()
    assert data_mb == pytest.approx(_expected_data_kb(emulator) / 1024)
    assert file_mb == pytest.approx(_expected_file_bytes(emulator) / (1024 * 1024))
    assert data_mb > 0 and file_mb > 0
    data, files = _storage(_http(emulator), emulator)
    assert data["Remaining"] == data["Max"] - math.ceil(data_mb)
    assert files["Remaining"] == files["Max"] - math.ceil(file_mb)


def test_storage_follows_records_and_files_in_and_out_of_the_recycle_bin(
        fresh_emulator: Emulator) -> None:
    org = fresh_emulator
    http = _http(org)
    data_mb, file_mb = org.store.storage_usage()
    accounts = [{"attributes": {"type": "Account"}, "Name": f"Storage {i}"} for i in range(200)]
    created = http.post(_url(org, "composite/sobjects"), json={"records": accounts}).json()
    assert all(r["success"] for r in created)
    body = b"x" * (3 * 1024 * 1024 + 5)
    version = http.post(_url(org, "sobjects/ContentVersion"), json={
        "Title": "big", "PathOnClient": "big.bin",
        "VersionData": base64.b64encode(body).decode()}).json()["id"]
    grown_data, grown_files = org.store.storage_usage()
    assert grown_data == pytest.approx(data_mb + 200 * 2 / 1024)
    assert grown_files == pytest.approx(file_mb + len(body) / (1024 * 1024))
    data, files = _storage(http, org)
    assert data["Remaining"] == data["Max"] - math.ceil(grown_data)
    assert files["Remaining"] == files["Max"] - math.ceil(grown_files)

    doc = org.store.get("ContentVersion", version, ["ContentDocumentId"])["ContentDocumentId"]
    assert http.delete(_url(org, f"sobjects/ContentDocument/{doc}")).status_code == 204
    assert http.delete(_url(org, "composite/sobjects"), params={
        "ids": ",".join(r["id"] for r in created[:100])}).status_code == 200
    shrunk_data, shrunk_files = org.store.storage_usage()
    assert shrunk_data == pytest.approx(data_mb + 100 * 2 / 1024)
    assert shrunk_files == pytest.approx(file_mb)
