"""``sfexit archive build BACKUP_DIR --out ARCHIVE``: the export as a self-verifying bag with a
database, its Datasette metadata and a human entry page (docs/archive.md).

Nothing is half-written: the bag is built in a temporary directory beside ``--out`` and renamed
to it only when complete; any failure removes the temporary directory. Inputs are checked
before anything is written (an unfinished or incomplete export, an ``--out`` that is not empty
or lies inside the export, an unknown language: UsageError, exit 2).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from sfexit import __version__
from sfexit.archive.bag import make_bag, payload_sha256, seal
from sfexit.archive.browse import METADATA_NAME, metadata
from sfexit.archive.database import DATABASE_NAME, build_database
from sfexit.archive.page import PAGE_NAME, PageFacts, render_index
from sfexit.archive.source import SCHEMA_DIR, ExportSource, open_export, prove_complete
from sfexit.errors import SfexitError, UsageError
from sfexit.export.manifest import MANIFEST_NAME, utc_now
from sfexit.export.verify import VerifyReport
from sfexit.report.i18n import load_catalogue

PAYLOAD = "data"


@dataclass(frozen=True)
class ArchiveSummary:
    archive: Path
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


def build_archive(backup_dir: Path, out: Path, *, lang: str | None = None,
                  contract_start: dt.date | None = None, contract_end: dt.date | None = None,
                  on_step: Callable[[str], None] | None = None) -> ArchiveSummary:
    """Build the archive of the export in ``backup_dir`` at ``out``.

    Raises UsageError for bad input (see the module's docstring), before writing anything.
    """
    step = on_step or (lambda _s: None)
    catalogue = load_catalogue(lang)
    backup_dir, out = Path(backup_dir), Path(out)
    source = open_export(backup_dir)
    _check_out(backup_dir, out)
    step("checking every file of the export against manifest.json")
    proof = prove_complete(backup_dir)
    out.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".building", dir=out.parent))
    try:
        bag_dir = work / "bag"
        step("copying the export")
        _copy_export(source, bag_dir)
        facts = PageFacts(built_at=utc_now(), tool_version=__version__,
                          edition=source.edition(),
                          contract_start=contract_start.isoformat() if contract_start else None,
                          contract_end=contract_end.isoformat() if contract_end else None)
        step("bagging (sha256 of every file)")
        make_bag(bag_dir, bag_info(source, proof, facts))
        _same_bytes_as_verified(source, payload_sha256(bag_dir))
        staged = ExportSource(bag_dir / PAYLOAD, source.manifest)
        step(f"writing {DATABASE_NAME}")
        database = build_database(staged, bag_dir / DATABASE_NAME, bag_prefix=f"{PAYLOAD}/")
        (bag_dir / METADATA_NAME).write_text(
            json.dumps(metadata(staged, database.plans), indent=2, ensure_ascii=False) + "\n",
            encoding="utf-8")
        (bag_dir / PAGE_NAME).write_text(
            render_index(catalogue, staged, proof, database.tables, facts), encoding="utf-8")
        seal(bag_dir)
        _publish(bag_dir, out)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    m = source.manifest
    return ArchiveSummary(archive=out, org_id=m.org_id, org_name=m.org_name,
                          lang=catalogue.lang, tables=database.tables,
                          rows=sum(database.tables.values()), files=len(m.files),
                          file_links=database.files, weekly_parts=len(m.weekly),
                          skipped=len(m.skipped), manifest_sha256=proof.manifest_sha256)


def _check_out(backup_dir: Path, out: Path) -> None:
    if out.exists() and not out.is_dir():
        raise UsageError(f"--out {out} is a file", hint="give a new directory for the archive")
    if out.is_dir() and any(out.iterdir()):
        raise UsageError(f"--out {out} is not empty",
                         hint="give a new or empty directory; an archive is never overwritten")
    if backup_dir.is_dir() and out.resolve().is_relative_to(backup_dir.resolve()):
        raise UsageError(f"--out {out} is inside the export {backup_dir}",
                         hint="build the archive beside the export, not in it")


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


def _copy_export(source: ExportSource, bag_dir: Path) -> None:
    for relative in exported_paths(source):
        target = bag_dir / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source.directory / relative, target)


def _same_bytes_as_verified(source: ExportSource, bagged: dict[str, str]) -> None:
    """The bag's own hashes equal the manifest's, path by path: what was bagged is what was
    verified (nothing rewrote the export in between). No file is read again.

    Raises SfexitError (exit 1) naming the first file that differs.
    """
    m = source.manifest
    expected = {entry.file: entry.sha256 for entry in m.objects.values()}
    expected.update({f.path: f.sha256 for f in m.files.values()})
    expected.update({w.path: w.sha256 for w in m.weekly})
    for relative, sha in sorted(expected.items()):
        if bagged.get(f"{PAYLOAD}/{relative}") != sha:
            raise SfexitError(f"{relative} changed while the archive was being built "
                              "(its SHA-256 in the bag is not the manifest's)",
                              hint="let the export finish, then build the archive again")


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
    }
    return {key: value for key, value in info.items() if value}


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
