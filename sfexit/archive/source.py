"""The export an archive is built from: opened, checked complete, read without the org.

An archive is built when the org may be gone, so everything comes from the backup directory:
``manifest.json`` (docs/manifest.md), ``schema/<Object>.json`` (the describe the export saved
for every object it read) and ``data/<Object>.csv``. Anything that makes the export unfit to
archive is a :class:`~sfexit.errors.UsageError` (exit 2), raised before anything is written.
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sfexit.errors import UsageError
from sfexit.export.manifest import MANIFEST_NAME, Manifest, ManifestStore

SCHEMA_DIR = "schema"

# Salesforce long text areas hold up to 131,072 characters (rich text more once escaped),
# which is exactly csv's default field limit: raise it so no real value is refused.
csv.field_size_limit(min(sys.maxsize, 2**31 - 1))


@dataclass(frozen=True)
class ExportSource:
    """A finished export, as listed by its manifest."""

    directory: Path
    manifest: Manifest

    def describe(self, name: str) -> dict[str, Any]:
        """The describe the export saved for ``name`` ({} when it saved none)."""
        path = self.directory / SCHEMA_DIR / f"{name}.json"
        if not path.is_file():
            return {}
        loaded: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return loaded

    def rows(self, name: str) -> Iterator[dict[str, str]]:
        """The rows of ``data/<name>.csv`` one at a time (memory flat)."""
        entry = self.manifest.objects[name]
        with open(self.directory / entry.file, encoding="utf-8", newline="") as fh:
            yield from csv.DictReader(fh)

    def lines(self, name: str) -> Iterator[list[str]]:
        """The data rows of ``data/<name>.csv`` as lists, header skipped (memory flat).

        Strict: a file that ends inside quotes raises csv.Error (``sfexit export verify``'s
        shape check, export/csvshape.py)."""
        entry = self.manifest.objects[name]
        with open(self.directory / entry.file, encoding="utf-8", newline="") as fh:
            reader = csv.reader(fh, strict=True)
            next(reader, None)
            yield from reader

    def header(self, name: str) -> list[str]:
        entry = self.manifest.objects[name]
        with open(self.directory / entry.file, encoding="utf-8", newline="") as fh:
            return next(csv.reader(fh), [])

    def edition(self) -> str | None:
        """Organization.OrganizationType ("Enterprise Edition"…) when the export read it."""
        if "Organization" not in self.manifest.objects:
            return None
        for row in self.rows("Organization"):
            return row.get("OrganizationType") or None
        return None


def open_export(directory: Path) -> ExportSource:
    """The export in ``directory``, refused unless it is finished and nothing is missing.

    Raises UsageError: no directory, no readable manifest, a run that did not finish, a file
    still marked incomplete, or an object the export described but neither exported nor
    skipped (it failed: rerun the export to finish it).
    """
    directory = Path(directory)
    if not directory.is_dir():
        raise UsageError(f"{directory} is not a directory",
                         hint="give the directory of a backup made by `sfexit export bulk`")
    if not (directory / MANIFEST_NAME).is_file():
        raise UsageError(f"{directory} is not an sfexit export (no {MANIFEST_NAME})",
                         hint="give the directory of a backup made by `sfexit export bulk`")
    manifest = ManifestStore.load(directory).snapshot()
    _refuse_incomplete(directory, manifest)
    return ExportSource(directory, manifest)


def _refuse_incomplete(directory: Path, manifest: Manifest) -> None:
    rerun = "run the same `sfexit export bulk` again to finish it, then build the archive"
    if not manifest.finished_at:
        raise UsageError(f"the export in {directory} did not finish (manifest.json has no "
                         "finished_at)", hint=rerun)
    broken = sorted(key for key, f in manifest.files.items() if not f.complete)
    if broken:
        raise UsageError(f"the export in {directory} is incomplete: {len(broken)} file(s) "
                         f"did not verify, first {broken[0]}", hint=rerun)
    listed = set(manifest.objects) | {s.name for s in manifest.skipped}
    described = sorted(p.stem for p in (directory / SCHEMA_DIR).glob("*.json"))
    failed = [name for name in described if name not in listed]
    if failed:
        raise UsageError(f"the export in {directory} is incomplete: {len(failed)} object(s) "
                         f"described but not exported, first {failed[0]}", hint=rerun)
