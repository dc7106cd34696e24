"""The archive's tables from describe (pure), and the restore-ready record type names on a
small export made here (the emulator has no record types)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sfexit.archive.columns import Column, plan_table, sql_value
from sfexit.archive.database import build_database
from sfexit.archive.source import ExportSource
from sfexit.export.csvsink import csv_line
from sfexit.export.manifest import ManifestStore, ObjectEntry
from sfexit.ondisk import file_digest


def field(name: str, kind: str, *targets: str) -> dict[str, Any]:
    return {"name": name, "type": kind, "label": name.title(), "referenceTo": list(targets)}


ACCOUNT = {"name": "Account", "label": "Account", "labelPlural": "Accounts", "keyPrefix": "001",
           "fields": [field("Id", "id"), field("Name", "string"), field("IsActive", "boolean"),
                      field("Employees", "int"), field("Revenue", "currency"),
                      field("OwnerId", "reference", "User", "Group"),
                      field("RecordTypeId", "reference", "RecordType"),
                      field("ParentId", "reference", "Account"),
                      field("WhatId", "reference", "Account", "Opportunity"),
                      field("Logo", "base64")]}


def test_types_keys_and_restore_columns_come_from_describe() -> None:
    header = ["Id", "Name", "IsActive", "Employees", "Revenue", "OwnerId", "RecordTypeId",
              "ParentId", "WhatId"]
    plan = plan_table("Account", header, ACCOUNT, {"Account", "User", "RecordType"})
    types = {c.name: c.type for c in plan.columns}
    assert (types["IsActive"], types["Employees"], types["Revenue"], types["Name"]) == \
        (int, int, float, str)
    names = [c.name for c in plan.columns]
    assert names[names.index("OwnerId") + 1: names.index("OwnerId") + 3] == \
        ["OwnerId__username", "OwnerId__email"]
    assert "RecordTypeId__developer_name" in names and "Logo" not in names
    assert plan.pk == "Id"
    assert plan.foreign_keys == (("RecordTypeId", "RecordType"), ("ParentId", "Account"))
    assert plan.indexed == ("OwnerId", "WhatId")      # polymorphic: indexed, not constrained


def test_values_are_converted_and_empty_cells_are_null() -> None:
    import sqlite3

    conn = sqlite3.connect(":memory:")
    conn.execute("CREATE TABLE t (x INTEGER, y FLOAT, z TEXT)")
    columns = [Column("x", int, "x"), Column("y", float, "y"), Column("z", str, "z")]
    insert = f"INSERT INTO t VALUES ({', '.join(sql_value(c, i + 1) for i, c in enumerate(columns))})"
    conn.executemany(insert, [("true", "1.5", ""), ("false", "", "0"), ("", "x", "n/a"),
                              ("42", "2", "true"), ("3.0", "1e3", " "), ("n/a", "-0.5", "x")])
    assert conn.execute("SELECT x, y, z FROM t").fetchall() == [
        (1, 1.5, None), (0, None, "0"), (None, "x", "n/a"), (42, 2.0, "true"),
        (3, 1000.0, " "), ("n/a", -0.5, "x")]


def _object(store: ManifestStore, directory: Path, name: str, describe: dict[str, Any],
            rows: list[list[str]]) -> None:
    import json

    (directory / "schema").mkdir(exist_ok=True)
    (directory / "schema" / f"{name}.json").write_text(json.dumps(describe))
    path = directory / "data" / f"{name}.csv"
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(b"".join(csv_line(r) for r in rows))
    size, sha = file_digest(path)
    store.put_object(ObjectEntry(name=name, method="bulk", query="", job_ids=[],
                                 rows=len(rows) - 1, bytes=size, sha256=sha,
                                 file=f"data/{name}.csv"))


def test_record_type_developer_names_and_usernames_sit_beside_their_ids(tmp_path: Path) -> None:
    store = ManifestStore.create(tmp_path, org_id="00D000000000001AAA")
    _object(store, tmp_path, "RecordType", {"name": "RecordType", "fields": [
        field("Id", "id"), field("DeveloperName", "string")]},
        [["Id", "DeveloperName"], ["012000000000001AAA", "Partner_Account"]])
    _object(store, tmp_path, "User", {"name": "User", "fields": [
        field("Id", "id"), field("Username", "string"), field("Email", "email")]},
        [["Id", "Username", "Email"],
         ["005000000000001AAA", "ann@acme.example", "ann.smith@mail.example"]])
    _object(store, tmp_path, "Account", ACCOUNT,
            [["Id", "Name", "OwnerId", "RecordTypeId"],
             ["001000000000001AAA", "Acme", "005000000000001AAA", "012000000000001AAA"],
             ["001000000000002AAA", "Queue-owned", "00G000000000001AAA", ""]])
    store.finish()
    source = ExportSource(tmp_path, store.snapshot())
    summary = build_database(source, tmp_path / "archive.sqlite")
    assert summary.tables == {"Account": 2, "RecordType": 1, "User": 1}
    conn = sqlite3.connect(tmp_path / "archive.sqlite")
    assert conn.execute("SELECT Id, OwnerId__username, OwnerId__email, "
                        "RecordTypeId__developer_name FROM Account ORDER BY Id").fetchall() == [
        ("001000000000001AAA", "ann@acme.example", "ann.smith@mail.example", "Partner_Account"),
        ("001000000000002AAA", None, None, None)]


def test_an_empty_csv_still_gets_its_table_from_describe(tmp_path: Path) -> None:
    store = ManifestStore.create(tmp_path, org_id="00D000000000001AAA")
    _object(store, tmp_path, "Account", ACCOUNT, [["Id"]])
    (tmp_path / "data" / "Account.csv").write_bytes(b"")
    size, sha = file_digest(tmp_path / "data" / "Account.csv")
    entry = store.snapshot().objects["Account"]
    store.put_object(ObjectEntry(**{**entry.__dict__, "bytes": size, "sha256": sha}))
    summary = build_database(ExportSource(tmp_path, store.snapshot()), tmp_path / "a.sqlite")
    assert summary.tables == {"Account": 0}
    columns = [r[1] for r in sqlite3.connect(tmp_path / "a.sqlite").execute(
        "PRAGMA table_info('Account')")]
    assert columns[:3] == ["Id", "Name", "IsActive"] and "Logo" not in columns
