"""sfexit's Bulk export against simple-salesforce on the same objects and rows (issue 12).

Targets ("Performance"): sfexit >= 3x faster than simple-salesforce's ``bulk2`` download and
>= 10x faster than its ``query_all`` written to CSV, at 20 ms added latency, as ratios in one run.

Like with like:
- the emulator runs in its OWN process (``sfexit emulator serve --latency-ms``), so the server
  never shares a GIL with the client being timed; the same server serves the three tools;
- the same objects (the ``--objects`` largest of the seed) and the same SOQL: sfexit builds it
  from describe (every field Bulk can return); the two simple-salesforce runs reuse sfexit's
  query text from its manifest, and every tool's row counts are checked equal;
- sfexit: ``run_backup`` (what ``sfexit export bulk --no-files`` calls: organization, identity,
  preflight, describe + Bulk job + streamed pages per object, manifest) with its default
  ``parallel`` and real ``time.sleep`` polling;
- simple-salesforce as a user calls it, on its own ``requests.Session``:
  ``sf.bulk2.<Obj>.download(query, path)`` per object, one after the other (its API waits for
  each job), with its defaults: ``wait=5`` before the first poll and 5 s + e^n ms between polls
  (simple_salesforce/bulk2.py ``wait_for_job``), 1 KiB ``iter_content`` reads
  (``download_job_data``); and ``sf.query_all_iter(query)`` written with ``csv`` to one file
  per object.
Wall clock for the whole export per tool; the split (job wait vs download) is summed over
objects (sfexit's runs overlap, so its split sums can exceed its wall clock).

    .venv/bin/python bench/export_vs_simple_salesforce.py [--records 200000] [--objects 6]
        [--latency-ms 20] [--results bench/RESULTS.md]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import os
import platform
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simple_salesforce import Salesforce  # noqa: E402
from simple_salesforce.bulk2 import _Bulk2Client  # noqa: E402

from sfexit.export import backup as export_backup  # noqa: E402
from sfexit.export import bulk as export_bulk  # noqa: E402
from sfexit.export.backup import run_backup  # noqa: E402
from sfexit.export.bulk import ExportOptions  # noqa: E402
from sfexit.export.manifest import ManifestStore  # noqa: E402
from sfexit.org import bulk2, soql  # noqa: E402
from sfexit.org.rest import RestClient  # noqa: E402
from sfexit.org.session import OrgSession  # noqa: E402

BULK2_TARGET = 3.0
QUERY_ALL_TARGET = 10.0


@contextlib.contextmanager
def served(records: int, latency_ms: float, ca_file: Path) -> Iterator[tuple[str, str]]:
    """(base URL, admin token) of ``sfexit emulator serve`` running in its own process."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sfexit", "emulator", "serve", "--records", str(records),
         "--latency-ms", str(latency_ms), "--ca-file", str(ca_file)],
        stdout=subprocess.PIPE, text=True, cwd=ROOT)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        fields: dict[str, str] = {}
        while "admin_token" not in fields:
            line = process.stdout.readline()
            if not line:
                raise SystemExit("the emulator stopped before it printed its admin token")
            name, _, value = line.strip().partition(": ")
            fields[name] = value
        yield url, fields["admin_token"]
    finally:
        process.terminate()
        process.wait(timeout=30)


def largest_objects(session: OrgSession, how_many: int) -> list[tuple[str, int]]:
    """The ``how_many`` queryable objects with the most rows (one COUNT() each)."""
    rest = RestClient(session)
    counts = []
    for entry in rest.describe_global():
        if not entry.get("queryable"):
            continue
        with contextlib.suppress(Exception):  # objects COUNT() refuses are not candidates
            counts.append((str(entry["name"]), rest.count(soql.count(str(entry["name"])))))
    counts.sort(key=lambda item: (-item[1], item[0]))
    return counts[:how_many]


