"""Files step: 8-way parallel download against sequential, at 50 ms added latency (issue 12).

Starts an emulated org, adds ``--extra`` Attachments (20-200 KB each, random bytes) to the
seeded files so there is enough work to measure, then runs the real ``export_files`` (listing,
streaming, SHA-256 + MD5, size and Checksum checks, ``.part`` + rename, manifest) twice into
fresh directories: ``parallel=1`` and ``parallel=8``. Both runs download the same bytes; the
script checks that their ``files/`` trees are identical. Target: ratio >= 7.

    .venv/bin/python bench/export_files.py [--latency-ms 50] [--extra 400] [--parallel 8]
        [--no-results]
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import hashlib
import platform
import random
import sys
import tempfile
import time
from pathlib import Path

from sfexit_emulator import Emulator, testing
from sfexit.export.files import FilesSummary, export_files
from sfexit.export.manifest import ManifestStore
from sfexit.org.session import OrgSession

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
TARGET_RATIO = 7.0


def add_attachments(org: Emulator, count: int, seed: int = 12) -> None:
    rng = random.Random(seed)
    assert org.credentials is not None
    admin = testing.user_id(org, org.credentials.username)
    parents = [row[0] for row in testing.rows(org, "SELECT Id FROM Account LIMIT 200")]
    for i in range(count):
        body = rng.randbytes(rng.randint(20_000, 200_000))
        testing.create(org, "Attachment", {"ParentId": parents[i % len(parents)],
                                           "Name": f"bench {i}.bin",
                                           "Body": base64.b64encode(body).decode()},
                       as_user=admin)


def tree_digest(root: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(root).as_posix().encode() + b"\0")
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def timed_run(org: Emulator, parallel: int, work: Path) -> tuple[float, FilesSummary, str]:
    dest = work / f"p{parallel}"
    session = OrgSession(org.url, org.token, verify=str(org.ca_file))
    session.api_version  # negotiated outside the timing, as a logged-in CLI run has it
    manifest = ManifestStore.create(dest, org_id=org.org_id)
    started = time.perf_counter()
    summary = export_files(session, dest, manifest, parallel=parallel)
    seconds = time.perf_counter() - started
    return seconds, summary, tree_digest(dest / "files")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--latency-ms", type=float, default=50.0)
    parser.add_argument("--extra", type=int, default=400, help="attachments added to the seed")
    parser.add_argument("--parallel", type=int, default=8)
    parser.add_argument("--no-results", action="store_true", help="do not append RESULTS.md")
    args = parser.parse_args()

    with Emulator(records=2000, seed=1) as org, tempfile.TemporaryDirectory() as tmp:
        add_attachments(org, args.extra)
        org.faults.latency_ms = args.latency_ms
        seq_s, seq, seq_tree = timed_run(org, 1, Path(tmp))
        par_s, par, par_tree = timed_run(org, args.parallel, Path(tmp))
    assert seq.ok and par.ok, (seq.failed, par.failed)
    assert seq_tree == par_tree, "parallel and sequential runs stored different bytes"
    assert seq.downloaded == par.downloaded
    ratio = seq_s / par_s
    mb = par.bytes_downloaded / 1e6
    lines = [
        f"files: {par.downloaded} bodies, {mb:.1f} MB, {args.latency_ms:g} ms added latency, "
        "manifest: ManifestStore.put_files (batched)",
        f"sequential (parallel=1): {seq_s:.2f} s ({mb / seq_s:.1f} MB/s)",
        f"parallel={args.parallel}: {par_s:.2f} s ({mb / par_s:.1f} MB/s)",
        f"ratio: {ratio:.2f}x (target >= {TARGET_RATIO:g}x) -> "
        f"{'PASS' if ratio >= TARGET_RATIO else 'FAIL'}",
    ]
    print("\n".join(lines))
    if not args.no_results:
        stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
        machine = f"{platform.machine()}, {platform.system()} {platform.release()}, " \
                  f"Python {platform.python_version()}"
        with RESULTS.open("a", encoding="utf-8") as fh:
            fh.write(f"\n## bench/export_files.py — {stamp}\nMachine: {machine}\n\n")
            fh.write("".join(f"- {line}\n" for line in lines))
    return 0 if ratio >= TARGET_RATIO else 1


if __name__ == "__main__":
    sys.exit(main())
