"""The exit archive: a BagIt bag of an export with ``archive.sqlite``, Datasette metadata and
``index.html`` (docs/archive.md). Built from the export alone: the org may be gone."""

from sfexit.archive.build import ArchiveSummary, build_archive
from sfexit.archive.verify import ArchiveVerifyReport, Problem, verify_archive

__all__ = ["ArchiveSummary", "ArchiveVerifyReport", "Problem", "build_archive",
           "verify_archive"]
