"""`sfexit --help` must start within 3x of `python -c "import click"` (issue 11).

Runs each command N times in fresh interpreters, takes the median wall time of each, prints both
and the ratio, and appends the result to bench/RESULTS.md with the machine and the date.

    .venv/bin/python bench/cli_startup.py [--runs 15] [--no-write]
"""

from __future__ import annotations

import argparse
import datetime as dt
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

RESULTS = Path(__file__).with_name("RESULTS.md")
TARGET = 3.0


def median_seconds(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--no-write", action="store_true", help="print only")
    options = parser.parse_args()
    click_s = median_seconds([sys.executable, "-c", "import click"], options.runs)
    help_s = median_seconds([sys.executable, "-m", "sfexit", "--help"], options.runs)
    ratio = help_s / click_s
    verdict = "PASS" if ratio <= TARGET else "FAIL"
    lines = [
        f"- `python -c \"import click\"`: {click_s * 1000:.0f} ms (median of {options.runs})",
        f"- `sfexit --help`: {help_s * 1000:.0f} ms (median of {options.runs})",
        f"- ratio: {ratio:.2f}x (target <= {TARGET:.0f}x) -> {verdict}",
    ]
    print("\n".join(lines))
    if not options.no_write:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        head = (f"\n## bench/cli_startup.py — {stamp} ({platform.machine()}, "
                f"Python {platform.python_version()})\n\n")
        with RESULTS.open("a", encoding="utf-8") as f:
            f.write(head + "\n".join(lines) + "\n")


if __name__ == "__main__":
    main()
