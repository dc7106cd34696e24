"""The bag's payload: the export copied once and hashed once, checked against its manifest.

Every file the manifest vouches for is copied into the bag, then its copy hashed (SHA-256)
once (docs/archive.md, "One copy, one hash"). The hash of the bag's bytes is compared with
the export's own (``manifest.json`` records the SHA-256 and size of every CSV, file body and
weekly part, docs/manifest.md): when they are equal, the export's hash is the
bag's, so ``manifest-sha256.txt`` is written from them and nothing is read again. A file that
differs is refused, never bagged with a stale hash. CSV row counts are checked by the database
build, which reads every CSV anyway (:func:`rows_differences`).

Copied, never hard-linked: a hard link shares its inode with the export, so a later write into
the export (or a ``chmod``) would change the sealed evidence as well, and the archive is meant
to outlive the backup directory and move to other media.
"""

from __future__ import annotations

import shutil
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


def check_sizes(source: ExportSource) -> None:
    """Every listed file exists with the manifest's size (a stat each, nothing read): what
    can be refused before anything is written is. Raises UsageError naming the first."""
    diffs = []
    for relative, e in expected(source).items():
        path = source.directory / relative
        if not path.is_file():
            diffs.append((relative, Difference(e.kind, e.name, "missing", relative,
                                               "no such file")))
        elif (size := path.stat().st_size) != e.size:
            diffs.append((relative, Difference(e.kind, e.name, "bytes", str(e.size), str(size))))
    refuse(source, diffs)


def copy_payload(source: ExportSource, payload: Path) -> dict[str, Copied]:
    """Copy the export into ``payload`` (the bag's ``data/``) and hash each copy once.

    Returns path → (size, SHA-256) of the bytes written, every one equal to the manifest's.
    Raises SfexitError naming the first file whose bytes are not the manifest's (nothing of
    the copy may be kept), or when manifest.json changed since it was read.
    """
    copied = {relative: copy_hashing(source.directory / relative, payload / relative)
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
    (storage.put): a file that differs is never stored under them. Raises SfexitError when
    manifest.json changed since it was read."""
    listed = {path: Copied(e.size, e.sha256) for path, e in expected(source).items()}
    out = {relative: listed.get(relative) or Copied(*file_digest(source.directory / relative))
           for relative in exported_paths(source)}
    if ManifestStore.load(source.directory).snapshot() != source.manifest:
        raise SfexitError(f"{MANIFEST_NAME} changed while the archive was being built",
                          hint="let the export finish, then build the archive again")
    return out


def copy_hashing(source: Path, target: Path) -> Copied:
    """Copy ``source`` to ``target`` in the kernel (``shutil.copyfile``: sendfile, no bytes
    through Python), then hash ``target``, still in the page cache: the hash is of the bag's
    own bytes, what ``manifest-sha256.txt`` vouches for. Hashing in Python while copying
    through it was 2x slower (bench/archive_bag.py)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    return Copied(*file_digest(target))


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
