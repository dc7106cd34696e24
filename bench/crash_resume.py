"""Crash-resume suite, long part (issue 19): SIGKILL ``sfexit offboard`` and ``sfexit export
bulk`` at seeded points (inside the export's objects and file downloads, inside freeze, inside
reassign, between an owner change and its team restore), resume, and compare with an uninterrupted run of the same org: CSV bytes, manifest
and file hashes, the org's final state, the report's facts; nothing applied twice and nothing
missing, counted from the journal's ``intent``/``change`` entries.

    .venv/bin/python bench/crash_resume.py [--seed 19] [--points 20] [--results bench/RESULTS.md]

Each point runs on a fresh emulator of the test seed (the org of ``fresh_emulator``), in its
own process as an operator's run would be (tests/integration/offboard_support.py holds the
process runner, the kill predicates and the checks, shared with test_offboard_kill.py and
test_crash_resume.py). Killed runs see ``--latency-ms`` per call so that every point has a
window to land in; the resumed run has none. Exit 1 when a point fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests" / "integration"))

from offboard_support import (  # noqa: E402
    backup_objects,
    check_no_change_twice,
    check_same_as_uninterrupted,
    export_facts,
    files_on_disk,
    journal_entries,
    kill_then_resume,
    manifest_objects,
    offboard_config,
    sfexit_process,
    uninterrupted_offboard,
)

from sfexit_emulator import Emulator, testing  # noqa: E402
from sfexit_emulator.testing import SESSION_RECORDS, SESSION_SEED  # noqa: E402


@dataclass(frozen=True)
class Point:
    command: str          # "offboard" | "export"
    kind: str
    k: int

    @property
    def name(self) -> str:
        return f"{self.command} {self.kind} >= {self.k}"


TEAM = "SELECT COUNT() FROM AccountTeamMember"
TEAM_SEEDED = 30   # AccountTeamMember rows of the test seed (fewer: an owner change dropped some)

# Kill predicates over the run's directory (offboard: RUN_DIR; export: the --dest folder) and,
# for "team dropped" (between an owner change and its team restore), the org.
PREDICATES: dict[str, Callable[[Path, int, Emulator], bool]] = {
    "export object": lambda d, k, _o: manifest_objects(d) >= k,
    "export file": lambda d, k, _o: files_on_disk(d / "export") >= k,
    "freeze intent": lambda d, k, _o: journal_entries(d, "intent", "freeze") >= k,
    "freeze change": lambda d, k, _o: journal_entries(d, "change", "freeze") >= k,
    "reassign change": lambda d, k, _o: journal_entries(d, "change", "reassign_owner") >= k,
    "team dropped": lambda d, k, o: (journal_entries(d, "change", "reassign_owner") >= 1
                                     and testing.count(o, TEAM) <= TEAM_SEEDED - k),
    "object": lambda d, k, _o: backup_objects(d) >= k,
    "file": lambda d, k, _o: files_on_disk(d) >= k,
    "object part": lambda d, k, _o: backup_objects(d) >= k and any((d / "data").glob("*.part")),
}
OFFBOARD_KINDS = ("export object", "export file", "freeze intent", "freeze change",
                  "reassign change", "team dropped")
EXPORT_KINDS = ("object", "file", "object part")


def draw_points(seed: int, count: int, ranges: dict[str, int]) -> list[Point]:
    """Every kind once, then kinds at random; each threshold uniform in 1..range."""
    rng = random.Random(seed)
    kinds = [*OFFBOARD_KINDS, *EXPORT_KINDS]
    chosen = kinds[:count] + [rng.choice(kinds) for _ in range(max(0, count - len(kinds)))]
    return [Point("offboard" if kind in OFFBOARD_KINDS else "export", kind,
                  rng.randint(1, max(1, ranges[kind]))) for kind in chosen]


def baselines(tmp: Path) -> tuple[dict[str, Any], dict[str, Any]]:
    with Emulator(records=SESSION_RECORDS, seed=SESSION_SEED) as org:
        offboard = uninterrupted_offboard(tmp / "offboard-clean", org)
    with Emulator(records=SESSION_RECORDS, seed=SESSION_SEED) as org:
        config = offboard_config(tmp / "export-clean", org)
        code, output = sfexit_process(config, org, "export", "bulk", "--dest",
                                      str(tmp / "export-clean" / "out"))
        assert code == 0, output
        export = export_facts(tmp / "export-clean" / "out", org)
    return offboard, export


def ranges_of(offboard: dict[str, Any], export: dict[str, Any]) -> dict[str, int]:
    """Thresholds that leave something to do after the kill."""
    frozen = len(offboard["report"]["frozen"])
    reassigned = sum(1 for action, _ in offboard["changes"] if action == "reassign_owner")
    return {"export object": len(offboard["csv"]) - 1, "export file": len(offboard["files"]) // 2,
            "freeze intent": frozen, "freeze change": max(1, frozen - 1),
            "reassign change": max(1, reassigned - 1), "team dropped": 1,
            "object": len(export["csv"]) - 1, "file": len(export["files"]) // 2,
            "object part": len(export["csv"]) - 1}


def run_point(point: Point, tmp: Path, clean: dict[str, Any], latency_ms: float
              ) -> dict[str, Any]:
    predicate = PREDICATES[point.kind]
    with Emulator(records=SESSION_RECORDS, seed=SESSION_SEED) as org:
        org.faults.latency_ms = latency_ms
        if point.command == "offboard":
            def kill(d: Path) -> bool:
                if predicate(d, point.k, org):
                    org.faults.latency_ms = 0   # the resume runs at full speed
                    return True
                return False
            run_dir, _ = kill_then_resume(org, tmp, kill)
            check_same_as_uninterrupted(org, run_dir, clean)
            return check_no_change_twice(run_dir)
        config, dest = offboard_config(tmp, org), tmp / "out"
        command = ("export", "bulk", "--dest", str(dest))
        code, output = sfexit_process(config, org, *command,
                                      kill_when=lambda: predicate(dest, point.k, org))
        assert code is None, f"ended (exit {code}) before the kill point: {output[-500:]}"
        org.faults.latency_ms = 0
        code, output = sfexit_process(config, org, *command)
        assert code == 0, output[-2000:]
        assert export_facts(dest, org) == clean
        assert not list(dest.rglob("*.part"))
        return {}


def failure_text(exc: BaseException) -> str:
    """The exception and where it was raised (a bare ``assert`` has no message here)."""
    where = traceback.extract_tb(exc.__traceback__)[-1]
    detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
    return f"{detail[:300]} at {Path(where.filename).name}:{where.lineno} ({where.line})"


def machine() -> str:
    uname = " ".join(platform.uname())
    load = subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
    return f"`{uname}`, nproc {os.cpu_count()}, Python {platform.python_version()}; " \
           f"uptime: `{load}`"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seed", type=int, default=19)
    parser.add_argument("--points", type=int, default=20)
    parser.add_argument("--latency-ms", type=float, default=25.0)
    parser.add_argument("--results", type=Path)
    args = parser.parse_args()
    started = time.monotonic()
    lines: list[str] = []
    failures = 0
    with tempfile.TemporaryDirectory(prefix="sfexit-crash-") as name:
        tmp = Path(name)
        offboard, export = baselines(tmp)
        points = draw_points(args.seed, args.points, ranges_of(offboard, export))
        for number, point in enumerate(points, 1):
            t0 = time.monotonic()
            clean = offboard if point.command == "offboard" else export
            try:
                counts = run_point(point, tmp / f"p{number}", clean, args.latency_ms)
                verdict = "ok" + (f" (journal: {counts['intent']} intent, {counts['change']} "
                                  "change entries)" if counts else "")
            except Exception as exc:   # one point's failure is reported, the others still run
                failures += 1
                verdict = f"FAIL: {failure_text(exc)}"
            line = f"- {number:2d}. {point.name}: {verdict} [{time.monotonic() - t0:.0f} s]"
            print(line, flush=True)
            lines.append(line)
    summary = (f"{len(points) - failures} of {len(points)} points resumed to the uninterrupted "
               f"result ({time.monotonic() - started:.0f} s)")
    print(summary)
    if args.results:
        when = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        text = (f"\n## bench/crash_resume.py — {when}\n\nMachine: {machine()}\n\nCommand: "
                f"`bench/crash_resume.py --seed {args.seed} --points {args.points} "
                f"--latency-ms {args.latency_ms:g}`\n\n" + "\n".join(lines) +
                f"\n\n{summary}\n")
        with open(args.results, "a", encoding="utf-8") as fh:
            fh.write(text)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
