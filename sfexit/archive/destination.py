"""Where an archive is built and verified: a directory, or a cloud URL (``s3://bucket/prefix``,
``gs://…``, ``az://…``; docs/archive.md, "Cloud destinations").

A cloud archive is built as a local one first, in a temporary directory under ``work_dir``
(default: the system's temporary directory, ``TMPDIR``), validated there with the stock BagIt
checks, then uploaded and the upload checked; only then is it reported built:

1. before anything is built: the URL, the provider's package, the bucket and the credentials
   are checked by listing the prefix, which must hold nothing (an archive is never
   overwritten; exit 2, or 3 for refused credentials);
2. the upload order makes a partial upload no bag: the payload (``data/``) and the other tag
   files first (UPLOAD_WORKERS at a time), then one by one ``manifest-sha256.txt``,
   ``bag-info.txt``, ``tagmanifest-sha256.txt`` and ``bagit.txt`` last. RFC 8493 §2.1.1: a bag MUST have ``bagit.txt``, so until the last
   object is there no tool takes the prefix for a bag;
3. S3 checks the SHA-256 of every single-request upload on arrival (store.put);
4. after the upload: the prefix holds exactly the bag's files, each of its size, and the
   four bag files (bagit.txt, bag-info.txt and both manifests) are read back and their
   SHA-256 compared with the local bag's;
5. any failure or Ctrl-C on the way deletes what was uploaded, ``bagit.txt`` first, and the
   error says what could not be deleted.

``verify`` of a URL downloads the archive into a temporary directory under ``work_dir`` and
runs every check of ``sfexit archive verify`` on it: everything is re-read from the bucket.
"""

from __future__ import annotations

import dataclasses
import hashlib
import shutil
import tempfile
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bagit

from sfexit.archive.bag import ALGORITHM, validate
from sfexit.archive.build import ArchiveSummary, build_archive, check_out
from sfexit.archive.store import Remote, get, listing, open_store, parse_remote, put, read, remove
from sfexit.archive.verify import ArchiveVerifyReport, verify_archive
from sfexit.errors import SfexitError, UsageError

# Uploaded last, in this order: the bag's own files, so that an upload cut short anywhere
# before the end leaves no bagit.txt, hence no bag (module docstring).
LAST = ("manifest-sha256.txt", "bag-info.txt", f"tagmanifest-{ALGORITHM}.txt", "bagit.txt")
READ_BACK = LAST
# The files before LAST go up this many at a time: an object store takes many requests at
# once, and an export's file bodies are often thousands of small objects, each a round trip.
UPLOAD_WORKERS = 8


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
        raise UsageError("--endpoint-url is for s3:// destinations (S3-compatible stores)")
    return Destination(text=str(text), local=Path(text))


def check_destination(dest: Destination, backup_dir: Path) -> None:
    """Everything about ``dest`` that can be known before building: raises UsageError (exit 2)
    or AuthError (exit 3) with one line. Lists the bucket: call it before the org is asked."""
    if dest.local is not None:
        check_out(backup_dir, dest.local)
        return
    assert dest.remote is not None
    fs = open_store(dest.remote)
    found = listing(fs, dest.remote)
    if found:
        raise UsageError(f"--out {dest.text} is not empty ({len(found)} objects)",
                         hint="give a new prefix; an archive is never overwritten")


def build_to(dest: Destination, backup_dir: Path, *, work_dir: Path | None = None,
             on_step: Callable[[str], None] | None = None, **options: Any) -> ArchiveSummary:
    """``build_archive`` to ``dest``; ``options`` are build_archive's (lang, contract dates).

    Raises as build_archive does, and as check_destination; SfexitError when the upload or
    its check fails (nothing claiming to be an archive is left)."""
    step = on_step or (lambda _s: None)
    if dest.local is not None:
        return build_archive(backup_dir, dest.local, on_step=step, **options)
    assert dest.remote is not None
    check_destination(dest, backup_dir)
    work = _work_dir(work_dir)
    try:
        bag = work / "ARCHIVE"
        summary = build_archive(backup_dir, bag, on_step=step, **options)
        step("validating the bag before uploading it (every SHA-256)")
        problems = validate(bag)
        if problems:
            raise SfexitError(f"the archive built in {bag} is not a valid bag: "
                              f"{problems[0][0]} {problems[0][1]}")
        step(f"uploading to {dest.text}")
        upload_bag(bag, open_store(dest.remote), dest.remote)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return dataclasses.replace(summary, archive=dest.text)


