"""SOAP logout() and update() with the OwnerChangeOptions header (SOAP API Developer Guide)."""

from __future__ import annotations

from xml.dom import minidom

import requests

from org_client import OrgClient
from sfexit_emulator import Emulator

ENVELOPE = """<?xml version="1.0" encoding="utf-8"?>
<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"
    xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:urn="urn:partner.soap.sforce.com">
  <env:Header><urn:SessionHeader><urn:sessionId>{token}</urn:sessionId></urn:SessionHeader>{headers}
  </env:Header>
  <env:Body>{body}</env:Body>
</env:Envelope>"""
KEEP_TEAM = ("<urn:OwnerChangeOptions><urn:options><urn:type>KeepAccountTeam</urn:type>"
             "<urn:execute>true</urn:execute></urn:options></urn:OwnerChangeOptions>")


def _soap(org: Emulator, token: str, body: str, headers: str = "",
          version: str = "64.0") -> requests.Response:
    return requests.post(f"{org.url}/services/Soap/u/{version}",
                         data=ENVELOPE.format(token=token, headers=headers, body=body),
                         headers={"Content-Type": "text/xml", "SOAPAction": "x"},
                         verify=str(org.ca_file), timeout=30)


def _texts(xml: bytes, name: str) -> list[str]:
    return [n.firstChild.nodeValue if n.firstChild else ""
            for n in minidom.parseString(xml).getElementsByTagName(name)]


def test_logout_ends_the_session(fresh_emulator: Emulator) -> None:
    org = fresh_emulator
    client = OrgClient(org, "64.0")
    assert client.get("/limits").status_code == 200
    out = _soap(org, org.token, "<urn:logout/>")
    assert out.status_code == 200 and b"<logoutResponse/>" in out.content
    assert client.get("/limits").status_code == 401
    again = _soap(org, org.token, "<urn:logout/>")
    assert again.status_code == 500 and _texts(again.content, "sf:exceptionCode") == ["INVALID_SESSION_ID"]


def _account_with_team(org: Emulator) -> tuple[str, str, str, int]:
    rows = org.store.query("SELECT AccountId, Account.OwnerId FROM AccountTeamMember",
                           now=org.clock.now()).rows()
    account, owner = next(iter(rows))
    users = org.store.query("SELECT Id FROM User WHERE IsActive = true AND UserType = 'Standard' "
                            f"AND Id != '{owner}'", now=org.clock.now()).rows()
    members = org.store.query(f"SELECT COUNT() FROM AccountTeamMember WHERE AccountId = '{account}'",
                              now=org.clock.now()).total_size
    return str(account), str(owner), str(next(iter(users))[0]), int(members)


def _team(org: Emulator, account: str) -> int:
    return int(org.store.query(f"SELECT COUNT() FROM AccountTeamMember WHERE AccountId = '{account}'",
                               now=org.clock.now()).total_size)


def test_update_keeps_the_account_team_only_when_asked(fresh_emulator: Emulator) -> None:
    org = fresh_emulator
    account, first_owner, new_owner, members = _account_with_team(org)
    assert members > 0
    record = (f"<urn:update><urn:sObjects><urn:type>Account</urn:type><urn:Id>{account}</urn:Id>"
              f"<urn:OwnerId>{new_owner}</urn:OwnerId></urn:sObjects></urn:update>")
    kept = _soap(org, org.token, record, KEEP_TEAM)
    assert kept.status_code == 200, kept.text
    assert _texts(kept.content, "success") == ["true"] and _texts(kept.content, "id") == [account]
    assert _team(org, account) == members
    # back to the first owner without the header: the team is deleted (default false)
    owner = org.store.query(f"SELECT OwnerId FROM Account WHERE Id = '{account}'",
                            now=org.clock.now())
    assert next(iter(owner.rows()))[0] == new_owner
    back = record.replace(new_owner, first_owner)
    dropped = _soap(org, org.token, back)
    assert _texts(dropped.content, "success") == ["true"]
    assert _team(org, account) == 0


def test_update_reports_a_record_error_per_record(fresh_emulator: Emulator) -> None:
    org = fresh_emulator
    body = ("<urn:update><urn:sObjects><urn:type>Account</urn:type>"
            "<urn:Id>001000000000000AAA</urn:Id><urn:Name>x</urn:Name></urn:sObjects></urn:update>")
    out = _soap(org, org.token, body)
    assert out.status_code == 200
    assert _texts(out.content, "success") == ["false"]
    assert _texts(out.content, "statusCode") == ["NOT_FOUND"]


def test_a_retired_soap_version_is_unsupported(emulator: Emulator) -> None:
    out = _soap(emulator, emulator.token, "<urn:logout/>", version="30.0")
    assert out.status_code == 500
    assert _texts(out.content, "sf:exceptionCode") == ["UNSUPPORTED_API_VERSION"]
