"""create / update / delete of one record: field checks, org rules, system fields, audit rows.

Each function runs inside the caller's write transaction and raises SalesforceFault on the first
error (one error per record, as the REST API answers a single-record write).
"""

from __future__ import annotations

import hashlib
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sfexit_emulator import orgrules
from sfexit_emulator.schema import Schema, SObjectDef
from sfexit_emulator.store_db import format_datetime, quote
from sfexit_emulator.store_fault import SalesforceFault
from sfexit_emulator.store_records import (decode_blob_value, encode_value, existing_row,
                                           field_for_write, insert_row, record_error,
                                           required_missing, resolve_object, update_row)

# Children deleted with their parent beyond master-detail fields (object reference notes).
_CASCADE_EXTRA = {"ContentDocument": (("ContentVersion", "ContentDocumentId"),
                                      ("ContentDocumentLink", "ContentDocumentId"))}
_NAME_FROM_PARTS = ("Contact", "Lead", "User")
# Values the org fills in on insert where the research schema (inferred nillability) says
# "required": Salesforce defaults them (ContentVersion object reference).
_OBJECT_DEFAULTS = {"ContentVersion": {"SharingOption": "A", "SharingPrivacy": "N", "Origin": "C",
                                       "ContentLocation": "S", "PublishStatus": "R"},
                    "User": {"DigestFrequency": "D", "DefaultGroupNotificationFrequency": "N",
                             "UserType": "Standard"}}
_SET_BY_ORG = {("ContentVersion", "ContentDocumentId")}
# User lookups the org sets to the running user on insert when not given (object reference:
# Document.AuthorId "Defaulted on create", see schema.DEFAULTED_ON_CREATE).
_RUNNING_USER_DEFAULTS = {"Document": ("AuthorId",)}
# An owner change through the API deletes the record's team unless the SOAP header
# OwnerChangeOptions says KeepAccountTeam / KeepSalesTeam (both default false, API 45.0+; SOAP
# API Developer Guide, sforce_api_header_ownerchangeoptions.htm). KB 000390190 ("Retaining
# Salesforce Account Team When Changing Account Owner"): since Winter '21 an owner change "via
# API or Apex" deletes the account team members and their sharing rows by default. REST,
# sObject Collections and Bulk ingest carry no such header (users-protocol.md §4), so they
# always delete. The guide's caveat (members added through group-based access are removed even
# with Keep…) is not modelled: the emulator has no record-level sharing.
# UNCONF: soft delete (the rows go to the recycle bin, queryAll sees them, the replication
# API's deleted/ lists them); Salesforce does not document where the dropped rows go.
TEAM_ON_OWNER_CHANGE = {"Account": ("AccountTeamMember", "AccountId", "KeepAccountTeam"),
                        "Opportunity": ("OpportunityTeamMember", "OpportunityId", "KeepSalesTeam")}


@dataclass(frozen=True)
class ValidationRule:
    """A test hook standing in for an org's validation rule: `applies(row)` sees stored values."""
    sobject: str
    applies: Callable[[dict[str, Any]], bool]
    message: str
    field: str | None = None


@dataclass
class WriteContext:
    conn: sqlite3.Connection
    schema: Schema
    rules: list[ValidationRule]
    as_user: str
    now: datetime
    # OwnerChangeOptions types sent with execute=true (SOAP update/upsert only).
    owner_change_options: frozenset[str] = frozenset()
    # (object, owned by as_user) -> the owner-change refusal, or None: the running user's
    # permissions do not change inside one transaction, and a 100k-row Bulk job asks 100k times.
    owner_change: dict[tuple[str, bool], SalesforceFault | None] = field(default_factory=dict)

    def next_id(self, prefix: str) -> str:
        return orgrules.allocate_id(self.conn, prefix)


def _unsupported(obj: SObjectDef, verb: str) -> SalesforceFault:
    # UNCONF: Salesforce's answer to a call the object does not support ("Supported Calls").
    return SalesforceFault(400, "INVALID_TYPE_FOR_OPERATION", f"entity type {obj.name} does not support {verb}")


