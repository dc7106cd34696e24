"""`sfexit export verify DIR [--against-org]`: the backup's proof catches every kind of damage."""

from __future__ import annotations

import csv
import hashlib
import io
from dataclasses import replace
from pathlib import Path

import pytest
from click.testing import CliRunner

from auth_support import invoke, password_env, password_profile, write_config
from export_support import add_special_account, backup
from sfexit.cli import cli
from sfexit_emulator import Emulator, testing
from sfexit.export.manifest import FileEntry, ManifestStore
from sfexit.export.verify import verify_backup

OBJECTS = ("Account", "CaseStatus", "ContentDocumentLink", "ActivityHistory", "Contact")


@pytest.fixture
def made(fresh_emulator: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
         ) -> tuple[Emulator, Path, Path, dict[str, str]]:
    org = fresh_emulator
    dest = tmp_path / "backup"
    backup(org, dest, objects=OBJECTS)
    config = write_config(tmp_path, org, **password_profile(org))
    return org, dest, config, password_env(org)


def _verify(config: Path, env: dict[str, str], dest: Path, *more: str) -> tuple[int, dict]:
    run = invoke(["--config", str(config), "export", "verify", str(dest), *more], env=env)
    return run.code, run.body


def test_an_intact_backup_verifies_with_exit_0(made: tuple) -> None:
    _, dest, config, env = made
    code, body = _verify(config, env, dest)
    assert code == 0, body
    result = body["result"]
    assert result["ok"] is True and result["differences"] == []
    assert result["objects_checked"] == 4
    assert [s["name"] for s in result["skipped"]] == ["ActivityHistory"]
    assert "INVALID_TYPE_FOR_OPERATION" in result["skipped"][0]["reason"]


def test_a_flipped_byte_fails_with_exit_1(made: tuple) -> None:
    _, dest, config, env = made
    path = dest / "data" / "Contact.csv"
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    code, body = _verify(config, env, dest)
    assert code == 1
    assert body["name"] == "VerificationFailed" and body["exitCode"] == 1
    diffs = {(d["name"], d["what"]) for d in body["result"]["differences"]}
    assert ("Contact", "sha256") in diffs and ("Contact", "bytes") not in diffs


def test_a_missing_row_is_caught(made: tuple) -> None:
    _, dest, _, _ = made
    path = dest / "data" / "Account.csv"
    with open(path, encoding="utf-8", newline="") as fh:
        records = list(csv.reader(fh))

    def write(rows: list[list[str]]) -> bytes:
        out = io.StringIO(newline="")
        csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\n").writerows(rows)
        return out.getvalue().encode("utf-8")

    assert write(records) == path.read_bytes()  # the Bulk dialect, byte for byte
    del records[5]
    path.write_bytes(write(records))
    report = verify_backup(dest)
    rows = [d for d in report.differences if d.name == "Account" and d.what == "rows"]
    assert rows and int(rows[0].expected) == int(rows[0].actual) + 1


def test_a_row_with_an_extra_column_is_named_even_when_the_manifest_matches(made: tuple
                                                                           ) -> None:
    """The manifest is rewritten to the damaged file's size and sha256 (as an export that
    accepted the row would have written it): verify still names the file and the record."""
    _, dest, config, env = made
    path = dest / "data" / "Contact.csv"
    lines = path.read_bytes().split(b"\n")
    lines[3] = lines[3] + b',"extra"'
    path.write_bytes(b"\n".join(lines))
    store = ManifestStore.load(dest)
    entry = store.object_entry("Contact")
    assert entry is not None
    data = path.read_bytes()
    store.put_object(replace(entry, bytes=len(data), sha256=hashlib.sha256(data).hexdigest()))
    code, body = _verify(config, env, dest)
    assert code == 1, body
    diffs = [d for d in body["result"]["differences"] if d["name"] == "Contact"]
    assert [d["what"] for d in diffs] == ["shape"]
    assert diffs[0]["actual"].startswith("data/Contact.csv: record 3 has ")
    assert "columns, the header" in diffs[0]["actual"]


def test_a_quoted_newline_is_not_counted_as_a_row(fresh_emulator: Emulator,
                                                  tmp_path: Path) -> None:
    add_special_account(fresh_emulator)
    summary = backup(fresh_emulator, tmp_path, objects=("Account",))
    assert verify_backup(tmp_path).ok
    assert summary.objects[0].rows == testing.count(fresh_emulator, "SELECT Id FROM Account")


