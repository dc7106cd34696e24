"""The files step of the backup against the emulator over real HTTPS.

Every body is compared with the emulator's own bytes (``testing.blob_chunks``), never
with what sfexit itself wrote.
"""

from __future__ import annotations

import base64
import hashlib
import json
import unicodedata
from pathlib import Path
from typing import Any

import pytest

from click.testing import CliRunner

from auth_support import invoke, password_env, password_profile, requests_total, write_config
from sfexit.cli import cli
from sfexit import errors
from sfexit.config import load_settings
from sfexit.export.files import FileProgress, FilesSummary, export_files
from sfexit.export.manifest import ManifestStore
from sfexit.org import connect, soql
from sfexit.org.blobs import download_blob
from sfexit.org.session import OrgSession
from sfexit_emulator import testing


# --- helpers -------------------------------------------------------------------------------------

def session_for(org: Any, tmp_path: Path) -> OrgSession:
    """The CLI's own path to a session: config file + secrets from the environment + connect()."""
    config = write_config(tmp_path / "cfg", org, **password_profile(org))
    settings = load_settings(config, environ=password_env(org))
    return connect(settings, read_only=True, sleep=lambda _s: None)  # never sleep in tests


def run_export(org: Any, dest: Path, tmp_path: Path, **kw: Any) -> tuple[FilesSummary,
                                                                          ManifestStore]:
    manifest = ManifestStore.open_or_create(dest, org_id=org.org_id)
    summary = export_files(session_for(org, tmp_path), dest, manifest, **kw)
    return summary, manifest


def org_rows(org: Any, soql: str, *, include_deleted: bool = False) -> list[tuple[Any, ...]]:
    return testing.rows(org, soql, include_deleted=include_deleted)


def org_blob(org: Any, sobject: str, record_id: str) -> tuple[str, str, int]:
    """sha256, md5 and size of the body as the emulator holds it."""
    sha, md5, size = hashlib.sha256(), hashlib.md5(), 0
    for chunk in testing.blob_chunks(org, sobject, record_id):
        sha.update(chunk)
        md5.update(chunk)
        size += len(chunk)
    return sha.hexdigest(), md5.hexdigest(), size


def expected_files(org: Any, *, all_versions: bool = False) -> dict[str, dict[str, Any]]:
    """``Object/Id`` → the org's metadata for every live body the export must hold."""
    latest = "" if all_versions else " WHERE IsLatest = true"
    out: dict[str, dict[str, Any]] = {}
    for rid, size, checksum in org_rows(org, "SELECT Id, ContentSize, Checksum FROM "
                                             "ContentVersion" + latest):
        out[f"ContentVersion/{rid}"] = {"size": size, "md5": checksum}
    for sobject in ("Attachment", "Document"):
        for rid, size in org_rows(org, f"SELECT Id, BodyLength FROM {sobject}"):
            out[f"{sobject}/{rid}"] = {"size": size, "md5": None}
    return out


def disk_state(dest: Path) -> dict[str, str]:
    """Every file under files/ (relative path → sha256): what a rerun must reproduce."""
    return {p.relative_to(dest).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted((dest / "files").rglob("*")) if p.is_file()}


def manifest_files(dest: Path) -> dict[str, Any]:
    return dict(json.loads((dest / "manifest.json").read_text(encoding="utf-8"))["files"])


def blob_gets(org: Any) -> int:
    org.stats()  # stats are counted after the response is written: one more request settles it
    return int(org.stats()["requests_by_route"].get("sobject_blob", 0))


# --- a clean run ---------------------------------------------------------------------------------

