"""The bag's payload: the export placed once and hashed once, checked against its manifest.

Every file the manifest vouches for is placed into the bag, then the bag's file hashed (SHA-256)
once (docs/archive.md, "One copy, one hash"). The hash of the bag's bytes is compared with
the export's own (``manifest.json`` records the SHA-256 and size of every CSV, file body and
weekly part, docs/manifest.md): when they are equal, the export's hash is the
bag's, so ``manifest-sha256.txt`` is written from them and nothing is read again. A file that
differs is refused, never bagged with a stale hash. CSV row counts are checked by the database
build, which reads every CSV anyway (:func:`rows_differences`).

Placed by default as a copy (:func:`copy_file`): ``copy_file_range(2)``, which on XFS or btrfs
clones the file (a separate inode sharing blocks copy-on-write: no data written, and as safe
as a copy), and on ext4 copies in the kernel. With ``link`` (``archive build --link``) each
file is hard-linked instead (:func:`link_read_only`): the same inode as the export's, so no
byte is written at all. That is safe because sfexit never rewrites an export file in place:
every CSV, file body and weekly part is written to ``<name>.part`` and renamed over its name
(``export/csvsink.py`` ``PartFile.commit``, ``export/files.py`` ``_download_verified``,
``export/weekly_download.py`` ``_download_part``), and ``manifest.json`` and the describes
through ``ondisk.atomic_write``; a rename gives the name a new inode and leaves the archive's
alone, so resuming, verifying or deleting the export never touches the bag's bytes. What could
(another tool editing a file in place) is refused by the mode (write bits removed, on the
export's name too: one inode) and caught by ``archive verify``, which hashes every byte again.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from sfexit.archive.source import SCHEMA_DIR, ExportSource
from sfexit.errors import SfexitError, UsageError
from sfexit.ondisk import file_digest
from sfexit.export.manifest import MANIFEST_NAME, ManifestStore
from sfexit.export.verify import Difference


@dataclass(frozen=True)
class Expected:
    """What the export's manifest says of one file: the Difference it would be named in."""

    kind: str          # "object" | "file" | "weekly", as in ``sfexit export verify``
    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class Copied:
    size: int
    sha256: str
    linked: bool = False      # hard-linked to the export's file (--link), not a copy


def exported_paths(source: ExportSource) -> Iterator[str]:
    """Every path of the export the manifest vouches for, and the describes: what the bag's
    payload holds (``*.part`` files and anything else left in the directory are not in it)."""
    m = source.manifest
    yield MANIFEST_NAME
    for schema in sorted((source.directory / SCHEMA_DIR).glob("*.json")):
        yield f"{SCHEMA_DIR}/{schema.name}"
    yield from (entry.file for entry in m.objects.values())
    yield from (f.path for f in m.files.values())
    yield from (w.path for w in m.weekly)


def expected(source: ExportSource) -> dict[str, Expected]:
    """Path → what the manifest says of it (manifest.json and the describes are not listed)."""
    m = source.manifest
    out = {o.file: Expected("object", o.name, o.bytes, o.sha256) for o in m.objects.values()}
    out.update({f.path: Expected("file", f.key, f.size, f.sha256) for f in m.files.values()})
    out.update({w.path: Expected("weekly", w.name, w.size, w.sha256) for w in m.weekly})
    return out


def check_sizes(source: ExportSource, elsewhere: Mapping[str, int] | None = None) -> None:
    """Every listed file exists with the manifest's size (a stat each, nothing read): what
    can be refused before anything is written is. ``elsewhere``: files not in the directory
    but in a bucket (path → size listed there; destination.py's server-side copy). Raises
    UsageError naming the first."""
    diffs = []
    for relative, e in expected(source).items():
        path = source.directory / relative
        if elsewhere is not None and relative in elsewhere:
            if elsewhere[relative] != e.size:
                diffs.append((relative, Difference(e.kind, e.name, "bytes", str(e.size),
                                                   str(elsewhere[relative]))))
        elif not path.is_file():
            diffs.append((relative, Difference(e.kind, e.name, "missing", relative,
                                               "no such file")))
        elif (size := path.stat().st_size) != e.size:
            diffs.append((relative, Difference(e.kind, e.name, "bytes", str(e.size), str(size))))
    refuse(source, diffs)


def copy_payload(source: ExportSource, payload: Path, *, link: bool = False
                 ) -> dict[str, Copied]:
    """Copy (or with ``link`` hard-link) the export into ``payload`` (the bag's ``data/``) and
    hash each of the bag's files once.

    Returns path → (size, SHA-256, linked) of the bag's bytes, every one equal to the
    manifest's. Raises SfexitError naming the first file whose bytes are not the manifest's
    (nothing of the copy may be kept), or when manifest.json changed since it was read.
    """
    copied = {relative: copy_hashing(source.directory / relative, payload / relative,
                                     link=link)
              for relative in exported_paths(source)}
    diffs = [(relative, Difference(e.kind, e.name, "sha256", e.sha256, copied[relative].sha256))
             for relative, e in expected(source).items() if copied[relative].sha256 != e.sha256]
    differs(source, diffs)
    if ManifestStore.load(payload).snapshot() != source.manifest:
        raise SfexitError(f"{MANIFEST_NAME} changed while the archive was being built",
                          hint="let the export finish, then build the archive again")
    return copied


