"""``sfexit archive build | verify | serve``: the exit archive (docs/archive.md, issue 22)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from sfexit import errors
from sfexit.cli.context import (AppContext, endpoint_option, json_option, pass_app,
                                require_writable_dir)
from sfexit.cli.output import table
from sfexit.jsonable import to_jsonable
from sfexit.units import plural

if TYPE_CHECKING:
    from sfexit.archive.build import ArchiveSummary
    from sfexit.archive.destination import Destination, InBucket
    from sfexit.export.cloud import CloudDest

LANG_HELP = ("Language of index.html: en, da, de, fr, it or nl "
             "[config: report.lang; default en].")
LINK_HELP = ("Hard-link the backup's files into ARCHIVE instead of copying them (no bytes "
             "written; on the same file system, else each is copied). Linked files are made "
             "read-only, in BACKUP_DIR too (one file, two names); sfexit never rewrites a "
             "backup file in place, so resuming, verifying or deleting the backup leaves "
             "ARCHIVE's bytes alone. A local ARCHIVE only.")


@click.group()
def archive() -> None:
    """The exit archive: a BagIt bag of a backup with one SQLite database of the whole org."""


def work_dir_option(f: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--work-dir", type=click.Path(path_type=Path, file_okay=False),
        help="For s3://, gs://, az:// URLs: where build writes the database and the other "
             "tag files (the payload goes from BACKUP_DIR to the bucket) and verify downloads "
             "the archive (its whole size); default: the system's temporary directory.")(f)


@archive.command("build")
@click.argument("backup_dir", metavar="BACKUP_DIR|URL")
@click.option("--out", required=True, metavar="ARCHIVE",
              help="New (or empty) directory for the archive, or an s3://, gs:// or az:// "
                   "URL (a new prefix; needs the extra: pip install 'sfexit[s3]').")
@click.option("--lang", metavar="LANG", help=LANG_HELP)
@click.option("--link", is_flag=True, help=LINK_HELP)
@endpoint_option
@work_dir_option
@json_option
@pass_app
def build(app: AppContext, backup_dir: str, out: str, lang: str | None, link: bool,
          endpoint_url: str | None, work_dir: Path | None) -> int:
    """Build the archive of the backup in BACKUP_DIR (a finished `sfexit export bulk`).

    BACKUP_DIR may be the s3:// URL of `export bulk --dest`: its manifest, describes and
    CSVs are downloaded, its file bodies too unless ARCHIVE is in the same S3 store (then
    copied inside it).

    Writes ARCHIVE as a BagIt bag (RFC 8493): the backup as downloaded in data/, and beside it
    archive.sqlite (one table per object), metadata.json (Datasette labels) and index.html.
    For a cloud ARCHIVE only those files are written locally: the backup's files are sent
    from BACKUP_DIR, each SHA-256 checked as it is sent, bagit.txt last, and the upload
    checked. Contract dates come from the config's [contract] when set. Exit 2 when
    BACKUP_DIR is not a finished, complete backup, ARCHIVE is not empty or its bucket does
    not exist; 3 when the storage refuses the credentials; 1 when a file's SHA-256 or a CSV's
    row count is not the manifest's, or the upload fails. Nothing is left half-written: an
    upload cut short keeps what it sent, without bagit.txt (no bag), and the same command
    resumes it.
    """
    from sfexit.archive.build import check_link
    from sfexit.archive.destination import parse_destination
    from sfexit.export.cloud import open_cloud_dest, require_export
    from sfexit.report.i18n import check_lang
    from sfexit.storage import parse_remote

    chosen = check_lang(lang) if lang is not None else None
    from_url = parse_remote(backup_dir) is not None
    dest = parse_destination(out, endpoint_url=endpoint_url if parse_remote(out) or not from_url
                             else None)
    check_link(link, dest.text if dest.remote else None, "--out")
    if dest.local is not None:
        require_writable_dir(dest.local, "--out")
    cloud = open_cloud_dest(backup_dir, endpoint_url, app.reach()) if from_url else None
    if cloud is not None:
        require_export(cloud)
    summary = (build_into(app, dest, Path(backup_dir), lang=chosen, work_dir=work_dir,
                          link=link) if cloud is None
               else build_from_bucket(app, dest, cloud, lang=chosen, work_dir=work_dir,
                                      link=link))
    app.out.result(to_jsonable(summary), lambda: built_text(summary, endpoint_url,
                                                            from_download=cloud is not None))
    return 0


def build_into(app: AppContext, dest: Destination, backup_dir: Path, *, lang: str | None = None,
               work_dir: Path | None = None, link: bool = False,
               in_bucket: Mapping[str, InBucket] | None = None) -> ArchiveSummary:
    """The one way a command builds an archive (``archive build``, ``export bulk --archive``):
    language and contract dates from the config unless given. ``in_bucket``: build_to's."""
    from sfexit.archive.destination import build_to

    settings = app.settings()
    return build_to(dest, backup_dir, work_dir=work_dir, on_step=app.out.info,
                    reach=app.reach(),
                    in_bucket=in_bucket, lang=lang or settings.report.lang,
                    contract_start=settings.contract.start,
                    contract_end=settings.contract.end, link=link)


