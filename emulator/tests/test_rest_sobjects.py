"""sObject REST: describe global, basic info, describe, record CRUD, blobs, Organization."""

from __future__ import annotations

import hashlib

import pytest

from org_client import authorized_session as _http
from sfexit_emulator import Emulator


def _url(org: Emulator, path: str, version: str = "68.0") -> str:
    return f"{org.url}/services/data/v{version}/{path}"


@pytest.mark.parametrize("path", ["sobjects", "sobjects/"])
def test_describe_global(emulator: Emulator, path: str) -> None:
    response = _http(emulator).get(_url(emulator, path))
    assert response.status_code == 200
    body = response.json()
    assert body["encoding"] == "UTF-8" and body["maxBatchSize"] == 200
    names = {o["name"] for o in body["sobjects"]}
    assert {"Account", "Contact", "User", "Organization"} <= names
    assert "ScratchOrgInfo" not in names


def test_basic_info_and_describe(emulator: Emulator) -> None:
    http = _http(emulator)
    basic = http.get(_url(emulator, "sobjects/Account")).json()
    assert basic["objectDescribe"]["name"] == "Account" and isinstance(basic["recentItems"], list)
    describe = http.get(_url(emulator, "sobjects/Account/describe"))
    assert describe.status_code == 200
    fields = {f["name"]: f for f in describe.json()["fields"]}
    assert fields["OwnerId"]["referenceTo"] == ["User"]
    assert fields["BillingCity"]["compoundFieldName"] == "BillingAddress"
    for key in ("type", "updateable", "nillable", "length"):
        assert key in fields["Name"]


@pytest.mark.parametrize("path", ["sobjects/NoSuchThing__c/describe", "sobjects/ScratchOrgInfo",
                                  "sobjects/Account/001000000000000AAA"])
def test_unknown_object_or_record_is_not_found(emulator: Emulator, path: str) -> None:
    response = _http(emulator).get(_url(emulator, path))
    assert response.status_code == 404
    assert response.json() == [{"message": "The requested resource does not exist",
                                "errorCode": "NOT_FOUND"}]


