"""id_ranges: an object's Id space cut into base-62 ranges (PK chunking over SOQL)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from sfexit.export.id_ranges import BASE62, IdRange, id_of, number, split

HEAD = "a0B5g0"
MAX = 62 ** 9 - 1


def _case_safe(id15: str) -> str:
    """The 18-char form (Salesforce's suffix), to show either form is accepted."""
    out = ""
    for chunk in range(3):
        bits = sum(1 << i for i, ch in enumerate(id15[chunk * 5:chunk * 5 + 5]) if ch.isupper())
        out += "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"[bits]
    return id15 + out


def _holder(ranges: list[IdRange], record_id: str) -> list[int]:
    return [n for n, r in enumerate(ranges)
            if (r.low is None or record_id >= r.low) and (r.high is None or record_id < r.high)]


def test_the_docs_example_bound_is_base62_arithmetic() -> None:
    # Bulk API "PK Chunking": 001300000000000 + 250,000 = 00130000000132G
    assert id_of("001300", number("001300000000000") + 250_000) == "00130000000132G"


def test_the_digits_sort_as_bytes_in_base62_order() -> None:
    assert list(BASE62) == sorted(BASE62)


def test_the_ranges_are_contiguous_and_open_at_both_ends() -> None:
    ranges = split(id_of(HEAD, 1000), id_of(HEAD, 9000), 4)
    assert [r.low for r in ranges] == [None, id_of(HEAD, 3000), id_of(HEAD, 5000),
                                       id_of(HEAD, 7000)]
    assert [r.high for r in ranges][:-1] == [r.low for r in ranges][1:]
    assert ranges[-1].high is None


def test_the_same_id_is_one_range() -> None:
    first = id_of(HEAD, 77)
    assert split(first, first, 8) == [IdRange(None, None)]


def test_adjacent_ids_are_two_ranges_of_one_id_each() -> None:
    first, last = id_of(HEAD, 77), id_of(HEAD, 78)
    assert split(first, last, 8) == [IdRange(None, last), IdRange(last, None)]


def test_one_range_asked_is_one_range() -> None:
    assert split(id_of(HEAD, 1), id_of(HEAD, 10_000), 1) == [IdRange(None, None)]


def test_ids_of_other_key_prefixes_are_not_split() -> None:
    assert split(id_of("001" + "5g0", 1), id_of("003" + "5g0", 9), 4) == [IdRange(None, None)]


def test_ids_of_two_pods_split_at_the_last_ones_pod() -> None:
    ranges = split(id_of("a0B3x0", 500), id_of(HEAD, 9), 8)
    assert ranges == [IdRange(None, id_of(HEAD, 0)), IdRange(id_of(HEAD, 0), None)]


def test_not_an_id_is_one_range() -> None:
    assert split("not-an-id", id_of(HEAD, 9), 4) == [IdRange(None, None)]
    assert split(id_of(HEAD, 9), id_of(HEAD, 1), 4) == [IdRange(None, None)]   # reversed


@given(st.integers(0, MAX), st.integers(0, MAX), st.integers(1, 70),
       st.lists(st.integers(0, MAX), max_size=30), st.booleans())
def test_every_id_falls_in_exactly_one_range_in_order(a: int, b: int, count: int,
                                                      others: list[int], long_form: bool) -> None:
    first, last = id_of(HEAD, min(a, b)), id_of(HEAD, max(a, b))
    ranges = split(_case_safe(first) if long_form else first,
                   _case_safe(last) if long_form else last, count)
    assert 1 <= len(ranges) <= max(1, min(count, max(a, b) - min(a, b) + 1))
    bounds = [r.low for r in ranges[1:]]
    assert bounds == sorted(set(bounds))   # strictly increasing: no empty range by construction
    assert all(first < bound <= last for bound in bounds)
    # Any id of the object (in or beyond [first, last]) is in exactly one range, and the ranges
    # read one after the other give Id order.
    ids = sorted({id_of(HEAD, n) for n in [a, b, *others]})
    holders = [_holder(ranges, i) for i in ids]
    assert all(len(h) == 1 for h in holders)
    assert [h[0] for h in holders] == sorted(h[0] for h in holders)