def _convert(ctx: WriteContext, obj: SObjectDef, values: dict[str, Any],
             creating: bool) -> tuple[dict[str, Any], dict[str, bytes]]:
    row: dict[str, Any] = {}
    blobs: dict[str, bytes] = {}
    for key, value in values.items():
        if key == "attributes" or (not creating and key.lower() == "id"):
            continue
        f = field_for_write(obj, key, creating)
        if f.type == "base64":
            blobs[f.name] = decode_blob_value(f, value)
            row[f.name] = 1
        else:
            row[f.name] = encode_value(f, value)
    return row, blobs


def _check_references(ctx: WriteContext, obj: SObjectDef, row: dict[str, Any]) -> None:
    for name, value in row.items():
        f = obj.field(name)
        if f is None or f.type != "reference" or value is None or name == "OwnerId":
            continue
        targets = [t for t in (ctx.schema.get(n) for n in f.reference_to) if t and t.key_prefix]
        target = next((t for t in targets if t.key_prefix == value[:3]), None)
        if target is None:
            if targets:
                raise record_error("MALFORMED_ID", f"{f.label}: id value of incorrect type: {value}", [f.name])
            continue
        hit = ctx.conn.execute(f'SELECT "IsDeleted" FROM {quote(target.name)} WHERE "Id" = ?', (value,)).fetchone()
        if hit is None or hit[0]:
            # A lookup to a record that is missing, deleted or out of the user's reach: Salesforce
            # answers INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY "insufficient access rights on
            # cross-reference id" with no field (recorded create responses, issue 21; the same
            # code and text in practitioners' reports of lookups to deleted or unshared records,
            # acesalesforce.com and forcetree.com). The docs' StatusCode list names both codes
            # without saying which case gets which (UNCONF beyond the recordings).
            # INVALID_CROSS_REFERENCE_KEY stays for owners (orgrules.check_owner).
            raise record_error("INSUFFICIENT_ACCESS_ON_CROSS_REFERENCE_ENTITY",
                               "insufficient access rights on cross-reference id", [])


def _check_validation_rules(ctx: WriteContext, obj: SObjectDef, merged: dict[str, Any]) -> None:
    for rule in ctx.rules:
        if rule.sobject.lower() == obj.name.lower() and rule.applies(merged):
            raise record_error("FIELD_CUSTOM_VALIDATION_EXCEPTION", rule.message,
                               [rule.field] if rule.field else [])


def _defaults(ctx: WriteContext, obj: SObjectDef, row: dict[str, Any]) -> None:
    stamp = format_datetime(ctx.now)
    system = {"CreatedDate": stamp, "LastModifiedDate": stamp, "SystemModstamp": stamp,
              "CreatedById": ctx.as_user, "LastModifiedById": ctx.as_user, "OwnerId": ctx.as_user}
    for f in obj.stored_fields:
        if f.name in row:
            continue
        if f.name in system:
            row[f.name] = system[f.name]
        elif f.type == "boolean":
            row[f.name] = 1 if (obj.name, f.name) in (("User", "IsActive"),) else 0
        elif f.picklist_default is not None:
            row[f.name] = f.picklist_default
    row["IsDeleted"] = 0
    for name in _RUNNING_USER_DEFAULTS.get(obj.name, ()):
        if row.get(name) is None:  # left out or sent as null (UNCONF for null)
            row[name] = ctx.as_user
    for name, value in _OBJECT_DEFAULTS.get(obj.name, {}).items():
        row.setdefault(name, value)
    row.update(_derived(obj, row, row))
    for f in obj.fields:
        if f.auto_number or (obj.name, f.name) == ("Case", "CaseNumber"):
            n = _next_auto_number(ctx, obj, f.name)
            row[f.name] = f"INV-{n:06d}" if obj.name == "Invoice__c" else f"{n:08d}"


