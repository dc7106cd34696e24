"""Exports for the archive benchmarks (bench/archive_database.py, bench/archive_bag.py).

A real export of a small emulated org (``sfexit export bulk`` over HTTPS, with file bodies),
then grown cheaply in the export's own format: an object's CSV repeated with fresh Ids, or
extra file bodies of random bytes, each with its manifest entry (size, SHA-256, row count) as
the export writes it (docs/manifest.md). ``sfexit export verify`` passes on the result.
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import os
import platform
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sfexit_emulator import Emulator  # noqa: E402
from sfexit.export.backup import run_backup  # noqa: E402
from sfexit.export.data_run import ExportOptions  # noqa: E402
from sfexit.ondisk import file_digest  # noqa: E402
from sfexit.export.manifest import FileEntry, ManifestStore  # noqa: E402
from sfexit.org.session import OrgSession  # noqa: E402

BASE36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def small_export(dest: Path, *, files: bool) -> Path:
    """A real export of the default emulated org into ``dest``."""
    with Emulator() as org:
        session = OrgSession(org.url, org.token, verify=str(org.ca_file), read_only=True,
                             sleep=org.clock.advance)
        summary = run_backup(session, ExportOptions(dest=dest), files=files,
                             sleep=org.clock.advance)
        assert not summary.failed, summary
    return dest


def fake_id(prefix: str, n: int) -> str:
    digits = ""
    for _ in range(12):
        n, r = divmod(n, 36)
        digits = BASE36[r] + digits
    return (prefix + digits)[:15] + "AAA"


def grow_object(export: Path, name: str, rows: int) -> None:
    """Rewrite ``data/<name>.csv`` with ``rows`` rows: the exported ones repeated, each with a
    fresh Id (same key prefix); its manifest entry updated."""
    store = ManifestStore.load(export)
    entry = store.manifest.objects[name]
    path = export / entry.file
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.reader(fh)
        header = next(reader)
        sample = list(reader)
    at = header.index("Id")
    prefix = sample[0][at][:3]
    with open(path, "w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_ALL, lineterminator="\n")
        writer.writerow(header)
        for i in range(rows):
            row = list(sample[i % len(sample)])
            row[at] = fake_id(prefix, i)
            writer.writerow(row)
    size, sha = file_digest(path)
    store.put_object(dataclasses.replace(entry, rows=rows, bytes=size, sha256=sha))


def add_bodies(export: Path, total_bytes: int, size: int = 64 << 20) -> int:
    """Attachments of random bytes (``size`` each) until ``total_bytes``; returns how many."""
    store = ManifestStore.load(export)
    count = 0
    written = 0
    while written < total_bytes:
        body_id = fake_id("00P", 10_000 + count)
        relative = f"files/Attachment/{body_id}-bench-{count}.bin"
        (export / relative).parent.mkdir(parents=True, exist_ok=True)
        with open(export / relative, "wb") as fh:
            fh.write(os.urandom(size))
        length, sha = file_digest(export / relative)
        md5 = hashlib.md5((export / relative).read_bytes()).hexdigest()
        store.put_file(FileEntry(object="Attachment", id=body_id, parent_id=None,
                                 name=f"bench-{count}.bin", path=relative, size=length,
                                 sha256=sha, md5=md5, md5_match=True, size_match=True))
        count += 1
        written += length
    return count


def machine() -> list[str]:
    """The lines every result starts with: uname -a, nproc, date."""
    uname = subprocess.run(["uname", "-a"], capture_output=True, text=True).stdout.strip()
    return [f"- machine: `{uname}`, nproc {os.cpu_count()}, Python {platform.python_version()}",
            f"- date: {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"]


def load() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()