def verify_at(dest: Destination, *, work_dir: Path | None = None,
              on_step: Callable[[str], None] | None = None) -> ArchiveVerifyReport:
    """``verify_archive`` of ``dest``; a cloud archive is downloaded first (every byte is
    re-read from the bucket). Raises UsageError when ``dest`` holds no archive."""
    if dest.local is not None:
        return verify_archive(dest.local)
    assert dest.remote is not None
    remote, step = dest.remote, on_step or (lambda _s: None)
    fs = open_store(remote)
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


def upload_bag(bag: Path, fs: Any, remote: Remote) -> None:
    """Upload the bag in ``bag`` under ``remote`` and check the upload (module docstring).
    On any failure or interruption, delete what was uploaded and raise."""
    hashes = bag_hashes(bag)
    done: list[str] = []
    try:
        if listing(fs, remote):   # checked before the build; someone may have written since
            raise UsageError(f"{remote.url} is no longer empty",
                             hint="give a new prefix; an archive is never overwritten")
        order = upload_order(hashes)
        _put_all(fs, remote, bag, hashes, [p for p in order if p not in LAST], done)
        for relative in [p for p in order if p in LAST]:   # one at a time: bagit.txt last
            put(fs, remote, bag / relative, relative, hashes[relative])
            done.append(relative)
        check_upload(bag, fs, remote, hashes)
    except BaseException as exc:
        left = remove(fs, remote, list(reversed(done)))   # bagit.txt first
        if not isinstance(exc, SfexitError):
            raise
        if not left:
            undone = f"; the {len(done)} objects uploaded were deleted"
        elif "bagit.txt" in left:
            undone = f"; {len(left)} uploaded objects could not be deleted, bagit.txt among them"
        else:
            undone = (f"; {len(left)} uploaded objects could not be deleted (no bagit.txt "
                      "among them: the prefix is no bag)")
        exc.message += undone     # the same error (class, exit code), told what is left
        raise


def _put_all(fs: Any, remote: Remote, bag: Path, hashes: dict[str, str], paths: list[str],
             done: list[str]) -> None:
    """Put ``paths`` UPLOAD_WORKERS at a time, each one put appended to ``done``. The first
    failure (or Ctrl-C) cancels what has not started, waits for what has, and is raised."""
    pool = ThreadPoolExecutor(UPLOAD_WORKERS, thread_name_prefix="sfexit-upload")
    futures = {pool.submit(put, fs, remote, bag / p, p, hashes[p]): p for p in paths}
    try:
        for future in as_completed(futures):
            future.result()
    except BaseException:
        for future in futures:
            future.cancel()
        raise
    finally:
        pool.shutdown(wait=True)
        done += [p for f, p in futures.items()
                 if f.done() and not f.cancelled() and f.exception() is None]


def upload_order(hashes: dict[str, str]) -> list[str]:
    """The payload, then the other tag files, then LAST in its order."""
    rest = [p for p in hashes if p not in LAST]
    return (sorted(p for p in rest if p.startswith("data/"))
            + sorted(p for p in rest if not p.startswith("data/"))
            + [p for p in LAST if p in hashes])


def bag_hashes(bag: Path) -> dict[str, str]:
    """Every file of the bag (posix path relative to it) → its SHA-256: from the bag's two
    manifests (nothing is hashed again), ``tagmanifest-sha256.txt`` itself hashed here."""
    entries = bagit.Bag(str(bag)).entries
    out = {}
    for path in sorted(p for p in bag.rglob("*") if p.is_file()):
        relative = path.relative_to(bag).as_posix()
        known = entries.get(relative, {}).get(ALGORITHM)
        out[relative] = known or _sha256(path)
    return out


def check_upload(bag: Path, fs: Any, remote: Remote, hashes: dict[str, str]) -> None:
    """The prefix holds exactly the bag's files, each of its size; the bag's own files read
    back have their SHA-256. Raises SfexitError naming the first difference."""
    found = listing(fs, remote)
    for relative in sorted(set(hashes) | set(found)):
        size = (bag / relative).stat().st_size if relative in hashes else None
        if found.get(relative) != size:
            raise SfexitError(f"the upload to {remote.url} does not match the bag: "
                              f"{relative}: {size} bytes in the bag, "
                              f"{found.get(relative)} in the bucket")
    for relative in READ_BACK:
        digest = hashlib.sha256(read(fs, remote, relative)).hexdigest()
        if digest != hashes[relative]:
            raise SfexitError(f"the upload to {remote.url} does not match the bag: "
                              f"{relative}: SHA-256 {digest} read back, {hashes[relative]} "
                              "in the bag")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _work_dir(work_dir: Path | None) -> Path:
    if work_dir is not None:
        work_dir.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=".sfexit-archive.", suffix=".work", dir=work_dir))
