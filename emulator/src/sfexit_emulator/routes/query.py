"""``GET …/query?q=`` and ``…/queryAll?q=``, paging by locator, and ``columns=true``.

Facts (real-clients-wire.md "REST query and paging"; limits.md "REST query"):
- the answer always has ``totalSize``, ``done`` and ``records`` (also for ``COUNT()``), plus
  ``nextRecordsUrl`` when not done;
- ``nextRecordsUrl`` is ``/services/data/vXX.X/query/<locator>`` with the locator ONE path segment
  ``01g…-<next offset>``; jsforce re-requests the last segment under ``/query/`` with its own
  version, also for queryAll, so a locator is served under ``/query/`` and ``/queryAll/`` of any
  version and remembers whether it came from queryAll;
- pages are 2,000 records, 200 when a long-text or rich-text field is selected (see
  :func:`page_size`); ``Sforce-Query-Options: batchSize=N`` asks for 200–2,000 within that;
- an aggregate result over 2,000 rows is refused with EXCEEDED_ID_LIMIT (errors.md §6, captured).

Locators expire after 15 minutes unused on the emulator clock (Salesforce's documented query
cursor timeout); an unknown or expired one answers 400 INVALID_QUERY_LOCATOR (text UNCONF).

Speed (goal: >= 50,000 rows/s over TLS): while the client parses page N, a worker thread builds
(and gzips, if the client accepts it) page N+1, and pages are dumped with ``ensure_ascii=True`` (the C encoder's fast path, twice as
fast; non-ASCII text arrives as ``\\uXXXX`` escapes, the same JSON strings once parsed).
"""

from __future__ import annotations

import dataclasses
import gzip
import itertools
import json
import re
import threading
from collections import OrderedDict, deque
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

from sfexit_emulator import costs
from sfexit_emulator import soql as soql_parser
from sfexit_emulator.http import Call, HttpError, Response, Router, json_response
from sfexit_emulator.server import GZIP_MIN_BYTES

PAGE_SIZE = 2000
MIN_BATCH, MAX_BATCH = 200, 2000
WIDE_ROW_PAGE = 200
LOCATOR_IDLE_SECONDS = 15 * 60
MAX_OPEN_LOCATORS = 500
MAX_PREFETCHED_PAGES = 16
_BATCH_RE = re.compile(r"batchSize\s*=\s*(\d+)", re.IGNORECASE)
# SOQL and SOSL Reference, "FOR VIEW and FOR REFERENCE": they update the records' recently
# viewed data (REST API Developer Guide, "Recently Viewed Items": "update recently viewed
# information directly by using a SOQL Query with a FOR VIEW or FOR REFERENCE clause").
_FOR_VIEW_RE = re.compile(r"\bFOR\s+(VIEW|REFERENCE)\s*\Z", re.IGNORECASE)
_LOCATOR_RE = re.compile(r"(?P<cursor>01g[0-9A-Za-z]{15})-(?P<offset>\d+)\Z")


_ENCODER = json.JSONEncoder(ensure_ascii=True, separators=(",", ":"), check_circular=False)


@dataclasses.dataclass(frozen=True)
class PageKey:
    start: int
    version: str
    gzip: bool             # the client accepts gzip: the body is compressed when built


@dataclasses.dataclass(frozen=True)
class Page:
    body: bytes
    end: int
    done: bool
    gzipped: bool


@dataclasses.dataclass
class OpenQuery:
    cursor: Any            # the store's QueryCursor
    locator: str
    page_size: int
    last_used: float
    # The next page, being built in the background.
    prefetched: tuple[PageKey, Future[Page]] | None = None