def _derived(obj: SObjectDef, changes: dict[str, Any], merged: dict[str, Any]) -> dict[str, Any]:
    """Read-only fields the org computes from the written ones (Name, IsClosed, IsWon...)."""
    out: dict[str, Any] = {}
    if obj.name in _NAME_FROM_PARTS and ({"FirstName", "LastName"} & set(changes)) and obj.field("Name"):
        out["Name"] = " ".join(p for p in (merged.get("FirstName"), merged.get("LastName")) if p)
    status = changes.get("StageName") if obj.name == "Opportunity" else None
    if status is not None:
        won, closed = status == "Closed Won", status.startswith("Closed")
        out.update({"IsClosed": int(closed), "IsWon": int(won),
                    "ForecastCategory": "Closed" if won else ("Omitted" if closed else "Pipeline")})
        if merged.get("ForecastCategoryName") is None or "ForecastCategoryName" not in changes:
            out["ForecastCategoryName"] = out["ForecastCategory"]
    if obj.name in ("Case", "Task") and changes.get("Status") is not None:
        out["IsClosed"] = int(changes["Status"] == ("Closed" if obj.name == "Case" else "Completed"))
    return out


def _next_auto_number(ctx: WriteContext, obj: SObjectDef, field_name: str) -> int:
    """Auto numbers keep counting past deleted rows; the counter lives beside the id counters."""
    key = f"auto:{obj.name}.{field_name}"
    row = ctx.conn.execute("SELECT next FROM _idseq WHERE prefix = ?", (key,)).fetchone()
    if row is None:
        (count,) = ctx.conn.execute(f"SELECT COUNT(*) FROM {quote(obj.name)}").fetchone()
        row = (count + 1,)
    ctx.conn.execute("INSERT OR REPLACE INTO _idseq (prefix, next) VALUES (?, ?)", (key, row[0] + 1))
    return int(row[0])


def create_record(ctx: WriteContext, sobject: str, values: dict[str, Any]) -> tuple[str, dict[str, bytes]]:
    """Insert one record; returns its id and the blobs to store (field -> bytes)."""
    obj = resolve_object(ctx.schema, sobject)
    if not obj.flags["createable"]:
        raise _unsupported(obj, "create")
    row, blobs = _convert(ctx, obj, values, creating=True)
    _defaults(ctx, obj, row)
    missing = [m for m in required_missing(obj, row) if (obj.name, m) not in _SET_BY_ORG]
    if missing:
        raise record_error("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{', '.join(missing)}]", missing)
    _check_references(ctx, obj, row)
    if obj.field("OwnerId") is not None and row.get("OwnerId"):
        orgrules.check_owner(ctx.conn, obj, row["OwnerId"])
    if obj.name == "User":
        orgrules.check_manager(ctx.conn, row.get("ManagerId"))
        orgrules.check_username_free(ctx.conn, row.get("Username"), None)
    _check_validation_rules(ctx, obj, row)
    assert obj.key_prefix is not None
    row["Id"] = ctx.next_id(obj.key_prefix)
    if obj.name == "ContentVersion":
        _new_content_version(ctx, row, blobs.get("VersionData", b""))
    insert_row(ctx.conn, obj, row)
    if obj.name == "User":
        ctx.conn.execute('INSERT INTO "UserLogin" ("Id", "UserId", "IsFrozen", "IsPasswordLocked", '
                         '"LastModifiedDate", "LastModifiedById", "IsDeleted") VALUES (?, ?, 0, 0, ?, ?, 0)',
                         (ctx.next_id("0Yw"), row["Id"], row["CreatedDate"], ctx.as_user))
        if row.get("IsActive"):
            orgrules.check_licence(ctx.conn, row["Id"])
        orgrules.recount_licences(ctx.conn)
    return row["Id"], blobs


def _new_content_version(ctx: WriteContext, row: dict[str, Any], data: bytes) -> None:
    """A ContentVersion insert creates its ContentDocument, or adds a version to it."""
    row.update({"ContentSize": len(data), "Checksum": hashlib.md5(data).hexdigest(), "IsLatest": 1})
    title = row.get("Title") or row.get("PathOnClient") or "file"
    doc_id = row.get("ContentDocumentId")
    if doc_id is None:
        doc_id = ctx.next_id("069")
        stamp = format_datetime(ctx.now)
        ctx.conn.execute('INSERT INTO "ContentDocument" ("Id", "Title", "OwnerId", "CreatedById", '
                         '"CreatedDate", "LastModifiedById", "LastModifiedDate", "SystemModstamp", '
                         '"IsArchived", "IsDeleted", "PublishStatus", "ContentSize") '
                         "VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 'R', ?)",
                         (doc_id, title, row["OwnerId"], ctx.as_user, stamp, ctx.as_user, stamp, stamp, len(data)))
        row.update({"ContentDocumentId": doc_id, "VersionNumber": "1"})
    else:
        (n,) = ctx.conn.execute('SELECT COUNT(*) FROM "ContentVersion" WHERE "ContentDocumentId" = ?',
                                (doc_id,)).fetchone()
        ctx.conn.execute('UPDATE "ContentVersion" SET "IsLatest" = 0 WHERE "ContentDocumentId" = ?', (doc_id,))
        row["VersionNumber"] = str(n + 1)
    ctx.conn.execute('UPDATE "ContentDocument" SET "LatestPublishedVersionId" = ?, "ContentSize" = ? '
                     'WHERE "Id" = ?', (row["Id"], len(data), doc_id))


