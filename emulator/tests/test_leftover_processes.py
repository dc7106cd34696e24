"""The plugin fails a run that leaves a process behind (the `sf` CLI's detached updater did).

A child still attached is found by its parent chain; one that detached and was re-parented
(as oclif's ``sf update --autoupdate`` is) by the run's marker in its environment.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from sfexit_emulator.pytest_plugin import RUN_MARKER, Leftover, leftover_processes

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(),
                                reason="the check reads /proc (Linux)")
pytest_plugins = ["pytester"]
MARKER = f"{RUN_MARKER}=test-{os.getpid()}"


@pytest.fixture
def started() -> Iterator[list[int]]:
    """Pids this test starts; each is ended at teardown whatever the test did."""
    pids: list[int] = []
    yield pids
    for pid in pids:
        try:
            os.kill(pid, 9)
        except OSError:
            pass


def test_an_attached_child_is_found_until_it_is_waited_for(started: list[int]) -> None:
    child = subprocess.Popen(["sleep", "60"], env={"PATH": os.environ["PATH"]})
    started.append(child.pid)
    assert [(p.pid, p.why, p.command) for p in leftover_processes(MARKER)
            if p.pid == child.pid] == [(child.pid, "child", "sleep 60")]
    child.kill()
    child.wait()
    assert child.pid not in {p.pid for p in leftover_processes(MARKER)}


def test_a_detached_grandchild_is_found_by_the_marker_in_its_environment(
        started: list[int]) -> None:
    name, value = MARKER.split("=", 1)
    # The shell starts sleep in a new session and exits: sleep is re-parented, as oclif's
    # spawn(..., {detached: true}).unref() leaves `sf update --autoupdate`.
    out = subprocess.run(["sh", "-c", "setsid sleep 61 >/dev/null 2>&1 & echo $!"],
                         env={"PATH": os.environ["PATH"], name: value}, capture_output=True,
                         text=True, check=True)
    pid = int(out.stdout)
    started.append(pid)
    found = _once_exec_done(pid)
    assert found[pid].why in ("environment", "child")   # child when we are the subreaper
    assert found[pid].command == "sleep 61"
    assert pid not in {p.pid for p in leftover_processes(f"{RUN_MARKER}=another-run")
                       if p.why == "environment"}


def _once_exec_done(pid: int) -> dict[int, Leftover]:
    """The leftovers once ``pid`` runs ``sleep``: while setsid is exec'ing it, /proc shows an
    empty environment and cmdline for a moment (seen under load), which is not what is tested.
    A real process, so a bounded wait on real time."""
    deadline = time.monotonic() + 10
    while True:
        found = {p.pid: p for p in leftover_processes(MARKER)}
        if (pid in found and found[pid].command == "sleep 61") or time.monotonic() > deadline:
            return found
        time.sleep(0.01)


def test_a_run_that_leaves_a_process_fails_and_names_it(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_leak=textwrap.dedent(f"""
        import subprocess

        def test_leaks():
            subprocess.Popen([{sys.executable!r}, "-c", "import time; time.sleep(120)"],
                             start_new_session=True)

        def test_waits():
            subprocess.run(["true"], check=True)
    """))
    result = pytester.runpytest_subprocess()   # the plugin comes through its entry point
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    result.stdout.fnmatch_lines(["*processes left running by the tests*",
                                 "pid * (*): *time.sleep(120)*",
                                 "*2 passed*"])
