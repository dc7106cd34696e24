"""The cost model of a REST object read in Id ranges (schedule.py, issue 23): pure."""

from __future__ import annotations

import math

from pathlib import Path

from sfexit.export.data_run import ExportOptions
from sfexit.export.first_jobs import first_candidates
from sfexit.export.schedule import (MAX_RANGES, MODEL, PROFILES, REST_CURSORS, Routing,
                                    id_range_count, ranged, rest_calls, routing, usage)


def test_an_object_is_split_from_three_pages_in_ranges_of_three_quarters_of_a_page() -> None:
    assert id_range_count(4000, 2000) == 1            # two pages: the bounds would cost one
    assert id_range_count(4001, 2000) == 3            # 4,001 / 1,500
    assert id_range_count(20_000, 2000) == 14
    assert id_range_count(401, 200) == 3
    assert id_range_count(10**7, 2000) == MAX_RANGES  # a queue of at most 64
    assert id_range_count(None, 2000) == 1


def test_every_range_costs_a_call_and_the_bounds_two() -> None:
    assert rest_calls(4000, 2000) == 2                # one cursor: its pages
    # 3 pages in 3 ranges: the two bounds, then at most pages + ranges - 1 range pages.
    assert rest_calls(4001, 2000) == 2 + 3 + 2
    assert rest_calls(20_000, 2000) == 2 + 10 + 13


def test_ranged_rest_time_is_one_page_for_the_bounds_and_a_page_a_round() -> None:
    assert MODEL.split_seconds(4000, 2000) == MODEL.rest_seconds(4000, 2000) == 1.6
    assert MODEL.split_seconds(20_000, 2000) == 2 * 0.8            # 14 ranges, one round
    # 500 pages in at most 64 ranges of 8 pages, 3 rounds of 25.
    assert MODEL.split_seconds(10**6, 2000) == (1 + math.ceil(MAX_RANGES / REST_CURSORS) * 8) * 0.8
    # 20,000 rows: 10 pages on one cursor (8 s), Bulk ~3.56 s, ranges 1.6 s.
    assert MODEL.split_seconds(20_000, 2000) < MODEL.bulk_seconds(20_000) \
        < MODEL.rest_seconds(20_000, 2000)


def test_a_large_object_goes_to_ranges_where_they_beat_its_bulk_job() -> None:
    counts = {"Big": 20_000, "Tiny": 10}
    central = routing(None, None, counts)
    assert central.ranged == {"Big"}
    assert central.by_rest(20_000, False, "Big")
    # With long text (200 a page) it takes 64 ranges, 4 rounds: 4.0 s, more than Bulk's 3.56.
    assert not central.by_rest(20_000, True, "Big")
    assert central.may_rest(20_000, "Big") and not central.may_rest(20_000, "Other")
    # At 2 s a page the bounds and one round take 4 s: Bulk.
    assert routing(None, PROFILES["high"].rest_page_s, counts).ranged == frozenset()
    # An explicit threshold is obeyed as given.
    assert routing(30_000, None, counts).ranged == frozenset()
    assert routing(0, None, counts).ranged == frozenset()


def test_ranges_take_only_the_cursors_the_small_objects_leave() -> None:
    # At 0.8 s a page, 20,000 rows in ranges take 1.6 s: 25 cursors x 2 pages = 50 slots, and
    # each such object takes 16 (2 bounds + 14 ranges).
    tiny = {f"Tiny{n}": 10 for n in range(20)}
    assert ranged({"Big": 20_000} | tiny, Routing()) == {"Big"}
    assert ranged({"Big0": 20_000, "Big1": 20_000}, Routing()) == {"Big0", "Big1"}
    # With the 20 small objects' pages, two do not fit: and one alone would not shorten the
    # run (the other's Bulk job is as long): neither moves.
    assert ranged({"Big0": 20_000, "Big1": 20_000} | tiny, Routing()) == frozenset()


def test_only_a_set_that_ends_the_run_earlier_moves_off_bulk() -> None:
    # Mid's Bulk job (3.2 s) would end the run 0.36 s before Big's: less than a page's time,
    # so Big alone does not move; Big and Mid together end it at 1.6 s.
    assert ranged({"Big": 20_000, "Mid": 7_000}, Routing()) == {"Big", "Mid"}
    # A million rows: Bulk ~31 s by the model (bytes processed, then one stream at 25.7 MB/s),
    # 64 ranges of 8 pages 26.4 s; the others' Bulk jobs end long before either.
    assert ranged({"Big": 20_000, "Mid": 7_000, "Huge": 10**6}, Routing()) == {"Huge"}


def test_usage_counts_the_ranges_calls_of_a_ranged_object() -> None:
    counts = {"Big": 20_000}
    use = usage(counts, routing(None, None, counts), job_calls=4, bulk_page_rows=50_000)
    # REST in ranges: 2 bounds + up to 10 + 14 - 1 range pages = 25 (Bulk with long text: 5).
    assert use.calls == 25 and use.bulk_jobs == 1


def test_the_first_jobs_start_an_object_the_schedule_may_read_in_ranges_and_not_a_small_one(
        tmp_path: Path) -> None:
    # 100,000 rows: Bulk ~5.8 s; at 0.3 s a page its 34 ranges of 2 pages take 2.1 s. Its job
    # is started beside the preflight anyway (the measured trade-off: first_candidates).
    options = ExportOptions(dest=tmp_path)
    assert routing(None, 0.3, {"Big": 100_000}).ranged == {"Big"}
    assert first_candidates(["Big", "Small"], {"Big": 100_000, "Small": 500}, options) \
        == ["Big"]