def update_record(ctx: WriteContext, sobject: str, record_id: str, values: dict[str, Any]) -> dict[str, bytes]:
    obj = resolve_object(ctx.schema, sobject)
    current = existing_row(ctx.conn, obj, record_id)
    if not obj.flags["updateable"]:
        raise _unsupported(obj, "update")
    changes, blobs = _convert(ctx, obj, values, creating=False)
    for name, value in changes.items():
        f = obj.field(name)
        if value is None and f is not None and not f.nillable and f.type != "boolean":
            raise record_error("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{name}]", [name])
    if obj.name == "Lead" and current.get("IsConverted"):
        raise record_error("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead", [])
    _check_references(ctx, obj, changes)
    if changes.get("OwnerId") and changes["OwnerId"] != current.get("OwnerId"):
        _check_owner_change(ctx, obj, current.get("OwnerId"))
        orgrules.check_owner(ctx.conn, obj, changes["OwnerId"])
    changes.update(_derived(obj, changes, {**current, **changes}))
    audits = _user_rules(ctx, obj, current, changes)
    _check_validation_rules(ctx, obj, {**current, **changes})
    stamp = format_datetime(ctx.now)
    for name, value in (("LastModifiedDate", stamp), ("SystemModstamp", stamp), ("LastModifiedById", ctx.as_user)):
        if obj.field(name) is not None:
            changes[name] = value
    update_row(ctx.conn, obj, current["Id"], changes)
    if changes.get("OwnerId") and changes["OwnerId"] != current.get("OwnerId"):
        _drop_team(ctx, obj, current["Id"])
    for entry in audits:
        orgrules.add_audit(ctx.conn, ctx.next_id, entry, ctx.as_user, ctx.now)
    if obj.name == "User" and "IsActive" in changes:
        if not changes["IsActive"]:
            orgrules.remove_from_groups(ctx.conn, current["Id"])
        orgrules.recount_licences(ctx.conn)
    return blobs


def _drop_team(ctx: WriteContext, obj: SObjectDef, record_id: str) -> None:
    """The owner change deletes the record's team (see TEAM_ON_OWNER_CHANGE)."""
    team = TEAM_ON_OWNER_CHANGE.get(obj.name)
    if team is None or team[2] in ctx.owner_change_options:
        return
    team_obj = ctx.schema.get(team[0])
    if team_obj is not None:
        _soft_delete(ctx, team_obj, team[1], record_id)


def _check_owner_change(ctx: WriteContext, obj: SObjectDef, current_owner: str | None) -> None:
    """The running user's right to change this record's owner (orgrules.check_owner_change)."""
    key = (obj.name, current_owner == ctx.as_user)
    if key not in ctx.owner_change:
        sobject_type = ctx.schema.objects["ObjectPermissions"].field("SobjectType")
        permissionable = sobject_type is not None and obj.name in sobject_type.picklist
        try:
            orgrules.check_owner_change(ctx.conn, obj, permissionable, current_owner, ctx.as_user)
            ctx.owner_change[key] = None
        except SalesforceFault as exc:
            ctx.owner_change[key] = exc
    refused = ctx.owner_change[key]
    if refused is not None:
        raise record_error(refused.error_code, refused.message, list(refused.fields or []))