def test_every_seeded_file_is_downloaded_and_matches_the_org_bytes(emulator: Any,
                                                                   tmp_path: Path) -> None:
    dest = tmp_path / "backup"
    summary, _ = run_export(emulator, dest, tmp_path, parallel=8)
    expected = expected_files(emulator)
    entries = manifest_files(dest)
    assert set(entries) == set(expected)
    assert summary.downloaded == len(expected) and not summary.failed and summary.ok
    for key, entry in entries.items():
        sobject, rid = key.split("/")
        sha, md5, size = org_blob(emulator, sobject, rid)
        on_disk = dest / entry["path"]
        assert hashlib.sha256(on_disk.read_bytes()).hexdigest() == sha == entry["sha256"]
        assert entry["size"] == size == expected[key]["size"] == on_disk.stat().st_size
        assert entry["complete"] and entry["size_match"]
        if sobject == "ContentVersion":
            assert entry["md5"] == md5 == expected[key]["md5"] and entry["md5_match"] is True
        else:
            assert entry["md5"] is None and entry["md5_match"] is None
        assert entry["path"].startswith(f"files/{sobject}/{rid}-")
    assert not list(dest.rglob("*.part"))
    # Seeded names with quotes, slashes, colons, emoji and non-Latin text, stored safely.
    names = {Path(e["path"]).name for e in entries.values()}
    assert any("見積書" in n for n in names) and any("🚀" in n for n in names)
    assert not any(":" in n or '"' in n for n in names)


def test_all_versions_gets_every_content_version(emulator: Any, tmp_path: Path) -> None:
    dest = tmp_path / "backup"
    summary, _ = run_export(emulator, dest, tmp_path, all_versions=True, parallel=4)
    versions = {k for k in manifest_files(dest) if k.startswith("ContentVersion/")}
    expected = {k for k in expected_files(emulator, all_versions=True)
                if k.startswith("ContentVersion/")}
    latest = {k for k in expected_files(emulator) if k.startswith("ContentVersion/")}
    assert versions == expected
    assert len(expected) > len(latest)  # the seed has files with several versions
    assert summary.ok


def test_deleted_files_are_listed_only_with_include_deleted_and_reported(
        emulator: Any, tmp_path: Path) -> None:
    deleted = {rid for (rid,) in org_rows(
        emulator, "SELECT Id FROM ContentVersion WHERE IsLatest = true AND IsDeleted = true",
        include_deleted=True)}
    assert deleted, "the seed should hold a deleted file"
    summary, _ = run_export(emulator, tmp_path / "b", tmp_path, include_deleted=True)
    # Salesforce serves no body for a row in the recycle bin: reported, not a failure.
    assert {p.id for p in summary.unavailable} == deleted
    assert all("ENTITY_IS_DELETED" in p.reason for p in summary.unavailable)
    assert summary.ok
    assert not set(manifest_files(tmp_path / "b")) & {f"ContentVersion/{d}" for d in deleted}
    assert not list((tmp_path / "b").rglob("*.part"))


# --- hostile names -------------------------------------------------------------------------------

# Name fields hold at most 255 characters (the emulator refuses more, as Salesforce does);
# 120 rockets are 480 bytes, so the byte cap is what cuts them.
HOSTILE = ["../../etc/passwd", "a/b\\c", "CON", "nul.txt", "with\x00nul.txt", "two\nlines",
           "x" * 250 + ".pdf", "🚀" * 120, ".hidden", "..", "evil\u202egnp.exe", "C:\\boot.ini",
           "é" * 240]


