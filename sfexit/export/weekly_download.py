"""The weekly export's parts: downloaded, verified and unpacked (policy in :mod:`weekly`).

Facts behind each rule are in research/export-protocol.md:

- Each part: HEAD ``Content-Length``, streamed to ``<name>.part`` with SHA-256 in the same pass,
  ``Range`` only where the server answers 206 (:func:`sfexit.org.uisession.download_to`),
  ``zipfile`` integrity, then renamed. An HTML page where a zip was expected is an
  authentication failure, never data.
- Files are "available on this page for 48 hours", or until a new export starts: a 404 or
  "Data Not Available" is :class:`WeeklyFilesExpired`.
- Extraction refuses any member path that would escape the destination.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import zipfile
import zlib
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urljoin

from sfexit import errors
from sfexit.export.weekly_page import ExportFileLink
from sfexit.ondisk import file_sha256
from sfexit.org.uisession import (BrokenDownload, UiResponse, UiSession, announced_size,
                                  download_to, is_login_page, is_login_url)

CHUNK = 1 << 20
ATTEMPTS = 4                 # whole-file attempts per part (SF-DataExport retries 10, Go 3)
SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,200}$")


class WeeklyFilesExpired(errors.SfexitError):
    name = "WeeklyFilesExpired"


class UnsafeArchive(errors.SfexitError):
    name = "UnsafeArchive"


@dataclass(frozen=True)
class DownloadedPart:
    name: str
    size: int
    sha256: str
    path: Path
    reused: bool = False           # already complete on disk from an earlier run


def _expired(link: ExportFileLink) -> WeeklyFilesExpired:
    return WeeklyFilesExpired(
        f"{link.name} is no longer available: export files are deleted 48 hours after the "
        "export completes, or as soon as a new export starts",
        hint="run `sfexit export weekly` to see what is listed now, or `--trigger` a new export")


def _check_answer(ui: UiSession, response: UiResponse, link: ExportFileLink) -> None:
    """Raise unless ``response`` is the zip itself (200/206)."""
    content_type = response.headers.get("Content-Type", "")
    if response.is_redirect:
        location = response.headers.get("Location", "")
        if is_login_url(urljoin(response.url, location)):
            raise ui.auth_error(f"the download of {link.name}")
        raise errors.SalesforceError(f"the download of {link.name} was redirected elsewhere")
    if "html" in content_type.lower():
        text = "" if response.request.method == "HEAD" else response.text[:65536]
        if response.status_code == 404 or "Data Not Available" in text:
            raise _expired(link)
        if response.request.method == "HEAD" or is_login_page(content_type, text):
            # An HTML answer to a zip URL is the login page or worse: never data.
            raise ui.auth_error(f"the download of {link.name} (an HTML page instead of a zip)")
        raise errors.SalesforceError(f"the org answered an HTML page instead of {link.name}")
    if response.status_code == 404:
        raise _expired(link)
    if response.status_code not in (200, 206):
        raise errors.SalesforceError(f"the download of {link.name} failed: HTTP "
                                     f"{response.status_code}", status=response.status_code)


def _zip_ok(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.testzip() is None
    except (zipfile.BadZipFile, OSError, EOFError):
        return False


def download_part(ui: UiSession, link: ExportFileLink, folder: Path) -> DownloadedPart:
    """One part, verified, at ``folder/<name>``; the UI session is reopened once when the org
    sends the login page. Raises AuthError, WeeklyFilesExpired, SalesforceError (still broken
    after the attempts)."""
    seen = ui.generation
    try:
        return _download_part(ui, link, folder)
    except errors.AuthError:
        ui.reopen(seen)
    return _download_part(ui, link, folder)


def _download_part(ui: UiSession, link: ExportFileLink, folder: Path) -> DownloadedPart:
    if not SAFE_NAME.match(link.name):
        raise errors.SalesforceError(f"unexpected export file name {link.name!r}; not saved")
    head = ui.head(link.url)
    expected = None
    if head.status_code not in (405, 501):   # a server without HEAD: trust the GET's length
        _check_answer(ui, head, link)
        expected = announced_size(head)
    final, partial = folder / link.name, folder / f"{link.name}.part"
    if final.exists() and expected == final.stat().st_size and _zip_ok(final):
        return DownloadedPart(link.name, expected, file_sha256(final), final, reused=True)
    problem = ""
    for _attempt in range(ATTEMPTS):
        try:
            got = download_to(ui, link.url, partial, check=lambda r: _check_answer(ui, r, link))
        except BrokenDownload as exc:
            problem = str(exc)
            continue
        size, sha256 = got.size, got.sha256
        want = expected if expected is not None else got.announced
        if want is not None and size != want:
            problem = f"{size} bytes received, {want} announced"
        elif not _zip_ok(partial):
            problem = "not a valid zip"
        else:
            os.replace(partial, final)
            return DownloadedPart(link.name, size, sha256, final)
    raise errors.SalesforceError(f"{link.name} could not be downloaded intact after {ATTEMPTS} "
                                 f"attempts ({problem})", hint="run the command again to retry")


def download_parts(ui: UiSession, links: Sequence[ExportFileLink], folder: Path, *,
                   parallel: int = 4, on_part: Callable[[DownloadedPart], None] | None = None
                   ) -> list[DownloadedPart]:
    """Every part, ``parallel`` at a time; the first failure stops the rest and is raised."""
    folder.mkdir(parents=True, exist_ok=True)
    done: dict[str, DownloadedPart] = {}
    pool = ThreadPoolExecutor(max_workers=max(1, parallel), thread_name_prefix="weekly")
    try:
        futures = [pool.submit(download_part, ui, link, folder) for link in links]
        for future in as_completed(futures):
            part = future.result()          # the first failure is raised here
            done[part.name] = part
            if on_part is not None:         # recorded as each part completes
                on_part(part)
    finally:
        # On a failure or Ctrl-C: start nothing new; a part being fetched stays a .part file.
        pool.shutdown(wait=True, cancel_futures=True)
    return [done[link.name] for link in links]


# --- extract ------------------------------------------------------------------------------------
def safe_member_path(root: Path, member: str) -> Path:
    """Where ``member`` goes under ``root``; raises UnsafeArchive when it would escape (absolute,
    drive letter, ``..``, backslash tricks)."""
    posix = member.replace("\\", "/")
    pure = PurePosixPath(posix)
    if (pure.is_absolute() or re.match(r"^[A-Za-z]:", posix) or ".." in pure.parts
            or "\x00" in posix):
        raise UnsafeArchive(f"refused: member {member!r} would be written outside {root}")
    target = (root / pure).resolve()
    if not target.is_relative_to(root.resolve()):
        raise UnsafeArchive(f"refused: member {member!r} would be written outside {root}")
    return target


@dataclass(frozen=True)
class ExtractLimits:
    """How far one part may expand (``export weekly --max-extract-bytes/--max-ratio``).

    Salesforce splits the export into zips of at most ~512 MB (export-protocol.md); CSV and
    office files compress 5–20×, rarely 100×. A part that expands past these is refused as a
    zip bomb before it fills the disk (issue 19: a 306 KB part expanded to 315 MB silently).
    The ratio applies to members past ``RATIO_FLOOR`` bytes: a tiny file of repeated bytes
    compresses far better and is harmless.
    """

    max_bytes: int = 16 * 1024 ** 3      # uncompressed bytes of one part, all members
    max_ratio: float = 200.0             # a member's bytes / its compressed bytes


RATIO_FLOOR = 1 << 20


def extract_parts(parts: Sequence[DownloadedPart], root: Path,
                  limits: ExtractLimits = ExtractLimits()) -> Path:
    """Unpack every part under ``root``, all or nothing: into a temporary folder beside it,
    moved into place only when every part is out (an earlier ``root`` is replaced then).
    Every member is checked before any is written: a path escaping ``root``, a symbolic link
    or other special file, a name that is both a file and a folder refuse the part; a member
    expanding past ``limits`` (counted while writing, not taken from the zip's header) is
    refused as it happens. Raises UnsafeArchive; nothing is left half-extracted."""
    root.parent.mkdir(parents=True, exist_ok=True)
    staging = root.parent / f".{root.name}.tmp-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        for part in parts:
            _extract_part(part, staging, root, limits)
        previous = root.parent / f".{root.name}.old-{os.getpid()}"
        if root.exists():
            root.rename(previous)
        staging.rename(root)
        shutil.rmtree(previous, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return root


def _extract_part(part: DownloadedPart, staging: Path, root: Path,
                  limits: ExtractLimits) -> None:
    try:
        archive = zipfile.ZipFile(part.path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise UnsafeArchive(f"cannot open {part.name} as a zip: {exc}") from None
    with archive:
        members = _checked_members(part, archive, staging, root)
        written = 0
        for info, target in members:
            if info.is_dir():
                target.mkdir(parents=True, exist_ok=True)
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            written += _copy_member(part, archive, info, target, limits, written)


def _checked_members(part: DownloadedPart, archive: zipfile.ZipFile, staging: Path,
                     root: Path) -> list[tuple[zipfile.ZipInfo, Path]]:
    members: list[tuple[zipfile.ZipInfo, Path]] = []
    files: set[PurePosixPath] = set()
    folders: set[PurePosixPath] = set()
    for info in archive.infolist():
        safe_member_path(root, info.filename)          # the message names the real root
        kind = stat.S_IFMT(info.external_attr >> 16)
        if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
            what = "a symbolic link" if kind == stat.S_IFLNK else "a special file"
            raise UnsafeArchive(f"refused to extract {part.name}: member {info.filename!r} is "
                                f"{what}; nothing was extracted")
        relative = PurePosixPath(info.filename.replace("\\", "/"))
        (folders if info.is_dir() else files).add(relative)
        folders.update(relative.parents)
        members.append((info, safe_member_path(staging, info.filename)))
    clash = sorted(str(p) for p in files & folders) or _duplicates(archive)
    if clash:
        raise UnsafeArchive(f"refused to extract {part.name}: member {clash[0]!r} appears twice "
                            "or as both a file and a folder; nothing was extracted")
    return members


def _duplicates(archive: zipfile.ZipFile) -> list[str]:
    seen: set[str] = set()
    twice = []
    for name in archive.namelist():
        key = name.replace("\\", "/").rstrip("/")
        if key in seen:
            twice.append(name)
        seen.add(key)
    return twice


def _copy_member(part: DownloadedPart, archive: zipfile.ZipFile, info: zipfile.ZipInfo,
                 target: Path, limits: ExtractLimits, before: int) -> int:
    """Write one member, counting its bytes against ``limits``; return how many."""
    ratio_cap = max(RATIO_FLOOR, limits.max_ratio * max(1, info.compress_size))
    size = 0
    try:
        with archive.open(info) as src, open(target, "wb") as out:
            while chunk := src.read(CHUNK):
                size += len(chunk)
                if before + size > limits.max_bytes:
                    raise UnsafeArchive(
                        f"refused to extract {part.name}: member {info.filename!r} takes the "
                        f"part past {limits.max_bytes} bytes; nothing was extracted",
                        hint="raise the limit with --max-extract-bytes if the export is "
                             "really that large")
                if size > ratio_cap:
                    raise UnsafeArchive(
                        f"refused to extract {part.name}: member {info.filename!r} expands past "
                        f"{limits.max_ratio:g} times its compressed size "
                        f"({info.compress_size} bytes); nothing was extracted",
                        hint="raise the limit with --max-ratio if the file is really that "
                             "compressible")
                out.write(chunk)
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise UnsafeArchive(f"refused to extract {part.name}: member {info.filename!r} is "
                            f"damaged ({exc}); nothing was extracted") from None
    return size
