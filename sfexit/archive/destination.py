"""Where an archive is built and verified: a directory, or a cloud URL (``s3://bucket/prefix``,
``gs://…``, ``az://…``; docs/archive.md, "Cloud destinations").

For a cloud archive only the tag files (the bag's own files, ``archive.sqlite``, ``index.html``,
``metadata.json``) are built locally, in a temporary directory under ``work_dir`` (default:
the system's temporary directory, ``TMPDIR``); the payload is never copied there: each file
is sent from the export itself, its SHA-256 computed as it is read to be sent and compared
with the bag's manifest (the export's own hashes) before it is stored
(storage_checked.put). Then the upload is checked; only then is the archive reported built
(archive/upload.py: the order, the checks and the resume).

``verify`` of a URL downloads the archive into a temporary directory under ``work_dir`` and
runs every check of ``sfexit archive verify`` on it: everything is re-read from the bucket.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sfexit.archive.build import (PAYLOAD, ArchiveSummary, build_archive, check_out,
                                  payload_files)
from sfexit.archive.upload import (InBucket, bag_hashes, check_resumable, export_identity,
                                   tag_files, upload_bag)
from sfexit.archive.verify import ArchiveVerifyReport, verify_archive
from sfexit.errors import SfexitError, UsageError
from sfexit.storage import (ENDPOINT_MISUSED, Reach, Remote, get, listing, open_store,
                            parse_remote)


@dataclass(frozen=True)
class Destination:
    """``--out``: exactly one of a local directory or a cloud URL."""

    text: str
    local: Path | None = None
    remote: Remote | None = None


def parse_destination(text: str, *, endpoint_url: str | None = None) -> Destination:
    """Raises UsageError for a malformed URL (store.parse_remote)."""
    remote = parse_remote(str(text), endpoint_url)
    if remote is not None:
        return Destination(text=remote.url, remote=remote)
    if endpoint_url:
        raise UsageError(ENDPOINT_MISUSED)
    return Destination(text=str(text), local=Path(text))


def check_destination(dest: Destination, backup_dir: Path | None,
                      reach: Reach | None = None) -> None:
    """Everything about ``dest`` that can be known before building: raises UsageError (exit 2)
    or AuthError (exit 3) with one line. Lists the bucket: call it before the org is asked.
    ``backup_dir`` None: the export is not made yet, or not in a directory (a bucket)."""
    if dest.local is not None:
        check_out(backup_dir, dest.local)
        return
    assert dest.remote is not None
    fs = open_store(dest.remote, reach)
    check_resumable(fs, dest.remote, listing(fs, dest.remote),
                    export_identity(backup_dir) if backup_dir is not None else None,
                    "is not empty")


def build_to(dest: Destination, backup_dir: Path, *, work_dir: Path | None = None,
             on_step: Callable[[str], None] | None = None,
             in_bucket: Mapping[str, InBucket] | None = None, reach: Reach | None = None,
             **options: Any) -> ArchiveSummary:
    """``build_archive`` to ``dest``; ``options`` are build_archive's (lang, contract dates).
    ``in_bucket`` (a cloud ``dest`` in the same store, a full export): its files that are
    not in ``backup_dir``, by their path in the export, copied inside the store.

    Raises as build_archive does, and as check_destination; SfexitError when the upload or
    its check fails (nothing claiming to be an archive is left)."""
    step = on_step or (lambda _s: None)
    if dest.local is not None:
        return build_archive(backup_dir, dest.local, on_step=step, **options)
    assert dest.remote is not None
    check_destination(dest, backup_dir, reach)
    work = _work_dir(work_dir)
    try:
        bag = work / "ARCHIVE"      # the tag files only: the payload is sent from the export
        elsewhere = {path: f.size for path, f in (in_bucket or {}).items()}
        summary = build_archive(backup_dir, bag, on_step=step, stage_payload=False,
                                elsewhere=elsewhere, **options)
        hashes = bag_hashes(bag)
        files: dict[str, Path | InBucket] = {**payload_files(backup_dir), **tag_files(bag)}
        files.update({f"{PAYLOAD}/{path}": f for path, f in (in_bucket or {}).items()})
        if set(hashes) != set(files):
            raise SfexitError(f"the export in {backup_dir} changed while the archive was "
                              "being built (its files are not the bag's manifest's)",
                              hint="let the export finish, then build the archive again")
        identity = export_identity(backup_dir)
        assert identity is not None      # build_archive read it
        step(f"uploading to {dest.text}: the payload from {backup_dir}, every SHA-256 "
             "checked as it is sent")
        upload_bag(files, hashes, open_store(dest.remote), dest.remote, identity,
                   on_step=step)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dataclasses.replace(summary, archive=dest.text)


def verify_at(dest: Destination, *, work_dir: Path | None = None,
              on_step: Callable[[str], None] | None = None,
              reach: Reach | None = None) -> ArchiveVerifyReport:
    """``verify_archive`` of ``dest``; a cloud archive is downloaded first (every byte is
    re-read from the bucket). Raises UsageError when ``dest`` holds no archive."""
    if dest.local is not None:
        return verify_archive(dest.local)
    assert dest.remote is not None
    remote, step = dest.remote, on_step or (lambda _s: None)
    fs = open_store(remote, reach)
    objects = listing(fs, remote)
    if "bagit.txt" not in objects or "data/manifest.json" not in objects:
        raise UsageError(f"{dest.text} is not an sfexit archive (no bagit.txt or "
                         "data/manifest.json)", hint="give the --out of `sfexit archive build`")
    work = _work_dir(work_dir)
    try:
        step(f"downloading {len(objects)} objects from {dest.text}")
        for relative in sorted(objects):
            get(fs, remote, relative, work / "ARCHIVE")
        report = verify_archive(work / "ARCHIVE")
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dataclasses.replace(report, archive=dest.text)


def _work_dir(work_dir: Path | None) -> Path:
    if work_dir is not None:
        work_dir.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=".sfexit-archive.", suffix=".work", dir=work_dir))
