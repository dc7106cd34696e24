"""Records and columns of CSV bytes fed in pieces, at stream speed: the check that a Bulk
result page (or a CSV on disk) is whole and well formed.

RFC 4180, as Bulk API 2.0 writes it (query_get_job_results: UTF-8, comma, LF, every field
quoted, ``"`` doubled, line breaks kept inside the quotes). A record ends at an LF outside
quotes and has one comma outside quotes per column after the first. Every ``"`` toggles
"inside quotes" (a doubled ``""`` toggles twice), so splitting a piece on ``"`` leaves the
outside bytes at every other position, whatever the piece boundaries; of those only commas
and LFs matter, so every other byte is deleted first (``bytes.translate``, C speed). Each
record's commas are then checked in one comparison per piece against
``(","*(columns-1) + "\\n")*records``: no per-field Python loop on the hot path. Most Bulk
records hold no quote, comma or LF inside a value; from a record start, a run of such records
is one comparison with ``('""' + ',""'*(columns-1) + "\\n")*n`` (a quote sequence parses one
way only, so equality proves each of them whole and of the header's width), and only the rest
takes the general path (issue 19, item 5; bench figures in bench/RESULTS.md).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from sfexit.ondisk import READ_SIZE

# Every byte but the comma, the LF and the quote: deleted before anything else is looked at.
_NOT_MARKS = bytes(b for b in range(256) if b not in b',\n"')
PLAIN_BLOCK = 64   # plain records compared at once


class RecordCounter:
    """Counts records (the header is record 0) and finds the first whose column count differs
    from ``columns`` (from the header when not given)."""

    def __init__(self, columns: int | None = None) -> None:
        self.columns = columns
        self.records = 0                    # complete records, the header included
        self.inside = False                 # inside a quoted value after the bytes so far
        self.bad_record: int | None = None  # first record (0 = header) with another width
        self.bad_columns = 0                # its column count
        self._commas = 0                    # commas outside quotes in the unfinished record
        self._last = b""
        self._pattern = b"" if columns is None else b"," * (columns - 1) + b"\n"
        self._plain: bytes | None = None    # one plain record's marks, once the width is known
        self._block = b""                   # PLAIN_BLOCK of them

    def feed(self, piece: bytes) -> None:
        if not piece:
            return
        self._last = piece[-1:]
        marks = piece.translate(None, _NOT_MARKS)
        head = marks.find(b"\n") + 1
        if not head:
            self._count(marks)
            return
        self._count(marks[:head])
        rest = marks[head:]
        if not self.inside and self.columns is not None:
            rest = rest[self._plain_run(rest):]
        self._count(rest)

    def _plain_run(self, marks: bytes) -> int:
        """At a record start: the length of the run of plain records (every field quoted, no
        quote, comma or LF inside a value, the header's width) that ``marks`` starts with,
        counted. Compared a block of them at a time (module docstring), never built to the
        piece's length: a run that stops early costs what it matched (issue 23, client CPU)."""
        if self._plain is None:
            self._plain = b'""' + b',""' * ((self.columns or 1) - 1) + b"\n"
            self._block = self._plain * PLAIN_BLOCK
        at = 0
        for step, records in ((self._block, PLAIN_BLOCK), (self._plain, 1)):
            while marks.startswith(step, at):
                at += len(step)
                self.records += records
        return at

    def _count(self, marks: bytes) -> None:
        """The general path over ``marks`` (commas, LFs and quotes only)."""
        if not marks:
            return
        marks = self._outside(marks.replace(b'""', b""))
        first = marks.find(b"\n")
        if first < 0:
            self._commas += len(marks)
            return
        self._end_record(self._commas + first)
        last = marks.rfind(b"\n")
        middle = marks[first + 1:last + 1]
        if middle:
            whole = middle.count(b"\n")
            if self.bad_record is None and middle != self._pattern * whole:
                self._find_bad(middle)
            self.records += whole
        self._commas = len(marks) - last - 1

    def _outside(self, marks: bytes) -> bytes:
        """The commas and LFs outside quotes of ``marks`` (commas, LFs and quotes only), and
        the quote state after them. Two adjacent quotes (an empty value, or an escaped quote)
        toggle twice around nothing, so removing them first changes no byte's side and leaves
        most Bulk pieces without any quote at all."""
        if b'"' not in marks:
            return b"" if self.inside else marks
        parts = marks.split(b'"')
        outside = b"".join(parts[1 if self.inside else 0::2])
        if len(parts) % 2 == 0:
            self.inside = not self.inside
        return outside

    @property
    def data_records(self) -> int:
        """Records after the header (complete ones only)."""
        return max(0, self.records - 1)

    @property
    def ends_cleanly(self) -> bool:
        """Nothing fed, or the last byte is an LF that ends a record (not inside quotes)."""
        return not self.inside and self._last in (b"", b"\n")

    def _end_record(self, commas: int) -> None:
        if self.columns is None:
            self.columns = commas + 1
            self._pattern = b"," * commas + b"\n"
        elif commas != self.columns - 1 and self.bad_record is None:
            self.bad_record, self.bad_columns = self.records, commas + 1
        self.records += 1

    def _find_bad(self, middle: bytes) -> None:
        """The slow path, taken once: which record of ``middle`` has another width."""
        for offset, line in enumerate(middle.split(b"\n")):
            if len(line) != (self.columns or 1) - 1:
                self.bad_record, self.bad_columns = self.records + offset, len(line) + 1
                return

    def problem(self) -> str | None:
        """What is wrong with the bytes so far taken as a whole CSV, or None."""
        if self.inside:
            return "ends inside a quoted value"
        if not self.ends_cleanly:
            return "ends inside a record (no final line break)"
        if self.bad_record is not None:
            return (f"record {self.bad_record} has {self.bad_columns} columns, the header "
                    f"{self.columns}")
        return None


@dataclass(frozen=True)
class CsvFacts:
    """What one pass over a CSV file finds: size, SHA-256, data records, and its first defect."""

    rows: int
    size: int
    sha256: str
    problem: str | None


def scan_csv(path: Path) -> CsvFacts:
    """Size, SHA-256, data records and the first shape defect of a CSV file, in one pass.

    A last record without its LF is counted (and reported as a defect)."""
    h = hashlib.sha256()
    size = 0
    counter = RecordCounter()
    with open(path, "rb") as fh:
        while block := fh.read(READ_SIZE):
            h.update(block)
            size += len(block)
            counter.feed(block)
    problem = counter.problem()
    rows = counter.data_records
    if size and not counter.ends_cleanly and not counter.inside:
        rows += 1
    return CsvFacts(rows, size, h.hexdigest(), problem)
