"""`sfexit whoami` and `sfexit limits` against the emulator: human text and --json envelopes."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from auth_support import admin_get, invoke, password_env, password_profile, write_config
from sfexit.cli import cli


def test_whoami_json_fields(emulator: Any, tmp_path: Path) -> None:
    config = write_config(tmp_path, emulator, **password_profile(emulator))
    run = invoke(["--config", str(config), "whoami"], env=password_env(emulator))
    assert run.code == 0, run.output
    org = admin_get(emulator, "/services/data/v64.0/query",
                    q="SELECT Id, Name, OrganizationType, IsSandbox FROM Organization")
    row = org["records"][0]
    result = run.body["result"]
    assert set(result) == {"org_id", "org_name", "edition", "is_sandbox", "instance_url",
                           "api_version", "username", "user_id", "profile"}
    assert result["org_id"] == row["Id"]
    assert result["org_name"] == row["Name"]
    assert result["edition"] == row["OrganizationType"]
    assert result["is_sandbox"] is row["IsSandbox"]
    assert result["instance_url"] == emulator.url
    assert result["api_version"] == "68.0"  # the newest the emulator lists
    assert result["username"] == emulator.credentials.username
    assert result["profile"] == "System Administrator"
    assert run.body["warnings"] == []


def test_whoami_human_output(emulator: Any, tmp_path: Path) -> None:
    config = write_config(tmp_path, emulator, api_version="62.0", **password_profile(emulator))
    result = CliRunner().invoke(cli, ["--config", str(config), "whoami"],
                                env=password_env(emulator))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [ln.split(":")[0] for ln in lines] == [
        "Org id", "Org name", "Edition", "Sandbox", "Instance", "API version", "User", "User id",
        "Profile"]
    assert "API version: 62.0" in result.stdout
    assert f"User:        {emulator.credentials.username}" in result.stdout
    assert result.stderr == ""


def test_limits_json(emulator: Any, tmp_path: Path) -> None:
    config = write_config(tmp_path, emulator, **password_profile(emulator))
    run = invoke(["--config", str(config), "limits"], env=password_env(emulator))
    assert run.code == 0, run.output
    limits = run.body["result"]["limits"]
    assert list(limits)[:4] == ["DailyApiRequests", "DailyBulkV2QueryJobs",
                                "DailyBulkV2QueryFileStorageMB", "DailyBulkApiBatches"]
    api = limits["DailyApiRequests"]
    assert set(api) == {"max", "remaining", "used"}
    assert api["used"] == api["max"] - api["remaining"] and api["used"] > 0


def test_limits_table(emulator: Any, tmp_path: Path) -> None:
    config = write_config(tmp_path, emulator, **password_profile(emulator))
    result = CliRunner().invoke(cli, ["--config", str(config), "limits"],
                                env=password_env(emulator))
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["Limit", "Max", "Remaining", "Used"]
    assert lines[2].split()[0] == "DailyApiRequests"
    assert "," in lines[2].split()[1]   # thousands separated: 15,000, not 15000


def test_no_org_profile_is_a_config_error(tmp_path: Path) -> None:
    """It names the path it searched and suggests only what whoami (every command) has."""
    from sfexit.config import default_config_path

    run = invoke(["whoami"])
    assert run.code == 2
    assert run.body["name"] == "ConfigError"
    message = run.body["message"]
    assert message.startswith(f"no org profile: no config file at {default_config_path()} (run "
                              "`sfexit login --login-url URL --method METHOD ...`")
    assert "--instance-url" not in message and "--org /" not in message
    config = tmp_path / "c.toml"
    config.write_text('[contract]\nstart = 2026-01-01\nend = 2026-12-31\n', encoding="utf-8")
    run = invoke(["--config", str(config), "whoami"])
    assert run.body["message"].startswith(f"no org profile: {config} has no [orgs.NAME] table")


def test_verbose_logs_redacted_debug_lines_for_one_run_only(emulator: Any, tmp_path: Path) -> None:
    config = write_config(tmp_path, emulator, **password_profile(emulator))
    args = ["--config", str(config), "whoami"]
    verbose = CliRunner().invoke(cli, ["-v", *args], env=password_env(emulator))
    assert verbose.exit_code == 0
    assert "debug: sfexit.org: GET https://127.0.0.1:" in verbose.stderr
    assert "/services/oauth2/userinfo -> 200" in verbose.stderr
    # Each line says when it happened, so a slow run shows where it waits.
    assert re.search(r"userinfo -> 200 \(\d+ ms\) \[at \d+ ms\]$", verbose.stderr, re.M)
    quiet = CliRunner().invoke(cli, args, env=password_env(emulator))
    assert quiet.exit_code == 0 and quiet.stderr == ""
