"""Output.partial: a result that is also a failure keeps both, and the exit code says which."""

from __future__ import annotations

import json
from typing import Any

import click
import pytest
from click.testing import CliRunner

from sfexit import errors
from sfexit.cli import cli
from sfexit.cli.context import AppContext, json_option, pass_app
from sfexit.cli.output import Output

RESULT = {"changed": 2, "failed": [{"id": "005x", "reason": "UNABLE_TO_LOCK_ROW"}]}
MESSAGE = "1 of 3 users could not be frozen: 005x (UNABLE_TO_LOCK_ROW)"


@pytest.fixture(scope="module")
def partial_command() -> str:
    """A hidden command ending like the export/users commands: ``return app.out.partial(...)``."""
    name = "test-partial-output"

    @cli.command(name=name, hidden=True)
    @click.option("--code", type=int, default=errors.EXIT_PARTIAL)
    @json_option
    @pass_app
    def _cmd(app: AppContext, code: int) -> int:
        app.out.warn("one warning")
        return app.out.partial(RESULT, lambda: "2 changed, 1 failed", name="PartialFailure",
                               message=MESSAGE, exit_code=code)

    return name


def test_json_partial_envelope_has_the_exit_code_as_status_and_the_result(
        partial_command: str) -> None:
    run = CliRunner().invoke(cli, ["--json", partial_command])
    assert run.exit_code == errors.EXIT_PARTIAL
    assert json.loads(run.stdout) == {
        "status": 5, "name": "PartialFailure", "message": MESSAGE, "exitCode": 5,
        "result": RESULT, "warnings": ["one warning"]}
    assert run.stderr == ""


def test_json_partial_envelope_follows_another_exit_code(partial_command: str) -> None:
    run = CliRunner().invoke(cli, [partial_command, "--json", "--code", "1"])
    body = json.loads(run.stdout)
    assert run.exit_code == 1 and body["status"] == 1 and body["exitCode"] == 1


def test_human_partial_prints_the_result_on_stdout_and_one_error_line_on_stderr(
        partial_command: str) -> None:
    run = CliRunner().invoke(cli, [partial_command])
    assert run.exit_code == errors.EXIT_PARTIAL
    assert run.stdout == "2 changed, 1 failed\n"
    assert run.stderr == f"Warning: one warning\nError: {MESSAGE}\n"


@pytest.mark.parametrize("json_mode", [True, False])
def test_partial_returns_its_exit_code_and_renders_text_or_dumps(
        capsys: pytest.CaptureFixture[str], json_mode: bool) -> None:
    out = Output(json=json_mode, color=False)
    assert out.partial({"n": 1}, None, name="VerificationFailed", message="2 differences",
                       exit_code=errors.EXIT_FAILURE) == errors.EXIT_FAILURE
    captured = capsys.readouterr()
    body: Any = json.loads(captured.out)
    if json_mode:
        assert body["result"] == {"n": 1} and body["name"] == "VerificationFailed"
        assert captured.err == ""
    else:  # no human text: the result as JSON on stdout, the error on stderr
        assert body == {"n": 1}
        assert captured.err == "Error: 2 differences\n"


def test_a_style_sfexit_adds_survives_while_escapes_in_org_text_are_shown_escaped() -> None:
    hostile = "Acme\x1b]0;owned\x07\x1b[2J"

    @click.command()
    @pass_app
    def styled(app: AppContext) -> None:
        app.out.result({}, lambda: f"{hostile} " + app.out.style("12 days late", fg="red"))

    printed = CliRunner().invoke(styled, [], color=True).stdout
    assert "\\x1b]0;owned\\x07\\x1b[2J" in printed            # the org's escapes are shown
    assert printed.count("\x1b") == 2                          # only the red and the reset
    assert "\x1b[31m12 days late\x1b[0m" in printed


def test_table_counts_wide_characters_as_two_cells_and_fits_a_width() -> None:
    from sfexit.cli.output import table
    from sfexit.cli.textwidth import cells

    rows = [["山田太郎@example.jp", "山田 太郎", "営業"], ["ann@example.com", "Ann", "Sales"]]
    lines = table(["username", "name", "profile"], rows).splitlines()
    # every column starts at the same cell on every line
    second = {0: "name", 2: "山田 太郎", 3: "Ann"}
    starts = {cells(lines[i][:lines[i].index(v, 15)]) for i, v in second.items()}
    assert starts == {21}, lines
    narrow = table(["username", "name", "profile"], rows, max_width=30).splitlines()
    assert max(cells(line) for line in narrow) <= 30, narrow
    assert any("…" in line for line in narrow)
