"""The CLI reads settings through AppContext.settings(): --config, --org, SFEXIT_*, NO_COLOR."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from sfexit.cli import cli


def config(tmp_path: Path) -> Path:
    path = tmp_path / "config.toml"
    path.write_text('[orgs.prod]\nauth = "sf"\nsf_alias = "acme"\n', encoding="utf-8")
    return path


def test_unknown_org_on_the_command_is_exit_2(tmp_path: Path) -> None:
    path = config(tmp_path)
    result = CliRunner().invoke(cli, ["--config", str(path), "whoami", "--org", "staging",
                                      "--json"])
    assert result.exit_code == 2
    assert json.loads(result.stdout) == {
        "status": 2, "name": "ConfigError", "exitCode": 2, "warnings": [],
        "message": f"{path}: --org: no org profile [orgs.staging] (profiles: prod)"}


def test_sfexit_org_env_is_used(tmp_path: Path) -> None:
    path = config(tmp_path)
    result = CliRunner().invoke(cli, ["--json", "whoami"],
                                env={"SFEXIT_CONFIG": str(path), "SFEXIT_ORG": "qa"})
    assert result.exit_code == 2
    assert json.loads(result.stdout)["message"] == (
        f"{path}: SFEXIT_ORG: no org profile [orgs.qa] (profiles: prod)")


def test_bad_config_is_one_line_on_stderr(tmp_path: Path) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[contract]\nstart = "someday"\n', encoding="utf-8")
    result = CliRunner().invoke(cli, ["--config", str(path), "whoami"])
    assert result.exit_code == 2
    assert result.stderr == (f"Error: {path}: contract.start: expected a date like 2025-01-31, "
                             "got 'someday'\n")


def test_no_color_env_turns_colour_off(tmp_path: Path) -> None:
    path = config(tmp_path)
    args = ["whoami", "--org", "nope"]
    coloured = CliRunner().invoke(cli, ["--config", str(path), *args], color=True)
    assert "\x1b[" in coloured.stderr
    plain = CliRunner().invoke(cli, ["--config", str(path), *args], color=True,
                               env={"NO_COLOR": "1"})
    assert plain.exit_code == 2
    assert "\x1b[" not in plain.stderr and plain.stderr.startswith("Error: ")


def test_login_without_a_config_file_names_the_missing_value() -> None:
    result = CliRunner().invoke(cli, ["--json", "login", "--login-url",
                                      "https://acme.my.salesforce.com"])
    assert result.exit_code == 2
    assert json.loads(result.stdout)["message"] == (
        "no config file: orgs.default.consumer_key: required for auth = \"web\"")