class Locators:
    """Open query cursors by locator id, oldest evicted first; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: OrderedDict[str, OpenQuery] = OrderedDict()
        self._numbers = itertools.count(1)
        self._pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="query-prefetch")
        self._prefetched: deque[OpenQuery] = deque()

    def prefetch(self, open_query: OpenQuery, key: PageKey) -> None:
        """Build the page ``key`` in the background; only the last few such pages are kept."""
        future = self._pool.submit(build_page, open_query.cursor, open_query.locator, key,
                                   open_query.page_size)
        with self._lock:
            open_query.prefetched = (key, future)
            self._prefetched.append(open_query)
            while len(self._prefetched) > MAX_PREFETCHED_PAGES:
                self._prefetched.popleft().prefetched = None

    def take_page(self, open_query: OpenQuery, key: PageKey) -> Page:
        with self._lock:
            found, open_query.prefetched = open_query.prefetched, None
        if found is not None and found[0] == key:
            return found[1].result()
        return build_page(open_query.cursor, open_query.locator, key, open_query.page_size)

    def add(self, cursor: Any, page_size: int, now: float) -> tuple[str, OpenQuery]:
        from sfexit_emulator.ids import make_id

        with self._lock:
            locator = make_id("01g", next(self._numbers))
            open_query = self._open[locator] = OpenQuery(cursor, locator, page_size, now)
            while len(self._open) > MAX_OPEN_LOCATORS:
                _, old = self._open.popitem(last=False)
                old.prefetched = None
                _close(old.cursor)
            return locator, open_query

    def get(self, locator: str, now: float) -> OpenQuery | None:
        with self._lock:
            found = self._open.get(locator)
            if found is None:
                return None
            if now - found.last_used > LOCATOR_IDLE_SECONDS:
                del self._open[locator]
                _close(found.cursor)
                return None
            found.last_used = now
            self._open.move_to_end(locator)
            return found

    def close(self) -> None:
        """Called when the emulator stops: stop the workers, close every cursor."""
        self._pool.shutdown(wait=False, cancel_futures=True)
        with self._lock:
            opened, self._open = list(self._open.values()), OrderedDict()
        for open_query in opened:
            _close(open_query.cursor)


def _close(cursor: Any) -> None:
    close = getattr(cursor, "close", None)
    if callable(close):
        close()


def locators(call: Call) -> Locators:
    with call.app.lock:
        found = call.app.extensions.get("query_locators")
        if found is None:
            found = call.app.extensions["query_locators"] = Locators()
    assert isinstance(found, Locators)
    return found


def page_size(call: Call, cursor: Any) -> int:
    """2,000 rows a page, or ``Sforce-Query-Options: batchSize=N`` clamped to 200…2,000, and
    never more than 200 when the query selects a long-text or rich-text area field.

    SOQL and SOSL Reference, "Change the Batch Size in Queries"
    (sforce_api_calls_soql_changing_batch_size.htm): the default and maximum are 2,000; "the
    returned batch size can be lower than the max or what's set in the request, based on the
    size and complexity of records queried"; a query selecting two or more custom long text
    fields gets at most 200. REST API Developer Guide, "Query Options Header": batchSize 200 to
    2,000, not guaranteed. UNCONF: the cap at 200 for ONE long-text field, standard or custom
    (Description, Body...): the documented rule names two custom ones; reports of full-field
    queries paging by 200–1,000 rows (issue 21) are followed here, so that a full-field REST
    backup costs what it does on Salesforce rather than a tenth of it."""
    options = call.request.headers.get("Sforce-Query-Options") or ""
    found = _BATCH_RE.search(options)
    size = max(MIN_BATCH, min(MAX_BATCH, int(found.group(1)))) if found else PAGE_SIZE
    return min(size, WIDE_ROW_PAGE) if selects_long_text(getattr(cursor, "columns", ())) else size


def selects_long_text(columns: Any) -> bool:
    """A Long Text Area or Rich Text Area (a textarea longer than 255) among the columns or a
    child subquery's columns."""
    for column in columns:
        if column.child is not None and selects_long_text(column.child.columns):
            return True
        if column.field.type == "textarea" and column.field.length > 255 and not column.aggregate:
            return True
    return False


def build_page(cursor: Any, locator: str | None, key: PageKey, size: int) -> Page:
    records = cursor.records(key.start, size, version=f"v{key.version}")
    total = int(cursor.total_size)
    end = key.start + len(records)
    done = end >= total or not records
    # Built by hand so the (large) records array is dumped once, in Salesforce's key order.
    head = f'{{"totalSize":{total},"done":{"true" if done else "false"},'
    if not done and locator is not None:
        # queryAll locators also page under /query/ (as the brief and jsforce have it; whether
        # Salesforce writes /queryAll/ in nextRecordsUrl is UNCONF). Both paths are served.
        head += f'"nextRecordsUrl":"/services/data/v{key.version}/query/{locator}-{end}",'
    body = (head + '"records":' + _ENCODER.encode(records) + "}").encode("utf-8")
    gzipped = key.gzip and len(body) >= GZIP_MIN_BYTES
    if gzipped:
        body = gzip.compress(body, compresslevel=1, mtime=0)
    return Page(body, end, done, gzipped)


def _respond(call: Call, cursor: Any, open_query: OpenQuery | None, start: int,
             size: int) -> Response:
    accepts = "gzip" in (call.request.headers.get("Accept-Encoding") or "").lower()
    key = PageKey(start, call.version, accepts)
    if open_query is None:
        page = build_page(cursor, None, key, size)
    else:
        page = locators(call).take_page(open_query, key)
        if not page.done:
            locators(call).prefetch(open_query, PageKey(page.end, call.version, accepts))
    headers = [("Content-Encoding", "gzip"), ("Vary", "Accept-Encoding")] if page.gzipped else []
    # The locator stays open after the last page (until it idles out), so a client retrying a
    # page whose body was cut can fetch it again.
    response = Response(body=page.body, headers=headers)
    model = costs.active(call.app)
    if model is not None:
        # Salesforce reads and renders each page synchronously (costs.py); waited by dispatch.
        response.server_seconds = model.query_page_seconds(page.end - start,
                                                           len(getattr(cursor, "columns", ())))
    return response


