"""``sfexit export …``: the backup commands.

The ``files`` and ``weekly`` subcommands live in their own modules; ``sfexit/cli/__init__.py``
registers them on this group. Shared here: :func:`connect_read_only` (the read-only session
every export uses). Polls and retries wait with ``app.sleep`` (:class:`AppContext`).
"""

from __future__ import annotations

import threading
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sfexit import errors
from sfexit.cli.context import AppContext, endpoint_option, json_option, org_option, pass_app
from sfexit.cli.export_options import BulkTargets, check_bulk_options, export_options
from sfexit.cli.output import table
from sfexit.jsonable import to_jsonable
from sfexit.cli.progress import Progress, eta
from sfexit.units import plural, size

if TYPE_CHECKING:
    from sfexit.archive.destination import Destination
    from sfexit.export.backup import BackupSummary
    from sfexit.export.budget import BudgetPlan
    from sfexit.export.cloud import CloudDest
    from sfexit.export.data_run import ExportOptions
    from sfexit.export.data_run import ObjectProgress
    from sfexit.export.files import FileProgress
    from sfexit.org.session import OrgSession


def connect_read_only(app: AppContext) -> OrgSession:
    """The one session of an export: read-only (creating a Bulk query job is allowed)."""
    return app.connect(read_only=True)


def configured_dir(app: AppContext, command: str) -> Path | None:
    """``[export] dest`` for a command that writes to a directory only: None when unset;
    a URL there (for ``export bulk``) is refused with one line."""
    cfg = app.settings().export
    if cfg.dest_url is not None:
        raise errors.UsageError(f"{command} writes to a directory, and [export] dest is "
                                f"{cfg.dest_url}", hint="pass --dest DIR")
    return cfg.dest


@click.group()
def export() -> None:
    """Back up the org: Bulk API 2.0 data, files, the weekly export; verify a backup."""


@export.command("bulk")
@click.option("--dest", metavar="DIR|URL",
              help="Backup directory, or an s3://BUCKET/PREFIX URL (docs/cloud-export.md) "
                   "(default: [export] dest in the config).")
@click.option("--objects", "objects", metavar="A,B",
              help="Only these objects (API names, comma-separated); file bodies only of "
                   "ContentVersion, Attachment or Document when named.")
@click.option("--include-deleted", is_flag=True, default=None,
              help="Also export deleted and archived rows (queryAll).")
@click.option("--parallel", type=click.IntRange(1, 32), default=None,
              help="Objects exported at once (default: [export] parallel, 4).")
@click.option("--rest-below", type=click.IntRange(min=0), default=None, metavar="ROWS",
              help="Read objects with fewer rows over REST query, the rest by Bulk (default: "
                   "[export] rest_below, else the cost model's crossing point; 0: all Bulk).")
@click.option("--reserve", "reserve", metavar="PCT",
              help="Of each daily API limit, the percentage left for the org's other users "
                   "(default: [export] reserve, 10). An export that needs more than the rest "
                   "pauses there and continues on a rerun a day later.")
@click.option("--resume", is_flag=True,
              help="Continue the paused or interrupted export in DEST (a rerun does the same; "
                   "this refuses a DEST with no export in it).")
@click.option("--force", is_flag=True,
              help="Do not pause at the reserve: run until the org itself refuses.")
@click.option("--no-files", is_flag=True, help="Data only; skip the file bodies step.")
@click.option("--dry-run", is_flag=True,
              help="Only forecast: objects, API calls, Bulk jobs and result MB against the "
                   "org's limits, the days the export takes and when it finishes. Writes "
                   "nothing.")
@click.option("--all-versions", is_flag=True, default=None,
              help="Files step: every ContentVersion, not only the latest.")
@click.option("--since", "since", metavar="BASE",
              help="A delta: only rows changed or deleted since that finished backup of the "
                   "same org began (SystemModstamp, minus 5 minutes; queryAll; no files). "
                   "BASE is its directory or its s3:// URL.")
@click.option("--archive", "archive_to", metavar="ARCHIVE",
              help="After a complete export, build the exit archive of DEST there, as "
                   "`sfexit archive build` does (a new directory, or an s3://, gs:// or az:// "
                   "URL; credentials from the provider's usual chain). From an s3:// DEST to "
                   "an s3:// ARCHIVE the file bodies are copied inside the store.")
