"""``sfexit archive build | verify | serve``: the exit archive (docs/archive.md, issue 22)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from sfexit import errors
from sfexit.cli.context import AppContext, json_option, pass_app
from sfexit.cli.output import table
from sfexit.jsonable import to_jsonable

LANG_HELP = ("Language of index.html: en, da, de, fr, it or nl "
             "[config: report.lang; default en].")


@click.group()
def archive() -> None:
    """The exit archive: a BagIt bag of a backup with one SQLite database of the whole org."""


@archive.command("build")
@click.argument("backup_dir", type=click.Path(path_type=Path))
@click.option("--out", required=True, type=click.Path(path_type=Path),
              help="New (or empty) directory for the archive.")
@click.option("--lang", metavar="LANG", help=LANG_HELP)
@json_option
@pass_app
def build(app: AppContext, backup_dir: Path, out: Path, lang: str | None) -> int:
    """Build the archive of the backup in BACKUP_DIR (a finished `sfexit export bulk`).

    Writes OUT as a BagIt bag (RFC 8493): the backup as downloaded in data/, and beside it
    archive.sqlite (one table per object), metadata.json (Datasette labels) and index.html.
    Contract dates come from the config's [contract] when set. Exit 2 when BACKUP_DIR is not
    a finished, complete backup or OUT is not empty; exit 1 when a file's SHA-256 or a CSV's
    row count, found while copying, is not the manifest's. Nothing is left half-written.
    """
    from sfexit.archive import build_archive
    from sfexit.report.i18n import check_lang

    settings = app.settings()
    chosen = check_lang(lang) if lang is not None else settings.report.lang
    summary = build_archive(backup_dir, out, lang=chosen, contract_start=settings.contract.start,
                            contract_end=settings.contract.end, on_step=app.out.info)

    def human() -> str:
        return (f"Archive of {summary.org_name or summary.org_id} written to {summary.archive}: "
                f"{len(summary.tables)} tables ({summary.rows:,} rows), {summary.files} files, "
                f"{summary.weekly_parts} weekly parts, {summary.skipped} objects skipped by "
                f"Salesforce.\nOpen {summary.archive / 'index.html'}; check it with "
                f"`sfexit archive verify {summary.archive}`.")

    app.out.result(to_jsonable(summary), human)
    return 0


@archive.command("verify")
@click.argument("archive_dir", metavar="ARCHIVE", type=click.Path(path_type=Path))
@json_option
@pass_app
def verify(app: AppContext, archive_dir: Path) -> int:
    """Check ARCHIVE: BagIt validation (every SHA-256), the backup against its manifest, and
    every table's row count and file hash in archive.sqlite against the manifest.

    Exit 0 when everything matches, 1 when anything differs (each problem names its file).
    """
    from sfexit.archive import verify_archive

    report = verify_archive(archive_dir)
    result = to_jsonable(report)
    result["ok"] = report.ok

    def human() -> str:
        head = (f"Checked {report.archive}: the bag, {report.objects_checked} objects "
                f"({report.rows:,} rows), {report.files_checked} files.")
        if report.ok:
            return head + "\nEverything matches."
        return head + "\n" + table(["Check", "File", "Problem"],
                                   [[p.check, p.name, p.detail] for p in report.problems])

    if not report.ok:
        first = report.problems[0]
        return app.out.partial(
            result, human, name="VerificationFailed",
            message=f"verification failed: {len(report.problems)} problem(s), first "
                    f"{first.name or first.check}: {first.detail}",
            exit_code=errors.EXIT_FAILURE)
    app.out.result(result, human)
    return 0


@archive.command("serve")
@click.argument("archive_dir", metavar="ARCHIVE", type=click.Path(path_type=Path))
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(1, 65535), default=8001, show_default=True,
              help="Port to listen on.")
@pass_app
def serve(app: AppContext, archive_dir: Path, host: str, port: int) -> int:
    """Browse ARCHIVE in a web browser: starts Datasette (read-only) until Ctrl-C.

    Needs the archive extra: pip install 'sfexit[archive]' (exit 2 without it).
    """
    from sfexit.archive.browse import serve_argv

    argv = serve_argv(archive_dir, host=host, port=port)
    click.echo(f"Serving {archive_dir} at http://{host}:{port}/ (Ctrl-C to stop)")
    sys.stdout.flush()
    sys.stderr.flush()
    # Datasette takes this process's place: Ctrl-C and SIGTERM reach the server itself and no
    # child is left behind when the terminal closes.
    os.execv(argv[0], argv)