def explain(call: Call, soql: str) -> Response:
    """``GET …/query?explain=<SOQL>``: the query plan shape of the REST API Developer Guide
    ("Get Feedback on Query Performance", dome_query_explain.htm): ``plans`` with
    cardinality, fields, leadingOperationType, notes, relativeCost, sobjectCardinality,
    sobjectType, and ``sourceQuery``. The emulator has no optimizer: one TableScan plan, its
    cardinality the rows the query matches (UNCONF: the cost figure is ours). A list view id
    (routes/listviews.py) explains the view's query; ``sourceQuery`` stays the id."""
    assert call.session is not None
    from sfexit_emulator.routes.listviews import view_query

    source = soql
    if soql.startswith("00B"):
        soql = view_query(call, soql) or soql
    cursor = call.app.store.query(soql, now=call.now(), user_id=call.session.user_id)
    _close(cursor)
    entity = str(getattr(cursor, "entity", ""))
    total = call.app.store.record_count(entity) if entity else 0
    matched = int(cursor.total_size)
    plan = {"cardinality": matched, "fields": [], "leadingOperationType": "TableScan",
            "notes": [], "relativeCost": round(max(matched, 1) / max(total, 1) * 2.0, 4),
            "sobjectCardinality": total, "sobjectType": entity}
    return json_response({"plans": [plan], "sourceQuery": source})


def run_query(call: Call, include_deleted: bool) -> Response:
    soql = call.request.arg("q")
    explained = call.request.arg("explain")
    if soql is None and explained is not None and not include_deleted:
        return explain(call, explained)
    if soql is None:
        # Salesforce answers a query call without q this way (MALFORMED_QUERY, text UNCONF).
        raise HttpError(400, "MALFORMED_QUERY", "A query string must be provided.")
    assert call.session is not None
    _refuse_if_asked(call, soql)
    cursor = call.app.store.query(soql, include_deleted=include_deleted, now=call.now(),
                                  user_id=call.session.user_id)
    if (call.request.arg("columns") or "").lower() == "true":
        _close(cursor)
        return json_response(cursor.column_metadata())
    size = page_size(call, cursor)
    total = int(cursor.total_size)
    if getattr(cursor, "is_aggregate", False) and total > PAGE_SIZE:
        _close(cursor)
        raise HttpError(400, "EXCEEDED_ID_LIMIT",
                        "Aggregate query does not support queryMore(), use LIMIT to restrict "
                        "the results to a single batch")
    if _FOR_VIEW_RE.search(soql) and not getattr(cursor, "is_aggregate", False):
        from sfexit_emulator.routes.recent import MAX_ITEMS, mark_records_viewed

        mark_records_viewed(call, cursor.records(0, MAX_ITEMS, version=f"v{call.version}"))
    open_query = None
    if total > size:
        _locator, open_query = locators(call).add(cursor, size, call.app.clock.timestamp())
    return _respond(call, cursor, open_query, 0, size)


def _refuse_if_asked(call: Call, text: str) -> None:
    """The ``refuse_query_objects`` fault: a query of one of those objects is refused (status,
    code and text UNCONF: errors.md has no captured INSUFFICIENT_ACCESS answer to a query)."""
    refused = {name.strip().lower() for name in call.app.faults.refuse_query_objects.split(",")
               if name.strip()}
    if not refused:
        return
    try:
        sobject = soql_parser.parse(text).sobject
    except soql_parser.SoqlError:
        return   # the store answers the malformed query as usual
    if sobject.lower() in refused:
        call.app.stats.count_fault("query_refused")
        raise HttpError(403, "INSUFFICIENT_ACCESS", "insufficient access rights on object id")


def query(call: Call) -> Response:
    return run_query(call, include_deleted=False)


def query_all(call: Call) -> Response:
    return run_query(call, include_deleted=True)


def query_more(call: Call) -> Response:
    found = _LOCATOR_RE.match(call.params["locator"])
    if found is None:
        raise HttpError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    open_query = locators(call).get(found.group("cursor"), call.app.clock.timestamp())
    if open_query is None:
        raise HttpError(400, "INVALID_QUERY_LOCATOR", "invalid query locator")
    start = int(found.group("offset"))
    return _respond(call, open_query.cursor, open_query, start, open_query.page_size)


def register(router: Router) -> None:
    router.add("query", r"/services/data/{v}/query/?", query)
    router.add("query_all", r"/services/data/{v}/queryAll/?", query_all)
    router.add("query_more", r"/services/data/{v}/(?:query|queryAll)/(?P<locator>[^/]+)/?",
               query_more)
