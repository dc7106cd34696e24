"""The audit report of a real run against the emulator: report.json matches the org's state,
`sfexit report verify` proves the evidence, and catches a tampered journal or export file."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from auth_support import invoke
from report_support import DEPARTING, REASSIGNED, SUCCESSOR, compose_run

from sfexit.report import build_report
from sfexit_emulator import testing


def store_rows(org: Any, soql: str) -> list[list[Any]]:
    return [list(r) for r in testing.rows(org, soql)]


@pytest.fixture
def run_dir(fresh_emulator: Any, tmp_path: Path) -> Path:
    return compose_run(fresh_emulator, tmp_path / "run-1")


def owned(org: Any, sobject: str, username: str) -> int:
    uid = testing.user_id(org, username)
    return len(store_rows(org, f"SELECT Id FROM {sobject} WHERE OwnerId = '{uid}'"))


def test_report_json_matches_the_org(fresh_emulator: Any, tmp_path: Path) -> None:
    org = fresh_emulator
    successor_before = owned(org, "Account", SUCCESSOR)
    run_dir = compose_run(org, tmp_path / "run")
    json_path, html_path = build_report(run_dir)
    assert (json_path, html_path) == (run_dir / "report.json", run_dir / "report.html")
    report = json.loads(json_path.read_text(encoding="utf-8"))
    assert report["schema_version"] == 1 and report["mode"] == "real"
    assert report["verification_ok"] is True

    # users: the ones the report says are frozen are frozen in the org, with before/after
    frozen_now = {str(u): bool(f) for u, f in store_rows(org, "SELECT UserId, IsFrozen "
                                                              "FROM UserLogin")}
    users = {u["username"]: u for u in report["users"]["frozen"]}
    leaver = users[DEPARTING]
    assert leaver["status"] == "frozen" and leaver["journaled"] is True
    assert leaver["before"] == {"IsFrozen": False} and leaver["after"] == {"IsFrozen": True}
    assert frozen_now[leaver["user_id"]] is True
    kept = [u for u in users.values() if u["status"] == "leave: already frozen"]
    assert len(kept) == 1 and frozen_now[kept[0]["user_id"]] is True

    # ownership: per object, what moved is what the successor owns now, none left behind
    leaver_id = testing.user_id(org, DEPARTING)
    successor_id = testing.user_id(org, SUCCESSOR)
    objects = {o["object"]: o for o in report["ownership"]["objects"]}
    assert set(objects) == set(REASSIGNED)
    left = store_rows(org, f"SELECT Id FROM Account WHERE OwnerId = '{leaver_id}'")
    assert left == [] and objects["Account"]["moved"] > 0 and objects["Account"]["failed"] == 0
    moves = [m for m in report["ownership"]["moves"] if m["object"] == "Account"]
    assert [(m["from_id"][:15], m["to_id"][:15], m["count"]) for m in moves] == [
        (leaver_id[:15], successor_id[:15], objects["Account"]["moved"])]
    assert (moves[0]["from_name"], moves[0]["to_name"]) == (DEPARTING, SUCCESSOR)
    assert objects["Account"]["moved"] == owned(org, "Account", SUCCESSOR) - successor_before

    # export: every object's rows as the org counts them, files listed, manifest hash recorded
    export = report["export"]
    rows = {o["name"]: o["rows"] for o in export["objects"]}
    assert rows["Contact"] == len(store_rows(org, "SELECT Id FROM Contact"))
    # the bodies of the file objects the export names (report_support.EXPORTED: ContentVersion)
    bodies = len(store_rows(org, "SELECT Id FROM ContentVersion WHERE IsLatest = true"))
    assert export["files"] == bodies > 0
    assert export["verified"] is True
    assert export["manifest_sha256"] == export["recorded_manifest_sha256"]

    # the journal head in the report is the journal's, and the contract's dates are there
    assert report["journal"]["ok"] is True and report["journal"]["changes"] >= 3
    assert report["journal"]["head_hash"] == report["journal"]["recorded_head"]
    assert report["contract"]["notice_deadline"] == "2026-12-01"
    page = html_path.read_text(encoding="utf-8")
    assert DEPARTING in page and "Plan only" not in page


def test_report_verify_is_ok_then_catches_a_tampered_journal_line(run_dir: Path) -> None:
    ok = invoke(["report", "verify", str(run_dir)])
    assert ok.code == 0, ok.output
    assert ok.body["result"]["ok"] is True and ok.body["result"]["differences"] == []
    journal = run_dir / "journal.jsonl"
    lines = journal.read_text(encoding="utf-8").splitlines()
    n = next(i for i, line in enumerate(lines) if '"kind":"change"' in line)
    lines[n] = lines[n].replace('"IsFrozen":true', '"IsFrozen":false', 1)
    journal.write_text("\n".join(lines) + "\n", encoding="utf-8")
    bad = invoke(["report", "verify", str(run_dir)])
    assert bad.code == 1
    assert bad.body["name"] == "VerificationFailed"
    assert any(f"line {n + 1}: edited" in d for d in bad.body["result"]["differences"])


def test_report_verify_catches_a_flipped_byte_in_an_exported_csv(run_dir: Path) -> None:
    csv = run_dir / "export" / "data" / "Contact.csv"
    data = bytearray(csv.read_bytes())
    data[len(data) // 2] ^= 0x01
    csv.write_bytes(bytes(data))
    bad = invoke(["report", "verify", str(run_dir)])
    assert bad.code == 1, bad.output
    assert [d for d in bad.body["result"]["differences"]
            if "Contact" in d and "sha256" in d]
    # the human form names the file and says what differs
    from click.testing import CliRunner

    from sfexit.cli import cli

    human = CliRunner().invoke(cli, ["report", "verify", str(run_dir)])
    assert human.exit_code == 1
    assert "DIFFERS: export object Contact: sha256" in human.stdout


def test_report_render_in_another_language(run_dir: Path) -> None:
    run = invoke(["report", "render", str(run_dir), "--lang", "it"])
    assert run.code == 0, run.output
    assert run.body["result"]["lang"] == "it" and run.body["result"]["verified"] is True
    page = (run_dir / "report.it.html").read_text(encoding="utf-8")
    assert '<html lang="it">' in page and "Rapporto di uscita da Salesforce" in page
    assert "1 dicembre 2026" in page   # the notice deadline, as Italian writes it


def test_report_commands_refuse_a_directory_that_is_no_run(tmp_path: Path) -> None:
    for args in (["report", "verify", str(tmp_path)], ["report", "render", str(tmp_path)]):
        run = invoke(args)
        assert run.code == 2 and "not a run directory" in run.body["message"]
    bad_lang = invoke(["report", "render", str(tmp_path), "--lang", "sv"])
    assert bad_lang.code == 2 and "'sv' is not a supported language" in bad_lang.body["message"]
