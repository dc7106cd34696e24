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
from collections import Counter
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
    """``python -m sfexit --config CONFIG --json offboard ARGS`` (see :func:`sfexit_process`)."""
    return sfexit_process(config, org, "offboard", *args, kill_when=kill_when)


def sfexit_process(config: Path, org: Any, *args: str,
                   kill_when: Callable[[], bool] | None = None) -> tuple[int | None, str]:
    """``python -m sfexit --config CONFIG --json ARGS`` in its own process (so SIGKILL
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
                                    "--json", *args], env=env, stdout=log,
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
        pytest.fail(f"the sfexit process did not end or reach the kill point in "
                    f"{KILL_TIMEOUT:.0f} s; it printed:\n{output[-2000:]}")
    return (None if killed else process.returncode), output


def journal_changes(run_dir: Path, action: str) -> int:
    """How many ``change`` entries of ``action`` the journal file holds now."""
    return journal_entries(run_dir, "change", action)


def manifest_objects(run_dir: Path) -> int:
    """How many objects ``RUN_DIR/export/manifest.json`` lists now."""
    return backup_objects(Path(run_dir) / "export")


def backup_objects(dest: Path) -> int:
    """How many objects ``DEST/manifest.json`` lists now (replaced atomically: old or new)."""
    try:
        return len(json.loads((Path(dest) / "manifest.json").read_text("utf-8"))["objects"])
    except (OSError, ValueError, KeyError):
        return 0


# The one thing that differs between two runs' exports of the same seed: the running user's
# login time (the wall clock of each login), so it is left out of the comparison.
LOGIN_TIME = {"User": "LastLoginDate", "LoginHistory": "LoginTime"}


def csv_hashes(run_dir: Path, export: Path | None = None, running_user: str | None = None
               ) -> dict[str, str]:
    """Per exported object, the SHA-256 of its CSV (the manifest's, checked against the file),
    or for User and LoginHistory of its rows without the login-time column. ``export``: the
    backup directory when it is not ``RUN_DIR/export`` (``sfexit export bulk --dest``).
    ``running_user``: LoginHistory rows of this user are left out too, since every run and
    every resume logs in once more (an append-only log: export/verify.py)."""
    export = export or Path(run_dir) / "export"
    manifest = json.loads((export / "manifest.json").read_text("utf-8"))
    hashes = {}
    for name, entry in manifest["objects"].items():
        data = (export / entry["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], name
        if name in LOGIN_TIME:
            rows = list(csv.DictReader(io.StringIO(data.decode("utf-8"), newline="")))
            data = json.dumps([{k: v for k, v in r.items() if k != LOGIN_TIME[name]}
                               for r in rows if name != "LoginHistory" or running_user is None
                               or r.get("UserId") != running_user]).encode()
        hashes[name] = hashlib.sha256(data).hexdigest()
    return hashes


def running_user(org: Any) -> str:
    """The Id of the user sfexit logs in as (the emulator's admin)."""
    from sfexit_emulator import testing

    return testing.admin_id(org)


def file_hashes(export: Path) -> dict[str, str]:
    """Per file body the manifest lists, its SHA-256 (checked against the file on disk)."""
    manifest = json.loads((export / "manifest.json").read_text("utf-8"))
    hashes = {}
    for key, entry in manifest.get("files", {}).items():
        data = (export / entry["path"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == entry["sha256"], key
        hashes[key] = entry["sha256"]
    return hashes


def export_facts(dest: Path, org: Any) -> dict[str, Any]:
    """What a backup holds, to compare two runs: CSV and file hashes, rows (but LoginHistory's,
    which grows by one per login), skipped objects."""
    manifest = json.loads((dest / "manifest.json").read_text("utf-8"))
    return {"csv": csv_hashes(dest, export=dest, running_user=running_user(org)),
            "files": file_hashes(dest),
            "rows": {n: e["rows"] for n, e in manifest["objects"].items()
                     if n != "LoginHistory"},
            "skipped": sorted(s["name"] for s in manifest["skipped"])}


def files_on_disk(export: Path) -> int:
    """How many file bodies are complete under ``export/files`` now (no ``.part``)."""
    folder = export / "files"
    return sum(1 for p in folder.rglob("*") if p.is_file() and not p.name.endswith(".part")
               ) if folder.is_dir() else 0


def journal_entries(run_dir: Path, kind: str, action: str | None = None) -> int:
    """How many entries of ``kind`` (and ``action``) the journal file holds now (a torn last
    line, being written, is not counted)."""
    path = Path(run_dir) / "journal.jsonl"
    if not path.exists():
        return 0
    count = 0
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        count += entry.get("kind") == kind and action in (None, entry.get("action"))
    return count


# --- crash-resume checks (test_offboard_kill.py, test_crash_resume.py, bench/crash_resume.py) --

def report_facts(run_dir: Path) -> dict[str, Any]:
    """What the report says was done, without times, ids of the run or call counts."""
    steps = {s["name"]: s for s in run_json(run_dir)["steps"]}
    freeze = steps["freeze"]["result"]
    return {"statuses": {name: s["status"] for name, s in steps.items()},
            "frozen": sorted(i["user_id"] for i in freeze["items"] if i["status"] == "frozen"),
            # LoginHistory grows by one row per login, so by one per resume (csv_hashes)
            "export_rows": sum(o["rows"] for o in steps["export"]["result"]["objects"]
                               if o["name"] != "LoginHistory"),
            "export_objects": sorted(o["name"] for o in steps["export"]["result"]["objects"])}


def uninterrupted_offboard(tmp: Path, org: Any) -> dict[str, Any]:
    """One uninterrupted offboard (a subprocess): its end state, CSV and file hashes, report
    facts and the (action, target) of every change it journaled."""
    config = offboard_config(tmp, org)
    code, output = offboard_process(config, org, "--yes", "--run-dir", str(tmp / "run"))
    assert code == 0, output
    return {"state": org_state(org),
            "csv": csv_hashes(tmp / "run", running_user=running_user(org)),
            "files": file_hashes(tmp / "run" / "export"),
            "report": report_facts(tmp / "run"), "changes": change_targets(tmp / "run")}


def kill_then_resume(org: Any, tmp_path: Path, kill_when: Callable[[Path], bool]
                     ) -> tuple[Path, dict[str, Any]]:
    """Start a real offboard, SIGKILL it at the point, resume it (exit 0). Returns the run dir
    and the org's state before anything changed."""
    config, run_dir = offboard_config(tmp_path, org), tmp_path / "run"
    before = org_state(org)
    code, output = offboard_process(config, org, "--yes", "--run-dir", str(run_dir),
                                    kill_when=lambda: kill_when(run_dir))
    assert code is None, f"the run ended (exit {code}) before the kill point:\n{output}"
    assert run_json(run_dir)["finished_at"] is None   # killed: no chance to record an end
    code, output = offboard_process(config, org, "--resume", str(run_dir), "--yes")
    assert code == 0, output
    return run_dir, before


def check_same_as_uninterrupted(org: Any, run_dir: Path, uninterrupted: dict[str, Any]
                                ) -> None:
    """Org state, CSV bytes, file hashes, report facts and the set of changes are those of
    the uninterrupted run; the report verifies; the journal's chain holds."""
    from sfexit.journal import verify_journal
    from sfexit.report.verify import verify_run

    final = run_json(run_dir)
    assert all(s["status"] in ("done", "skipped") for s in final["steps"]), final["steps"]
    assert org_state(org) == uninterrupted["state"]
    hashes = csv_hashes(run_dir, running_user=running_user(org))
    assert hashes == uninterrupted["csv"], sorted(
        n for n in set(hashes) | set(uninterrupted["csv"])
        if hashes.get(n) != uninterrupted["csv"].get(n))
    if "files" in uninterrupted:
        assert file_hashes(run_dir / "export") == uninterrupted["files"]
    assert report_facts(run_dir) == uninterrupted["report"]
    if "changes" in uninterrupted:   # nothing missing: every change of the clean run is there
        missing = set(uninterrupted["changes"]) - set(change_targets(run_dir))
        assert not missing, sorted(missing)
    assert (run_dir / "report.json").is_file() and (run_dir / "report.html").is_file()
    assert verify_run(run_dir).ok, verify_run(run_dir).differences
    assert verify_journal(run_dir / "journal.jsonl").ok


def change_targets(run_dir: Path) -> list[tuple[str, str]]:
    """(action, what it changed) of every ``change`` entry, in journal order: the user of a
    freeze, the object of a reassignment (whose snapshot path and row count are the run's),
    the dropped member a team restore re-added (the re-added row's id is new in each run)."""
    from sfexit.journal import read_journal

    return [(e.action, str(e.info.get("dropped_id") or e.target.get("user_id")
                           or e.target.get("id") or e.target.get("object")))
            for e in read_journal(Path(run_dir) / "journal.jsonl") if e.kind == "change"]


def check_no_change_twice(run_dir: Path) -> dict[str, int]:
    """Every change entry names a distinct (action, target), and every intent has exactly one
    outcome. The reassignment may journal one object again with a snapshot of its own when the
    process died between that entry and its write (docs/offboard.md, known limit): those differ
    by their snapshot's hash, so they pass here, and ``reassign --undo`` merges them. A user is
    frozen once. Returns the counts of intent and change entries."""
    from sfexit.journal import read_journal, unresolved_intents

    entries = read_journal(run_dir / "journal.jsonl")
    changes = [e for e in entries if e.kind == "change"]
    seen = Counter((e.action, tuple(sorted(map(str, e.target.items())))) for e in changes)
    assert changes and max(seen.values()) == 1, seen.most_common(3)
    frozen = Counter(e.target["user_id"] for e in changes if e.action == "freeze")
    assert frozen and max(frozen.values()) == 1, frozen.most_common(3)
    intents = [e for e in entries if e.kind == "intent"]
    outcomes = Counter(e.info.get("intent") for e in entries
                       if e.kind in ("change", "not_applied") and e.info.get("intent"))
    assert not unresolved_intents(entries), unresolved_intents(entries)[:3]
    assert not outcomes or max(outcomes.values()) == 1, outcomes.most_common(3)
    return {"intent": len(intents), "change": len(changes)}
