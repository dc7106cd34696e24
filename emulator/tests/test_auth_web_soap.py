"""The web server flow with PKCE (driven like a browser), refresh tokens, and SOAP login."""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Iterator
from html.parser import HTMLParser
from urllib.parse import parse_qs, unquote, urlsplit
from xml.dom import minidom

import pytest
import requests

from sfexit_emulator import Emulator


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    """Logins add LoginHistory rows: this module logs in to its own org, not the shared one."""
    with Emulator(records=2000, seed=1) as org:
        yield org


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form":
            self.action = values.get("action") or ""
        if tag == "input" and values.get("type") == "hidden" and values.get("name"):
            self.fields[str(values["name"])] = values.get("value") or ""


def _pkce() -> tuple[str, str]:
    verifier = secrets.token_urlsafe(48)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.rstrip(b"=").decode()


def _browser_login(org: Emulator, challenge: str, password: str | None = None) -> requests.Response:
    creds = org.credentials
    assert creds is not None
    browser = requests.Session()
    browser.verify = str(org.ca_file)
    browser.trust_env = False
    page = browser.get(org.url + "/services/oauth2/authorize", params={
        "response_type": "code", "client_id": creds.consumer_key,
        "redirect_uri": creds.redirect_uri, "code_challenge": challenge,
        "code_challenge_method": "S256", "state": "xyz-123"})
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    form = _FormParser()
    form.feed(page.text)
    data = dict(form.fields)
    data.update({"username": creds.username, "pw": password or creds.password})
    # The authorize URL sent the browser to the login page; logging in there sends it back to
    # the authorize URL, which redirects to the app: follow the org's own redirects.
    answer = browser.post(org.url + form.action, data=data, allow_redirects=False)
    while answer.status_code == 302 and answer.headers["Location"].startswith(org.url):
        answer = browser.get(answer.headers["Location"], allow_redirects=False)
    return answer


def _exchange(org: Emulator, code: str, verifier: str) -> requests.Response:
    creds = org.credentials
    assert creds is not None
    return requests.post(org.url + "/services/oauth2/token", verify=str(org.ca_file), data={
        "grant_type": "authorization_code", "code": code, "client_id": creds.consumer_key,
        "redirect_uri": creds.redirect_uri, "code_verifier": verifier}, timeout=30)


