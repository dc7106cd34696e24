"""The archive as a BagIt bag (RFC 8493), made and checked with the ``bagit`` library.

Layout (docs/archive.md)::

    ARCHIVE/
      bagit.txt  bag-info.txt  manifest-sha256.txt  tagmanifest-sha256.txt
      index.html  archive.sqlite  metadata.json      tag files, hashed in tagmanifest-sha256.txt
      data/                                          the payload: the export as downloaded
        manifest.json  schema/  data/  files/  weekly/

The payload is the export exactly as it was; what sfexit derives from it (the database, its
Datasette metadata, the human entry page) are tag files beside it: RFC 8493 §2.2.4 lets a bag
carry other tag files, and ``tagmanifest-sha256.txt`` lists them, so any change to them fails
validation too. ``bagit.txt`` says ``BagIt-Version: 1.0`` (RFC 8493's version; the library
writes 0.97, whose layout is the same).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path

import bagit

ALGORITHM = "sha256"
BAGIT_TXT = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"


def make_bag(directory: Path, info: Mapping[str, str]) -> None:
    """Turn ``directory`` into a bag: its content moves into ``data/`` and is hashed."""
    with _quiet():
        bagit.make_bag(str(directory), bag_info=dict(info), processes=1,
                       checksums=[ALGORITHM])
    (directory / "bagit.txt").write_text(BAGIT_TXT, encoding="utf-8")
    seal(directory)


def payload_sha256(directory: Path) -> dict[str, str]:
    """``manifest-sha256.txt`` as read by the library: payload path → SHA-256."""
    with _quiet():
        bag = bagit.Bag(str(directory))
    return {path: hashes[ALGORITHM] for path, hashes in bag.payload_entries().items()}


def seal(directory: Path) -> None:
    """Rewrite ``tagmanifest-sha256.txt`` over every tag file now in the bag's root."""
    with _quiet():
        bagit.Bag(str(directory)).save(manifests=False)


def validate(directory: Path) -> list[tuple[str, str]]:
    """Stock BagIt validation (structure, Payload-Oxum, completeness, every checksum of the
    payload and the tag files): each problem as (the file it is about or "", the library's
    message); [] when valid."""
    with _quiet():
        try:
            bag = bagit.Bag(str(directory))
        except bagit.BagError as exc:
            return [("", str(exc))]
        try:
            bag.validate(processes=1)
        except bagit.BagValidationError as exc:
            if exc.details:
                return _details(exc)
            return [("", exc.message), *_entries_that_differ(bag)]
        except bagit.BagError as exc:
            return [("", str(exc))]
    return []


def _details(exc: bagit.BagValidationError) -> list[tuple[str, str]]:
    return [(str(getattr(d, "path", "")), str(d)) for d in exc.details]


def _entries_that_differ(bag: bagit.Bag) -> list[tuple[str, str]]:
    """Name the files when the library stops early at the Payload-Oxum (count and bytes only):
    its own completeness and checksum steps, as its full validation runs them after."""
    for step in (bag._validate_completeness, lambda: bag._validate_entries(1)):
        try:
            step()
        except bagit.BagValidationError as exc:
            return _details(exc) or [("", exc.message)]
    return []


class _quiet:
    """bagit logs every file it hashes at INFO and every problem at WARNING: sfexit reports
    them itself, so its logger is silenced while it works."""

    def __enter__(self) -> None:
        self._logger = logging.getLogger("bagit")
        self._level = self._logger.level
        self._logger.setLevel(logging.CRITICAL)

    def __exit__(self, *_exc: object) -> None:
        self._logger.setLevel(self._level)
