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

Two settings of the same running emulator, one after the other (``POST /__emulator__/faults``):
- cost model OFF: today's emulator, whose REST pages and Bulk jobs cost OUR CPU (~18 µs a REST
  row, ~10-15 µs a Bulk row) and whose jobs follow bulk_jobs.START_DELAY & co;
- cost model ON (emulator/src/sfexit_emulator/costs.py: Salesforce's server time as waits, its
  figures and sources in emulator/README.md "Server-time model"), then its sensitivity: query_all and sfexit again with the
  synchronous times (calls, REST pages) and the Bulk job times at half and double
  (``cost_rest_scale``, ``cost_bulk_scale``). query_all only uses REST pages, so its time is
  measured once per REST scale and reused across Bulk scales.

    .venv/bin/python bench/export_vs_simple_salesforce.py [--records 200000] [--objects 6]
        [--latency-ms 20] [--no-sensitivity] [--no-bulk2] [--results bench/RESULTS.md]
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import datetime as dt
import os
import platform
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any


ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from simple_salesforce import Salesforce  # noqa: E402
from simple_salesforce.bulk2 import _Bulk2Client  # noqa: E402

from bench.common import served, set_costs, simple_sf, verdict  # noqa: E402
from sfexit.export import backup as export_backup  # noqa: E402
from sfexit.export import bulk as export_bulk  # noqa: E402
from sfexit.export.backup import run_backup  # noqa: E402
from sfexit.export.data_run import ExportOptions  # noqa: E402
from sfexit.export.manifest import ManifestStore  # noqa: E402
from sfexit.org import bulk2, soql  # noqa: E402
from sfexit.org.rest import RestClient  # noqa: E402
from sfexit.org.session import OrgSession  # noqa: E402

BULK2_TARGET = 3.0
QUERY_ALL_TARGET = 10.0


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
    wait, pages, data, checks = Timer(), Timer(), Timer(), Timer()
    options = ExportOptions(dest=dest, objects=tuple(objects))
    started = time.perf_counter()
    with patched(export_bulk.bulk2, "wait_for_job", wait), \
            patched(export_bulk, "_stream_pages", pages), \
            patched(export_backup, "preflight", checks), \
            patched(export_backup, "export_data", data):
        summary = run_backup(session, options, files=False, sleep=time.sleep)
    wall = time.perf_counter() - started
    if summary.failed:
        raise SystemExit(f"sfexit failed: {[(o.name, o.reason) for o in summary.failed]}")
    manifest = ManifestStore.load(dest).manifest
    return {"wall": wall, "wait": wait.total, "download": pages.total, "data": data.total,
            "preflight": checks.total,
            "parallel": options.parallel, "calls": summary.api_calls,
            "api_version": session.api_version,
            "queries": {n: manifest.objects[n].query for n in objects},
            "rows": {n: manifest.objects[n].rows for n in objects},
            "methods": sorted({manifest.objects[n].method for n in objects})}


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


def check_rows(expected: dict[str, int], label: str, got: dict[str, int]) -> None:
    if got != expected:
        raise SystemExit(f"row counts differ: sfexit {expected} vs {label} {got}")


def sfexit_line(ours: dict[str, Any]) -> str:
    return (f"sfexit run_backup (--no-files, parallel={ours['parallel']}, real poll sleep, "
            f"method {'/'.join(ours['methods'])}): {ours['wall']:.2f} s wall = "
            f"{ours['wall'] - ours['data']:.2f} s before the data step (organization, identity, "
            f"describe global, preflight {ours['preflight']:.2f} s) + data step "
            f"{ours['data']:.2f} s; summed over objects: job wait {ours['wait']:.2f} s, pages "
            f"{ours['download']:.2f} s; {ours['calls']} API calls (incl. preflight)")


def one_setting(label: str, url: str, token: str, ca: Path, objects: list[str], tmp: Path,
                say: Callable[[str], None], queries: dict[str, str] | None = None,
                with_bulk2: bool = True) -> dict[str, Any]:
    """sfexit, simple-salesforce bulk2 and query_all, and the Bulk floor, on one setting."""
    ours = run_sfexit(url, token, ca, objects, tmp / f"sfexit-{label}")
    print(f"  ({label}: sfexit {ours['wall']:.2f} s)", flush=True)
    queries = queries or ours["queries"]
    sf = simple_sf(url, token, ca, ours["api_version"])
    b2 = run_bulk2(sf, queries, tmp / f"bulk2-{label}") if with_bulk2 else None
    if b2 is not None:
        print(f"  ({label}: bulk2 {b2['wall']:.2f} s)", flush=True)
    qa = run_query_all(sf, queries, tmp / f"query_all-{label}")
    print(f"  ({label}: query_all {qa['wall']:.2f} s)", flush=True)
    floor = bulk_floor(url, token, ca, queries)
    check_rows(ours["rows"], "query_all", qa["rows"])
    say(sfexit_line(ours))
    if b2 is not None:
        check_rows(ours["rows"], "bulk2", b2["rows"])
        ratio = b2["wall"] / ours["wall"]
        say(f"simple-salesforce bulk2.<Obj>.download, sequential, defaults (wait=5 s before "
            f"the first poll, ~5 s between polls, 1 KiB reads): {b2['wall']:.2f} s wall = job "
            f"wait {b2['wait']:.2f} s + download {b2['download']:.2f} s (+ create) -> sfexit "
            f"{ratio:.1f}x faster (target >= {BULK2_TARGET:g}x) {verdict(ratio, BULK2_TARGET)}")
    ratio = qa["wall"] / ours["wall"]
    say(f"simple-salesforce query_all_iter written with csv, file per object: "
        f"{qa['wall']:.2f} s wall -> sfexit {ratio:.1f}x faster (target >= "
        f"{QUERY_ALL_TARGET:g}x) {verdict(ratio, QUERY_ALL_TARGET)}")
    say(f"Bulk floor (all {len(objects)} jobs at once, 50 ms polls, no describe/preflight, "
        f"pages read and dropped): {floor:.2f} s -> no Bulk client beats query_all by more "
        f"than {qa['wall'] / floor:.1f}x here; sfexit is {ours['wall'] / floor:.2f}x the floor")
    return {"sfexit": ours, "query_all": qa, "queries": queries}


