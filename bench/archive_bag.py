"""Bagging N GB of file bodies against one plain SHA-256 pass over them (issue 22, "Scale").

A real export of the emulated org with its file bodies, plus ``--gb`` of Attachments of random
bytes (64 MB each) listed in its manifest as the export lists bodies (bench/archive_support.py).
Interleaved, round by round, over the same files:

- ``sha256``: ``hashlib.sha256`` over every payload file in 1 MiB blocks, nothing written;
- ``sfexit``: the bagging part of ``archive build``: ``check_sizes``, ``copy_payload`` (one read:
  copy + SHA-256 checked against the manifest) and ``write_bag`` (manifest-sha256.txt from
  those hashes) into a fresh directory (sfexit/archive/payload.py, bag.py);
- ``before`` (with ``--before``): what the build did before: ``sfexit export verify``'s check,
  ``shutil.copyfile``, then ``bagit.make_bag`` hashing everything again.

Also timed: ``copy`` alone (``shutil.copyfile`` of the same files), so that what bagging costs
beyond the copy any bag needs is (sfexit - copy) / sha256. Target: sfexit <= 1.x sha256 passes
(ratio sfexit / sha256). The files sit in the page cache
(the machine has the RAM), so the ratio is CPU and memory bandwidth, not disk.

    .venv/bin/python bench/archive_bag.py [--gb 1.5] [--rounds 3] [--before] [--no-results]
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from archive_support import add_bodies, load, machine, small_export

import bagit
from sfexit.archive.bag import write_bag
from sfexit.archive.payload import check_sizes, copy_payload, exported_paths
from sfexit.archive.source import open_export
from sfexit.ondisk import READ_SIZE
from sfexit.export.verify import verify_backup

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


def sha256_pass(export: Path) -> float:
    source = open_export(export)
    started = time.perf_counter()
    for relative in exported_paths(source):
        digest = hashlib.sha256()
        with open(export / relative, "rb") as fh:
            while block := fh.read(READ_SIZE):
                digest.update(block)
    return time.perf_counter() - started


def copy_only(export: Path, bag: Path) -> float:
    """The copy alone (``shutil.copyfile`` of every payload file): what any bag costs."""
    started = time.perf_counter()
    for relative in exported_paths(open_export(export)):
        (bag / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(export / relative, bag / relative)
    return time.perf_counter() - started


def sfexit_bag(export: Path, bag: Path) -> float:
    started = time.perf_counter()
    source = open_export(export)
    check_sizes(source)
    copied = copy_payload(source, bag / "data")
    write_bag(bag, {"Source-Organization": "bench"},
              {path: (c.size, c.sha256) for path, c in copied.items()})
    return time.perf_counter() - started


def before_bag(export: Path, bag: Path) -> float:
    started = time.perf_counter()
    source = open_export(export)
    assert verify_backup(export).ok
    for relative in exported_paths(source):
        (bag / relative).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(export / relative, bag / relative)
    bagit.make_bag(str(bag), bag_info={"Source-Organization": "bench"}, processes=1,
                   checksums=["sha256"])
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--gb", type=float, default=1.5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", action="store_true")
    parser.add_argument("--no-results", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="archive-bag-bench-") as tmp:
        work = Path(tmp)
        export = small_export(work / "export", files=True)
        bodies = add_bodies(export, int(args.gb * 1e9))
        total = sum((export / p).stat().st_size for p in exported_paths(open_export(export)))
        print(f"payload: {total / 1e9:.2f} GB, {bodies} added bodies", flush=True)
        lines = [f"- payload: {total / 1e9:.2f} GB ({bodies} bodies of 64 MB added to the "
                 "emulated org's export; 1.5 GB on this machine, the issue's target is for "
                 "10 GB); files in the page cache",
                 f"- load before: `{load()}`"]
        ratios, before_ratios, beyond = [], [], []
        sha256_pass(export)    # warm the page cache once
        for n in range(1, args.rounds + 1):
            plain = sha256_pass(export)
            copy = copy_only(export, work / "bag")
            shutil.rmtree(work / "bag")
            ours = sfexit_bag(export, work / "bag")
            shutil.rmtree(work / "bag")
            ratios.append(ours / plain)
            beyond.append((ours - copy) / plain)
            line = (f"- round {n}: sha256 pass {plain:.1f} s, copy alone {copy:.1f} s, sfexit "
                    f"bagging {ours:.1f} s: {ours / plain:.2f} passes, "
                    f"{(ours - copy) / plain:.2f} beyond the copy")
            if args.before:
                old = before_bag(export, work / "bag")
                shutil.rmtree(work / "bag")
                before_ratios.append(old / plain)
                line += f"; before this change {old:.1f} s: {old / plain:.2f} passes"
            line += f"; `{load()}`"
            print(line, flush=True)
            lines.append(line)
        lines.append(f"- load after: `{load()}`")
        verdict = (f"**sfexit bagging = {statistics.median(ratios):.2f} sha256 passes (median; "
                   f"best {min(ratios):.2f}; target 1.x), "
                   f"{statistics.median(beyond):.2f} beyond the copy (median)**")
        if before_ratios:
            verdict += (f", before this change {statistics.median(before_ratios):.2f} "
                        "(median)")
        lines.append(f"- {verdict}")
        print(verdict)
    if not args.no_results:
        with open(RESULTS, "a", encoding="utf-8") as fh:
            fh.write(f"\n## bench/archive_bag.py — "
                     f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
                     " (shared machine, heavily loaded)\n\n"
                     + "\n".join(machine() + lines) + "\n")


if __name__ == "__main__":
    main()