class Timer:
    """Thread-safe sum of the seconds spent in wrapped calls."""

    def __init__(self) -> None:
        self.total = 0.0
        self.calls = 0
        self._lock = threading.Lock()

    def wrap(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                with self._lock:
                    self.total += time.perf_counter() - started
                    self.calls += 1
        return timed


@contextlib.contextmanager
def patched(owner: Any, name: str, timer: Timer) -> Iterator[None]:
    original = getattr(owner, name)
    setattr(owner, name, timer.wrap(original))
    try:
        yield
    finally:
        setattr(owner, name, original)


def run_sfexit(url: str, token: str, ca: Path, objects: list[str], dest: Path
               ) -> dict[str, Any]:
    session = OrgSession(url, token, verify=str(ca), read_only=True, sleep=time.sleep)
    wait, pages, data = Timer(), Timer(), Timer()
    options = ExportOptions(dest=dest, objects=tuple(objects))
    started = time.perf_counter()
    with patched(export_bulk.bulk2, "wait_for_job", wait), \
            patched(export_bulk, "_stream_pages", pages), \
            patched(export_backup, "export_data", data):
        summary = run_backup(session, options, files=False, sleep=time.sleep)
    wall = time.perf_counter() - started
    if summary.failed:
        raise SystemExit(f"sfexit failed: {[(o.name, o.reason) for o in summary.failed]}")
    manifest = ManifestStore.load(dest).manifest
    return {"wall": wall, "wait": wait.total, "download": pages.total, "data": data.total,
            "parallel": options.parallel, "calls": summary.api_calls,
            "queries": {n: manifest.objects[n].query for n in objects},
            "rows": {n: manifest.objects[n].rows for n in objects},
            "methods": sorted({manifest.objects[n].method for n in objects})}


def simple_sf(url: str, token: str, ca: Path, api_version: str) -> Salesforce:
    http = requests.Session()
    http.verify = str(ca)
    http.trust_env = False
    return Salesforce(instance_url=url, session_id=token, session=http, version=api_version)


def run_bulk2(sf: Salesforce, queries: dict[str, str], dest: Path) -> dict[str, Any]:
    wait, pages = Timer(), Timer()
    rows: dict[str, int] = {}
    started = time.perf_counter()
    with patched(_Bulk2Client, "wait_for_job", wait), \
            patched(_Bulk2Client, "download_job_data", pages):
        for name, query in queries.items():
            folder = dest / name
            folder.mkdir(parents=True)
            results = getattr(sf.bulk2, name).download(query, path=str(folder))
            rows[name] = sum(int(r["number_of_records"]) for r in results)
    return {"wall": time.perf_counter() - started, "wait": wait.total,
            "download": pages.total, "rows": rows}


def run_query_all(sf: Salesforce, queries: dict[str, str], dest: Path) -> dict[str, Any]:
    rows: dict[str, int] = {}
    dest.mkdir(parents=True)
    started = time.perf_counter()
    for name, query in queries.items():
        fields = query[len("SELECT "):query.index(" FROM ")].split(", ")
        count = 0
        with open(dest / f"{name}.csv", "w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh)
            writer.writerow(fields)
            for record in sf.query_all_iter(query):
                writer.writerow([record.get(f) for f in fields])
                count += 1
        rows[name] = count
    return {"wall": time.perf_counter() - started, "rows": rows}


def bulk_floor(url: str, token: str, ca: Path, queries: dict[str, str]) -> float:
    """The best any Bulk client can do against this server: every job created at once, status
    read every 50 ms, pages read with 1 MiB chunks and thrown away. What is left is the
    emulator's job model (START_DELAY + rows/200k s) and its writing of each result file."""
    session = OrgSession(url, token, verify=str(ca), read_only=True)

    def one(query: str) -> None:
        job = bulk2.create_query_job(session, query)
        while bulk2.get_job(session, job.id).state not in bulk2.TERMINAL_STATES:
            time.sleep(0.05)
        for _page, chunks in bulk2.iter_result_pages(session, job.id):
            for _chunk in chunks:
                pass

    started = time.perf_counter()
    threads = [threading.Thread(target=one, args=(q,)) for q in queries.values()]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return time.perf_counter() - started


def verdict(ratio: float, target: float) -> str:
    return "PASS" if ratio >= target else "FAIL"


def compare(records: int, how_many: int, latency_ms: float,
            say: Callable[[str], None]) -> None:
    """Run the three tools (and the Bulk floor) against one emulator; ``say`` each figure."""
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        ca = tmp / "ca.pem"
        started = time.perf_counter()
        with served(records, latency_ms, ca) as (url, token):
            probe = OrgSession(url, token, verify=str(ca), read_only=True)
            say(f"emulator: own process, --records {records:,}, --latency-ms {latency_ms:g}, "
                f"up in {time.perf_counter() - started:.1f} s")
            chosen = largest_objects(probe, how_many)
            objects = [name for name, _ in chosen]
            say("objects (largest of the seed): "
                + ", ".join(f"{n} {c:,}" for n, c in chosen)
                + f" = {sum(c for _, c in chosen):,} rows")
            ours = run_sfexit(url, token, ca, objects, tmp / "sfexit")
            print(f"  (sfexit {ours['wall']:.2f} s)", flush=True)
            sf = simple_sf(url, token, ca, probe.api_version)
            b2 = run_bulk2(sf, ours["queries"], tmp / "bulk2")
            print(f"  (bulk2 {b2['wall']:.2f} s)", flush=True)
            qa = run_query_all(sf, ours["queries"], tmp / "query_all")
            print(f"  (query_all {qa['wall']:.2f} s)", flush=True)
            floor = bulk_floor(url, token, ca, ours["queries"])
        for label, got in (("bulk2", b2["rows"]), ("query_all", qa["rows"])):
            if got != ours["rows"]:
                raise SystemExit(f"row counts differ: sfexit {ours['rows']} vs {label} {got}")
        say(f"same rows in all three: {sum(ours['rows'].values()):,}; same SOQL (sfexit's, "
            f"every Bulk-readable field)")
        say(f"sfexit run_backup (--no-files, parallel={ours['parallel']}, real poll sleep, "
            f"method {'/'.join(ours['methods'])}): {ours['wall']:.2f} s wall, of which "
            f"{ours['wall'] - ours['data']:.2f} s before the data step (organization, identity, "
            f"describe global, preflight); summed over objects: job wait {ours['wait']:.2f} s, "
            f"pages {ours['download']:.2f} s; {ours['calls']} API calls (incl. preflight)")
        ratio = b2["wall"] / ours["wall"]
        say(f"simple-salesforce bulk2.<Obj>.download, sequential, defaults (wait=5 s before the "
            f"first poll, ~5 s between polls, 1 KiB reads): {b2['wall']:.2f} s wall = job wait "
            f"{b2['wait']:.2f} s + download {b2['download']:.2f} s (+ create) -> sfexit "
            f"{ratio:.1f}x faster (target >= {BULK2_TARGET:g}x) {verdict(ratio, BULK2_TARGET)}")
        wait_free = b2["wall"] - b2["wait"]
        say(f"  for information, bulk2 without its job waits: {wait_free:.2f} s (its 5 s waits "
            f"are what a user gets, so the ratio above counts them)")
        ratio = qa["wall"] / ours["wall"]
        say(f"simple-salesforce query_all_iter written with csv, file per object: "
            f"{qa['wall']:.2f} s wall -> sfexit {ratio:.1f}x faster (target >= "
            f"{QUERY_ALL_TARGET:g}x) {verdict(ratio, QUERY_ALL_TARGET)}")
        say(f"Bulk floor on this server (all {len(objects)} jobs at once where sfexit runs "
            f"{ours['parallel']}, 50 ms polls, no describe/preflight, pages read and dropped): "
            f"{floor:.2f} s -> no Bulk client beats query_all by more than "
            f"{qa['wall'] / floor:.1f}x on this emulator; sfexit is {ours['wall'] / floor:.2f}x "
            f"the floor")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--objects", type=int, default=6, help="how many of the largest")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--results", type=Path, default=None)
    args = parser.parse_args()
    lines: list[str] = []

    def say(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    compare(args.records, args.objects, args.latency_ms, say)
    if args.results:
        stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        machine = (f"{platform.machine()}, {os.cpu_count()} CPUs, Python "
                   f"{platform.python_version()}, load {os.getloadavg()[0]:.1f}")
        with open(args.results, "a", encoding="utf-8") as fh:
            fh.write(f"\n## bench/export_vs_simple_salesforce.py — {stamp} ({machine}; "
                     f"shared machine)\n\n")
            fh.write(f"Command: `{' '.join(sys.argv)}`\n\n")
            fh.writelines(f"- {line}\n" for line in lines)


if __name__ == "__main__":
    main()
