"""OAuth token endpoint grants, revoke, session expiry, userinfo and the identity URL."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import time
from collections.abc import Iterator
from typing import Any

import jwt
import pytest
import requests

from sfexit_emulator import Emulator


@pytest.fixture(scope="module")
def emulator() -> Iterator[Emulator]:
    """Logins add LoginHistory rows: this module logs in to its own org, not the shared one."""
    with Emulator(records=2000, seed=1) as org:
        yield org


TOKEN_SHAPE = re.compile(r"(00D\w{12,15})![.\w]*")


def _token(org: Emulator, **form: str) -> requests.Response:
    return requests.post(org.url + "/services/oauth2/token", data=form, verify=str(org.ca_file),
                         timeout=30)


def _password_form(org: Emulator, **over: str) -> dict[str, str]:
    creds = org.credentials
    assert creds is not None
    form = {"grant_type": "password", "client_id": creds.consumer_key,
            "client_secret": creds.consumer_secret, "username": creds.username,
            "password": creds.password + creds.security_token}
    form.update(over)
    return form


def _rest(org: Emulator, token: str, path: str = "/services/data/v68.0") -> requests.Response:
    return requests.get(org.url + path, headers={"Authorization": f"Bearer {token}"},
                        verify=str(org.ca_file), timeout=30)


def _assert_success(org: Emulator, body: dict[str, Any]) -> None:
    assert list(body)[:1] == ["access_token"]
    assert TOKEN_SHAPE.fullmatch(body["access_token"])
    assert body["instance_url"] == org.url
    assert body["token_type"] == "Bearer"
    assert re.fullmatch(rf"{re.escape(org.url)}/id/00D\w{{15}}/005\w{{15}}", body["id"])
    assert body["issued_at"].isdigit()
    creds = org.credentials
    assert creds is not None
    expected = base64.b64encode(hmac.new(creds.consumer_secret.encode(),
                                         (body["id"] + body["issued_at"]).encode(),
                                         hashlib.sha256).digest()).decode()
    assert body["signature"] == expected


def test_password_grant_issues_a_working_token(emulator: Emulator) -> None:
    response = _token(emulator, **_password_form(emulator))
    assert response.status_code == 200, response.text
    body = response.json()
    _assert_success(emulator, body)
    assert "refresh_token" not in body  # the username-password flow issues none
    assert _rest(emulator, body["access_token"]).status_code == 200


@pytest.mark.parametrize(("over", "error", "description"), [
    ({"password": "wrong"}, "invalid_grant", "authentication failure"),
    ({"username": "nobody@nowhere.invalid"}, "invalid_grant", "authentication failure"),
    ({"client_secret": "wrong"}, "invalid_client", "invalid client credentials"),
    ({"client_id": "3MVG9unknown"}, "invalid_client_id", "client identifier invalid"),
    ({"grant_type": "magic"}, "unsupported_grant_type", "grant type not supported"),
])
def test_password_grant_errors(emulator: Emulator, over: dict[str, str], error: str,
                               description: str) -> None:
    response = _token(emulator, **_password_form(emulator, **over))
    assert response.status_code == 400
    assert response.json() == {"error": error, "error_description": description}


def test_client_credentials_with_form_and_basic_auth(emulator: Emulator) -> None:
    creds = emulator.credentials
    assert creds is not None
    form = _token(emulator, grant_type="client_credentials", client_id=creds.consumer_key,
                  client_secret=creds.consumer_secret)
    assert form.status_code == 200, form.text
    _assert_success(emulator, form.json())
    basic = requests.post(emulator.url + "/services/oauth2/token",
                          data={"grant_type": "client_credentials"},
                          auth=(creds.consumer_key, creds.consumer_secret),
                          verify=str(emulator.ca_file), timeout=30)
    assert basic.status_code == 200
    # It runs as the connected app's run-as user: the demo admin.
    assert basic.json()["id"].endswith(form.json()["id"].rsplit("/", 1)[1])
    wrong = _token(emulator, grant_type="client_credentials", client_id=creds.consumer_key,
                   client_secret="nope")
    assert wrong.json()["error"] == "invalid_client"


def _assertion(org: Emulator, key: bytes | None = None, **claims: Any) -> str:
    creds = org.credentials
    assert creds is not None
    payload: dict[str, Any] = {"iss": creds.consumer_key, "sub": creds.username,
                               "aud": "https://login.salesforce.com",
                               "exp": int(org.clock.timestamp()) + 180}
    payload.update(claims)
    return jwt.encode(payload, key or creds.jwt_key_file.read_bytes(), algorithm="RS256")


@pytest.mark.parametrize("aud", ["https://login.salesforce.com", "https://test.salesforce.com",
                                 "EMULATOR"])
def test_jwt_bearer_grant(emulator: Emulator, aud: str) -> None:
    assertion = _assertion(emulator, aud=emulator.url if aud == "EMULATOR" else aud)
    response = _token(emulator, grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer",
                      assertion=assertion)
    assert response.status_code == 200, response.text
    _assert_success(emulator, response.json())


def test_jwt_exp_as_a_string_like_simple_salesforce(emulator: Emulator) -> None:
    assertion = _assertion(emulator, exp=f"{emulator.clock.timestamp() + 180:.0f}")
    response = _token(emulator, grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer",
                      assertion=assertion)
    assert response.status_code == 200, response.text


def _jwt_error(org: Emulator, assertion: str) -> dict[str, str]:
    response = _token(org, grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer",
                      assertion=assertion)
    assert response.status_code == 400
    body: dict[str, str] = response.json()
    return body


def test_jwt_errors(emulator: Emulator) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import rsa

    other = rsa.generate_private_key(public_exponent=65537, key_size=2048).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption())
    invalid = {"error": "invalid_grant", "error_description": "invalid assertion"}
    assert _jwt_error(emulator, _assertion(emulator, key=other)) == invalid
    assert _jwt_error(emulator, _assertion(emulator, aud="https://evil.example.com")) == {
        "error": "invalid_grant", "error_description": "audience is invalid"}
    assert _jwt_error(emulator, _assertion(emulator, iss="3MVG9other")) == {
        "error": "invalid_client_id", "error_description": "client identifier invalid"}
    assert _jwt_error(emulator, _assertion(emulator, sub="ghost@nowhere.invalid")) == invalid
    assert _jwt_error(emulator, _assertion(emulator, exp=int(time.time()) - 10)) == invalid
    assert _jwt_error(emulator, "not.a.jwt") == invalid


def test_jwt_expiry_follows_the_emulator_clock(fresh_emulator: Emulator) -> None:
    org = fresh_emulator
    assertion = _assertion(org)
    org.clock.advance(600)
    assert _jwt_error(org, assertion)["error_description"] == "invalid assertion"


def test_session_expires_after_inactivity_on_the_clock(fresh_emulator: Emulator) -> None:
    org = fresh_emulator
    token = _token(org, **_password_form(org)).json()["access_token"]
    assert _rest(org, token).status_code == 200
    org.clock.advance(7200 + 1)
    expired = _rest(org, token)
    assert expired.status_code == 401
    assert expired.json() == [{"message": "Session expired or invalid",
                               "errorCode": "INVALID_SESSION_ID"}]
    # The admin token of the Emulator API survives clock jumps.
    assert _rest(org, org.token).status_code == 200


def test_use_keeps_a_session_alive(fresh_emulator: Emulator) -> None:
    org = fresh_emulator
    token = _token(org, **_password_form(org)).json()["access_token"]
    for _ in range(3):
        org.clock.advance(3600)
        assert _rest(org, token).status_code == 200


def test_revoke_access_token(fresh_emulator: Emulator) -> None:
    org = fresh_emulator
    token = _token(org, **_password_form(org)).json()["access_token"]
    response = requests.post(org.url + "/services/oauth2/revoke", data={"token": token},
                             verify=str(org.ca_file), timeout=30)
    assert response.status_code == 200 and response.content == b""
    assert _rest(org, token).status_code == 401
    again = requests.post(org.url + "/services/oauth2/revoke", data={"token": "nope"},
                          verify=str(org.ca_file), timeout=30)
    assert again.status_code == 400
    assert again.json()["error"] == "unsupported_token_type"


def test_userinfo_and_identity(emulator: Emulator) -> None:
    info = _rest(emulator, emulator.token, "/services/oauth2/userinfo")
    assert info.status_code == 200
    body = info.json()
    assert "Sforce-Limit-Info" not in info.headers
    creds = emulator.credentials
    assert creds is not None
    assert body["preferred_username"] == creds.username
    assert len(body["user_id"]) == 18 and len(body["organization_id"]) == 18
    assert body["sub"].startswith(emulator.url + "/id/")
    assert body["urls"]["rest"].endswith("/services/data/v{version}/")
    identity = requests.get(body["sub"], params={"format": "json", "oauth_token": emulator.token},
                            verify=str(emulator.ca_file), timeout=30)
    assert identity.status_code == 200
    ident = identity.json()
    for key in ("id", "asserted_user", "user_id", "organization_id", "username", "nick_name",
                "display_name", "email", "active", "user_type", "urls", "last_modified_date"):
        assert key in ident, key
    assert ident["id"] == body["sub"] and ident["username"] == creds.username
    assert ident["active"] is True


def test_identity_and_userinfo_refuse_bad_tokens_with_403(emulator: Emulator) -> None:
    info = _rest(emulator, "00D000000000000!AQbad", "/services/oauth2/userinfo")
    assert info.status_code == 403 and info.text == "Bad_OAuth_Token"
    user_url = _rest(emulator, emulator.token, "/services/oauth2/userinfo").json()["sub"]
    assert _rest(emulator, "nope", user_url.replace(emulator.url, "")).status_code == 403


def _standard_user(org: Emulator) -> tuple[str, str, str]:
    from sfexit_emulator.store import DEMO_CREDENTIALS

    std = DEMO_CREDENTIALS.standard
    user = org.store.user_by_username(std.username)
    assert user is not None
    return str(user["Id"]), std.username, std.password + std.security_token


def _patch(org: Emulator, path: str, body: dict[str, Any]) -> requests.Response:
    return requests.patch(org.url + "/services/data/v68.0/sobjects/" + path, json=body,
                          headers={"Authorization": f"Bearer {org.token}"},
                          verify=str(org.ca_file), timeout=30)


def test_standard_user_logs_in_until_frozen(fresh_emulator: Emulator) -> None:
    org = fresh_emulator
    user_id, username, password = _standard_user(org)
    ok = _token(org, **_password_form(org, username=username, password=password))
    assert ok.status_code == 200, ok.text
    login = org.store.query(f"SELECT Id FROM UserLogin WHERE UserId = '{user_id}'",
                            now=org.clock.now()).records(0, 1, version="v68.0")[0]
    assert _patch(org, f"UserLogin/{login['Id']}", {"IsFrozen": True}).status_code == 204
    frozen = _token(org, **_password_form(org, username=username, password=password))
    assert frozen.json() == {"error": "invalid_grant", "error_description": "authentication failure"}


def test_inactive_user_cannot_log_in(fresh_emulator: Emulator) -> None:
    org = fresh_emulator
    user_id, username, password = _standard_user(org)
    creds = org.credentials
    assert creds is not None
    assertion = _assertion(org, sub=username)
    assert _patch(org, f"User/{user_id}", {"IsActive": False}).status_code == 204
    by_password = _token(org, **_password_form(org, username=username, password=password))
    assert by_password.json() == {"error": "invalid_grant",
                                  "error_description": "authentication failure"}
    by_jwt = _token(org, grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer",
                    assertion=assertion)
    assert by_jwt.json() == {"error": "invalid_grant", "error_description": "inactive user"}


def test_logins_are_recorded_in_login_history(fresh_emulator: Emulator) -> None:
    org = fresh_emulator
    soql = "SELECT COUNT() FROM LoginHistory"
    before = org.store.query(soql, now=org.clock.now()).total_size
    assert _token(org, **_password_form(org)).status_code == 200
    assert org.store.query(soql, now=org.clock.now()).total_size == before + 1
