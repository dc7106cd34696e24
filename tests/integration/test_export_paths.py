"""Which path reads an object (sfexit/export/schedule.py): objects the preflight counted below
the threshold go over REST query, the others by Bulk jobs; the bytes do not depend on it, the
manifest says which path read each object, the forecast counts each path's calls, and a
rerun resumes whichever path wrote an object."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest

from auth_support import invoke, on_org_clock, password_env, password_profile, write_config
from export_support import SPECIAL_NAME, backup, methods_and_hashes
from sfexit.export import preflight as preflight_module
from sfexit.export.manifest import ManifestStore
from sfexit.export.schedule import Routing
from sfexit_emulator import Emulator, testing

# Largest to smallest on the seeded org (records=2000): Task, Contact, Account … CaseStatus.
OBJECTS = ("Account", "Contact", "Opportunity", "Task", "CaseStatus", "Lead", "Case")


def _routes(org: Emulator) -> dict[str, int]:
    return dict(org.stats()["requests_by_route"])


def _delta(before: dict[str, int], after: dict[str, int], *names: str) -> int:
    return sum(after.get(n, 0) - before.get(n, 0) for n in names)


def _counts(org: Emulator) -> dict[str, int]:
    return {name: testing.count(org, f"SELECT Id FROM {name}") for name in OBJECTS}


def test_small_objects_go_over_rest_and_large_ones_by_bulk_with_identical_bytes(
        fresh_emulator: Emulator, tmp_path: Path) -> None:
    org = fresh_emulator
    counts = _counts(org)
    ordered = sorted(counts.values())
    # A threshold between the third and fourth smallest objects: 3 by REST, 4 by Bulk.
    threshold = ordered[2] + 1
    assert ordered[3] >= threshold, counts
    small = {n for n, c in counts.items() if c < threshold}

    before = _routes(org)
    backup(org, tmp_path / "bulk", objects=OBJECTS, rest_below=0)
    middle = _routes(org)
    scheduled = backup(org, tmp_path / "scheduled", objects=OBJECTS, rest_below=threshold)
    after = _routes(org)

    # Forced Bulk: every object asks for a job (Bulk refuses CaseStatus: REST reads it).
    assert _delta(before, middle, "bulk_query_create") == len(OBJECTS)
    assert scheduled.bulk_jobs == len(OBJECTS) - len(small)
    assert _delta(middle, after, "bulk_query_create") == len(OBJECTS) - len(small)
    by_bulk, by_schedule = (methods_and_hashes(tmp_path / d) for d in ("bulk", "scheduled"))
    # The REST reads: one page each (all under 2,000 rows) on top of the preflight's queries
    # and of the forced run's fallbacks.
    fallbacks = sum(m == "rest" for m, _ in by_bulk.values())
    rest_reads = _delta(middle, after, "query", "query_more") - _delta(before, middle, "query",
                                                                         "query_more")
    assert rest_reads == len(small) - fallbacks
    assert {n: m for n, (m, _) in by_schedule.items()} == {
        n: ("rest" if n in small else "bulk") for n in OBJECTS}
    assert {n for n, (m, _) in by_bulk.items() if m == "bulk"} >= set(OBJECTS) - small
    assert {n: s for n, (_, s) in by_schedule.items()} == {n: s for n, (_, s) in by_bulk.items()}


def test_the_cost_model_s_threshold_reads_the_whole_small_org_over_rest(
        fresh_emulator: Emulator, tmp_path: Path) -> None:
    """Without --rest-below the model decides: every object of this org is under its crossing
    point (6,000 rows; 600 with long text): no Bulk job at all, none forecast."""
    org = fresh_emulator
    counts = _counts(org)
    assert all(Routing().by_rest(c, True) for c in counts.values()), counts
    summary = backup(org, tmp_path, objects=OBJECTS, rest_below=None)
    methods = {n: m for n, (m, _) in methods_and_hashes(tmp_path).items()}
    assert methods == {n: "rest" for n in OBJECTS}
    assert summary.bulk_jobs == 0
    assert {o.status for o in summary.objects} == {"exported"}
    assert summary.preflight is not None and summary.preflight.forecast.bulk_jobs == 0


def test_a_rerun_resumes_what_either_path_wrote_even_with_another_threshold(
        fresh_emulator: Emulator, tmp_path: Path) -> None:
    org = fresh_emulator
    first = backup(org, tmp_path, objects=OBJECTS, rest_below=10_000_000)
    assert first.bulk_jobs == 0
    again = backup(org, tmp_path, objects=OBJECTS, rest_below=0)
    assert again.bulk_jobs == 0
    assert {o.status for o in again.objects} == {"kept"}
    assert {o.method for o in again.objects} == {"rest"}


def test_the_cli_takes_rest_below_and_the_config_key(fresh_emulator: Emulator, tmp_path: Path,
                                                    ) -> None:
    org = fresh_emulator
    config = write_config(tmp_path, org, **password_profile(org))
    run = invoke(["--config", str(config), "export", "bulk", "--dest", str(tmp_path / "a"),
                  "--objects", "Account,CaseStatus", "--no-files", "--rest-below", "1000000"],
                 env=password_env(org), app=on_org_clock(org))
    assert run.code == 0, run.output
    assert run.body["result"]["bulk_jobs"] == 0
    bad = invoke(["--config", str(config), "export", "bulk", "--dest", str(tmp_path / "b"),
                  "--rest-below", "-1"], env=password_env(org), app=on_org_clock(org))
    assert bad.code == 2


def _entries_but_path(dest: Path) -> dict[str, dict[str, object]]:
    """The manifest's object entries without what names the path (method, job ids)."""
    objects = ManifestStore.load(dest).manifest.objects
    return {name: {k: v for k, v in vars(entry).items() if k not in ("method", "job_ids")}
            for name, entry in objects.items()}