@click.option("--link", is_flag=True,
              help="With --archive: hard-link the backup's files into it instead of copying "
                   "them, as `sfexit archive build --link` does (a local ARCHIVE only).")
@endpoint_option
@json_option
@org_option
@pass_app
def bulk(app: AppContext, dest: str | None, objects: str | None,
         include_deleted: bool | None, parallel: int | None, rest_below: int | None,
         reserve: str | None,
         resume: bool, force: bool, no_files: bool, dry_run: bool, all_versions: bool | None,
         since: str | None, archive_to: str | None, link: bool,
         endpoint_url: str | None) -> int:
    """Back up every queryable object (Bulk API 2.0, REST where Bulk refuses) into DEST.

    Writes data/<Object>.csv, schema/<Object>.json and manifest.json; a rerun resumes.
    With --archive, then builds the archive (an incomplete export builds none).
    An export larger than the org's daily limits (above --reserve) runs until the reserve,
    then stops with exit 4 "paused for limits, resume after <time>" (Salesforce's limits
    are a rolling 24-hour window); the same command then continues it.
    DEST may be an s3:// URL: each file goes to the bucket as it completes, its SHA-256
    checked; the local disk holds only what is in flight.
    Exit 0 when all is exported, 2 when --archive or an s3:// DEST is not usable, 3 when
    the storage refuses the credentials (both checked before the org is asked), 4 when
    paused for limits (or a limit was spent), 5 when some objects failed (listed).
    """
    to = check_bulk_options(app, dest=dest, since=since, archive_to=archive_to, link=link,
                            resume=resume, reserve=reserve, endpoint_url=endpoint_url)
    options = export_options(to, objects=objects, include_deleted=include_deleted,
                             parallel=parallel, rest_below=rest_below)
    session = connect_read_only(app)
    if dry_run:
        return _dry_run(app, session, options, files=not no_files and to.base is None,
                        reserve_pct=to.reserve_pct, cloud=to.cloud)
    summary = _run_backup(app, session, options, to, force=force, files=not no_files,
                          all_versions=to.settings.all_versions if all_versions is None
                          else all_versions)
    result = _summary_json(summary)
    if summary.failed or summary.files_failed:
        return _partial(app, summary, result, to.archive)
    text = _summary_text(summary)
    if to.archive is None:
        text += "\n" + verify_text(to)
    else:
        app.out.info(text)   # the export is done whatever happens to the archive
        text = _archive_after_export(app, to, result, link=link)
    app.out.result(result, lambda: text)
    return 0


def _run_backup(app: AppContext, session: OrgSession, options: ExportOptions,
                to: BulkTargets, *, force: bool, files: bool,
                all_versions: bool) -> BackupSummary:
    """The export into ``to`` (a directory or a bucket), its progress shown; an export that
    stops says how to continue, one that is partial too, and what the running user lacks."""
    from sfexit.export.backup import run_backup
    from sfexit.export.cloud import run_backup_to_cloud

    progress = _Progress(app)
    backup = run_backup if to.cloud is None else partial(run_backup_to_cloud, dest=to.cloud)
    try:
        summary = backup(session, options, force=force, files=files,
                         all_versions=all_versions, on_progress=progress.update,
                         on_file_progress=progress.files, sleep=app.sleep,
                         on_plan=progress.plan, now=app.now, reserve_pct=to.reserve_pct)
    except (errors.UsageError, errors.ConfigError, errors.PausedForLimits):
        progress.close()
        raise   # nothing was started, or the pause's one line says when to continue
    except BaseException:
        progress.close()
        app.out.info(f"The export stopped; {RESUME_EXPORT}.")
        raise
    progress.close()
    if summary.failed or summary.files_failed:
        app.out.info(f"Some objects or files failed; {RESUME_EXPORT}.")
    for line in (summary.preflight.warnings() if summary.preflight else ()):
        app.out.warn(line)
    return summary


def _partial(app: AppContext, summary: BackupSummary, result: dict[str, Any],
             archive_dest: Destination | None) -> int:
    """An export with failed objects or files: exit 5, listing them; no archive is built."""
    if archive_dest is not None:
        result["archive"] = None
        app.out.warn(f"no archive built: the export is incomplete ({archive_dest.text} "
                     "untouched)")
    message = "; ".join(
        [f"{o.name} could not be exported ({o.reason})" for o in summary.failed]
        + ([f"{summary.files_failed} file bodies failed (see files.failed)"]
           if summary.files_failed else []))
    return app.out.partial(result, lambda: _summary_text(summary), name="PartialFailure",
                           message=message, exit_code=errors.EXIT_PARTIAL)


