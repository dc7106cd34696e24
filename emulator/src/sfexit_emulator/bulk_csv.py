"""CSV in Salesforce's Bulk API 2.0 dialect: writing query results and ingest results, parsing
ingest uploads.

Facts (Bulk API 2.0 Developer Guide, v66 text, "Get Results for a Query Job", "Step 3: Bulk
Insert", "Prepare CSV Files"):
- query results quote EVERY field, the header line too: ``"Id","Name"`` then
  ``"0015f00000BCvReAAL","Sample Account for Entitlements"``; a ``"`` inside a value is doubled;
  line breaks inside a value are kept inside the quotes;
- ingest ``successfulResults`` has the header ``"sf__Id","sf__Created",Name,ShippingCity,…``: the
  two ``sf__`` names quoted, the echoed input column names NOT quoted, every data field quoted
  (doc example, Step 3);
- uploads: delimiters BACKQUOTE, CARET, COMMA, PIPE, SEMICOLON, TAB; line endings LF (default)
  and CRLF; double quotes escape delimiters/line breaks; an empty field is ignored on update and
  ``#N/A`` sets the field to null; files are UTF-8.

UNCONF: how a null value appears in query results. We write it as an empty quoted field ``""``,
consistent with "every field is quoted" (no capture distinguishes ``""`` from an empty field;
Salesforce stores empty text as null, so clients read both as null). Numbers are written as the
store gives them (``str``); Salesforce renders large doubles in Java form (``9.12260031E8`` in
the ingest results example) — not reproduced.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

DELIMITERS: dict[str, str] = {
    "BACKQUOTE": "`",
    "CARET": "^",
    "COMMA": ",",
    "PIPE": "|",
    "SEMICOLON": ";",
    "TAB": "\t",
}
LINE_ENDINGS: dict[str, str] = {"LF": "\n", "CRLF": "\r\n"}

# The value that sets a field to null in an ingest upload (Prepare CSV Files).
NULL_MARKER = "#N/A"


def text_value(value: Any) -> str:
    """The text of one flat value as Bulk CSV writes it (None -> empty)."""
    if value is None:
        return ""
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, float):
        return repr(value)
    return value if isinstance(value, str) else str(value)


def quoted(value: Any) -> str:
    """One field, always quoted, inner quotes doubled."""
    text = text_value(value)
    if '"' in text:
        text = text.replace('"', '""')
    return '"' + text + '"'


class QuotedLineWriter:
    """Builds lines of always-quoted fields for one delimiter and line ending (fast path)."""

    def __init__(self, delimiter: str = ",", line_ending: str = "\n") -> None:
        self._sep = '"' + delimiter + '"'
        self._end = '"' + line_ending
        self.line_ending = line_ending
        self.delimiter = delimiter

    def line(self, values: Sequence[Any]) -> str:
        parts = []
        for value in values:
            if value is None:
                parts.append("")
            elif isinstance(value, str):
                parts.append(value.replace('"', '""') if '"' in value else value)
            else:
                parts.append(text_value(value))
        return '"' + self._sep.join(parts) + self._end

    def lines(self, rows: Iterable[Sequence[Any]]) -> Iterator[str]:
        for row in rows:
            yield self.line(row)


def result_header(prefix: Sequence[str], input_columns: Sequence[str], delimiter: str = ",",
                  line_ending: str = "\n") -> str:
    """``"sf__Id","sf__Created",Name,…``: sf__ columns quoted, input names as uploaded."""
    fields = [quoted(p) for p in prefix] + [_bare(c, delimiter) for c in input_columns]
    return delimiter.join(fields) + line_ending


def _bare(name: str, delimiter: str) -> str:
    if any(ch in name for ch in (delimiter, '"', "\n", "\r")):
        return quoted(name)
    return name


def parse_upload(data: bytes, delimiter: str = ",") -> tuple[list[str], list[list[str]]]:
    """(header, rows) of an ingest upload. Raises ValueError for a body that is not UTF-8 CSV.

    Python's csv reader accepts LF and CRLF line ends alike; quoted line breaks stay in values.
    """
    text = data.decode("utf-8-sig")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader)
    except StopIteration:
        return [], []
    rows = [row for row in reader if row and not (len(row) == 1 and row[0] == "" and len(header) > 1)]
    return header, rows
