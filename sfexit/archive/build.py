"""``sfexit archive build BACKUP_DIR --out ARCHIVE``: the export as a self-verifying bag with a
database, its Datasette metadata and a human entry page (docs/archive.md).

Nothing is half-written: the bag is built in a temporary directory beside ``--out`` and renamed
to it only when complete; any failure removes the temporary directory. Inputs are checked
before anything is written (an unfinished or incomplete export, a listed file missing or of
another size than the manifest's, an ``--out`` that is not empty or lies inside the export, an
unknown language: UsageError, exit 2). What needs every byte read is checked in the reads the
build makes anyway (docs/archive.md, "One copy, one hash"): SHA-256 of each copy, row counts
while writing the database; a difference found there is SfexitError (exit 1) naming the file,
and nothing is kept.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import bagit

from sfexit import __version__
from sfexit.archive.bag import seal, write_bag
from sfexit.archive.browse import METADATA_NAME, metadata
from sfexit.archive.chain import Chain, apply_delta, delta_prefix, open_chain
from sfexit.archive.database import DATABASE_NAME, build_database
from sfexit.archive.page import PAGE_NAME, PageFacts, render_index
from sfexit.archive.payload import (Copied, check_sizes, copy_payload, differs, exported_paths,
                                    listed_payload, rows_differences)
from sfexit.archive.source import ExportSource
from sfexit.errors import UsageError
from sfexit.export.manifest import MANIFEST_NAME, utc_now
from sfexit.export.verify import VerifyReport
from sfexit.report.i18n import load_catalogue

PAYLOAD = "data"


@dataclass(frozen=True)
class ArchiveSummary:
    archive: str                      # the directory, or the cloud URL (destination.py)
    org_id: str
    org_name: str
    lang: str
    tables: dict[str, int]            # object → rows in archive.sqlite
    rows: int
    files: int                        # file bodies in the bag
    file_links: int                   # rows of _sfexit_files
    weekly_parts: int
    skipped: int
    manifest_sha256: str
    linked: int = 0                   # payload files hard-linked from the export (--link)
    link_fallbacks: int = 0           # --link: payload files copied (not on its file system)


def build_archive(backup_dir: Path, out: Path, *, lang: str | None = None,
                  contract_start: dt.date | None = None, contract_end: dt.date | None = None,
                  on_step: Callable[[str], None] | None = None,
                  stage_payload: bool = True, link: bool = False,
                  elsewhere: Mapping[str, int] | None = None) -> ArchiveSummary:
    """Build the archive of the export in ``backup_dir`` at ``out``.

    ``stage_payload=False`` (a cloud archive, destination.py) writes the tag files only: the
    payload is not copied to ``out/data`` but listed in ``manifest-sha256.txt`` with the
    export's own hashes (payload.listed_payload), and the database reads the export itself;
    ``payload_files`` says where each payload file is read from to be sent. ``link``
    hard-links each payload file from the export instead of copying it (payload.py:
    read-only, one inode with the export's file), a copy where it cannot be linked.
    ``elsewhere`` (with ``stage_payload=False``): files of the export not in ``backup_dir``
    but in a bucket, path → size listed there (copied inside the store, destination.py).

    Raises UsageError for bad input (see the module's docstring), before writing anything;
    SfexitError when the bytes or rows read are not the manifest's.
    """
    step = on_step or (lambda _s: None)
    catalogue = load_catalogue(lang)
    check_link(link, None if stage_payload else "a cloud archive")
    backup_dir, out = Path(backup_dir), Path(out)
    chain = open_chain(backup_dir)   # the export, or a delta and every export below it
    source = chain.base
    for export in chain.exports:
        check_out(export.directory, out)
        check_sizes(export, elsewhere if export is source else None)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".building", dir=out.parent))
    try:
        bag_dir = work / "bag"
        bag_dir.mkdir()
        copied, read_from = _payload(chain, bag_dir, stage_payload, step, link)
        staged = read_from[0]
        step(f"writing {DATABASE_NAME}, checking every row count against manifest.json")
        database = build_database(staged, bag_dir / DATABASE_NAME, bag_prefix=f"{PAYLOAD}/")
        differs(source, rows_differences(source, database.tables))
        tables = _apply_deltas(chain, read_from, bag_dir, database.tables)
        proof = _proof(source, copied[MANIFEST_NAME].sha256)
        facts = PageFacts(built_at=utc_now(), tool_version=__version__,
                          edition=source.edition(),
                          contract_start=contract_start.isoformat() if contract_start else None,
                          contract_end=contract_end.isoformat() if contract_end else None)
        write_bag(bag_dir, {**bag_info(source, proof, facts), **chain_info(chain)},
                  {path: (c.size, c.sha256) for path, c in copied.items()})
        (bag_dir / METADATA_NAME).write_text(
            json.dumps(metadata(staged, database.plans), indent=2, ensure_ascii=False) + "\n",
            encoding="utf-8")
        (bag_dir / PAGE_NAME).write_text(
            render_index(catalogue, staged, proof, tables, facts), encoding="utf-8")
        seal(bag_dir)
        _publish(bag_dir, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    m = source.manifest
    return ArchiveSummary(archive=str(out), org_id=m.org_id, org_name=m.org_name,
                          lang=catalogue.lang, tables=tables,
                          rows=sum(tables.values()), files=len(m.files),
                          file_links=database.files, weekly_parts=len(m.weekly),
                          skipped=len(m.skipped), manifest_sha256=proof.manifest_sha256,
                          linked=sum(c.linked for c in copied.values()),
                          link_fallbacks=sum(not c.linked for c in copied.values()) if link
                          else 0)


def _payload(chain: Chain, bag_dir: Path, stage: bool, step: Callable[[str], None],
             link: bool) -> tuple[dict[str, Copied], list[ExportSource]]:
    """The payload's files (path under data/ → size, SHA-256), copied (or ``link``ed) into
    the bag or only listed (``stage``), and each export of the chain where the database
    reads it."""
    if stage:
        step(f"{'linking' if link else 'copying'} the export, checking every SHA-256 against "
             "manifest.json")
    copied: dict[str, Copied] = {}
    read_from = []
    for n, export in enumerate(chain.exports):
        prefix = delta_prefix(n) if n else ""
        if stage:
            into = bag_dir / PAYLOAD / prefix
            copied.update({prefix + path: c
                           for path, c in copy_payload(export, into, link=link).items()})
            read_from.append(ExportSource(into, export.manifest))
        else:
            copied.update({prefix + path: c for path, c in listed_payload(export).items()})
            read_from.append(export)
    return copied, read_from


def payload_files(backup_dir: Path) -> dict[str, Path]:
    """Every payload file of the archive of ``backup_dir`` (its path in the bag) → the file
    of the export it is (``stage_payload=False``: sent from there). Raises as open_chain."""
    chain = open_chain(Path(backup_dir))
    out = {}
    for n, export in enumerate(chain.exports):
        prefix = f"{PAYLOAD}/{delta_prefix(n) if n else ''}"
        out.update({prefix + path: export.directory / path for path in exported_paths(export)})
    return out


def _apply_deltas(chain: Chain, read_from: list[ExportSource], bag_dir: Path,
                  tables: dict[str, int]) -> dict[str, int]:
    """Every delta of the chain applied to the database, oldest first (chain.py), each CSV's
    rows read checked against its manifest; the row counts of the tables after them.
    ``read_from``: the full export, then each delta, where their CSVs are read."""
    tables = dict(tables)
    for n, (delta, read) in enumerate(zip(chain.deltas, read_from[1:], strict=True), 1):
        applied = apply_delta(bag_dir / DATABASE_NAME, read, n, read_from[0].manifest.files,
                              f"{PAYLOAD}/")
        differs(delta, rows_differences(delta, applied.rows_read))
        tables.update(applied.tables)
    return tables


def _proof(source: ExportSource, manifest_sha256: str) -> VerifyReport:
    """What ``sfexit export verify`` would report of the export: every size and SHA-256 was
    checked by the copy, every row count by the database build, both against manifest.json."""
    m = source.manifest
    return VerifyReport(directory=source.directory, manifest_sha256=manifest_sha256,
                        objects_checked=len(m.objects), files_checked=len(m.files),
                        weekly_checked=len(m.weekly),
                        rows=sum(o.rows for o in m.objects.values()), against_org=False,
                        differences=(), skipped=tuple(m.skipped))


def check_link(link: bool, cloud: str | None, option: str = "--out") -> None:
    """``link`` with a cloud archive (``cloud``: its URL): UsageError (exit 2), called before
    anything is read or written. A bucket holds copies: nothing can be linked into it."""
    if link and cloud is not None:
        raise UsageError(f"--link needs a local {option} directory, not {cloud}: files are "
                         "uploaded to a bucket, never linked",
                         hint=f"drop --link, or give a directory as {option}")


def check_out(backup_dir: Path | None, out: Path) -> None:
    """A local ``--out``: new or empty, and not inside the export (None: an export in a
    bucket, `export bulk --dest s3://… --archive`). Raises UsageError."""
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file", hint="give a new directory for the archive")
    if out.is_dir() and any(out.iterdir()):
        raise UsageError(f"--out {out} is not empty",
                         hint="give a new or empty directory; an archive is never overwritten")
    if backup_dir is not None and out.resolve().is_relative_to(backup_dir.resolve()):
        raise UsageError(f"--out {out} is inside the export {backup_dir}",
                         hint="build the archive beside the export, not in it")


def bag_info(source: ExportSource, proof: VerifyReport, facts: PageFacts) -> dict[str, str]:
    """bag-info.txt: RFC 8493's reserved fields where they fit (Source-Organization,
    External-Identifier, External-Description), then sfexit's own."""
    m = source.manifest
    info = {
        "Source-Organization": m.org_name or m.org_id,
        "External-Identifier": m.org_id,
        "External-Description": "Salesforce org export by sfexit: the export as downloaded in "
                                "data/, archive.sqlite, metadata.json and index.html beside it",
        "Salesforce-Org-Id": m.org_id,
        "Salesforce-Org-Name": m.org_name,
        "Salesforce-Edition": facts.edition or "",
        "Salesforce-API-Version": m.api_version,
        "Export-Started": m.started_at,
        "Export-Finished": m.finished_at or "",
        "Export-Tool-Version": f"sfexit {m.tool_version}",
        "Export-Manifest-SHA256": proof.manifest_sha256,
        "Contract-Start": facts.contract_start or "",
        "Contract-End": facts.contract_end or "",
        "Completeness": completeness_line(proof),
        "Archive-Built": facts.built_at,
        "Archive-Tool-Version": f"sfexit {facts.tool_version}",
        # manifest-sha256.txt is sfexit's (from the hashes taken while copying), the rest
        # of the bag's files the library's.
        "Bag-Software-Agent": f"sfexit {facts.tool_version} with bagit.py v{bagit.VERSION} "
                              f"<{bagit.PROJECT_URL}>",
    }
    return {key: value for key, value in info.items() if value}


def chain_info(chain: Chain) -> dict[str, str]:
    """bag-info.txt lines of the deltas applied (none for a full export)."""
    info = {"Export-Deltas": str(len(chain.deltas))} if chain.deltas else {}
    for n, delta in enumerate(chain.deltas, 1):
        base = delta.manifest.base
        assert base is not None
        info[f"Export-Delta-{n}"] = (
            f"data/{delta_prefix(n)} changed from {base.start} to {base.end} (overlap "
            f"{base.overlap_seconds} s), finished {delta.manifest.finished_at}, base manifest "
            f"SHA-256 {base.manifest_sha256}")
    return info


def completeness_line(proof: VerifyReport) -> str:
    return (f"complete: {proof.objects_checked} objects, {proof.rows} rows, "
            f"{proof.files_checked} files, {proof.weekly_checked} weekly parts match "
            f"manifest.json (sizes, SHA-256, row counts); {len(proof.skipped)} objects "
            "skipped by Salesforce, listed with their reason")


def _publish(bag_dir: Path, out: Path) -> None:
    """Rename the finished bag to ``out`` (an empty ``out`` is replaced)."""
    if out.is_dir():
        out.rmdir()
    os.replace(bag_dir, out)
