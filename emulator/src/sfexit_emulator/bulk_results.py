"""Bulk API 2.0 query result files: each job's result written once to a temp file (every field
quoted, the byte offset of every row kept, so any page is a byte range of it), and reused by
later jobs while the org's data is unchanged.

Reuse (issue 23: the emulator's own CPU per MB served, which competes with the client on the
same machine): reading a large object out of SQLite and quoting it costs the emulator about 2
CPU seconds per 100 MB of CSV, on every job. A job whose query compiles to the same SQL and
parameters as an earlier job's, with the same delimiter and line ending, gets the earlier
job's bytes as long as nothing was committed to the org's SQLite file since that result was
read: the kept file is hard-linked under the new job's name. SQLite's ``PRAGMA
data_version`` "will be different if changes were committed to the database by any other
connection in the interim" (sqlite.org/pragma.html#pragma_data_version), asked on a read-only
connection of our own, so every write of the org counts. Queries over views computed from the
machine's clock (store_views.py) are never reused. What a client receives is unchanged;
Salesforce computes every job anew, and the server-time model (costs.py) still charges every
job for its bytes.
"""

from __future__ import annotations

import array
import dataclasses
import itertools
import os
import sqlite3
import tempfile
import threading
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from sfexit_emulator.bulk_csv import QuotedLineWriter
from sfexit_emulator.store_views import CLOCK_VIEWS

READ_CHUNK = 1 << 20
# Results kept for reuse, oldest dropped first beyond this (a 1M-row export is ~384 MB of CSV).
KEEP_BYTES = 1 << 30


class ResultFile:
    """A query result on disk: header line + rows, and the byte offset where each row starts."""

    def __init__(self, path: Path, header: bytes, offsets: array.array[int], size: int,
                 gzipped: GzipPages | None = None) -> None:
        self.path = path
        self.header = header
        self.offsets = offsets          # offsets[i] = start of row i; offsets[rows] = size
        self.size = size
        # Pages already compressed, shared with every job that reuses this result.
        self.gzipped = gzipped if gzipped is not None else GzipPages(path.parent)
        self._fd: int | None = os.open(path, os.O_RDONLY)
        self._lock = threading.Lock()

    @property
    def rows(self) -> int:
        return len(self.offsets) - 1

    def byte_range(self, start: int, count: int) -> tuple[int, int, int]:
        """(first byte, end byte, number of rows) of rows [start, start+count)."""
        start = max(0, min(start, self.rows))
        end = max(start, min(self.rows, start + count))
        return self.offsets[start], self.offsets[end], end - start

    def chunks(self, first: int, end: int, size: int = READ_CHUNK) -> Iterator[bytes]:
        """The bytes [first, end) in chunks of ``size``; positional reads, safe across threads."""
        pos = first
        while pos < end:
            with self._lock:    # never read a closed (and maybe reused) descriptor
                if self._fd is None:
                    return      # the job was deleted mid-download: the body ends short
                piece = os.pread(self._fd, min(size, end - pos), pos)
            if not piece:
                return
            pos += len(piece)
            yield piece

    def close(self) -> None:
        with self._lock:
            if self._fd is not None:
                os.close(self._fd)
                self._fd = None
        self.path.unlink(missing_ok=True)

    def gzip_page(self, first: int, end: int) -> bytes:
        """The header and bytes [first, end) gzipped (level 1: ~5x smaller, fast), compressed
        once per byte range and result: a page asked again is read back. (A page cut by the
        fault ``truncate_page_rate`` is another range, kept under its own bounds.)"""
        found = self.gzipped.get(first, end)
        if found is not None:
            return found
        compressor = zlib.compressobj(1, zlib.DEFLATED, 31)
        parts = [compressor.compress(chunk)
                 for chunk in itertools.chain([self.header], self.chunks(first, end))]
        parts.append(compressor.flush())
        body = b"".join(parts)
        with self._lock:
            whole = self._fd is not None    # not cut short by a delete mid-read
        if whole:
            self.gzipped.put(first, end, body)
        return body


