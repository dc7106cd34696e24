"""The streaming record and column check (sfexit/export/csvshape.py): exact whatever the
piece boundaries, so a cut page or a malformed row is seen while it streams (issue 19, 5-6)."""

from __future__ import annotations

from pathlib import Path

import pytest

from sfexit.export.csvshape import RecordCounter, scan_csv

HEADER = b'"Id","Name","Description"\n'
ROWS = [b'"1","a","plain"\n', b'"2","b, c","say ""hi"""\n', b'"3","","line\nbreak, and ""\n"\n',
        b'"4","""","x"\n']
WHOLE = HEADER + b"".join(ROWS)


def _fed(data: bytes, size: int, columns: int | None = None) -> RecordCounter:
    counter = RecordCounter(columns)
    for i in range(0, len(data), size):
        counter.feed(data[i:i + size])
    return counter


@pytest.mark.parametrize("size", [1, 2, 3, 5, 7, 64, 1 << 20])
def test_a_whole_page_counts_its_records_at_any_piece_size(size: int) -> None:
    counter = _fed(WHOLE, size, columns=3)
    assert (counter.data_records, counter.problem()) == (4, None)


@pytest.mark.parametrize("size", [1, 3, 1 << 20])
def test_a_page_cut_inside_a_quoted_value_is_seen(size: int) -> None:
    cut = WHOLE[:WHOLE.index(b"line\n") + 5]
    counter = _fed(cut, size)
    assert counter.problem() == "ends inside a quoted value"
    assert counter.data_records == 2


def test_a_page_cut_between_records_is_whole_but_short() -> None:
    counter = _fed(HEADER + ROWS[0], 4)
    assert (counter.data_records, counter.problem()) == (1, None)


def test_a_page_cut_inside_a_record_outside_quotes_is_seen() -> None:
    counter = _fed(HEADER + ROWS[0] + b'"2","b"', 4)
    assert counter.problem() == "ends inside a record (no final line break)"


@pytest.mark.parametrize("size", [1, 2, 5, 1 << 20])
@pytest.mark.parametrize("row,columns", [(b'"5","x","y","extra"\n', 4), (b'"5","x"\n', 2)])
def test_a_row_with_another_column_count_is_named(size: int, row: bytes, columns: int) -> None:
    data = WHOLE + row + ROWS[0]
    counter = _fed(data, size)
    assert counter.problem() == f"record 5 has {columns} columns, the header 3"
    assert counter.data_records == 6


def test_a_header_that_differs_from_the_expected_columns_is_record_0() -> None:
    assert _fed(WHOLE, 7, columns=4).problem() == "record 0 has 3 columns, the header 4"


def test_scan_csv_reports_size_hash_rows_and_the_defect(tmp_path: Path) -> None:
    path = tmp_path / "x.csv"
    path.write_bytes(WHOLE + b'"5","x"\n')
    facts = scan_csv(path)
    assert (facts.rows, facts.size) == (5, len(WHOLE) + 8)
    assert facts.problem == "record 5 has 2 columns, the header 3"


PLAIN = b'"001","Acme","plain text"\n'


@pytest.mark.parametrize("size", [7, 4096, 1 << 20])
def test_runs_of_plain_records_are_counted_and_a_defect_after_them_is_named(size: int) -> None:
    data = HEADER + PLAIN * 200 + b'"x","y","z","extra"\n' + PLAIN * 200
    counter = _fed(data, size, columns=3)
    assert counter.data_records == 401
    assert counter.problem() == "record 201 has 4 columns, the header 3"


@pytest.mark.parametrize("size", [7, 4096, 1 << 20])
def test_plain_runs_mixed_with_quoted_commas_and_line_breaks_are_exact(size: int) -> None:
    tricky = b'"002","a "",""\nb","c,d"\n'
    data = HEADER + (PLAIN * 30 + tricky) * 20
    counter = _fed(data, size, columns=3)
    assert (counter.data_records, counter.problem()) == (620, None)
    cut = _fed(data[:-5], size, columns=3)
    assert cut.problem() == "ends inside a quoted value"
