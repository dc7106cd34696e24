"""Each auth method end to end against the emulator over real HTTPS, through `sfexit login`."""

from __future__ import annotations

import webbrowser
from pathlib import Path
from typing import Any

import keyring
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from auth_support import (BrowserThread, admin_get, drive_browser_login, invoke, password_env,
                          password_profile, requests_total, write_config)
from sfexit import errors
from sfexit.config import load_settings
from sfexit.org import connect
from sfexit.org.identity import whoami
from sfexit.org.login import login

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def login_ok(run: Any, emulator: Any, method: str) -> None:
    assert run.code == 0, run.output
    result = run.body["result"]
    assert result["method"] == method
    assert result["instance_url"] == emulator.url
    assert result["org_id"][:15] == emulator.org_id[:15]
    assert run.body["status"] == 0


def test_password_login(emulator: Any, tmp_path: Path) -> None:
    config = write_config(tmp_path, emulator, **password_profile(emulator))
    run = invoke(["--config", str(config), "login"], env=password_env(emulator))
    login_ok(run, emulator, "password")
    assert run.body["result"]["username"] == emulator.credentials.username
    assert run.body["result"]["stored_in_keyring"] == []  # env secrets are not copied


def test_wrong_password_is_exit_3_with_salesforce_text(emulator: Any, tmp_path: Path) -> None:
    config = write_config(tmp_path, emulator, **password_profile(emulator))
    env = {**password_env(emulator), "SFEXIT_PASSWORD": "not-the-password"}
    run = invoke(["--config", str(config), "login"], env=env)
    assert run.code == 3
    assert run.body == {
        "status": 3, "name": "AuthError", "exitCode": 3, "warnings": [],
        "message": "login to 127.0.0.1 failed: authentication failure (invalid_grant) (check "
                   "username, password and security token; the user may be frozen or locked "
                   "out)"}


def test_wrong_consumer_secret(emulator: Any, tmp_path: Path) -> None:
    config = write_config(tmp_path, emulator, **password_profile(emulator))
    env = {**password_env(emulator), "SFEXIT_CLIENT_SECRET": "nope"}
    run = invoke(["--config", str(config), "login"], env=env)
    assert run.code == 3
    assert run.body["message"] == (
        "login to 127.0.0.1 failed: invalid client credentials (invalid_client) (check the "
        "consumer secret (SFEXIT_CLIENT_SECRET or the keyring))")


def test_password_prompted_is_stored_and_reused_from_keyring(emulator: Any,
                                                             memory_keyring: Any) -> None:
    c = emulator.credentials
    overrides = {"login_url": emulator.url, "ca_bundle": str(emulator.ca_file),
                 **password_profile(emulator)}
    settings = load_settings(environ={}, overrides=overrides)
    answers = {"Password for 'default'": c.password,
               "Security token for 'default' (empty for none)": c.security_token,
               "Consumer secret for 'default'": c.consumer_secret}
    result = login(settings, prompt=answers.__getitem__)
    assert sorted(result.stored_in_keyring) == ["client_secret", "password", "security_token"]
    assert keyring.get_password("sfexit", "default:password") == c.password
    # a later run needs no prompt and no env: the keyring has it
    me = whoami(connect(settings))
    assert me.username == c.username


def test_client_credentials_login_and_wrong_secret(emulator: Any, tmp_path: Path) -> None:
    c = emulator.credentials
    config = write_config(tmp_path, emulator, auth="client_credentials",
                          consumer_key=c.consumer_key)
    run = invoke(["--config", str(config), "login"],
                 env={"SFEXIT_CLIENT_SECRET": c.consumer_secret})
    login_ok(run, emulator, "client_credentials")
    bad = invoke(["--config", str(config), "login"], env={"SFEXIT_CLIENT_SECRET": "x"})
    assert bad.code == 3 and "invalid client credentials (invalid_client)" in bad.body["message"]


def test_missing_secret_with_yes_fails_instead_of_prompting(emulator: Any, tmp_path: Path) -> None:
    config = write_config(tmp_path, emulator, auth="client_credentials",
                          consumer_key=emulator.credentials.consumer_key)
    before = requests_total(emulator)
    run = invoke(["--yes", "--config", str(config), "login"])
    assert run.code == 3
    assert run.body["message"] == (
        "no consumer secret for org profile 'emu' and prompting is off (set "
        "SFEXIT_CLIENT_SECRET, or run `sfexit login` in a terminal to store it in the keyring)")
    assert requests_total(emulator) == before


