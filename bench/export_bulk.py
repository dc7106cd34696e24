"""sfexit's Bulk export against the loopback limit, and its memory (issue 12, "Performance").

1. Loopback ratio: sfexit exports the largest object (``export_data``: Bulk job, pages streamed
   to ``data/<Object>.csv.part``, SHA-256 in the same pass, header dropped on later pages,
   rename, manifest). The page phase is timed; then a plain ``requests`` client fetches the SAME
   job's pages (same ``maxRecords``, same ``Accept-Encoding``, 1 MiB reads, SHA-256, written to
   a file). Ratio = sfexit / plain, best of ``--rounds``; target <= 1.15 at no added latency.
2. Peak RSS: a child process runs a full-object export against an org of N rows and reports
   its RSS before the export and its peak (VmHWM) after; target: grows <= 10 MB, < 100 MB.
3. ``--simple-salesforce``: runs ``bench/export_vs_simple_salesforce.py``'s comparison (emulator
   in its own process, the 6 largest objects, 20 ms added latency, at most 200,000 records):
   simple-salesforce's ``bulk2`` download (target: sfexit >= 3x faster) and ``query_all``
   written to CSV (>= 10x).

    .venv/bin/python bench/export_bulk.py [--records 200000] [--rounds 3] [--rss 10000,1000000]
        [--simple-salesforce] [--results bench/RESULTS.md]     (--rounds 0: RSS only)
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from collections.abc import Callable
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sfexit_emulator import Emulator, testing  # noqa: E402
from sfexit.export import bulk as export_bulk  # noqa: E402
from sfexit.export.bulk import export_data  # noqa: E402
from sfexit.export.data_run import ExportOptions  # noqa: E402
from sfexit.export.manifest import ManifestStore  # noqa: E402
from sfexit.org.session import OrgSession  # noqa: E402

CANDIDATES = ("Task", "Contact", "Account", "Opportunity", "Lead", "Case", "Event")
MAX_RECORDS = 50_000


def largest(org: Emulator) -> tuple[str, int]:
    name = max(CANDIDATES, key=lambda n: testing.record_count(org, n))
    return name, testing.record_count(org, name)


def clock_sleep(org: Emulator) -> Callable[[float], None]:
    """Waits move the emulator clock (Bulk jobs finish without real sleeping)."""
    def sleep(seconds: float) -> None:
        org.clock.advance(seconds)
    return sleep


def session(org: Emulator) -> OrgSession:
    return OrgSession(org.url, org.token, verify=str(org.ca_file), read_only=True,
                      sleep=clock_sleep(org))


def sfexit_export(org: Emulator, obj: str, dest: Path, gzip: bool) -> tuple[float, str, int]:
    """(seconds in the page phase, job id, bytes) of one sfexit export of ``obj``."""
    timings: list[float] = []
    original = export_bulk.stream_pages

    def timed(*args: Any) -> int:
        started = time.perf_counter()
        try:
            return original(*args)
        finally:
            timings.append(time.perf_counter() - started)

    export_bulk.stream_pages = timed  # type: ignore[assignment]
    try:
        store = ManifestStore.create(dest, org_id="bench")
        export_data(session(org), store, ExportOptions(dest=dest, objects=(obj,), parallel=1,
                                                       max_records=MAX_RECORDS, gzip=gzip),
                    sleep=clock_sleep(org))
    finally:
        export_bulk.stream_pages = original
    entry = store.manifest.objects[obj]
    return timings[0], entry.job_ids[0], entry.bytes


def plain_download(org: Emulator, job_id: str, dest: Path, gzip: bool) -> tuple[float, int]:
    """The loopback limit: same pages, 1 MiB reads, SHA-256, written to one file."""
    http = requests.Session()
    http.trust_env = False
    http.verify = str(org.ca_file)
    http.headers["Authorization"] = f"Bearer {org.token}"
    base = f"{org.url}/services/data/v{session(org).api_version}/jobs/query/{job_id}/results"
    digest = hashlib.sha256()
    size = 0
    locator: str | None = None
    started = time.perf_counter()
    with open(dest, "wb") as out:
        while True:
            params: dict[str, Any] = {"maxRecords": MAX_RECORDS}
            if locator:
                params["locator"] = locator
            with http.get(base, params=params, stream=True, timeout=300,
                          headers={"Accept-Encoding": "gzip" if gzip else "identity"}) as r:
                r.raise_for_status()
                for chunk in r.iter_content(1 << 20):
                    digest.update(chunk)
                    out.write(chunk)
                    size += len(chunk)
                locator = r.headers.get("Sforce-Locator")
            if not locator or locator == "null":
                break
    return time.perf_counter() - started, size


def loopback_ratio(org: Emulator, rounds: int, gzip: bool) -> dict[str, Any]:
    obj, rows = largest(org)
    best_sfexit = best_plain = float("inf")
    size = 0
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(rounds):
            took, job_id, size = sfexit_export(org, obj, Path(tmp) / f"s{i}", gzip)
            plain, _ = plain_download(org, job_id, Path(tmp) / f"p{i}.csv", gzip)
            best_sfexit, best_plain = min(best_sfexit, took), min(best_plain, plain)
    return {"object": obj, "rows": rows, "bytes": size, "gzip": gzip,
            "sfexit_s": best_sfexit, "plain_s": best_plain,
            "ratio": best_sfexit / best_plain}


CHILD = r"""
import json, sys, time
from pathlib import Path
from sfexit.export.bulk import export_data
from sfexit.export.data_run import ExportOptions
from sfexit.export.manifest import ManifestStore
from sfexit.org.session import OrgSession
url, token, ca, obj, dest = sys.argv[1:6]
def rss(key):
    for line in open('/proc/self/status'):
        if line.startswith(key):
            return int(line.split()[1]) / 1024