def _hierarchy_fields(obj: SObjectDef) -> list[tuple[str, str]]:
    """User lookups that block deactivation: custom hierarchy fields, then ManagerId ("a User
    cannot report to an inactive User", KB 000004425). UNCONF: the Manager case's text reuses the
    hierarchy-field message with the label "Manager"."""
    return [(f.name, f.label) for f in obj.fields if f.hierarchy] + [("ManagerId", "Manager")]


def _user_rules(ctx: WriteContext, obj: SObjectDef, current: dict[str, Any],
                changes: dict[str, Any]) -> list[orgrules.AuditEntry]:
    """Deactivation/activation and freeze rules; returns the audit rows to add."""
    if obj.name == "User":
        if changes.get("Username") and changes["Username"] != current.get("Username"):
            orgrules.check_username_free(ctx.conn, changes["Username"], current["Id"])
        if "ManagerId" in changes and changes["ManagerId"] != current.get("ManagerId"):
            orgrules.check_manager(ctx.conn, changes["ManagerId"])
        if "IsActive" not in changes or bool(changes["IsActive"]) == bool(current["IsActive"]):
            return []
        if not changes["IsActive"]:
            orgrules.check_deactivation(ctx.conn, current["Id"], ctx.as_user, _hierarchy_fields(obj))
            return [orgrules.audit_for("deactivateduser", current["Username"])]
        orgrules.check_licence(ctx.conn, current["Id"])
        return [orgrules.audit_for("activateduser", current["Username"])]
    if obj.name == "UserLogin":
        if changes.get("IsPasswordLocked"):
            # "From the API, you can set this field to false, but not true" (users-protocol §2).
            # UNCONF: the error code and text.
            raise record_error(orgrules.BLOCKED, "IsPasswordLocked can only be set to false", ["IsPasswordLocked"])
        if "IsFrozen" not in changes or bool(changes["IsFrozen"]) == bool(current["IsFrozen"]):
            return []
        if changes["IsFrozen"] and current["UserId"] == ctx.as_user:
            raise record_error(orgrules.BLOCKED, orgrules.SELF_FREEZE, ["IsFrozen"])
        username = orgrules.username_of(ctx.conn, current["UserId"])
        return [orgrules.audit_for("frozeuser" if changes["IsFrozen"] else "unfrozeuser", username)]
    return []


def delete_record(ctx: WriteContext, sobject: str, record_id: str, *, hard: bool = False) -> None:
    """Soft delete (IsDeleted = 1, visible to queryAll), cascading to detail records.
    `hard`: Bulk's hardDelete, the rows are gone (no recycle bin)."""
    obj = resolve_object(ctx.schema, sobject)
    current = existing_row(ctx.conn, obj, record_id)
    if not obj.flags["deletable"]:
        raise _unsupported(obj, "delete")
    remove = _hard_delete if hard else _soft_delete
    remove(ctx, obj, "Id", current["Id"])
    for child_name, field_name in _children(ctx.schema, obj):
        child = ctx.schema.get(child_name)
        if child is not None:
            remove(ctx, child, field_name, current["Id"])


def _hard_delete(ctx: WriteContext, obj: SObjectDef, field_name: str, value: str) -> None:
    ctx.conn.execute(f"DELETE FROM {quote(obj.name)} WHERE {quote(field_name)} = ?", (value,))


def _children(schema: Schema, obj: SObjectDef) -> list[tuple[str, str]]:
    out = list(_CASCADE_EXTRA.get(obj.name, ()))
    for child in schema.stored_objects():
        for f in child.fields:
            if f.cascade_delete and obj.name in f.reference_to:
                out.append((child.name, f.name))
    return out


def _soft_delete(ctx: WriteContext, obj: SObjectDef, field_name: str, value: str) -> None:
    sets = ['"IsDeleted" = 1']
    params: list[Any] = []
    for name, stamp in (("LastModifiedDate", format_datetime(ctx.now)), ("SystemModstamp", format_datetime(ctx.now)),
                        ("LastModifiedById", ctx.as_user)):
        if obj.field(name) is not None:
            sets.append(f"{quote(name)} = ?")
            params.append(stamp)
    ctx.conn.execute(f"UPDATE {quote(obj.name)} SET {', '.join(sets)} WHERE {quote(field_name)} = ? "
                     'AND "IsDeleted" = 0', [*params, value])