def test_jwt_login(emulator: Any, tmp_path: Path) -> None:
    c = emulator.credentials
    config = write_config(tmp_path, emulator, auth="jwt", username=c.username,
                          consumer_key=c.consumer_key, key_file=c.jwt_key_file)
    login_ok(invoke(["--config", str(config), "login"]), emulator, "jwt")


def test_jwt_with_the_wrong_key_is_refused(emulator: Any, tmp_path: Path) -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other = tmp_path / "other.pem"
    other.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()))
    c = emulator.credentials
    config = write_config(tmp_path, emulator, auth="jwt", username=c.username,
                          consumer_key=c.consumer_key, key_file=other)
    run = invoke(["--config", str(config), "login"])
    assert run.code == 3
    assert run.body["message"] == ("login to 127.0.0.1 failed: invalid assertion (invalid_grant) "
                                   "(check the private key, consumer_key and username)")


def test_jwt_encrypted_key_uses_the_passphrase(emulator: Any, tmp_path: Path) -> None:
    c = emulator.credentials
    key = serialization.load_pem_private_key(Path(c.jwt_key_file).read_bytes(), password=None)
    encrypted = tmp_path / "enc.pem"
    encrypted.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(b"correct horse")))
    config = write_config(tmp_path, emulator, auth="jwt", username=c.username,
                          consumer_key=c.consumer_key, key_file=encrypted)
    ok = invoke(["--config", str(config), "login"],
                env={"SFEXIT_KEY_PASSPHRASE": "correct horse"})
    login_ok(ok, emulator, "jwt")
    bad = invoke(["--config", str(config), "login"], env={"SFEXIT_KEY_PASSPHRASE": "wrong"})
    assert bad.code == 3
    assert bad.body["message"] == (f"cannot load the private key {encrypted}: wrong passphrase "
                                   "or not a PEM private key")


def frozen_user(emulator: Any) -> str:
    frozen = admin_get(emulator, "/services/data/v64.0/query",
                       q="SELECT UserId FROM UserLogin WHERE IsFrozen = true")["records"]
    assert frozen, "the seeded org has no frozen user"
    ids = [r["UserId"] for r in frozen]
    users = admin_get(emulator, "/services/data/v64.0/query",
                      q="SELECT Id, Username, IsActive FROM User WHERE IsActive = true")["records"]
    match = [u["Username"] for u in users if u["Id"] in ids]
    assert match, "no active frozen user in the seed"
    return str(match[0])


def test_frozen_user_cannot_log_in(emulator: Any, tmp_path: Path) -> None:
    c = emulator.credentials
    config = write_config(tmp_path, emulator, auth="jwt", username=frozen_user(emulator),
                          consumer_key=c.consumer_key, key_file=c.jwt_key_file)
    run = invoke(["--config", str(config), "login"])
    assert run.code == 3
    assert run.body["message"].startswith("login to 127.0.0.1 failed: authentication failure "
                                          "(invalid_grant)")


def test_soap_login_warns_and_caps_the_version(emulator: Any, tmp_path: Path) -> None:
    c = emulator.credentials
    config = write_config(tmp_path, emulator, auth="soap", username=c.username,
                          api_version="66.0")
    run = invoke(["--config", str(config), "login"], env=password_env(emulator))
    login_ok(run, emulator, "soap")
    assert run.body["warnings"] == [
        "SOAP login() is retired by Salesforce in Summer '27 (refused from API 65.0); switch "
        "this profile to auth = \"password\", \"jwt\" or \"web\""]
    bad = invoke(["--config", str(config), "login"],
                 env={**password_env(emulator), "SFEXIT_PASSWORD": "bad"})
    assert bad.code == 3
    assert bad.body["message"].startswith("SOAP login to 127.0.0.1 failed: INVALID_LOGIN: "
                                          "Invalid username, password, security token; or user "
                                          "locked out.")


