"""Login requests on the wire (one module, `responses`): JWT claims, SOAP envelope, sf runner."""

from __future__ import annotations

import json
import subprocess
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jwt
import pytest
import responses
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from sfexit import errors
from sfexit.config import EnvValues, OrgProfile
from sfexit.org.auth import Authenticator
from sfexit.org.secrets import SecretResolver
from sfexit.org.sfcli import sf_token

LOGIN = "https://login.example.com"
TOKEN_URL = f"{LOGIN}/services/oauth2/token"
OK = {"access_token": "00D000000000001!AQ.tok", "instance_url": "https://acme.my.salesforce.com",
      "id": f"{LOGIN}/id/00D000000000001AAA/005000000000001AAA", "issued_at": "1"}


def authenticator(profile: OrgProfile, secrets: dict[str, str] | None = None) -> Authenticator:
    return Authenticator(profile, SecretResolver(profile.name, EnvValues(secrets=secrets or {})),
                         verify=True)


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    path = tmp_path / "key.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                       serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    return path


@responses.activate
def test_jwt_assertion_claims(key_file: Path) -> None:
    responses.post(TOKEN_URL, json=OK)
    profile = OrgProfile(name="p", login_url=LOGIN, auth="jwt", username="a@b.c",
                         consumer_key="3MVGkey", key_file=key_file)
    token = authenticator(profile).login()
    assert token.instance_url == "https://acme.my.salesforce.com"
    form = parse_qs(responses.calls[0].request.body)  # type: ignore[arg-type]
    assert form["grant_type"] == ["urn:ietf:params:oauth:grant-type:jwt-bearer"]
    claims = jwt.decode(form["assertion"][0], options={"verify_signature": False})
    assert claims["iss"] == "3MVGkey" and claims["sub"] == "a@b.c" and claims["aud"] == LOGIN
    assert 0 < claims["exp"] - time.time() <= 180
    assert jwt.get_unverified_header(form["assertion"][0])["alg"] == "RS256"


@responses.activate
def test_password_grant_appends_the_security_token() -> None:
    responses.post(TOKEN_URL, json=OK)
    profile = OrgProfile(name="p", login_url=LOGIN, auth="password", username="a@b.c",
                         consumer_key="k")
    authenticator(profile, {"password": "pw", "security_token": "TOK",
                            "client_secret": "s"}).login()
    form = parse_qs(responses.calls[0].request.body)  # type: ignore[arg-type]
    assert form["password"] == ["pwTOK"] and form["client_secret"] == ["s"]


@responses.activate
def test_oauth_error_becomes_auth_error_with_hint() -> None:
    responses.post(TOKEN_URL, status=400, json={"error": "invalid_client_id",
                                                "error_description": "client identifier invalid"})
    profile = OrgProfile(name="p", login_url=LOGIN, auth="client_credentials", consumer_key="k")
    with pytest.raises(errors.AuthError) as info:
        authenticator(profile, {"client_secret": "s"}).login()
    assert info.value.one_line() == ("login to login.example.com failed: client identifier "
                                     "invalid (invalid_client_id) (check consumer_key in the org "
                                     "profile)")


@responses.activate
def test_token_response_with_http_instance_is_refused() -> None:
    responses.post(TOKEN_URL, json={**OK, "instance_url": "http://acme.example.com"})
    profile = OrgProfile(name="p", login_url=LOGIN, auth="client_credentials", consumer_key="k")
    with pytest.raises(errors.UsageError, match="is not HTTPS"):
        authenticator(profile, {"client_secret": "s"}).login()


@responses.activate
def test_soap_envelope_escapes_xml_and_uses_at_most_64() -> None:
    responses.post(f"{LOGIN}/services/Soap/u/64.0", body=(
        "<soapenv:Envelope><soapenv:Body><loginResponse><result>"
        "<serverUrl>https://acme.my.salesforce.com/services/Soap/u/64.0/00D000000000001</serverUrl>"
        "<sessionId>00D000000000001!AQ.soap</sessionId></result></loginResponse></soapenv:Body>"
        "</soapenv:Envelope>"), content_type="text/xml")
    warnings: list[str] = []
    profile = OrgProfile(name="p", login_url=LOGIN, auth="soap", username="a&b@c.d",
                         api_version="66.0")
    auth = Authenticator(profile, SecretResolver("p", EnvValues(secrets={"password": "p<w>&"})),
                         verify=True, warn=warnings.append)
    token = auth.login()
    assert token.instance_url == "https://acme.my.salesforce.com"
    body = responses.calls[0].request.body.decode()  # type: ignore[union-attr]
    assert "<urn:username>a&amp;b@c.d</urn:username>" in body
    assert "<urn:password>p&lt;w&gt;&amp;</urn:password>" in body
    assert responses.calls[0].request.headers["SOAPAction"] == "login"
    assert len(warnings) == 1 and "Summer '27" in warnings[0]


