"""API calls to reassign ~100,000 records of one object (issue 13: ≤ 6 calls + ≤ 10 polls).

Starts an emulated org, gives the departing user 100,000 extra Leads (straight into the store),
plans through sfexit (counted apart: user listing, describe, the GROUP BY count), then runs the
transfer on the Bulk path with the emulator clock as the poll clock, and reads the calls from
the emulator's own stats (``requests_by_route``), not from sfexit's counter. Compares with what
sObject Collections alone would spend: ⌈N/200⌉ PATCH + ⌈N/2000⌉ query pages for the snapshot.
Appends one line to bench/RESULTS.md.

    .venv/bin/python bench/reassign_calls.py [--rows 100000] [--undo] [--no-append]
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import math
import os
import platform
import tempfile
import time
from pathlib import Path
from typing import Any

from sfexit_emulator import Emulator, testing
from sfexit.journal import Journal
from sfexit.org.session import OrgSession
from sfexit.people import ownership_read, ownership_transfer, ownership_undo

DEPARTING = "departing.user@sfexit-demo.example"
SUCCESSOR = "standard.user@sfexit-demo.example"
POLL_ROUTES = ("bulk_ingest_job", "bulk_query_job")
RESULTS = Path(__file__).with_name("RESULTS.md")


def settled_stats(org: Emulator) -> dict[str, Any]:
    # Stats are counted after each response is written: wait for the last one to land.
    last = -1
    while True:
        stats = org.stats()
        if stats["requests_total"] == last:
            return stats
        last = stats["requests_total"]
        time.sleep(0.05)


def spent(before: dict[str, Any], after: dict[str, Any]) -> dict[str, int]:
    routes = set(before["requests_by_route"]) | set(after["requests_by_route"])
    diff = {r: after["requests_by_route"].get(r, 0) - before["requests_by_route"].get(r, 0)
            for r in routes}
    return {r: n for r, n in sorted(diff.items()) if n}


def run(rows: int, undo: bool) -> dict[str, Any]:
    with Emulator(records=2000) as org:
        dep = testing.user_id(org, DEPARTING)
        started = time.perf_counter()
        with testing.writes(org) as batch:
            for i in range(rows):
                batch.create("Lead", {"LastName": f"Bench {i}", "Company": "Acme",
                                      "OwnerId": dep})
        seeded = time.perf_counter() - started
        session = OrgSession(org.url, org.token, verify=str(org.ca_file))
        s0 = settled_stats(org)
        plan = ownership_read.build_plan(session, [(DEPARTING, SUCCESSOR)], ["Lead"])
        s1 = settled_stats(org)
        ticks = itertools.count()
        with tempfile.TemporaryDirectory() as tmp:
            journal = Journal.open(Path(tmp) / "reassign.jsonl")
            started = time.perf_counter()
            done = ownership_transfer.transfer(session, plan, journal, sleep=org.clock.advance,
                                               clock=lambda: float(next(ticks)))
            took = time.perf_counter() - started
            s2 = settled_stats(org)
            undo_routes: dict[str, int] = {}
            if undo:
                ownership_undo.undo_transfer(session, journal.path,
                                             Journal.open(Path(tmp) / "undo.jsonl"),
                                             sleep=org.clock.advance,
                                             clock=lambda: float(next(ticks)))
                undo_routes = spent(s2, settled_stats(org))
        transfer_routes = spent(s1, s2)
        polls = sum(transfer_routes.get(r, 0) for r in POLL_ROUTES)
        return {"rows": plan.total, "moved": done.moved, "failed": done.failed,
                "transport": done.objects[0].transport, "seed_s": seeded, "transfer_s": took,
                "plan_calls": sum(spent(s0, s1).values()), "plan_routes": spent(s0, s1),
                "calls": sum(transfer_routes.values()) - polls, "polls": polls,
                "routes": transfer_routes, "undo_routes": undo_routes,
                "collections": math.ceil(plan.total / 200) + math.ceil(plan.total / 2000)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    parser.add_argument("--undo", action="store_true", help="also time and count the undo")
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()
    r = run(args.rows, args.undo)
    print(f"reassigned {r['moved']:,} of {r['rows']:,} Leads via {r['transport']} "
          f"({r['failed']} failed) in {r['transfer_s']:.1f} s (seeding {r['seed_s']:.1f} s)")
    print(f"transfer: {r['calls']} API calls + {r['polls']} status polls  "
          f"(budget 6 + 10; sObject Collections alone: {r['collections']})")
    print(f"  by route: {r['routes']}")
    print(f"planning (user list, describe, GROUP BY count): {r['plan_calls']} calls "
          f"{r['plan_routes']}")
    if r["undo_routes"]:
        print(f"undo: {sum(r['undo_routes'].values())} calls {r['undo_routes']}")
    ok = r["calls"] <= 6 and r["polls"] <= 10 and r["failed"] == 0 and r["moved"] == r["rows"]
    print("within budget" if ok else "OVER BUDGET")
    if not args.no_append:
        now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        lines = [
            f"\n## bench/reassign_calls.py — {now} ({platform.machine()}, "
            f"{os.cpu_count()} CPUs, Python {platform.python_version()}; shared machine)\n",
            f"Command: `bench/reassign_calls.py --rows {args.rows}"
            f"{' --undo' if args.undo else ''}`\n",
            f"- {r['moved']:,} of {r['rows']:,} Leads moved via {r['transport']}, "
            f"{r['failed']} failed, {r['transfer_s']:.1f} s",
            f"- transfer: {r['calls']} API calls + {r['polls']} status polls (budget 6 + 10; "
            f"sObject Collections alone: {r['collections']}) -> {'PASS' if ok else 'FAIL'}",
            f"- by route: {r['routes']}",
            f"- planning (user list, describe, GROUP BY count): {r['plan_calls']} calls",
        ]
        if r["undo_routes"]:
            lines.append(f"- undo: {sum(r['undo_routes'].values())} calls {r['undo_routes']}")
        with RESULTS.open("a", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
    raise SystemExit(0 if ok else 1)


if __name__ == "__main__":
    main()
