"""``sfexit archive build | verify``: the exit archive of a real export of the emulated org.

The export is made once per module over real HTTPS (data and file bodies); every expectation
is checked against the org's own rows (``sfexit_emulator.testing``) or against the stock
``bagit`` tools, never against what the archive code itself wrote elsewhere.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import re
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import bagit
import pytest
from auth_support import invoke, on_org_clock, password_env, password_profile, write_config
from click.testing import CliRunner
from export_support import clock_sleep, session_for

from sfexit.archive import build_archive
from sfexit.cli import cli
from sfexit.export.backup import run_backup
from sfexit.export.data_run import ExportOptions
from sfexit.export.manifest import Manifest, ManifestStore
from sfexit_emulator import testing

ISO_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:?\d{2})$")


@pytest.fixture(scope="module")
def export_dir(emulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("archive-export") / "backup"
    summary = run_backup(session_for(emulator), ExportOptions(dest=dest), files=True,
                         sleep=clock_sleep(emulator))
    assert not summary.failed and not summary.files_failed
    return dest


@pytest.fixture(scope="module")
def archive(export_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("archive-out") / "ARCHIVE"
    build_archive(export_dir, out)
    return out


@pytest.fixture(scope="module")
def manifest(archive: Path) -> Manifest:
    return ManifestStore.load(archive / "data").snapshot()


def db(archive: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{(archive / 'archive.sqlite').as_uri()}?mode=ro&immutable=1",
                           uri=True)


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# --- the bag --------------------------------------------------------------------------------

def test_the_archive_is_a_valid_bag_for_the_library_and_the_stock_command(archive: Path) -> None:
    bag = bagit.Bag(str(archive))
    bag.validate()
    assert bag.algorithms == ["sha256"]
    script = Path(sys.executable).with_name("bagit.py")
    command = [str(script)] if script.is_file() else [sys.executable, "-m", "bagit"]
    done = subprocess.run([*command, "--validate", str(archive)], capture_output=True, text=True,
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert "is valid" in done.stderr


def test_the_payload_is_the_export_exactly_and_the_derived_files_are_tag_files(
        archive: Path, export_dir: Path, manifest: Manifest) -> None:
    assert sha256(archive / "data" / "manifest.json") == sha256(export_dir / "manifest.json")
    for entry in manifest.objects.values():
        assert sha256(archive / "data" / entry.file) == entry.sha256
    for f in manifest.files.values():
        assert sha256(archive / "data" / f.path) == sha256(export_dir / f.path) == f.sha256
    assert sorted(p.name for p in (archive / "data" / "schema").iterdir()) == \
        sorted(p.name for p in (export_dir / "schema").iterdir())
    tags = (archive / "tagmanifest-sha256.txt").read_text(encoding="utf-8")
    for name in ("archive.sqlite", "metadata.json", "index.html", "bag-info.txt"):
        assert f"{sha256(archive / name)} {name}\n" in tags
    assert (archive / "bagit.txt").read_text() == \
        "BagIt-Version: 1.0\nTag-File-Character-Encoding: UTF-8\n"


def test_bag_info_records_the_org_the_export_and_the_completeness(
        archive: Path, emulator: Any, manifest: Manifest) -> None:
    info = bagit.Bag(str(archive)).info
    assert info["Salesforce-Org-Id"] == info["External-Identifier"] == emulator.org_id
    (name, edition), = testing.rows(emulator, "SELECT Name, OrganizationType FROM Organization")
    assert info["Salesforce-Org-Name"] == info["Source-Organization"] == name
    assert info["Salesforce-Edition"] == edition
    assert info["Export-Started"] == manifest.started_at
    assert info["Export-Finished"] == manifest.finished_at
    assert info["Archive-Tool-Version"].startswith("sfexit ")
    assert info["Completeness"].startswith(
        f"complete: {len(manifest.objects)} objects, "
        f"{sum(o.rows for o in manifest.objects.values())} rows, {len(manifest.files)} files")
    assert "Contract-End" not in info   # no config: the optional dates are left out


# --- archive.sqlite ---------------------------------------------------------------------------

def test_every_table_holds_the_manifests_row_count_and_the_orgs(
        archive: Path, manifest: Manifest, emulator: Any) -> None:
    conn = db(archive)
    for name, entry in manifest.objects.items():
        assert conn.execute(f'SELECT count(*) FROM "{name}"').fetchone()[0] == entry.rows, name
    for name in ("Account", "Contact", "Opportunity", "Invoice__c"):
        assert manifest.objects[name].rows == testing.record_count(emulator, name)


def test_columns_are_typed_from_describe_with_id_as_primary_key(archive: Path) -> None:
    conn = db(archive)
    info = {r[1]: (r[2], r[5]) for r in conn.execute("PRAGMA table_info('Account')")}
    assert info["Id"] == ("TEXT", 1)
    assert info["AnnualRevenue"][0] == "REAL"          # currency
    assert info["NumberOfEmployees"][0] == "INTEGER"   # int
    assert info["IsDeleted"][0] == "INTEGER"           # boolean as 0/1
    assert info["CreatedDate"][0] == "TEXT"            # datetime as ISO text
    kinds = conn.execute("SELECT DISTINCT typeof(AnnualRevenue), typeof(NumberOfEmployees), "
                         "IsDeleted FROM Account WHERE AnnualRevenue IS NOT NULL "
                         "AND NumberOfEmployees IS NOT NULL").fetchall()
    assert {(k[0], k[1]) for k in kinds} == {("real", "integer")}
    assert {k[2] for k in kinds} <= {0, 1}
    dates = [r[0] for r in conn.execute("SELECT CreatedDate FROM Account")]
    assert dates and all(ISO_DATETIME.match(d) for d in dates)
    cv = {r[1] for r in conn.execute("PRAGMA table_info('ContentVersion')")}
    assert "VersionData" not in cv and "VersionData__path" in cv   # base64: a pointer instead


def test_references_are_foreign_keys_and_polymorphic_ones_only_indexed(archive: Path) -> None:
    conn = db(archive)
    fks = {(r[3], r[2]) for r in conn.execute("PRAGMA foreign_key_list('Contact')")}
    assert ("AccountId", "Account") in fks and ("OwnerId", "User") in fks
    task_fks = {r[3] for r in conn.execute("PRAGMA foreign_key_list('Task')")}
    assert "WhatId" not in task_fks and "WhoId" not in task_fks
    indexed = {conn.execute(f"PRAGMA index_info('{r[1]}')").fetchone()[2]
               for r in conn.execute("PRAGMA index_list('Task')")}
    assert {"WhatId", "WhoId"} <= indexed


def test_owner_and_creator_usernames_and_emails_sit_beside_their_ids(
        archive: Path, emulator: Any) -> None:
    users = {uid: (name, mail) for uid, name, mail in
             testing.rows(emulator, "SELECT Id, Username, Email FROM User")}
    org = {rid: (owner, creator) for rid, owner, creator in
           testing.rows(emulator, "SELECT Id, OwnerId, CreatedById FROM Account")}
    rows = db(archive).execute(
        "SELECT Id, OwnerId, OwnerId__username, OwnerId__email, CreatedById, "
        "CreatedById__username, CreatedById__email FROM Account").fetchall()
    assert len(rows) == len(org)
    for rid, owner, o_name, o_mail, creator, c_name, c_mail in rows:
        assert (owner, creator) == org[rid]
        assert (o_name, o_mail) == users[owner]
        assert (c_name, c_mail) == users[creator]


def test_labels_and_picklist_values_are_kept_from_describe(archive: Path, emulator: Any) -> None:
    described = testing.describe(emulator, "Account")
    conn = db(archive)
    label, plural, rows = conn.execute("SELECT label, label_plural, rows FROM _sfexit_objects "
                                       "WHERE name = 'Account'").fetchone()
    assert (label, plural) == (described["label"], described["labelPlural"])
    assert rows == testing.record_count(emulator, "Account")
    field = next(f for f in described["fields"] if f["name"] == "Industry")
    stored_label, picklist = conn.execute(
        "SELECT label, picklist_values FROM _sfexit_fields WHERE object = 'Account' "
        "AND name = 'Industry'").fetchone()
    assert stored_label == field["label"]
    assert [p["value"] for p in json.loads(picklist)] == \
        [p["value"] for p in field["picklistValues"]]
    skipped = dict(conn.execute("SELECT name, skipped_reason FROM _sfexit_objects "
                                "WHERE skipped_reason IS NOT NULL").fetchall())
    assert "ActivityHistory" in skipped


def test_every_file_is_linked_to_its_record_with_path_size_and_sha256(
        archive: Path, manifest: Manifest, emulator: Any) -> None:
    conn = db(archive)
    rows = conn.execute("SELECT object, id, record_id, record_object, path, size, sha256 "
                        "FROM _sfexit_files").fetchall()
    assert {(o, i) for o, i, *_ in rows} == {(f.object, f.id) for f in manifest.files.values()}
    for _o, _i, _r, _ro, path, size, sha in rows:
        body = archive / path
        assert body.stat().st_size == size and sha256(body) == sha
    parents = dict(testing.rows(emulator, "SELECT Id, ParentId FROM Attachment"))
    for _o, rid, record, record_object, *_ in (r for r in rows if r[0] == "Attachment"):
        assert record == parents[rid]
        assert testing.describe(emulator, record_object)["keyPrefix"] == record[:3]
    versions = dict(testing.rows(emulator, "SELECT Id, ContentDocumentId FROM ContentVersion"))
    for f in (f for f in manifest.files.values() if f.object == "ContentVersion"):
        doc = versions[f.id]
        linked = {r[0] for r in testing.rows(
            emulator, f"SELECT LinkedEntityId FROM ContentDocumentLink "
                      f"WHERE ContentDocumentId = '{doc}'")}
        stored = {r[0] for r in conn.execute(
            "SELECT record_id FROM _sfexit_files WHERE object = 'ContentVersion' AND id = ?",
            [f.id])}
        assert stored == (linked or {doc})
        pointer, = conn.execute("SELECT VersionData__path FROM ContentVersion WHERE Id = ?",
                                [f.id]).fetchone()
        assert pointer == f"data/{f.path}"


def test_datasette_metadata_carries_object_and_field_labels(archive: Path, emulator: Any) -> None:
    meta = json.loads((archive / "metadata.json").read_text(encoding="utf-8"))
    account = meta["databases"]["archive"]["tables"]["Account"]
    described = testing.describe(emulator, "Account")
    assert account["title"] == f"{described['labelPlural']} (Account)"
    field = next(f for f in described["fields"] if f["name"] == "AnnualRevenue")
    assert account["columns"]["AnnualRevenue"] == f"{field['label']} (currency)"
    assert account["label_column"] == "Name"
    assert "OwnerId__username" in account["columns"]


def test_index_html_lists_objects_with_row_counts_and_the_proof(
        archive: Path, manifest: Manifest) -> None:
    page = (archive / "index.html").read_text(encoding="utf-8")
    assert "Completeness proof" in page and "bagit.py --validate ARCHIVE" in page
    assert "datasette -i archive.sqlite -m metadata.json" in page
    assert "<code>Account</code></td><td class=n>" \
           f"{manifest.objects['Account'].rows:,}</td>" in page
    assert "ActivityHistory" in page     # a skipped object with its reason
    assert "http://" not in page and "https://" not in page and "<script" not in page


# --- verify -----------------------------------------------------------------------------------

def test_verify_passes_on_the_archive_as_built(archive: Path) -> None:
    result = run("archive", "verify", str(archive))
    assert result.exit_code == 0, result.output
    assert "Everything matches." in result.stdout


@pytest.fixture
def copy(archive: Path, tmp_path: Path) -> Path:
    target = tmp_path / "copy"
    shutil.copytree(archive, target)
    return target


def _flip_last_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[-1] ^= 0x01
    path.write_bytes(bytes(data))


def test_a_tampered_file_body_fails_verify_naming_the_file(copy: Path,
                                                          manifest: Manifest) -> None:
    body = next(f for f in manifest.files.values() if f.object == "Attachment")
    _flip_last_byte(copy / "data" / body.path)      # same size: only a hash can tell
    result = run("archive", "verify", str(copy))
    assert result.exit_code == 1
    assert f"data/{body.path}" in result.stderr.splitlines()[-1]
    assert f"data/{body.path}" in result.stdout
    with pytest.raises(bagit.BagValidationError):
        bagit.Bag(str(copy)).validate()


def test_a_file_of_another_size_fails_verify_naming_the_file(copy: Path,
                                                            manifest: Manifest) -> None:
    csv_file = copy / "data" / manifest.objects["Account"].file
    with open(csv_file, "ab") as fh:
        fh.write(b'"001000000000000AAA"\n')
    result = run("--json", "archive", "verify", str(copy))
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["result"]["problems"]
    assert any(p["check"] == "bag" and p["name"] == "data/data/Account.csv" for p in problems)
    assert any(p["check"] == "export" and p["name"] == "data/data/Account.csv"
               and p["detail"].startswith("rows") for p in problems)


def test_a_changed_database_fails_verify(copy: Path) -> None:
    conn = sqlite3.connect(copy / "archive.sqlite")
    with conn:
        conn.execute("DELETE FROM Account WHERE Id IN (SELECT Id FROM Account LIMIT 1)")
    conn.close()
    result = run("--json", "archive", "verify", str(copy))
    assert result.exit_code == 1
    problems = json.loads(result.stdout)["result"]["problems"]
    assert {(p["check"], p["name"]) for p in problems} >= {("bag", "archive.sqlite"),
                                                           ("database", "Account")}


# --- the command and its bad inputs -----------------------------------------------------------

def test_build_from_the_command_line_in_another_language(export_dir: Path,
                                                         tmp_path: Path) -> None:
    out = tmp_path / "de"
    result = run("archive", "build", str(export_dir), "--out", str(out), "--lang", "de")
    assert result.exit_code == 0, result.output
    assert f"written to {out}" in result.stdout
    page = (out / "index.html").read_text(encoding="utf-8")
    assert '<html lang="de">' in page and "Nachweis der Vollständigkeit" in page
    assert sorted(p.name for p in tmp_path.iterdir()) == ["de"]   # no temp dir left


def _refused(args: list[str], needle: str, where: Path) -> None:
    before = sorted(p.name for p in where.iterdir())
    result = run("archive", "build", *args)
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error")]
    assert len(lines) == 1 and needle in lines[0], result.stderr
    assert "Traceback" not in result.output
    assert sorted(p.name for p in where.iterdir()) == before   # nothing half-written


def test_build_refuses_a_directory_that_is_not_an_export(tmp_path: Path) -> None:
    (tmp_path / "notes").mkdir()
    _refused([str(tmp_path / "notes"), "--out", str(tmp_path / "out")],
             "is not an sfexit export (no manifest.json)", tmp_path)
    _refused([str(tmp_path / "missing"), "--out", str(tmp_path / "out")],
             "is not a directory", tmp_path)


def test_build_refuses_an_unfinished_or_incomplete_export(export_dir: Path,
                                                          tmp_path: Path) -> None:
    unfinished = tmp_path / "unfinished"
    shutil.copytree(export_dir, unfinished)
    raw = json.loads((unfinished / "manifest.json").read_text(encoding="utf-8"))
    raw["finished_at"] = None
    (unfinished / "manifest.json").write_text(json.dumps(raw), encoding="utf-8")
    _refused([str(unfinished), "--out", str(tmp_path / "out")], "did not finish", tmp_path)

    failed = tmp_path / "failed"
    shutil.copytree(export_dir, failed)
    raw = json.loads((failed / "manifest.json").read_text(encoding="utf-8"))
    del raw["objects"]["Contact"]     # described, then failed: neither exported nor skipped
    (failed / "manifest.json").write_text(json.dumps(raw), encoding="utf-8")
    _refused([str(failed), "--out", str(tmp_path / "out")],
             "described but not exported, first Contact", tmp_path)

    changed = tmp_path / "changed"
    shutil.copytree(export_dir, changed)
    with open(changed / "data" / "Lead.csv", "ab") as fh:
        fh.write(b"\n")
    _refused([str(changed), "--out", str(tmp_path / "out")],
             "does not match its manifest", tmp_path)


def test_build_refuses_an_out_that_is_not_empty_or_inside_the_export(
        export_dir: Path, tmp_path: Path) -> None:
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "keep.txt").write_text("mine")
    _refused([str(export_dir), "--out", str(tmp_path / "full")], "is not empty", tmp_path)
    assert (tmp_path / "full" / "keep.txt").read_text() == "mine"
    _refused([str(export_dir), "--out", str(tmp_path / "full" / "keep.txt")], "is a file",
             tmp_path)
    _refused([str(export_dir), "--out", str(tmp_path / "x"), "--lang", "xx"],
             "--lang: 'xx' is not a supported language", tmp_path)
    inside = export_dir / "archive"
    result = run("archive", "build", str(export_dir), "--out", str(inside))
    assert result.exit_code == 2 and "is inside the export" in result.stderr
    assert not inside.exists()


def test_build_into_an_empty_directory_replaces_it(export_dir: Path, tmp_path: Path) -> None:
    out = tmp_path / "empty"
    out.mkdir()
    result = run("archive", "build", str(export_dir), "--out", str(out))
    assert result.exit_code == 0, result.output
    bagit.Bag(str(out)).validate(fast=True)


def test_verify_refuses_a_directory_that_is_not_an_archive(export_dir: Path) -> None:
    result = run("archive", "verify", str(export_dir))
    assert result.exit_code == 2
    assert "is not an sfexit archive" in result.stderr


def test_the_weekly_export_parts_are_bagged_as_downloaded(fresh_emulator: Any, tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    org = fresh_emulator
    testing.seed_export(org, org.clock.now() - dt.timedelta(hours=1))
    dest = tmp_path / "backup"
    config = write_config(tmp_path / "cfg", org, **password_profile(org))
    done = invoke(["--config", str(config), "export", "weekly", "--dest", str(dest)],
                  env=password_env(org), app=on_org_clock(org))
    assert done.code == 0, done.output
    run_backup(session_for(org), ExportOptions(dest=dest, objects=("Account",)), files=False,
               sleep=clock_sleep(org))
    parts = ManifestStore.load(dest).snapshot().weekly
    assert parts
    build_archive(dest, tmp_path / "ARCHIVE")
    bagit.Bag(str(tmp_path / "ARCHIVE")).validate()
    for part in parts:
        bagged = tmp_path / "ARCHIVE" / "data" / part.path
        assert bagged.read_bytes() == (dest / part.path).read_bytes()
        assert sha256(bagged) == part.sha256
    info = bagit.Bag(str(tmp_path / "ARCHIVE")).info
    assert f"{len(parts)} weekly parts" in info["Completeness"]


def test_an_interrupted_build_leaves_nothing_behind(export_dir: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    import sfexit.archive.build as build_module

    def interrupted(*_args: Any, **_kw: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(build_module, "build_database", interrupted)
    result = run("archive", "build", str(export_dir), "--out", str(tmp_path / "out"))
    assert result.exit_code == 130
    assert list(tmp_path.iterdir()) == []     # no archive, no temporary directory


def test_an_export_changed_while_it_is_copied_fails_naming_the_file(
        export_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sfexit.archive.payload as payload_module

    copy_hashing = payload_module.copy_hashing

    def change_then_copy(source: Path, target: Path, **options: Any) -> Any:
        if source.name == "Contact.csv":     # rewritten after the size check, before its copy
            _flip_last_byte_of_a_field(source)
        return copy_hashing(source, target, **options)

    backup = tmp_path / "backup"
    shutil.copytree(export_dir, backup)
    monkeypatch.setattr(payload_module, "copy_hashing", change_then_copy)
    result = run("archive", "build", str(backup), "--out", str(tmp_path / "out"))
    assert result.exit_code == 1
    assert "first data/Contact.csv (object Contact): sha256" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup"]


def _flip_last_byte_of_a_field(path: Path) -> None:
    """Same size, still a CSV of the same rows: only a hash can tell."""
    data = bytearray(path.read_bytes())
    at = data.rindex(b"\n", 0, len(data) - 1) + 2     # second byte of the last row
    data[at] = ord("X") if data[at] != ord("X") else ord("Y")
    path.write_bytes(bytes(data))


def test_a_body_whose_bytes_are_not_the_manifests_is_never_bagged_with_its_stale_hash(
        export_dir: Path, tmp_path: Path) -> None:
    backup = tmp_path / "backup"
    shutil.copytree(export_dir, backup)
    body = next(f for f in ManifestStore.load(backup).snapshot().files.values()
                if f.object == "Attachment")
    _flip_last_byte(backup / body.path)       # same size: the stat check cannot tell
    result = run("archive", "build", str(backup), "--out", str(tmp_path / "out"))
    assert result.exit_code == 1, result.output
    assert f"first {body.path} (file {body.key}): sha256 {sha256(backup / body.path)}, " \
           f"manifest.json says {body.sha256}" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup"]


def test_a_file_of_another_size_is_refused_before_anything_is_written(
        export_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sfexit.archive.payload as payload_module

    backup = tmp_path / "backup"
    shutil.copytree(export_dir, backup)
    body = next(f for f in ManifestStore.load(backup).snapshot().files.values()
                if f.object == "ContentVersion")
    with open(backup / body.path, "ab") as fh:
        fh.write(b"!")
    monkeypatch.setattr(payload_module, "copy_hashing", None)    # nothing may be copied
    result = run("archive", "build", str(backup), "--out", str(tmp_path / "out"))
    assert result.exit_code == 2
    assert f"first {body.path} (file {body.key}): bytes {body.size + 1}, " \
           f"manifest.json says {body.size}" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup"]


def test_a_build_reads_each_payload_file_once_and_bags_the_hash_of_what_it_wrote(
        export_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every byte-level read of a payload file is counted: the export's once (the copy), the
    bag's copy once (its SHA-256, checked against the manifest's), nothing else. The database then reads each CSV as text: its header line, then once
    through (the restore-ready lookups are made by SQLite in the tables already written);
    Organization's first row once more for the edition."""
    import builtins
    import io

    real_open = builtins.open
    binary_reads: dict[str, int] = {}
    text_reads: dict[str, int] = {}
    backup = tmp_path / "backup"
    shutil.copytree(export_dir, backup)
    listed = ManifestStore.load(backup).snapshot()
    payload = {o.file for o in listed.objects.values()} | {f.path for f in listed.files.values()}

    def counting_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        where = Path(str(file)).as_posix()
        for relative in payload:
            if where.endswith("/" + relative) and "r" in mode:
                reads = binary_reads if "b" in mode else text_reads
                side = "export" if where.startswith(backup.as_posix()) else "bag"
                key = relative if reads is text_reads else f"{side} {relative}"
                reads[key] = reads.get(key, 0) + 1
        return real_open(file, mode, *args, **kwargs)

    monkeypatch.setattr(builtins, "open", counting_open)
    monkeypatch.setattr(io, "open", counting_open)
    build_archive(backup, tmp_path / "ARCHIVE")
    monkeypatch.undo()
    assert binary_reads == {f"{side} {relative}": 1 for relative in payload
                            for side in ("export", "bag")}
    assert text_reads == {o.file: 3 if o.name == "Organization" else 2
                          for o in listed.objects.values()}
    bagit.Bag(str(tmp_path / "ARCHIVE")).validate()
    lines = (tmp_path / "ARCHIVE" / "manifest-sha256.txt").read_text().splitlines()
    bagged = {path: sha for sha, path in (line.split("  ", 1) for line in lines)}
    for entry in [*listed.objects.values()]:
        assert bagged[f"data/{entry.file}"] == entry.sha256
    for f in listed.files.values():
        assert bagged[f"data/{f.path}"] == f.sha256


