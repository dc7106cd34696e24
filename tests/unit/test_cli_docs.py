"""docs/cli.md is generated from --help and must stay current; `sfexit --help` stays light."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def load_generator() -> object:
    spec = importlib.util.spec_from_file_location("gen_cli_docs",
                                                  ROOT / "scripts" / "gen_cli_docs.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_cli_md_is_current() -> None:
    generator = load_generator()
    expected = generator.render()  # type: ignore[attr-defined]
    current = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert current == expected, "docs/cli.md is out of date: run python scripts/gen_cli_docs.py"


def test_cli_md_documents_the_auth_commands_and_env() -> None:
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    for heading in ("## sfexit login", "## sfexit logout", "## sfexit whoami", "## sfexit limits"):
        assert heading in text
    for var in ("SFEXIT_ACCESS_TOKEN", "SFEXIT_CLIENT_SECRET", "SFEXIT_CONFIG", "SFEXIT_ORG"):
        assert f"`{var}`" in text


def test_importing_the_cli_loads_no_heavy_module() -> None:
    code = ("import sys, json, sfexit.cli; "
            "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in "
            "('simple_salesforce', 'zeep', 'lxml', 'jwt', 'requests', 'tenacity', "
            "'cryptography') or m.startswith('sfexit_emulator'))))")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          check=True, cwd=ROOT)
    assert json.loads(proc.stdout) == []
