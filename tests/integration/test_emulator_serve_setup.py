"""`sfexit emulator serve` prints how to point sfexit at it: its lines work as pasted on a
machine where sfexit has no config folder yet (a new admin's first run)."""

from __future__ import annotations

import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner

from sfexit.cli import cli


@pytest.fixture
def served() -> Iterator[list[str]]:
    """`sfexit emulator serve` in its own process; what it printed, up to its last line."""
    process = subprocess.Popen([sys.executable, "-m", "sfexit", "emulator", "serve",
                                "--port", "0"], stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        lines: list[str] = []
        while not lines or not lines[-1].startswith("#   session:"):
            line = process.stdout.readline()
            assert line, f"serve stopped after: {lines}"
            lines.append(line.rstrip("\n"))
        yield lines
    finally:
        process.terminate()
        process.wait(timeout=30)


def pasted(line: str) -> tuple[dict[str, str], list[str]]:
    """A printed command line (``#   [label: ]VAR='x' ... sfexit ARGS``) as a shell runs it:
    its variables and sfexit's arguments."""
    words = shlex.split(line.lstrip("# "))
    start = words.index("sfexit")
    env = dict(w.split("=", 1) for w in words[:start] if "=" in w)
    return env, words[start + 1:]


def test_the_printed_login_then_whoami_work_without_a_config_folder(
        served: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    config = home / ".config" / "sfexit" / "config.toml"
    assert not config.parent.exists()
    login_line = next(line for line in served if " sfexit login --org emulator " in line)
    env, args = pasted(login_line)
    login = CliRunner().invoke(cli, args, env=env)
    assert login.exit_code == 0, login.output
    assert config.is_file() and "[orgs.emulator]" in config.read_text(encoding="utf-8")
    whoami_line = next(line for line in served if line.startswith("#   password:"))
    env, args = pasted(whoami_line.split(":", 1)[1])
    whoami = CliRunner().invoke(cli, ["--json", *args], env=env)
    assert whoami.exit_code == 0, whoami.output
    assert '"username": "admin@' in whoami.stdout
