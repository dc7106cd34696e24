"""The report model: built from a run directory (run.json + journal + manifest), trusting the
proofs over the summary, and rendered as escaped, self-contained HTML and versioned JSON."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from sfexit import rules
from sfexit.cli.deadline import deadline_result
from sfexit.errors import UsageError
from sfexit.export.csvshape import scan_csv
from sfexit.export.manifest import ManifestStore, ObjectEntry, SkippedObject
from sfexit.journal import Journal
from sfexit.jsonable import to_jsonable
from sfexit.report import build_report, load_report
from sfexit.report.i18n import load_catalogue
from sfexit.report.render import render_html
from sfexit.report.verify import verify_run

HOSTILE = '<script>alert("x")</script> & <img src=x onerror=1>'
UID_A, UID_B, UID_C = "005000000000001AAA", "005000000000002AAA", "005000000000003AAA"


def contract_json(today: dt.date = dt.date(2026, 9, 1), **leave: Any) -> Any:
    c = rules.Contract(dt.date(2026, 1, 1), dt.date(2026, 12, 31), Decimal("12000"), "EUR")
    return to_jsonable(deadline_result(rules.plan(c, today, **leave), None))


def make_export(run: Path) -> str:
    dest = run / "export"
    store = ManifestStore.create(dest, org_id="00D000000000001", org_name="Acme")
    (dest / "data").mkdir()
    path = dest / "data" / "Account.csv"
    path.write_text(f'"Id","Name"\n"001A","{HOSTILE.replace(chr(34), chr(34) * 2)}"\n'
                    '"001B","Beta"\n', encoding="utf-8")
    facts = scan_csv(path)
    rows, size, sha = facts.rows, facts.size, facts.sha256
    store.put_object(ObjectEntry("Account", "bulk", "SELECT Id, Name FROM Account", ["750x"],
                                 rows, size, sha, "data/Account.csv"))
    store.add_skipped(SkippedObject("Secret__c", "not queryable"))
    store.finish(api_calls=7, bulk_jobs=1)
    return store.manifest_sha256()


def make_journal(run: Path) -> str:
    journal = Journal.open(run / "journal.jsonl")
    journal.step_start("freeze", users=1)
    journal.change("freeze", target={"object": "UserLogin", "id": "060A", "user_id": UID_A,
                                     "username": "a@x.example"},
                   before={"IsFrozen": False}, after={"IsFrozen": True})
    journal.note("b@x.example: leave: already frozen", user_id=UID_B, username="b@x.example")
    journal.step_end("freeze", "ok", changed=1)
    journal.change("reassign_owner", target={"object": "Account", "snapshot": "s.csv",
                                             "sha256": "0" * 64, "rows": 3},
                   before={"owners": {UID_A: 3}}, after={"owners": {UID_C: 3}},
                   transport="collections")
    journal.step_end("reassign_owner Account", "partial", moved=2, failed=1,
                     failure_file="plans/failed-Account.csv")
    return journal.head_hash


def make_run(tmp_path: Path, *, mode: str = "real", finished: bool = True) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    manifest_sha = make_export(run)
    head = make_journal(run)
    freeze_result = {"direction": "freeze", "dry_run": False, "items": [
        {"username": "a@x.example", "user_id": UID_A, "status": "frozen", "before": False,
         "after": True, "message": None},
        {"username": "b@x.example", "user_id": UID_B, "status": "leave: already frozen",
         "before": True, "after": True, "message": None}],
        "refused": [["admin@x.example", "the last active administrator"]]}
    reassign_result = {"journal": "j", "objects": [
        {"object": "Account", "rows": 3, "moved": 2, "failed": 1, "transport": "collections",
         "moved_by_pair": {f"{UID_A}->{UID_C}": 2}, "snapshot": "s.csv",
         "failure_file": "plans/failed-Account.csv"}],
        "plan": {"steps": [{"object": "Account", "count": 3, "moves": [
            {"from": "a@x.example", "source_id": UID_A, "to": "c@x.example",
             "target_id": UID_C, "count": 3}]}]}}
    steps = [
        {"name": "preflight", "status": "done", "reason": None, "forecast": {"rest_calls": 10},
         "used": {"rest_calls": 9}, "result": None},
        {"name": "export", "status": "done", "reason": None,
         "forecast": {"rest_calls": 20, "bulk_query_jobs": 1},
         "used": {"rest_calls": 18, "bulk_query_jobs": 1},
         "result": {"manifest_sha256": manifest_sha, "failed": [
             {"name": "Broken__c", "status": "failed", "reason": HOSTILE}],
             "files": {"failed": [{"object": "ContentVersion", "id": "068X", "name": "a.pdf",
                                   "reason": "checksum mismatch after 3 tries"}]}}},
        {"name": "freeze", "status": "done", "reason": None, "result": freeze_result},
        {"name": "reassign", "status": "partial", "reason": "1 records failed to move",
         "result": reassign_result},
        {"name": "deactivate", "status": "skipped",
         "reason": "not enabled ([offboard] deactivate = true): users are frozen only",
         "reason_code": "skip_deactivate_off", "reason_params": {}},
    ]
    raw = {"schema_version": 1, "run_id": "r1", "mode": mode, "tool_version": "0.1.0",
           "started_at": "2026-09-01T10:00:00Z",
           "finished_at": "2026-09-01T10:20:00Z" if finished else None, "lang": "en",
           "org": {"id": "00D000000000001", "name": HOSTILE, "instance_url": "https://x",
                   "edition": "Enterprise Edition", "is_sandbox": False, "api_version": "62.0"},
           "operator": {"username": "admin@x.example", "user_id": UID_C, "profile": "Admin"},
           "contract": contract_json(), "steps": steps,
           "limits_before": {"DailyApiRequests": {"max": 15000, "remaining": 14000}},
           "warnings": ["a warning", "the forecast does not fit the remaining limits; "
                        "started anyway with --force: DailyApiRequests: NOT"],
           "warning_codes": [{"text": "the forecast does not fit the remaining limits; "
                                      "started anyway with --force: DailyApiRequests: NOT",
                              "code": "forecast_forced",
                              "params": {"limits": "DailyApiRequests: NOT"}}],
           "journal_head": head}
    (run / "run.json").write_text(json.dumps(raw), encoding="utf-8")
    return run


def test_model_takes_changes_from_the_journal_and_the_rest_from_run_json(tmp_path: Path) -> None:
    report = load_report(make_run(tmp_path))
    frozen = {u.username: u for u in report.users.frozen}
    assert frozen["a@x.example"].status == "frozen" and frozen["a@x.example"].journaled
    assert frozen["a@x.example"].before == {"IsFrozen": False}
    assert frozen["b@x.example"].status == "leave: already frozen"
    assert not frozen["b@x.example"].journaled
    assert [(r.name, r.reason) for r in report.users.refused] == [
        ("admin@x.example", "the last active administrator")]
    [account] = report.ownership.objects
    assert (account.moved, account.failed) == (2, 1)
    [move] = report.ownership.moves
    assert (move.from_name, move.to_id, move.count) == ("a@x.example", UID_C, 2)
    assert move.to_name == "c@x.example"   # the plan summary's ids name the result's pairs
    assert report.journal.ok and report.journal.entries == 6 and report.journal.changes == 2
    assert report.export is not None and report.export.verified
    assert [o.name for o in report.export.objects] == ["Account"]
    assert report.export.rows == 2
    assert [s.name for s in report.export.skipped] == ["Secret__c"]
    assert report.verification_ok and not report.is_plan
    assert [(f.name, f.reason) for f in report.export.failed][1:] == [
        ("ContentVersion/068X a.pdf", "checksum mismatch after 3 tries")]
    assert report.failures == 3   # one export object, one file body, one record


def test_manual_steps_are_the_plans_checklist_in_date_order(tmp_path: Path) -> None:
    report = load_report(make_run(tmp_path))
    # End of term (the default): 2026-09-01 is before the recommended date (end - 60 days),
    # so send by that date; no refund is due, so none is listed.
    assert [(m.key, m.due) for m in report.manual_steps] == [
        ("notice", "2026-11-01"), ("billing", "2026-12-01"), ("confirmation", "2026-12-31"),
        ("invoice", "2027-01-30")]
    assert report.contract is not None and report.contract.refund is None


def _with_contract(tmp_path: Path, contract: Any) -> Path:
    run = make_run(tmp_path)
    raw = json.loads((run / "run.json").read_text())
    raw["contract"] = contract
    (run / "run.json").write_text(json.dumps(raw))
    return run


def test_an_early_termination_lists_its_refund_after_the_effective_day(tmp_path: Path) -> None:
    contract = contract_json(leave=rules.Leave.EARLY, effective=dt.date(2026, 10, 1))
    report = load_report(_with_contract(tmp_path, contract))
    assert [(m.key, m.due) for m in report.manual_steps] == [
        ("notice", "2026-10-01"), ("billing", "2026-10-01"), ("confirmation", "2026-10-01"),
        ("invoice", "2026-10-31"), ("refund", "2026-10-31")]
    refund = report.manual_steps[-1]
    assert report.contract is not None and report.contract.refund is not None
    assert (refund.amount, refund.currency) == (report.contract.refund.amount, "EUR") == (
        "2991.78", "EUR")   # 91 of 365 days unused of 12,000.00


def test_a_missed_deadline_is_red_with_days_late_and_the_next_term_planned(
        tmp_path: Path) -> None:
    run = _with_contract(tmp_path, contract_json(dt.date(2026, 12, 11)))
    report = load_report(run)
    late = [(m.key, m.due, m.days_late) for m in report.manual_steps if m.days_late]
    assert late == [("notice", "2026-12-01", 10)]
    assert all(m.next_term for m in report.manual_steps[1:])
    _, html_path = build_report(run, lang="en")
    html = html_path.read_text(encoding="utf-8")
    assert '<tr class="fail">' in html and "10 days late" in html
    assert ("the contract renews on January 1, 2027 for another term, until December 31, "
            "2027; to leave then, written notice must reach Salesforce by December 1, 2027"
            in html)


def test_no_contract_lists_the_manual_steps_without_dates(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    raw = json.loads((run / "run.json").read_text())
    raw["contract"] = None
    (run / "run.json").write_text(json.dumps(raw))
    report = load_report(run)
    assert report.contract is None
    assert [m.due for m in report.manual_steps] == [None] * 5


def test_report_json_is_versioned_and_html_escapes_org_text(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    json_path, html_path = build_report(run, lang="de")
    body = json.loads(json_path.read_text(encoding="utf-8"))
    assert body["schema_version"] == 1 and body["lang"] == "de" and body["mode"] == "real"
    assert body["journal"]["head_hash"] == json.loads((run / "run.json").read_text())[
        "journal_head"]
    page = html_path.read_text(encoding="utf-8")
    assert "<script" not in page and "onerror=1>" not in page
    assert "&lt;script&gt;" in page
    assert "http://" not in page.replace("http://www.w3.org/2000/svg", "")
    assert 'lang="de"' in page and "Salesforce-Ausstiegsbericht" in page
    assert "Nur ein Plan" not in page


def test_dry_run_report_says_nothing_was_changed(tmp_path: Path) -> None:
    run = make_run(tmp_path, mode="dry-run")
    page = render_html(load_report(run), load_catalogue("en"))
    assert "Plan only: nothing was changed in the org" in page


def test_tampered_journal_is_reported_not_trusted(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    path = run / "journal.jsonl"
    lines = path.read_text().splitlines()
    lines[1] = lines[1].replace('"IsFrozen":true', '"IsFrozen":false')
    path.write_text("\n".join(lines) + "\n")
    report = load_report(run)
    assert not report.journal.ok and not report.verification_ok
    assert any("line 2" in p for p in report.journal.problems)
    page = render_html(report, load_catalogue("en"))
    assert "Verification failed" in page


def test_verify_names_an_edited_export_file(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    assert verify_run(run).ok
    data = run / "export" / "data" / "Account.csv"
    data.write_bytes(data.read_bytes().replace(b"Beta", b"Betb"))
    check = verify_run(run)
    assert not check.ok
    assert any("Account" in d and "sha256" in d for d in check.differences)


def test_verify_catches_a_manifest_rewritten_to_match(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    data = run / "export" / "data" / "Account.csv"
    data.write_bytes(data.read_bytes().replace(b"Beta", b"Betb"))
    manifest = json.loads((run / "export" / "manifest.json").read_text())
    manifest["objects"]["Account"]["sha256"] = hashlib.sha256(data.read_bytes()).hexdigest()
    (run / "export" / "manifest.json").write_text(json.dumps(manifest))
    check = verify_run(run)
    assert [d for d in check.differences if "rewritten" in d]


def test_not_a_run_directory_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="not a run directory"):
        load_report(tmp_path)
    with pytest.raises(UsageError, match="not a run directory"):
        verify_run(tmp_path)


def test_unknown_language_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="'sv' is not a supported language"):
        build_report(make_run(tmp_path), lang="sv")


def test_garbage_in_run_json_still_renders(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    raw = json.loads((run / "run.json").read_text())
    raw["steps"] = [{"name": "freeze", "status": 3, "result": {"items": ["x", 5]}}, "junk"]
    raw["org"] = ["not", "a", "dict"]
    raw["contract"] = {"contract_start": "2026-01-01", "contract_end": "not a date"}
    (run / "run.json").write_text(json.dumps(raw))
    json_path, html_path = build_report(run)
    assert json.loads(json_path.read_text())["org"]["id"] is None
    assert "</html>" in html_path.read_text()


def test_a_journal_rewritten_from_scratch_is_caught_by_the_recorded_head(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    (run / "journal.jsonl").unlink()
    (run / "journal.jsonl.head").unlink()
    forged = Journal.open(run / "journal.jsonl")   # a valid chain, but not the run's
    forged.note("nothing happened here")
    check = verify_run(run)
    assert check.journal is not None and check.journal.ok
    assert [d for d in check.differences if "recorded in run.json" in d]
    assert not load_report(run).verification_ok


def test_a_running_run_may_have_appended_after_run_json(tmp_path: Path) -> None:
    run = make_run(tmp_path, finished=False)
    Journal.open(run / "journal.jsonl").step_start("report")   # after run.json was written
    assert verify_run(run).ok
    assert load_report(run).journal.head_matches


def test_a_damaged_manifest_is_a_difference_not_a_crash(tmp_path: Path) -> None:
    run = make_run(tmp_path)
    (run / "export" / "manifest.json").write_text("{ not json", encoding="utf-8")
    check = verify_run(run)
    assert [d for d in check.differences if "manifest.json: unreadable" in d]
    report = load_report(run)
    assert report.export is not None and not report.export.verified
    assert not report.verification_ok
    _, html_path = build_report(run)
    assert "unreadable" in html_path.read_text(encoding="utf-8")


def test_people_are_named_by_id_even_with_several_givers_and_takers(tmp_path: Path) -> None:
    """offboard's plan summary carries source_id/target_id: with two givers and two takers on
    one object each pair of the transfer is named exactly (no guessing)."""
    run = make_run(tmp_path)
    raw = json.loads((run / "run.json").read_text())
    uid_d = "005000000000004AAA"
    reassign = raw["steps"][3]["result"]
    reassign["objects"][0]["moved_by_pair"] = {f"{UID_A}->{UID_C}": 1, f"{UID_B}->{uid_d}": 1}
    reassign["plan"]["steps"][0]["moves"] = [
        {"from": "a@x.example", "source_id": UID_A, "to": "c@x.example", "target_id": UID_C,
         "count": 1},
        {"from": "b@x.example", "source_id": UID_B, "to": "d@x.example", "target_id": uid_d,
         "count": 1}]
    (run / "run.json").write_text(json.dumps(raw))
    moves = {(m.from_name, m.to_name) for m in load_report(run).ownership.moves}
    assert moves == {("a@x.example", "c@x.example"), ("b@x.example", "d@x.example")}


def test_reasons_and_warnings_are_rendered_from_their_codes_in_the_readers_language(
        tmp_path: Path) -> None:
    run = make_run(tmp_path)
    report = load_report(run)
    deactivate = next(s for s in report.steps if s.name == "deactivate")
    assert deactivate.reason_code == "skip_deactivate_off"
    page = render_html(report, load_catalogue("de"))
    assert "Benutzer werden nur eingefroren" in page
    assert "users are frozen only" not in page
    assert "trotzdem mit --force gestartet: DailyApiRequests: NOT" in page
    assert "a warning" in page     # a warning without a code is shown as written
    body = json.loads(build_report(run, lang="de")[0].read_text(encoding="utf-8"))
    step = next(s for s in body["steps"] if s["name"] == "deactivate")
    assert step["reason"].startswith("not enabled") and step["reason_code"] == \
        "skip_deactivate_off"
    assert body["warning_codes"][1]["code"] == "forecast_forced"


def test_a_finished_run_must_record_the_final_journal_head(tmp_path: Path) -> None:
    """Once run.json says the run finished, its journal head is the last line's: an entry
    appended afterwards (or a journal cut back to an earlier line) differs."""
    run = make_run(tmp_path, finished=True)
    Journal.open(run / "journal.jsonl").note("appended after the run finished")
    check = verify_run(run)
    assert [d for d in check.differences if "is not its head" in d]
    assert not load_report(run).journal.head_matches
