"""pytest fixtures wrapping the emulator, found by pytest through the ``pytest11`` entry point.

- ``emulator``: one seeded org for the whole session. Read-mostly: tests must not change its
  data, its clock or its faults (use ``fresh_emulator`` for that).
- ``fresh_emulator``: a private org per test (its own copy of the cached seed).
- ``emulator_ca_env``: points ``REQUESTS_CA_BUNDLE``/``SSL_CERT_FILE`` (and Node's
  ``NODE_EXTRA_CA_CERTS``) at the session emulator's CA, for clients that read the environment.

The plugin also fails a run that leaves a process behind (see ``leftover_processes``): the `sf`
CLI's update hook once left a detached ``sf update --autoupdate`` after every run.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from sfexit_emulator.testing import SESSION_RECORDS, SESSION_SEED

if TYPE_CHECKING:
    from sfexit_emulator import Emulator

__all__ = ["RUN_MARKER", "Leftover", "leftover_processes"]

# Set in this process's environment when the run starts, so that every process the run starts
# inherits it, even one that detaches (setsid) and is re-parented to init, as oclif's update
# hook does. Not SFEXIT_* (sfexit's conftest clears those per test) nor SF_*/NODE_* (the
# JavaScript clients' helper drops those from the environment it passes on).
RUN_MARKER = "PYTEST_SFEXIT_EMULATOR_RUN"
LEFTOVER_GRACE_SECONDS = 2.0   # a process killed by a test's last line may still be exiting
_leftovers_key = pytest.StashKey[list["Leftover"]]()
_marker_key = pytest.StashKey[tuple[str, "str | None"]]()   # (this run's value, the one before)


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    from sfexit_emulator import Emulator

    with Emulator(records=SESSION_RECORDS, seed=SESSION_SEED) as org:
        yield org


@pytest.fixture
def fresh_emulator() -> Iterator[Emulator]:
    from sfexit_emulator import Emulator

    with Emulator(records=SESSION_RECORDS, seed=SESSION_SEED) as org:
        yield org


@pytest.fixture
def emulator_ca_env(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> str:
    """The CA file path, also set in the environment for the length of the test."""
    ca_file = str(emulator.ca_file)
    for name in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS"):
        monkeypatch.setenv(name, ca_file)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    return ca_file


# --- no process outlives the run -------------------------------------------------------------
@dataclass(frozen=True)
class Leftover:
    pid: int
    command: str
    why: str        # "child" (this process is among its ancestors) or "environment" (marker)


def _read(path: str) -> bytes:
    with open(path, "rb") as fh:
        return fh.read()


def _stat(pid: str) -> tuple[str, int] | None:
    """(state, parent pid) from /proc/<pid>/stat; None when the process is gone."""
    try:
        text = _read(f"/proc/{pid}/stat").decode(errors="replace")
    except OSError:
        return None
    fields = text[text.rfind(")") + 2:].split()   # the command name may hold spaces and ")"
    return fields[0], int(fields[1])


def _has_ancestor(pid: int, ancestor: int, parents: dict[int, int]) -> bool:
    seen = set()
    while pid in parents and pid not in seen:
        seen.add(pid)
        pid = parents[pid]
        if pid == ancestor:
            return True
    return False


def leftover_processes(marker: str, me: int | None = None) -> list[Leftover]:
    """Processes still running that this run started: descendants of ``me`` (default: this
    process), and any whose environment holds ``marker`` (``NAME=value``) from when it
    started. Zombies are left out (they run nothing). One pass over /proc: a few ms for
    hundreds of processes. Without /proc (not Linux) it finds nothing."""
    me = os.getpid() if me is None else me
    if not Path("/proc/self/stat").exists():
        return []
    states: dict[int, str] = {}
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (stat := _stat(entry)) is not None:
            states[int(entry)], parents[int(entry)] = stat
    needle = marker.encode()
    found = []
    for pid, state in sorted(states.items()):
        if pid == me or state == "Z":
            continue
        why = "child" if _has_ancestor(pid, me, parents) else ""
        if not why:
            try:
                environ = _read(f"/proc/{pid}/environ")
            except OSError:        # gone, or another user's process we may not read
                continue
            why = "environment" if needle in environ.split(b"\0") else ""
        if why:
            try:
                command = _read(f"/proc/{pid}/cmdline").replace(b"\0", b" ").decode(
                    errors="replace").strip()
            except OSError:
                continue
            found.append(Leftover(pid, command[:200], why))
    return found


def pytest_configure(config: pytest.Config) -> None:
    if hasattr(config, "workerinput"):
        return     # an xdist worker keeps its controller's marker: the controller checks
    # pid and start time: unique among the runs on this machine, nested pytest runs included.
    value = f"{os.getpid()}-{time.time_ns()}"
    config.stash[_marker_key] = (value, os.environ.get(RUN_MARKER))
    os.environ[RUN_MARKER] = value


def pytest_unconfigure(config: pytest.Config) -> None:
    """Put back the marker of an enclosing run (pytester's in-process runs share os.environ)."""
    if _marker_key in config.stash:
        before = config.stash[_marker_key][1]
        if before is None:
            os.environ.pop(RUN_MARKER, None)
        else:
            os.environ[RUN_MARKER] = before


@pytest.hookimpl(trylast=True)
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """Fail the run when a process it started is still alive after every test and fixture has
    finished, and end those processes (they are this run's own, by pid)."""
    if _marker_key not in session.config.stash:
        return
    marker = f"{RUN_MARKER}={session.config.stash[_marker_key][0]}"
    deadline = time.monotonic() + LEFTOVER_GRACE_SECONDS
    found = leftover_processes(marker)
    while found and time.monotonic() < deadline:
        time.sleep(0.1)
        found = leftover_processes(marker)
    if not found:
        return
    for process in found:
        try:
            os.kill(process.pid, signal.SIGTERM)
        except OSError:
            pass
    session.config.stash[_leftovers_key] = found
    if session.exitstatus == pytest.ExitCode.OK:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    found = terminalreporter.config.stash.get(_leftovers_key, [])
    if found:
        terminalreporter.section("processes left running by the tests", sep="=", red=True)
        for process in found:
            terminalreporter.write_line(f"pid {process.pid} ({process.why}): {process.command}")
        terminalreporter.write_line("ended with SIGTERM; the run fails (a test must wait for "
                                    "or end every process it starts)")
