"""Which path reads an object: REST query or a Bulk 2.0 query job, from a small cost model (pure).

A Bulk job costs a fixed server time however few rows it holds; REST query costs one page call
per ``page_rows`` rows. REST is the cheaper path below the row count where the REST pages an
object needs start to cost more than one Bulk job (issue 23, "A scheduler that picks the
cheapest path per object"). This is sfexit's OWN estimate of Salesforce's server time, from the
published measurements (the emulator's benchmark model, emulator/src/sfexit_emulator/costs.py,
cites the same sources; neither imports the other). The figures, each with its source:

- :attr:`CostModel.bulk_job_s` 3 s from create to JobComplete for a tiny query, SINGLE SOURCE:
  a Go client's log of a 10-row Bulk 2.0 query, amp-labs/connectors PR #131 (2.4-3.4 s,
  polls included);
- :attr:`CostModel.bulk_bytes_per_s` 31.6 MB/s of CSV processed, SINGLE SOURCE:
  forcedotcom/cli#3507 ("processing the job 7m 23.24s" for 777,650 rows, 13,998,730,299 bytes:
  1,755 rows/s at 18 KB a row), per byte rather than per row;
- :attr:`CostModel.download_bytes_per_s` 25.7 MB/s per result stream, SINGLE SOURCE, the same
  run ("exporting records 9m 4.53s" for the same bytes);
- :attr:`CostModel.rest_page_s`, NO SOURCE: no published measurement of a REST query page's
  server time exists (searched 2026-11-22 and 2026-12-07); issue 23 states it as 0.3-2 s.
  :data:`PROFILES` holds the low (0.3 s), central (0.8 s, about the geometric middle) and high
  (2 s) ends. sfexit schedules with the page time the org SHOWS (:func:`measured_model`: the
  preflight's own one-page sample queries, kept within that range), central when it has none;
- REST pages hold 2,000 rows, at most 200 when a long-text or rich-text field is selected
  (SOQL and SOSL Reference, "Change the Batch Size in Queries"; limits.md "REST query").

THE THRESHOLD (:func:`crossing_rows`): the smallest row count where ``pages x rest_page_s``
exceeds one Bulk job of as many rows (its fixed cost plus its bytes processed and downloaded,
at :data:`DEFAULT_ROW_BYTES` a row unless sampled); objects with fewer rows go over REST.
Per profile, without / with a long-text field:

  ====================  ==================  ==================
  profile (REST page)   Bulk from           with long text
  ====================  ==================  ==================
  low (0.3 s)           24,001 rows         2,001 rows
  central (0.8 s)       6,001 rows          601 rows
  high (2 s)            2,001 rows          201 rows
  ====================  ==================  ==================

(tests/unit/test_export_schedule_model.py checks this table.) A run's routing
(:func:`routing`) uses the measured page time, so an org that answers a page in 2 s gets the
high row (its 3-page objects go to Bulk) and one that answers in 0.3 s the low row.
``--rest-below ROWS`` (config
``[export] rest_below``) replaces the model's threshold; ``0`` sends every object to Bulk.

ID RANGES (issue 23): an object REST reads that needs :data:`SPLIT_FROM_PAGES` pages or more is
read in Id ranges side by side (:func:`id_range_count`; PK chunking over SOQL: id_ranges.py,
rest_ranges.py): about one page's time for its first and last Id, then a page per round of
:data:`REST_CURSORS` ranges (:meth:`CostModel.split_seconds`), each range at least one API
call (:func:`rest_calls`, counted by :func:`usage`: the forecast and the budget gate). Where
that ends the run earlier than the Bulk jobs of the largest objects and the cursors have room,
those objects are read so instead of by Bulk (:func:`ranged`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

REST_PAGE_ROWS = 2000          # REST query page (limits.md "REST query")
REST_PAGE_ROWS_LONG_TEXT = 200  # with a long-text / rich-text field selected
DEFAULT_ROW_BYTES = 400        # preflight.DEFAULT_ROW_BYTES: the width assumed when unsampled
# REST cursors read side by side. Salesforce allows at most 25 requests running >= 20 s at once
# per org (limits.md "concurrency", the API limits cheatsheet) and SHORT REQUESTS HAVE NO LIMIT:
# a REST page holds at most 2,000 rows and takes 0.3-2 s by the model (a tenth of what makes a
# request long), so the cursors are as many as the long requests the org allows, the figure
# issue 23's ideal schedule uses. Open query cursors have no limit since API v56.0 (before: 10
# per user; Salesforce App Limits Cheatsheet, "API Query Cursor Limits"). What may run long is
# a Bulk result download (its own ``--parallel`` readers). 16 before: the small objects of a 20k org took three waves of pages
# where two do (bench/RESULTS.md "session 7").
REST_CURSORS = 25
# Objects Salesforce only lets us read filtered by a parent id: (filter field, parent object).
# ContentDocumentLink: "requires a filter by a single Id on ContentDocumentId or LinkedEntityId
# … or multiple Id's using the IN operator" (export-pitfalls.md A; Salesforce's error text).
PER_PARENT = {"ContentDocumentLink": ("ContentDocumentId", "ContentDocument")}
# Bulk jobs created ahead of the readers, per reader (data_run.ExportRun's window): enough for
# Salesforce to work on many jobs side by side, bounded so that an org of 900 objects does not
# hold 900 jobs at once (an interrupted run leaves at most this many created and unread, each
# counted against DailyBulkV2QueryJobs: limits.md).
JOBS_AHEAD_PER_READER = 4
# The most REST pages the model lets one object take: one cursor is read a page at a time, so
# a long one would make that object the run's longest chain whatever the model says.
MAX_REST_PAGES = 50
# An object of at least this many REST pages is read in Id ranges side by side (id_ranges.py,
# PK chunking over SOQL): its first and last Id cost about one page's time (two one-row
# queries side by side), so two pages would gain nothing and three gain one page.
SPLIT_FROM_PAGES = 3
# Rows a range is cut for, as a share of a page: ranges cut evenly by Id value hold uneven row
# counts on a real org (deleted and purged ids, ids of other objects' inserts in between),
# so a range aims at 3/4 of a page and most stay one page even 1/3 fuller than the mean.
RANGE_PAGE_SHARE = 0.75
# At most this many ranges for one object (a queue: more ranges than cursors is fine; each
# range costs at least one API call).
MAX_RANGES = 64


@dataclass(frozen=True)
class CostModel:
    """Salesforce's server time (module docstring: each figure's source)."""

    bulk_job_s: float = 3.0              # amp-labs/connectors#131 (single source)
    bulk_bytes_per_s: float = 31.6e6     # forcedotcom/cli#3507 (single source)
    download_bytes_per_s: float = 25.7e6  # forcedotcom/cli#3507 (single source), per stream
    rest_page_s: float = 0.8             # no source: central of issue 23's 0.3-2 s

    def rest_seconds(self, rows: int, page_rows: int) -> float:
        """One cursor, page after page."""
        return rest_pages(rows, page_rows) * self.rest_page_s

    def split_seconds(self, rows: int, page_rows: int) -> float:
        """In Id ranges (:func:`id_range_count`; one cursor below :data:`SPLIT_FROM_PAGES`
        pages), up to :data:`REST_CURSORS` ranges at once: one page's time for the first and
        last Id (two one-row queries side by side), then each round of ranges, a range's
        pages one after the other (one page, unless :data:`MAX_RANGES` holds it to more)."""
        ranges = id_range_count(rows, page_rows)
        if ranges == 1:
            return self.rest_seconds(rows, page_rows)
        per_range = math.ceil(rest_pages(rows, page_rows) / ranges)
        return (1 + math.ceil(ranges / REST_CURSORS) * per_range) * self.rest_page_s

    def bulk_ready_seconds(self, rows: int, row_bytes: int = DEFAULT_ROW_BYTES) -> float:
        """From a query job's creation to JobComplete: its fixed cost and its bytes processed."""
        return self.bulk_job_s + max(0, rows) * max(1, row_bytes) / self.bulk_bytes_per_s

    def bulk_seconds(self, rows: int, row_bytes: int = DEFAULT_ROW_BYTES) -> float:
        size = max(0, rows) * max(1, row_bytes)
        return self.bulk_job_s + size / self.bulk_bytes_per_s + size / self.download_bytes_per_s


