"""The secrets suite (issue 19): after every auth method and every command, run with -v and with
--json, no token, password, security token, client secret or key material appears in any
output, log record or file under the test's folders (HOME included).

The auth commands of every method are in test_auth_no_secrets.py; this suite adds the methods
it does not run (refresh token, a plain session, the Salesforce CLI) and every other command,
including a real offboarding (freeze, reassign, report) on a private org.
"""

from __future__ import annotations

import json
import logging
import os
import re
import socket
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import keyring
import pytest
from click.testing import CliRunner

from auth_support import (FAKE_SF, BrowserThread, on_org_clock, password_env, password_profile,
                          write_config)
from offboard_support import offboard_config
from sfexit.cli import cli

TOKEN_SHAPE = re.compile(r"00D\w{12,15}![.\w]+")
REFRESH_SHAPE = re.compile(r"5Aep861\w+")
KEY_SHAPE = re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----|MII[A-Za-z0-9+/]{60}")
FLAGS = (["-v"], ["--json"], ["-v", "--json"])


class Runs:
    """Every invocation's output, kept for the final scan."""

    def __init__(self, env: dict[str, str], org: Any) -> None:
        self.env = env
        self.org = org
        self.texts: list[tuple[str, str]] = []
        self.codes: list[tuple[str, int]] = []

    def run(self, *args: str, flags: Iterable[list[str]] = FLAGS,
            env: dict[str, str] | None = None) -> None:
        for flag in flags:
            result = CliRunner().invoke(cli, [*flag, *args], env=env or self.env,
                                        obj=on_org_clock(self.org))
            where = " ".join([*flag, *args])
            self.texts.append((f"output of {where}", result.stdout + result.stderr))
            self.codes.append((where, result.exit_code))


def secrets_of(emulator: Any) -> set[str]:
    c = emulator.credentials
    key = Path(c.jwt_key_file).read_text(encoding="utf-8")
    body = "".join(line for line in key.splitlines() if "PRIVATE KEY" not in line)
    return {c.password, c.security_token, c.consumer_secret, c.password + c.security_token,
            emulator.token, body[:40], body[-40:]}


def scan(texts: list[tuple[str, str]], secrets: set[str], caplog: pytest.LogCaptureFixture,
         roots: Iterable[Path]) -> int:
    """Assert no secret anywhere; return how many texts were scanned."""
    texts = list(texts) + [(f"log {r.name}", r.getMessage()) for r in caplog.records]
    for root in roots:
        for path in root.rglob("*"):
            if path.is_file() and path.suffix != ".pem" and "sf-state" not in path.name:
                texts.append((f"file {path}", path.read_text(errors="replace")))
    for where, text in texts:
        for secret in secrets:
            assert secret not in text, f"a secret in {where}"
        for shape in (TOKEN_SHAPE, REFRESH_SHAPE, KEY_SHAPE):
            assert not shape.search(text), f"{shape.pattern} in {where}"
    return len(texts)


