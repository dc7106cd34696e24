"""What a backup will take before it runs (``export bulk --dry-run``), and what is LEFT of one
that paused (budget.py): the same survey as the run (identity, objects, preflight), nothing
written, the days and finish date of the budget.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from sfexit import errors
from sfexit.export.budget import BudgetPlan, export_need, plan_budget, utc_now
from sfexit.export.data_run import ExportOptions
from sfexit.export.files_listing import sources
from sfexit.export.manifest import Manifest, ManifestStore
from sfexit.export.objects import select_objects
from sfexit.export.preflight import Forecast, PreflightReport, forecast, preflight
from sfexit.org.rest import RestClient
from sfexit.org.session import OrgSession


@dataclass(frozen=True)
class BackupPlan:
    dest: str
    objects: int
    objects_done: int       # complete in DEST's manifest already (a resume)
    report: PreflightReport
    plan: BudgetPlan


def left_forecast(report: PreflightReport, held: Manifest | None,
                  max_records: int | None, rest_below: int | None = None,
                  parallel: int = 4) -> Forecast:
    """The preflight's forecast of what is left: the objects and file bodies ``held`` (the
    manifest of the run being resumed) lists complete are not needed again."""
    done = {n for n, e in (held.objects.items() if held else ()) if e.complete}
    left = [name for name in report.row_counts if name not in done]
    need = forecast(left, {name: report.row_counts[name] for name in left},
                    report.forecast.row_bytes, report.limits, include_files=False,
                    max_records=max_records, rest_below=rest_below,
                    rest_page_s=report.rest_page_s, routing_counts=report.row_counts,
                    parallel=parallel)
    files_done = sum(f.complete for f in held.files.values()) if held else 0
    files = max(0, report.forecast.files - files_done)
    return dataclasses.replace(need, api_calls=need.api_calls + files, files=files)


def plan_backup(session: OrgSession, options: ExportOptions, *, files: bool = True,
                reserve_pct: float, now: Callable[[], dt.datetime] = utc_now) -> BackupPlan:
    """The backup's survey and budget, read only: nothing is written to DEST or the org.

    Raises UsageError (bad --objects, DEST holds another org's backup), AuthError,
    ApiLimitError, ConnectionFailed."""
    calls_before = session.calls
    files = files and bool(sources(options.objects))   # --objects without a file object
    rest = RestClient(session)
    with ThreadPoolExecutor(3, thread_name_prefix="sfexit-plan") as pool:
        asked_me = pool.submit(rest.identity)
        asked_org = pool.submit(rest.organization)
        asked_objects = pool.submit(select_objects, rest, options.objects)
        me, org = asked_me.result(), asked_org.result()
        selection = asked_objects.result()
    held = _held(options, org.org_id)
    report = preflight(session, me.user_id, selection.objects,
                       include_deleted=options.include_deleted, include_files=files,
                       max_records=options.max_records, rest_below=options.rest_below,
                       parallel=options.parallel)
    left = left_forecast(report, held, options.max_records, options.rest_below,
                         options.parallel)
    plan = plan_budget(export_need(left), report.limits, reserve_pct, now(),
                       setup_calls=session.calls - calls_before)
    done = sum(1 for n in selection.objects
               if held is not None and n in held.objects and held.objects[n].complete)
    return BackupPlan(str(options.dest), len(selection.objects), done, report, plan)


def _held(options: ExportOptions, org_id: str) -> Manifest | None:
    """DEST's manifest when it holds this org's backup (read, never written); UsageError when
    it holds another org's, as the run would refuse."""
    if not (options.dest / "manifest.json").is_file():
        return None
    manifest = ManifestStore.load(options.dest).manifest
    if manifest.org_id and manifest.org_id != org_id:
        raise errors.UsageError(f"{options.dest} holds a backup of org {manifest.org_id}, "
                                f"not {org_id}", hint="choose another --dest")
    return manifest