def listed_payload(source: ExportSource) -> dict[str, Copied]:
    """The payload without copying it (a cloud archive: its payload is sent from the export
    itself, destination.py): path → (size, SHA-256) as manifest.json lists them, manifest.json
    and the describes hashed here. Every byte is checked against these as it is sent
    (storage_checked.put): a file that differs is never stored under them. Raises SfexitError when
    manifest.json changed since it was read."""
    listed = {path: Copied(e.size, e.sha256) for path, e in expected(source).items()}
    out = {relative: listed.get(relative) or Copied(*file_digest(source.directory / relative))
           for relative in exported_paths(source)}
    if ManifestStore.load(source.directory).snapshot() != source.manifest:
        raise SfexitError(f"{MANIFEST_NAME} changed while the archive was being built",
                          hint="let the export finish, then build the archive again")
    return out


def copy_hashing(source: Path, target: Path, *, link: bool = False) -> Copied:
    """Place ``source`` at ``target`` (hard-linked read-only with ``link`` where the file
    system allows, else copied), then hash ``target``, still in the page cache: the hash is
    of the bag's own bytes, what ``manifest-sha256.txt`` vouches for. Hashing in Python while
    copying through it was 2x slower (bench/archive_bag.py). Raises OSError."""
    target.parent.mkdir(parents=True, exist_ok=True)
    linked = link and link_read_only(source, target)
    if not linked:
        copy_file(source, target)
    return Copied(*file_digest(target), linked=linked)


# os.link(2) errors that mean "not here" (another file system, none supported, too many links,
# Linux's protected_hardlinks for a file not owned): a copy is made instead.
_CANNOT_LINK = frozenset({errno.EXDEV, errno.EPERM, errno.EMLINK, errno.EOPNOTSUPP,
                          errno.ENOTSUP, errno.ENOSYS})
# copy_file_range(2) errors that mean "not for these two files" (another file system on
# kernels before 5.3 or since 5.19, no such call, a file system that refuses it): copyfile.
_NO_COPY_RANGE = frozenset({errno.EXDEV, errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP,
                            errno.ENOTSUP})
_WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH


def link_read_only(source: Path, target: Path) -> bool:
    """Hard-link ``source`` at ``target`` and remove the inode's write bits (0644 → 0444; a
    file readable only by its owner stays so): both names are one file now, and a tool that
    would edit either in place is refused. False, with nothing made, when this file system
    cannot link them (``_CANNOT_LINK``). Raises OSError otherwise."""
    try:
        os.link(source, target)
    except OSError as exc:
        if exc.errno in _CANNOT_LINK:
            return False
        raise
    os.chmod(target, stat.S_IMODE(os.stat(target).st_mode) & ~_WRITE_BITS)
    return True


def copy_file(source: Path, target: Path) -> None:
    """Copy ``source`` to ``target`` with ``copy_file_range(2)``: on XFS and btrfs a reflink
    (no data written), on ext4 a copy in the kernel (bench/RESULTS.md, archive_bag). Where it
    is not available (another OS, another file system, ``_NO_COPY_RANGE``) or copies short,
    ``shutil.copyfile`` (sendfile on Linux) copies the whole file again. Raises OSError."""
    copy_range = getattr(os, "copy_file_range", None)   # Linux only (Python docs, os)
    if copy_range is not None:
        try:
            with open(source, "rb") as src, open(target, "wb") as dst:
                size, copied = os.fstat(src.fileno()).st_size, 0
                while n := copy_range(src.fileno(), dst.fileno(), 1 << 30):
                    copied += n
            if copied == size:
                return
        except OSError as exc:
            if exc.errno not in _NO_COPY_RANGE:
                raise
    shutil.copyfile(source, target)


def rows_differences(source: ExportSource, tables: Mapping[str, int]
                     ) -> list[tuple[str, Difference]]:
    """Rows the database read from each CSV against the manifest's row count."""
    return [(o.file, Difference("object", name, "rows", str(o.rows), str(tables.get(name))))
            for name, o in sorted(source.manifest.objects.items())
            if tables.get(name) != o.rows]


def refuse(source: ExportSource, diffs: list[tuple[str, Difference]]) -> None:
    """What the stat check finds (before anything is written): UsageError, exit 2, naming the
    first difference and its path; nothing when ``diffs`` is empty."""
    if diffs:
        raise UsageError(_first(source, diffs),
                         hint="run `sfexit export verify` on it, then export again")


def differs(source: ExportSource, diffs: list[tuple[str, Difference]]) -> None:
    """What the reads find (the copy's hash, the database build): SfexitError, exit 1, naming the
    first difference and its path; the build removes what it wrote. Nothing when ``diffs`` is
    empty."""
    if diffs:
        raise SfexitError(_first(source, diffs),
                          hint="the export changed after it was made or while the archive "
                               "was being built: run `sfexit export verify` on it, then "
                               "export again")


def _first(source: ExportSource, diffs: list[tuple[str, Difference]]) -> str:
    relative, first = diffs[0]
    return (f"the export in {source.directory} does not match its manifest: {len(diffs)} "
            f"difference(s), first {relative} ({first.kind} {first.name}): {first.what} "
            f"{first.actual}, manifest.json says {first.expected}")
