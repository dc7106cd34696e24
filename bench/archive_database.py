"""archive.sqlite from a 1M-row export: peak RSS and time against SQLite's own executemany
(issue 22, "Scale").

A real export of the emulated org is grown in its own format (``bench/archive_support.py``) so
that ``--object`` holds ``--rows`` rows (Contact: 56 columns, references to Account and User,
so the restore-ready username/email columns are paid for too). Then, in child processes,
interleaved round by round on the same export:

- ``sfexit``: ``build_database`` (sfexit/archive/database.py): typed columns, foreign keys,
  restore-ready lookups, indexes, the ``_sfexit_*`` tables;
- ``sqlite``: Python's ``sqlite3`` alone: one table per CSV (its header as columns, ``Id``
  primary key), rows straight from ``csv.reader`` through ``executemany`` in batches of the
  same size, same PRAGMAs; no types, keys, lookups or indexes.

Each child reports its time and peak RSS (``ru_maxrss``). Targets: sfexit's peak RSS < 150 MB,
time <= 2x sqlite's (ratio per round, interleaved, so load affects both alike).

    .venv/bin/python bench/archive_database.py [--rows 1000000] [--object Contact]
        [--rounds 3] [--no-results]
"""

from __future__ import annotations

import argparse
import csv
import json
import resource
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from archive_support import grow_object, load, machine, small_export

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
RSS_TARGET_MB = 150
RATIO_TARGET = 2.0


def child_sfexit(export: Path, out: Path) -> None:
    from sfexit.archive.database import build_database
    from sfexit.archive.source import open_export

    build_database(open_export(export), out)


def child_sqlite(export: Path, out: Path) -> None:
    from sfexit.archive.database import BATCH_SIZE
    from sfexit.export.manifest import ManifestStore

    conn = sqlite3.connect(out)
    conn.execute("PRAGMA journal_mode=OFF")
    conn.execute("PRAGMA synchronous=OFF")
    for name, entry in sorted(ManifestStore.load(export).snapshot().objects.items()):
        with open(export / entry.file, encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if not header:
                continue
            columns = ", ".join(f'"{c}"' + (" PRIMARY KEY" if c == "Id" else "")
                                for c in header)
            conn.execute(f'CREATE TABLE "{name}" ({columns})')
            insert = f'INSERT INTO "{name}" VALUES ({", ".join("?" * len(header))})'
            batch: list[list[str]] = []
            for row in reader:
                batch.append(row)
                if len(batch) == BATCH_SIZE:
                    conn.executemany(insert, batch)
                    batch.clear()
            conn.executemany(insert, batch)
            conn.commit()
    conn.close()


def run_child(which: str, export: Path, work: Path) -> dict[str, float]:
    out = work / f"{which}.sqlite"
    out.unlink(missing_ok=True)
    done = subprocess.run([sys.executable, __file__, "--child", which, str(export), str(out)],
                          check=True, capture_output=True, text=True)
    result: dict[str, float] = json.loads(done.stdout.strip().splitlines()[-1])
    out.unlink()
    return result


def child(which: str, export: Path, out: Path) -> None:
    started = time.perf_counter()
    (child_sfexit if which == "sfexit" else child_sqlite)(export, out)
    seconds = time.perf_counter() - started
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"seconds": seconds, "cpu": usage.ru_utime + usage.ru_stime,
                      "peak_mb": usage.ru_maxrss / 1024}))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--object", default="Contact")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-results", action="store_true")
    parser.add_argument("--child", nargs=3, metavar=("WHICH", "EXPORT", "OUT"))
    args = parser.parse_args()
    if args.child:
        child(args.child[0], Path(args.child[1]), Path(args.child[2]))
        return
    with tempfile.TemporaryDirectory(prefix="archive-db-bench-") as tmp:
        work = Path(tmp)
        export = small_export(work / "export", files=False)
        started = time.perf_counter()
        grow_object(export, args.object, args.rows)
        grown = time.perf_counter() - started
        csv_mb = (export / "data" / f"{args.object}.csv").stat().st_size / 1e6
        print(f"export grown: {args.object} {args.rows:,} rows, {csv_mb:.0f} MB CSV "
              f"({grown:.0f} s)", flush=True)
        lines = [f"- export: the emulated org's, {args.object} grown to {args.rows:,} rows "
                 f"({csv_mb:.0f} MB CSV, 56 columns); every other object as seeded",
                 f"- load before: `{load()}`"]
        ratios, cpu_ratios, peaks = [], [], []
        for n in range(1, args.rounds + 1):
            base = run_child("sqlite", export, work)
            ours = run_child("sfexit", export, work)
            ratio = ours["seconds"] / base["seconds"]
            ratios.append(ratio)
            cpu_ratios.append(ours["cpu"] / base["cpu"])
            peaks.append(ours["peak_mb"])
            line = (f"- round {n}: sqlite executemany {base['seconds']:.1f} s wall, "
                    f"{base['cpu']:.1f} s CPU (peak RSS {base['peak_mb']:.0f} MB); sfexit "
                    f"build_database {ours['seconds']:.1f} s wall, {ours['cpu']:.1f} s CPU "
                    f"(peak RSS {ours['peak_mb']:.0f} MB): ratio {ratio:.2f} wall, "
                    f"{cpu_ratios[-1]:.2f} CPU; `{load()}`")
            print(line, flush=True)
            lines.append(line)
        lines.append(f"- load after: `{load()}`")
        verdict = (f"**ratio median {statistics.median(ratios):.2f} wall "
                   f"({statistics.median(cpu_ratios):.2f} CPU), best {min(ratios):.2f} "
                   f"(target <= {RATIO_TARGET}); sfexit peak RSS max {max(peaks):.0f} MB "
                   f"(target < {RSS_TARGET_MB} MB)**")
        lines.append(f"- {verdict}")
        print(verdict)
    if not args.no_results:
        with open(RESULTS, "a", encoding="utf-8") as fh:
            fh.write(f"\n## bench/archive_database.py — {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
                     " (shared machine, heavily loaded)\n\n"
                     + "\n".join(machine() + lines) + "\n")


if __name__ == "__main__":
    main()
