"""What the bench scripts share: an emulator in its own process, its cost model switched over
the admin route, simple-salesforce bound to it, a child process measured (wall, peak RSS, CPU),
CSV rows counted, and the machine described for bench/RESULTS.md."""

from __future__ import annotations

import contextlib
import csv
import os
import platform
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import requests
from simple_salesforce import Salesforce

ROOT = Path(__file__).resolve().parents[1]


@contextlib.contextmanager
def served(records: int, latency_ms: float, ca_file: Path,
           schema: Path | None = None) -> Iterator[tuple[str, str]]:
    """(base URL, admin token) of ``sfexit emulator serve`` running in its own process, with
    the custom objects of ``schema`` (emulator schema_custom.py) when given."""
    process = subprocess.Popen(
        [sys.executable, "-m", "sfexit", "emulator", "serve", "--records", str(records),
         "--latency-ms", str(latency_ms), "--ca-file", str(ca_file),
         *(["--schema", str(schema)] if schema is not None else [])],
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


def set_costs(url: str, ca: Path, on: bool, rest: float = 1.0, bulk: float = 1.0,
              profile: str = "central") -> None:
    """Switch the running emulator's cost model (admin route, loopback only)."""
    answer = requests.post(f"{url}/__emulator__/faults", timeout=30, verify=str(ca),
                           json={"cost_model": on, "cost_rest_scale": rest,
                                 "cost_bulk_scale": bulk, "cost_profile": profile})
    answer.raise_for_status()


def simple_sf(url: str, token: str, ca: Path, api_version: str) -> Salesforce:
    http = requests.Session()
    http.verify = str(ca)
    http.trust_env = False
    return Salesforce(instance_url=url, session_id=token, session=http, version=api_version)


def verdict(ratio: float, target: float) -> str:
    return "PASS" if ratio >= target else "FAIL"


@dataclass(frozen=True)
class Measured:
    """One child process: wall seconds, exit code, peak RSS (MB, its largest process, children
    it waited for included: Linux wait4), user+system CPU seconds."""

    wall: float
    returncode: int
    rss_mb: float
    cpu: float


def measured(args: list[str], env: dict[str, str], cwd: Path, log: Path) -> Measured:
    """Run ``args`` to the end, stdout and stderr to ``log``; measure it with wait4."""
    with open(log, "wb") as out:
        started = time.perf_counter()
        child = subprocess.Popen(args, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        _pid, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
    child.returncode = os.waitstatus_to_exitcode(status)
    return Measured(wall, child.returncode, usage.ru_maxrss / 1024,
                    usage.ru_utime + usage.ru_stime)


def csv_rows(path: Path) -> int:
    """Data rows of one CSV file (its header not counted; an empty file has none)."""
    # surrogateescape: a tool that writes bytes which are not UTF-8 (jsforce at 1M rows did)
    # still has its rows counted; invalid_utf8() says which files hold such bytes.
    with open(path, newline="", encoding="utf-8", errors="surrogateescape") as fh:
        return max(0, sum(1 for _ in csv.reader(fh)) - 1)


def invalid_utf8(path: Path) -> bool:
    """Whether a tool's CSV holds bytes that are not UTF-8 (a corrupted export)."""
    with open(path, "rb") as fh:
        data = fh.read()
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def machine() -> dict[str, str]:
    uname = subprocess.run(["uname", "-a"], capture_output=True, text=True).stdout.strip()
    return {"uname": uname, "nproc": str(os.cpu_count()), "python": platform.python_version()}


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def publish(text: str, results: Path | None) -> None:
    """Print a bench's markdown section, and append it to ``results`` (bench/RESULTS.md) when
    given."""
    print(text)
    if results:
        with open(results, "a", encoding="utf-8") as fh:
            fh.write("\n" + text)