def test_every_read_command_with_every_auth_method_leaks_nothing(
        emulator: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch, memory_keyring: Any) -> None:
    caplog.set_level(logging.DEBUG)
    c = emulator.credentials
    secrets = secrets_of(emulator)
    monkeypatch.setattr("webbrowser.open",
                        BrowserThread(emulator, c.username, c.password + c.security_token))
    runs = Runs(password_env(emulator), emulator)
    # A free loopback port (RFC 8252 §7.3): other test runs on this machine may hold 1717.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    web = write_config(tmp_path / "w", emulator, name="w", auth="web",
                       consumer_key=c.consumer_key,
                       redirect_uri=f"http://localhost:{port}/OauthRedirect")
    runs.run("--config", str(web), "login", flags=[["-v"]])
    assert runs.codes[-1][1] == 0, runs.texts[-1]
    refresh = keyring.get_password("sfexit", "w:refresh_token")
    assert refresh
    secrets.add(refresh)
    sf_token = emulator.new_token()
    plain_token = emulator.new_token()
    secrets |= {sf_token, plain_token}
    sf_state = tmp_path / "sf-state.json"
    sf_state.write_text(json.dumps({
        "alias": "acme", "instanceUrl": emulator.url + "/", "username": c.username,
        "orgId": emulator.org_id, "accessTokens": [sf_token], "connectedStatus": "Connected",
        "redact": True, "showAccessToken": True}), encoding="utf-8")
    methods = {
        "refresh_token": (write_config(tmp_path / "r", emulator, auth="refresh_token",
                                       consumer_key=c.consumer_key),
                          {**runs.env, "SFEXIT_REFRESH_TOKEN": refresh}),
        "session": (Path("/dev/null"), {"SFEXIT_INSTANCE_URL": emulator.url,
                                        "SFEXIT_ACCESS_TOKEN": plain_token,
                                        "SFEXIT_CA_BUNDLE": str(emulator.ca_file)}),
        "sf": (write_config(tmp_path / "f", emulator, auth="sf", sf_alias="acme",
                            sf_path=str(FAKE_SF)),
               {"FAKE_SF_STATE": str(sf_state), "FAKE_SF_LOG": str(tmp_path / "sf.log")}),
        "password": (write_config(tmp_path / "p", emulator, **password_profile(emulator)),
                     runs.env),
    }
    for config, env in methods.values():
        for command in (["whoami"], ["limits"], ["users", "list"]):
            runs.run("--config", str(config), *command, env=env)
    # Every read-only command once per output mode, with the password method.
    config, env = methods["password"]
    dest = tmp_path / "backup"
    base = ["--config", str(config)]
    runs.run(*base, "users", "licences", env=env)
    runs.run(*base, "export", "bulk", "--dest", str(dest), "--objects", "Account,Contact",
             "--no-files", env=env, flags=[["-v", "--json"]])
    runs.run(*base, "export", "files", "--dest", str(dest), "--parallel", "2", env=env,
             flags=[["-v", "--json"]])
    runs.run(*base, "export", "verify", str(dest), env=env)
    runs.run(*base, "export", "weekly", "--status", env=env, flags=[["-v", "--json"]])
    runs.run(*base, "users", "freeze", "--all-active", "--dry-run", env=env)
    runs.run(*base, "deadline", "--start", "2026-01-01", "--end", "2027-01-01", env=env)
    runs.run(*base, "notice", "--out", str(tmp_path / "notice.md"), "--force", "--start",
             "2026-01-01", "--end", "2027-01-01", env=env)
    # Failures too: a wrong password, a dead plain token.
    runs.run(*base, "whoami", env={**env, "SFEXIT_PASSWORD": "Wr0ng-Passw0rd"},
             flags=[["-v"], ["-v", "--json"]])
    secrets.add("Wr0ng-Passw0rd")
    dead = emulator.org_id[:15] + "!AQdeadTokenValue"
    runs.run("--config", "/dev/null", "whoami", flags=[["-v"], ["-v", "--json"]],
             env={**methods["session"][1], "SFEXIT_ACCESS_TOKEN": dead})
    secrets.add(dead)

    failed = [(where, code) for where, code in runs.codes if code not in (0, 3, 5)]
    assert not failed, failed
    assert sum(code == 0 for _, code in runs.codes) >= 40, runs.codes
    assert any("debug: sfexit.org" in text for _, text in runs.texts)
    scanned = scan(runs.texts, secrets, caplog, (tmp_path, Path(os.environ["HOME"])))
    assert scanned > len(runs.texts)


def test_a_real_offboarding_leaks_nothing(fresh_emulator: Any, tmp_path: Path,
                                          caplog: pytest.LogCaptureFixture,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    caplog.set_level(logging.DEBUG)
    org = fresh_emulator
    config = offboard_config(tmp_path, org)
    runs = Runs(password_env(org), org)
    runs.run("--config", str(config), "offboard", "--dry-run", "--run-dir",
             str(tmp_path / "plan"), flags=[["-v", "--json"]])
    runs.run("--config", str(config), "--yes", "offboard", "--run-dir", str(tmp_path / "run"),
             flags=[["-v", "--json"]])
    runs.run("--config", str(config), "report", "render", str(tmp_path / "run"))
    runs.run("--config", str(config), "report", "verify", str(tmp_path / "run"))
    assert [code for _, code in runs.codes][:2] == [0, 0], runs.texts[:2]
    assert (tmp_path / "run" / "journal.jsonl").exists()
    scan(runs.texts, secrets_of(org), caplog, (tmp_path, Path(os.environ["HOME"])))
