"""Recorded request sequences of real clients (real-clients-wire.md), replayed with requests.

Each request is sent exactly as the client sends it (method, path, query encoding, headers),
and the test checks what that client needs from the answer.
"""

from __future__ import annotations

import re
from urllib.parse import quote

import requests

from sfexit_emulator import Emulator

SF_HEADERS = {
    "Sforce-Call-Options": "client=sfdx toolbelt:",
    "user-agent": "sfdx toolbelt:",
    "content-type": "application/json",   # sf sends it even on GET
    "accept": "application/json",
}


def _sf_get(org: Emulator, instance_url: str, path: str, token: str) -> requests.Response:
    headers = dict(SF_HEADERS, Authorization=f"Bearer {token}")
    # sf stores instanceUrl with a trailing slash and builds URLs from it.
    return requests.get(instance_url + path.lstrip("/"), headers=headers,
                        verify=str(org.ca_file), timeout=30)


def test_sf_org_login_access_token_sequence(emulator: Emulator) -> None:
    token = emulator.token
    assert re.fullmatch(r"(00D\w{12,15})![.\w]*", token)  # sf's check before sending anything
    instance_url = emulator.url + "/"

    userinfo = _sf_get(emulator, instance_url, "services/oauth2/userinfo", token)
    assert userinfo.status_code == 200
    info = userinfo.json()
    user_id, org_id = info["user_id"], info["organization_id"]
    assert len(user_id) == 18 and len(org_id) == 18
    for key in ("preferred_username", "sub", "name", "email"):
        assert info[key]

    user = _sf_get(emulator, instance_url, f"services/data/v51.0/sobjects/User/{user_id}", token)
    assert user.status_code == 200
    assert user.json()["Username"] == info["preferred_username"]

    scratch = _sf_get(emulator, instance_url, "services/data/v51.0/query?q="
                      + quote("SELECT Id FROM ScratchOrgInfo limit 1", safe=""), token)
    assert scratch.status_code == 400
    assert scratch.json()[0]["errorCode"] == "INVALID_TYPE"
    assert "sObject type 'ScratchOrgInfo' is not supported" in scratch.json()[0]["message"]

    versions = _sf_get(emulator, instance_url, "services/data", token)
    highest = max(versions.json(), key=lambda v: float(v["version"]))["version"]
    assert highest == "68.0"

    organization = _sf_get(emulator, instance_url, f"services/data/v{highest}/query?q=" + quote(
        "SELECT Name, InstanceName, IsSandbox, TrialExpirationDate, NamespacePrefix, "
        "OrganizationType FROM Organization", safe=""), token)
    assert organization.status_code == 200
    row = organization.json()["records"][0]
    assert row["attributes"]["type"] == "Organization"
    assert set(row) >= {"Name", "InstanceName", "IsSandbox", "TrialExpirationDate",
                        "NamespacePrefix", "OrganizationType"}

    sandbox = _sf_get(emulator, instance_url, f"services/data/v{highest}/tooling/query?q=" + quote(
        "SELECT Id,Status,SandboxName,SandboxInfoId,LicenseType,CreatedDate,CopyProgress,"
        "SandboxOrganization,SourceId,Description,EndDate FROM SandboxProcess WHERE "
        f"SandboxOrganization='{org_id[:15]}' AND Status != 'D' ORDER BY CreatedDate DESC "
        "LIMIT 1", safe=""), token)
    assert sandbox.status_code == 200
    assert sandbox.json() == {"size": 0, "totalSize": 0, "done": True, "records": [],
                              "entityTypeName": "SandboxProcess", "queryLocator": None}

    # `sf org display`'s connectedStatus check: GET /services/data/vXX.X without a slash.
    assert _sf_get(emulator, instance_url, f"services/data/v{highest}", token).status_code == 200
    dead = _sf_get(emulator, instance_url, f"services/data/v{highest}", "00D000000000000!AQdead")
    assert dead.status_code == 401
    assert dead.json()[0]["message"] == "Session expired or invalid"


def test_jsforce_identity_call(emulator: Emulator) -> None:
    """jsforce's identity(): read `identity` from the resources map (v50.0, its default), then
    GET it with ?format=json&oauth_token=… and the Bearer header."""
    token = emulator.token
    headers = {"Authorization": f"Bearer {token}"}
    resources = requests.get(f"{emulator.url}/services/data/v50.0", headers=headers,
                             verify=str(emulator.ca_file), timeout=30).json()
    identity = requests.get(resources["identity"], params={"format": "json", "oauth_token": token},
                            headers=headers, verify=str(emulator.ca_file), timeout=30)
    assert identity.status_code == 200
    body = identity.json()
    assert body["id"] == resources["identity"]
    assert body["user_id"] and body["organization_id"]


def test_sf_data_query_then_columns(emulator: Emulator) -> None:
    """`sf data query` asks the rows, then the same query with columns=true."""
    soql = quote("SELECT Id, Name, Owner.Username FROM Account LIMIT 3", safe="")
    base = emulator.url + "/"
    rows = _sf_get(emulator, base, f"services/data/v68.0/query?q={soql}", emulator.token)
    assert rows.json()["totalSize"] == 3
    columns = _sf_get(emulator, base, f"services/data/v68.0/query?q={soql}&columns=true",
                      emulator.token)
    assert isinstance(columns.json()["columnMetadata"], list)


def test_jsforce_composite_update_with_lowercase_id(fresh_emulator: Emulator) -> None:
    org = fresh_emulator
    headers = {"Authorization": f"Bearer {org.token}", "Content-Type": "application/json"}
    account = requests.get(f"{org.url}/services/data/v50.0/query", headers=headers,
                           params={"q": "SELECT Id FROM Account LIMIT 1"},
                           verify=str(org.ca_file), timeout=30).json()["records"][0]
    body = {"allOrNone": False, "records": [
        {"id": account["Id"], "attributes": {"type": "Account"}, "Name": "Renamed by jsforce"}]}
    response = requests.patch(f"{org.url}/services/data/v50.0/composite/sobjects", json=body,
                              headers=headers, verify=str(org.ca_file), timeout=30)
    assert response.status_code == 200
    assert response.json() == [{"id": account["Id"], "success": True, "errors": []}]
