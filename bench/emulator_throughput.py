"""How fast the emulator serves REST query pages over TLS on loopback (goal: >= 50,000 rows/s).

A query_all-style loop with one keep-alive requests.Session: the first page from
``/query?q=``, then ``nextRecordsUrl`` until ``done``, repeated until at least ``--rows`` rows
were read. Prints rows/s per run, with gzip (what requests and simple-salesforce ask for by
default) and without.

The emulator runs in its own process (``sfexit emulator serve``) as it does for sfexit's
benchmarks; ``--in-process`` runs it in this process instead, where client and server share one
GIL (slower: the figure for tests that start ``Emulator`` themselves).

    .venv/bin/python bench/emulator_throughput.py [--records 100000] [--runs 3] [--in-process]
"""

from __future__ import annotations

import argparse
import contextlib
import subprocess
import sys
import time
from collections.abc import Iterator

import requests

# Twelve fields of the kinds an export selects: ids, references, text, picklists, dates, booleans.
SOQL = ("SELECT Id, OwnerId, WhoId, WhatId, Subject, Status, Priority, ActivityDate, "
        "CreatedDate, LastModifiedDate, SystemModstamp, IsDeleted FROM Task")


@contextlib.contextmanager
def served(records: int, in_process: bool) -> Iterator[tuple[str, str, str]]:
    """(base URL, CA file, admin token) of a running emulator."""
    if in_process:
        from sfexit_emulator import Emulator

        with Emulator(records=records, seed=1) as org:
            yield org.url, str(org.ca_file), org.token
        return
    process = subprocess.Popen(
        [sys.executable, "-m", "sfexit", "emulator", "serve", "--records", str(records)],
        stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        url = process.stdout.readline().strip()
        fields = {}
        while "admin_token" not in fields:
            name, _, value = process.stdout.readline().strip().partition(": ")
            fields[name] = value
        yield url, fields["ca_file"], fields["admin_token"]
    finally:
        process.terminate()
        process.wait(timeout=30)


def page_loop(http: requests.Session, url: str) -> int:
    page = http.get(f"{url}/services/data/v64.0/query", params={"q": SOQL}).json()
    rows = len(page["records"])
    while not page["done"]:
        page = http.get(url + page["nextRecordsUrl"]).json()
        rows += len(page["records"])
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--records", type=int, default=100000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--rows", type=int, default=100000, help="rows to read per run")
    parser.add_argument("--in-process", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    with served(args.records, args.in_process) as (url, ca_file, token):
        where = "in this process" if args.in_process else "in its own process"
        print(f"emulator ({where}) up in {time.perf_counter() - started:.1f}s at {url}")
        print(f"query: {SOQL}")
        for encoding in ("gzip", "identity"):
            http = requests.Session()
            http.verify = ca_file
            http.trust_env = False
            http.headers.update({"Authorization": f"Bearer {token}",
                                 "Accept-Encoding": encoding})
            for run in range(1, args.runs + 1):
                rows, t0 = 0, time.perf_counter()
                while rows < args.rows:
                    rows += page_loop(http, url)
                elapsed = time.perf_counter() - t0
                print(f"REST query JSON over TLS, Accept-Encoding {encoding}, run {run}: "
                      f"{rows} rows in {elapsed:.2f}s = {rows / elapsed:,.0f} rows/s")


if __name__ == "__main__":
    main()