def test_rest_and_bulk_write_the_same_bytes_and_entries_for_awkward_rows(
        fresh_emulator: Emulator, tmp_path: Path) -> None:
    """Deleted rows, long text over several REST pages (200 rows each), nulls, dates, decimals,
    quotes, newlines and unicode: the same CSV bytes and manifest entries by either path."""
    org = fresh_emulator
    admin = testing.admin_id(org)
    long_text = ("Ünïcødé 日本語 \"quoted\", comma\r\nline two\n" * 200)[:31_000]
    kept = testing.create(org, "Account", {"Name": SPECIAL_NAME, "Description": long_text,
                                           "AnnualRevenue": 1234567.89}, as_user=admin)
    gone = testing.create(org, "Account", {"Name": "to delete ✂", "Description": "x" * 300},
                          as_user=admin)
    testing.create(org, "Contact", {"LastName": "Nülls", "AccountId": kept,
                                    "Birthdate": "1970-01-01", "Description": None},
                   as_user=admin)
    dead = testing.create(org, "Contact", {"LastName": "Deleted 🗑", "Birthdate": "2000-02-29"},
                          as_user=admin)
    testing.delete(org, "Account", gone, as_user=admin)
    testing.delete(org, "Contact", dead, as_user=admin)
    objects = ("Account", "Contact")
    assert testing.count(org, "SELECT Id FROM Contact") > 200   # long text: several REST pages

    by_rest = backup(org, tmp_path / "rest", objects=objects, include_deleted=True,
                     rest_below=10_000_000)
    by_bulk = backup(org, tmp_path / "bulk", objects=objects, include_deleted=True,
                     rest_below=0)

    assert {o.method for o in by_rest.objects} == {"rest"}
    assert {o.method for o in by_bulk.objects} == {"bulk"}
    for name in objects:
        rest_csv = (tmp_path / "rest" / "data" / f"{name}.csv").read_bytes()
        assert rest_csv == (tmp_path / "bulk" / "data" / f"{name}.csv").read_bytes(), name
    assert _entries_but_path(tmp_path / "rest") == _entries_but_path(tmp_path / "bulk")
    text = (tmp_path / "rest" / "data" / "Account.csv").read_text(encoding="utf-8")
    assert gone in text and "1234567.89" in text and "日本語" in text
    assert dead in (tmp_path / "rest" / "data" / "Contact.csv").read_text(encoding="utf-8")


def test_a_job_of_several_pages_is_fetched_side_by_side_with_the_same_bytes(
        fresh_emulator: Emulator, tmp_path: Path) -> None:
    """Where the org lists a job's result pages (resultPages), they are fetched at once
    (bulk_pages.py) and appended in order: the same CSV as one stream following locators."""
    org = fresh_emulator
    rows = testing.count(org, "SELECT Id FROM Contact")
    assert rows > 200
    with testing.bulk_result_page_rows(100):   # the org lists 100-row pages
        one = backup(org, tmp_path / "one", objects=("Contact",), max_records=None)
        before = _routes(org)
        several = backup(org, tmp_path / "several", objects=("Contact",), max_records=100)
        after = _routes(org)

    assert _delta(before, after, "bulk_query_result_pages") >= 1
    assert _delta(before, after, "bulk_query_results") == -(-rows // 100)
    assert [o.rows for o in several.objects] == [rows] == [o.rows for o in one.objects]
    data = Path("data") / "Contact.csv"
    assert (tmp_path / "several" / data).read_bytes() == (tmp_path / "one" / data).read_bytes()
    assert not list((tmp_path / "several" / "data").glob("*.csv.*"))   # no spill left


def test_an_org_slow_to_answer_a_page_gets_its_long_text_objects_read_by_bulk(
        fresh_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The schedule routes with the page time the org shows (schedule.routing), not always the
    central 0.8 s: when the preflight's one-page sample queries take 2.5 s (a clock that moves
    2.5 s a reading), the high end's crossing applies (201 rows with long text) and Task (294
    rows, long text) goes to Bulk, as the forecast counted; Account (155) stays on REST. At the
    central figure both are under 601 rows: both REST."""
    org = fresh_emulator
    counts = _counts(org)
    assert 201 <= counts["Task"] < 601 and counts["Account"] < 201, counts
    ticks = itertools.count(step=2.5)
    monkeypatch.setattr(preflight_module, "clock", lambda: next(ticks))
    summary = backup(org, tmp_path, objects=("Task", "Account"), rest_below=None)
    methods = {n: m for n, (m, _) in methods_and_hashes(tmp_path).items()}
    assert methods == {"Task": "bulk", "Account": "rest"}
    assert summary.bulk_jobs == 1
    assert summary.preflight is not None and summary.preflight.rest_page_s is not None
    assert summary.preflight.rest_page_s >= 2.5 and summary.preflight.forecast.bulk_jobs == 1
