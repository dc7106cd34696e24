"""``sfexit export bulk``'s options checked together, before the org is asked or anything is
written (STYLE.md: bad input gets one line and exit 2, or 3 for credentials the storage
refuses): the destination (a directory, or a bucket whose credentials are tried), ``--since``,
``--archive`` with ``--link``, ``--resume`` and ``--reserve``; and the export's options.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import click

from sfexit import errors
from sfexit.cli.context import AppContext, require_writable_dir
from sfexit.config import ExportSettings, parse_reserve

if TYPE_CHECKING:
    from sfexit.archive.destination import Destination
    from sfexit.export.cloud import CloudDest
    from sfexit.export.data_run import ExportOptions
    from sfexit.export.delta import DeltaBase
    from sfexit.storage import Reach


@dataclass(frozen=True)
class BulkTargets:
    """Where ``export bulk`` reads and writes, each checked (check_bulk_options)."""

    target: str                     # --dest, else [export] dest: a directory or a URL
    cloud: CloudDest | None         # target as a bucket; None: a directory
    base: DeltaBase | None          # --since: the export the delta is of
    archive: Destination | None     # --archive
    reserve_pct: float              # --reserve, else [export] reserve
    settings: ExportSettings        # [export]

    @property
    def named(self) -> str:
        """The export as the messages name it: its directory, or its URL."""
        return self.target if self.cloud is None else self.cloud.remote.url


def check_bulk_options(app: AppContext, *, dest: str | None, since: str | None,
                       archive_to: str | None, link: bool, resume: bool, reserve: str | None,
                       endpoint_url: str | None) -> BulkTargets:
    """Every check of ``export bulk``'s options that can be made before the org is asked;
    lists the buckets named. Raises UsageError or ConfigError (exit 2), AuthError (exit 3)."""
    from sfexit.export.cloud import open_base_at

    if link and archive_to is None:
        raise errors.UsageError("--link is for --archive: give both, or neither")
    base = (open_base_at(since, endpoint_url, app.reach())     # before the org is asked
            if since is not None else None)
    reserve_pct = parse_reserve(reserve) if reserve is not None else None
    cfg = app.settings().export
    target = dest or cfg.dest_url or cfg.dest
    if target is None:
        raise errors.UsageError("no backup directory: pass --dest DIR or set [export] dest "
                                "in the config")
    target = str(target)
    cloud = cloud_destination(target, endpoint_url, since=since, archive_to=archive_to,
                              reach=app.reach())
    _check_delta(base, cloud, archive_to)
    if cloud is None:
        require_writable_dir(Path(target), "--dest")
    held = ("manifest.json" in cloud.found if cloud is not None
            else (Path(target) / "manifest.json").is_file())
    if resume and not held:
        raise errors.UsageError(f"--resume: {target} holds no export to continue (no "
                                "manifest.json); leave out --resume to start one there")
    archive = archive_destination(archive_to, Path(target) if cloud is None else None,
                                  link, cloud, endpoint_url, reach=app.reach())
    return BulkTargets(target=target, cloud=cloud, base=base, archive=archive,
                       reserve_pct=cfg.reserve if reserve_pct is None else reserve_pct,
                       settings=cfg)


def export_options(to: BulkTargets, *, objects: str | None, include_deleted: bool | None,
                   parallel: int | None, rest_below: int | None) -> ExportOptions:
    """The export's options: each flag given, else its [export] setting."""
    from sfexit.export.data_run import ExportOptions

    cfg = to.settings
    return ExportOptions(
        dest=Path(to.target), objects=_objects(objects) or cfg.objects,
        include_deleted=cfg.include_deleted if include_deleted is None else include_deleted,
        parallel=parallel or cfg.parallel, since=to.base,
        rest_below=cfg.rest_below if rest_below is None else rest_below)


def _objects(value: str | None) -> tuple[str, ...] | None:
    if value is None:
        return None
    names = tuple(n.strip() for n in value.split(",") if n.strip())
    if not names:
        raise click.BadParameter("give at least one object name, e.g. Account,Contact",
                                 param_hint="--objects")
    return names


def _check_delta(base: DeltaBase | None, cloud: CloudDest | None,
                 archive_to: str | None) -> None:
    """``--since``: no archive of a delta whose base is in a bucket, no delta into its base."""
    if base is not None and archive_to is not None and "://" in base.ref.path:
        from sfexit.cli.archive import DELTA_IN_BUCKET, DELTA_IN_BUCKET_HINT

        raise errors.UsageError(DELTA_IN_BUCKET, hint=DELTA_IN_BUCKET_HINT)
    if cloud is not None and base is not None and base.ref.path == cloud.remote.url:
        raise errors.UsageError(f"--since: the delta cannot be written into its base "
                                f"{cloud.remote.url}", hint="give a new --dest for the delta")


def cloud_destination(target: str, endpoint_url: str | None, *, since: str | None,
                      archive_to: str | None, reach: Reach | None = None) -> CloudDest | None:
    """``--dest`` as a checked cloud destination (URL, bucket, credentials: exit 2 or 3), or
    None for a directory. ``--endpoint-url`` serves every URL of the command (``--dest``,
    ``--since``, ``--archive``); it is refused when none is one."""
    from sfexit.export.cloud import open_cloud_dest
    from sfexit.storage import ENDPOINT_MISUSED, parse_remote

    if endpoint_url and not any(text is not None and parse_remote(text) is not None
                                for text in (target, since, archive_to)):
        raise errors.UsageError(ENDPOINT_MISUSED, hint=f"--dest {target} is a local directory")
    return open_cloud_dest(target, endpoint_url if parse_remote(target) else None, reach)


def archive_destination(archive_to: str | None, backup_dir: Path | None, link: bool,
                        cloud: CloudDest | None, endpoint_url: str | None = None, *,
                        reach: Reach | None = None) -> Destination | None:
    """``--archive`` parsed and checked (new or empty, bucket reachable, ``--link`` only with
    a directory, neither inside the other when both are in a bucket): UsageError or
    AuthError before the org is asked. ``backup_dir`` None: the export goes to ``cloud``."""
    if archive_to is None:
        return None
    from sfexit.archive.build import check_link
    from sfexit.archive.destination import check_destination, parse_destination
    from sfexit.storage import parse_remote

    archive_dest = parse_destination(archive_to, endpoint_url=endpoint_url
                                     if parse_remote(archive_to) else None)
    check_link(link, archive_dest.text if archive_dest.remote else None, "--archive")
    if archive_dest.local is not None:
        require_writable_dir(archive_dest.local, "--archive")
    if cloud is not None and archive_dest.remote is not None:
        ours, theirs = cloud.remote.url + "/", archive_dest.remote.url + "/"
        if ours.startswith(theirs) or theirs.startswith(ours):
            raise errors.UsageError(f"--archive {archive_dest.text} and --dest "
                                    f"{cloud.remote.url}: one is inside the other",
                                    hint="give the archive a prefix of its own")
    check_destination(archive_dest, backup_dir, reach)
    return archive_dest
