"""The CLI alone prints: a rule import-linter cannot see (``print`` needs no import), so it is
checked here over the syntax trees of the library. The import rules are the contracts in
pyproject.toml, run by ``lint-imports`` (docs/layout.md)."""

from __future__ import annotations

import ast
from pathlib import Path

LIBRARY = Path(__file__).resolve().parents[2] / "sfexit"
CLI = LIBRARY / "cli"
STREAMS = {"stdout", "stderr", "__stdout__", "__stderr__"}
ECHOES = {"echo", "secho", "pprint"}


def printing_calls(tree: ast.AST) -> list[tuple[int, str]]:
    """(line, what) for each way to write to the terminal: print(), click.echo/secho,
    pprint, and any use of sys.stdout/sys.stderr."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in {"print", *ECHOES}:
            found.append((node.lineno, f"{node.func.id}()"))
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                and node.func.attr in ECHOES:
            found.append((node.lineno, f".{node.func.attr}()"))
        elif isinstance(node, ast.Attribute) and node.attr in STREAMS \
                and isinstance(node.value, ast.Name) and node.value.id == "sys":
            found.append((node.lineno, f"sys.{node.attr}"))
    return found


def test_only_the_cli_prints() -> None:
    offences = [f"{path.relative_to(LIBRARY.parent)}:{line}: {what}"
                for path in sorted(LIBRARY.rglob("*.py")) if CLI not in path.parents
                for line, what in printing_calls(ast.parse(path.read_text(encoding="utf-8")))]
    assert not offences, "the library returns data; only sfexit/cli prints:\n" + \
        "\n".join(offences)


def test_the_print_check_sees_each_way_to_print() -> None:
    source = ("import sys, click\nprint('a')\nclick.echo('b')\nsys.stderr.write('c')\n"
              "logger.info('fine')\nx = sys.argv\n")
    assert [what for _, what in printing_calls(ast.parse(source))] == \
        ["print()", ".echo()", "sys.stderr"]
