"""Object metadata of the emulated org, and the describe bodies built from it.

Facts come from `data/standard-objects.json` (copied from research/schema, never invented here) plus
`data/emulator-objects.json`: the demo org's custom objects and the few real objects the research
file does not cover. Describe keys and their order follow recorded REST describe responses.

`Schema.load()` is cached: the metadata is immutable and shared by every store of the process.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sfexit_emulator.schema_recorded import FIELD_OVERRIDES, ID_LOOKUP, LISTVIEWS, URL_EXCEPTIONS

_DATA = Path(__file__).parent / "data"

# Fields that exist only when an org feature is on. The demo org has none of these features, and
# their reference targets (RecordType, Asset, OperatingHours...) are not emulated.
_FEATURES_OFF = ("record types", "partner portal", "customer portal", "channel programs", "D&B",
                 "Field Service", "Assets", "Individual")
# Fields the object reference marks "Defaulted on create" where the research capture (inferred
# properties) does not: the org fills them, so a create may leave them out. Document.AuthorId:
# "Create, Defaulted on create, Filter, Group, Sort, Update" — the running user
# (https://developer.salesforce.com/docs/atlas.en-us.api.meta/api/sforce_api_objects_document.htm).
# store_writes.py fills the value.
DEFAULTED_ON_CREATE = frozenset({("Document", "AuthorId")})
# Objects a query is refused for outright (virtual views; export-pitfalls.md B).
NOT_QUERYABLE_ALONE = frozenset({"ActivityHistory"})

_SOAP_TYPES = {
    "id": "tns:ID", "reference": "tns:ID", "boolean": "xsd:boolean", "int": "xsd:int",
    "double": "xsd:double", "currency": "xsd:double", "percent": "xsd:double", "date": "xsd:date",
    "datetime": "xsd:dateTime", "time": "xsd:time", "base64": "xsd:base64Binary",
    "address": "urn:address", "location": "urn:location",
}
_DEFAULT_LENGTHS = {"string": 255, "textarea": 32000, "picklist": 255, "multipicklist": 4099,
                    "combobox": 255, "email": 80, "phone": 40, "url": 255, "encryptedstring": 175}
COMPOUND_TYPES = frozenset({"address", "location"})


@dataclass(frozen=True)
class FieldDef:
    name: str
    type: str
    label: str
    length: int = 0
    precision: int = 0
    scale: int = 0
    digits: int = 0
    nillable: bool = True
    createable: bool = False
    updateable: bool = False
    defaulted_on_create: bool = False
    auto_number: bool = False
    name_field: bool = False
    unique: bool = False
    external_id: bool = False
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None
    polymorphic: bool = False
    compound_field_name: str | None = None
    picklist: tuple[str, ...] = ()
    picklist_default: str | None = None
    restricted_picklist: bool = False
    cascade_delete: bool = False
    custom: bool = False
    hierarchy: bool = False
    id_lookup: bool = False

    @property
    def is_compound(self) -> bool:
        return self.type in COMPOUND_TYPES

    @property
    def is_textual(self) -> bool:
        return self.type in _DEFAULT_LENGTHS


@dataclass
class SObjectDef:
    name: str
    label: str
    label_plural: str
    key_prefix: str | None
    flags: dict[str, bool]
    bulk: bool | str | None
    custom: bool
    fields: list[FieldDef]
    # What describe shows: None for views whose rows carry another object's prefix
    # (AcceptedEventRelation rows are EventRelation 0RE ids; the recorded global describe of its
    # sibling UndecidedEventRelation has keyPrefix null).
    describe_key_prefix: str | None = None
    by_lower: dict[str, FieldDef] = field(default_factory=dict)
    relationships: dict[str, FieldDef] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.by_lower = {f.name.lower(): f for f in self.fields}
        self.relationships = {f.relationship_name.lower(): f for f in self.fields
                              if f.relationship_name and f.type == "reference"}

    def field(self, name: str) -> FieldDef | None:
        return self.by_lower.get(name.lower())

    @property
    def queryable(self) -> bool:
        return self.flags.get("queryable", False)

    @property
    def stored_fields(self) -> list[FieldDef]:
        """Fields with a column: compound fields are assembled from their components."""
        return [f for f in self.fields if not f.is_compound]

    def components(self, compound: str) -> list[FieldDef]:
        return [f for f in self.fields if f.compound_field_name == compound and f.name != compound]


_FLAG_NAMES = ("activateable", "createable", "deletable", "feedEnabled", "layoutable", "mergeable",
               "queryable", "replicateable", "retrieveable", "searchable", "triggerable",
               "undeletable", "updateable")


def _label_from_name(name: str) -> str:
    """A describe-like label for fields the research file gives no label for (emulator-derived)."""
    base = re.sub(r"__(c|s)$", "", name).replace("_", " ")
    words = re.findall(r"[A-Z]+(?![a-z])|[A-Z]?[a-z0-9]+|[A-Z]", base)
    if len(words) > 1 and words[0] == "Is":
        words = words[1:]
    return " ".join("ID" if w == "Id" else w for w in words) or name


def _plural(label: str) -> str:
    if label.endswith("y") and label[-2:-1] not in "aeiou":
        return label[:-1] + "ies"
    return label + ("es" if label.endswith(("s", "x", "ch", "sh")) else "s")


def _custom_targets(refs: list[str], custom_objects: list[str]) -> tuple[str, ...]:
    out: list[str] = []
    for ref in refs:
        if ref.startswith("<custom objects"):
            out.extend(custom_objects)
        elif not ref.startswith("<"):
            out.append(ref)
    return tuple(dict.fromkeys(out))


def _field_from_raw(raw: dict[str, Any], custom_objects: list[str]) -> FieldDef:
    ftype = raw["t"]
    name = raw["n"]
    precision, scale = raw.get("p", [0, 0])
    length = raw.get("l") or _DEFAULT_LENGTHS.get(ftype, 18 if ftype in ("id", "reference") else 0)
    return FieldDef(
        name=name, type=ftype, label=raw.get("label") or _label_from_name(name), length=length,
        precision=precision, scale=scale, digits=raw.get("dg", 9 if ftype == "int" else 0),
        nillable=raw["nil"], createable=raw["c"], updateable=raw["u"],
        defaulted_on_create=raw.get("doc", False), auto_number=raw.get("auto", False),
        name_field=raw.get("name", False), unique=raw.get("uniq", False),
        external_id=raw.get("ext", False),
        reference_to=_custom_targets(raw.get("ref", []), custom_objects),
        relationship_name=raw.get("rel"), polymorphic=raw.get("poly", False),
        compound_field_name=raw.get("cmp"), picklist=tuple(raw.get("pl", [])),
        picklist_default=raw.get("pld"), restricted_picklist=raw.get("plr", False),
        cascade_delete=raw.get("cascade", False), custom=name.endswith(("__c", "__s")),
        hierarchy=raw.get("hier", False),
    )


def _feature_off(raw: dict[str, Any]) -> bool:
    feat = str(raw.get("feat") or "")
    return bool(feat) and any(key in feat for key in _FEATURES_OFF)


def _object_from_raw(name: str, raw: dict[str, Any], custom_objects: list[str]) -> SObjectDef:
    label = raw.get("label") or _label_from_name(name)
    fields = [_field_from_raw(f, custom_objects) for f in raw["fields"] if not _feature_off(f)]
    fields = [dataclasses.replace(f, defaulted_on_create=True)
              if (name, f.name) in DEFAULTED_ON_CREATE else f for f in fields]
    # The Id field's label is "<object label> ID" (recorded describes: "Case ID").
    fields = [dataclasses.replace(f, label=f"{label} ID") if f.type == "id" else f for f in fields]
    fields = [dataclasses.replace(f, id_lookup=True)
              if f.type == "id" or f.unique or f.external_id or (name, f.name) in ID_LOOKUP else f
              for f in fields]
    return SObjectDef(
        name=name, label=label, label_plural=raw.get("labelPlural") or _plural(label),
        key_prefix=raw.get("keyPrefix"), flags={k: bool(raw.get(k, False)) for k in _FLAG_NAMES},
        bulk=raw.get("bulk"), custom=raw.get("custom", False), fields=fields,
        describe_key_prefix=raw.get("describeKeyPrefix", raw.get("keyPrefix")))


class Schema:
    """All objects of the org, looked up case-insensitively."""

    def __init__(self, objects: list[SObjectDef]) -> None:
        self.objects = {o.name: o for o in objects}
        self._by_lower = {o.name.lower(): o for o in objects}
        self._by_prefix: dict[str, SObjectDef] = {}
        for o in objects:
            if o.key_prefix:
                self._by_prefix.setdefault(o.key_prefix, o)

    @classmethod
    @functools.cache
    def load(cls) -> "Schema":
        return cls.build({})

    @classmethod
    def build(cls, declared: dict[str, dict[str, Any]]) -> "Schema":
        """The emulated org's objects plus ``declared`` (raw objects of a schema file,
        schema_custom.py): new objects, or ``addFields`` for existing ones."""
        standard = json.loads((_DATA / "standard-objects.json").read_text("utf-8"))
        extra = json.loads((_DATA / "emulator-objects.json").read_text("utf-8"))
        extra = {**{n: o for n, o in extra.items() if not n.startswith("_")}}
        raws: dict[str, dict[str, Any]] = {n: o for n, o in standard.items() if n != "_meta"}
        for source in (extra, declared):
            for name, obj in source.items():
                if "addFields" in obj and name in raws:
                    raws[name] = {**raws[name], "fields": raws[name]["fields"] + obj["addFields"]}
                elif "addFields" not in obj:
                    raws[name] = obj
        customs = [n for n, o in raws.items() if o.get("custom")]
        return cls([_object_from_raw(n, r, customs) for n, r in raws.items()])

    def get(self, name: str) -> SObjectDef | None:
        return self._by_lower.get(name.lower())

    def by_prefix(self, prefix: str) -> SObjectDef | None:
        return self._by_prefix.get(prefix)

    def stored_objects(self) -> list[SObjectDef]:
        """Objects with a table: those with a key prefix (views like ActivityHistory have none)."""
        return [o for o in self.objects.values() if o.key_prefix]

    def child_relationships(self, parent: str) -> list[dict[str, Any]]:
        out = []
        for child in self.objects.values():
            for f in child.fields:
                if parent in f.reference_to and f.relationship_name:
                    out.append({
                        "cascadeDelete": f.cascade_delete, "childSObject": child.name,
                        "deprecatedAndHidden": False, "field": f.name,
                        "junctionIdListNames": [], "junctionReferenceTo": [],
                        "relationshipName": child_relationship_name(parent, child, f),
                        "restrictedDelete": False,
                    })
        return out

    def child_relationship(self, parent: str, name: str) -> tuple[SObjectDef, FieldDef] | None:
        """(child object, its field) of the child relationship `name` of `parent` (any case)."""
        for child in self.objects.values():
            for f in child.fields:
                if parent in f.reference_to and f.relationship_name:
                    rel = child_relationship_name(parent, child, f)
                    if rel is not None and rel.lower() == name.lower():
                        return child, f
        return None


# Child relationship names are not in the research data. Those seen in the recorded Case describe
# (Attachments, ContentDocumentLinks, Tasks/Events via WhatId, Histories, Shares) and a few widely
# used ones are listed; otherwise the child's plural label for a `<Parent>Id` field, else none.
_CHILD_NAMES = {("Attachment", "ParentId"): "Attachments", ("Note", "ParentId"): "Notes",
                ("ContentDocumentLink", "LinkedEntityId"): "ContentDocumentLinks",
                ("Task", "WhatId"): "Tasks", ("Event", "WhatId"): "Events", ("Task", "WhoId"): "Tasks",
                ("Event", "WhoId"): "Events", ("Task", "AccountId"): None, ("Event", "AccountId"): None,
                ("Account", "ParentId"): "ChildAccounts", ("User", "ManagerId"): "ManagedUsers",
                ("PermissionSetAssignment", "PermissionSetId"): "Assignments",
                ("ObjectPermissions", "ParentId"): "ObjectPerms",
                ("ContentVersion", "FirstPublishLocationId"): None,
                ("ActivityHistory", "WhatId"): "ActivityHistories", ("ActivityHistory", "AccountId"): None,
                ("Invoice__c", "Project__c"): "Invoices__r", ("Project__c", "Account__c"): "Projects__r",
                ("Invoice__c", "Account__c"): "Invoices__r"}


def child_relationship_name(parent: str, child: SObjectDef, f: FieldDef) -> str | None:
    if (child.name, f.name) in _CHILD_NAMES:
        return _CHILD_NAMES[(child.name, f.name)]
    if child.name in (parent + "History", parent + "Share"):
        return "Histories" if child.name.endswith("History") else "Shares"
    if f.name == parent + "Id" or (f.name == "ParentId" and child.name == parent):
        return child.label_plural.replace(" ", "")
    return None


def global_urls(obj: SObjectDef, version: str) -> dict[str, str]:
    """The urls of a describe-global entry, as recorded (CumulusCI's global describe cassette):
    layoutable objects list their layout resources, ``listviews`` only objects with a tab,
    a few objects their own (schema_recorded.URL_EXCEPTIONS); others only
    rowTemplate/describe/sobject."""
    base = f"/services/data/{version}/sobjects/{obj.name}"
    if not obj.flags["layoutable"]:
        return {"rowTemplate": f"{base}/{{ID}}", "describe": f"{base}/describe", "sobject": base}
    urls = {"compactLayouts": f"{base}/describe/compactLayouts", "rowTemplate": f"{base}/{{ID}}",
            "approvalLayouts": f"{base}/describe/approvalLayouts", "listviews": f"{base}/listviews",
            "describe": f"{base}/describe", "quickActions": f"{base}/quickActions",
            "layouts": f"{base}/describe/layouts", "sobject": base}
    left_out, added = URL_EXCEPTIONS.get(obj.name, (frozenset(), ()))
    urls = {k: v for k, v in urls.items()
            if k not in left_out and (k != "listviews" or obj.name in LISTVIEWS)}
    urls.update((key, base + tail) for key, tail in added)
    return urls


def object_urls(obj: SObjectDef, version: str, instance_url: str) -> dict[str, str]:
    """The describe's urls (recorded Account/Contact/Lead describes): the global ones, plus
    ``defaultValues`` and the UI templates on the instance (``uiDetailTemplate``,
    ``uiEditTemplate``, ``uiNewRecord``) for objects with a key prefix."""
    base = f"/services/data/{version}/sobjects/{obj.name}"
    urls = global_urls(obj, version)
    if obj.flags["layoutable"]:
        urls["defaultValues"] = f"{base}/defaultValues?recordTypeId&fields"
    if obj.describe_key_prefix and instance_url:
        urls.update({"uiDetailTemplate": f"{instance_url}/{{ID}}",
                     "uiEditTemplate": f"{instance_url}/{{ID}}/e",
                     "uiNewRecord": f"{instance_url}/{obj.describe_key_prefix}/e"})
    return urls


def global_entry(obj: SObjectDef, version: str) -> dict[str, Any]:
    f = obj.flags
    return {
        "activateable": f["activateable"], "associateEntityType": None, "associateParentEntity": None,
        "createable": f["createable"], "custom": obj.custom, "customSetting": False,
        "deepCloneable": False, "deletable": f["deletable"], "deprecatedAndHidden": False,
        "feedEnabled": f["feedEnabled"], "hasSubtypes": False, "isInterface": False,
        "isSubtype": False, "keyPrefix": obj.describe_key_prefix, "label": obj.label,
        "labelPlural": obj.label_plural, "layoutable": f["layoutable"], "mergeable": f["mergeable"],
        "mruEnabled": f["layoutable"], "name": obj.name, "queryable": f["queryable"],
        "replicateable": f["replicateable"], "retrieveable": f["retrieveable"],
        "searchable": f["searchable"], "triggerable": f["triggerable"],
        "undeletable": f["undeletable"], "updateable": f["updateable"],
        "urls": global_urls(obj, version),
    }


def describe_global(schema: Schema, version: str) -> dict[str, Any]:
    entries = [global_entry(o, version) for o in sorted(schema.objects.values(), key=lambda o: o.name)]
    return {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": entries}


def _filterable(f: FieldDef) -> bool:
    # Recorded describes: compound addresses are filterable (schema_recorded); location UNCONF.
    if f.type in ("base64", "location"):
        return False
    return not (f.type == "textarea" and f.length > 255)


def _sortable(f: FieldDef) -> bool:
    # Recorded describes: a 4,000-char textarea is sortable and aggregatable, not filterable.
    return f.type not in ("base64", "address", "location") and not (f.type == "textarea" and f.length > 4000)


def _groupable(f: FieldDef) -> bool:
    return f.type in ("id", "reference", "string", "picklist", "boolean", "date", "email",
                      "phone", "url", "int", "combobox") and f.length <= 255


def field_describe(f: FieldDef) -> dict[str, Any]:
    textual = f.is_textual
    return {
        "aggregatable": _sortable(f) and f.type != "boolean", "aiPredictionField": False,
        "autoNumber": f.auto_number,
        "byteLength": f.length * 3 if textual else (18 if f.type in ("id", "reference") else 0),
        "calculated": False, "calculatedFormula": None, "cascadeDelete": f.cascade_delete,
        "caseSensitive": False, "compoundFieldName": f.compound_field_name,
        "controllerName": None, "createable": f.createable, "custom": f.custom,
        "defaultValue": False if f.type == "boolean" and f.defaulted_on_create else None,
        "defaultValueFormula": None, "defaultedOnCreate": f.defaulted_on_create,
        "dependentPicklist": False, "deprecatedAndHidden": False, "digits": f.digits,
        "displayLocationInDecimal": f.type == "location", "encrypted": False,
        "externalId": f.external_id,
        "extraTypeInfo": "plaintextarea" if f.type == "textarea" else None,
        "filterable": _filterable(f), "filteredLookupInfo": None,
        "formulaTreatNullNumberAsZero": False, "groupable": _groupable(f),
        "highScaleNumber": False, "htmlFormatted": False, "idLookup": f.id_lookup,
        "inlineHelpText": None, "label": f.label,
        "length": f.length if textual or f.type in ("id", "reference") else 0,
        "mask": None, "maskType": None, "name": f.name, "nameField": f.name_field,
        "namePointing": f.polymorphic, "nillable": f.nillable, "permissionable": f.nillable and f.updateable,
        "picklistValues": [{"active": True, "defaultValue": v == f.picklist_default, "label": v,
                            "validFor": None, "value": v} for v in f.picklist],
        "polymorphicForeignKey": f.polymorphic, "precision": f.precision,
        "queryByDistance": False, "referenceTargetField": None, "referenceTo": list(f.reference_to),
        "relationshipName": f.relationship_name,
        "relationshipOrder": 0 if f.cascade_delete else None, "restrictedDelete": False,
        "restrictedPicklist": f.restricted_picklist, "scale": f.scale,
        "searchPrefilterable": False, "soapType": _SOAP_TYPES.get(f.type, "xsd:string"),
        "sortable": _sortable(f), "type": f.type, "unique": f.unique,
        "updateable": f.updateable, "writeRequiresMasterRead": f.cascade_delete,
    }


def _master_record_type(obj: SObjectDef, version: str) -> dict[str, Any]:
    """Every layoutable object has the Master record type (recorded Case describe)."""
    rt = "012000000000000AAA"
    return {"active": True, "available": True, "defaultRecordTypeMapping": True, "developerName": "Master",
            "master": True, "name": "Master", "recordTypeId": rt,
            "urls": {"layout": f"/services/data/{version}/sobjects/{obj.name}/describe/layouts/{rt}"}}


def describe_object(schema: Schema, obj: SObjectDef, version: str,
                    instance_url: str = "") -> dict[str, Any]:
    body = global_entry(obj, version)
    body.pop("urls")
    body.update({
        "actionOverrides": [], "childRelationships": schema.child_relationships(obj.name),
        "compactLayoutable": obj.flags["layoutable"], "defaultImplementation": None,
        "extendedBy": None, "extendsInterfaces": None,
        "fields": [{**field_describe(f), **FIELD_OVERRIDES.get((obj.name, f.name), {})}
                   for f in obj.fields], "implementedBy": None,
        "implementsInterfaces": None, "listviewable": None, "lookupLayoutable": None,
        "namedLayoutInfos": [], "networkScopeFieldName": None,
        "recordTypeInfos": [_master_record_type(obj, version)] if obj.flags["layoutable"] else [],
        "searchLayoutable": obj.flags["searchable"], "sobjectDescribeOption": "FULL",
        "supportedScopes": [], "urls": object_urls(obj, version, instance_url),
    })
    return dict(sorted(body.items()))