def test_hostile_names_are_stored_safely_inside_the_backup(fresh_emulator: Any,
                                                           tmp_path: Path) -> None:
    org = fresh_emulator
    session = session_for(org, tmp_path / "writer")
    writer = OrgSession(session.instance_url, org.token, verify=str(org.ca_file))
    parent = org_rows(org, "SELECT Id FROM Account LIMIT 1")[0][0]
    folder = org_rows(org, "SELECT Id FROM Folder LIMIT 1")[0][0]
    # The emulator insists on Document.AuthorId (Salesforce defaults it to the running user).
    author = org_rows(org, "SELECT Id FROM User WHERE Username = "
                           + soql.quote(org.credentials.username))[0][0]
    bodies: dict[str, bytes] = {}
    for i, name in enumerate(HOSTILE):
        body = f"body {i} of {name!r}".encode()
        if i % 3 == 2:
            values = {"Title": name, "PathOnClient": name, "VersionData": None}
            sobject = "ContentVersion"
        elif i % 3 == 1:
            values = {"ParentId": parent, "Name": name}
            sobject = "Attachment"
        else:
            values = {"FolderId": folder, "Name": name, "DeveloperName": f"Hostile_{i}",
                      "AuthorId": author}
            sobject = "Document"
        values["VersionData" if sobject == "ContentVersion" else "Body"] = \
            base64.b64encode(body).decode()
        created = writer.request("POST", f"data/sobjects/{sobject}", json=values).json()
        bodies[f"{sobject}/{created['id']}"] = body

    dest = tmp_path / "backup"
    summary, _ = run_export(org, dest, tmp_path)
    assert summary.ok
    entries = manifest_files(dest)
    root = (dest / "files").resolve()
    for key, body in bodies.items():
        entry = entries[key]
        path = (dest / entry["path"]).resolve()
        assert path.parent.parent == root  # files/<Object>/<name>: nothing escaped
        assert path.read_bytes() == body
        name = path.name
        assert ".." not in name and "/" not in name and "\\" not in name
        assert not any(unicodedata.category(c) in ("Cc", "Cf") for c in name)
        assert len(name.encode()) <= 200
    # Nothing was written anywhere but under files/ and the manifest.
    assert {p.name for p in dest.iterdir()} == {"files", "manifest.json"}
    assert {k.split("/")[0] for k in bodies} == {"ContentVersion", "Attachment", "Document"}
    long_pdf = next(e for e in entries.values() if e["name"].startswith("xxxx"))
    assert long_pdf["path"].endswith(".pdf") and long_pdf["name"] == "x" * 250 + ".pdf"


# --- interruption and resume ---------------------------------------------------------------------

class Interrupt(Exception):
    pass


def test_interrupted_run_resumes_to_an_identical_result(emulator: Any, tmp_path: Path) -> None:
    clean = tmp_path / "clean"
    run_export(emulator, clean, tmp_path)

    dest = tmp_path / "resumed"
    seen = {"bytes": 0}

    def stop_mid_file(event: FileProgress) -> None:
        if event.event == "bytes":
            seen["bytes"] += event.bytes
            if seen["bytes"] > 3 * (1 << 20):  # mid-way through the 5-12 MB files
                raise Interrupt()

    with pytest.raises(Interrupt):
        run_export(emulator, dest, tmp_path, parallel=4, on_progress=stop_mid_file)
    parts = list(dest.rglob("*.part"))
    assert parts, "the interruption should leave a file half-written"
    recorded = {e["path"] for e in manifest_files(dest).values()}
    assert not {p.relative_to(dest).as_posix().removesuffix(".part") for p in parts} & recorded

    summary, _ = run_export(emulator, dest, tmp_path, parallel=4)
    assert summary.ok and summary.skipped == len(recorded)
    assert disk_state(dest) == disk_state(clean)
    assert manifest_files(dest) == manifest_files(clean)
    assert not list(dest.rglob("*.part"))


class BatchingStore(ManifestStore):
    """A store offering ``put_files`` (one manifest write for many entries)."""

    batches: list[int]

    def put_files(self, entries: list[Any]) -> None:
        self.batches = [*getattr(self, "batches", []), len(entries)]
        with self._lock:
            for entry in entries:
                self._manifest.files[entry.key] = entry
            self._write()

    def put_file(self, entry: Any) -> None:
        raise AssertionError("put_file should not be used when put_files exists")


def test_entries_are_grouped_when_the_store_can_and_flushed_on_interruption(
        emulator: Any, tmp_path: Path) -> None:
    clean = tmp_path / "clean"
    run_export(emulator, clean, tmp_path)
    dest = tmp_path / "batched"
    store = BatchingStore(dest, ManifestStore.create(dest, org_id=emulator.org_id).manifest)
    done = {"n": 0}

    def stop_after_some_files(event: FileProgress) -> None:
        done["n"] += event.event == "done"
        if done["n"] == 5:
            raise Interrupt()

    with pytest.raises(Interrupt):
        export_files(session_for(emulator, tmp_path), dest, store, parallel=2,
                     on_progress=stop_after_some_files)
    recorded = manifest_files(dest)
    assert len(recorded) >= 5  # the finished files were written out before the error left
    for entry in recorded.values():
        assert hashlib.sha256((dest / entry["path"]).read_bytes()).hexdigest() == entry["sha256"]

    store = BatchingStore(dest, ManifestStore.load(dest).manifest)
    summary = export_files(session_for(emulator, tmp_path), dest, store, parallel=8)
    assert summary.ok and summary.skipped == len(recorded)
    assert len(store.batches) < summary.downloaded  # grouped, not one write per file
    assert manifest_files(dest) == manifest_files(clean)
    assert disk_state(dest) == disk_state(clean)


