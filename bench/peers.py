"""sfexit's ``export bulk`` against every peer on the same org, one command (issue 23 table).

    .venv/bin/python bench/peers.py [--size 20k|200k|1m] [--runs 3] [--latency-ms 20]
        [--profiles central,low,high] [--results bench/RESULTS.md]

The org sizes and the ideal schedule line: bench/peers_org.py.

Like with like:
- one emulator in its OWN process (``sfexit emulator serve --latency-ms 20``), the server-time
  model on (emulator/README.md "Server-time model"), switched between profiles over its admin
  route; every tool is a child process of this script, measured by wait4 (wall, peak RSS of
  its largest process, CPU);
- the same objects and SOQL: a first sfexit run (not timed, ``--rest-below 0``: every object
  by Bulk where Bulk accepts it) fixes them: every object sfexit exports, with its query from
  sfexit's manifest. The Bulk peers get only the objects Bulk accepts (that run's manifest
  method "bulk"; the others, a few small objects Bulk refuses, are left out for them, which
  only makes them faster); ``query_all`` gets every object;
- rows counted with ``csv.reader`` in every tool's output, checked equal to sfexit's per object;
- runs interleaved: each round runs every tool once, in an order rotated per round; the
  figure is the median over rounds. Each round at the central profile runs every tool; the low
  and high profiles only move the REST page time, so at those only sfexit and ``query_all``
  (the tools that read REST pages) are run again, the Bulk peers' central medians reused.

The tools, as a user runs them:
- sfexit: ``sfexit export bulk --no-files --json`` (SFEXIT_INSTANCE_URL/ACCESS_TOKEN/CA_BUNDLE);
- ``sf data export bulk`` (the sf CLI 2.146.3 pinned in emulator/tests/sfcli, logged in with
  ``sf org login access-token`` as emulator/tests/test_sf_cli.py does, SF_CLI_ENV), one
  process per object, one after another ("sequential") and 4 at a time ("x4");
- jsforce 3.10.16 ``conn.bulk2.query`` per object, CSV piped to a file (bench/peers_jsforce.mjs);
- simple-salesforce ``sf.bulk2.<Object>.download(query, path)`` per object (its defaults);
- simple-salesforce ``query_all_iter`` per object written with ``csv.writer``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import statistics
import sys
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "emulator" / "tests"))

from bench.common import (Measured, csv_rows, invalid_utf8, machine, measured, served,  # noqa: E402
                          publish, set_costs, simple_sf, uptime, verdict)
from bench.peers_org import (IDEAL_TARGET, SIZES, TARGETS, fill, ideal,  # noqa: E402
                             schema)

SFCLI = ROOT / "emulator" / "tests" / "sfcli"
JSFORCE = ROOT / "emulator" / "tests" / "js"
LABELS = {"sfexit": "sfexit export bulk", "sf_seq": "sf data export bulk, sequential",
          "sf_x4": "sf data export bulk, 4 at a time", "jsforce": "jsforce bulk2",
          "ssf_bulk2": "simple-salesforce bulk2", "query_all": "simple-salesforce query_all → CSV"}
REST_TOOLS = ("sfexit", "query_all")
# Objects a tool could not read as given (a peer's plain query refused): filled while measuring.
LEFT_OUT: dict[str, list[str]] = {}
# Files a tool wrote that are not UTF-8 (its rows still counted: bench.common.csv_rows).
NOT_UTF8: dict[str, list[str]] = {}
# Objects whose rows a peer did not return in full (object -> "its rows of sfexit's").
ROWS_WRONG: dict[str, dict[str, str]] = {}


class Org:
    """The emulator one run talks to, and the environments of the tools that talk to it."""

    def __init__(self, url: str, token: str, ca: Path, work: Path) -> None:
        self.url, self.token, self.ca, self.work = url, token, ca, work
        self.home = work / "home"
        self.home.mkdir()
        base = {k: v for k, v in os.environ.items()
                if not k.startswith(("SF_", "SFDX_", "NODE_", "SFEXIT_"))}
        base["HOME"] = str(self.home)
        self.sfexit_env = {**base, "SFEXIT_INSTANCE_URL": url, "SFEXIT_ACCESS_TOKEN": token,
                           "SFEXIT_CA_BUNDLE": str(ca)}
        from js_clients import SF_CLI_ENV   # the pinned names that keep sf from updating

        self.node_env = {**base, **SF_CLI_ENV, "NODE_EXTRA_CA_CERTS": str(ca),
                         "SF_INSTANCE_URL": url, "SF_ACCESS_TOKEN": token,
                         "JSFORCE_PROJECT": str(JSFORCE),
                         "PATH": f"{SFCLI / 'node_modules' / '.bin'}{os.pathsep}"
                                 f"{os.environ.get('PATH', '')}"}
        self.runs = 0

    def folder(self, tool: str) -> Path:
        self.runs += 1
        path = self.work / f"{self.runs:03d}-{tool}"
        path.mkdir()
        return path


def check(tool: str, done: Measured, log: Path) -> None:
    if done.returncode != 0:
        raise SystemExit(f"{tool} exited {done.returncode}:\n{log.read_text()[-3000:]}")


def run_sfexit(org: Org, *extra: str) -> tuple[Measured, dict[str, int], Path]:
    out = org.folder("sfexit")
    log = out / "log.txt"
    done = measured([str(ROOT / ".venv" / "bin" / "sfexit"), "export", "bulk", "--dest",
                     str(out / "backup"), "--no-files", "--json", *extra], org.sfexit_env,
                    out, log)
    check("sfexit", done, log)
    rows = {p.stem: csv_rows(p) for p in (out / "backup" / "data").glob("*.csv")}
    return done, rows, out / "backup"


def sf_login(org: Org) -> None:
    log = org.work / "sf-login.txt"
    done = measured(["sf", "org", "login", "access-token", "--instance-url", org.url,
                     "--no-prompt", "--alias", "emu", "--json"], org.node_env, org.work, log)
    check("sf org login", done, log)


def run_sf(org: Org, queries: dict[str, str], at_once: int) -> tuple[Measured, dict[str, int]]:
    out = org.folder(f"sf{at_once}")

    def one(name: str) -> Measured:
        log = out / f"{name}.log"
        done = measured(["sf", "data", "export", "bulk", "--query", queries[name],
                         "--output-file", str(out / f"{name}.csv"), "--result-format", "csv",
                         "--wait", "30", "--target-org", "emu", "--json"],
                        org.node_env, out, log)
        check(f"sf data export bulk {name}", done, log)
        return done

    started = _now()
    with ThreadPoolExecutor(at_once) as pool:
        each = list(pool.map(one, queries))
    wall = _now() - started
    rows = {name: csv_rows(out / f"{name}.csv") for name in queries}
    return Measured(wall, 0, max(m.rss_mb for m in each), sum(m.cpu for m in each)), rows


def run_jsforce(org: Org, queries: dict[str, str], api: str) -> tuple[Measured, dict[str, int]]:
    out = org.folder("jsforce")
    spec = out / "spec.json"
    spec.write_text(json.dumps({"dest": str(out), "queries": queries}))
    log = out / "log.txt"
    done = measured(["node", str(ROOT / "bench" / "peers_jsforce.mjs"), str(spec)],
                    {**org.node_env, "SF_API_VERSION": api}, out, log)
    check("jsforce", done, log)
    bad = [name for name in queries if invalid_utf8(out / f"{name}.csv")]
    if bad:
        NOT_UTF8["jsforce"] = sorted(set(NOT_UTF8.get("jsforce", [])) | set(bad))
    return done, {name: csv_rows(out / f"{name}.csv") for name in queries}


def run_python_tool(org: Org, tool: str, queries: dict[str, str],
                    api: str) -> tuple[Measured, dict[str, int]]:
    """simple-salesforce in a child process (``peers.py _tool``), so its RSS is its own."""
    out = org.folder(tool)
    spec = out / "spec.json"
    spec.write_text(json.dumps({"url": org.url, "token": org.token, "ca": str(org.ca),
                                "api": api, "dest": str(out), "queries": queries}))
    log = out / "log.txt"
    done = measured([sys.executable, __file__, "_tool", tool, str(spec)], org.sfexit_env, out,
                    log)
    check(tool, done, log)
    rows = {name: sum(csv_rows(p) for p in (out / name).glob("*.csv")) for name in queries
            if any((out / name).glob("*.csv"))}
    return done, rows


def tool_main(tool: str, spec_file: str) -> None:
    """The simple-salesforce side, as a user writes it."""
    import csv

    from simple_salesforce.exceptions import SalesforceMalformedRequest

    spec = json.loads(Path(spec_file).read_text())
    sf = simple_sf(spec["url"], spec["token"], Path(spec["ca"]), spec["api"])
    for name, query in spec["queries"].items():
        folder = Path(spec["dest"]) / name
        folder.mkdir()
        if tool == "ssf_bulk2":
            getattr(sf.bulk2, name).download(query, path=str(folder))
            continue
        fields = query[len("SELECT "):query.index(" FROM ")].split(", ")
        try:
            with open(folder / f"{name}.csv", "w", newline="", encoding="utf-8") as fh:
                writer = csv.writer(fh)
                writer.writerow(fields)
                for record in sf.query_all_iter(query):
                    writer.writerow([record.get(f) for f in fields])
        except SalesforceMalformedRequest:
            # e.g. ContentDocumentLink needs a filter (sfexit reads it in IN-list chunks); a
            # plain script cannot read it whole: left out, and said so in the results.
            (folder / f"{name}.csv").unlink()


def _now() -> float:
    import time

    return time.perf_counter()


def plan(org: Org) -> tuple[dict[str, str], dict[str, str], dict[str, int], str, int, Path]:
    """An untimed sfexit run, every object by Bulk where Bulk accepts it, fixes the objects,
    queries and rows: (all queries, the Bulk ones, rows per object, API version, CSV bytes,
    the backup)."""
    _done, rows, backup = run_sfexit(org, "--rest-below", "0")
    manifest = json.loads((backup / "manifest.json").read_text())
    objects = manifest["objects"]
    every = {n: o["query"] for n, o in objects.items()}
    bulk = {n: o["query"] for n, o in objects.items() if o["method"] == "bulk"}
    size = sum(int(o["bytes"]) for o in objects.values())
    return every, bulk, rows, str(manifest["api_version"]), size, backup


def one_round(org: Org, tools: list[str], queries: dict[str, str], bulk: dict[str, str],
              expected: dict[str, int], api: str) -> dict[str, Measured]:
    runners: dict[str, Callable[[], tuple[Measured, dict[str, int]]]] = {
        "sfexit": lambda: run_sfexit(org)[:2],
        "sf_seq": lambda: run_sf(org, bulk, 1),
        "sf_x4": lambda: run_sf(org, bulk, 4),
        "jsforce": lambda: run_jsforce(org, bulk, api),
        "ssf_bulk2": lambda: run_python_tool(org, "ssf_bulk2", bulk, api),
        "query_all": lambda: run_python_tool(org, "query_all", queries, api),
    }
    times: dict[str, Measured] = {}
    for tool in tools:
        done, rows = runners[tool]()
        want = {n: expected[n] for n in rows}
        if tool == "sfexit" and (rows != want or set(rows) != set(expected)):
            raise SystemExit(f"{tool}: rows {rows} differ from sfexit's {want}")
        if rows != want:
            # A peer that returns fewer (or more) rows than the org holds: its time is still
            # measured, and the results say which objects came out wrong and by how much.
            ROWS_WRONG[tool] = {n: f"{rows[n]:,} of {want[n]:,}" for n in rows
                                if rows[n] != want[n]}
            print(f"  {tool}: WRONG ROW COUNTS {ROWS_WRONG[tool]}", flush=True)
        times[tool] = done
        LEFT_OUT[tool] = sorted(set(queries if tool == "query_all" else bulk) - set(rows))
        print(f"  {tool}: {done.wall:.2f} s, {done.rss_mb:.0f} MB, {done.cpu:.2f} CPU s",
              flush=True)
    return times


def measure(size_name: str, runs: int, latency: float, profiles: list[str],
            tools: list[str], once: set[str], dump: Path | None) -> dict[str, Any]:
    size_spec = SIZES[size_name]
    report: dict[str, Any] = {"size": size_name, "records": size_spec.records, "runs": runs,
                              "latency_ms": latency, "machine": machine(),
                              "uptime_before": uptime(),
                              "started": dt.datetime.now(dt.UTC).isoformat(
                                  timespec="minutes"), "profiles": {}, "ideal": {}}
    with tempfile.TemporaryDirectory(prefix="peers-") as tmp:
        work = Path(tmp)
        (work / "schema.json").write_text(json.dumps(schema(size_spec)))
        with served(size_spec.records, latency, work / "ca.pem", work / "schema.json") \
                as (url, token):
            org = Org(url, token, work / "ca.pem", work)
            fill(url, token, org.ca, size_spec)
            set_costs(url, org.ca, True, profile="central")
            queries, bulk, expected, api, size, backup = plan(org)
            for profile in profiles:
                report["ideal"][profile] = vars(ideal(backup, set(bulk), profile, latency))
                report.setdefault("ideal_split", {})[profile] = vars(
                    ideal(backup, set(bulk), profile, latency, split=True))
            report.update(objects=len(queries), bulk_objects=len(bulk),
                          rows=sum(expected.values()), csv_bytes=size)
            print(f"{len(queries)} objects ({len(bulk)} by Bulk), {sum(expected.values()):,} "
                  f"rows, {size:,} CSV bytes", flush=True)
            if any(t.startswith("sf_") for t in tools):
                sf_login(org)
            for profile in profiles:
                set_costs(url, org.ca, True, profile=profile)
                these = tools if profile == "central" else [t for t in tools if t in REST_TOOLS]
                rounds: list[dict[str, Measured]] = []
                for n in range(runs):
                    order = these[n % len(these):] + these[:n % len(these)]
                    order = [t for t in order if n == 0 or t not in once]
                    print(f"{profile} round {n + 1}: {', '.join(order)}", flush=True)
                    rounds.append(one_round(org, order, queries, bulk, expected, api))
                    report["profiles"][profile] = {
                        t: {k: [getattr(r[t], k) for r in rounds if t in r]
                            for k in ("wall", "rss_mb", "cpu")} for t in these}
                    if dump is not None:   # what is measured so far survives a failure
                        dump.write_text(json.dumps(report, indent=1))
    report["uptime_after"] = uptime()
    report["left_out"] = {t: names for t, names in LEFT_OUT.items() if names}
    report["not_utf8"] = NOT_UTF8
    report["rows_wrong"] = ROWS_WRONG
    return report


def med(report: dict[str, Any], profile: str, tool: str, key: str = "wall") -> float | None:
    """The median of ``tool`` at ``profile``; the Bulk peers' central one at the other ends."""
    found = report["profiles"].get(profile, {}).get(tool)
    if found is None and tool not in REST_TOOLS:
        found = report["profiles"].get("central", {}).get(tool)
    return statistics.median(found[key]) if found else None