def test_web_flow_with_a_browser_then_refresh_token_reuse(emulator: Any, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          memory_keyring: Any) -> None:
    c = emulator.credentials
    browser = BrowserThread(emulator, c.username, c.password + c.security_token)
    monkeypatch.setattr(webbrowser, "open", browser)
    config = write_config(tmp_path, emulator, auth="web", consumer_key=c.consumer_key)
    run = invoke(["--config", str(config), "login"])
    browser.join()
    login_ok(run, emulator, "web")
    assert browser.statuses == [200]
    assert "code_challenge_method=S256" in browser.urls[0]
    assert run.body["result"]["stored_in_keyring"] == ["refresh_token"]
    refresh = keyring.get_password("sfexit", "emu:refresh_token")
    assert refresh and refresh.startswith("5Aep861")
    # every later command uses the stored refresh token, no browser
    who = invoke(["--config", str(config), "whoami"])
    assert who.code == 0, who.output
    assert who.body["result"]["username"] == c.username
    assert len(browser.urls) == 1


def test_web_flow_no_browser_prints_the_url(emulator: Any, tmp_path: Path) -> None:
    c = emulator.credentials
    settings = load_settings(environ={}, overrides={
        "login_url": emulator.url, "ca_bundle": str(emulator.ca_file), "auth": "web",
        "consumer_key": c.consumer_key})
    statuses: list[int] = []

    def person_opens(url: str) -> None:  # what a person does with the printed URL
        import threading

        threading.Thread(target=lambda: statuses.append(drive_browser_login(
            emulator, url, c.username, c.password + c.security_token)), daemon=True).start()

    result = login(settings, show_url=person_opens, open_browser=False)
    assert result.method == "web" and statuses == [200]


def test_refresh_token_method(emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                              memory_keyring: Any) -> None:
    c = emulator.credentials
    monkeypatch.setattr(webbrowser, "open",
                        BrowserThread(emulator, c.username, c.password + c.security_token))
    web = write_config(tmp_path, emulator, name="w", auth="web", consumer_key=c.consumer_key)
    assert invoke(["--config", str(web), "login"]).code == 0
    refresh = keyring.get_password("sfexit", "w:refresh_token")
    assert refresh
    config = write_config(tmp_path, emulator, auth="refresh_token", consumer_key=c.consumer_key)
    login_ok(invoke(["--config", str(config), "login"], env={"SFEXIT_REFRESH_TOKEN": refresh}),
             emulator, "refresh_token")
    bad = invoke(["--config", str(config), "login"], env={"SFEXIT_REFRESH_TOKEN": "5Aep861bad"})
    assert bad.code == 3
    assert bad.body["message"] == (
        "login to 127.0.0.1 failed: expired access/refresh token (invalid_grant) (the refresh "
        "token was revoked or expired: run `sfexit login` again)")


def test_plain_session_from_env(emulator: Any) -> None:
    env = {"SFEXIT_INSTANCE_URL": emulator.url, "SFEXIT_ACCESS_TOKEN": emulator.new_token(),
           "SFEXIT_CA_BUNDLE": str(emulator.ca_file)}
    run = invoke(["whoami"], env=env)
    assert run.code == 0, run.output
    assert run.body["result"]["instance_url"] == emulator.url
    dead = invoke(["whoami"], env={**env, "SFEXIT_ACCESS_TOKEN": emulator.org_id[:15] + "!AQdead"})
    assert dead.code == 3
    assert dead.body["message"] == ("the access token has expired or was revoked (set a fresh "
                                    "SFEXIT_ACCESS_TOKEN, or use another auth method)")


def test_logout_revokes_and_forgets(emulator: Any, tmp_path: Path,
                                    monkeypatch: pytest.MonkeyPatch, memory_keyring: Any) -> None:
    c = emulator.credentials
    monkeypatch.setattr(webbrowser, "open",
                        BrowserThread(emulator, c.username, c.password + c.security_token))
    config = write_config(tmp_path, emulator, auth="web", consumer_key=c.consumer_key)
    assert invoke(["--config", str(config), "login"]).code == 0
    refresh = keyring.get_password("sfexit", "emu:refresh_token")
    out = invoke(["--config", str(config), "logout"])
    assert out.code == 0, out.output
    assert out.body["result"] == {"org_profile": "emu", "revoked": True,
                                  "deleted_from_keyring": ["refresh_token"]}
    assert keyring.get_password("sfexit", "emu:refresh_token") is None
    again = invoke(["--config", str(config), "--yes", "whoami"])
    assert again.code == 3
    assert again.body["message"] == ("not logged in to org profile 'emu' (run `sfexit login` "
                                     "(web login in a browser))")
    # the revoked refresh token is dead at the org too
    reuse = invoke(["--config", str(config), "login", "--method", "refresh_token"],
                   env={"SFEXIT_REFRESH_TOKEN": str(refresh)})
    assert reuse.code == 3 and "expired access/refresh token" in reuse.body["message"]


