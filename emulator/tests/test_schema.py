"""Schema metadata: loaded from the research file, never invented."""

from __future__ import annotations

import json
from pathlib import Path

from sfexit_emulator import schema as schema_module
from sfexit_emulator.schema import Schema, describe_object, field_describe

RESEARCH = Path(__file__).parents[2] / "emulator/src/sfexit_emulator/data/standard-objects.json"


def test_every_standard_object_and_field_comes_from_the_research_file() -> None:
    raw = json.loads(RESEARCH.read_text("utf-8"))
    additions = json.loads((Path(schema_module.__file__).parent / "data" / "emulator-objects.json")
                           .read_text("utf-8"))
    schema = Schema.load()
    for name, obj in raw.items():
        if name == "_meta":
            continue
        loaded = schema.objects[name]
        research_fields = {f["n"] for f in obj["fields"]}
        # The only standard fields beyond the research file are the documented addFields.
        research_fields |= {f["n"] for f in additions.get(name, {}).get("addFields", [])}
        ours = {f.name for f in loaded.fields if not f.custom}
        assert ours <= research_fields, name  # feature-gated fields may be dropped, none invented
        assert loaded.key_prefix == obj["keyPrefix"]


def test_feature_gated_fields_are_dropped() -> None:
    account = Schema.load().objects["Account"]
    assert account.field("RecordTypeId") is None and account.field("OperatingHoursId") is None
    assert account.field("Jigsaw") is not None


def test_emulator_additions() -> None:
    schema = Schema.load()
    assert schema.get("project__c").name == "Project__c"  # type: ignore[union-attr]
    hierarchy = [f.name for f in schema.objects["User"].fields if f.hierarchy]
    assert hierarchy == ["Escalation_Manager__c"]
    assert schema.objects["AcceptedEventRelation"].bulk is False
    assert schema.get("ScratchOrgInfo") is None


def test_field_describe_shape() -> None:
    schema = Schema.load()
    owner = field_describe(schema.objects["Case"].field("OwnerId"))  # type: ignore[arg-type]
    assert owner["referenceTo"] == ["Group", "User"] and owner["soapType"] == "tns:ID"
    assert owner["type"] == "reference" and owner["length"] == 18
    street = field_describe(schema.objects["Account"].field("BillingStreet"))  # type: ignore[arg-type]
    assert street["compoundFieldName"] == "BillingAddress" and street["filterable"]
    body = describe_object(schema, schema.objects["Account"], "v64.0")
    assert list(body) == sorted(body)
    assert {"childRelationships", "fields", "urls", "keyPrefix", "queryable"} <= set(body)
    contacts = [c for c in body["childRelationships"] if c["childSObject"] == "Contact" and c["field"] == "AccountId"]
    assert contacts and contacts[0]["relationshipName"] == "Contacts"


def test_field_describe_matches_a_recorded_case_describe() -> None:
    """Key set and flags as in CumulusCI's recorded GET sobjects/Case/describe."""
    recorded_keys = {
        "aggregatable", "aiPredictionField", "autoNumber", "byteLength", "calculated", "calculatedFormula",
        "cascadeDelete", "caseSensitive", "compoundFieldName", "controllerName", "createable", "custom",
        "defaultValue", "defaultValueFormula", "defaultedOnCreate", "dependentPicklist", "deprecatedAndHidden",
        "digits", "displayLocationInDecimal", "encrypted", "externalId", "extraTypeInfo", "filterable",
        "filteredLookupInfo", "formulaTreatNullNumberAsZero", "groupable", "highScaleNumber", "htmlFormatted",
        "idLookup", "inlineHelpText", "label", "length", "mask", "maskType", "name", "nameField", "namePointing",
        "nillable", "permissionable", "picklistValues", "polymorphicForeignKey", "precision", "queryByDistance",
        "referenceTargetField", "referenceTo", "relationshipName", "relationshipOrder", "restrictedDelete",
        "restrictedPicklist", "scale", "searchPrefilterable", "soapType", "sortable", "type", "unique",
        "updateable", "writeRequiresMasterRead"}
    case = Schema.load().objects["Case"]
    fields = {f.name: field_describe(f) for f in case.fields}
    assert set(fields["Id"]) == recorded_keys
    assert fields["Id"]["label"] == "Case ID" and fields["Id"]["idLookup"] is True
    deleted = fields["IsDeleted"]
    assert (deleted["defaultValue"], deleted["aggregatable"], deleted["groupable"]) == (False, False, True)
    comments = fields["Comments"]
    assert (comments["filterable"], comments["sortable"], comments["groupable"]) == (False, True, False)
    assert comments["extraTypeInfo"] == "plaintextarea"
    body = describe_object(Schema.load(), case, "v48.0")
    assert body["recordTypeInfos"][0]["recordTypeId"] == "012000000000000AAA"


def test_describe_global_entry_matches_recorded_shape() -> None:
    from sfexit_emulator.schema import global_entry
    schema = Schema.load()
    account = global_entry(schema.objects["Account"], "v52.0")
    assert list(account) == ["activateable", "associateEntityType", "associateParentEntity", "createable", "custom",
                             "customSetting", "deepCloneable", "deletable", "deprecatedAndHidden", "feedEnabled",
                             "hasSubtypes", "isInterface", "isSubtype", "keyPrefix", "label", "labelPlural",
                             "layoutable", "mergeable", "mruEnabled", "name", "queryable", "replicateable",
                             "retrieveable", "searchable", "triggerable", "undeletable", "updateable", "urls"]
    assert set(account["urls"]) == {"compactLayouts", "rowTemplate", "approvalLayouts", "listviews", "describe",
                                    "quickActions", "layouts", "sobject"}
    organization = global_entry(schema.objects["Organization"], "v52.0")
    assert set(organization["urls"]) == {"rowTemplate", "describe", "sobject"}
    assert global_entry(schema.objects["AcceptedEventRelation"], "v52.0")["keyPrefix"] is None
