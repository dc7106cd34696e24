"""sfexit's own CPU per GB exported, the Bulk path and the REST path apart (issue 23: "client
CPU ≤ 1.5 CPU-seconds per GB exported").

    .venv/bin/python bench/cpu_per_gb.py [--size 200k] [--runs 3] [--paths bulk,rest]
        [--extra ARG ...] [--results bench/RESULTS.md]

One emulator in its own process (bench/common.served; no latency, cost model off: only the
client's CPU is measured, and wall time is what loopback gives), seeded once with the org of
``--size`` (bench/peers_org.py). Every run is ``sfexit export bulk --no-files --json`` into a
fresh directory, measured by wait4 (user + system CPU of sfexit and its children, peak RSS):
- ``bulk``: ``--rest-below 0`` (every object Bulk accepts by Bulk, a few by REST);
- ``rest``: ``--rest-below 1000000000`` (every object by REST query);
- ``start``: ``--objects`` one small custom object: the fixed cost (process start, imports,
  preflight) the other figures are also given net of.
GB = 10**9 bytes of CSV written (the manifest's ``bytes``), split by the manifest's ``method``.
Runs are interleaved (one of each path per round, order rotated); medians are reported. Extra
sfexit arguments for every run (``--extra=--no-gzip``) compare a variant on the same org.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.common import Measured, machine, measured, publish, served, uptime  # noqa: E402
from bench.peers_org import SIZES, fill, schema  # noqa: E402

PATHS = {"bulk": ["--rest-below", "0"], "rest": ["--rest-below", "1000000000"],
         "start": ["--objects", "Bench00__c"]}


def run(env: dict[str, str], work: Path, label: str, args: list[str]) -> dict[str, Any]:
    out = Path(tempfile.mkdtemp(prefix=f"{label}-", dir=work))
    log = out / "log.txt"
    done: Measured = measured([str(ROOT / ".venv" / "bin" / "sfexit"), "export", "bulk",
                               "--dest", str(out / "backup"), "--no-files", "--json", *args],
                              env, out, log)
    if done.returncode != 0:
        raise SystemExit(f"sfexit {label} exited {done.returncode}:\n{log.read_text()[-3000:]}")
    objects = json.loads((out / "backup" / "manifest.json").read_text())["objects"]
    by_method: dict[str, int] = {}
    for entry in objects.values():
        by_method[entry["method"]] = by_method.get(entry["method"], 0) + int(entry["bytes"])
    return {"cpu": done.cpu, "wall": done.wall, "rss_mb": done.rss_mb, "bytes": by_method}


def measure(size: str, runs: int, paths: list[str], extra: list[str]) -> dict[str, Any]:
    spec = SIZES[size]
    report: dict[str, Any] = {"size": size, "runs": runs, "extra": extra, "machine": machine(),
                              "uptime_before": uptime(), "paths": {p: [] for p in paths}}
    with tempfile.TemporaryDirectory(prefix="cpu-per-gb-") as tmp:
        work = Path(tmp)
        (work / "schema.json").write_text(json.dumps(schema(spec)))
        with served(spec.records, 0, work / "ca.pem", work / "schema.json") as (url, token):
            fill(url, token, work / "ca.pem", spec)
            env = {"PATH": "/usr/bin:/bin", "HOME": str(work), "SFEXIT_INSTANCE_URL": url,
                   "SFEXIT_ACCESS_TOKEN": token, "SFEXIT_CA_BUNDLE": str(work / "ca.pem")}
            for n in range(runs):
                for path in paths[n % len(paths):] + paths[:n % len(paths)]:
                    one = run(env, work, path, PATHS[path] + extra)
                    report["paths"][path].append(one)
                    print(f"round {n + 1} {path}: {one['cpu']:.2f} CPU s, {one['wall']:.2f} s, "
                          f"{one['rss_mb']:.0f} MB, bytes {one['bytes']}", flush=True)
    report["uptime_after"] = uptime()
    return report


def markdown(report: dict[str, Any], command: str) -> str:
    med = {p: {k: statistics.median(r[k] for r in rs) for k in ("cpu", "wall", "rss_mb")}
           for p, rs in report["paths"].items() if rs}
    start = med.get("start", {}).get("cpu", 0.0)
    lines = [f"Reproduce: `{command}`. Machine: `{report['machine']['uname']}`, nproc "
             f"{report['machine']['nproc']}, Python {report['machine']['python']}; load before "
             f"`{report['uptime_before']}`, after `{report['uptime_after']}`. Medians of "
             f"{report['runs']}; GB = 10^9 CSV bytes; net = minus the `start` run's CPU "
             f"({start:.2f} CPU s).", "",
             "| path | CSV bytes (by method) | wall | CPU | CPU s/GB | net CPU s/GB | peak RSS |",
             "|---|---|---|---|---|---|---|"]
    for path, figures in med.items():
        split = report["paths"][path][0]["bytes"]
        total = sum(split.values())
        gb = total / 1e9
        per = figures["cpu"] / gb if gb else 0.0
        net = (figures["cpu"] - start) / gb if gb and path != "start" else 0.0
        lines.append(f"| {path} | {total:,} ({', '.join(f'{m} {b:,}' for m, b in split.items())})"
                     f" | {figures['wall']:.2f} s | {figures['cpu']:.2f} s | {per:.1f} | "
                     f"{net:.1f} | {figures['rss_mb']:.0f} MB |")
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=list(SIZES), default="200k")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--paths", default="start,bulk,rest")
    parser.add_argument("--extra", action="append", default=[],
                        help="an argument added to every sfexit run (repeatable)")
    parser.add_argument("--results", type=Path, help="append the table to this file")
    args = parser.parse_args()
    paths = [p for p in args.paths.split(",") if p]
    if any(p not in PATHS for p in paths):
        raise SystemExit(f"--paths: any of {', '.join(PATHS)}")
    report = measure(args.size, args.runs, paths, args.extra)
    publish(markdown(report, " ".join(["bench/cpu_per_gb.py", *sys.argv[1:]])), args.results)


if __name__ == "__main__":
    main()
