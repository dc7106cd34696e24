"""``sfexit export bulk`` as one library call: manifest, preflight, data, files, summary.

The CLI reads options, calls :func:`run_backup` and renders the :class:`BackupSummary`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sfexit.export.budget import (DEFAULT_RESERVE_PCT, BudgetPlan, export_need, plan_budget,
                                  utc_now)
from sfexit.export.budget_gate import BudgetGate, pause_run
from sfexit.export.bulk import export_data
from sfexit.export.data_run import DataExportResult, ExportOptions, ObjectResult, ProgressCallback
from sfexit.export.delta import check_org
from sfexit.export.files import MAX_PARALLEL as MAX_FILE_DOWNLOADS
from sfexit.export.files import export_files
from sfexit.export.files_listing import sources
from sfexit.export.manifest import ManifestStore, SkippedObject
from sfexit.export.objects import DescribeCache, select_objects
from sfexit.export.backup_plan import left_forecast
from sfexit.export.schedule import PAGE_SECONDS_RANGE, routing
from sfexit.export.first_jobs import FirstJobs, first_candidates
from sfexit.export.preflight import (CALLS_AFTER_COUNTS, DEFAULT_ROW_BYTES, PreflightReport,
                                     forecast, preflight)
from sfexit.org.rest import Limit, RestClient
from sfexit.org.session import OrgSession


@dataclass(frozen=True)
class BackupSummary:
    dest: Path | str             # a directory, or a cloud URL (export/cloud.py)
    manifest: Path | str
    manifest_sha256: str
    objects: tuple[ObjectResult, ...]
    rows: int
    bytes: int
    skipped: tuple[SkippedObject, ...]
    failed: tuple[ObjectResult, ...]
    files: dict[str, Any]        # the files step's summary (empty with --no-files)
    api_calls: int
    bulk_jobs: int
    preflight: PreflightReport | None
    plan: BudgetPlan | None = None   # the days the whole export takes (budget.py)

    @property
    def files_failed(self) -> int:
        return len(self.files.get("failed") or ())


def run_backup(session: OrgSession, options: ExportOptions, *, force: bool = False,
               files: bool = True, all_versions: bool = False,
               on_progress: ProgressCallback | None = None,
               on_file_progress: Callable[..., None] | None = None,
               sleep: Callable[[float], None] = time.sleep,
               on_plan: Callable[[Mapping[str, int]], None] | None = None,
               reserve_pct: float = DEFAULT_RESERVE_PCT,
               now: Callable[[], dt.datetime] = utc_now) -> BackupSummary:
    """Back up the org into ``options.dest``; resumes a backup already there.

    An export larger than what the org's daily limits allow above ``reserve_pct`` is not
    refused: it runs until the reserve would be crossed, marks the manifest ``paused`` and
    raises PausedForLimits (exit 4) saying when to run it again (budget.py). ``force`` runs
    without that budget (until the org itself refuses).

    ``on_plan`` gets the preflight's rows per object before the data step (a progress
    display's totals); ``on_progress`` each object's rows, ``on_file_progress`` the files.

    With ``options.since`` (a delta, delta.py) every object is read with queryAll from the
    window's start, and the files step is not run (a delta holds data only: docs/manifest.md).

    Raises UsageError (bad --objects, a backup of another org in dest, a base of another org),
    PausedForLimits (the budget's reserve reached), ApiLimitError (a limit spent on the way),
    AuthError, ConnectionFailed, and whatever ``on_progress`` raises.
    """
    if options.since is not None:
        options = dataclasses.replace(options, include_deleted=True)
        files = False
    calls_before = session.calls
    files = files and bool(sources(options.objects))   # --objects without a file object
    rest = RestClient(session)
    # The preflight's describes go to the data step: each object is described once.
    describes = DescribeCache(held=True)   # released once the preflight has read
    first: FirstJobs | None = None
    setup_at_first = 0     # the run's calls when the first jobs started
    gate: BudgetGate | None = None
    with ThreadPoolExecutor(5, thread_name_prefix="sfexit-backup") as pool:
        # Independent reads side by side. Their errors come in the order they did one after
        # the other (the manifest's refusal before a bad --objects, both before the
        # preflight's). The identity's org id opens the manifest; the Organization query (a
        # REST query page, ~1 s on Salesforce: schedule.py) only names the org, so it and the
        # rest of the preflight run beside the first jobs (first_jobs.py: what may start then).
        asked_me = pool.submit(rest.identity)
        asked_org = pool.submit(rest.organization)
        asked_objects = pool.submit(select_objects, rest, options.objects)
        # Every object's approximate count beside describe global, not after it (~60 ms
        # sooner to the first jobs); not wanted with deleted rows (COUNT() queries then).
        every_count = (None if options.include_deleted
                       else pool.submit(rest.record_counts, None))
        counted: Future[tuple[dict[str, int], dict[str, Limit]]] = Future()
        checked = pool.submit(lambda: preflight(
            session, asked_me.result().user_id, asked_objects.result().objects,
            include_deleted=options.include_deleted, include_files=files,
            max_records=options.max_records, rest_below=options.rest_below,
            describes=describes, parallel=options.parallel,
            on_counts=lambda counts, limits: counted.set_result((counts, limits)),
            every_count=every_count))
        me = asked_me.result()
        if options.since is not None:
            check_org(options.since, me.org_id, options.dest)
        store = ManifestStore.open_or_create(
            options.dest, org_id=me.org_id, api_version=session.api_version,
            base=options.since.ref if options.since is not None else None)
        selection = asked_objects.result()
        try:
            either: list[Future[Any]] = [counted, checked]
            wait(either, return_when=FIRST_COMPLETED)
            if counted.done() and not checked.done():
                setup_at_first = session.calls - calls_before
                first, gate = _first_jobs(
                    session, store, options, selection.objects, *counted.result(), describes,
                    force=force, files=files, reserve_pct=reserve_pct, now=now,
                    setup_calls=setup_at_first, on_progress=on_progress, sleep=sleep)
            report = checked.result()
            describes.release()
            store.set_org_name(asked_org.result().name)
        except BaseException:
            if first is not None:
                first.cancel()   # a run-wide error: the data step would stop the same way
            raise
    store.set_permissions(report.recorded_permissions)
    # Route with the page time the org showed (schedule.routing): forecast, gate and data step.
    options = dataclasses.replace(options, rest_page_s=report.rest_page_s,
                                  row_widths=report.row_widths)
    left = left_forecast(report, store.snapshot(), options.max_records, options.rest_below,
                         options.parallel)
    setup = session.calls - calls_before
    if first is not None:   # its calls are the forecast's (left_forecast): not setup
        setup = min(setup, setup_at_first + CALLS_AFTER_COUNTS)
    plan = plan_budget(export_need(left), report.limits, reserve_pct, now(), setup_calls=setup)
    run_routing = routing(options.rest_below, options.rest_page_s, report.row_counts,
                          options.parallel)
    if gate is not None:   # the first jobs' gate: the sampled width from now on
        gate.set_row_bytes(report.forecast.row_bytes, plan, run_routing)
    elif not force:
        gate = BudgetGate(plan, report.row_counts, report.forecast.row_bytes, session,
                          routing=run_routing, max_records=options.max_records)
    options = dataclasses.replace(options, budget=gate)
    if on_plan is not None:
        on_plan({name: report.row_counts.get(name, 0) for name in selection.objects})
    data: DataExportResult | None = None
    finished = False
    try:
        data = export_data(session, store, options, on_progress=on_progress, sleep=sleep,
                           row_counts=report.row_counts, selection=selection,
                           describes=describes, first=first)
        paused = [o for o in data.objects if o.status == "paused"]
        files_result = (_files_step(session, store, options, all_versions, on_file_progress,
                                    report.forecast.files)
                        if files and not paused else {})
        if options.budget is not None and (paused or files_result.get("paused")):
            pause_run(store, options.budget, now(), objects_left=len(paused),
                      files_left=int(files_result.get("paused") or 0))
        finished = True
    except BaseException:
        if first is not None:
            first.cancel()   # its jobs unread, if the data step did not take them over
        raise
    finally:
        if first is not None:
            first.close()
        # Usage is recorded even when the run stops half-way (a rerun adds its own).
        if not finished:
            store.add_usage(api_calls=session.calls - calls_before,
                            bulk_jobs=data.bulk_jobs if data is not None else 0)
    store.finish(api_calls=session.calls - calls_before, bulk_jobs=data.bulk_jobs)
    manifest = store.snapshot()
    exported = [o for o in data.objects if o.status in ("exported", "kept")]
    return BackupSummary(
        dest=options.dest, manifest=store.path, manifest_sha256=store.manifest_sha256(),
        objects=data.objects, rows=sum(o.rows for o in exported),
        bytes=sum(o.bytes for o in exported), skipped=tuple(manifest.skipped),
        failed=data.failed, files=files_result, api_calls=session.calls - calls_before,
        bulk_jobs=data.bulk_jobs, preflight=report, plan=plan)


def _first_jobs(session: OrgSession, store: ManifestStore, options: ExportOptions,
                objects: Sequence[str], counts: dict[str, int], limits: dict[str, Limit],
                describes: DescribeCache, *, force: bool, files: bool, reserve_pct: float,
                now: Callable[[], dt.datetime], setup_calls: int,
                on_progress: ProgressCallback | None, sleep: Callable[[float], None]
                ) -> tuple[FirstJobs | None, BudgetGate | None]:
    """Start the largest objects' jobs before the preflight's sample and permissions
    (first_jobs.py), with the budget gate they and the data step share (None with ``force``).
    Until the sample gives the row width and the page time, the gate counts each object's
    result MB at its widest row and its calls by the low end's routing (the most REST pages
    either way); its plan (only reported) is the forecast at the default width."""
    names = first_candidates(objects, counts, options)
    if not names:
        return None, None
    gate = None
    if not force:
        low = PAGE_SECONDS_RANGE[0]
        need = forecast(objects, counts, DEFAULT_ROW_BYTES, limits, include_files=files,
                        max_records=options.max_records, rest_below=options.rest_below,
                        rest_page_s=low, parallel=options.parallel)
        gate = BudgetGate(plan_budget(export_need(need), limits, reserve_pct, now(),
                                      setup_calls=setup_calls), counts, None, session,
                          routing=routing(options.rest_below, low, counts, options.parallel),
                          max_records=options.max_records, unsettled_calls=CALLS_AFTER_COUNTS)
    first = FirstJobs(session, store, dataclasses.replace(options, budget=gate), names, counts,
                      describes, on_progress=on_progress, sleep=sleep)
    return first, gate


def _files_step(session: OrgSession, store: ManifestStore, options: ExportOptions,
                all_versions: bool, on_progress: Callable[..., None] | None,
                expected: int) -> dict[str, Any]:
    """The file bodies, with the data step's ``include_deleted`` and ``parallel`` (capped at the
    files step's 20 downloads at once). Files that fail are in ``failed`` (the CLI exits 5)."""
    budget = options.budget
    if budget is not None and not budget.admit_files_step():
        return {"paused": expected}   # not even the listing fits: a rerun lists them
    result = export_files(session, options.dest, store, on_progress=on_progress,
                          all_versions=all_versions, include_deleted=options.include_deleted,
                          parallel=min(options.parallel, MAX_FILE_DOWNLOADS), budget=budget,
                          publisher=options.publisher, objects=options.objects)
    return dataclasses.asdict(result)