def build_from_bucket(app: AppContext, dest: Destination, cloud: CloudDest, *,
                      lang: str | None = None, work_dir: Path | None = None,
                      link: bool = False) -> ArchiveSummary:
    """``build_into`` of the export in a bucket (docs/cloud-export.md, "--archive"): its
    manifest, describes and CSVs downloaded to a temporary directory (the database reads
    them); its file bodies copied inside the store when ``dest`` is in the same one, else
    downloaded too (the caller checked it holds an export: export.cloud.require_export, or
    the export just made). Raises UsageError for a delta whose base is in a bucket (download
    both, then build from the directory)."""
    from sfexit.archive.destination import InBucket
    from sfexit.export.cloud import downloaded
    from sfexit.export.manifest import ManifestStore
    from sfexit.storage_checked import same_store

    inside = dest.remote is not None and same_store(cloud.remote, dest.remote)
    app.out.info(f"downloading the export in {cloud.remote.url} to build its archive"
                 + (" (the file bodies are copied inside the store)" if inside else ""))
    with downloaded(cloud, bodies=not inside) as mirror:
        base = ManifestStore.load(mirror.directory).manifest.base
        if base is not None and "://" in base.path:
            raise errors.UsageError(DELTA_IN_BUCKET, hint=DELTA_IN_BUCKET_HINT)
        in_bucket = {path: InBucket(cloud.fs, cloud.remote, path, size, mirror.sent.get(path))
                     for path, size in mirror.elsewhere.items()}
        return build_into(app, dest, mirror.directory, lang=lang, work_dir=work_dir,
                          link=link, in_bucket=in_bucket)


DELTA_IN_BUCKET = "the archive of a delta whose base is in a bucket is not built from the bucket"
DELTA_IN_BUCKET_HINT = ("download the base and the delta side by side, then run `sfexit "
                        "archive build DELTA_DIR` (docs/cloud-export.md)")


def built_text(summary: ArchiveSummary, endpoint_url: str | None = None, *,
               from_download: bool = False) -> str:
    """The summary line, then how to open and check it (the same endpoint, when one was given:
    the verify command it prints must work as printed). ``from_download``: the export is in a
    bucket, its files linked from the temporary download (build_from_bucket)."""
    index = (f"{summary.archive}/index.html" if "://" in summary.archive
             else Path(summary.archive) / "index.html")
    return (f"Archive of {summary.org_name or summary.org_id} written to {summary.archive}: "
            f"{plural(len(summary.tables), 'table')} ({plural(summary.rows, 'row')}), "
            f"{plural(summary.files, 'file')}, {plural(summary.weekly_parts, 'weekly part')}, "
            f"{plural(summary.skipped, 'object')} skipped by Salesforce.\n"
            f"{linked_text(summary, from_download)}"
            f"Open {index}; "
            f"check it with `sfexit archive verify {summary.archive}"
            + (f" --endpoint-url {endpoint_url}`." if endpoint_url else "`."))


def linked_text(summary: ArchiveSummary, from_download: bool = False) -> str:
    """With --link: how many files were linked, and once, how many had to be copied. Linked
    from a bucket's export, they come from its temporary download: no backup on this disk
    was made read-only."""
    if not summary.linked and not summary.link_fallbacks:
        return ""
    source = ("the export's temporary download (no second copy written)" if from_download
              else "the backup (now read-only there too)")
    text = f"{plural(summary.linked, 'file')} hard-linked from {source}"
    if summary.link_fallbacks:
        text += (f"; {plural(summary.link_fallbacks, 'file')} copied instead: they could not "
                 "be linked (another file system than the backup's, or one without hard links)")
    return text + ".\n"


@archive.command("verify")
@click.argument("archive_dir", metavar="ARCHIVE")
@endpoint_option
@work_dir_option
@json_option
@pass_app
def verify(app: AppContext, archive_dir: str, endpoint_url: str | None,
           work_dir: Path | None) -> int:
    """Check ARCHIVE: BagIt validation (every SHA-256), the backup against its manifest, and
    every table's row count and file hash in archive.sqlite against the manifest.

    ARCHIVE is a directory or an s3://, gs:// or az:// URL (downloaded to a temporary
    directory first: every byte is re-read from the bucket). Exit 0 when everything matches,
    1 when anything differs (each problem names its file), 2 when ARCHIVE is no archive.
    """
    from sfexit.archive.destination import parse_destination, verify_at

    dest = parse_destination(archive_dir, endpoint_url=endpoint_url)
    report = verify_at(dest, work_dir=work_dir, on_step=app.out.info, reach=app.reach())
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
