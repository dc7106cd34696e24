"""Custom objects and fields declared at start (``sfexit-emulator serve --schema FILE``,
``Emulator(schema_file=...)``), so an org can mirror a real one's customisations.

The file is JSON (or YAML when PyYAML is installed)::

    {"objects": {
       "Shipment__c": {"label": "Shipment", "fields": [
          {"name": "Tracking__c", "type": "string", "length": 40, "externalId": true},
          {"name": "Account__c", "type": "reference", "referenceTo": ["Account"]},
          {"name": "Status__c", "type": "picklist", "values": ["Open", "Shipped"]}]},
       "Account": {"fields": [{"name": "Region__c", "type": "string"}]}}}

A new object must end in ``__c``; it gets the fields every custom object has (Id, OwnerId, Name,
IsDeleted, CreatedDate, CreatedById, LastModifiedDate, LastModifiedById, SystemModstamp) and a
key prefix from ``a10`` up. A standard object named in the file gets the fields listed, which
must end in ``__c``. Field types are describe's (Object Reference, "Field Types"); ``required``
makes a field non-nillable, ``unique``/``externalId`` as the field attributes. Records of these
objects are created through the API as usual; the seed gives them none.
Raises :class:`SchemaFileError` with one line saying what is wrong.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

TYPES = frozenset({"string", "textarea", "email", "phone", "url", "picklist", "multipicklist",
                   "boolean", "int", "double", "currency", "percent", "date", "datetime",
                   "reference"})
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*__c\Z")
_LENGTHS = {"string": 255, "textarea": 32768, "email": 80, "phone": 40, "url": 255,
            "picklist": 255, "multipicklist": 4099}
FIRST_PREFIX = 0xA10


class SchemaFileError(ValueError):
    """The schema file cannot be used; the message is one line for a person."""


def _system_fields(label: str) -> list[dict[str, Any]]:
    def f(field_name: str, ftype: str, **extra: Any) -> dict[str, Any]:
        return {"n": field_name, "t": ftype, "nil": False, "c": False, "u": False, **extra}

    return [f("Id", "id", doc=True), f("OwnerId", "reference", c=True, u=True, doc=True,
                                      ref=["User"], rel="Owner"),
            f("IsDeleted", "boolean", doc=True), f("Name", "string", l=80, c=True, u=True,
                                                  name=True, label=f"{label} Name"),
            f("CreatedDate", "datetime", doc=True),
            f("CreatedById", "reference", doc=True, ref=["User"], rel="CreatedBy"),
            f("LastModifiedDate", "datetime", doc=True),
            f("LastModifiedById", "reference", doc=True, ref=["User"], rel="LastModifiedBy"),
            f("SystemModstamp", "datetime", doc=True)]


def _field(obj: str, raw: Any) -> dict[str, Any]:
    if not isinstance(raw, dict) or not isinstance(raw.get("name"), str):
        raise SchemaFileError(f"{obj}: every field needs a name")
    name, ftype = raw["name"], raw.get("type")
    if not _NAME.match(name):
        raise SchemaFileError(f"{obj}.{name}: a custom field's name ends in __c")
    if ftype not in TYPES:
        raise SchemaFileError(f"{obj}.{name}: type must be one of {', '.join(sorted(TYPES))}")
    out: dict[str, Any] = {"n": name, "t": ftype, "nil": not raw.get("required", False),
                           "c": True, "u": True, "label": raw.get("label") or name[:-3].replace("_", " ")}
    if ftype in _LENGTHS:
        out["l"] = int(raw.get("length") or _LENGTHS[ftype])
    if ftype in ("double", "currency", "percent"):
        out["p"] = [int(raw.get("precision", 18)), int(raw.get("scale", 2))]
    if ftype == "boolean":
        out["nil"] = False
    if raw.get("unique"):
        out["uniq"] = True
    if raw.get("externalId"):
        out["ext"] = True
    if ftype == "reference":
        targets = raw.get("referenceTo")
        if not isinstance(targets, list) or not targets:
            raise SchemaFileError(f"{obj}.{name}: a reference needs referenceTo")
        out["ref"] = [str(t) for t in targets]
        out["rel"] = name[:-3] + "__r"
    if ftype in ("picklist", "multipicklist"):
        out["pl"] = [str(v) for v in raw.get("values") or []]
    return out


def parse(data: Any, known: set[str]) -> dict[str, dict[str, Any]]:
    """Raw objects (research/schema format; ``addFields`` for standard ones) from the file's
    data. ``known``: the objects the org has already."""
    objects = data.get("objects") if isinstance(data, dict) else None
    if not isinstance(objects, dict) or not objects:
        raise SchemaFileError('the schema file needs an "objects" map')
    out: dict[str, dict[str, Any]] = {}
    prefix = FIRST_PREFIX
    for name, raw in objects.items():
        fields = [_field(name, f) for f in (raw or {}).get("fields") or []]
        if name in known:
            out[name] = {"addFields": fields}
            continue
        if not _NAME.match(name):
            raise SchemaFileError(f"{name}: a custom object's name ends in __c")
        label = (raw or {}).get("label") or name[:-3].replace("_", " ")
        out[name] = {"keyPrefix": f"{prefix:03x}", "label": label,
                     "labelPlural": (raw or {}).get("labelPlural") or label + "s", "custom": True,
                     **{flag: True for flag in ("queryable", "retrieveable", "createable",
                                                "updateable", "deletable", "replicateable",
                                                "searchable", "undeletable", "triggerable",
                                                "layoutable")},
                     "bulk": True, "fields": _system_fields(label) + fields}
        prefix += 1
    return out


def load(path: Path, known: set[str]) -> dict[str, dict[str, Any]]:
    """The raw objects of the schema file at ``path``."""
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise SchemaFileError(f"cannot read the schema file {path}: {exc.strerror}") from None
    try:
        if path.suffix.lower() in (".yaml", ".yml"):
            try:
                import yaml
            except ImportError:
                raise SchemaFileError("a YAML schema file needs PyYAML; use JSON") from None
            try:
                data = yaml.safe_load(text)
            except yaml.YAMLError as exc:
                raise ValueError(str(exc).replace("\n", " ")) from None
        else:
            data = json.loads(text)
    except ValueError as exc:
        raise SchemaFileError(f"the schema file {path} is not valid: {exc}") from None
    return parse(data, known)
