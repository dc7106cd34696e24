"""The export's path model (sfexit.export.schedule): pure."""

from __future__ import annotations

from sfexit.export.schedule import (MAX_REST_PAGES, MODEL, PROFILES, CostModel, Routing,
                                    measured_model, overflow, routing,
                                    crossing_rows, rest_pages, usage)


def test_rest_pages_are_2000_rows_or_200_with_long_text_and_at_least_one() -> None:
    assert rest_pages(0, 2000) == 1
    assert rest_pages(2000, 2000) == 1 and rest_pages(2001, 2000) == 2
    assert rest_pages(401, 200) == 3


def test_the_crossing_is_where_one_bulk_job_costs_what_the_rest_pages_it_saves() -> None:
    # 3 s of Bulk fixed cost + its bytes > 3 REST pages of 0.8 s, < 4: up to 3 pages go REST.
    assert crossing_rows(2000) == 3 * 2000 + 1
    assert crossing_rows(200) == 3 * 200 + 1
    assert MODEL.rest_seconds(6000, 2000) <= MODEL.bulk_seconds(6000)
    assert MODEL.rest_seconds(6001, 2000) > MODEL.bulk_seconds(6001)


def test_the_documented_thresholds_per_profile() -> None:
    """The table in schedule.py's docstring."""
    table = {name: (crossing_rows(2000, model=m), crossing_rows(200, model=m))
             for name, m in PROFILES.items()}
    assert table == {"low": (24_001, 2_001), "central": (6_001, 601), "high": (2_001, 201)}
    assert PROFILES["central"] == MODEL and MODEL.rest_page_s == 0.8


def test_the_crossing_follows_the_model_s_figures() -> None:
    # 12 pages x 0.3 s = 3.6 s < 3 s + 9.6 MB at 31.6 then 25.7 MB/s (3.68 s); 13 pages more.
    assert crossing_rows(2000, model=CostModel(rest_page_s=0.3)) == 12 * 2000 + 1
    assert crossing_rows(2000, model=CostModel(rest_page_s=2.0)) == 1 * 2000 + 1
    assert crossing_rows(2000, model=CostModel(bulk_job_s=0.0)) == 1   # Bulk always
    # Very wide rows: Bulk's per-byte time makes REST win further.
    assert crossing_rows(2000, row_bytes=100_000) > crossing_rows(2000)
    # Rows so wide that Bulk never catches up: capped at MAX_REST_PAGES pages.
    assert crossing_rows(2000, row_bytes=1_000_000) == MAX_REST_PAGES * 2000 + 1


def test_routing_by_the_model_by_an_override_and_never_for_an_uncounted_object() -> None:
    model = Routing()
    assert model.by_rest(6000, False) and not model.by_rest(6001, False)
    assert model.by_rest(600, True) and not model.by_rest(601, True)
    assert not model.by_rest(None, False)
    assert model.may_rest(6000) and not model.may_rest(6001)
    assert not Routing(0).may_rest(0)
    assert Routing(50_000).by_rest(49_999, True)


def test_usage_counts_each_object_by_its_costlier_possible_route() -> None:
    counts = {"Big": 120_000, "Mid": 1_000, "Tiny": 10}
    use = usage(counts, Routing(), job_calls=4, bulk_page_rows=50_000)
    # Big: Bulk 4 + 3 pages. Mid: REST 1 page, or Bulk (with long text) 4 + 1. Tiny: 1 page.
    assert use.calls == 7 + 5 + 1
    assert use.bulk_jobs == 2 and use.bulk_rows == 121_000
    all_bulk = usage(counts, Routing(0), job_calls=4, bulk_page_rows=50_000)
    assert all_bulk.bulk_jobs == 3 and all_bulk.calls == 7 + 5 + 5


def test_the_run_routes_with_the_page_time_the_org_shows_within_the_stated_range() -> None:
    assert measured_model(None) == MODEL
    assert measured_model(1.2).rest_page_s == 1.2
    # the emulator without its cost model answers in ms; a stalled client in many seconds
    assert measured_model(0.004) == PROFILES["low"] and measured_model(9.0) == PROFILES["high"]
    slow = routing(None, 2.05)
    assert slow.threshold(True) == 201 and slow.threshold(False) == 2001
    assert routing(None, 0.01).threshold(False) == 24_001
    assert routing(None).threshold(False) == 6_001
    assert routing(0, 2.05).threshold(True) == 0 and routing(500, 0.01).threshold(False) == 500


def test_small_objects_the_rest_cursors_cannot_reach_in_time_go_to_bulk_up_to_a_window() -> None:
    """At 2 s a page a cursor reads one page in a Bulk job's fixed 3 s: of 50 one-page objects
    the 24 smallest (and a per-parent one, first) keep REST on the 25 cursors, the next 16 get
    Bulk jobs (a window of their own: JOBS_AHEAD_PER_READER x 4 readers), the last 10 wait for a
    second REST wave. At 0.8 s a page a cursor reads three: no overflow. An explicit rest_below
    is obeyed."""
    counts = {f"S{n:02d}": n for n in range(50)} | {"Big": 90_000, "ContentDocumentLink": 99}
    slow = routing(None, 2.0, counts, parallel=4)
    assert len(slow.overflow) == 16 and "Big" not in slow.overflow
    assert "ContentDocumentLink" not in slow.overflow
    assert slow.overflow == {f"S{n:02d}" for n in range(24, 40)}
    assert not slow.by_rest(30, False, "S30") and slow.by_rest(30, False, "S45")
    assert not slow.may_rest(30, "S30") and slow.may_rest(14, "S14")
    assert overflow(counts, routing(None, 2.0), parallel=1) == frozenset(
        f"S{n:02d}" for n in range(25, 29))   # no per-parent kept first here
    assert routing(None, 0.8, counts).overflow == frozenset()
    assert routing(500, 2.0, counts).overflow == frozenset()
    # the forecast and the gate count an overflow object's job
    use = usage({"S30": 30, "S01": 1}, slow, job_calls=4, bulk_page_rows=50_000)
    assert use.bulk_jobs == 1 and use.calls == 4 + 1 + 1
