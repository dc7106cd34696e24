"""A finished Bulk 2.0 query job's result pages into ``data/<Object>.csv.part``: one stream
following ``Sforce-Locator``, or several side by side where the org lists the pages.

Why several: Salesforce serves one result stream at ~25.7 MB/s (forcedotcom/cli#3507: 14.0 GB
in 9 m 4.53 s, single source; schedule.py), so the largest object's download is the tail of a
large export. ``GET …/jobs/query/{id}/resultPages`` (v58.0+, GA Winter '25;
query_get_parallel_job_results, limits.md "parallel results") lists every page's URL up front,
so several pages are fetched at once (:func:`streams`), each into its own spill file beside
the part (memory stays flat), then appended to the part in page order: the bytes are the ones one
stream would have written, hashed in the same single pass over the part. An org without
``resultPages`` (older version, 404), or a job of one page, is read one page after the other.
Every page is checked as it streams (csvshape.RecordCounter) and fetched again by its locator
when broken or cut short (:func:`one_page`).
"""

from __future__ import annotations

from dataclasses import replace
from concurrent.futures import ThreadPoolExecutor

from sfexit import errors
from sfexit.export.csvshape import RecordCounter
from sfexit.export.csvsink import HeaderOnce, PartFile, header_line
from sfexit.export.data_run import ExportRun, ObjectProgress
from sfexit.export.objects import ObjectPlan
from sfexit.org import bulk2

# Result downloads at once over the whole run: a page of 50,000 wide rows can take more than
# 20 s, and Salesforce allows 25 such long-running requests per org (limits.md "concurrency");
# 16 leaves room for the REST pages and job calls, which are short.
RUN_PAGE_STREAMS = 16


def streams(parallel: int) -> int:
    """Pages of one job fetched at once when ``parallel`` jobs are read side by side (4 at the
    default --parallel 4)."""
    return max(1, RUN_PAGE_STREAMS // max(1, parallel))


class IncompleteResult(errors.SfexitError):
    """A result page (or the job's pages together) held other records than the org said, or
    a malformed record, on every try: the object fails; nothing of it is marked complete."""

    name = "IncompleteBulkResult"


def stream_pages(run: ExportRun, plan: ObjectPlan, job: bulk2.JobInfo, part: PartFile) -> int:
    """Write the job's result into ``part`` (one header line); returns the records counted."""
    urls = _listed_pages(run, job)
    if urls is not None and len(urls) > 1:
        rows = _pages_side_by_side(run, plan, job, part, urls)
    else:
        rows = _pages_in_turn(run, plan, job, part)
    if part.size == 0:
        part.write(header_line(plan.fields))  # no page at all: still a header line
    return rows


def _listed_pages(run: ExportRun, job: bulk2.JobInfo) -> list[str] | None:
    """The result URLs when the job holds more than one page of ``max_records`` (one more
    call; None: one page, or the org does not list them)."""
    per_page = run.options.max_records or bulk2.DEFAULT_MAX_RECORDS
    if job.records_processed <= per_page:
        return None
    return bulk2.result_page_urls(run.session, job.id)


def _pages_in_turn(run: ExportRun, plan: ObjectPlan, job: bulk2.JobInfo, part: PartFile) -> int:
    header = HeaderOnce(part)
    rows = 0
    locator: str | None = None
    while True:
        page = one_page(run, job.id, locator, len(plan.fields), header, part,
                        run.options.max_records)
        rows += page.records or 0   # the records counted (one_page)
        run.on_progress(ObjectProgress(plan.name, rows, job.records_processed, False, "bulk"))
        if page.next_locator is None:
            return rows
        locator = page.next_locator


def _pages_side_by_side(run: ExportRun, plan: ObjectPlan, job: bulk2.JobInfo, part: PartFile,
                        urls: list[str]) -> int:
    """Each listed page into ``<part>.<n>`` (:func:`streams` at once), then appended in order.
    The listed URLs carry their own page bounds: no ``maxRecords`` is sent with them."""
    spills = [PartFile(part.final.with_name(f"{part.final.name}.{n}"), hashed=False)
              for n in range(len(urls))]
    done = 0

    def fetch(n: int) -> int:
        header = HeaderOnce(spills[n])
        header.pages = 1 if n else 0   # every page after the first drops its header line
        page = one_page(run, job.id, bulk2.locator_of(urls[n]), len(plan.fields), header,
                        spills[n], None)
        return page.records or 0

    try:
        with ThreadPoolExecutor(streams(run.options.parallel),
                                thread_name_prefix="sfexit-pages") as pool:
            for records in pool.map(fetch, range(len(urls))):
                done += records
                run.on_progress(ObjectProgress(plan.name, done, job.records_processed, False,
                                               "bulk"))
        for spill in spills:
            part.append(spill)
    finally:
        for spill in spills:
            spill.close()
    return done


def one_page(run: ExportRun, job_id: str, locator: str | None, columns: int,
             header: HeaderOnce, part: PartFile, max_records: int | None) -> bulk2.ResultPage:
    """Fetch one page into the sink, counting its records and their columns as it streams
    (csvshape.RecordCounter). A page broken in transit, cut short (its records differ from
    ``Sforce-NumberOfRecords``, or it ends inside a quoted value or a record) or holding a
    record of another width is rewound and fetched again by the same locator (locators stay
    valid while the job exists: query_get_job_results). Returns the page with the records
    counted. Raises ConnectionFailed when the transport broke on every try, IncompleteResult
    when the body was wrong on every try."""
    mark, pages = part.mark(), header.pages
    for attempt in range(1, bulk2.PAGE_ATTEMPTS + 1):
        run.check()
        page, response = bulk2.open_result_page(run.session, job_id, locator,
                                                max_records=max_records,
                                                gzip=run.options.gzip)
        header.pages = pages
        header.start_page()
        counter = RecordCounter(columns)
        try:
            for chunk in bulk2.page_chunks(response):
                run.check()
                counter.feed(chunk)
                header.feed(chunk)
        except bulk2.BODY_ERRORS as exc:
            part.rewind(mark)
            if attempt == bulk2.PAGE_ATTEMPTS:
                raise errors.ConnectionFailed(
                    f"result page of Bulk job {job_id} broke {attempt} times: "
                    f"{type(exc).__name__}", hint="run the export again; it resumes") from None
            continue
        problem = _page_problem(counter, page)
        if problem is None:
            return replace(page, records=counter.data_records)
        part.rewind(mark)
        if attempt == bulk2.PAGE_ATTEMPTS:
            raise IncompleteResult(f"result page of Bulk job {job_id} {problem}, "
                                   f"{attempt} times", hint="run the export again")
    raise AssertionError("unreachable")  # pragma: no cover


def _page_problem(counter: RecordCounter, page: bulk2.ResultPage) -> str | None:
    problem = counter.problem()
    if problem is not None:
        return problem
    if page.records is not None and counter.data_records != page.records:
        return (f"held {counter.data_records} records where Sforce-NumberOfRecords said "
                f"{page.records}")
    return None