def test_rerun_skips_verified_files_without_downloading_and_redoes_a_damaged_one(
        fresh_emulator: Any, tmp_path: Path) -> None:
    org = fresh_emulator
    dest = tmp_path / "backup"
    first, _ = run_export(org, dest, tmp_path)
    before = blob_gets(org)
    again, _ = run_export(org, dest, tmp_path)
    assert blob_gets(org) == before
    assert again.skipped == first.downloaded and again.downloaded == 0

    damaged_key, entry = next(iter(manifest_files(dest).items()))
    path = dest / entry["path"]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF  # flip one byte
    path.write_bytes(bytes(data))
    third, _ = run_export(org, dest, tmp_path)
    assert third.downloaded == 1 and blob_gets(org) == before + 1
    assert hashlib.sha256(path.read_bytes()).hexdigest() == entry["sha256"]


# --- faults --------------------------------------------------------------------------------------

def test_resets_and_503s_leave_the_bytes_identical_to_a_clean_run(fresh_emulator: Any,
                                                                  tmp_path: Path) -> None:
    org = fresh_emulator
    clean = tmp_path / "clean"
    run_export(org, clean, tmp_path)
    dest = tmp_path / "faulty"
    manifest = ManifestStore.open_or_create(dest, org_id=org.org_id)
    session = session_for(org, tmp_path)  # the login itself is not retried: log in first
    org.faults.update({"reset_rate": 0.1, "error_503_rate": 0.1, "fault_seed": 7})
    summary = export_files(session, dest, manifest, parallel=8)
    org.faults.reset()
    assert summary.ok
    assert summary.retries > 0  # some bodies broke off and were fetched again
    assert disk_state(dest) == disk_state(clean)
    assert manifest_files(dest) == manifest_files(clean)


class RecordingSink:
    def __init__(self) -> None:
        self.data = bytearray()
        self.restarts = 0

    def write(self, chunk: bytes) -> None:
        self.data += chunk

    def restart(self) -> None:
        self.restarts += 1
        self.data.clear()


def test_a_broken_body_is_fetched_again_from_the_start(fresh_emulator: Any,
                                                       tmp_path: Path) -> None:
    org = fresh_emulator
    rid = org_rows(org, "SELECT Id FROM Attachment LIMIT 1")[0][0]
    session = session_for(org, tmp_path)
    session.api_version  # negotiated before the faults start
    # A server that ignores Range (as Salesforce may: unconfirmed): every retry starts over.
    org.faults.update({"reset_rate": 1.0, "fault_seed": 3, "ignore_range": True})
    sink = RecordingSink()
    with pytest.raises(errors.ConnectionFailed) as caught:
        download_blob(session, "Attachment", rid, sink, attempts=3)
    assert "broke off 3 times" in caught.value.one_line()
    assert "run the same command again" in caught.value.one_line()
    assert sink.restarts == 2  # no 206 came back: each retry started over

    org.faults.update({"reset_rate": 0.5, "fault_seed": 11, "ignore_range": True})
    sink = RecordingSink()
    result = download_blob(session, "Attachment", rid, sink, attempts=20)
    org.faults.reset()
    assert result.attempts > 1 and sink.restarts == result.attempts - 1
    assert not result.resumed_with_range
    assert hashlib.sha256(sink.data).hexdigest() == org_blob(org, "Attachment", rid)[0]


def test_a_network_that_always_breaks_stops_the_run_and_nothing_counts_as_complete(
        fresh_emulator: Any, tmp_path: Path) -> None:
    org = fresh_emulator
    dest = tmp_path / "backup"
    manifest = ManifestStore.open_or_create(dest, org_id=org.org_id)
    session = session_for(org, tmp_path)
    org.faults.update({"reset_rate": 1.0, "fault_seed": 3})
    with pytest.raises(errors.ConnectionFailed) as caught:
        export_files(session, dest, manifest, parallel=2)
    org.faults.reset()
    assert "run the command again" in caught.value.one_line()
    assert manifest_files(dest) == {}
    finished = [p for p in dest.rglob("*") if p.is_file() and p.name != "manifest.json"
                and not p.name.endswith(".part")]
    assert finished == []