class GzipPages:
    """Gzip bodies of result pages by byte range, spooled to an unnamed temp file in
    ``directory`` (gone with the last job that uses it), not held in memory. Thread-safe."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory
        self._file: Any = None
        self._index: dict[tuple[int, int], tuple[int, int]] = {}
        self._size = 0
        self._lock = threading.Lock()

    def get(self, first: int, end: int) -> bytes | None:
        with self._lock:
            found = self._index.get((first, end))
            if found is None:
                return None
            offset, length = found
            return os.pread(self._file.fileno(), length, offset)

    def put(self, first: int, end: int, body: bytes) -> None:
        with self._lock:
            if (first, end) in self._index:
                return
            try:
                if self._file is None:
                    self._file = tempfile.TemporaryFile(dir=self._directory)
                os.pwrite(self._file.fileno(), body, self._size)
            except OSError:
                return      # no room to spool: the page is compressed again next time
            self._index[(first, end)] = (self._size, len(body))
            self._size += len(body)


def write_result(path: Path, cursor: Any, delimiter: str, line_ending: str) -> ResultFile:
    """Stream ``cursor.rows()`` into ``path``; every field quoted, offsets of every row kept."""
    writer = QuotedLineWriter(delimiter, line_ending)
    header = writer.line([c.name for c in cursor.columns]).encode("utf-8")
    offsets: array.array[int] = array.array("Q")
    pos = 0
    batch: list[bytes] = []
    with open(path, "wb", buffering=READ_CHUNK) as out:
        line_of = writer.line
        append_offset = offsets.append
        for row in cursor.rows():
            append_offset(pos)
            encoded = line_of(row).encode("utf-8")
            pos += len(encoded)
            batch.append(encoded)
            if len(batch) >= 4096:
                out.write(b"".join(batch))
                batch.clear()
        if batch:
            out.write(b"".join(batch))
        offsets.append(pos)
    return ResultFile(path, header, offsets, pos)


# --- reuse ----------------------------------------------------------------------------------

ResultKey = tuple[str, tuple[Any, ...], str, str]


def result_key(cursor: Any, delimiter: str, line_ending: str) -> ResultKey | None:
    """What a job's result depends on besides the org's data: its SQL and parameters, its CSV
    dialect; None when it may depend on the clock too (or the cursor cannot say)."""
    statement = getattr(cursor, "statement", None)
    if statement is None:
        return None
    sql, params = statement
    if any(f'"{view}"' in sql for view in CLOCK_VIEWS):
        return None
    return sql, tuple(params), delimiter, line_ending


@dataclasses.dataclass(frozen=True)
class _Kept:
    version: int
    path: Path
    header: bytes
    offsets: array.array[int]   # shared by every job linked to it: never changed
    size: int
    gzipped: GzipPages


class ResultCache:
    """Result files kept for reuse, by :func:`result_key`, while the data version they were
    read at is the database's current one. ``database``: the org's SQLite file (None: no
    reuse). Thread-safe."""

    def __init__(self, directory: Path, database: Path | None,
                 keep_bytes: int = KEEP_BYTES) -> None:
        self.directory = directory
        self._database = database
        self._keep_bytes = keep_bytes
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._kept: dict[ResultKey, _Kept] = {}     # oldest first
        self._numbers = itertools.count(1)

    def result(self, key: ResultKey | None, path: Path,
               write: Callable[[Path], ResultFile]) -> ResultFile:
        """The result for ``key`` at ``path``: a kept one linked there when the data is
        unchanged since it was read, else ``write(path)`` (then kept)."""
        version = self._version() if key is not None else None
        if key is None or version is None:
            return write(path)
        kept = self._current(key, version)
        if kept is not None:
            try:
                os.link(kept.path, path)
            except OSError:
                pass    # e.g. a file system without hard links: write it again
            else:
                return ResultFile(path, kept.header, kept.offsets, kept.size, kept.gzipped)
        result = write(path)
        self._keep(key, version, result)
        return result

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            self._drop(list(self._kept))

    def _version(self) -> int | None:
        if self._database is None:
            return None
        with self._lock:
            try:
                if self._conn is None:
                    self._conn = sqlite3.connect(f"{self._database.as_uri()}?mode=ro", uri=True,
                                                 check_same_thread=False)
                return int(self._conn.execute("PRAGMA data_version").fetchone()[0])
            except sqlite3.Error:
                return None

    def _current(self, key: ResultKey, version: int) -> _Kept | None:
        with self._lock:
            self._drop([k for k, kept in self._kept.items() if kept.version != version])
            return self._kept.get(key)

    def _keep(self, key: ResultKey, version: int, result: ResultFile) -> None:
        with self._lock:
            path = self.directory / f"kept-{next(self._numbers)}.csv"
            try:
                self.directory.mkdir(parents=True, exist_ok=True)
                os.link(result.path, path)
            except OSError:
                return
            self._drop([key] if key in self._kept else [])
            self._kept[key] = _Kept(version, path, result.header, result.offsets, result.size,
                                   result.gzipped)
            total = sum(k.size for k in self._kept.values())
            for old in list(self._kept):
                if total <= self._keep_bytes:
                    break
                total -= self._kept[old].size
                self._drop([old])

    def _drop(self, keys: list[ResultKey]) -> None:
        for key in keys:
            self._kept.pop(key).path.unlink(missing_ok=True)
