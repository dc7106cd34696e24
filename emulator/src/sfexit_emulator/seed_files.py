"""Seed: files and their bodies. ContentDocument / ContentVersion (some with several versions, one
IsLatest) / ContentDocumentLink, Attachment, Folder + Document.

Bodies are not stored: each is pseudo-random bytes generated from its own seed in 1 MiB units
(`generated_chunks`), so a blob can be streamed from any unit without keeping 100 MB in the db.
Checksum (MD5 hex) and ContentSize / BodyLength are computed from the same bytes at seed time.
The file count grows slowly with `records` (about 50 at 2,000 rows, at most ~650), and a few
bodies are large (5-20 MB), so downloads have work to do without the seed taking long.
"""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from typing import Any

from sfexit_emulator.seed import SeedContext

CHUNK_UNIT = 1 << 20
# (name, extension, FileType, content type): names include characters file systems dislike.
FILES = (("Angebot, \"final\" v2", "pdf", "PDF", "application/pdf"),
         ("見積書 2024", "xlsx", "EXCEL_X", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
         ("Ελληνικό έγγραφο", "docx", "WORD_X", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
         ("site photo 🚀", "png", "PNG", "image/png"), ("Q3 report: sales/ops", "pdf", "PDF", "application/pdf"),
         ("contacts export", "csv", "CSV", "text/csv"), ("notes", "txt", "TEXT", "text/plain"),
         ("scan_0042", "jpg", "JPG", "image/jpeg"), ("archive", "zip", "ZIP", "application/zip"))
LARGE_SIZES = (12 * 1024 * 1024 + 123, 6 * 1024 * 1024 + 7, 5 * 1024 * 1024 + 4097)


def generated_chunks(seed: int, size: int) -> Iterator[bytes]:
    """Deterministic pseudo-random bytes of one blob, in 1 MiB units each seeded on its own."""
    for unit, start in enumerate(range(0, size, CHUNK_UNIT)):
        yield random.Random(seed * 1_000_003 + unit).randbytes(min(CHUNK_UNIT, size - start))


def _md5(seed: int, size: int) -> str:
    digest = hashlib.md5()
    for chunk in generated_chunks(seed, size):
        digest.update(chunk)
    return digest.hexdigest()


def _size(ctx: SeedContext, large_index: int | None) -> int:
    if large_index is not None and large_index < len(LARGE_SIZES):
        return LARGE_SIZES[large_index]
    return int(ctx.rng.uniform(1024, 200 * 1024))


def seed_files(ctx: SeedContext) -> None:
    blobs: list[tuple[str, str, int, str, int]] = []
    _content(ctx, blobs)
    _attachments(ctx, blobs)
    _documents(ctx, blobs)
    ctx.conn.executemany("INSERT INTO _blob (record_id, field, size, content_type, seed, data) "
                         "VALUES (?, ?, ?, ?, ?, NULL)", blobs)


def _content(ctx: SeedContext, blobs: list[tuple[str, str, int, str, int]]) -> None:
    rng = ctx.rng
    n_docs = min(300, 25 + ctx.records // 4000)
    doc_ids = ctx.ids("069", n_docs)
    docs, versions, links = [], [], []
    linkable = [ctx.ids_by_object[o] for o in ("Account", "Opportunity", "Case", "Project__c")]
    for d, doc_id in enumerate(doc_ids):
        name, ext, ftype, ctype = FILES[d % len(FILES)]
        created, modified = ctx.stamps()
        owner = ctx.values["owner_pool"][int(rng.random() * len(ctx.values["owner_pool"]))]
        deleted = 1 if rng.random() < 0.03 else 0
        n_versions = 1 if rng.random() < 0.7 else rng.choice((2, 3))
        version_ids = ctx.ids("068", n_versions)
        target_list = linkable[d % len(linkable)]
        target = target_list[int(rng.random() * len(target_list))]
        size = 0
        for v, vid in enumerate(version_ids, 1):
            size = _size(ctx, d if v == n_versions and d < 2 else None)
            seed = rng.getrandbits(48)
            blobs.append((vid, "VersionData", size, ctype, seed))
            versions.append((vid, doc_id, int(v == n_versions), str(v), f"{name}", f"{name}.{ext}", ftype, ext, size,
                             _md5(seed, size), owner, owner, created, owner, modified, modified, modified, "R", "S",
                             "C", "A", "N", 1, target, deleted, f"Version {v}" if v > 1 else None))
        docs.append((doc_id, name, owner, "R", version_ids[-1], size, ftype, ext, owner, created, owner, modified,
                     modified, modified, "A", "N", deleted))
        links.append((doc_id, owner, "I"))
        links.append((doc_id, target, "V"))
        if rng.random() < 0.3:
            other = linkable[0][int(rng.random() * len(linkable[0]))]
            links.append((doc_id, other, "V"))
    ctx.insert("ContentDocument", ["Id", "Title", "OwnerId", "PublishStatus", "LatestPublishedVersionId", "ContentSize",
                                   "FileType", "FileExtension", "CreatedById", "CreatedDate", "LastModifiedById",
                                   "LastModifiedDate", "SystemModstamp", "ContentModifiedDate", "SharingOption",
                                   "SharingPrivacy", "IsDeleted"], docs)
    ctx.insert("ContentVersion", ["Id", "ContentDocumentId", "IsLatest", "VersionNumber", "Title", "PathOnClient",
                                  "FileType", "FileExtension", "ContentSize", "Checksum", "OwnerId", "CreatedById",
                                  "CreatedDate", "LastModifiedById", "LastModifiedDate", "SystemModstamp",
                                  "ContentModifiedDate", "PublishStatus", "ContentLocation", "Origin", "SharingOption",
                                  "SharingPrivacy", "IsMajorVersion", "FirstPublishLocationId", "IsDeleted",
                                  "ReasonForChange"], versions)
    deleted_docs = {d[0] for d in docs if d[-1]}
    ctx.insert("ContentDocumentLink", ["Id", "ContentDocumentId", "LinkedEntityId", "ShareType", "Visibility",
                                       "SystemModstamp", "IsDeleted"],
               [(lid, doc, entity, share, "AllUsers", ctx.stamps()[1], int(doc in deleted_docs))
                for lid, (doc, entity, share) in zip(ctx.ids("06A", len(links)), links)])


def _attachments(ctx: SeedContext, blobs: list[tuple[str, str, int, str, int]]) -> None:
    rng = ctx.rng
    n = min(200, 10 + ctx.records // 5000)
    parents = ctx.ids_by_object["Account"] + ctx.ids_by_object["Case"]
    rows: list[tuple[Any, ...]] = []
    for i, rid in enumerate(ctx.ids("00P", n)):
        name, ext, _, ctype = FILES[(i + 3) % len(FILES)]
        size = _size(ctx, 2 if i == 0 else None)
        seed = rng.getrandbits(48)
        blobs.append((rid, "Body", size, ctype, seed))
        created, modified = ctx.stamps()
        owner = ctx.values["owner_pool"][int(rng.random() * len(ctx.values["owner_pool"]))]
        rows.append((rid, parents[int(rng.random() * len(parents))], f"{name}.{ext}", 0, ctype, size, 1, owner,
                     created, owner, modified, owner, modified, "Anhang, \"Original\"" if i % 3 == 0 else None,
                     1 if rng.random() < 0.03 else 0))
    ctx.insert("Attachment", ["Id", "ParentId", "Name", "IsPrivate", "ContentType", "BodyLength", "Body", "OwnerId",
                              "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById", "SystemModstamp",
                              "Description", "IsDeleted"], rows)


def _documents(ctx: SeedContext, blobs: list[tuple[str, str, int, str, int]]) -> None:
    rng = ctx.rng
    admin = ctx.values["users"]["admin"]
    folders = [("Marketing Assets", "Marketing_Assets"), ("Vorlagen & Verträge", "Vorlagen_Vertraege")]
    folder_ids = ctx.ids("00l", len(folders))
    created = ctx.ago(1000)
    ctx.insert("Folder", ["Id", "Name", "DeveloperName", "AccessType", "IsReadonly", "Type", "CreatedDate",
                          "CreatedById", "LastModifiedDate", "LastModifiedById", "SystemModstamp"],
               [(fid, name, dev, "Public", 0, "Document", created, admin, created, admin, created)
                for fid, (name, dev) in zip(folder_ids, folders)])
    rows: list[tuple[Any, ...]] = []
    n = min(50, 5 + ctx.records // 20000)
    for i, rid in enumerate(ctx.ids("015", n)):
        name, ext, _, ctype = FILES[(i + 5) % len(FILES)]
        size = _size(ctx, None)
        seed = rng.getrandbits(48)
        blobs.append((rid, "Body", size, ctype, seed))
        stamp = ctx.stamps()[0]
        rows.append((rid, folder_ids[i % 2], f"{name} {i}", f"Doc_{i}", ctype, ext, int(i % 2 == 0), size, 1,
                     admin, stamp, admin, stamp, admin, stamp, 0, 1))
    ctx.insert("Document", ["Id", "FolderId", "Name", "DeveloperName", "ContentType", "Type", "IsPublic", "BodyLength",
                            "Body", "AuthorId", "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById",
                            "SystemModstamp", "IsInternalUseOnly", "IsBodySearchable"], rows)
