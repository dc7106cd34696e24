"""sfexit's tests and benchmarks reach the org emulator only through its public door.

That door is ``sfexit_emulator.Emulator`` (start/stop, url, token, credentials, faults, clock,
stats) and ``sfexit_emulator.testing`` (the org's records, read and seeded). Anything else in
the emulator (its store, routes, schema, seed) may change with the emulator alone; a test that
reached into it would break, or worse keep passing against a different org.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHECKED = ("tests", "bench")
PUBLIC_MODULES = frozenset({"sfexit_emulator", "sfexit_emulator.testing"})
PUBLIC_NAMES = frozenset({"Emulator", "Credentials", "testing"})
# Emulator attributes that hand out internals (the emulator's own tests use them).
PRIVATE_ATTRIBUTES = frozenset({"store", "app"})


def violations(source: str) -> list[str]:
    """Each reach past the door in ``source``: ``line: what``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [f"{node.lineno}: import {a.name}" for a in node.names
                      if a.name.split(".")[0] == "sfexit_emulator"
                      and a.name not in PUBLIC_MODULES]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "sfexit_emulator":
                found += [f"{node.lineno}: from sfexit_emulator import {a.name}"
                          for a in node.names if a.name not in PUBLIC_NAMES]
            elif (node.module.split(".")[0] == "sfexit_emulator"
                  and node.module not in PUBLIC_MODULES):
                found.append(f"{node.lineno}: from {node.module} import ...")
        elif isinstance(node, ast.Attribute) and node.attr in PRIVATE_ATTRIBUTES:
            found.append(f"{node.lineno}: .{node.attr} (use sfexit_emulator.testing)")
        elif (isinstance(node, ast.Constant) and isinstance(node.value, str)
              and re.fullmatch(r"sfexit_emulator(\.\w+)+", node.value)
              and node.value not in PUBLIC_MODULES):
            found.append(f"{node.lineno}: {node.value!r} (a module named in a string)")
    return found


def checked_files() -> list[Path]:
    return sorted(p for top in CHECKED for p in (ROOT / top).rglob("*.py")
                  if "node_modules" not in p.parts)


def test_tests_and_benchmarks_use_only_the_emulators_public_api() -> None:
    found = [f"{path.relative_to(ROOT)}:{v}" for path in checked_files()
             for v in violations(path.read_text(encoding="utf-8"))]
    assert found == [], "reaches into the emulator:\n" + "\n".join(found)


def test_the_check_reads_the_files_it_should() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in checked_files()}
    assert "tests/integration/export_support.py" in names and "bench/export_files.py" in names


@pytest.mark.parametrize("source", [
    "from sfexit_emulator.store_writes import ValidationRule",
    "import sfexit_emulator.routes.limits",
    "from sfexit_emulator import store",
    "from sfexit_emulator.pytest_plugin import SESSION_SEED",
    "def f(org):\n    return org.store.query('SELECT Id FROM Account')",
    "def f(org):\n    return org.app.api.used",
    "import importlib\nimportlib.import_module('sfexit_emulator.seed')",
])
def test_each_kind_of_reach_is_caught(source: str) -> None:
    assert violations(source)


def test_the_public_door_passes() -> None:
    assert violations("from sfexit_emulator import Emulator, testing\n"
                      "import sfexit_emulator\n"
                      "from sfexit_emulator.testing import SESSION_RECORDS\n"
                      "def f(org):\n    return testing.rows(org, 'SELECT Id FROM Account')\n"
                      "'see sfexit_emulator.testing'\n") == []
