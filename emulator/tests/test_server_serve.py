"""``sfexit-emulator serve`` (and sfexit's ``sfexit emulator serve`` alias): URL on the first line, credentials, clean exit on SIGTERM/SIGINT."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
import requests
from click.testing import CliRunner

from sfexit_emulator.cli import main as cli


def _start(*args: str) -> subprocess.Popen[str]:
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    return subprocess.Popen([sys.executable, "-m", "sfexit_emulator", "serve", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)


def _read_header(process: subprocess.Popen[str]) -> tuple[str, dict[str, str]]:
    assert process.stdout is not None
    url = process.stdout.readline().strip()
    fields: dict[str, str] = {}
    while len(fields) < 10:
        name, _, value = process.stdout.readline().strip().partition(": ")
        fields[name] = value
    return url, fields


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_serve_prints_url_first_and_stops_cleanly(sig: signal.Signals, tmp_path) -> None:
    ca_file = tmp_path / "ca.pem"
    process = _start("--port", "0", "--ca-file", str(ca_file), "--admin-token", "00D!given")
    try:
        url, fields = _read_header(process)
        assert url.startswith("https://127.0.0.1:")
        assert fields["ca_file"] == str(ca_file) and ca_file.exists()
        for key in ("username", "password", "security_token", "consumer_key", "consumer_secret",
                    "admin_token", "jwt_key_file"):
            assert fields[key], key
        assert fields["admin_token"] == "00D!given"
        response = requests.get(url + "/services/data/v68.0", verify=str(ca_file),
                                headers={"Authorization": "Bearer 00D!given"}, timeout=30)
        assert response.status_code == 200
        process.send_signal(sig)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_serve_plain_http() -> None:
    process = _start("--no-tls")
    try:
        url, fields = _read_header(process)
        assert url.startswith("http://127.0.0.1:")
        assert requests.get(url + "/services/data", timeout=30).status_code == 200
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_serve_refuses_a_non_loopback_host() -> None:
    result = CliRunner().invoke(cli, ["serve", "--host", "0.0.0.0"])
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines() if result.stderr else result.output.splitlines()
    assert len(lines) == 1
    assert "--host 0.0.0.0 is not a loopback address" in lines[0]


def test_serve_prints_a_profile_to_paste_and_takes_the_weekly_export_time(tmp_path) -> None:
    import tomllib

    process = _start("--weekly-export-seconds", "5")
    try:
        url, fields = _read_header(process)
        assert process.stdout is not None
        rest: list[str] = []
        while not rest or not rest[-1].startswith("#   session:"):
            rest.append(process.stdout.readline().rstrip("\n"))
        assert rest[0] == ""   # the name: value lines scripts read come first, unchanged
        profile = tomllib.loads("\n".join(line for line in rest if line))
        assert profile["default_org"] == "emulator"
        org = profile["orgs"]["emulator"]
        assert org["login_url"] == url and org["username"] == fields["username"]
        assert org["ca_bundle"] == fields["ca_file"]
        assert not any(": " in line for line in rest if not line.startswith("#"))
        methods = [line.split(":")[0].strip("# ") for line in rest if line.startswith("#   ")]
        assert {"password", "jwt", "client_credentials", "web", "soap", "session"} <= set(methods)
        state = requests.get(url + "/__emulator__/dataexport", verify=fields["ca_file"],
                             timeout=30).json()
        assert state["settings"]["generation_seconds"] == 5
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