def test_a_checksum_mismatch_is_retried_once_then_reported_not_accepted(
        fresh_emulator: Any, tmp_path: Path) -> None:
    org = fresh_emulator
    rid, checksum = org_rows(org, "SELECT Id, Checksum FROM ContentVersion "
                                  "WHERE IsLatest = true LIMIT 1")[0]
    # Checksum is read-only over the API (INVALID_FIELD_FOR_INSERT_UPDATE), so the test sets
    # it around the API to make the org's metadata disagree with its bytes.
    testing.set_field(org, "ContentVersion", rid, "Checksum", "0" * 32)
    before = blob_gets(org)
    summary, _ = run_export(org, tmp_path / "b", tmp_path)
    assert not summary.ok
    assert [p.id for p in summary.failed] == [rid]
    assert "MD5 differs" in summary.failed[0].reason
    entry = manifest_files(tmp_path / "b")[f"ContentVersion/{rid}"]
    assert entry["complete"] is False and entry["md5_match"] is False
    assert entry["md5"] == "0" * 32 and entry["sha256"] == org_blob(org, "ContentVersion", rid)[0]
    assert checksum != "0" * 32
    assert blob_gets(org) - before == summary.downloaded + 2  # the bad one was fetched twice
    # A rerun does not take the unverified file as done.
    again, _ = run_export(org, tmp_path / "b", tmp_path)
    assert [p.id for p in again.failed] == [rid] and again.downloaded == 0


def test_parallel_outside_1_to_20_is_refused_before_any_call(emulator: Any,
                                                             tmp_path: Path) -> None:
    manifest = ManifestStore.open_or_create(tmp_path / "b", org_id=emulator.org_id)
    session = session_for(emulator, tmp_path)
    calls = session.calls
    for bad in (0, 21):
        with pytest.raises(errors.UsageError, match="between 1 and 20"):
            export_files(session, tmp_path / "b", manifest, parallel=bad)
    assert session.calls == calls


# --- the command ---------------------------------------------------------------------------------

def cli_args(org: Any, tmp_path: Path) -> tuple[list[str], dict[str, str]]:
    config = write_config(tmp_path / "cli", org, **password_profile(org))
    return ["--config", str(config), "export", "files"], password_env(org)


def test_export_files_command_downloads_then_resumes(emulator: Any, tmp_path: Path) -> None:
    args, env = cli_args(emulator, tmp_path)
    dest = tmp_path / "backup"
    first = invoke([*args, "--dest", str(dest), "--parallel", "6"], env=env)
    assert first.code == 0, first.output
    expected = expected_files(emulator)
    result = first.body["result"]
    assert result["downloaded"] == len(expected) and result["failed"] == []
    assert result["dest"] == str(dest)
    assert set(manifest_files(dest)) == set(expected)
    again = invoke([*args, "--dest", str(dest)], env=env)
    assert again.code == 0, again.output
    assert again.body["result"]["skipped"] == len(expected)
    assert again.body["result"]["downloaded"] == 0


def test_export_files_command_human_output(emulator: Any, tmp_path: Path) -> None:
    args, env = cli_args(emulator, tmp_path)
    result = CliRunner().invoke(cli, [*args, "--dest", str(tmp_path / "b")], env=env)
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith(f"Files: {len(expected_files(emulator))} downloaded and "
                                    "verified, 0 already complete, 0 failed")


@pytest.mark.parametrize("extra, message", [
    (["--parallel", "21"], "--parallel must be between 1 and 20, got 21"),
    (["--parallel", "0"], "--parallel must be between 1 and 20, got 0"),
    ([], "no backup directory: pass --dest DIR or set dest in [export]"),
])
def test_export_files_command_refuses_bad_input_in_one_line(
        emulator: Any, tmp_path: Path, extra: list[str], message: str) -> None:
    args, env = cli_args(emulator, tmp_path)
    dest = [] if not extra else ["--dest", str(tmp_path / "b")]
    before = requests_total(emulator)
    run = invoke([*args, *dest, *extra], env=env)
    assert run.code == errors.EXIT_USAGE
    assert run.body["message"] == message
    assert requests_total(emulator) == before  # refused before logging in
    human = CliRunner().invoke(cli, [*args, *dest, *extra], env=env)
    assert human.stderr == f"Error: {message}\n"