def test_missing_data_file_and_missing_body_are_caught(made: tuple) -> None:
    _, dest, config, env = made
    body = b"%PDF-1.4 a file body"
    target = dest / "files" / "Attachment" / "00P000000000001AAA-a.pdf"
    target.parent.mkdir(parents=True)
    target.write_bytes(body)
    store = ManifestStore.load(dest)
    store.put_file(FileEntry("Attachment", "00P000000000001AAA", "001000000000001AAA", "a.pdf",
                             "files/Attachment/00P000000000001AAA-a.pdf", len(body),
                             hashlib.sha256(body).hexdigest(), None, None, True, True))
    assert verify_backup(dest).ok
    target.unlink()
    (dest / "data" / "CaseStatus.csv").unlink()
    code, result = _verify(config, env, dest)
    assert code == 1
    missing = {(d["kind"], d["name"]) for d in result["result"]["differences"]
               if d["what"] == "missing"}
    assert missing == {("file", "Attachment/00P000000000001AAA"), ("object", "CaseStatus")}


def test_against_org_counts_match_then_catch_a_new_row(made: tuple) -> None:
    org, dest, config, env = made
    code, body = _verify(config, env, dest, "--against-org")
    assert code == 0, body
    assert body["result"]["against_org"] is True
    add_special_account(org)
    code, body = _verify(config, env, dest, "--against-org")
    assert code == 1
    diffs = [d for d in body["result"]["differences"] if d["kind"] == "org-rows"]
    assert [(d["name"], int(d["expected"]) - int(d["actual"])) for d in diffs] == [("Account", 1)]


def test_human_output_shows_a_table_of_differences(made: tuple) -> None:
    _, dest, config, env = made
    (dest / "data" / "Contact.csv").write_bytes(b'"Id"\n')
    result = CliRunner().invoke(cli, ["--config", str(config), "export", "verify", str(dest)],
                                env=env)
    assert result.exit_code == 1
    assert "Kind" in result.stdout and "Contact" in result.stdout
    assert "ActivityHistory: INVALID_TYPE_FOR_OPERATION" in result.stdout
    assert "verification failed" in result.stderr


def test_a_directory_without_manifest_is_a_usage_error(made: tuple, tmp_path: Path) -> None:
    _, _, config, env = made
    code, body = _verify(config, env, tmp_path / "nothing")
    assert code == 2 and "manifest.json does not exist" in body["message"]


def test_append_only_logs_may_grow_but_not_shrink(fresh_emulator: Emulator, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Verifying logs in, and a login adds a LoginHistory row: growth is a note, not a failure;
    a log that lost rows since the export is still a difference."""
    org = fresh_emulator
    dest = tmp_path / "backup"
    backup(org, dest, objects=("LoginHistory",))
    config = write_config(tmp_path, org, **password_profile(org))
    code, body = _verify(config, password_env(org), dest, "--against-org")
    assert code == 0, body
    assert any(n.startswith("LoginHistory: ") and "append-only" in n
               for n in body["result"]["notes"])
    lost = [i for (i,) in testing.rows(org, "SELECT Id FROM LoginHistory LIMIT 5")]
    assert testing.purge(org, "LoginHistory", lost) == 5   # retention, not a delete
    code, body = _verify(config, password_env(org), dest, "--against-org")
    assert code == 1
    assert [d["name"] for d in body["result"]["differences"]] == ["LoginHistory"]


def test_against_org_counts_the_records_changed_since_the_export(made: tuple) -> None:
    """Equal counts are not an unchanged org: records modified after the export started
    (SystemModstamp) are counted per object, and the command says what to do."""
    org, dest, config, env = made
    from sfexit_emulator import testing

    ids = [str(r[0]) for r in testing.rows(org, "SELECT Id FROM Contact LIMIT 3")]
    org.clock.advance(60)
    for i in ids:
        testing.update(org, "Contact", i, {"LastName": "Changed"})
    code, body = _verify(config, env, dest, "--against-org")
    assert code == 0, body
    result = body["result"]
    assert result["changed_since"]["Contact"] == 3 and result["changed_since"]["Account"] == 0
    assert result["changed_since_export"] == 3
    assert any(w.startswith("counts match; 3 records changed since the export: run the "
                            "export again or take a delta before the end") for w in body["warnings"])
    human = CliRunner().invoke(cli, ["--config", str(config), "export", "verify", str(dest),
                                     "--against-org"], env=env)
    assert human.exit_code == 0, human.output
    assert "Compared with the org: the row count of each of the 4 objects" in human.stdout
    assert "counts match; 3 records changed since the export" in human.stdout
    assert "Everything matches" not in human.stdout
