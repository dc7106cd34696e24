"""Custom objects and fields declared at start (``--schema FILE`` / ``Emulator(schema_file=)``),
used through simple-salesforce like any object of the org."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from simple_salesforce import Salesforce

from sfexit_emulator import Emulator
from sfexit_emulator.cli import main
from sfexit_emulator.schema_custom import SchemaFileError

SCHEMA = {"objects": {
    "Shipment__c": {"label": "Shipment", "fields": [
        {"name": "Tracking__c", "type": "string", "length": 40, "externalId": True},
        {"name": "Account__c", "type": "reference", "referenceTo": ["Account"]},
        {"name": "Status__c", "type": "picklist", "values": ["Open", "Shipped"]},
        {"name": "Weight__c", "type": "double", "precision": 10, "scale": 2}]},
    "Account": {"fields": [{"name": "Region__c", "type": "string", "length": 40}]}}}


@pytest.fixture
def org(tmp_path: Path) -> Any:
    path = tmp_path / "schema.json"
    path.write_text(json.dumps(SCHEMA), encoding="utf-8")
    with Emulator(records=200, seed=1, schema_file=path) as running:
        yield running


def test_declared_objects_are_described_written_upserted_and_queried(org: Emulator,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(org.ca_file))
    sf: Any = Salesforce(instance_url=org.url, session_id=org.token, version="64.0")
    describe = sf.Shipment__c.describe()
    fields = {f["name"]: f for f in describe["fields"]}
    assert describe["custom"] is True and describe["keyPrefix"] == "a10"
    assert fields["Tracking__c"]["externalId"] and fields["Tracking__c"]["idLookup"]
    assert fields["Account__c"]["referenceTo"] == ["Account"]
    assert [v["value"] for v in fields["Status__c"]["picklistValues"]] == ["Open", "Shipped"]
    account = sf.query("SELECT Id, Name FROM Account LIMIT 1")["records"][0]
    made = sf.Shipment__c.create({"Name": "S-1", "Tracking__c": "T-1", "Account__c": account["Id"],
                                  "Status__c": "Open", "Weight__c": 2.5})
    assert made["success"] and made["id"].startswith("a10")
    assert sf.Shipment__c.upsert("Tracking__c/T-1", {"Status__c": "Shipped"}) == 200
    [row] = sf.query("SELECT Status__c, Account__r.Name FROM Shipment__c")["records"]
    assert row["Status__c"] == "Shipped" and row["Account__r"]["Name"] == account["Name"]
    sf.Account.update(account["Id"], {"Region__c": "EMEA"})
    assert sf.Account.get(account["Id"])["Region__c"] == "EMEA"


def test_a_bad_schema_file_is_one_line_and_exit_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"objects": {"Shipment": {"fields": []}}}), encoding="utf-8")
    result = CliRunner().invoke(main, ["serve", "--schema", str(bad)])
    assert result.exit_code == 2
    assert result.output.strip() == "Error: --schema: Shipment: a custom object's name ends in __c"
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    with pytest.raises(SchemaFileError):
        Emulator(schema_file=broken)
    wrong_type = tmp_path / "type.json"
    wrong_type.write_text(json.dumps({"objects": {"X__c": {"fields": [
        {"name": "Y__c", "type": "blob"}]}}}), encoding="utf-8")
    with pytest.raises(SchemaFileError, match="X__c.Y__c: type must be one of"):
        Emulator(schema_file=wrong_type)