def test_web_server_flow_with_pkce_and_refresh(fresh_emulator: Emulator) -> None:
    org = fresh_emulator
    creds = org.credentials
    assert creds is not None
    verifier, challenge = _pkce()
    redirect = _browser_login(org, challenge)
    assert redirect.status_code == 302
    location = urlsplit(redirect.headers["Location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == creds.redirect_uri
    query = parse_qs(location.query)
    assert query["state"] == ["xyz-123"]
    tokens = _exchange(org, query["code"][0], verifier)
    assert tokens.status_code == 200, tokens.text
    body = tokens.json()
    assert body["refresh_token"] and body["instance_url"] == org.url
    # A code is single-use.
    assert _exchange(org, query["code"][0], verifier).json()["error"] == "invalid_grant"

    refreshed = requests.post(org.url + "/services/oauth2/token", verify=str(org.ca_file), data={
        "grant_type": "refresh_token", "refresh_token": body["refresh_token"],
        "client_id": creds.consumer_key}, timeout=30)
    assert refreshed.status_code == 200, refreshed.text
    assert "refresh_token" not in refreshed.json()
    assert refreshed.json()["access_token"] != body["access_token"]

    requests.post(org.url + "/services/oauth2/revoke", data={"token": body["refresh_token"]},
                  verify=str(org.ca_file), timeout=30)
    dead = requests.post(org.url + "/services/oauth2/token", verify=str(org.ca_file), data={
        "grant_type": "refresh_token", "refresh_token": body["refresh_token"],
        "client_id": creds.consumer_key}, timeout=30)
    assert dead.status_code == 400
    assert dead.json() == {"error": "invalid_grant",
                           "error_description": "expired access/refresh token"}


def test_web_flow_rejects_a_wrong_code_verifier(emulator: Emulator) -> None:
    _verifier, challenge = _pkce()
    redirect = _browser_login(emulator, challenge)
    code = parse_qs(urlsplit(redirect.headers["Location"]).query)["code"][0]
    response = _exchange(emulator, code, "a-different-verifier-" + "x" * 30)
    assert response.status_code == 400
    assert response.json()["error"] == "invalid_grant"


def test_web_flow_wrong_password_shows_the_form_again(emulator: Emulator) -> None:
    _verifier, challenge = _pkce()
    page = _browser_login(emulator, challenge, password="wrong")
    assert page.status_code == 200
    assert "Please check your username and password" in page.text


def test_authorize_refuses_unknown_client_and_redirect(emulator: Emulator) -> None:
    creds = emulator.credentials
    assert creds is not None
    url = emulator.url + "/services/oauth2/authorize"
    bad_client = requests.get(url, verify=str(emulator.ca_file), params={
        "response_type": "code", "client_id": "nope", "redirect_uri": creds.redirect_uri})
    assert bad_client.status_code == 400 and "invalid_client_id" in bad_client.text
    bad_redirect = requests.get(url, verify=str(emulator.ca_file), params={
        "response_type": "code", "client_id": creds.consumer_key,
        "redirect_uri": "https://evil.example.com/cb"})
    assert bad_redirect.status_code == 400 and "redirect_uri_mismatch" in bad_redirect.text


# --- SOAP --------------------------------------------------------------------------------------

def _soap_login(org: Emulator, version: str, password: str | None = None,
                api: str = "u") -> requests.Response:
    creds = org.credentials
    assert creds is not None
    # The envelope simple-salesforce's login.py sends (security token variant).
    body = f"""<?xml version="1.0" encoding="utf-8" ?>
<env:Envelope
        xmlns:xsd="http://www.w3.org/2001/XMLSchema"
        xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
        xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"
        xmlns:urn="urn:partner.soap.sforce.com">
    <env:Header>
        <urn:CallOptions>
            <urn:client>simple-salesforce</urn:client>
            <urn:defaultNamespace>sf</urn:defaultNamespace>
        </urn:CallOptions>
    </env:Header>
    <env:Body>
        <n1:login xmlns:n1="urn:partner.soap.sforce.com">
            <n1:username>{creds.username}</n1:username>
            <n1:password>{password or creds.password + creds.security_token}</n1:password>
        </n1:login>
    </env:Body>
</env:Envelope>"""
    return requests.post(f"{org.url}/services/Soap/{api}/{version}", data=body,
                         headers={"content-type": "text/xml", "charset": "UTF-8",
                                  "SOAPAction": "login"}, verify=str(org.ca_file), timeout=30)


def _element(xml: bytes, name: str) -> str:
    nodes = minidom.parseString(xml).getElementsByTagName(name)
    return str(nodes[0].firstChild.nodeValue) if nodes and nodes[0].firstChild else ""


@pytest.mark.parametrize("version", ["50.0", "59.0", "64.0"])
@pytest.mark.parametrize("api", ["u", "c"])
def test_soap_login_up_to_64(emulator: Emulator, version: str, api: str) -> None:
    response = _soap_login(emulator, version, api=api)
    assert response.status_code == 200, response.text
    assert response.headers["Content-Type"].startswith("text/xml")
    session_id = _element(response.content, "sessionId")
    server_url = _element(response.content, "serverUrl")
    assert server_url.startswith(f"{emulator.url}/services/Soap/{api}/{version}/00D")
    assert len(_element(response.content, "organizationId")) == 18
    creds = emulator.credentials
    assert creds is not None
    assert _element(response.content, "userName") == creds.username
    rest = requests.get(emulator.url + "/services/data/v64.0",
                        headers={"Authorization": f"Bearer {session_id}"},
                        verify=str(emulator.ca_file), timeout=30)
    assert rest.status_code == 200


def test_soap_login_refused_from_65(emulator: Emulator) -> None:
    response = _soap_login(emulator, "65.0")
    assert response.status_code == 500
    assert _element(response.content, "sf:exceptionCode") == "UNSUPPORTED_API_VERSION"


def test_soap_login_bad_password_is_invalid_login(emulator: Emulator) -> None:
    response = _soap_login(emulator, "59.0", password="wrong")
    assert response.status_code == 500
    assert _element(response.content, "faultcode") == "sf:INVALID_LOGIN"
    assert _element(response.content, "sf:exceptionMessage") == (
        "Invalid username, password, security token; or user locked out.")


def test_simple_salesforce_own_soap_login_reaches_the_emulator(
        emulator: Emulator, emulator_ca_env: str) -> None:
    """simple-salesforce's ``SalesforceLogin`` reaches a non-salesforce.com host only through
    its ``scratch_url`` parameter; ``Salesforce(username=…, domain=…)`` cannot (it always builds
    ``https://<domain>.salesforce.com``)."""
    from simple_salesforce import Salesforce, SalesforceLogin

    creds = emulator.credentials
    assert creds is not None
    session_id, instance = SalesforceLogin(
        username=creds.username, password=creds.password, security_token=creds.security_token,
        scratch_url=emulator.url, sf_version="59.0")
    assert instance == emulator.url.split("://", 1)[1]
    sf = Salesforce(instance=instance, session_id=session_id, version="59.0")
    assert sf.query("SELECT Id FROM Organization")["totalSize"] == 1


def test_soap_login_refuses_a_frozen_user(fresh_emulator: Emulator) -> None:
    from sfexit_emulator.store import DEMO_CREDENTIALS

    org = fresh_emulator
    std = DEMO_CREDENTIALS.standard
    ok = _soap_login_as(org, std.username, std.password + std.security_token)
    assert ok.status_code == 200
    user = org.store.user_by_username(std.username)
    assert user is not None
    login = org.store.query(f"SELECT Id FROM UserLogin WHERE UserId = '{user['Id']}'",
                            now=org.clock.now()).records(0, 1, version="v68.0")[0]
    freeze = requests.patch(f"{org.url}/services/data/v68.0/sobjects/UserLogin/{login['Id']}",
                            json={"IsFrozen": True}, verify=str(org.ca_file), timeout=30,
                            headers={"Authorization": f"Bearer {org.token}"})
    assert freeze.status_code == 204
    refused = _soap_login_as(org, std.username, std.password + std.security_token)
    assert refused.status_code == 500
    assert _element(refused.content, "sf:exceptionCode") == "INVALID_LOGIN"


def _soap_login_as(org: Emulator, username: str, password: str) -> requests.Response:
    body = ('<?xml version="1.0" encoding="utf-8" ?><env:Envelope '
            'xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"><env:Body>'
            '<n1:login xmlns:n1="urn:partner.soap.sforce.com">'
            f"<n1:username>{username}</n1:username><n1:password>{password}</n1:password>"
            "</n1:login></env:Body></env:Envelope>")
    return requests.post(f"{org.url}/services/Soap/u/59.0", data=body, timeout=30,
                         headers={"content-type": "text/xml", "SOAPAction": "login"},
                         verify=str(org.ca_file))


def _authorize(org: Emulator, redirect_uri: str) -> requests.Response:
    creds = org.credentials
    assert creds is not None
    return requests.get(org.url + "/services/oauth2/authorize", verify=str(org.ca_file), params={
        "response_type": "code", "client_id": creds.consumer_key, "redirect_uri": redirect_uri},
        timeout=30)


@pytest.mark.parametrize("redirect_uri", [
    "http://localhost:53117/OauthRedirect", "http://127.0.0.1:8080/OauthRedirect",
    "http://localhost/OauthRedirect", "http://[::1]:1717/OauthRedirect"])
def test_authorize_accepts_any_loopback_port(emulator: Emulator, redirect_uri: str) -> None:
    page = _authorize(emulator, redirect_uri)
    # redirected to the login page, which carries the authorize URL as its startURL
    assert [r.status_code for r in page.history] == [302]
    assert page.status_code == 200 and 'name="pw"' in page.text
    assert urlsplit(page.url).path == "/" and redirect_uri in unquote(unquote(page.url))


@pytest.mark.parametrize("redirect_uri", [
    "http://localhost:53117/Other", "https://localhost:1717/OauthRedirect",
    "http://localhost.evil.example:1717/OauthRedirect", "http://10.0.0.1:1717/OauthRedirect",
    "http://localhost:99999/OauthRedirect", "http://localhost:1717/OauthRedirect?x=1"])
def test_authorize_still_refuses_other_redirects(emulator: Emulator, redirect_uri: str) -> None:
    page = _authorize(emulator, redirect_uri)
    assert page.status_code == 400 and "redirect_uri_mismatch" in page.text


def test_web_flow_on_a_free_loopback_port_exchanges_its_code(fresh_emulator: Emulator) -> None:
    org = fresh_emulator
    creds = org.credentials
    assert creds is not None
    redirect_uri = "http://127.0.0.1:49999/OauthRedirect"
    verifier, challenge = _pkce()
    browser = requests.Session()
    browser.verify = str(org.ca_file)
    browser.trust_env = False
    page = browser.get(org.url + "/services/oauth2/authorize", params={
        "response_type": "code", "client_id": creds.consumer_key, "redirect_uri": redirect_uri,
        "code_challenge": challenge, "code_challenge_method": "S256"})
    form = _FormParser()
    form.feed(page.text)
    data = dict(form.fields, username=creds.username, pw=creds.password)
    redirect = browser.post(org.url + form.action, data=data, allow_redirects=False)
    while redirect.status_code == 302 and redirect.headers["Location"].startswith(org.url):
        redirect = browser.get(redirect.headers["Location"], allow_redirects=False)
    assert redirect.status_code == 302
    assert redirect.headers["Location"].startswith(redirect_uri + "?code=")
    code = parse_qs(urlsplit(redirect.headers["Location"]).query)["code"][0]
    exchange = {"grant_type": "authorization_code", "code": code, "client_id": creds.consumer_key,
                "code_verifier": verifier}
    # The token request repeats the redirect_uri used at authorize (RFC 6749 §4.1.3).
    tokens = requests.post(org.url + "/services/oauth2/token", verify=str(org.ca_file), timeout=30,
                           data=dict(exchange, redirect_uri=redirect_uri))
    assert tokens.status_code == 200, tokens.text
    assert tokens.json()["access_token"].startswith(org.org_id[:15])
