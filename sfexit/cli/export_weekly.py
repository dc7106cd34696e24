"""``sfexit export weekly``: the org's own Data Export Service (library: export/weekly.py).

Kept light at import: the org and export modules load inside the command. The poll waits and
reads the time through ``app.sleep``/``app.clock``/``app.now`` (:class:`AppContext`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sfexit import errors
from sfexit.cli.context import (AppContext, json_option, org_option, pass_app,
                                require_writable_dir)
from sfexit.cli.export import configured_dir
from sfexit.cli.output import table

if TYPE_CHECKING:
    from sfexit.export.manifest import ManifestStore
    from sfexit.export.weekly import WeeklyResult
    from sfexit.export.weekly_download import DownloadedPart
    from sfexit.export.weekly_page import ExportPageState
    from sfexit.org.session import OrgSession

MAX_PARALLEL = 10    # SF-DataExport downloads 10 parts at once; parts are up to ~512 MB each


@click.command("weekly")
@click.option("--dest", type=click.Path(path_type=Path, file_okay=False),
              help="Backup directory (default: [export] dest). Parts go to DEST/weekly/, the "
                   "record to DEST/manifest.json.")
@click.option("--status", "status_only", is_flag=True,
              help="Only report the page's state (files, in progress, next allowed export).")
@click.option("--trigger", is_flag=True,
              help="Request a new export (Export Now). Files still listed are downloaded first, "
                   "to DEST/weekly/previous/, because a new export deletes them.")
@click.option("--discard-old", is_flag=True,
              help="With --trigger: do not download the files still listed; they are lost.")
@click.option("--wait/--no-wait", default=None,
              help="Poll until the export's files are listed (default: with --trigger).")
@click.option("--timeout", type=click.FloatRange(min=1), default=6 * 3600.0, show_default=True,
              metavar="SECONDS", help="Give up waiting after this long.")
@click.option("--parallel", type=click.IntRange(1, MAX_PARALLEL), metavar="N",
              help=f"Parts downloaded at once, 1-{MAX_PARALLEL} (default: [export] parallel).")
@click.option("--extract", is_flag=True,
              help="Unpack the parts into DEST/weekly/extracted/ (refusing unsafe member paths, "
                   "links and zip bombs; all parts or nothing).")
@click.option("--max-extract-bytes", type=click.IntRange(min=1), metavar="BYTES",
              default=16 * 1024 ** 3, show_default=True,
              help="With --extract: refuse a part that expands past this many bytes.")
@click.option("--max-ratio", type=click.FloatRange(min=1), metavar="N", default=200.0,
              show_default=True,
              help="With --extract: refuse a member (past 1 MiB) that expands past N times its "
                   "compressed size.")
@click.option("--include-files/--no-include-files", default=True, show_default=True,
              help="Export option: Salesforce Files and CRM Content document versions.")
@click.option("--include-attachments/--no-include-attachments", default=True,
              show_default=True, help="Export option: images, documents and attachments.")
@click.option("--replace-carriage-returns", is_flag=True,
              help="Export option: replace carriage returns with spaces.")
@click.option("--encoding", default="UTF-8", show_default=True, metavar="TEXT",
              help="Export file encoding, matched against the form's choices.")
@json_option
@org_option
@pass_app
def weekly(app: AppContext, dest: Path | None, status_only: bool, trigger: bool,
           discard_old: bool, wait: bool | None, timeout: float, parallel: int | None,
           extract: bool, max_extract_bytes: int, max_ratio: float, include_files: bool,
           include_attachments: bool, replace_carriage_returns: bool, encoding: str) -> None:
    """Report, trigger and download the weekly (or monthly) Data Export Service export.

    Salesforce has no API for it: sfexit opens a UI session from your login and reads Setup >
    Data Export as a browser would. Without flags: show the state and download the files that
    are listed. A too-early --trigger exits 1 with the next allowed date and does nothing.
    """
    from sfexit.export.weekly import STATUS_URL, WeeklyOptions, WeeklyRun, run_weekly
    from sfexit.export.weekly_download import ExtractLimits
    from sfexit.org.uisession import open_ui_session

    if discard_old and not trigger:
        raise errors.UsageError("--discard-old only makes sense with --trigger")
    if status_only and (trigger or extract):
        raise errors.UsageError("--status only reports; drop --trigger/--extract")
    settings = app.settings()
    target = dest or (None if status_only else configured_dir(app, "export weekly"))
    if target is None and not status_only:
        raise errors.UsageError("no backup directory: pass --dest DIR or set dest in [export]")
    workers = parallel if parallel is not None else min(settings.export.parallel, MAX_PARALLEL)
    if target is not None and not status_only:
        # Before any login: a bad --dest is the person's mistake, found at once.
        require_writable_dir(Path(target) / "weekly", "--dest")
    # Only Export Now writes (the form POST): everything else runs on a read-only session.
    session = app.connect(read_only=not trigger)
    # Land on the Classic Data Export page itself: in a Lightning org /home/home.jsp would send
    # the browser on to the Lightning host (research: "always fetch the Classic URL").
    ui = open_ui_session(session, ret_url=STATUS_URL)
    spinner = _Waiting(app)
    stores: list[ManifestStore] = []   # the manifest, once a part is recorded in it
    run = WeeklyRun(
        dest=Path(target or "."), trigger=trigger, discard_old=discard_old, wait=wait,
        status_only=status_only, timeout=timeout, parallel=workers, extract=extract,
        extract_limits=ExtractLimits(max_bytes=max_extract_bytes, max_ratio=max_ratio),
        options=WeeklyOptions(include_files=include_files,
                              include_attachments=include_attachments,
                              replace_carriage_returns=replace_carriage_returns,
                              encoding=encoding),
        open_manifest=lambda: _open_manifest(session, Path(target or "."), stores),
        sleep=app.sleep, clock=app.clock, now=app.now, on_event=app.out.info, on_poll=spinner)
    try:
        result = run_weekly(ui, run)
    finally:
        spinner.done()
        for store in stores:   # API calls only: the UI pages are counted apart (ui_calls)
            store.add_usage(api_calls=session.calls)
    for warning in result.warnings:
        app.out.warn(warning)
    body = {**_json(result, target), "api_calls": session.calls, "ui_requests": session.ui_calls}
    app.out.result(body, lambda: _human(result, target))


def _open_manifest(session: OrgSession, target: Path, stores: list[ManifestStore]
                   ) -> ManifestStore:
    from sfexit.export.manifest import ManifestStore
    from sfexit.org.rest import RestClient

    org = RestClient(session).organization()
    store = ManifestStore.open_or_create(target, org_id=org.org_id, org_name=org.name,
                                         api_version=session.api_version)
    stores.append(store)
    return store


def _part(part: DownloadedPart) -> dict[str, Any]:
    return {"name": part.name, "size": part.size, "sha256": part.sha256, "path": str(part.path),
            "reused": part.reused}


def _iso(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _json(result: WeeklyResult, target: Path | None) -> dict[str, Any]:
    return {
        "state": result.state, "triggered": result.triggered,
        "files": [{"name": f.name, "id": f.file_id, "size_text": f.size_text,
                   "size_estimate": f.size_estimate} for f in result.files],
        "parts": [_part(p) for p in result.parts],
        "previous_parts": [_part(p) for p in result.previous_parts],
        "last_export": _iso(result.last_export), "next_allowed": _iso(result.next_allowed),
        "expires_no_earlier_than": _iso(result.expires_no_earlier_than),
        "extracted_to": str(result.extracted_to) if result.extracted_to else None,
        "dest": str(target) if target else None,
    }


def _human(result: WeeklyResult, target: Path | None) -> str:
    state = {"ready": "files ready", "in_progress": "export in progress",
             "none": "no export files listed"}[result.state]
    lines = [f"Data Export Service: {state}" + (" (export requested now)" if result.triggered
                                                 else "") + "."]
    if result.last_export:
        lines.append(f"Most recent export: {result.last_export.isoformat()}.")
    if result.next_allowed:
        lines.append(f"Next export allowed: on or after {result.next_allowed.isoformat()}.")
    if result.expires_no_earlier_than:
        lines.append("Files may be deleted from "
                     f"{result.expires_no_earlier_than.strftime('%Y-%m-%d %H:%M')} UTC on "
                     "(estimated from the export's date).")
    if result.parts:
        lines.append(table(["Part", "Bytes", "SHA-256", "Saved to"],
                           [[p.name, p.size, p.sha256[:16] + "…", p.path] for p in result.parts]))
    elif result.files:
        lines.append(table(["File", "Size"], [[f.name, f.size_text] for f in result.files]))
    if result.previous_parts:
        lines.append(f"Saved first the {len(result.previous_parts)} files of the previous export "
                     f"to {result.previous_parts[0].path.parent}.")
    if result.extracted_to:
        lines.append(f"Extracted to {result.extracted_to}.")
    return "\n".join(lines)


class _Waiting:
    """While the export is generated: what it waits for, for how long, and how to stop and
    come back (cli/progress.py: live on a terminal, a line every 30 s in a log)."""

    def __init__(self, app: AppContext) -> None:
        from sfexit.cli.progress import Progress

        self.show = Progress(app.out, clock=app.clock)
        self.first = True

    def __call__(self, page: ExportPageState, elapsed: float) -> None:
        from sfexit.cli.progress import duration

        if self.first:
            self.first = False
            self.show.note("Waiting for the Data Export Service to list the export's files "
                           "(Salesforce takes minutes to hours). Ctrl-C stops waiting; "
                           "`sfexit export weekly --wait` later picks it up and downloads.")
        self.show.status(f"waiting for the export's files: {page.state.replace('_', ' ')}, "
                         f"waited {duration(elapsed)} (Ctrl-C stops; --wait resumes)")

    def done(self) -> None:
        self.show.close()
