"""An opt-in model of a real org's SERVER time, for benchmarks that compare clients.

Why: on this emulator, work that is Salesforce's server time (reading a REST query page out of
the database and rendering it as JSON; running a Bulk query job) costs OUR machine's CPU, on
the cores the clients under test share, and costs far less than on Salesforce (~18 µs a REST row
here). That compresses every client-vs-client ratio (bench/RESULTS.md, 2026-11-22 20:54: sfexit
1.0x query_all, and no Bulk client can beat query_all by more than 1.3-2.1x here). With the model
on, server time is WAITED (a sleep in the request's thread, or the job clock), never computed.

OFF by default: tests and the demo keep today's timing. On with ``sfexit emulator serve
--cost-model`` (``--cost-rest-scale``/``--cost-bulk-scale`` for sensitivity runs), in process
with ``Emulator(cost_model=True)``, or at any time with ``org.faults.cost_model = True`` /
``POST /__emulator__/faults {"cost_model": true, "cost_rest_scale": 2}``.

What is charged (routes/__init__.py ``dispatch``, routes/query.py, routes/bulk_query.py):
- every Salesforce API call: :attr:`CostModel.call_ms` after the injected network latency
  (``latency_ms`` models the network; this models the server);
- every REST query page (``query``, ``queryAll``, ``nextRecordsUrl``) on top of that:
  :attr:`~CostModel.query_page_ms` + :attr:`~CostModel.query_cell_us` per row x selected column;
- a Bulk 2.0 query job: :attr:`~CostModel.bulk_queue_ms` from UploadComplete to InProgress, then
  its rows at :attr:`~CostModel.bulk_rows_per_second` per chunk of
  :attr:`~CostModel.bulk_chunk_rows`, :attr:`~CostModel.bulk_parallel_chunks` chunks at a time;
  jobs run side by side. This is the job clock (bulk_jobs.QueryJob), so tests still move
  ``org.clock`` instead of waiting. The result file is written by a worker thread from the
  moment the job is created, so the emulator's own CPU for it (~10-15 µs a row: SQLite ~4-6,
  value conversion ~2-6, quoting ~3-5; cProfile, 2026-11-22) overlaps the modelled run instead
  of sitting between JobComplete and the first page;
- a Bulk result page: ``call_ms`` only (a stored file is served; bytes are not modelled — the
  network is loopback for every client, and Bulk's gzip CSV is the smaller body, so leaving
  bandwidth out does not favour Bulk).
Metadata calls (describe, limits, job create/status) pay ``call_ms`` like any call.

FROM SALESFORCE'S DOCUMENTATION (and research/limits.md):
- a REST query page holds at most 2,000 records; ``Sforce-Query-Options: batchSize`` 200-2,000
  (dev.sf api_rest headers_queryoptions.htm). The emulator pages as Salesforce does, so the
  NUMBER of pages, hence of per-page charges, is Salesforce's;
- "Bulk API 2.0 query jobs automatically determine the best way to divide your query job into
  smaller chunks" and there are "sub-batches for processing the upload in parallel"; "When you
  get the results of a query job, the response body is always compressed" (dev.sf api_asynch
  queries.htm). Sub-batches run in parallel: hence chunks in parallel;
- PK chunks (Bulk API 1.0): 100,000 records by default, 250,000 at most (dev.sf api_asynch
  async_api_headers_enable_pk_chunking.htm). Bulk 2.0 picks its own size: we reuse 100,000;
- Bulk API 1.0 gives a batch's query 2 minutes (limits.md, dev.sf asynch_api_bulk_query): a
  250,000-row chunk that must finish in 120 s reads >= ~2,100 rows/s. A lower bound only;
- no cap on concurrent Bulk 2.0 query jobs is documented (limits.md "Not found"): jobs run side
  by side, each on its own clock.

ASSUMPTIONS (UNCONF: every ms figure). Searched for a published measurement of Salesforce's
REST query time per page or Bulk 2.0 query throughput (search corpora docs, pages, issues,
2026-11-22: Salesforce's Bulk 2.0 guide and blogs on large data volumes and parallel downloads,
simple-salesforce/jsforce/restforce/salesforcer issues). None found that gives a number; the
nearest is one report of a small REST query answering "in less than 500ms" from Postman,
network included (jsforce/jsforce#1221). So each value below is a round order-of-magnitude
choice, made BEFORE measuring with it, leaning towards a FAST REST query (the competitor) where
unsure. Sensitivity (bench/export_vs_simple_salesforce.py, bench/RESULTS.md 2026-11-22 22:11,
query_all / sfexit at 124,155 rows, 20 ms latency): as assumed 3.8x; synchronous times
(``cost_rest_scale``) x0.5 2.6x, x2 5.9x; Bulk job times (``cost_bulk_scale``) x0.5 5.9x,
x2 2.1x; both x0.5 4.1x, both x2 3.4x. At 620,950 rows, as assumed: 9.1x.
- ``call_ms`` 30: routing, session check and a small read for any API call. Less than the
  ~500 ms round trip of jsforce#1221, which includes the internet.
- ``query_page_ms`` 70 + ``query_cell_us`` 3: a query page is a synchronous database read
  through the sharing layer plus JSON rendering of every value; a 2,000-row page of 40 fields
  is then 0.1 + 0.24 = 0.34 s of server time (~5,900 rows/s per cursor). Chosen low: a slow
  REST query would only widen Bulk's lead.
- ``bulk_queue_ms`` 2,000: a job waits for an asynchronous worker. simple-salesforce waits 5 s
  before its first status read (simple_salesforce/bulk2.py ``download(..., wait=5)``) and
  jsforce polls every second and gives up after 30 s (lib/api/bulk2.js ``pollInterval = 1000``,
  ``pollTimeout = 30000``): client authors expect seconds, not milliseconds. 2 s is the low end.
- ``bulk_rows_per_second`` 10,000 per chunk: 5x the floor the 2-minute query timeout implies
  (above), i.e. a 100,000-row chunk in 10 s.
- ``bulk_parallel_chunks`` 4: how many sub-batches of one job run at once is not documented;
  it only matters above 100,000 rows, so not for the benchmark's objects (<= 30,000 rows).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from sfexit_emulator.server import EmulatorApp


@dataclass(frozen=True)
class CostModel:
    """Server times of one org (see the module docstring for each value's source)."""

    call_ms: float = 30.0                  # UNCONF
    query_page_ms: float = 70.0            # UNCONF
    query_cell_us: float = 3.0             # UNCONF
    bulk_queue_ms: float = 2000.0          # UNCONF
    bulk_rows_per_second: float = 10_000.0  # UNCONF (docs imply >= ~2,100)
    bulk_chunk_rows: int = 100_000         # PK chunking default (Bulk API 1.0 docs)
    bulk_parallel_chunks: int = 4          # UNCONF

    def scaled(self, rest: float = 1.0, bulk: float = 1.0) -> CostModel:
        """Every synchronous server time (calls, query pages) times ``rest``; every Bulk job
        time (queue, run) times ``bulk``."""
        return replace(self, call_ms=self.call_ms * rest,
                       query_page_ms=self.query_page_ms * rest,
                       query_cell_us=self.query_cell_us * rest,
                       bulk_queue_ms=self.bulk_queue_ms * bulk,
                       bulk_rows_per_second=self.bulk_rows_per_second / bulk)

    def call_seconds(self) -> float:
        return self.call_ms / 1000.0

    def query_page_seconds(self, rows: int, columns: int) -> float:
        """Server time of one REST query page of ``rows`` records and ``columns`` fields (on
        top of :meth:`call_seconds`)."""
        return (self.query_page_ms + self.query_cell_us * max(0, rows) * max(1, columns)
                / 1000.0) / 1000.0

    def bulk_seconds(self, rows: int) -> tuple[float, float]:
        """(queued, running) seconds of a query job over ``rows`` rows: chunks of
        ``bulk_chunk_rows`` run ``bulk_parallel_chunks`` at a time."""
        rows = max(0, rows)
        chunks = max(1, math.ceil(rows / self.bulk_chunk_rows))
        waves = math.ceil(chunks / max(1, self.bulk_parallel_chunks))
        chunk_rows = min(rows, self.bulk_chunk_rows)
        return self.bulk_queue_ms / 1000.0, waves * chunk_rows / self.bulk_rows_per_second


SALESFORCE = CostModel()


def active(app: EmulatorApp) -> CostModel | None:
    """The model in force (scaled by the faults' ``cost_*_scale``), or None when it is off."""
    faults = app.faults
    if not faults.cost_model:
        return None
    return SALESFORCE.scaled(rest=faults.cost_rest_scale, bulk=faults.cost_bulk_scale)


def pay(app: EmulatorApp, started: float, owed: float) -> float:
    """Wait until ``owed`` seconds have passed since ``started`` (on ``app.server_clock``), so
    the answer is sent no sooner than the modelled server time; the handler's own time counts
    towards it. Sleeps on ``app.server_sleep`` (wall clock, not CPU); returns the time slept."""
    remaining = owed - (app.server_clock() - started)
    if remaining <= 0:
        return 0.0
    app.server_sleep(remaining)
    return remaining