def test_http_login_url_is_refused_before_any_request() -> None:
    profile = OrgProfile(name="p", login_url="http://login.example.com", auth="web",
                         consumer_key="k")
    with pytest.raises(errors.UsageError) as info:
        authenticator(profile)
    assert info.value.one_line() == ("login URL http://login.example.com is not HTTPS; sfexit "
                                     "only connects over https:// (nothing was sent)")


class FakeRun:
    def __init__(self, answers: dict[str, tuple[int, dict[str, Any]]]) -> None:
        self.answers = answers
        self.calls: list[tuple[list[str], dict[str, Any]]] = []

    def __call__(self, argv: list[str], **kw: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append((argv, kw))
        code, body = self.answers[" ".join(argv[1:4])]
        return subprocess.CompletedProcess(argv, code, json.dumps(body), "")


DISPLAY = {"status": 0, "result": {
    "accessToken": "[REDACTED] Use 'sf org auth show-access-token' to view",
    "instanceUrl": "https://acme.my.salesforce.com/", "connectedStatus": "Connected"}}


def test_sf_runs_without_a_shell_and_reads_show_access_token() -> None:
    run = FakeRun({"org display --target-org": (0, DISPLAY),
                   "org auth show-access-token": (0, {"status": 0, "result": {
                       "accessToken": "00D000000000001!AQ.sf"}})})
    token = sf_token("/opt/sf", "acme", run=run)
    assert token.access_token == "00D000000000001!AQ.sf"
    assert token.instance_url == "https://acme.my.salesforce.com"
    assert [c[0] for c in run.calls] == [
        ["/opt/sf", "org", "display", "--target-org", "acme", "--json"],
        ["/opt/sf", "org", "auth", "show-access-token", "--target-org", "acme", "--json"]]
    assert all(c[1]["shell"] is False for c in run.calls)


def test_sf_redacted_token_without_show_command_is_refused() -> None:
    run = FakeRun({"org display --target-org": (0, DISPLAY),
                   "org auth show-access-token": (127, {"status": 127, "message": "not a command"})})
    with pytest.raises(errors.AuthError) as info:
        sf_token("sf", "acme", run=run)
    assert info.value.one_line() == ("the Salesforce CLI would not give the access token of "
                                     "'acme' (update sf (it needs `sf org auth "
                                     "show-access-token`))")


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_web_listener_returns_the_code_and_checks_state() -> None:
    import requests as plain

    from sfexit.org import webflow

    pkce = webflow.Pkce.new()
    redirect = f"http://localhost:{free_port()}/OauthRedirect"
    url = webflow.authorize_url("https://login.example.com", "3MVGkey", redirect, pkce)
    assert "code_challenge_method=S256" in url and f"state={pkce.state}" in url

    def browser_comes_back() -> None:
        answer = plain.get(redirect, params={"code": "aPrxCODE", "state": pkce.state}, timeout=5)
        assert answer.status_code == 200

    import threading

    def start() -> None:
        threading.Thread(target=browser_comes_back, daemon=True).start()

    assert webflow.wait_for_code(redirect, pkce, start, timeout=10) == "aPrxCODE"

    def forged() -> None:
        threading.Thread(target=lambda: plain.get(
            redirect, params={"code": "x", "state": "not-ours"}, timeout=5), daemon=True).start()

    with pytest.raises(errors.AuthError) as info:
        webflow.wait_for_code(redirect, webflow.Pkce.new(), forged, timeout=10)
    assert info.value.one_line() == ("web login failed: the login answer did not carry our state "
                                     "(not our request?)")


def test_web_listener_times_out_with_a_hint() -> None:
    from sfexit.org import webflow

    redirect = f"http://127.0.0.1:{free_port()}/cb"
    with pytest.raises(errors.AuthError) as info:
        webflow.wait_for_code(redirect, webflow.Pkce.new(), lambda: None, timeout=0.2)
    assert info.value.one_line() == ("no answer from the browser login within 0 s (run `sfexit "
                                     "login` again; with --no-browser open the printed URL)")


def test_pkce_challenge_is_s256_of_the_verifier() -> None:
    import base64
    import hashlib

    from sfexit.org.webflow import Pkce

    pkce = Pkce.new()
    digest = hashlib.sha256(pkce.verifier.encode()).digest()
    assert pkce.challenge == base64.urlsafe_b64encode(digest).rstrip(b"=").decode()
    assert 43 <= len(pkce.verifier) <= 128