def markdown(report: dict[str, Any], command: str) -> str:
    targets = TARGETS[report["size"]]
    m = report["machine"]
    gb = report["csv_bytes"] / 1e9
    lines = [f"## bench/peers.py — {report['started']} ({m['uname']}; nproc {m['nproc']}; "
             f"Python {m['python']}; shared machine)", "",
             f"Command: `{command}`", "",
             f"- org: size {report['size']} (`--records {report['records']:,}` plus custom "
             f"objects, bench/peers_org.py), {report['objects']} objects "
             f"({report['bulk_objects']} through Bulk for the Bulk peers), {report['rows']:,} "
             f"rows, {report['csv_bytes']:,} CSV bytes; {report['latency_ms']:g} ms latency; "
             f"server-time model on (emulator/README.md 'Server-time model'); medians of "
             f"{report['runs']} interleaved runs (once: {report.get('once') or 'none'}); "
             f"rows counted with csv.reader, compared per object with sfexit's",
             f"- objects a peer could not read with its plain query (left out, its rows not "
             f"counted): {report.get('left_out') or 'none'}",
             f"- CSV files a peer wrote that are not valid UTF-8 (rows still counted): "
             f"{report.get('not_utf8') or 'none'}",
             f"- objects whose rows a peer did not return in full (its rows of the org's): "
             f"{report.get('rows_wrong') or 'none'}",
             f"- load before: `{report['uptime_before']}`",
             f"- load after: `{report['uptime_after']}`", ""]
    tools = [t for t in LABELS if t != "sfexit" and med(report, "central", t) is not None]
    # One cell per column, so that a run of sfexit alone still makes a well-formed table.
    head = "| " + " | ".join(["profile (REST page)", "ideal schedule", "sfexit (÷ ideal)",
                              *(LABELS[t] for t in tools)]) + " |"
    lines += [head, "|" + "---|" * (len(tools) + 3)]
    page = {"low": "0.3 s", "central": "0.8 s", "high": "2 s"}
    for profile in ("central", "low", "high"):
        ours = med(report, profile, "sfexit")
        if ours is None:
            continue
        best = report["ideal"][profile]["seconds"]
        cells = []
        for tool in tools:
            theirs = med(report, profile, tool)
            assert theirs is not None
            ratio = theirs / ours
            cells.append(f"{theirs:.1f} s = **{ratio:.2f}×** (≥ {targets[tool]}× "
                         f"{verdict(ratio, targets[tool])})")
        to_ideal = ours / best
        lines.append("| " + " | ".join([
            f"{profile} ({page[profile]})", f"{best:.1f} s",
            f"{ours:.1f} s ({to_ideal:.2f}× ≤ {IDEAL_TARGET}: "
            f"{'PASS' if to_ideal <= IDEAL_TARGET else 'FAIL'})", *cells]) + " |")
    central = report["ideal"].get("central")
    if central:
        lines += ["", f"Ideal schedule (central; bench/peers_org.py): max(largest object "
                  f"{central['largest']} {central['largest_seconds']:.2f} s, total work "
                  f"{central['work']:.1f} s ÷ 25) = {central['seconds']:.2f} s."]
    for profile, found in report.get("ideal_split", {}).items():
        lines += ["", f"ideal_split ({profile}; NOT the issue's line: an object may also be "
                  f"read in Id ranges side by side, bench/peers_org.py): max(largest "
                  f"{found['largest']} {found['largest_seconds']:.2f} s, work "
                  f"{found['work']:.1f} s ÷ 25) = {found['seconds']:.2f} s."]
    lines += ["", "Peak RSS (MB, median; sf x4: the largest of its processes) and CPU "
              "(central; CPU s per GB of CSV, process start included):", ""]
    for tool in ["sfexit", *tools]:
        rss, cpu = med(report, "central", tool, "rss_mb"), med(report, "central", tool, "cpu")
        if rss is None or cpu is None:
            continue
        extra = ""
        if tool == "sfexit":
            extra = (f" (targets: ≤ 1.5 CPU s/GB {'PASS' if cpu / gb <= 1.5 else 'FAIL'}, "
                     f"≤ 100 MB {'PASS' if rss <= 100 else 'FAIL'})")
        lines.append(f"- {LABELS[tool]}: {rss:.0f} MB, {cpu:.2f} CPU s = "
                     f"{cpu / gb:.1f} CPU s/GB{extra}")
    lines.append("")
    return "\n".join(lines)


