"""Salesforce's messages are English and must reach the auditor verbatim: the report does not
paste them into a translated sentence, it quotes them after it, marked as English; report.json
keeps them in a field of their own. And the preflight's permission checks in the report."""

from __future__ import annotations

import html
import json
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from sfexit.offboard.notes import TEXTS, VERBATIM, Note, note
from sfexit.report import build_report
from sfexit.report.i18n import LANGUAGES, load_catalogue, placeholders

SF_MESSAGE = ("FIELD_CUSTOM_VALIDATION_EXCEPTION: Owner can't change while "
              "<Stage> is 'Closed' & locked")
QUOTE = re.compile(r'<q class="verbatim" lang="en">(.*?)</q>')


def write_run(tmp_path: Path, steps: list[dict[str, Any]], warnings: Sequence[Note] = (),
              preflight: dict[str, Any] | None = None) -> Path:
    run = tmp_path / "run"
    run.mkdir()
    all_steps = [{"name": "preflight", "status": "done", "reason": None, "result": preflight},
                 *steps]
    raw = {"schema_version": 1, "run_id": "r1", "mode": "real", "tool_version": "0.1.0",
           "started_at": "2026-09-01T10:00:00Z", "finished_at": "2026-09-01T10:20:00Z",
           "org": {"id": "00D000000000001", "name": "Acme"}, "steps": all_steps,
           "warnings": [n.text for n in warnings],
           "warning_codes": [n.warning() for n in warnings]}
    (run / "run.json").write_text(json.dumps(raw), encoding="utf-8")
    return run


def failed_step(name: str = "reassign") -> dict[str, Any]:
    why = note("step_error", error=SF_MESSAGE)
    return {"name": name, "status": "failed", **why.step_fields()}


def render(run: Path, lang: str) -> tuple[dict[str, Any], str]:
    json_path, html_path = build_report(run, lang=lang)
    return (json.loads(json_path.read_text(encoding="utf-8")),
            html_path.read_text(encoding="utf-8"))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_a_salesforce_error_is_quoted_after_the_translated_sentence(tmp_path: Path,
                                                                   lang: str) -> None:
    run = write_run(tmp_path, [failed_step()])
    body, page = render(run, lang)
    cat = load_catalogue(lang)
    escaped = ("FIELD_CUSTOM_VALIDATION_EXCEPTION: Owner can&#x27;t change while "
               "&lt;Stage&gt; is &#x27;Closed&#x27; &amp; locked")
    sentence = html.escape(cat.t("report.quote_step_error"))
    assert f'{sentence} <q class="verbatim" lang="en">{escaped}</q>' in page
    # verbatim, once, and never inside the translated sentence
    assert QUOTE.findall(page) == [escaped]
    assert page.count("FIELD_CUSTOM_VALIDATION_EXCEPTION") == 1
    step = next(s for s in body["steps"] if s["name"] == "reassign")
    assert step["original_message"] == SF_MESSAGE
    assert step["reason_code"] == "step_error"
    assert step["reason_params"] == {"error": SF_MESSAGE}   # as before: fields are only added
    assert step["reason"].startswith(SF_MESSAGE)             # run.json's English sentence


def test_english_only_warnings_are_quoted_and_our_own_sentences_translated(
        tmp_path: Path) -> None:
    warnings = [note("reassign_warning", message="Opportunity: 3 records owned by a queue"),
                note("permission_missing", step="freeze", check="freeze_users",
                     message="without Manage Users or Freeze Users, nobody can be frozen: "
                             "the freeze step would fail"),
                note("skip_cli", step="export")]
    _body, page = render(write_run(tmp_path, [], warnings), "de")
    section = page[page.index('id="warnings"'):]
    assert 'Übertragung: <q class="verbatim" lang="en">Opportunity: 3 records owned by a ' \
           "queue</q>" in section
    # a permission warning is ours: worded in German, nothing left in English
    assert ("fehlende Berechtigung für Benutzer einfrieren: Niemand kann eingefroren werden"
            in section)
    assert "nobody can be frozen" not in section
    assert "mit --skip export übersprungen" in section