def sensitivity(url: str, token: str, ca: Path, objects: list[str], tmp: Path,
                base: dict[str, Any], say: Callable[[str], None]) -> None:
    """query_all at REST x0.5/x2; sfexit at each one-sided and both-sided half/double."""
    queries: dict[str, str] = base["queries"]
    sf = simple_sf(url, token, ca, base["sfexit"]["api_version"])
    qa = {1.0: base["query_all"]["wall"]}
    for rest in (0.5, 2.0):
        set_costs(url, ca, True, rest=rest)
        got = run_query_all(sf, queries, tmp / f"query_all-rest{rest:g}")
        check_rows(base["sfexit"]["rows"], "query_all", got["rows"])
        qa[rest] = got["wall"]
        print(f"  (REST x{rest:g}: query_all {got['wall']:.2f} s)", flush=True)
    cases = (("REST x0.5", 0.5, 1.0), ("REST x2", 2.0, 1.0), ("Bulk x0.5", 1.0, 0.5),
             ("Bulk x2", 1.0, 2.0), ("all x0.5", 0.5, 0.5), ("all x2", 2.0, 2.0))
    for label, rest, bulk in cases:
        set_costs(url, ca, True, rest=rest, bulk=bulk)
        ours = run_sfexit(url, token, ca, objects, tmp / f"sfexit-{rest:g}-{bulk:g}")
        check_rows(base["sfexit"]["rows"], "sfexit", ours["rows"])
        ratio = qa[rest] / ours["wall"]
        say(f"sensitivity {label} (cost_rest_scale {rest:g}, cost_bulk_scale {bulk:g}): "
            f"query_all {qa[rest]:.2f} s / sfexit {ours['wall']:.2f} s (preflight "
            f"{ours['preflight']:.2f} s, data step {ours['data']:.2f} s) = {ratio:.1f}x "
            f"(target >= {QUERY_ALL_TARGET:g}x) {verdict(ratio, QUERY_ALL_TARGET)}")


def compare(records: int, how_many: int, latency_ms: float, with_sensitivity: bool,
            say: Callable[[str], None], with_bulk2: bool = True) -> None:
    """Run the three tools (and the Bulk floor) against one emulator, cost model off then on;
    ``say`` each figure."""
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        ca = tmp / "ca.pem"
        started = time.perf_counter()
        with served(records, latency_ms, ca) as (url, token):
            probe = OrgSession(url, token, verify=str(ca), read_only=True)
            say(f"emulator: own process, --records {records:,}, --latency-ms {latency_ms:g}, "
                f"up in {time.perf_counter() - started:.1f} s; load average at start "
                f"{os.getloadavg()[0]:.1f}")
            chosen = largest_objects(probe, how_many)
            objects = [name for name, _ in chosen]
            say("objects (largest of the seed): "
                + ", ".join(f"{n} {c:,}" for n, c in chosen)
                + f" = {sum(c for _, c in chosen):,} rows; same SOQL for all tools (sfexit's, "
                "every Bulk-readable field); row counts checked equal in every run")
            say("COST MODEL OFF (today's emulator: server work is our CPU):")
            set_costs(url, ca, False)
            off = one_setting("off", url, token, ca, objects, tmp, say, with_bulk2=with_bulk2)
            say("COST MODEL ON (emulator/README.md 'Server-time model', central profile: 30 ms "
                "a call, 0.8 s a REST page, Bulk job 3 s then 31.6 MB/s of CSV, results "
                "25.7 MB/s a stream):")
            set_costs(url, ca, True)
            on = one_setting("on", url, token, ca, objects, tmp, say, off["queries"],
                             with_bulk2=with_bulk2)
            if with_sensitivity:
                sensitivity(url, token, ca, objects, tmp, on, say)
            set_costs(url, ca, False)
            say(f"load average at the end {os.getloadavg()[0]:.1f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--objects", type=int, default=6, help="how many of the largest")
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--no-sensitivity", action="store_true",
                        help="skip the half/double runs of the cost model")
    parser.add_argument("--no-bulk2", action="store_true",
                        help="skip simple-salesforce's bulk2 (its 5 s waits make it slow)")
    parser.add_argument("--results", type=Path, default=None)
    args = parser.parse_args()
    lines: list[str] = []

    def say(line: str) -> None:
        print(line, flush=True)
        lines.append(line)

    compare(args.records, args.objects, args.latency_ms, not args.no_sensitivity, say,
            with_bulk2=not args.no_bulk2)
    if args.results:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        machine = (f"{platform.machine()}, {os.cpu_count()} CPUs, Python "
                   f"{platform.python_version()}, load {os.getloadavg()[0]:.1f}")
        with open(args.results, "a", encoding="utf-8") as fh:
            fh.write(f"\n## bench/export_vs_simple_salesforce.py — {stamp} ({machine}; "
                     f"shared machine)\n\n")
            fh.write(f"Command: `{' '.join(sys.argv)}`\n\n")
            fh.writelines(f"- {line}\n" for line in lines)


if __name__ == "__main__":
    main()