MODEL = CostModel()
# The one unsourced figure at the ends and middle of its range (bench/peers.py reports all three).
PROFILES = {"low": replace(MODEL, rest_page_s=0.3), "central": MODEL,
            "high": replace(MODEL, rest_page_s=2.0)}


# The range issue 23 states for a REST page's time (no published measurement: see above).
PAGE_SECONDS_RANGE = (PROFILES["low"].rest_page_s, PROFILES["high"].rest_page_s)


def measured_model(page_seconds: float | None, model: CostModel = MODEL) -> CostModel:
    """``model`` with the REST page time this org showed (None: not measured, ``model`` as is).

    The measure is the wall time of a one-page query, network included (what a page costs this
    run; Bulk's side of the crossing leaves out its 2-3 round trips, so this leans a little
    towards Bulk). Kept within :data:`PAGE_SECONDS_RANGE`: below it is the emulator without its
    cost model (milliseconds), above it a client too busy to time anything well."""
    if page_seconds is None:
        return model
    low, high = PAGE_SECONDS_RANGE
    return replace(model, rest_page_s=min(high, max(low, page_seconds)))


def rest_pages(rows: int, page_rows: int) -> int:
    """REST query calls for ``rows`` rows (an empty object still answers one page)."""
    return max(1, math.ceil(max(0, rows) / page_rows))


