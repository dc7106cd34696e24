"""Helpers for the `sfexit offboard` integration tests: config with contract and users, CLI."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from auth_support import invoke, on_org_clock, password_env, password_profile, write_config
from auth_support import writes as writes  # re-exported for the offboard tests

DOMAIN = "@sfexit-demo.example"
SUCCESSOR = "standard.user" + DOMAIN


def offboard_config(tmp_path: Path, org: Any, *, contract: bool = True,
                    successor: str | None = SUCCESSOR, deactivate: bool = False,
                    extra: str = "") -> Path:
    path = write_config(tmp_path, org, **password_profile(org))
    text = path.read_text(encoding="utf-8")
    if contract:
        text += ('[contract]\nstart = 2026-01-01\nend = 2026-12-31\npaid = "24000.00"\n'
                 'currency = "EUR"\nfee = "10%"\n')
    text += f'[export]\ndest = {json.dumps(str(tmp_path / "runs"))}\n'
    if successor:
        text += f'[users]\nsuccessor = "{successor}"\n'
    text += f"[offboard]\ndeactivate = {'true' if deactivate else 'false'}\n" + extra
    path.write_text(text, encoding="utf-8")
    return path


def offboard(config: Path, org: Any, *args: str) -> Any:
    """``sfexit offboard ARGS`` on ``org``'s clock: Bulk polls advance it, nothing sleeps."""
    return invoke(["--config", str(config), "offboard", *args], env=password_env(org),
                  app=on_org_clock(org))


def run_json(run_dir: str | Path) -> dict[str, Any]:
    return dict(json.loads((Path(run_dir) / "run.json").read_text(encoding="utf-8")))



# --- a real process, killed for real (tests/integration/test_offboard_kill.py) ----------------

OWNED = ("Account", "Contact", "Opportunity", "Case", "Contract", "Lead", "Task", "Event",
         "Project__c", "Campaign", "Note")
KILL_TIMEOUT = 60.0     # seconds of wall time a run may take before the test gives up


def org_state(org: Any) -> dict[str, Any]:
    """What an offboard changes, read from the emulator's store: who is frozen, who is active,
    who owns what."""
    from users_support import org_rows

    frozen = sorted(r["UserId"][:15] for r in org_rows(
        org, "SELECT UserId FROM UserLogin WHERE IsFrozen = true"))
    active = sorted(r["Id"] for r in org_rows(org, "SELECT Id FROM User WHERE IsActive = true"))
    owners = {name: sorted((r["Id"], r["OwnerId"]) for r in org_rows(
        org, f"SELECT Id, OwnerId FROM {name}")) for name in OWNED}
    return {"frozen": frozen, "active": active, "owners": owners}


def offboard_process(config: Path, org: Any, *args: str,
                     kill_when: Callable[[], bool] | None = None) -> tuple[int | None, str]:
    """``python -m sfexit --config CONFIG --json offboard ARGS`` in its own process (so SIGKILL
    kills only it, and the emulator, in this process, outlives it); secrets through the
    environment as a user gives them, the CA through the profile's ``ca_bundle``.

    SIGKILLs it as soon as ``kill_when()`` (which reads the run directory's files only) is
    true. Returns (the exit code, or None when it was killed; what it printed).

    While waiting, the emulator clock is moved forward a quarter second per round, so the Bulk
    jobs the process polls are complete at its first poll (emulator/src/sfexit_emulator/bulk_jobs.py: a
    job's state is a function of the emulator clock); the short wall-clock wait is on the
    child and the FILE SYSTEM, never on the emulator. Bounded by KILL_TIMEOUT: a run that
    neither ends nor reaches the kill point fails the test with what it printed."""
    env = {**os.environ, **password_env(org)}
    with tempfile.TemporaryFile() as log:   # not a pipe: a full pipe would block the child
        process = subprocess.Popen([sys.executable, "-m", "sfexit", "--config", str(config),
                                    "--json", "offboard", *args], env=env, stdout=log,
                                   stderr=subprocess.STDOUT)
        deadline, killed = time.monotonic() + KILL_TIMEOUT, False
        try:
            while process.poll() is None and not killed:
                if kill_when is not None and kill_when():
                    process.send_signal(signal.SIGKILL)
                    killed = True
                elif time.monotonic() > deadline:
                    break
                else:
                    org.clock.advance(0.25)
                    time.sleep(0.02)
        finally:
            if process.poll() is None and not killed:
                process.kill()   # timed out (or the test failed): never leave it running
            process.wait(timeout=10)
        log.seek(0)
        output = log.read().decode("utf-8", "replace")
    if not killed and process.returncode < 0:
        pytest.fail(f"the offboard process did not end or reach the kill point in "
                    f"{KILL_TIMEOUT:.0f} s; it printed:\n{output[-2000:]}")
    return (None if killed else process.returncode), output


def journal_changes(run_dir: Path, action: str) -> int:
    """How many ``change`` entries of ``action`` the journal file holds now (a torn last line,
    being written, is not counted)."""
    path = Path(run_dir) / "journal.jsonl"
    if not path.exists():
        return 0
    count = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        count += entry.get("kind") == "change" and entry.get("action") == action
    return count


def manifest_objects(run_dir: Path) -> int:
    """How many objects ``export/manifest.json`` lists now (replaced atomically: old or new)."""
    path = Path(run_dir) / "export" / "manifest.json"
    try:
        return len(json.loads(path.read_text(encoding="utf-8"))["objects"])
    except (OSError, ValueError, KeyError):
        return 0


# The one thing that differs between two runs' exports of the same seed: the running user's
# login time (the wall clock of each login), so it is left out of the comparison.
LOGIN_TIME = {"User": "LastLoginDate", "LoginHistory": "LoginTime"}


def csv_hashes(run_dir: Path) -> dict[str, str]:
    """Per exported object, the SHA-256 of its CSV (the manifest's, checked against the file),
    or for User and LoginHistory of its rows without the login-time column."""
    export = Path(run_dir) / "export"
    manifest = json.loads((export / "manifest.json").read_text("utf-8"))
    hashes = {}
    for name, entry in manifest["objects"].items():
        data = (export / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], name
        if name in LOGIN_TIME:
            rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))
            data = json.dumps([{k: v for k, v in r.items() if k != LOGIN_TIME[name]}
                               for r in rows]).encode()
        hashes[name] = hashlib.sha256(data).hexdigest()
    return hashes
