"""What the org holds never reaches the terminal as a control: shown escaped, never dropped."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from hypothesis import given
from hypothesis import strategies as st

from sfexit.cli import cli
from sfexit.cli.context import AppContext, json_option, pass_app
from sfexit.cli.output import dumps, table
from sfexit.cli.safe_text import json_safe, neutralise_cell, neutralise_line

HOSTILE = "Eve\x1b]0;pwned\x07\x1b[2J\u202egnp.exe\rOK\x9b31m\u2066x\u2069\u200e"


def dangerous(text: str) -> bool:
    """A control, DEL/C1, bidi or separator character: what a terminal would act on."""
    return any(ord(c) < 0x20 and c != "\n" or 0x7F <= ord(c) <= 0x9F
               or ord(c) in (0x061C, 0x200E, 0x200F, 0x2028, 0x2029)
               or 0x202A <= ord(c) <= 0x202E or 0x2066 <= ord(c) <= 0x2069 for c in text)


def test_a_hostile_name_is_shown_escaped() -> None:
    assert neutralise_cell(HOSTILE) == (
        "Eve\\x1b]0;pwned\\x07\\x1b[2J\\u202egnp.exe\\rOK\\x9b31m\\u2066x\\u2069\\u200e")


def test_a_cell_escapes_line_feeds_and_a_line_keeps_its_own() -> None:
    assert neutralise_cell("a\nb\tc") == "a\\nb\\tc"
    assert neutralise_line("plan:\n  a\rb") == "plan:\n  a\\rb"


def test_plain_text_in_any_script_is_unchanged() -> None:
    text = "Zoë Ødegård 山田太郎 Иван محمد עברית C:\\Users\\x 100 %"
    assert neutralise_cell(text) == text == neutralise_line(text)


@given(st.text())
def test_nothing_dangerous_survives(text: str) -> None:
    assert not dangerous(neutralise_cell(text).replace("\n", ""))
    assert "\n" not in neutralise_cell(text)
    assert not dangerous(neutralise_line(text))


@given(st.text())
def test_json_stays_the_same_value_and_is_safe_to_print(text: str) -> None:
    out = json_safe(json.dumps({"name": text}, ensure_ascii=False))
    assert json.loads(out) == {"name": text}
    assert not dangerous(out.replace("\n", ""))


def test_table_cells_are_neutralised() -> None:
    out = table(["name"], [[HOSTILE], ["two\nlines"]])
    assert "\x1b" not in out and "\u202e" not in out
    assert out.splitlines()[3] == "two\\nlines"


@pytest.fixture(scope="module")
def hostile_command() -> str:
    name = "test-hostile-output"

    @cli.command(name=name, hidden=True)
    @json_option
    @pass_app
    def _cmd(app: AppContext) -> int:
        app.out.info(f"info {HOSTILE}")
        app.out.warn(f"warn {HOSTILE}")
        return app.out.partial({"name": HOSTILE}, lambda: table(["n"], [[HOSTILE]]),
                               name="PartialFailure", message=f"msg {HOSTILE}\nsecond",
                               exit_code=5)

    return name


def test_every_output_channel_is_neutralised(hostile_command: str) -> None:
    run = CliRunner().invoke(cli, [hostile_command])
    assert run.exit_code == 5
    assert not dangerous(run.stdout) and not dangerous(run.stderr)
    assert "\\x1b]0;pwned\\x07" in run.stdout and "\\u202e" in run.stderr
    assert run.stderr.splitlines()[-1].endswith("\\nsecond")   # one error line


def test_json_output_keeps_the_exact_value(hostile_command: str) -> None:
    run = CliRunner().invoke(cli, ["--json", hostile_command])
    assert not dangerous(run.stdout.replace("\n", ""))
    body = json.loads(run.stdout)
    assert body["result"] == {"name": HOSTILE}
    assert body["warnings"] == [f"warn {HOSTILE}"]
    assert json.loads(dumps([HOSTILE])) == [HOSTILE]

