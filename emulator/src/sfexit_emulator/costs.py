"""An opt-in model of a real org's SERVER time, for benchmarks that compare clients.

Why: on this emulator, work that is Salesforce's server time (reading a REST query page out of
the database and rendering it as JSON; running a Bulk query job; serving its result) costs OUR
machine's CPU, on the cores the clients under test share, and far less than on Salesforce.
That compresses every client-vs-client ratio (bench/RESULTS.md). With the model on, server
time is WAITED (a sleep in the request's thread, or the job clock), never computed.

OFF by default: tests and the demo keep today's timing. On with ``sfexit-emulator serve
--cost-model [--cost-profile low|central|high]`` (``--cost-rest-scale``/``--cost-bulk-scale``
for sensitivity runs), in process with ``Emulator(cost_model=True, cost_profile=...)``, or at
any time with ``org.faults.cost_model = True`` / ``POST /__emulator__/faults {"cost_model":
true, "cost_profile": "high"}``. Every figure, its source and its range: emulator/README.md
"Server-time model".

What is charged (routes/__init__.py ``dispatch``, routes/query.py, routes/bulk_query.py):
- every Salesforce API call: :attr:`CostModel.call_ms` after the injected network latency
  (``latency_ms`` models the network; this models the server);
- every REST query page (``query``, ``queryAll``, ``nextRecordsUrl``) on top of that:
  :attr:`~CostModel.query_page_ms`, the same for any page (the emulator pages as Salesforce
  does, so the NUMBER of pages is Salesforce's);
- a Bulk 2.0 query job: :attr:`~CostModel.bulk_fixed_ms` from create to InProgress, then its
  result CSV's bytes at :attr:`~CostModel.bulk_bytes_per_second` (per byte, not per row: a
  narrow row costs less than a wide one). This is the job clock (bulk_jobs.QueryJob), so tests
  move ``org.clock`` instead of waiting. The result file is written by a worker from the moment
  the job is created (its size sets the run time), so the emulator's own CPU for it overlaps
  the modelled run; the job stays InProgress until that file exists;
- a Bulk result page (``…/results``): its CSV bytes (uncompressed) at
  :attr:`~CostModel.download_bytes_per_second`, per request: several pages fetched at once
  (``resultPages``, or locators read ahead) are several streams, each at that rate.
Metadata calls (describe, limits, job create/status) pay ``call_ms`` like any call.

SOURCES (searched 2026-12-07; quoted in emulator/README.md "Server-time model"):
- ``bulk_fixed_ms`` 3,000, SINGLE SOURCE: a Go client's log of one tiny Bulk 2.0 query (10
  rows of Id, Name) on a Developer org, amp-labs/connectors PR #131 (2024-03-27): job
  ``createdDate`` 22:52:16.000 (whole seconds), the client's "Query Info" line (state
  UploadComplete) at 15:52:17.021 -07:00, "Job completed... fetching results" at 15:52:19.376:
  2.4-3.4 s from create to JobComplete as the client saw it, polls included. Range 2-5 s;
- ``bulk_bytes_per_second`` 31.6 MB/s, SINGLE SOURCE: ``sf data export bulk`` on one object,
  forcedotcom/cli#3507 (2026-02-26): "processing the job 7m 23.24s", "777650 records written",
  output.csv 13,998,730,299 bytes: 14.0 GB / 443.2 s = 31.6 MB/s (1,755 rows/s at 18.0 KB a
  row). One org, one object; whether narrow rows reach the same bytes/s is not measured.
  Range x0.5-x2 (``cost_bulk_scale``);
- ``download_bytes_per_second`` 25.7 MB/s per stream, SINGLE SOURCE, same run: "exporting
  records 9m 4.53s" for the same 14.0 GB, read one page at a time over the internet and
  written to disk by the client: 25.7 MB/s is what one stream got, client included, so a floor
  for the server. Range x0.5-x2;
- ``query_page_ms``, NO SOURCE: no published measurement of Salesforce's server time per REST
  query page was found (searches of 2026-11-22 and 2026-12-07; the nearest is "< 500 ms" for a
  small query from Postman, network included, jsforce/jsforce#1221). Stated as a range, 0.3-2 s
  a page, with three profiles (:data:`PROFILES`): low 0.3 s, central 0.8 s (about the geometric
  middle), high 2 s. Every benchmark figure is given at the three;
- ``call_ms`` 30, NO SOURCE: routing, session check and a small read for any call; below the
  176 ms the amp-labs log shows between "Job completed" and its results (internet included).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sfexit_emulator.server import EmulatorApp

MB = 1_000_000   # the sources give decimal megabytes (ls -l bytes / seconds)


@dataclass(frozen=True)
class CostModel:
    """Server times of one org (see the module docstring for each value's source)."""

    call_ms: float = 30.0                          # no source
    query_page_ms: float = 800.0                   # no source: profile "central" of 300-2,000
    bulk_fixed_ms: float = 3000.0                  # amp-labs/connectors#131 (single source)
    bulk_bytes_per_second: float = 31.6 * MB       # forcedotcom/cli#3507 (single source)
    download_bytes_per_second: float = 25.7 * MB   # forcedotcom/cli#3507 (single source)

    def scaled(self, rest: float = 1.0, bulk: float = 1.0) -> CostModel:
        """Every synchronous server time (calls, query pages) times ``rest``; every Bulk time
        (fixed cost, run, result download) times ``bulk``."""
        return replace(self, call_ms=self.call_ms * rest,
                       query_page_ms=self.query_page_ms * rest,
                       bulk_fixed_ms=self.bulk_fixed_ms * bulk,
                       bulk_bytes_per_second=self.bulk_bytes_per_second / bulk,
                       download_bytes_per_second=self.download_bytes_per_second / bulk)

    def call_seconds(self) -> float:
        return self.call_ms / 1000.0

    def query_page_seconds(self, rows: int, columns: int) -> float:
        """Server time of one REST query page (on top of :meth:`call_seconds`): the same for
        any page, since no source splits it by rows or fields (``rows``/``columns`` are kept
        for that refinement)."""
        del rows, columns
        return self.query_page_ms / 1000.0

    def bulk_queue_seconds(self) -> float:
        """A query job's fixed cost: from create to InProgress."""
        return self.bulk_fixed_ms / 1000.0

    def bulk_run_seconds(self, csv_bytes: int) -> float:
        """InProgress to JobComplete for a result of ``csv_bytes`` bytes."""
        return max(0, csv_bytes) / self.bulk_bytes_per_second

    def download_seconds(self, csv_bytes: int) -> float:
        """Server time of one result page of ``csv_bytes`` bytes (uncompressed CSV)."""
        return max(0, csv_bytes) / self.download_bytes_per_second


SALESFORCE = CostModel()
# The REST page time, the one figure with no source, at the ends and middle of its range.
PROFILES = {"low": replace(SALESFORCE, query_page_ms=300.0), "central": SALESFORCE,
            "high": replace(SALESFORCE, query_page_ms=2000.0)}


def active(app: EmulatorApp) -> CostModel | None:
    """The model in force (the faults' ``cost_profile``, scaled by their ``cost_*_scale``), or
    None when it is off."""
    faults = app.faults
    if not faults.cost_model:
        return None
    return PROFILES[faults.cost_profile].scaled(rest=faults.cost_rest_scale,
                                                bulk=faults.cost_bulk_scale)


def pay(app: EmulatorApp, started: float, owed: float) -> float:
    """Wait until ``owed`` seconds have passed since ``started`` (on ``app.server_clock``), so
    the answer is sent no sooner than the modelled server time; the handler's own time counts
    towards it. Sleeps on ``app.server_sleep`` (wall clock, not CPU); returns the time slept."""
    remaining = owed - (app.server_clock() - started)
    if remaining <= 0:
        return 0.0
    app.server_sleep(remaining)
    return remaining
