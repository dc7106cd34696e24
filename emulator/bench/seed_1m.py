"""Seed an org of 1,000,000 rows and report time, peak RSS and file size (target: < 60 s, < 1 GB).

    .venv/bin/python emulator/bench/seed_1m.py [records]
Then times a full REST-shaped read of the largest object (rows/s) and a Bulk-style rows() stream.
The emulator's own benchmark: it times the store itself, so it lives with the emulator.
"""

from __future__ import annotations

import resource
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

from sfexit_emulator.store import OrgStore


def main() -> None:
    records = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    now = datetime.now(timezone.utc)
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        store = OrgStore.create(Path(tmp) / "org.sqlite3", records=records, now=now, cache_dir=Path(tmp) / "cache")
        seeded = time.perf_counter() - started
        size_mb = (Path(tmp) / "org.sqlite3").stat().st_size / 2**20
        print(f"seed {records:,} records: {seeded:.1f} s, db {size_mb:.0f} MB, "
              f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
        started = time.perf_counter()
        again = OrgStore.create(Path(tmp) / "org2.sqlite3", records=records, now=now, cache_dir=Path(tmp) / "cache")
        print(f"second create (cached template copy): {time.perf_counter() - started:.2f} s")
        again.close()
        cursor = store.query("SELECT Id, Subject, Status, OwnerId, CreatedDate, IsClosed, Owner.Name FROM Task",
                             now=now)
        started = time.perf_counter()
        n = 0
        while n < cursor.total_size:
            n += len(cursor.records(n, 2000))
        took = time.perf_counter() - started
        print(f"REST records(): {n:,} rows in {took:.1f} s = {n / took:,.0f} rows/s")
        started = time.perf_counter()
        n = sum(1 for _ in store.query("SELECT Id, Subject, Status, OwnerId, CreatedDate FROM Task", now=now).rows())
        took = time.perf_counter() - started
        print(f"rows(): {n:,} rows in {took:.1f} s = {n / took:,.0f} rows/s")
        print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
        store.close()


if __name__ == "__main__":
    main()
