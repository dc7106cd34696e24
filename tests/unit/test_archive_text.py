"""What `archive build` tells a person: counts in words that agree with them (issue 20's
plurals, for the archive's summary line)."""

from __future__ import annotations

import dataclasses

from sfexit.archive.build import ArchiveSummary
from sfexit.cli.archive import built_text


def _summary(tables: int, files: int, parts: int, skipped: int) -> ArchiveSummary:
    return ArchiveSummary(archive="/x/ARCHIVE", org_id="00D", org_name="Acme", lang="en",
                          tables={f"T{n}": 1 for n in range(tables)}, rows=tables, files=files,
                          file_links=files, weekly_parts=parts, skipped=skipped,
                          manifest_sha256="0" * 64)


def test_one_of_each_is_said_in_the_singular() -> None:
    text = built_text(_summary(1, 1, 1, 1))
    assert "1 table (1 row), 1 file, 1 weekly part, 1 object skipped by Salesforce." in text


def test_many_are_said_in_the_plural_with_separators() -> None:
    text = built_text(_summary(2, 1200, 0, 3))
    assert "2 tables (2 rows), 1,200 files, 0 weekly parts, 3 objects skipped" in text


def test_the_verify_command_it_prints_carries_the_endpoint_it_was_given() -> None:
    summary = _summary(1, 1, 0, 0)
    assert built_text(summary).endswith("`sfexit archive verify /x/ARCHIVE`.")
    assert built_text(summary, "https://s3.example:9000").endswith(
        "`sfexit archive verify /x/ARCHIVE --endpoint-url https://s3.example:9000`.")


def test_files_linked_from_a_bucket_s_download_do_not_claim_a_read_only_backup() -> None:
    # `export bulk --dest s3://… --archive DIR --link`: no backup on this disk to make read-only.
    summary = dataclasses.replace(_summary(1, 3, 0, 0), linked=3)
    assert "3 files hard-linked from the backup (now read-only there too)." in built_text(summary)
    text = built_text(summary, from_download=True)
    assert "3 files hard-linked from the export's temporary download (no second copy " \
           "written)." in text
    assert "read-only" not in text
