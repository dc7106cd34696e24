"""The archive as a BagIt bag (RFC 8493), made and checked with the ``bagit`` library, its
payload manifest written from the hashes the copy took (docs/archive.md, "One copy, one hash").

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

import datetime as dt
import logging
from collections.abc import Mapping
from pathlib import Path

import bagit

ALGORITHM = "sha256"
BAGIT_TXT = "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"


def write_bag(directory: Path, info: Mapping[str, str],
              payload: Mapping[str, tuple[int, str]]) -> None:
    """Make ``directory``, whose ``data/`` already holds the payload, a bag, with
    ``manifest-sha256.txt`` written from ``payload`` (path under ``data/`` → size, SHA-256)
    instead of hashing every file again: the caller hashed the bytes as it wrote them
    (sfexit.archive.payload). The ``bagit`` library writes ``bag-info.txt`` (Payload-Oxum
    from the same sizes) and ``tagmanifest-sha256.txt``; ``bagit.make_bag`` cannot be given
    hashes, it always computes them."""
    (directory / "bagit.txt").write_text(BAGIT_TXT, encoding="utf-8")
    lines = [f"{sha}  {bagit._encode_filename(f'data/{path}')}\n"
             for path, (_size, sha) in sorted(payload.items())]
    (directory / f"manifest-{ALGORITHM}.txt").write_text("".join(lines), encoding="utf-8")
    with _quiet():
        bag = bagit.Bag(str(directory))
        bag.info = {**info, "Bagging-Date": dt.date.today().isoformat(),
                    "Payload-Oxum": f"{sum(s for s, _ in payload.values())}.{len(payload)}"}
        bag.save(manifests=False)


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
