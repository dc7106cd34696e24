"""Speed of the streaming record/column check (sfexit/export/csvshape.py) on Bulk-dialect CSV
(issue 19, item 5): the page path before (header dropped + SHA-256 + write, as
export/bulk._one_page did) and after (the same + RecordCounter), the counter alone, and the
quote-toggle row count ``export verify`` used before (a Python loop over the pieces).

    .venv/bin/python bench/csv_count_speed.py [--mb 64] [--rounds 3]

Prints MB/s per method; the result goes to bench/RESULTS.md by hand (machine, date, load).
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sfexit.export.csvshape import RecordCounter  # noqa: E402

PIECE = 1 << 20


HEADER = ('"Id","Subject","Status","CreatedDate","Description","WhoId","IsClosed",'
          '"Amount__c","OwnerId"\n')
PLAIN = ('"00T000000000001AAA","Call back","Completed","2026-01-01T10:00:00.000Z",'
         '"Left a message","","true","12.5","0055f000001XyZaAAK"\n')
# A doubled quote and a quoted line break: the general path (csvshape module docstring).
SPECIAL = ('"00T000000000001AAA","Call back","Completed","2026-01-01T10:00:00.000Z",'
           '"He said ""yes""\nthen left","","true","12.5","0055f000001XyZaAAK"\n')
SAMPLES = {"plain rows": PLAIN, "1 row in 50 special": PLAIN * 49 + SPECIAL,
           "every row special": SPECIAL}


def sample(megabytes: int, unit: str) -> bytes:
    body = HEADER + unit * (megabytes * (1 << 20) // len(unit))
    return body.encode("utf-8")


def sha_only(data: bytes) -> None:
    h = hashlib.sha256()
    for i in range(0, len(data), PIECE):
        h.update(data[i:i + PIECE])


def old_toggle_count(data: bytes) -> None:
    inside, lines = False, 0
    for i in range(0, len(data), PIECE):
        pieces = data[i:i + PIECE].split(b'"')
        lines += sum(p.count(b"\n") for p in pieces[(1 if inside else 0)::2])
        if (len(pieces) - 1) % 2:
            inside = not inside


def _page_path(data: bytes, count: bool) -> None:
    import tempfile

    from sfexit.export.csvsink import HeaderOnce, PartFile

    with tempfile.TemporaryDirectory() as tmp:
        part = PartFile(Path(tmp) / "x.csv")
        header = HeaderOnce(part)
        header.start_page()
        counter = RecordCounter()
        for i in range(0, len(data), PIECE):
            piece = data[i:i + PIECE]
            if count:
                counter.feed(piece)
            header.feed(piece)
        part.close()


def page_before(data: bytes) -> None:
    _page_path(data, count=False)


def page_after(data: bytes) -> None:
    _page_path(data, count=True)


def counter(data: bytes) -> None:
    c = RecordCounter()
    for i in range(0, len(data), PIECE):
        c.feed(data[i:i + PIECE])
    assert c.problem() is None, c.problem()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    for name, unit in SAMPLES.items():
        print(f"{name}:")
        measure(sample(args.mb, unit), args.rounds)


def measure(data: bytes, rounds: int) -> None:
    methods: dict[str, Callable[[bytes], None]] = {
        "page path before (header, sha256, write)": page_before,
        "page path after (+ RecordCounter)": page_after,
        "RecordCounter alone (rows + columns)": counter, "sha256 alone": sha_only,
        "old verify row count (quote toggle loop)": old_toggle_count}
    for name, run in methods.items():
        best = min(_timed(run, data) for _ in range(rounds))
        print(f"  - {name}: {len(data) / best / 1e6:,.0f} MB/s ({len(data) / 1e6:.0f} MB, "
              f"best of {rounds})")


def _timed(run: Callable[[bytes], None], data: bytes) -> float:
    started = time.perf_counter()
    run(data)
    return time.perf_counter() - started


if __name__ == "__main__":
    main()
