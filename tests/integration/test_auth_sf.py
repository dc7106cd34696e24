"""Reusing a Salesforce CLI login through a stand-in `sf` that prints the documented shapes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests

from auth_support import FAKE_SF, invoke, write_config


def fake_sf_state(tmp_path: Path, emulator: Any, **changes: Any) -> dict[str, str]:
    state = {"alias": "acme", "instanceUrl": emulator.url + "/",  # sf keeps the trailing slash
             "username": emulator.credentials.username, "orgId": emulator.org_id,
             "accessTokens": [emulator.new_token()], "connectedStatus": "Connected",
             "redact": True, "showAccessToken": True}
    state.update(changes)
    path = tmp_path / "sf-state.json"
    path.write_text(json.dumps(state), encoding="utf-8")
    return {"FAKE_SF_STATE": str(path), "FAKE_SF_LOG": str(tmp_path / "sf-calls.log")}


def sf_calls(tmp_path: Path) -> list[list[str]]:
    log = tmp_path / "sf-calls.log"
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def sf_config(tmp_path: Path, emulator: Any, alias: str = "acme") -> Path:
    return write_config(tmp_path, emulator, auth="sf", sf_alias=alias, sf_path=str(FAKE_SF))


def revoke(emulator: Any, token: str) -> None:
    response = requests.post(emulator.url + "/services/oauth2/revoke", data={"token": token},
                             verify=str(emulator.ca_file), timeout=30)
    assert response.status_code == 200


def test_redacted_display_token_comes_from_show_access_token(emulator: Any,
                                                             tmp_path: Path) -> None:
    env = fake_sf_state(tmp_path, emulator)
    run = invoke(["--config", str(sf_config(tmp_path, emulator)), "whoami"], env=env)
    assert run.code == 0, run.output
    assert run.body["result"]["instance_url"] == emulator.url
    assert sf_calls(tmp_path) == [
        ["org", "display", "--target-org", "acme", "--json"],
        ["org", "auth", "show-access-token", "--target-org", "acme", "--json"]]


def test_older_sf_shows_the_token_in_org_display(emulator: Any, tmp_path: Path) -> None:
    env = fake_sf_state(tmp_path, emulator, redact=False, showAccessToken=False)
    run = invoke(["--config", str(sf_config(tmp_path, emulator)), "whoami"], env=env)
    assert run.code == 0, run.output


def test_dead_sf_session_is_refused(emulator: Any, tmp_path: Path) -> None:
    env = fake_sf_state(tmp_path, emulator, connectedStatus="Session expired or invalid")
    run = invoke(["--config", str(sf_config(tmp_path, emulator)), "whoami"], env=env)
    assert run.code == 3
    assert run.body["message"] == ("the Salesforce CLI login 'acme' is not connected: Session "
                                   "expired or invalid (run `sf org login web --alias acme` "
                                   "again)")


def test_unknown_alias(emulator: Any, tmp_path: Path) -> None:
    env = fake_sf_state(tmp_path, emulator)
    run = invoke(["--config", str(sf_config(tmp_path, emulator, alias="nope")), "whoami"],
                 env=env)
    assert run.code == 3
    assert run.body["message"] == ("`sf org display` failed: No authorization information found "
                                   "for nope.")


def test_invalid_session_asks_sf_again(emulator: Any, tmp_path: Path) -> None:
    stale, fresh = emulator.new_token(), emulator.new_token()
    revoke(emulator, stale)
    env = fake_sf_state(tmp_path, emulator, accessTokens=[stale, fresh])
    run = invoke(["--config", str(sf_config(tmp_path, emulator)), "whoami"], env=env)
    assert run.code == 0, run.output
    assert [c[:3] for c in sf_calls(tmp_path)] == [
        ["org", "display", "--target-org"], ["org", "auth", "show-access-token"],
        ["org", "display", "--target-org"], ["org", "auth", "show-access-token"]]


def test_sf_not_installed(emulator: Any, tmp_path: Path) -> None:
    config = write_config(tmp_path, emulator, auth="sf", sf_alias="acme",
                          sf_path=str(tmp_path / "no-such-sf"))
    run = invoke(["--config", str(config), "whoami"])
    assert run.code == 3
    assert run.body["message"] == (f"the Salesforce CLI was not found ({tmp_path / 'no-such-sf'}) "
                                   "(install sf, or set SFEXIT_SF_PATH / sf_path in the profile)")


@pytest.mark.parametrize("variable", ["SFEXIT_SF_PATH"])
def test_sf_path_from_env(emulator: Any, tmp_path: Path, variable: str) -> None:
    env = fake_sf_state(tmp_path, emulator)
    config = write_config(tmp_path, emulator, auth="sf", sf_alias="acme")
    run = invoke(["--config", str(config), "whoami"], env={**env, variable: str(FAKE_SF)})
    assert run.code == 0, run.output