def id_range_count(rows: int | None, page_size: int) -> int:
    """Id ranges an object of ``rows`` rows is read in over REST (1: one cursor): about
    :data:`RANGE_PAGE_SHARE` of a page each, from :data:`SPLIT_FROM_PAGES` pages on."""
    if rows is None or rest_pages(rows, page_size) < SPLIT_FROM_PAGES:
        return 1
    return min(MAX_RANGES, math.ceil(rows / (page_size * RANGE_PAGE_SHARE)))


def rest_calls(rows: int, page_size: int) -> int:
    """API calls to read ``rows`` rows over REST, at worst: its pages; in Id ranges also the
    first and last Id (2) and, since every range costs at least one call, one more page per
    range beyond the first (the ranges' pages add up to at most pages + ranges - 1)."""
    ranges = id_range_count(rows, page_size)
    pages = rest_pages(rows, page_size)
    return pages if ranges == 1 else 2 + pages + ranges - 1


def page_rows(long_text: bool) -> int:
    return REST_PAGE_ROWS_LONG_TEXT if long_text else REST_PAGE_ROWS


def crossing_rows(page_size: int, row_bytes: int = DEFAULT_ROW_BYTES,
                  model: CostModel = MODEL) -> int:
    """The smallest row count Bulk reads faster than REST: objects with fewer rows go REST.
    REST time is a step per page, Bulk's a line; the first page count whose REST time exceeds
    one Bulk job of that many rows minus one page gives the crossing. Never past
    :data:`MAX_REST_PAGES` pages (rows so wide that Bulk's per-byte time outgrows REST's pages
    would otherwise never cross)."""
    for pages in range(1, MAX_REST_PAGES + 1):
        first_row = (pages - 1) * page_size + 1
        if model.rest_seconds(first_row, page_size) > model.bulk_seconds(first_row, row_bytes):
            return first_row
    return MAX_REST_PAGES * page_size + 1


