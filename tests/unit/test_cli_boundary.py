"""The one error boundary: every failure is one line and a documented exit code."""

import json

import click
import pytest
from click.testing import CliRunner

from sfexit import errors
from sfexit.cli import cli


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


def _add_failing_command(exc: BaseException) -> str:
    name = f"fail-{type(exc).__name__.lower()}"

    @cli.command(name=name, hidden=True)
    def _cmd() -> None:
        raise exc

    return name


def test_unknown_command_is_usage_error_exit_2(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["bogus"])
    assert result.exit_code == 2
    assert "No such command 'bogus'" in result.stderr


def test_json_failure_envelope_for_usage_error(runner: CliRunner) -> None:
    result = runner.invoke(cli, ["--json", "bogus"])
    assert result.exit_code == 2
    body = json.loads(result.stdout)
    assert body == {"status": 2, "name": "UsageError", "message": "No such command 'bogus'.",
                    "exitCode": 2, "warnings": []}


@pytest.mark.parametrize(
    ("exc", "code"),
    [
        (errors.AuthError("session expired", hint="run sfexit login"), 3),
        (errors.ApiLimitError("TotalRequests Limit exceeded."), 4),
        (errors.PartialFailure("3 records failed"), 5),
        (errors.ConfigError("bad key"), 2),
        (KeyboardInterrupt(), 130),
        (RuntimeError("boom\nsecond line"), 1),
    ],
)
def test_exceptions_map_to_exit_codes_and_one_line(runner: CliRunner, exc: BaseException,
                                                   code: int) -> None:
    name = _add_failing_command(exc)
    result = runner.invoke(cli, [name])
    assert result.exit_code == code
    lines = [ln for ln in result.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr


def test_verbose_shows_traceback(runner: CliRunner) -> None:
    name = _add_failing_command(ValueError("kaboom"))
    result = runner.invoke(cli, ["-v", name])
    assert result.exit_code == 1
    assert "Traceback" in result.stderr


def test_hint_is_part_of_the_line(runner: CliRunner) -> None:
    name = _add_failing_command(errors.AuthError("session expired", hint="run sfexit login"))
    result = runner.invoke(cli, ["--json", name])
    body = json.loads(result.stdout)
    assert body["name"] == "AuthError"
    assert body["message"] == "session expired (run sfexit login)"
    assert body["exitCode"] == 3


def test_click_exceptions_keep_their_messages(runner: CliRunner) -> None:
    name = _add_failing_command(click.BadParameter("not a date", param_hint="--end"))
    result = runner.invoke(cli, [name])
    assert result.exit_code == 2
    assert "not a date" in result.stderr


@pytest.mark.parametrize("args", [[], ["export"], ["users"]])
def test_a_bare_command_prints_its_help_not_an_error(runner: CliRunner, args: list[str]) -> None:
    result = runner.invoke(cli, args)
    assert result.exit_code == 0
    assert result.stdout.startswith("Usage: ") and "Commands:" in result.stdout
    assert "Error" not in result.output
