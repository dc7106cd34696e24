"""No secret appears in any output, log record or file: every auth command, with -v and --json."""

from __future__ import annotations

import logging
import re
import webbrowser
from pathlib import Path
from typing import Any

import keyring
import pytest
from click.testing import CliRunner

from auth_support import BrowserThread, password_env, password_profile, write_config
from sfexit.cli import cli

TOKEN_SHAPE = re.compile(r"00D\w{12,15}![.\w]+")
REFRESH_SHAPE = re.compile(r"5Aep861\w+")


def test_no_secret_in_output_logs_or_files(emulator: Any, tmp_path: Path,
                                           caplog: pytest.LogCaptureFixture,
                                           monkeypatch: pytest.MonkeyPatch,
                                           memory_keyring: Any) -> None:
    caplog.set_level(logging.DEBUG)
    c = emulator.credentials
    secrets = {c.password, c.security_token, c.consumer_secret, c.password + c.security_token,
               emulator.token}
    env = password_env(emulator)
    monkeypatch.setattr(webbrowser, "open",
                        BrowserThread(emulator, c.username, c.password + c.security_token))
    configs = {
        "password": write_config(tmp_path / "p", emulator, **password_profile(emulator)),
        "soap": write_config(tmp_path / "s", emulator, auth="soap", username=c.username),
        "jwt": write_config(tmp_path / "j", emulator, auth="jwt", username=c.username,
                            consumer_key=c.consumer_key, key_file=c.jwt_key_file),
        "web": write_config(tmp_path / "w", emulator, auth="web", consumer_key=c.consumer_key),
        "cc": write_config(tmp_path / "c", emulator, auth="client_credentials",
                           consumer_key=c.consumer_key),
    }
    runs = []
    for name, config in configs.items():
        for command in (["login"], ["whoami"], ["limits"], ["logout"]):
            for flags in (["-v"], ["--json"], ["-v", "--json"]):
                result = CliRunner().invoke(cli, [*flags, "--config", str(config), *command],
                                            env=env)
                runs.append((name, command, flags, result))
        if name == "web":
            refresh = keyring.get_password("sfexit", "w:refresh_token")
            if refresh:
                secrets.add(refresh)
    # failures too: wrong password, dead token
    for bad_env in ({**env, "SFEXIT_PASSWORD": "Wr0ng-Passw0rd"},
                    {"SFEXIT_INSTANCE_URL": emulator.url,
                     "SFEXIT_ACCESS_TOKEN": emulator.org_id[:15] + "!AQdeadTokenValue",
                     "SFEXIT_CA_BUNDLE": str(emulator.ca_file)}):
        secrets.update({bad_env.get("SFEXIT_PASSWORD", ""), bad_env.get("SFEXIT_ACCESS_TOKEN",
                                                                        "")} - {""})
        for flags in (["-v"], ["-v", "--json"]):
            args = [*flags, "whoami"] if "SFEXIT_INSTANCE_URL" in bad_env else [
                *flags, "--config", str(configs["password"]), "login"]
            runs.append(("bad", args, flags, CliRunner().invoke(cli, args, env=bad_env)))

    ok = [(n, cmd, f) for n, cmd, f, r in runs if r.exit_code == 0]
    assert len(ok) == 60, [(n, cmd, f, r.exit_code, r.stderr[-300:]) for n, cmd, f, r in runs
                           if r.exit_code != 0]
    texts = [("output", f"{n} {cmd} {f}", r.stdout + r.stderr) for n, cmd, f, r in runs]
    texts += [("log", rec.name, rec.getMessage()) for rec in caplog.records]
    home = Path(__import__("os").environ["HOME"])
    for root in (home, tmp_path):
        for path in root.rglob("*"):
            if path.is_file() and path.suffix != ".pem":
                texts.append(("file", str(path), path.read_text(errors="replace")))
    assert any("debug: sfexit.org" in t for kind, _, t in texts if kind == "output")
    for kind, where, text in texts:
        for secret in secrets:
            assert secret not in text, f"a secret in {kind} {where}"
        assert not TOKEN_SHAPE.search(text), f"an access token in {kind} {where}"
        assert not REFRESH_SHAPE.search(text), f"a refresh token in {kind} {where}"