def main() -> None:
    if len(sys.argv) == 4 and sys.argv[1] == "_tool":
        tool_main(sys.argv[2], sys.argv[3])
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", choices=list(SIZES), default="20k",
                        help="the org (bench/peers_org.py SIZES)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--latency-ms", type=float, default=20.0)
    parser.add_argument("--profiles", default="central,low,high")
    parser.add_argument("--tools", default=",".join(LABELS))
    parser.add_argument("--once", default="sf_seq",
                        help="tools run in the first round only (the slowest, whose ratio is "
                             "far from its target)")
    parser.add_argument("--results", type=Path, help="append the section to this file")
    parser.add_argument("--json", type=Path, help="write the raw measurements here")
    args = parser.parse_args()
    tools = [t for t in args.tools.split(",") if t]
    if "sfexit" not in tools or any(t not in LABELS for t in tools):
        raise SystemExit(f"--tools: sfexit plus any of {', '.join(LABELS)}")
    report = measure(args.size, args.runs, args.latency_ms, args.profiles.split(","), tools,
                     set(filter(None, args.once.split(","))), args.json)
    report["once"] = args.once
    if args.json:
        args.json.write_text(json.dumps(report, indent=1))
    publish(markdown(report, " ".join(["bench/peers.py", *sys.argv[1:]])), args.results)


if __name__ == "__main__":
    main()