s = OrgSession(url, token, verify=ca, read_only=True, sleep=time.sleep)
s.api_version
store = ManifestStore.create(Path(dest), org_id="bench")
before = rss('VmRSS:')
export_data(s, store, ExportOptions(dest=Path(dest), parallel=4))
print(json.dumps({"before_mb": before, "peak_mb": rss('VmHWM:'),
                  "rows": sum(e.rows for e in store.manifest.objects.values()),
                  "objects": len(store.manifest.objects)}))
"""


def peak_rss(rows: int) -> dict[str, Any]:
    """A child process exports every object of an org of ``rows`` records (4 at a time, real
    polling sleeps); its RSS before the export and its peak after."""
    with Emulator(records=rows, seed=1) as org, tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, "-c", CHILD, org.url, org.token, str(org.ca_file),
                              "*", tmp], capture_output=True, text=True, check=True, cwd=ROOT)
        found: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    found["growth_mb"] = found["peak_mb"] - found["before_mb"]
    found["object"] = f"{found['objects']} objects"
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--rss", default="10000,1000000")
    parser.add_argument("--simple-salesforce", action="store_true")
    parser.add_argument("--results", type=Path, default=None)
    args = parser.parse_args()
    lines = []
    with Emulator(records=args.records, seed=1) as org:
        for gzip in (False, True) if args.rounds > 0 else ():
            r = loopback_ratio(org, args.rounds, gzip)
            line = (f"loopback ({'gzip' if gzip else 'identity'}): {r['object']} "
                    f"{r['rows']:,} rows, {r['bytes'] / 1e6:.1f} MB: sfexit {r['sfexit_s']:.2f} s, "
                    f"plain client {r['plain_s']:.2f} s, ratio {r['ratio']:.2f} (target <= 1.15)")
            print(line, flush=True)
            lines.append(line)
    peaks = []
    for rows in (int(x) for x in args.rss.split(",") if x):
        r = peak_rss(rows)
        peaks.append((r["rows"], r["peak_mb"]))
        line = (f"peak RSS, {r['object']} {r['rows']:,} rows: before the export "
                f"{r['before_mb']:.1f} MB, peak {r['peak_mb']:.1f} MB (+{r['growth_mb']:.1f} MB "
                f"during the export; target peak < 100 MB)")
        print(line, flush=True)
        lines.append(line)
    if len(peaks) >= 2:
        (small, low), (large, high) = peaks[0], peaks[-1]
        line = (f"peak RSS growth from {small:,} to {large:,} rows: {high - low:+.1f} MB "
                f"(target <= 10 MB)")
        print(line, flush=True)
        lines.append(line)
    if args.simple_salesforce:
        # The emulator in its own process and like-for-like runs: export_vs_simple_salesforce.py
        # (the in-process version shared one GIL between server and clients).
        from export_vs_simple_salesforce import compare

        def say(line: str) -> None:
            print(line, flush=True)
            lines.append(line)

        compare(min(args.records, 200_000), 6, 20.0, True, say)
    if args.results:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        machine = f"{platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}"
        with open(args.results, "a", encoding="utf-8") as fh:
            fh.write(f"\n## bench/export_bulk.py — {stamp} ({machine}; shared machine)\n\n")
            fh.write(f"Command: `{' '.join(sys.argv)}`\n\n")
            fh.writelines(f"- {line}\n" for line in lines)


if __name__ == "__main__":
    main()
