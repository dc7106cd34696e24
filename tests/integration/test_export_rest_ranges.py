"""A large object read over REST in Id ranges side by side (rest_ranges.py, issue 23): the
same bytes as one cursor and as Bulk, queryAll with include_deleted, the ranges' calls, and an
interrupted split read that the rerun redoes cleanly.

The seeded org's objects hold a few hundred rows (one REST page): the schedule's page sizes
are made small here so that they count as several pages and are split (the server still
pages at 2,000: each range is one page)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from export_support import backup, methods_and_hashes
from sfexit import errors
from sfexit.export import schedule
from sfexit.export.data_run import read_slots
from sfexit.org.rest import RestClient
from sfexit_emulator import Emulator, testing

# Bulk takes Contact and Task; it refuses AcceptedEventRelation (read over REST after it).
OBJECTS = ("Contact", "Task", "AcceptedEventRelation")


@pytest.fixture
def small_pages(monkeypatch: pytest.MonkeyPatch) -> None:
    """The schedule counts 10 rows a page: a few dozen rows make several Id ranges."""
    monkeypatch.setattr(schedule, "REST_PAGE_ROWS", 10)
    monkeypatch.setattr(schedule, "REST_PAGE_ROWS_LONG_TEXT", 10)


def _range_queries(texts: list[str], name: str) -> list[str]:
    return [t for t in texts if f" FROM {name} " in t and ("Id >=" in t or "Id <" in t)]


def test_split_unsplit_and_bulk_reads_write_the_same_bytes(
        fresh_emulator: Emulator, tmp_path: Path, small_pages: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    org = fresh_emulator
    with testing.soql_log(org) as split_texts:
        split = backup(org, tmp_path / "split", objects=OBJECTS, rest_below=10**9)
    with testing.soql_log(org) as bulk_texts:
        bulk = backup(org, tmp_path / "bulk", objects=OBJECTS, rest_below=0)
    monkeypatch.setattr(schedule, "SPLIT_FROM_PAGES", 10**9)
    with testing.soql_log(org) as plain_texts:
        plain = backup(org, tmp_path / "plain", objects=OBJECTS, rest_below=10**9)
    hashes = {d: methods_and_hashes(tmp_path / d) for d in ("split", "bulk", "plain")}
    assert {n: m for n, (m, _) in hashes["bulk"].items()} == {
        "Contact": "bulk", "Task": "bulk", "AcceptedEventRelation": "rest"}
    assert {m for m, _ in hashes["split"].values()} == {"rest"}
    assert {n: s for n, (_, s) in hashes["split"].items()} \
        == {n: s for n, (_, s) in hashes["bulk"].items()} \
        == {n: s for n, (_, s) in hashes["plain"].items()}
    for name in OBJECTS:
        ranges = _range_queries(split_texts, name)
        assert len(ranges) >= 5, (name, ranges)
        assert all(t.endswith(" ORDER BY Id") for t in ranges)
        assert f"SELECT Id FROM {name} ORDER BY Id DESC LIMIT 1" in split_texts
        assert not _range_queries(plain_texts, name)
    # Bulk refused AcceptedEventRelation: its REST read after the refusal is split too.
    assert len(_range_queries(bulk_texts, "AcceptedEventRelation")) >= 5
    assert not _range_queries(bulk_texts, "Contact")
    assert {o.rows for o in split.objects} == {o.rows for o in plain.objects} \
        == {o.rows for o in bulk.objects}
    assert not list((tmp_path / "split" / "data").glob("*.part"))


def test_a_split_read_with_include_deleted_uses_query_all_for_bounds_and_ranges(
        fresh_emulator: Emulator, tmp_path: Path, small_pages: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    org = fresh_emulator
    every = testing.count(org, "SELECT Id FROM Contact", include_deleted=True)
    assert every > testing.count(org, "SELECT Id FROM Contact")
    split = backup(org, tmp_path / "split", objects=("Contact",), rest_below=10**9,
                   include_deleted=True)
    bulk = backup(org, tmp_path / "bulk", objects=("Contact",), rest_below=0,
                  include_deleted=True)
    assert [o.rows for o in split.objects] == [o.rows for o in bulk.objects] == [every]
    assert methods_and_hashes(tmp_path / "split")["Contact"][1] \
        == methods_and_hashes(tmp_path / "bulk")["Contact"][1]


def test_an_interrupted_split_read_is_read_again_whole_by_the_rerun(
        fresh_emulator: Emulator, tmp_path: Path, small_pages: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    org = fresh_emulator
    real = RestClient.query_iter
    broken = {"ranges": 0}

    def flaky(self: RestClient, query: str, **kw: object):  # type: ignore[no-untyped-def]
        if "Id >=" in query and broken["ranges"] == 0:
            broken["ranges"] += 1
            raise errors.ConnectionFailed("the line dropped", hint="run it again")
        return real(self, query, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(RestClient, "query_iter", flaky)
    with pytest.raises(errors.ConnectionFailed):
        backup(org, tmp_path / "dest", objects=("Contact",), rest_below=10**9)
    assert not (tmp_path / "dest" / "data" / "Contact.csv").exists()
    assert not list((tmp_path / "dest" / "data").glob("*.part"))
    rerun = backup(org, tmp_path / "dest", objects=("Contact",), rest_below=10**9)
    backup(org, tmp_path / "bulk", objects=("Contact",), rest_below=0)
    assert [(o.status, o.rows) for o in rerun.objects] == [
        ("exported", testing.count(org, "SELECT Id FROM Contact"))]
    assert methods_and_hashes(tmp_path / "dest")["Contact"][1] \
        == methods_and_hashes(tmp_path / "bulk")["Contact"][1]


@pytest.mark.parametrize("refused", [
    "ORDER BY Id DESC LIMIT 1",   # the bounds' query: no range is asked
    "Id <",                       # the bounds answered, a range with an upper bound refused
], ids=["bounds", "range"])
def test_an_object_whose_bounds_or_range_query_is_refused_is_read_on_one_cursor(
        fresh_emulator: Emulator, tmp_path: Path, small_pages: None,
        monkeypatch: pytest.MonkeyPatch, refused: str) -> None:
    org = fresh_emulator
    real = RestClient.query_iter

    def refusing(self: RestClient, query: str, **kw: object):  # type: ignore[no-untyped-def]
        if refused in query:
            raise errors.SalesforceError("MALFORMED_QUERY: not supported here",
                                         error_code="MALFORMED_QUERY")
        return real(self, query, **kw)  # type: ignore[arg-type]

    monkeypatch.setattr(RestClient, "query_iter", refusing)
    with testing.soql_log(org) as texts:
        done = backup(org, tmp_path / "one", objects=("Contact",), rest_below=10**9)
    assert [(o.status, o.method) for o in done.objects] == [("exported", "rest")]
    assert not list((tmp_path / "one" / "data").glob("*.part"))
    if refused.endswith("LIMIT 1"):
        assert not _range_queries(texts, "Contact")
    monkeypatch.setattr(RestClient, "query_iter", real)
    backup(org, tmp_path / "bulk", objects=("Contact",), rest_below=0)
    assert methods_and_hashes(tmp_path / "one")["Contact"][1] \
        == methods_and_hashes(tmp_path / "bulk")["Contact"][1]


def test_the_ranges_are_read_side_by_side_within_the_run_s_read_places(
        fresh_emulator: Emulator, tmp_path: Path, small_pages: None,
        monkeypatch: pytest.MonkeyPatch) -> None:
    org = fresh_emulator
    real = RestClient.query_iter
    lock = threading.Lock()
    state = {"now": 0, "most": 0}

    def counted(self: RestClient, query: str, **kw: object):  # type: ignore[no-untyped-def]
        ranged = "Id >=" in query or "Id <" in query
        if ranged:
            with lock:
                state["now"] += 1
                state["most"] = max(state["most"], state["now"])
        try:
            yield from real(self, query, **kw)  # type: ignore[arg-type]
        finally:
            if ranged:
                with lock:
                    state["now"] -= 1

    monkeypatch.setattr(RestClient, "query_iter", counted)
    org.faults.latency_ms = 100   # a range's page is still being served when the next starts
    try:
        done = backup(org, tmp_path / "dest", objects=("Contact",), rest_below=10**9)
    finally:
        org.faults.latency_ms = 0
    assert [o.status for o in done.objects] == ["exported"]
    assert 2 <= state["most"] <= read_slots(4)
