"""Fault soak, long part (issue 19): ``sfexit export bulk`` and ``sfexit offboard`` under 503s,
connection resets mid-body, truncated Bulk result pages and session expiry; both again when the
daily API allowance runs out (REQUEST_LIMIT_EXCEEDED, exit 4, then the rerun once it is
raised); ``reassign`` by Bulk under UNABLE_TO_LOCK_ROW. Every output is compared with a clean
run of the same org: CSV bytes, manifest and file hashes, final org state, report facts, the
journal (nothing applied twice). The emulator's own counts give the faults injected; a fault is
survived when its run still ends with the clean result.

    .venv/bin/python bench/fault_soak.py [--seed 7] [--rounds 2] [--results bench/RESULTS.md]

Runs are separate processes (tests/integration/offboard_support.py: sfexit_process, the
checks), on fresh emulators of the test seed. A run that ends partial under faults (a write
answered 503 is not retried: STYLE.md, only idempotent requests are) is resumed, as an admin
would, and the number of resumes is reported. Exit 1 when a scenario does not end clean.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))
sys.path.insert(0, str(ROOT / "bench"))

from crash_resume import failure_text, machine  # noqa: E402
from offboard_support import (  # noqa: E402
    backup_objects,
    DOMAIN,
    SUCCESSOR,
    check_no_change_twice,
    check_same_as_uninterrupted,
    export_facts,
    journal_entries,
    offboard_config,
    offboard_process,
    sfexit_process,
    uninterrupted_offboard,
)

from sfexit_emulator import Emulator  # noqa: E402
from sfexit_emulator import testing  # noqa: E402
from sfexit_emulator.testing import SESSION_RECORDS, SESSION_SEED  # noqa: E402

MIXED = {"error_503_rate": 0.03, "reset_rate": 0.03, "truncate_page_rate": 0.2,
         "expire_session_after_calls": 40}
DEPARTING = "departing.user" + DOMAIN
RESUMES = 3          # partial runs resumed before a scenario is declared failed


def _faults(org: Emulator) -> Counter[str]:
    return Counter(org.stats()["faults_injected"])


def export_mixed(tmp: Path, clean: dict[str, Any], seed: int) -> dict[str, Any]:
    with Emulator(records=SESSION_RECORDS, seed=SESSION_SEED) as org:
        config, dest = offboard_config(tmp, org), tmp / "out"
        org.faults.update({**MIXED, "fault_seed": seed})
        runs = _until_done(lambda: sfexit_process(config, org, "export", "bulk", "--dest",
                                                  str(dest)))
        org.faults.reset()
        assert export_facts(dest, org) == clean
        return {"faults": _faults(org), "runs": runs}


def offboard_mixed(tmp: Path, clean: dict[str, Any], seed: int) -> dict[str, Any]:
    with Emulator(records=SESSION_RECORDS, seed=SESSION_SEED) as org:
        config, run_dir = offboard_config(tmp, org), tmp / "run"
        org.faults.update({**MIXED, "fault_seed": seed})
        first = [True]

        def once() -> tuple[int | None, str]:
            args = ("--yes", "--run-dir", str(run_dir)) if first[0] else (
                "--resume", str(run_dir), "--yes")
            first[0] = False
            return offboard_process(config, org, *args)

        runs = _until_done(once)
        org.faults.reset()
        check_same_as_uninterrupted(org, run_dir, clean)
        return {"faults": _faults(org), "runs": runs, **check_no_change_twice(run_dir)}


def export_limit(tmp: Path, clean: dict[str, Any], _seed: int) -> dict[str, Any]:
    """The allowance runs out mid-export (after 10 objects): exit 4; once it is raised again,
    the rerun completes the backup."""
    with Emulator(records=SESSION_RECORDS, seed=SESSION_SEED) as org:
        config, dest = offboard_config(tmp, org), tmp / "out"
        command = ("export", "bulk", "--dest", str(dest))
        spend = _once(lambda: backup_objects(dest) >= 10, lambda: _spend_allowance(org))
        code, output = sfexit_process(config, org, *command, kill_when=spend)
        assert code == 4, f"exit {code}: {output[-800:]}"
        org.faults.daily_api_max = 100_000
        code, output = sfexit_process(config, org, *command)
        assert code == 0, output[-2000:]
        assert export_facts(dest, org) == clean
        return {"faults": _faults(org), "runs": 2}


def offboard_limit(tmp: Path, clean: dict[str, Any], _seed: int) -> dict[str, Any]:
    """The allowance runs out in the middle of the reassignment: exit 4; raised again,
    ``offboard --resume`` finishes, nothing applied twice."""
    with Emulator(records=SESSION_RECORDS, seed=SESSION_SEED) as org:
        config, run_dir = offboard_config(tmp, org), tmp / "run"
        spend = _once(lambda: journal_entries(run_dir, "change", "reassign_owner") >= 2,
                      lambda: _spend_allowance(org))
        code, output = offboard_process(config, org, "--yes", "--run-dir", str(run_dir),
                                        kill_when=spend)
        assert code == 4, f"exit {code}: {output[-800:]}"
        org.faults.daily_api_max = 100_000
        code, output = offboard_process(config, org, "--resume", str(run_dir), "--yes")
        assert code == 0, output[-2000:]
        check_same_as_uninterrupted(org, run_dir, clean)
        return {"faults": _faults(org), "runs": 2, **check_no_change_twice(run_dir)}


def _spend_allowance(org: Emulator) -> None:
    org.faults.daily_api_max = org.stats()["api_requests_used"]


def _once(when: Callable[[], bool], act: Callable[[], None]) -> Callable[[], bool]:
    """A ``kill_when`` that never kills: runs ``act`` the first time ``when()`` holds."""
    done = [False]

    def check() -> bool:
        if not done[0] and when():
            done[0] = True
            act()
        return False
    return check


def reassign_locks(tmp: Path, _clean: dict[str, Any], seed: int) -> dict[str, Any]:
    """Bulk reassignment (above the 2,000-row threshold: 3,000 leads) with rows failing
    UNABLE_TO_LOCK_ROW: locked rows are retried once; rows locked twice are listed in the
    failure file and moved by a second run, as an admin would rerun ``reassign``. Every lead
    ends with the successor and no record is journaled as moved twice."""
    from sfexit.journal import Journal, read_journal
    from sfexit.org.session import OrgSession
    from sfexit.people import ownership_read, ownership_transfer

    with Emulator(records=SESSION_RECORDS, seed=SESSION_SEED) as org:
        departing, successor = testing.user_id(org, DEPARTING), testing.user_id(org, SUCCESSOR)
        with testing.writes(org) as batch:
            for i in range(3000):
                batch.create("Lead", {"LastName": f"Soak {i}", "Company": "Acme",
                                      "OwnerId": departing})
        session = OrgSession(org.url, org.token, verify=str(org.ca_file), sleep=lambda _s: None)
        org.faults.update({"lock_row_rate": 0.05, "fault_seed": seed})
        journal = Journal.open(tmp / "reassign.jsonl")
        runs, retried, moved = 0, 0, 0
        while runs < RESUMES + 1:
            runs += 1
            plan = ownership_read.build_plan(session, [(DEPARTING, SUCCESSOR)],
                                             ["Lead"])
            if plan.total == 0:
                break
            done = ownership_transfer.transfer(session, plan, journal, sleep=org.clock.advance,
                                               clock=_ticker())
            retried += sum(o.lock_retried for o in done.objects)
            moved += sum(o.moved for o in done.objects)
        faults = _faults(org)
        org.faults.reset()
        owners = Counter(str(r[0]) for r in testing.rows(
            org, "SELECT OwnerId FROM Lead WHERE IsConverted = FALSE"))
        assert owners[departing] == 0, owners[departing]
        assert owners[successor] >= 3000
        snapshots = [e.target["snapshot"] for e in read_journal(tmp / "reassign.jsonl")
                     if e.kind == "change"]
        assert len(snapshots) == len(set(snapshots))
        return {"faults": faults, "runs": runs - (plan.total == 0), "rows locked and retried":
                retried, "rows moved": moved}


def _ticker() -> Callable[[], float]:
    counter = itertools.count()
    return lambda: float(next(counter))


def _until_done(run: Callable[[], tuple[int | None, str]]) -> int:
    for attempt in range(1, RESUMES + 2):
        code, output = run()
        if code == 0:
            return attempt
        assert code == 5, f"exit {code}: {output[-1500:]}"
    raise AssertionError(f"still partial after {RESUMES} resumes: {output[-1500:]}")


SCENARIOS: dict[str, Callable[[Path, dict[str, Any], int], dict[str, Any]]] = {
    "export bulk, mixed faults": export_mixed,
    "offboard, mixed faults": offboard_mixed,
    "export bulk, REQUEST_LIMIT_EXCEEDED": export_limit,
    "offboard, REQUEST_LIMIT_EXCEEDED": offboard_limit,
    "reassign by Bulk, UNABLE_TO_LOCK_ROW": reassign_locks,
}


def main() -> int:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=2, help="mixed-fault runs per command")
    parser.add_argument("--only", default="", help="run the scenarios whose name holds this")
    parser.add_argument("--results", type=Path)
    args = parser.parse_args()
    started = time.monotonic()
    lines: list[str] = []
    total: Counter[str] = Counter()
    failures = 0
    with tempfile.TemporaryDirectory(prefix="sfexit-soak-") as name:
        tmp = Path(name)
        with Emulator(records=SESSION_RECORDS, seed=SESSION_SEED) as org:
            clean_offboard = uninterrupted_offboard(tmp / "offboard-clean", org)
        with Emulator(records=SESSION_RECORDS, seed=SESSION_SEED) as org:
            config = offboard_config(tmp / "export-clean", org)
            code, output = sfexit_process(config, org, "export", "bulk", "--dest",
                                          str(tmp / "export-clean" / "out"))
            assert code == 0, output
            clean_export = export_facts(tmp / "export-clean" / "out", org)
        plan = [(f"{name} #{r + 1}", scenario, args.seed + r)
                for name, scenario in SCENARIOS.items() if args.only.lower() in name.lower()
                for r in range(args.rounds if "mixed" in name else 1)]
        for number, (label, scenario, seed) in enumerate(plan, 1):
            clean = clean_offboard if "offboard" in label else clean_export
            t0 = time.monotonic()
            try:
                facts = scenario(tmp / f"s{number}", clean, seed)
                faults = facts.pop("faults")
                total += faults
                shown = ", ".join(f"{k} {v}" for k, v in sorted(faults.items())) or "none"
                extra = ", ".join(f"{k} {v}" for k, v in facts.items())
                verdict = f"identical to the clean run; faults injected and survived: {shown}" \
                          f" ({extra})"
            except Exception as exc:   # reported; the other scenarios still run
                failures += 1
                verdict = f"FAIL: {failure_text(exc)}"
            line = f"- {label} (fault_seed {seed}): {verdict} [{time.monotonic() - t0:.0f} s]"
            print(line, flush=True)
            lines.append(line)
    summary = (f"{len(plan) - failures} of {len(plan)} scenarios ended identical to the clean "
               f"run; faults injected in all: "
               + ", ".join(f"{k} {v}" for k, v in sorted(total.items()))
               + f" ({time.monotonic() - started:.0f} s)")
    print(summary)
    if args.results:
        when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        mixed = ", ".join(f"{k}={v}" for k, v in MIXED.items())
        text = (f"\n## bench/fault_soak.py — {when}\n\nMachine: {machine()}\n\nCommand: "
                f"`bench/fault_soak.py --seed {args.seed} --rounds {args.rounds}`; mixed "
                f"faults: {mixed}\n\n" + "\n".join(lines) + f"\n\n{summary}\n")
        with open(args.results, "a", encoding="utf-8") as fh:
            fh.write(text)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
