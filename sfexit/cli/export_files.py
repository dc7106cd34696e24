"""``sfexit export files``: the files step of the backup on its own (library: export/files.py).

Kept light at import: the org and export modules load inside the command.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import click

from sfexit import errors
from sfexit.cli.context import (AppContext, json_option, org_option, pass_app,
                                require_writable_dir)
from sfexit.cli.export import configured_dir, connect_read_only
from sfexit.config import parse_reserve
from sfexit.jsonable import to_jsonable
from sfexit.units import size

if TYPE_CHECKING:
    from sfexit.export.files import FileProgress, FilesSummary


@click.command("files")
@click.option("--dest", type=click.Path(path_type=Path, file_okay=False),
              help="Backup directory (default: [export] dest in the config). Bodies go to "
                   "DEST/files/<Object>/<Id>-<name>, the record to DEST/manifest.json.")
@click.option("--all-versions", is_flag=True,
              help="Every ContentVersion, not only the latest version of each file.")
@click.option("--include-deleted", is_flag=True,
              help="Also list files of deleted records (queryAll); the org may serve no body.")
@click.option("--parallel", type=int, metavar="N",
              help="Downloads at once, 1-20 (default: [export] parallel).")
@click.option("--reserve", metavar="PCT",
              help="Of the daily API requests, the percentage left for the org's other users "
                   "(default: [export] reserve, 10): past it the download pauses (exit 4) and "
                   "a rerun a day later continues.")
@json_option
@org_option
@pass_app
def files(app: AppContext, dest: Path | None, all_versions: bool, include_deleted: bool,
          parallel: int | None, reserve: str | None) -> int:
    """Download every ContentVersion, Attachment and Document body, verified.

    Each body is streamed to a .part file, hashed (SHA-256, MD5) as it arrives, checked against
    the org's size and Checksum, then renamed and recorded in manifest.json. Run it again to
    resume: files already complete and verified are skipped. Exit 5 when some files failed,
    4 when paused for the org's daily limits (the line says when to run it again).
    """
    from sfexit.export.budget_gate import files_gate, pause_run
    from sfexit.export.files import MAX_PARALLEL, export_files
    from sfexit.export.files_listing import count_files
    from sfexit.export.manifest import ManifestStore
    from sfexit.org.rest import RestClient

    settings = app.settings()
    target = dest or configured_dir(app, "export files")
    if target is None:
        raise errors.UsageError("no backup directory: pass --dest DIR or set dest in [export]")
    require_writable_dir(target, "--dest")
    workers = parallel if parallel is not None else settings.export.parallel
    if not 1 <= workers <= MAX_PARALLEL:
        raise errors.UsageError(f"--parallel must be between 1 and {MAX_PARALLEL}, got {workers}")
    reserve_pct = settings.export.reserve if reserve is None else parse_reserve(reserve)
    versions = all_versions or settings.export.all_versions
    deleted = include_deleted or settings.export.include_deleted
    session = connect_read_only(app)
    org = RestClient(session).organization()
    manifest = ManifestStore.open_or_create(target, org_id=org.org_id, org_name=org.name,
                                            api_version=session.api_version)
    total = count_files(session, all_versions=versions, include_deleted=deleted)
    gate = files_gate(session, total, reserve_pct=reserve_pct, now=app.now())
    if not gate.admit_files_step():   # not even the listing fits above the reserve
        pause_run(manifest, gate, app.now(), files_left=total)
    with _Progress(app) as progress:
        summary = export_files(session, target, manifest, all_versions=versions,
                               include_deleted=deleted, parallel=workers, on_progress=progress,
                               budget=gate)
    manifest.add_usage(api_calls=session.calls)
    if summary.paused:
        pause_run(manifest, gate, app.now(), files_left=summary.paused)
    result = {**to_jsonable(summary), "dest": str(target), "api_calls": session.calls}
    if summary.failed:
        n = len(summary.failed)
        return app.out.partial(
            result, lambda: _human(summary, target), name="PartialFailure",
            message=f"{n} file{'' if n == 1 else 's'} did not verify: " + "; ".join(
                f"{p.object} {p.id} ({p.reason})" for p in summary.failed),
            exit_code=errors.EXIT_PARTIAL)
    app.out.result(result, lambda: _human(summary, target))
    return errors.EXIT_OK


def _human(summary: FilesSummary, target: Path) -> str:
    lines = [f"Files: {summary.downloaded} downloaded and verified, {summary.skipped} already "
             f"complete, {len(summary.failed)} failed, {len(summary.unavailable)} not served "
             f"by the org ({size(summary.bytes_downloaded)} into {target / 'files'})."]
    lines += [f"  not served: {p.object} {p.id} ({p.name}): {p.reason}"
              for p in summary.unavailable]
    lines += [f"  failed: {p.object} {p.id} ({p.name}): {p.reason}" for p in summary.failed]
    if summary.failed:
        lines.append("Run the command again to retry the files that failed.")
    return "\n".join(lines)


class _Progress:
    """Files done of those listed, bytes and an ETA (cli/progress.py: a live line on a
    terminal, a line every 30 s in a log); nothing with --json/--quiet."""

    def __init__(self, app: AppContext) -> None:
        from sfexit.cli.progress import Progress

        self.show = Progress(app.out, clock=app.clock)
        self.bytes = 0

    def __enter__(self) -> _Progress:
        return self

    def __exit__(self, kind: type[BaseException] | None, *_rest: object) -> None:
        self.show.close()
        if kind is not None and not issubclass(kind, errors.UsageError):
            self.show.note("The files step stopped; run the same export command again to "
                           "continue: files complete and verified are kept.")

    def __call__(self, event: FileProgress) -> None:
        from sfexit.cli.progress import eta

        self.bytes += event.bytes
        estimate = eta(event.files_done, event.files_total, self.show.elapsed)
        self.show.status(f"files {event.files_done:,}/{event.files_total:,}, {size(self.bytes)}"
                         + (f", {estimate}" if estimate else ""))
