"""Where an object's rows go: ``data/<Object>.csv.part``, hashed in the same pass, renamed to
``data/<Object>.csv`` only when complete (so a rerun never trusts a ``.part``).

The CSV dialect is Bulk API 2.0's (query_get_job_results): UTF-8, comma, LF, EVERY field
quoted (the header too), ``"`` doubled, line breaks kept inside the quotes. Rows read over
REST are written in the same dialect, so every ``data/*.csv`` reads the same way.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def field_text(value: Any, kind: str = "") -> str:
    """One REST JSON value as Bulk writes it, before quoting; ``kind`` is the field's describe
    type.

    - null → empty; booleans ``true``/``false``; text as is;
    - numbers as the org sent them (answers.NumberText keeps ``1.0`` and ``9.12260031E8`` as
      written; a float read without it prints as Python's shortest repr, the emulator's Bulk
      form; bulk_csv.py), integers in decimal;
    - datetime: REST JSON writes ``2024-01-31T09:15:00.000+0000``, Bulk CSV
      ``2024-01-31T09:15:00.000Z`` (REST API Developer Guide, "Valid Date and DateTime Formats";
      Bulk API 2.0 Developer Guide, "Valid Date Format in Records": ``yyyy-MM-ddTHH:mm:ss.SSSZ``);
      both are UTC, so only the suffix changes; any other offset is kept as sent;
    - date (``2024-01-31``) and time (``09:15:00.000Z``) read the same in both APIs;
    - compound (address, location) and base64 fields never get here: Bulk refuses them and the
      plan leaves them out (objects.py), on every path.
    """
    if kind == "datetime" and isinstance(value, str) and value.endswith("+0000"):
        value = value[:-5] + "Z"
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, str):
        return str(value)
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def csv_field(value: Any, kind: str = "") -> str:
    """One REST JSON value as Bulk writes it, quoted (:func:`field_text`)."""
    return '"' + field_text(value, kind).replace('"', '""') + '"'


# Joins one record's texts so that quotes are doubled and fields separated in two C passes over
# the line; a record holding it (NUL, which Bulk does not write) is quoted value by value.
_SEPARATOR = "\x00"


def csv_line(values: Iterable[Any], kinds: Sequence[str] = ()) -> bytes:
    """One record; ``kinds`` (the fields' describe types, in order) when values come from REST.

    No Python step per value but choosing its text (most are str or null): the REST path costs
    ~55 CPU s per GB of CSV, much of it this conversion (bench/RESULTS.md, issue 23). The bytes
    are csv_field's, value by value."""
    texts = [v if v.__class__ is str else "" if v is None else field_text(v) for v in values]
    if kinds:
        if len(texts) != len(kinds):
            raise ValueError(f"{len(texts)} values for {len(kinds)} fields")
        for at in _datetimes(tuple(kinds)):
            if texts[at].endswith("+0000"):
                texts[at] = texts[at][:-5] + "Z"
    line = _SEPARATOR.join(texts)
    if line.count(_SEPARATOR) == len(texts) - 1:
        return ('"' + line.replace('"', '""').replace(_SEPARATOR, '","') + '"\n').encode("utf-8")
    return (",".join('"' + t.replace('"', '""') + '"' for t in texts) + "\n").encode("utf-8")


@functools.lru_cache(maxsize=256)
def _datetimes(kinds: tuple[str, ...]) -> tuple[int, ...]:
    """Where the datetime fields are (one object's field kinds: looked up once)."""
    return tuple(at for at, kind in enumerate(kinds) if kind == "datetime")


APPEND_READ_BYTES = 1 << 20   # PartFile.append's reads: large, memory flat


@dataclass(frozen=True)
class Mark:
    """A point to rewind to when a page breaks in transit: file offset and hash state."""

    offset: int
    hasher: Any


class PartFile:
    """``<final>.part`` being written, with its SHA-256 and size kept as bytes go in.

    A spill (``hashed=False``) holds one piece of a file read side by side (Bulk result pages,
    Id ranges) until :meth:`append` joins it to that file, whose hash counts its bytes then:
    hashing them in the spill too was a second SHA-256 pass over every such byte."""

    def __init__(self, final: Path, *, hashed: bool = True) -> None:
        self.final = final
        self.part = final.with_name(final.name + ".part")
        final.parent.mkdir(parents=True, exist_ok=True)
        self._fh = open(self.part, "wb")  # noqa: SIM115 (closed in commit/discard)
        self._hash: Any = hashlib.sha256() if hashed else None
        self.size = 0

    def write(self, data: bytes) -> None:
        if data:
            self._fh.write(data)
            if self._hash is not None:
                self._hash.update(data)
            self.size += len(data)

    def mark(self) -> Mark:
        return Mark(self.size, self._hash.copy() if self._hash is not None else None)

    def rewind(self, mark: Mark) -> None:
        self._fh.seek(mark.offset)
        self._fh.truncate()
        self._hash = mark.hasher.copy() if mark.hasher is not None else None
        self.size = mark.offset

    def append(self, spill: PartFile) -> None:
        """``spill``'s bytes after this file's, counted in its hash and size."""
        spill._fh.flush()
        with open(spill.part, "rb") as fh:
            while chunk := fh.read(APPEND_READ_BYTES):
                self.write(chunk)

    @property
    def sha256(self) -> str:
        if self._hash is None:
            raise ValueError(f"{self.part} is a spill: hashed where it is appended")
        return self._hash.hexdigest()

    def commit(self) -> None:
        """fsync, close, rename into place: the final name appears only when complete."""
        self._fh.flush()
        os.fsync(self._fh.fileno())
        self._fh.close()
        os.replace(self.part, self.final)

    def close(self) -> None:
        """Close without renaming (failed or interrupted): the ``.part`` is removed; one left
        by a crash is never trusted and is overwritten by the next run."""
        if not self._fh.closed:
            self._fh.close()
            self.part.unlink(missing_ok=True)


class HeaderOnce:
    """Bulk repeats the header line at the top of every result page: keep the first only."""

    def __init__(self, sink: PartFile) -> None:
        self.sink = sink
        self.pages = 0
        self._skipping = False

    def start_page(self) -> None:
        self._skipping = self.pages > 0
        self.pages += 1

    def feed(self, chunk: bytes) -> None:
        if self._skipping:
            # A header line holds quoted field names only: its first LF ends it.
            cut = chunk.find(b"\n")
            if cut < 0:
                return
            chunk = chunk[cut + 1:]
            self._skipping = False
        self.sink.write(chunk)


def header_line(fields: Sequence[str]) -> bytes:
    return csv_line(fields)
