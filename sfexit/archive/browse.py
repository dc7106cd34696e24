"""Browsing the archive with Datasette: its ``metadata.json`` and how ``archive serve`` runs it.

``metadata.json`` (docs.datasette.io, "Metadata") gives every table the object's label as its
title and every column the field's label and type as its description; ``label_column`` is the
field Datasette shows beside a foreign key (``Name``, else the describe's name field), so an
Account's ``OwnerId`` reads as the owner's name. Datasette is an optional extra
(``sfexit[archive]``): sfexit builds and verifies archives without it.
"""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sfexit.archive.columns import TablePlan, fields_by_name
from sfexit.archive.database import DATABASE_NAME, FIELDS_TABLE, FILES_TABLE, OBJECTS_TABLE
from sfexit.archive.source import ExportSource
from sfexit.errors import UsageError

METADATA_NAME = "metadata.json"
DATABASE_KEY = Path(DATABASE_NAME).stem          # Datasette names a database after its file
DERIVED_DESCRIPTIONS = {
    "username": "Username of the user in {source} (restore-ready, from the User table)",
    "email": "Email of the user in {source} (restore-ready, from the User table)",
    "developer_name": "DeveloperName of the record type in {source} (restore-ready)",
    "file_path": "Path of the body in the bag (base64 field, not a column)",
}
OWN_TABLES = {
    OBJECTS_TABLE: "sfexit: every object, its label, rows and CSV in the bag (skipped ones "
                   "with Salesforce's reason)",
    FIELDS_TABLE: "sfexit: every field, its label, type, references and picklist values",
    FILES_TABLE: "sfexit: every file body (ContentVersion, Attachment, Document), the record "
                 "it belongs to, its path in the bag, size and SHA-256",
}


# A record's files: polymorphic parents (Attachment.ParentId, ContentDocumentLink) cannot be
# foreign keys, so Datasette's row page does not list them; this named query does.
QUERIES = {
    "files_of_record": {
        "title": "Files of a record",
        "description": "Every file body linked to one record (give its Id): name, path in the "
                       "bag, size and SHA-256",
        "sql": f"SELECT object, id, name, record_object, path, size, sha256 FROM {FILES_TABLE}"
               " WHERE record_id = :record_id ORDER BY name, id",
    },
}


def metadata(source: ExportSource, plans: Mapping[str, TablePlan]) -> dict[str, Any]:
    manifest = source.manifest
    tables: dict[str, Any] = {name: {"description": text} for name, text in OWN_TABLES.items()}
    for name, plan in plans.items():
        tables[name] = _table(source.describe(name), plan, manifest.objects[name].rows)
    return {
        "title": f"{manifest.org_name or manifest.org_id}: exit archive",
        "description": f"Salesforce org {manifest.org_id}, exported {manifest.started_at} to "
                       f"{manifest.finished_at} by sfexit {manifest.tool_version}",
        "source": "sfexit archive (BagIt bag; see index.html)",
        "databases": {DATABASE_KEY: {"tables": tables, "queries": QUERIES}},
    }


def _table(describe: dict[str, Any], plan: TablePlan, rows: int) -> dict[str, Any]:
    fields = fields_by_name(describe)
    columns: dict[str, str] = {}
    for column in plan.columns:
        if column.derived:
            columns[column.name] = DERIVED_DESCRIPTIONS[column.derived].format(
                source=column.source)
        else:
            f = fields.get(column.name, {})
            columns[column.name] = f"{f.get('label') or column.name} ({f.get('type', 'text')})"
    entry: dict[str, Any] = {
        "title": f"{describe.get('labelPlural') or plan.name} ({plan.name})",
        "description": f"{describe.get('label') or plan.name}: {rows} rows as exported",
        "columns": columns,
    }
    label = _label_column(fields, plan)
    if label:
        entry["label_column"] = label
    return entry


def _label_column(fields: Mapping[str, dict[str, Any]], plan: TablePlan) -> str | None:
    names = {c.name for c in plan.columns}
    if "Name" in names:
        return "Name"
    for name, f in fields.items():
        if f.get("nameField") and name in names:
            return name
    return None


def datasette_available() -> bool:
    try:
        return importlib.util.find_spec("datasette") is not None
    except ImportError:          # a broken or blocked install counts as absent
        return False


def serve_argv(archive: Path, *, host: str = "127.0.0.1", port: int = 8001) -> list[str]:
    """The Datasette command for ``archive``: the database opened immutable (``-i``: read
    only, never a journal beside it, so the bag stays valid), with its metadata.

    Raises UsageError when the ``archive`` extra is not installed or ``archive`` has no
    database.
    """
    if not datasette_available():
        raise UsageError("Datasette is not installed",
                         hint="pip install 'sfexit[archive]'")
    database = Path(archive) / DATABASE_NAME
    if not database.is_file():
        raise UsageError(f"{archive} is not an sfexit archive (no {DATABASE_NAME})",
                         hint="give the --out of `sfexit archive build`")
    return [sys.executable, "-m", "datasette", "serve", "-i", str(database),
            "-m", str(Path(archive) / METADATA_NAME), "--host", host, "--port", str(port),
            "--setting", "default_page_size", "50"]