def test_record_crud_and_write_stats(fresh_emulator: Emulator) -> None:
    org = fresh_emulator
    http = _http(org)
    org.reset_stats()
    created = http.post(_url(org, "sobjects/Contact"), json={"LastName": "Émile, \"Q\""})
    assert created.status_code == 201
    body = created.json()
    assert body["success"] is True and body["errors"] == [] and body["id"].startswith("003")
    record_id = body["id"]
    got = http.get(_url(org, f"sobjects/Contact/{record_id}"), params={"fields": "LastName"})
    assert got.status_code == 200
    assert got.json()["LastName"] == "Émile, \"Q\""
    assert got.json()["attributes"] == {"type": "Contact",
                                        "url": f"/services/data/v68.0/sobjects/Contact/{record_id}"}
    full = http.get(_url(org, f"sobjects/Contact/{record_id}")).json()
    assert "Email" in full and "OwnerId" in full
    patched = http.patch(_url(org, f"sobjects/Contact/{record_id}"), json={"FirstName": "Ann"})
    assert patched.status_code == 204 and patched.content == b""
    assert http.get(_url(org, f"sobjects/Contact/{record_id}")).json()["FirstName"] == "Ann"
    failed = http.post(_url(org, "sobjects/Contact"), json={"FirstName": "No last name"})
    assert failed.status_code == 400
    assert failed.json()[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert failed.json()[0]["fields"] == ["LastName"]
    deleted = http.delete(_url(org, f"sobjects/Contact/{record_id}"))
    assert deleted.status_code == 204
    assert http.get(_url(org, f"sobjects/Contact/{record_id}")).status_code == 404
    assert org.stats()["writes"] == 3  # create, update, delete; the failed create does not count


def test_organization_object_for_the_sf_cli(emulator: Emulator) -> None:
    soql = ("SELECT Name, InstanceName, IsSandbox, TrialExpirationDate, NamespacePrefix, "
            "OrganizationType FROM Organization")
    body = _http(emulator).get(_url(emulator, "query"), params={"q": soql}).json()
    assert body["totalSize"] == 1
    assert body["records"][0]["attributes"]["url"].endswith("/" + emulator.org_id)


@pytest.mark.parametrize(("sobject", "field", "size_field"), [
    ("ContentVersion", "VersionData", "ContentSize"),
    ("Attachment", "Body", "BodyLength"),
    ("Document", "Body", "BodyLength"),
])
def test_blobs_stream_with_content_length(emulator: Emulator, sobject: str, field: str,
                                          size_field: str) -> None:
    http = _http(emulator)
    extra = ", Checksum" if sobject == "ContentVersion" else ""
    soql = f"SELECT Id, {size_field}{extra} FROM {sobject} ORDER BY {size_field} DESC LIMIT 1"
    record = http.get(_url(emulator, "query"), params={"q": soql}).json()["records"][0]
    response = http.get(_url(emulator, f"sobjects/{sobject}/{record['Id']}/{field}"),
                        headers={"Accept-Encoding": "identity"}, stream=True)
    assert response.status_code == 200
    assert int(response.headers["Content-Length"]) == record[size_field]
    digest = hashlib.md5()
    size = 0
    for chunk in response.iter_content(1 << 20):
        digest.update(chunk)
        size += len(chunk)
    assert size == record[size_field]
    if extra:
        assert digest.hexdigest() == record["Checksum"]


def test_blob_of_unknown_record_is_not_found(emulator: Emulator) -> None:
    response = _http(emulator).get(
        _url(emulator, "sobjects/ContentVersion/068000000000000AAA/VersionData"))
    assert response.status_code == 404
    assert response.json()[0]["errorCode"] == "NOT_FOUND"


def test_chunked_record_body_is_decoded(fresh_emulator: Emulator) -> None:
    org = fresh_emulator
    http = _http(org)

    def body():  # a generator makes requests send Transfer-Encoding: chunked
        yield b'{"LastName": '
        yield '"Chunked Ünïcode"}'.encode()

    created = http.post(_url(org, "sobjects/Contact"), data=body(),
                        headers={"Content-Type": "application/json"})
    assert created.status_code == 201, created.text
    got = http.get(_url(org, f"sobjects/Contact/{created.json()['id']}")).json()
    assert got["LastName"] == "Chunked Ünïcode"
    assert org.stats()["connections"] == 1  # the connection survived the chunked body


def test_rest_read_after_an_ingest_job_ends_sees_its_rows(fresh_emulator: Emulator) -> None:
    """No Bulk poll in between: the REST read itself applies the finished job, and counts it
    as a write (Salesforce runs the job whether or not anyone polls it)."""
    org = fresh_emulator
    http = _http(org)
    account = http.get(_url(org, "query"), params={"q": "SELECT Id FROM Account LIMIT 1"})
    account_id = account.json()["records"][0]["Id"]
    job = http.post(_url(org, "jobs/ingest"), json={"object": "Account", "operation": "update"})
    assert job.status_code == 200, job.text
    job_id = job.json()["id"]
    upload = http.put(_url(org, f"jobs/ingest/{job_id}/batches"), headers={
        "Content-Type": "text/csv"}, data=f"Id,Name\n{account_id},Renamed by ingest\n".encode())
    assert upload.status_code == 201, upload.text
    closed = http.patch(_url(org, f"jobs/ingest/{job_id}"), json={"state": "UploadComplete"})
    assert closed.status_code == 200, closed.text

    record = _url(org, f"sobjects/Account/{account_id}")
    assert http.get(record).json()["Name"] != "Renamed by ingest"   # not finished yet
    org.clock.advance(60)
    writes = org.stats()["writes"]
    assert http.get(record).json()["Name"] == "Renamed by ingest"
    assert org.stats()["writes"] == writes + 1
    assert http.get(record).json()["Name"] == "Renamed by ingest"
    assert org.stats()["writes"] == writes + 1   # applied once
    info = http.get(_url(org, f"jobs/ingest/{job_id}")).json()
    assert info["state"] == "JobComplete" and info["numberRecordsProcessed"] == 1


def test_document_author_defaults_to_the_running_user(fresh_emulator: Emulator) -> None:
    """Object reference, Document.AuthorId: "Create, Defaulted on create" (the running user)."""
    org = fresh_emulator
    http = _http(org)
    described = http.get(_url(org, "sobjects/Document/describe")).json()
    author = next(f for f in described["fields"] if f["name"] == "AuthorId")
    assert author["defaultedOnCreate"] is True and author["createable"] is True
    folder = org.store.query("SELECT Id FROM Folder LIMIT 1",
                             now=org.clock.now()).records(0, 1)[0]["Id"]
    users = org.store.query("SELECT Id FROM User WHERE IsActive = true LIMIT 2",
                            now=org.clock.now()).records(0, 2)
    other = next(u["Id"] for u in users if u["Id"][:15] != org.store.admin_user_id[:15])
    other_token = org.new_token(other)
    cases = ((org.token, None, org.store.admin_user_id), (other_token, None, other),
             (org.token, other, other))
    for i, (token, given, expected) in enumerate(cases):
        values = {"FolderId": folder, "Name": f"memo {i}", "DeveloperName": f"memo_{i}",
                  "Body": "aGVsbG8="}
        if given:
            values["AuthorId"] = given
        created = http.post(_url(org, "sobjects/Document"), json=values,
                            headers={"Authorization": f"Bearer {token}"})
        assert created.status_code == 201, created.text
        got = http.get(_url(org, f"sobjects/Document/{created.json()['id']}"),
                       params={"fields": "AuthorId"}).json()
        assert got["AuthorId"][:15] == expected[:15], i