@dataclass(frozen=True)
class Routing:
    """How objects are routed: ``rest_below`` rows (an override, ``0`` = all Bulk) or, when
    None, the model's crossing for the object's page size."""

    rest_below: int | None = None
    row_bytes: int = DEFAULT_ROW_BYTES
    model: CostModel = MODEL
    # Objects under the threshold that the REST cursors could not reach in time: Bulk reads
    # them (:func:`overflow`).
    overflow: frozenset[str] = frozenset()
    # Objects over the threshold that REST reads in Id ranges side by side, faster than their
    # Bulk job, on cursors the small objects leave free (:func:`ranged`).
    ranged: frozenset[str] = frozenset()

    def threshold(self, long_text: bool) -> int:
        if self.rest_below is not None:
            return self.rest_below
        return crossing_rows(page_rows(long_text), self.row_bytes, self.model)

    def by_rest(self, rows: int | None, long_text: bool, name: str = "") -> bool:
        """REST reads the object: its row count is known and below the threshold, and it is
        not one of the :attr:`overflow`; or it is one of the :attr:`ranged` and its Id ranges
        still beat its Bulk job with the page size its fields give (long text: 200 a page)."""
        if rows is None:
            return False
        if name in self.ranged:
            return self.model.split_seconds(rows, page_rows(long_text)) \
                < self.model.bulk_seconds(rows, self.row_bytes)
        return rows < self.threshold(long_text) and name not in self.overflow

    def may_rest(self, rows: int | None, name: str = "") -> bool:
        """REST may read it, whichever its fields (the higher of the two thresholds)."""
        return self.by_rest(rows, False, name) or self.by_rest(rows, True, name)


