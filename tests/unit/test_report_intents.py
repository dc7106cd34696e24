"""A report rendered from a journal whose last intents have no outcome (the run was killed
during a call): those users are "unconfirmed", neither counted as changed nor dropped."""

from __future__ import annotations

import json
from pathlib import Path

from test_report_model import UID_A, UID_B, make_run

from sfexit.journal import Journal
from sfexit.report import build_report
from sfexit.report.model import build_model


def add_unresolved_freeze(run: Path, uid: str, username: str) -> None:
    Journal.open(run / "journal.jsonl").intent(
        "freeze", target={"object": "UserLogin", "id": "060X", "user_id": uid,
                          "username": username},
        before={"IsFrozen": False}, after={"IsFrozen": True})


def test_an_unresolved_freeze_is_reported_as_unconfirmed(tmp_path: Path) -> None:
    run = make_run(tmp_path, finished=False)   # killed: the journal goes on after run.json
    clean = build_model(run, lang="en")
    assert clean.journal.unconfirmed == 0 and clean.users.count("frozen", "frozen") == 1
    add_unresolved_freeze(run, "005000000000009AAA", "new@x.example")
    report = build_model(run, lang="en")
    by_name = {u.username: u for u in report.users.frozen}
    pending = by_name["new@x.example"]
    assert pending.status == "unconfirmed" and not pending.journaled
    assert (pending.before, pending.after) == ({"IsFrozen": False}, {"IsFrozen": True})
    assert report.users.count("frozen", "frozen") == 1          # not counted as frozen
    assert by_name["a@x.example"].status == "frozen"            # the confirmed one unchanged
    assert report.journal.unconfirmed == 1 and report.journal.ok
    assert any(w.code == "journal_unconfirmed" and w.params == {"count": 1}
               for w in report.warning_codes)


def test_unconfirmed_replaces_what_run_json_said_about_that_user(tmp_path: Path) -> None:
    run = make_run(tmp_path, finished=False)
    add_unresolved_freeze(run, UID_B, "b@x.example")   # run.json: "leave: already frozen"
    report = build_model(run, lang="en")
    statuses = [(u.user_id[:15], u.status) for u in report.users.frozen]
    assert statuses == [(UID_A[:15], "frozen"), (UID_B[:15], "unconfirmed")]


def test_report_json_and_html_say_unconfirmed(tmp_path: Path) -> None:
    run = make_run(tmp_path, finished=False)
    add_unresolved_freeze(run, "005000000000009AAA", "new@x.example")
    json_path, html_path = build_report(run, lang="en")
    body = json.loads(json_path.read_text(encoding="utf-8"))
    assert body["journal"]["unconfirmed"] == 1
    assert [u["status"] for u in body["users"]["frozen"]
            if u["username"] == "new@x.example"] == ["unconfirmed"]
    html = html_path.read_text(encoding="utf-8")
    assert "unconfirmed" in html and "sfexit offboard --resume" in html
