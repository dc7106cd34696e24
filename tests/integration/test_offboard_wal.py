"""``sfexit offboard`` SIGKILLed exactly inside the crash window of write-ahead journaling: the
sObject Collections call returned (the org has the change), no outcome reached the journal.

The run is a separate process whose ``Journal.applied`` SIGKILLs its own process the first
time an outcome of the chosen step would be written: a real kill (no cleanup, no ``finally``)
at a deterministic point, which test_offboard_kill.py's file watching cannot hit reliably.
The report of the killed run lists those users as unconfirmed; ``--resume`` reads the org,
journals each outcome once (``recovered``) and ends as an uninterrupted run.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

from auth_support import invoke, password_env
from offboard_support import (KILL_TIMEOUT, check_no_change_twice, check_same_as_uninterrupted,
                              offboard_config, offboard_process, org_state, run_json)
from test_offboard_kill import uninterrupted  # noqa: F401  (a fixture, used by name)

from sfexit.journal import Entry, read_journal, unresolved_intents

# Run as ``python -c``: sfexit's own entry point, with the outcome writer of one step replaced
# by a SIGKILL (the action is argv[1]; the rest is sfexit's command line).
KILLED_AFTER_THE_CALL = """
import os, signal, sys
from sfexit.journal import Journal
action, sys.argv = sys.argv[1], ["sfexit", *sys.argv[2:]]
applied = Journal.applied
def die_once_sent(self, intent, **info):
    if intent.action == action:
        os.kill(os.getpid(), signal.SIGKILL)
    return applied(self, intent, **info)
Journal.applied = die_once_sent
from sfexit.cli import main
main()
"""


def killed_in_the_window(config: Path, org: Any, action: str, *args: str) -> str:
    """Run ``sfexit --json offboard ARGS`` until it kills itself; returns what it printed.
    While waiting, the emulator clock moves as in offboard_support.offboard_process (Bulk jobs
    are done at their first poll); bounded by KILL_TIMEOUT."""
    env = {**os.environ, **password_env(org)}
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "-c", KILLED_AFTER_THE_CALL, action, "--config", str(config),
             "--json", "offboard", *args], env=env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + KILL_TIMEOUT
        try:
            while process.poll() is None and time.monotonic() < deadline:
                org.clock.advance(0.25)
                time.sleep(0.02)
        finally:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=10)
        log.seek(0)
        output = log.read().decode("utf-8", "replace")
    assert process.returncode == -signal.SIGKILL, \
        f"the run did not die in the {action} window (exit {process.returncode}):\n{output}"
    return output


def rendered(run_dir: Path) -> dict[str, Any]:
    run = invoke(["report", "render", str(run_dir)])
    assert run.code == 0, run.output
    return dict(json.loads(Path(run.body["result"]["json"]).read_text(encoding="utf-8")))


def check_resolved_once(run_dir: Path, pending: list[Entry]) -> list[Entry]:
    """Every intent has exactly one outcome; the ones killed in the window are recovered."""
    entries = read_journal(run_dir / "journal.jsonl")
    assert unresolved_intents(entries) == []
    outcomes = Counter(e.info["intent"] for e in entries
                       if e.kind in ("change", "not_applied") and "intent" in e.info)
    assert set(outcomes) == {e.hash for e in entries if e.kind == "intent"}
    assert max(outcomes.values()) == 1
    recovered = [e for e in entries if "recovered" in e.info]
    assert {e.info["intent"] for e in recovered} == {e.hash for e in pending}
    return recovered


def test_killed_between_the_freeze_call_and_its_outcome(
        fresh_emulator: Any, tmp_path: Path, uninterrupted: dict[str, Any]) -> None:  # noqa: F811
    org = fresh_emulator
    config, run_dir = offboard_config(tmp_path, org), tmp_path / "run"
    killed_in_the_window(config, org, "freeze", "--yes", "--run-dir", str(run_dir))
    entries = read_journal(run_dir / "journal.jsonl")
    pending = unresolved_intents(entries)
    assert pending and not [e for e in entries if e.kind == "change" and e.action == "freeze"]
    frozen = set(org_state(org)["frozen"])
    assert {e.target["user_id"][:15] for e in pending} <= frozen   # the org has them

    report = rendered(run_dir)   # the killed run's report: unconfirmed, not frozen, not lost
    assert report["journal"]["unconfirmed"] == len(pending)
    unconfirmed = {u["user_id"] for u in report["users"]["frozen"]
                   if u["status"] == "unconfirmed"}
    assert unconfirmed == {e.target["user_id"] for e in pending}
    assert any(w["code"] == "journal_unconfirmed" for w in report["warning_codes"])
    check = invoke(["report", "verify", str(run_dir)])   # intact, and says what is open
    assert check.code == 0 and check.body["result"]["unconfirmed"] == len(pending), check.output

    code, output = offboard_process(config, org, "--resume", str(run_dir), "--yes")
    assert code == 0, output
    check_same_as_uninterrupted(org, run_dir, uninterrupted)
    check_no_change_twice(run_dir)
    recovered = check_resolved_once(run_dir, pending)
    assert {e.kind for e in recovered} == {"change"}
    assert invoke(["report", "verify", str(run_dir)]).body["result"]["unconfirmed"] == 0
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    assert report["journal"]["unconfirmed"] == 0
    assert "unconfirmed" not in {u["status"] for u in report["users"]["frozen"]}


def test_killed_between_a_deactivation_and_its_outcome(fresh_emulator: Any,
                                                       tmp_path: Path) -> None:
    org = fresh_emulator
    config = offboard_config(tmp_path, org, deactivate=True)
    run_dir = tmp_path / "run"
    killed_in_the_window(config, org, "deactivate", "--yes", "--skip", "export",
                         "--run-dir", str(run_dir))
    [pending] = unresolved_intents(read_journal(run_dir / "journal.jsonl"))
    gone = pending.target["id"]
    assert gone not in org_state(org)["active"]     # deactivated, and nobody wrote it down
    assert {u["user_id"]: u["status"] for u in rendered(run_dir)["users"]["deactivated"]}[
        gone] == "unconfirmed"

    code, output = offboard_process(config, org, "--resume", str(run_dir), "--yes")
    steps = {s["name"]: s for s in run_json(run_dir)["steps"]}
    items = steps["deactivate"]["result"]["items"]
    blocked = [i for i in items if i["status"] in ("blocked", "failed")]
    assert code == (5 if blocked else 0), output
    statuses = {i["user_id"]: i["status"] for i in items}
    assert statuses[gone] == "deactivated"   # the killed attempt's work, reported once
    deactivated = {uid for uid, s in statuses.items() if s == "deactivated"}
    assert not deactivated & set(org_state(org)["active"])
    entries = read_journal(run_dir / "journal.jsonl")
    changes = Counter(e.target["id"] for e in entries
                      if e.kind == "change" and e.action == "deactivate")
    assert set(changes) == deactivated and max(changes.values()) == 1
    [recovered] = check_resolved_once(run_dir, [pending])
    assert recovered.kind == "change" and recovered.info["observed"] == {"IsActive": False}
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    assert {u["user_id"] for u in report["users"]["deactivated"]
            if u["status"] == "deactivated"} == deactivated

