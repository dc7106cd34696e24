"""Which file bodies a backup holds: ContentVersion, Attachment and Document, listed over REST.

Listed with REST query (``queryAll`` with ``include_deleted``), page by page, never all in
memory; ContentVersion only its latest versions unless ``all_versions`` (``IsLatest = TRUE``:
export-protocol.md, "Files"). The download policy is :mod:`sfexit.export.files`.
"""

from __future__ import annotations

from collections.abc import Collection, Iterator
from dataclasses import dataclass
from typing import Any

from sfexit.org import soql
from sfexit.org.rest import RestClient
from sfexit.org.session import OrgSession


@dataclass(frozen=True)
class FileSource:
    """How one object's bodies are listed."""

    object: str
    fields: tuple[str, ...]
    size_field: str
    parent_field: str


SOURCES = (
    FileSource("ContentVersion", ("Id", "ContentDocumentId", "Title", "PathOnClient",
                                  "FileExtension", "ContentSize", "Checksum", "VersionNumber",
                                  "FirstPublishLocationId"), "ContentSize", "ContentDocumentId"),
    FileSource("Attachment", ("Id", "ParentId", "Name", "BodyLength", "ContentType"),
               "BodyLength", "ParentId"),
    FileSource("Document", ("Id", "FolderId", "Name", "BodyLength", "Type"),
               "BodyLength", "FolderId"),
)


@dataclass(frozen=True)
class FileRecord:
    """One body to fetch, as the org describes it."""

    object: str
    id: str
    parent_id: str | None
    name: str
    size: int | None           # ContentSize / BodyLength
    md5: str | None            # ContentVersion.Checksum, lower-case hex

    @property
    def key(self) -> str:
        return f"{self.object}/{self.id}"


def sources(objects: Collection[str] | None) -> tuple[FileSource, ...]:
    """The file objects an export of ``objects`` holds bodies of (all when None): an export
    of ``--objects Account,Contact`` fetches no body, one naming Attachment only its bodies."""
    return tuple(s for s in SOURCES if objects is None or s.object in objects)


def list_files(session: OrgSession, *, all_versions: bool = False,
               include_deleted: bool = False,
               objects: Collection[str] | None = None) -> Iterator[FileRecord]:
    """Every body the export should hold, object by object, in Id order."""
    client = RestClient(session)
    for source, query in _queries(all_versions, objects):
        for row in client.query_iter(query, include_deleted=include_deleted):
            yield _record(source, row)


def count_files(session: OrgSession, *, all_versions: bool = False,
                include_deleted: bool = False, objects: Collection[str] | None = None) -> int:
    """How many bodies :func:`list_files` will yield (one COUNT() per object)."""
    client = RestClient(session)
    total = 0
    for source, _query in _queries(all_versions, objects):
        where = file_filter(source, all_versions)
        query = soql.count(source.object, where=where)
        if include_deleted:
            total += sum(1 for _ in client.query_iter(
                soql.select(source.object, ["Id"], where=where), include_deleted=True))
        else:
            total += client.count(query)
    return total


def file_filter(source: FileSource, all_versions: bool) -> list[str]:
    # IsLatest: one row per ContentDocument, its current version (export-protocol.md, "Files").
    return ["IsLatest = TRUE"] if source.object == "ContentVersion" and not all_versions else []


def _queries(all_versions: bool, objects: Collection[str] | None
             ) -> Iterator[tuple[FileSource, str]]:
    for source in sources(objects):
        yield source, soql.select(source.object, list(source.fields),
                                  where=file_filter(source, all_versions), order_by=["Id"])


def _record(source: FileSource, row: dict[str, Any]) -> FileRecord:
    size = row.get(source.size_field)
    checksum = row.get("Checksum")
    return FileRecord(object=source.object, id=str(row["Id"]),
                      parent_id=row.get(source.parent_field),
                      name=_display_name(source.object, row),
                      size=int(size) if size is not None else None,
                      md5=str(checksum).strip().lower() if checksum else None)


def _display_name(sobject: str, row: dict[str, Any]) -> str:
    """The file's name as a person sees it in the org (still unsafe: see safe_names).

    ContentVersion: ``Title`` plus ``FileExtension`` (what Files shows), else the last part of
    ``PathOnClient`` (a path on the uploader's machine).
    """
    if sobject != "ContentVersion":
        return str(row.get("Name") or "")
    title, ext = str(row.get("Title") or ""), str(row.get("FileExtension") or "")
    if title:
        return f"{title}.{ext}" if ext and not title.lower().endswith("." + ext.lower()) \
            else title
    path = str(row.get("PathOnClient") or "")
    return path.replace("\\", "/").rsplit("/", 1)[-1]