def _dry_run(app: AppContext, session: OrgSession, options: ExportOptions, *, files: bool,
             reserve_pct: float, cloud: CloudDest | None) -> int:
    from sfexit.export.backup_plan import plan_backup
    from sfexit.export.cloud import plan_cloud

    plan = plan_backup if cloud is None else partial(plan_cloud, dest=cloud)
    found = plan(session, options, files=files, reserve_pct=reserve_pct, now=app.now)
    result = {"dry_run": True, "dest": found.dest, "objects": found.objects,
              "objects_done": found.objects_done,
              "forecast": to_jsonable(found.report.forecast),
              "permissions": found.report.recorded_permissions, "budget": found.plan.to_json()}
    app.out.result(result, lambda: dry_run_text(found.objects, found.objects_done,
                                                found.plan))
    return 0


def dry_run_text(objects: int, done: int, plan: BudgetPlan) -> str:
    """The budget as a person reads it: a line per limit, then the days and finish date."""
    from sfexit.export.budget import utc_text

    rows = [[b.name, f"{b.need:,}", f"{b.remaining:,}", f"{b.reserve:,}", f"{b.allowance:,}",
             "never" if b.days is None else f"{b.days:,}"] for b in plan.limits]
    lines = [f"{plural(objects, 'object')}" + (f" ({done:,} complete already)" if done else "")
             + f"; limits above a {plan.reserve_pct:g}% reserve:",
             table(["Limit", "Needs", "Remaining", "Reserve", "Usable now", "Days"], rows)]
    days, finish = plan.days, plan.finish_by
    if days is None or finish is None:
        lines.append("The org's limits leave nothing above the reserve: lower --reserve.")
    elif days == 1:
        lines.append("Fits today's limits: one run.")
    else:
        lines.append(f"Needs about {days} days: each run stops at the reserve and the same "
                     f"command continues it 24 hours later (Salesforce's limits are a rolling "
                     f"24-hour window); the last part after {utc_text(finish)}.")
    return "\n".join(lines)


def _archive_after_export(app: AppContext, to: BulkTargets, result: dict[str, Any], *,
                          link: bool) -> str:
    """Build the archive of the finished export in ``to`` (cli/archive.py's build_into or
    build_from_bucket, as `archive build`); a failure says the export itself is complete and
    keeps the build's exit code."""
    from sfexit.cli.archive import build_from_bucket, build_into, built_text

    archive_dest = to.archive
    assert archive_dest is not None
    try:
        if to.cloud is None:
            built = build_into(app, archive_dest, Path(to.target), link=link)
        else:
            built = build_from_bucket(app, archive_dest, to.cloud, link=link)
    except errors.SfexitError as exc:
        # The same error (class, exit code), told that the export itself is done.
        exc.message = f"the export in {to.named} is complete, but no archive was built: " \
                      f"{exc.message}"
        raise
    result["archive"] = to_jsonable(built)
    return built_text(built, archive_dest.remote.endpoint_url if archive_dest.remote else None,
                      from_download=to.cloud is not None)


def verify_text(to: BulkTargets) -> str:
    """How to check the export, as `archive build` says how to check the archive: with the
    same endpoint, so that the command works as printed (a bucket verified without the
    --endpoint-url it was exported with is looked for at AWS)."""
    endpoint = to.cloud.remote.endpoint_url if to.cloud is not None else None
    return (f"Check it with `sfexit export verify {to.named}"
            + (f" --endpoint-url {endpoint}`." if endpoint else "`."))


def _summary_json(summary: BackupSummary) -> dict[str, Any]:
    return {
        "dest": str(summary.dest), "manifest": str(summary.manifest),
        "manifest_sha256": summary.manifest_sha256,
        "objects": [to_jsonable(o) for o in summary.objects
                    if o.status in ("exported", "kept")],
        "rows": summary.rows, "bytes": summary.bytes,
        "skipped": [to_jsonable(s) for s in summary.skipped],
        "failed": [to_jsonable(o) for o in summary.failed],
        "files": summary.files, "api_calls": summary.api_calls, "bulk_jobs": summary.bulk_jobs,
        "permissions": summary.preflight.recorded_permissions if summary.preflight else {},
        "forecast": to_jsonable(summary.preflight.forecast) if summary.preflight else None,
        "budget": summary.plan.to_json() if summary.plan else None,
        # objects complete from an earlier run into the same DEST, kept (a rerun resumes)
        "kept": _kept(summary), "new_snapshot": KEPT_NOTE if _kept(summary) else None,
    }