def test_http_login_url_is_refused_before_any_connection(emulator: Any) -> None:
    before = requests_total(emulator)
    http_url = emulator.url.replace("https://", "http://")
    run = invoke(["login", "--login-url", http_url, "--method", "client_credentials",
                  "--consumer-key", "k"], env={"SFEXIT_CLIENT_SECRET": "s"})
    assert run.code == 2
    assert run.body["message"].endswith(
        f"orgs.default.login_url: {http_url} is not HTTPS; sfexit only connects over https://")
    env = {"SFEXIT_INSTANCE_URL": http_url, "SFEXIT_ACCESS_TOKEN": emulator.token}
    run = invoke(["whoami"], env=env)
    assert run.code == 2 and "is not HTTPS" in run.body["message"]
    assert requests_total(emulator) == before


def test_library_connect_raises_typed_errors(emulator: Any) -> None:
    settings = load_settings(environ={**password_env(emulator), "SFEXIT_PASSWORD": "bad"},
                             overrides={"login_url": emulator.url,
                                        "ca_bundle": str(emulator.ca_file),
                                        **password_profile(emulator)})
    with pytest.raises(errors.AuthError):
        connect(settings)


def test_without_a_keyring_env_secrets_work_and_typed_ones_are_not_written(
        emulator: Any, tmp_path: Path) -> None:
    from keyring.backends import fail

    keyring.set_keyring(fail.Keyring())
    config = write_config(tmp_path, emulator, **password_profile(emulator))
    run = invoke(["--config", str(config), "whoami"], env=password_env(emulator))
    assert run.code == 0, run.output
    settings = load_settings(config, environ={})
    asked: list[str] = []
    with pytest.raises(errors.KeyringUnavailableError) as info:
        login(settings, prompt=lambda q: asked.append(q) or "typed")
    assert asked == []   # said before asking, not after three prompts
    assert info.value.one_line() == (
        "no OS keyring is available, so sfexit cannot keep the password, consumer secret this "
        "login needs; sfexit never writes secrets to a file (set SFEXIT_PASSWORD, "
        "SFEXIT_CLIENT_SECRET in the environment, or install a keyring "
        "backend (e.g. Secret Service / gnome-keyring))")
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert written == [config]


def test_login_with_flags_saves_the_profile_and_config_show_says_where_secrets_are(
        emulator: Any, tmp_path: Path) -> None:
    c = emulator.credentials
    config = tmp_path / "sub" / "config.toml"
    flags = ["--config", str(config), "--org", "emu", "login", "--method", "password",
             "--login-url", emulator.url, "--username", c.username, "--consumer-key",
             c.consumer_key, "--ca-bundle", str(emulator.ca_file)]
    run = invoke(flags, env=password_env(emulator))
    assert run.code == 0, run.output
    assert run.body["result"]["saved_to"] == str(config)
    again = invoke(["--config", str(config), "whoami"], env=password_env(emulator))
    assert again.code == 0, again.output   # no flags needed any more
    assert invoke(flags, env=password_env(emulator)).body["result"]["saved_to"] is None
    text = config.read_text(encoding="utf-8")
    assert "[orgs.emu]" in text and c.password not in text
    shown = invoke(["--config", str(config), "config", "show"],
                   env={"SFEXIT_PASSWORD": c.password})
    assert shown.code == 0, shown.output
    state = shown.body["result"]
    assert state["config_file"] == str(config) and state["profile"]["name"] == "emu"
    sources = {s["kind"]: s["source"] for s in state["secrets"]}
    assert sources == {"password": "env", "security_token": "missing",
                       "client_secret": "missing"}
    assert state["login"].startswith("not logged in: no consumer secret")
    assert c.password not in shown.output
    from click.testing import CliRunner

    from sfexit.cli import cli

    human = CliRunner().invoke(cli, ["--config", str(config), "config", "show"], env={})
    assert f"Config file:  {config}" in human.stdout and "Org profile:  emu" in human.stdout
