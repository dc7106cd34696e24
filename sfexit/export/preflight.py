"""Before a backup runs: can this user see everything, and does the export fit the org's limits?

- Permissions (export-pitfalls.md I): View All Data, Query All Files, API Enabled, from the
  user's Profile and every assigned permission set (a permission granted by any of them counts).
  A permission field the org's describe does not have counts as not granted. A permission read
  the org refuses (INSUFFICIENT_ACCESS…: org.permissions.is_refusal) leaves what it could grant
  unknown, with a warning (``PreflightReport.unknown``), and the export goes on.
- Forecast (limits.md): REST calls, Bulk 2.0 query jobs (one per object) and result storage
  against ``/limits`` remaining (``DailyApiRequests``, ``DailyBulkV2QueryJobs``,
  ``DailyBulkV2QueryFileStorageMB``). Row counts come from ``limits/recordCount`` where the org
  serves it, else ``SELECT COUNT()`` per object; the row width from a small REST sample of the
  largest objects. A forecast that does not fit is planned across days (budget.py).

The reads run side by side (:data:`PARALLEL` at a time on the one thread-safe session), so the
preflight costs about its longest chain of dependent calls (User → describe Profile → Profile;
row counts → describe → sample), not their sum (~14 calls one after the other before:
bench/RESULTS.md 2026-11-22 22:11, issue 12). Its describes are kept for the data step
(``objects.DescribeCache``): one export describes each object once.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TypeVar

from sfexit import errors
from sfexit.export.csvsink import csv_line
from sfexit.export import schedule
from sfexit.export.files_listing import SOURCES
from sfexit.export.objects import DescribeCache
from sfexit.org import bulk2
from sfexit.org import permissions as org_permissions
from sfexit.org import soql
from sfexit.org.rest import Limit, RestClient
from sfexit.org.session import OrgSession

T = TypeVar("T")

PERMISSIONS = ("ViewAllData", "QueryAllFiles", "ApiEnabled")   # keys of org.permissions
MISSED_WITHOUT = {
    "ViewAllData": "records shared with nobody in this user's hierarchy (private sharing) are "
                   "not returned, and EntitySubscription cannot be read",
    "QueryAllFiles": "files not shared with this user (ContentVersion, ContentDocumentLink) are "
                     "not returned",
    "ApiEnabled": "the REST and Bulk APIs refuse this user: nothing can be exported",
}
# The objects whose rows Query All Files opens to the API: "Users can query the APIs for
# ContentDocument and ContentVersion, and retrieve all files in the org ... query
# ContentDocumentLink without a filter" (help.salesforce.com experience.collab_files_query).
# A run that reads none of them misses nothing without it (Attachment and Document bodies
# follow their parent's sharing), so it is not warned about.
QUERY_ALL_FILES_OBJECTS = frozenset({"ContentDocument", "ContentVersion", "ContentDocumentLink"})
POLLS_PER_JOB = 4              # create + a few status polls per Bulk job
SAMPLE_OBJECTS = 3             # largest objects sampled for the row width
SAMPLE_ROWS = 50
DEFAULT_ROW_BYTES = 400
FILE_OBJECTS = tuple(source.object for source in SOURCES)
MB = 1024 * 1024
# Reads at once: the two permission chains, /limits and the samples of the SAMPLE_OBJECTS
# largest objects all fit, so none waits for a thread (the COUNT() fallback shares them).
PARALLEL = 2 + 1 + SAMPLE_OBJECTS
# The most API calls a run's preflight makes after ``on_counts`` (preflight()): each sampled
# object's describe and one page, each permission half's describe and query, the User row;
# and the Organization query beside it (export/backup.py). The first jobs' budget gate holds
# them until they are counted (budget_gate.BudgetGate.set_row_bytes).
CALLS_AFTER_COUNTS = 2 * SAMPLE_OBJECTS + 2 + 2 + 1
clock = time.monotonic   # times the sample's query pages (tests replace it)


@dataclass(frozen=True)
class Forecast:
    objects: int
    rows: int
    row_bytes: int               # average CSV row width from the sample
    api_calls: int
    bulk_jobs: int
    result_mb: int
    files: int
    remaining: dict[str, int]    # limit name → remaining

    def problems(self) -> list[str]:
        wanted = {"DailyApiRequests": self.api_calls, "DailyBulkV2QueryJobs": self.bulk_jobs,
                  "DailyBulkV2QueryFileStorageMB": self.result_mb}
        return [f"{name}: needs about {need:,}, {self.remaining[name]:,} remaining"
                for name, need in wanted.items()
                if name in self.remaining and need > self.remaining[name]]


@dataclass(frozen=True)
class PreflightReport:
    user_id: str
    permissions: dict[str, bool]
    missing: dict[str, str]      # permission → what would be missed without it
    forecast: Forecast
    # Rows per object as counted for the forecast; the data step starts the largest first.
    # Kept out of Forecast so the ``--json`` forecast stays as it was.
    row_counts: dict[str, int] = field(default_factory=dict)
    # /limits as read (Max and Remaining): the day-spanning plan's input (budget.py).
    limits: dict[str, Limit] = field(default_factory=dict)
    # The quickest sample query (one REST page), seconds: the schedule's page time
    # (schedule.routing); None when none answered (the model's central figure then).
    rest_page_s: float | None = None
    # The sampled objects' own row widths (Sample.widths).
    row_widths: dict[str, int] = field(default_factory=dict)
    # Permission → why it is unknown (a permission read the org refused) and what the backup
    # may miss without it; such a permission is False in ``permissions``, not in ``missing``.
    unknown: dict[str, str] = field(default_factory=dict)
    # The run reads an object of QUERY_ALL_FILES_OBJECTS: Query All Files matters to it.
    reads_files: bool = True

    def warnings(self) -> list[str]:
        """The lines the export warns with: what the running user lacks, then what could not
        be read; Query All Files only when the run reads a file object (``reads_files``)."""
        shown = [k for k in PERMISSIONS if k != "QueryAllFiles" or self.reads_files]
        return [*(f"the running user lacks {k}: {self.missing[k]}"
                  for k in shown if k in self.missing),
                *(unknown_warning(k, self.unknown[k]) for k in shown if k in self.unknown)]

    @property
    def recorded_permissions(self) -> dict[str, bool | None]:
        """``permissions`` as the manifest and ``--json`` record them: None where the org
        refused to show it (``unknown``), never a False an auditor would read as "not granted"."""
        return recorded(self.permissions, self.unknown)

    @property
    def fits(self) -> bool:
        return not self.forecast.problems()


def check_permissions(pool: Executor, rest: RestClient, user_id: str, describes: DescribeCache
                      ) -> Callable[[], tuple[dict[str, bool], dict[str, str]]]:
    """Start reading which of :data:`PERMISSIONS` the Profile or any assigned permission set
    grants (``org.permissions``: the Profile and the permission sets side by side); call the
    result for the answer: granted or not, and the unknown ones (``PreflightReport.unknown``:
    a read the org refused). It raises what the reads raised, but a refusal. Not shown by the
    org: not granted."""
    reading = org_permissions.start(rest, user_id, profile_from_user=True, pool=pool,
                                    describe=lambda sobject: describes.get(rest, sobject),
                                    refusals=True)

    return lambda: export_permissions(reading())


def export_permissions(perms: org_permissions.UserPermissions
                       ) -> tuple[dict[str, bool], dict[str, str]]:
    """The rule for :data:`PERMISSIONS` over one read (``org.permissions.start`` with
    ``refusals``; ``sfexit offboard``'s survey applies it too): granted or not, and the unknown
    ones (a read the org refused: ``PreflightReport.unknown``). Not shown by the org: not
    granted."""
    why = "; ".join(perms.refused)
    unknown = {key: f"{why}; without it, {MISSED_WITHOUT[key]}" for key in PERMISSIONS
               if perms.refused and perms.has(key) is None}
    return {key: perms.has(key) is True for key in PERMISSIONS}, unknown


def recorded(granted: Mapping[str, bool], unknown: Mapping[str, str]) -> dict[str, bool | None]:
    """Permissions as recorded (the manifest, ``--json``, ``sfexit offboard``'s plan): None
    where unknown."""
    return {name: None if name in unknown else ok for name, ok in granted.items()}


def unknown_warning(name: str, what: str) -> str:
    """The one line that says a permission is unknown (``PreflightReport.unknown``: ``what``
    is why, and what may be missed without it)."""
    return f"could not read whether the running user has {name}: {what}"


def row_counts(rest: RestClient, objects: Sequence[str], include_deleted: bool, *,
               pool: Executor | None = None,
               every_count: Future[dict[str, int]] | None = None) -> dict[str, int]:
    """Rows per object: ``limits/recordCount`` (one call, approximate) where the org serves it
    and deleted rows are not wanted, else ``SELECT COUNT()`` per object (0 when refused), on
    ``pool`` when given (side by side). ``every_count``: the org's recordCount of every object,
    asked beside describe global (export/backup.py), instead of asking after it."""
    if not include_deleted and objects:
        try:
            counts = (every_count.result() if every_count is not None
                      else rest.record_counts(objects))
            return {name: counts.get(name, 0) for name in objects}
        except errors.SalesforceError:
            pass  # not served (orgs before v40.0, no permission): count exactly instead
    found = _each(pool, lambda name: _count(rest, name, include_deleted), objects)
    return dict(zip(objects, found))


def _count(rest: RestClient, name: str, include_deleted: bool) -> int:
    try:
        return rest.count(soql.count(name), include_deleted=include_deleted)
    except errors.SalesforceError:
        return 0  # not countable as a whole (per-parent, not queryable)


@dataclass(frozen=True)
class Sample:
    """What the preflight's sample of the largest objects measured (:func:`sample`)."""

    row_bytes: int                 # average CSV row width (DEFAULT_ROW_BYTES: none sampled)
    page_s: float | None           # the quickest query: the schedule's REST page time
    # Each sampled object's own average width: the largest objects are the run's longest Bulk
    # jobs, whose first status read is timed by their bytes (bulk._first_poll).
    widths: dict[str, int] = field(default_factory=dict)


def sample(rest: RestClient, counts: dict[str, int], *, describes: DescribeCache | None = None,
           pool: Executor | None = None) -> Sample:
    """Average CSV row width over a few rows of the largest objects (all their fields; the
    objects side by side on ``pool`` when given, their describes kept in ``describes``), each
    one's own, and the quickest of those queries' times in seconds (each is ONE REST page: the
    page time the schedule routes with, ``schedule.measured_model``), None when no sample
    query answered."""
    largest = sorted((n for n, c in counts.items() if c > 0), key=lambda n: -counts[n])
    cache = describes if describes is not None else DescribeCache()
    sampled = largest[:SAMPLE_OBJECTS]
    found = _each(pool, lambda name: _sample_widths(rest, name, cache), sampled)
    widths = [w for some, _ in found for w in some]
    times = [took for _, took in found if took is not None]
    return Sample(round(sum(widths) / len(widths)) if widths else DEFAULT_ROW_BYTES,
                  min(times) if times else None,
                  {name: round(sum(some) / len(some))
                   for name, (some, _) in zip(sampled, found) if some})


def _sample_widths(rest: RestClient, name: str, describes: DescribeCache
                   ) -> tuple[list[int], float | None]:
    try:
        fields = [f["name"] for f in describes.get(rest, name)["fields"]
                  if f.get("type") not in ("address", "location", "base64")]
        query = soql.select(name, fields, limit=SAMPLE_ROWS)
        started = clock()
        rows = list(rest.query_iter(query))   # SAMPLE_ROWS < any page: one call
        took = clock() - started
        return [len(csv_line(row.get(f) for f in fields)) for row in rows], took
    except (errors.SalesforceError, ValueError):
        return [], None


def _each(pool: Executor | None, read: Callable[[str], T], names: Sequence[str]) -> list[T]:
    """``read`` of every name, in order: on ``pool`` side by side, else one after the other.
    The first error (in ``names`` order) is raised; the reads not yet started are cancelled."""
    if pool is None:
        return [read(name) for name in names]
    return list(pool.map(read, names))


@contextmanager
def side_by_side(workers: int) -> Iterator[ThreadPoolExecutor]:
    """A thread pool that leaves no thread behind: on any error (Ctrl-C included) the reads
    not yet started are cancelled and the running ones (one HTTP call each, at most) are
    waited for before the error goes on."""
    pool = ThreadPoolExecutor(workers, thread_name_prefix="sfexit-preflight")
    try:
        yield pool
    except BaseException:
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def export_usage(counts: Mapping[str, int], routing: schedule.Routing,
                 max_records: int | None) -> schedule.Usage:
    """What the export's reads of ``counts`` cost, by the schedule's costlier possible route
    (``schedule.usage``: REST pages, or a Bulk job's create, polls and result pages of
    ``max_records`` rows). The forecast and the budget gate both count this, so the gate
    pauses where the plan said it would."""
    return schedule.usage(counts, routing, job_calls=POLLS_PER_JOB,
                          bulk_page_rows=max_records or bulk2.DEFAULT_MAX_RECORDS)


def object_calls(rows: int, routing: schedule.Routing, max_records: int | None,
                 name: str = "") -> int:
    """API calls to export one object (``name``) of ``rows`` rows: its describe, then its
    reads (``export_usage``)."""
    return 1 + export_usage({name: rows}, routing, max_records).calls


def forecast(objects: Sequence[str], counts: Mapping[str, int], row_bytes: int,
             limits: Mapping[str, Limit], *, include_files: bool,
             max_records: int | None, rest_below: int | None = None,
             rest_page_s: float | None = None,
             routing_counts: Mapping[str, int] | None = None, parallel: int = 4) -> Forecast:
    """The forecast from what the preflight read (pure). Objects the schedule may read over
    REST (``schedule.routing``: the cost model's threshold at the measured ``rest_page_s``, or
    ``rest_below``) cost their REST pages instead of a Bulk job; each object counts its
    costlier possible route. ``routing_counts``: every object of the run (the schedule's
    overflow is of the whole run, ``schedule.overflow``), when ``counts`` is only part of it."""
    files = sum(counts.get(n, 0) for n in FILE_OBJECTS) if include_files else 0
    rows = sum(counts.values())
    counted = {name: counts.get(name, 0) for name in objects} if objects else dict(counts)
    routing = schedule.routing(rest_below, rest_page_s,
                               counted if routing_counts is None else routing_counts,
                               parallel)
    use = export_usage(counted, routing, max_records)
    # describe global + each object's calls (object_calls), plus one GET per file body.
    calls = 1 + sum(object_calls(rows, routing, max_records, name)
                    for name, rows in counted.items()) + files
    remaining: dict[str, int] = {name: limits[name].remaining for name in
                 ("DailyApiRequests", "DailyBulkV2QueryJobs", "DailyBulkV2QueryFileStorageMB")
                 if name in limits}
    return Forecast(objects=len(objects), rows=rows, row_bytes=row_bytes, api_calls=calls,
                    bulk_jobs=use.bulk_jobs,
                    result_mb=math.ceil(use.bulk_rows * row_bytes / MB),
                    files=files, remaining=remaining)


def preflight(session: OrgSession, user_id: str, objects: Sequence[str], *,
              include_deleted: bool = False, include_files: bool = True,
              max_records: int | None = None, rest_below: int | None = None,
              describes: DescribeCache | None = None, parallel: int = 4,
              on_counts: Callable[[dict[str, int], dict[str, Limit]], None] | None = None,
              every_count: Future[dict[str, int]] | None = None) -> PreflightReport:
    """Permissions and forecast, the reads side by side; the describes it makes are kept in
    ``describes`` for the data step. ``on_counts`` gets the row counts and ``/limits`` as soon
    as both are read, before the sample and the permissions (export/first_jobs.py).

    Raises what the reads raise, the first in this order: permissions (but a read the org
    refused: ``PreflightReport.unknown``), row counts,
    sample, limits (AuthError, ApiLimitError, ConnectionFailed on any of them). Row counts and
    the sample treat a refused object as 0 rows / no sample, as before.
    """
    rest = RestClient(session)
    describes = describes if describes is not None else DescribeCache()
    with side_by_side(PARALLEL) as pool:
        permissions = check_permissions(pool, rest, user_id, describes)
        limits: Future[dict[str, Limit]] = pool.submit(rest.limits)
        try:
            counts = row_counts(rest, objects, include_deleted, pool=pool,
                                every_count=every_count)
            if on_counts is not None:
                on_counts(counts, limits.result())
            sampled = sample(rest, counts, describes=describes, pool=pool)
            width, page_s = sampled.row_bytes, sampled.page_s
        except errors.SfexitError:
            permissions()  # a permission read's error first, as when they ran one by one
            raise
        granted, unknown = permissions()
        remaining = limits.result()
    missing = {k: MISSED_WITHOUT[k] for k, ok in granted.items() if not ok and k not in unknown}
    return PreflightReport(user_id, granted, missing,
                           forecast(objects, counts, width, remaining,
                                    include_files=include_files, max_records=max_records,
                                    rest_below=rest_below, rest_page_s=page_s,
                                    parallel=parallel),
                           row_counts=counts, limits=remaining, rest_page_s=page_s,
                           row_widths=sampled.widths,
                           unknown=unknown,
                           reads_files=not QUERY_ALL_FILES_OBJECTS.isdisjoint(objects))