def test_export_files_command_exits_5_on_a_file_that_does_not_verify(
        fresh_emulator: Any, tmp_path: Path) -> None:
    org = fresh_emulator
    rid = org_rows(org, "SELECT Id FROM ContentVersion WHERE IsLatest = true LIMIT 1")[0][0]
    # Checksum is read-only over the API: see the test above
    testing.set_field(org, "ContentVersion", rid, "Checksum", "f" * 32)
    args, env = cli_args(org, tmp_path)
    run = invoke([*args, "--dest", str(tmp_path / "b")], env=env)
    assert run.code == errors.EXIT_PARTIAL
    assert run.body["status"] == errors.EXIT_PARTIAL
    assert run.body["message"].startswith(f"1 file did not verify: ContentVersion {rid} (MD5")
    assert [f["id"] for f in run.body["result"]["failed"]] == [rid]


# --- Range on a retry, unit level with `responses` (end to end: emulator/tests/test_rest_blob_range.py)

BODY = bytes(range(256)) * 40
BLOB_URL = "https://org.example.com/services/data/v62.0/sobjects/Attachment/00P5g00000A0001AAB/Body"


@pytest.mark.parametrize("server_ranges", [True, False])
def test_a_retry_appends_only_after_a_matching_206_else_starts_over(server_ranges: bool) -> None:
    import responses

    asked: list[str | None] = []

    def answer(request: Any) -> tuple[int, dict[str, str], bytes]:
        asked.append(request.headers.get("Range"))
        if len(asked) == 1:  # the first answer breaks off after 3,000 bytes
            return 200, {"Content-Length": str(len(BODY))}, BODY[:3000]
        if not server_ranges:
            return 200, {"Content-Length": str(len(BODY))}, BODY
        start = int(asked[-1].split("=")[1].rstrip("-"))  # type: ignore[union-attr]
        return 206, {"Content-Range": f"bytes {start}-{len(BODY) - 1}/{len(BODY)}",
                     "Content-Length": str(len(BODY) - start)}, BODY[start:]

    with responses.RequestsMock() as mocked:
        mocked.add_callback("GET", BLOB_URL, callback=answer)
        session = OrgSession("https://org.example.com", "token", api_version="62.0",
                             sleep=lambda _s: None)
        sink = RecordingSink()
        result = download_blob(session, "Attachment", "00P5g00000A0001AAB", sink,
                               chunk_size=1000)
    assert asked == [None, "bytes=3000-"]
    assert bytes(sink.data) == BODY and result.size == len(BODY) and result.attempts == 2
    assert result.resumed_with_range is server_ranges
    assert sink.restarts == (0 if server_ranges else 1)


# --- --objects: the file bodies of the objects named, and only those ---------------------------

@pytest.mark.parametrize("objects, file_objects", [
    ("Account,Contact", set()),
    ("Account,Attachment", {"Attachment"}),
    ("ContentVersion,Document", {"ContentVersion", "Document"}),
])
def test_export_bulk_objects_fetches_only_the_bodies_of_the_file_objects_named(
        emulator: Any, tmp_path: Path, objects: str, file_objects: set[str]) -> None:
    config = write_config(tmp_path / "cfg", emulator, **password_profile(emulator))
    dest = tmp_path / "backup"
    before = blob_gets(emulator)
    run = invoke(["--config", str(config), "export", "bulk", "--dest", str(dest),
                  "--objects", objects], env=password_env(emulator))
    assert run.code == 0, run.output
    expected = {k for k in expected_files(emulator) if k.split("/")[0] in file_objects}
    held = set(manifest_files(dest)) if (dest / "manifest.json").exists() else set()
    assert held == expected
    assert {p.parent.name for p in (dest / "files").rglob("*") if p.is_file()} == file_objects
    assert blob_gets(emulator) - before == len(expected)
