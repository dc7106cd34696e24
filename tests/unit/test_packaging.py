"""The two distributions stay apart: `pip install sfexit` (no extra) carries no emulator code.

Builds the sfexit wheel as pip would (isolated build) and reads what it would install.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _wheel(project: Path, out: Path) -> zipfile.ZipFile:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet",
                    "--disable-pip-version-check", "-w", str(out), str(project)],
                   check=True, capture_output=True, text=True)
    (wheel,) = out.glob("*.whl")
    return zipfile.ZipFile(wheel)


def test_the_sfexit_wheel_holds_no_emulator_code_and_needs_it_only_for_demo_and_test(
        tmp_path: Path) -> None:
    wheel = _wheel(ROOT, tmp_path)
    names = wheel.namelist()
    assert any(n.startswith("sfexit/org/") for n in names)
    assert not [n for n in names if n.startswith("sfexit_emulator")]
    code = [n for n in names if n.endswith(".py") and "emulator" in n]
    assert code == ["sfexit/cli/emulator.py"], code  # the lazy alias only
    metadata = next(n for n in names if n.endswith("METADATA"))
    requires = [line for line in wheel.read(metadata).decode().splitlines()
                if line.startswith("Requires-Dist:") and "sfexit-emulator" in line]
    assert requires and all('extra == "demo"' in r or 'extra == "test"' in r for r in requires)


_WITHOUT_EMULATOR = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "sfexit_emulator" or name.startswith("sfexit_emulator."):
            raise ModuleNotFoundError(f"No module named {name!r}")
sys.meta_path.insert(0, Block())
from sfexit.cli import main
sys.argv = ["sfexit", *sys.argv[1:]]
main()
"""


def _sfexit_without_emulator(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", _WITHOUT_EMULATOR, *args], cwd=cwd,
                          capture_output=True, text=True, timeout=60)


def test_demo_without_the_emulator_exits_2_naming_the_extra_and_writes_nothing(
        tmp_path: Path) -> None:
    result = _sfexit_without_emulator("demo", "--dir", str(tmp_path / "out"), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "sfexit[demo]" in lines[0], lines
    assert not (tmp_path / "out").exists()


def test_the_emulator_alias_without_the_emulator_exits_2_naming_the_extra(tmp_path: Path) -> None:
    listed = _sfexit_without_emulator("emulator", "--help", cwd=tmp_path)
    assert listed.returncode == 0 and "serve" in listed.stdout
    result = _sfexit_without_emulator("emulator", "serve", "--port", "0", cwd=tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "sfexit-emulator" in lines[0], lines