def test_user_and_export_messages_are_marked_english(tmp_path: Path) -> None:
    freeze = {"name": "freeze", "status": "partial", "reason": "1 users could not be frozen",
              "reason_code": "freeze_failed", "reason_params": {"count": 1},
              "result": {"items": [{"username": "a@x.example", "user_id": "005A",
                                    "status": "failed", "status_code": "UNABLE_TO_LOCK_ROW",
                                    "message": "unable to obtain exclusive access"}]}}
    body, page = render(write_run(tmp_path, [freeze]), "fr")
    assert ('<span lang="en">UNABLE_TO_LOCK_ROW: unable to obtain exclusive access</span>'
            in page)
    assert body["users"]["frozen"][0]["message"] == \
        "UNABLE_TO_LOCK_ROW: unable to obtain exclusive access"


def test_every_quoted_code_has_a_sentence_without_the_quoted_text() -> None:
    english = load_catalogue("en")
    for code, param in VERBATIM.items():
        assert param in placeholders(TEXTS[code]), code
        key = f"report.quote_{code}"
        assert english.has(key), key
        assert placeholders(english.messages[key]) == placeholders(TEXTS[code]) - {param}


FREEZE_MISSED = ("without Manage Users or Freeze Users, nobody can be frozen: the freeze step "
                 "would fail")
PREFLIGHT: dict[str, Any] = {"permission_checks": [
    {"step": "export", "refused": False, "refusal": None, "requirements": [
        {"code": "export_view_all", "needs": ["View All Data"], "status": "missing",
         "consequence": "without View All Data, records not shared with the running user "
                        "are not exported"}]},
    {"step": "freeze", "refused": True, "refusal": "cannot freeze users: ...", "requirements": [
        {"code": "freeze_users", "needs": ["Manage Users", "Freeze Users"],
         "status": "unknown", "consequence": FREEZE_MISSED}]},
    {"step": "deactivate", "refused": False, "refusal": None, "requirements": [
        {"code": "deactivate_users", "needs": ["Manage Users"], "status": "granted",
         "consequence": None}]}]}


def test_the_preflight_permissions_are_in_the_report_with_what_is_missed(
        tmp_path: Path) -> None:
    body, page = render(write_run(tmp_path, [], preflight=PREFLIGHT), "de")
    checks = body["preflight"]["permissions"]
    assert [(c["step"], c["refused"]) for c in checks] == \
        [("export", False), ("freeze", True), ("deactivate", False)]
    assert checks[1]["requirements"][0] == {
        "code": "freeze_users", "needs": ["Manage Users", "Freeze Users"], "status": "unknown",
        "consequence": FREEZE_MISSED}
    table = page[page.index('id="permissions"'):page.index("</section>",
                                                          page.index('id="permissions"'))]
    rows = re.findall(r"<tr( class=\"fail\")?><td>(.*?)</td><td>(.*?)</td><td>(.*?)</td>"
                      r"<td>(.*?)</td></tr>", table)
    assert [(bool(bad), step, status) for bad, step, _needs, status, _missed in rows] == [
        (True, "Export", "fehlt"), (True, "Benutzer einfrieren", "unbekannt"),
        (False, "Benutzer deaktivieren", "erteilt")]
    assert rows[1][2] == ('<span lang="en">Manage Users</span> oder '
                          '<span lang="en">Freeze Users</span>')
    assert rows[0][4].startswith("Datensätze, die nicht für den ausführenden Benutzer")
    assert "--skip freeze" in table and 'class="bad"' in table


def test_a_run_without_permission_checks_has_no_table_and_preflight_null(
        tmp_path: Path) -> None:
    body, page = render(write_run(tmp_path, []), "en")
    assert body["preflight"] is None
    assert 'id="permissions"' not in page
