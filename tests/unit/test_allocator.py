"""sfexit.allocator: glibc's arenas and mmap threshold set for a many-threaded export."""

from __future__ import annotations

import ctypes.util
import subprocess
import sys

import pytest

from sfexit import allocator


@pytest.mark.skipif(not sys.platform.startswith("linux") or ctypes.util.find_library("c") is None,
                    reason="glibc only")
def test_tune_sets_the_arenas_and_the_mmap_threshold_on_glibc() -> None:
    # In a child (the settings are the process's): glibc accepted both (mallopt returns 1);
    # the effect on peak RSS is measured by bench/peers.py --size 1m.
    code = "from sfexit import allocator; print(allocator.tune())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout.strip()
    assert out == "True"


def test_tune_changes_nothing_without_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(ctypes.util, "find_library", lambda _name: None)
    assert allocator.tune() is False
    monkeypatch.setattr(sys, "platform", "darwin")
    assert allocator.tune() is False


def test_the_cli_entry_point_tunes_before_it_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    import sfexit.cli as cli_module

    calls: list[str] = []
    monkeypatch.setattr(allocator, "tune", lambda: calls.append("tune") or True)
    monkeypatch.setattr(cli_module, "cli", lambda: calls.append("cli"))
    cli_module.main()
    assert calls == ["tune", "cli"]
