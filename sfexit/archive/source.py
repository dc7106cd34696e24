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

from sfexit.export.finished import SCHEMA_DIR, load_finished
from sfexit.export.manifest import Manifest

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
    """The export in ``directory``, refused unless it is finished and complete
    (export/finished.py). Raises UsageError."""
    return ExportSource(Path(directory), load_finished(Path(directory)))
