"""Which path reads an object: REST query or a Bulk 2.0 query job, from a small cost model (pure).

A Bulk job costs a fixed server time however few rows it holds; REST query costs one page call
per ``page_rows`` rows. REST is the cheaper path below the row count where the REST pages an
object needs start to cost more than one Bulk job (issue 23, "A scheduler that picks the
cheapest path per object"). The model's figures, each with its source:

- :attr:`CostModel.bulk_job_s` ≈ 3 s from create to JobComplete for a tiny query
  (amp-labs/connectors PR #131, a Go client's log; single source);
- :attr:`CostModel.bulk_bytes_per_s` ≈ 31.6 MB/s of CSV processed (forcedotcom/cli#3507:
  777,650 rows, 14.0 GB in 7 m 23 s; single source), :attr:`CostModel.download_bytes_per_s`
  ≈ 25.7 MB/s per result stream (same source);
- :attr:`CostModel.rest_page_s`: no source gives a REST query page's server time; 0.3–2 s is
  the range assumed in issue 23, the central 1.0 s is used here;
- REST pages hold 2,000 rows, at most 200 when a long-text or rich-text field is selected
  (SOQL and SOSL Reference, "Change the Batch Size in Queries"; the emulator pages the same way:
  emulator routes/query.py ``page_size``).

At the central figures REST reads objects of up to 6,000 rows (3 pages), 600 with long text.
``--rest-below ROWS`` replaces the model's threshold (``0``: every object by Bulk).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

REST_PAGE_ROWS = 2000          # REST query page (limits.md "REST query")
REST_PAGE_ROWS_LONG_TEXT = 200  # with a long-text / rich-text field selected
DEFAULT_ROW_BYTES = 400        # preflight.DEFAULT_ROW_BYTES: the width assumed when unsampled
# REST cursors read side by side. Salesforce allows 25 long-running (> 20 s) requests at once
# per org (limits.md "Concurrent long-running requests"); these plus the Bulk readers
# (``--parallel``, 4 by default) stay well below it, and a REST page of a small object is short.
REST_CURSORS = 8
# The most REST pages the model lets one object take: one cursor is read a page at a time, so
# a long one would make that object the run's longest chain whatever the model says.
MAX_REST_PAGES = 50


@dataclass(frozen=True)
class CostModel:
    bulk_job_s: float = 3.0
    bulk_bytes_per_s: float = 31.6e6
    download_bytes_per_s: float = 25.7e6
    rest_page_s: float = 1.0

    def rest_seconds(self, rows: int, page_rows: int) -> float:
        return rest_pages(rows, page_rows) * self.rest_page_s

    def bulk_seconds(self, rows: int, row_bytes: int = DEFAULT_ROW_BYTES) -> float:
        size = max(0, rows) * max(1, row_bytes)
        return self.bulk_job_s + size / self.bulk_bytes_per_s + size / self.download_bytes_per_s


MODEL = CostModel()


def rest_pages(rows: int, page_rows: int) -> int:
    """REST query calls for ``rows`` rows (an empty object still answers one page)."""
    return max(1, math.ceil(max(0, rows) / page_rows))


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

    def threshold(self, long_text: bool) -> int:
        if self.rest_below is not None:
            return self.rest_below
        return crossing_rows(page_rows(long_text), self.row_bytes, self.model)

    def by_rest(self, rows: int | None, long_text: bool) -> bool:
        """REST reads the object: its row count is known and below the threshold."""
        return rows is not None and rows < self.threshold(long_text)

    def may_rest(self, rows: int | None) -> bool:
        """REST may read it, whichever its fields (the higher of the two thresholds)."""
        return self.by_rest(rows, False) or self.by_rest(rows, True)


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
    for rows in counts.values():
        worst = 0.0
        bulk = False
        for long_text in (False, True):
            if routing.by_rest(rows, long_text):
                worst = max(worst, rest_pages(rows, page_rows(long_text)))
            else:
                bulk = True
                worst = max(worst, job_calls + rest_pages(rows, bulk_page_rows))
        calls += worst
        if bulk:
            jobs += 1
            bulk_rows += rows
    return Usage(math.ceil(calls), jobs, bulk_rows)