def test_a_row_count_that_is_not_the_manifests_fails_the_build_naming_the_csv(
        export_dir: Path, tmp_path: Path) -> None:
    backup = tmp_path / "backup"
    shutil.copytree(export_dir, backup)
    raw = json.loads((backup / "manifest.json").read_text(encoding="utf-8"))
    rows = raw["objects"]["Lead"]["rows"]
    raw["objects"]["Lead"]["rows"] = rows + 1
    (backup / "manifest.json").write_text(json.dumps(raw), encoding="utf-8")
    result = run("archive", "build", str(backup), "--out", str(tmp_path / "out"))
    assert result.exit_code == 1, result.output
    assert f"first data/Lead.csv (object Lead): rows {rows}, manifest.json says {rows + 1}" \
        in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup"]


def test_a_csv_listed_with_the_hash_of_a_malformed_file_fails_the_build_naming_the_record(
        export_dir: Path, tmp_path: Path) -> None:
    from sfexit.ondisk import file_digest

    backup = tmp_path / "backup"
    shutil.copytree(export_dir, backup)
    lead = backup / "data" / "Lead.csv"
    lines = lead.read_bytes().splitlines(keepends=True)
    lines[-1] = lines[-1].rstrip(b"\n") + b',"an extra field"\n'    # a shifted row
    lead.write_bytes(b"".join(lines))
    raw = json.loads((backup / "manifest.json").read_text(encoding="utf-8"))
    size, digest = file_digest(lead)
    raw["objects"]["Lead"].update(bytes=size, sha256=digest)
    (backup / "manifest.json").write_text(json.dumps(raw), encoding="utf-8")
    result = run("archive", "build", str(backup), "--out", str(tmp_path / "out"))
    assert result.exit_code == 1, result.output
    last, width = raw["objects"]["Lead"]["rows"], lines[0].count(b",") + 1
    assert f"data/Lead.csv: record {last} has {width + 1} fields, its header {width}" \
        in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup"]