# A rerun into a DEST that holds an export resumes it, by design: what is complete and verified
# is kept, never exported again. Said whenever something was kept, for a newcomer who expected
# a new snapshot: there is no option for one in the same DEST.
KEPT_NOTE = ("a rerun into the same --dest resumes it and keeps what is complete; for a new "
             "snapshot, give a new --dest (e.g. a dated folder)")


def _kept(summary: BackupSummary) -> int:
    return sum(o.status == "kept" for o in summary.objects)


def _summary_text(summary: BackupSummary) -> str:
    done = [o for o in summary.objects if o.status in ("exported", "kept")]
    lines = [table(["Object", "Method", "Rows", "Size", "Status"],
                   [[o.name, o.method, f"{o.rows:,}", size(o.bytes), o.status] for o in done])]
    if summary.skipped:
        lines.append("\nSkipped (cannot be read):")
        lines += [f"  {s.name}: {s.reason}" for s in summary.skipped]
    if summary.failed:
        lines.append("\nFailed:")
        lines += [f"  {o.name}: {o.reason}" for o in summary.failed]
    if summary.files:
        f = summary.files
        lines.append(f"\nFiles: {f.get('listed', 0)} listed, {f.get('downloaded', 0)} "
                     f"downloaded, {f.get('skipped', 0)} already complete, "
                     f"{len(f.get('failed') or ())} failed.")
    kept = _kept(summary)
    lines.append(f"\n{plural(len(done), 'object')}"
                 + (f" ({kept:,} kept: complete and verified from an earlier run)" if kept else "")
                 + f", {plural(summary.rows, 'row')}, {size(summary.bytes)} in "
                 f"{summary.dest}; manifest {summary.manifest}; "
                 f"{plural(summary.api_calls, 'API call')}, {plural(summary.bulk_jobs, 'Bulk job')}.")
    if kept:
        lines.append(KEPT_NOTE[0].upper() + KEPT_NOTE[1:] + ".")
    return "\n".join(lines)


class _Progress:
    """The library's progress as a person reads it (cli/progress.py): objects done/total, rows
    written of those planned, file bodies and bytes, an ETA once it can be estimated; a line
    per finished object. Thread-safe (the export reports from its workers)."""

    def __init__(self, app: AppContext) -> None:
        self.show = Progress(app.out, clock=app.clock)
        self.planned: dict[str, int] = {}
        self.rows: dict[str, int] = {}
        self.done: set[str] = set()
        self.files_done = self.files_total = self.file_bytes = 0
        self._lock = threading.Lock()

    def plan(self, rows: Mapping[str, int]) -> None:
        self.planned = dict(rows)

    def update(self, p: ObjectProgress) -> None:
        with self._lock:
            self.rows[p.object] = p.rows
            if p.done:
                self.done.add(p.object)
        if p.done:
            self.show.note(f"{p.object}: {plural(p.rows, 'row')} ({p.method})")
        self.show.status(self.text())

    def files(self, p: FileProgress) -> None:
        with self._lock:
            self.file_bytes += p.bytes
            self.files_done, self.files_total = p.files_done, p.files_total
        self.show.status(self.text(), force=p.files_done == p.files_total)

    def text(self) -> str:
        with self._lock:
            total = len(self.planned) or None
            rows, planned = sum(self.rows.values()), sum(self.planned.values())
            parts = [f"objects {len(self.done):,}/{'?' if total is None else f'{total:,}'}",
                     f"{rows:,}/{planned:,} rows" if planned else plural(rows, "row")]
            done, whole = rows, planned
            if self.files_total:
                parts.append(f"files {self.files_done:,}/{self.files_total:,} "
                             f"({size(self.file_bytes)})")
                done, whole = self.files_done, self.files_total
        estimate = eta(done, whole, self.show.elapsed)
        return ", ".join(parts) + (f", {estimate}" if estimate else "")

    def close(self) -> None:
        self.show.close()


RESUME_EXPORT = ("run the same export command again to continue: what is complete and "
                 "verified is kept")