def overflow(counts: Mapping[str, int], routing: Routing, parallel: int,
             keep: frozenset[str] = frozenset()) -> frozenset[str]:
    """The objects under the threshold that the :data:`REST_CURSORS` cursors would not read
    before a Bulk job of their own would be done, at most :data:`JOBS_AHEAD_PER_READER` x
    ``parallel`` of them: the data step's window of created jobs grows by their number
    (data_run.ExportRun), so no job of theirs waits for a place (about a Bulk job's time) and
    an interrupted run still leaves a bounded number of jobs unread.

    Each cursor reads ``bulk_job_s // rest_page_s`` pages (at least one) in a Bulk job's fixed
    time; the smallest objects keep REST (the most objects for the pages). At the high end (2 s
    a page) that is one page a cursor: 34 small objects read in three waves of 2 s pages
    become 28 in two and 6 Bulk jobs beside the large ones (bench/RESULTS.md). None with an
    explicit ``rest_below`` (obeyed as given). Pure: the forecast, the gate and the data step
    compute the same set from the same counts. ``keep``: objects REST reads in any case (Bulk
    refuses them: data_run.PER_PARENT), counted first."""
    if routing.rest_below is not None:
        return frozenset()
    small = sorted((n for n, rows in counts.items() if routing.may_rest(rows)),
                   key=lambda n: (n not in keep, counts[n], n))
    jobs_room = JOBS_AHEAD_PER_READER * max(1, parallel)
    pages_room = REST_CURSORS * max(1, int(routing.model.bulk_job_s // routing.model.rest_page_s))
    over: list[str] = []
    for name in small:
        pages = rest_pages(counts[name], REST_PAGE_ROWS)
        if pages <= pages_room:
            pages_room -= pages
        elif len(over) < jobs_room:
            over.append(name)
    return frozenset(over)


def ranged(counts: Mapping[str, int], routing: Routing) -> frozenset[str]:
    """The objects REST reads in Id ranges where it would otherwise create a Bulk job (issue
    23: in ranges an object's REST time is about one page for its first and last Id plus a
    page per round of :data:`REST_CURSORS` ranges, :meth:`CostModel.split_seconds`).

    Candidates: the objects over the threshold, and those under it that long text (200 rows
    a page) would send to Bulk, counted at the page size that sends them there. Moving an
    object off Bulk shortens the run only if every object whose Bulk job takes as long moves
    too (the run lasts as long as its longest Bulk job), so the candidates are taken longest
    Bulk job first and the set is the prefix that ends the run earliest (by a page's time at
    least): the later of its ranged reads and the first Bulk job left, provided the cursors
    have room for it within that time (the pages of the small objects REST reads plus, per
    object, its two bounds and its ranges). None with an explicit ``rest_below``. Pure, like
    :func:`overflow`: forecast, gate and data step agree."""
    if routing.rest_below is not None:
        return frozenset()
    model, bytes_ = routing.model, routing.row_bytes

    def page_of(name: str) -> int:
        return page_rows(routing.may_rest(counts[name], name))

    candidates = sorted((n for n, rows in counts.items()
                         if not routing.by_rest(rows, True, n) and n not in routing.overflow),
                        key=lambda n: (-model.bulk_seconds(counts[n], bytes_), n))
    small_pages = sum(rest_pages(rows, REST_PAGE_ROWS) for n, rows in counts.items()
                      if routing.may_rest(rows, n))
    best, best_end = 0, model.bulk_seconds(counts[candidates[0]], bytes_) if candidates else 0.0
    slots, slowest = small_pages, 0.0
    for taken, name in enumerate(candidates, start=1):
        rows = counts[name]
        split = model.split_seconds(rows, page_of(name))
        if split >= model.bulk_seconds(rows, bytes_):
            break
        slots += 2 + id_range_count(rows, page_of(name))
        slowest = max(slowest, split)
        left = candidates[taken:]
        end = max(slowest, model.bulk_seconds(counts[left[0]], bytes_) if left else 0.0)
        if slots > REST_CURSORS * max(1, int(end // model.rest_page_s)):
            break
        if end <= best_end - model.rest_page_s:   # a page's time at least: the bounds' cost
            best, best_end = taken, end
    return frozenset(candidates[:best])


def routing(rest_below: int | None, page_seconds: float | None = None,
            counts: Mapping[str, int] | None = None, parallel: int = 4) -> Routing:
    """A run's routing: ``rest_below`` when given, else the crossing at the measured REST page
    time (:func:`measured_model`), minus the :func:`overflow` of ``counts`` (every object the
    run reads) with ``parallel`` readers, plus the large objects read in Id ranges
    (:func:`ranged`). The forecast, the budget gate and the data step all route with this
    one, so the gate admits what the plan counted."""
    plain = Routing(rest_below, model=measured_model(page_seconds))
    spilled = replace(plain, overflow=overflow(counts or {}, plain, parallel,
                                               frozenset(PER_PARENT)))
    return replace(spilled, ranged=ranged(counts or {}, spilled))


@dataclass(frozen=True)
class Usage:
    """What reading a set of objects costs against the daily limits, at worst."""

    calls: int
    bulk_jobs: int
    bulk_rows: int


def usage(counts: Mapping[str, int], routing: Routing, *, job_calls: float,
          bulk_page_rows: int) -> Usage:
    """Calls (besides describes), Bulk jobs and rows through Bulk for ``counts``, taking for
    each object the costlier of its two possible routes (long text is not known before its
    describe): a REST object pays its pages, a Bulk object ``job_calls`` (its create and
    status polls) and its result pages.
    """
    calls = 0.0
    jobs = bulk_rows = 0
    for name, rows in counts.items():
        worst = 0.0
        bulk = False
        for long_text in (False, True):
            if routing.by_rest(rows, long_text, name):
                worst = max(worst, rest_calls(rows, page_rows(long_text)))
            else:
                bulk = True
                worst = max(worst, job_calls + rest_pages(rows, bulk_page_rows))
        calls += worst
        if bulk:
            jobs += 1
            bulk_rows += rows
    return Usage(math.ceil(calls), jobs, bulk_rows)
