"""What a reader of report.html sees: refusals in their language, no literal backticks,
"1 user" not "1 users", sizes in words, timeline labels over the marker lines."""

from __future__ import annotations

import re

import pytest

from sfexit.report.html_parts import coded, para, refusal_cell
from sfexit.report.i18n import LANGUAGES, load_catalogue
from sfexit.report.model import ContractInfo
from sfexit.report.timeline import timeline_svg

REFUSALS = [
    "it is the running user (sfexit never freezes the account it works as)",
    "it is the running user (sfexit never deactivates the account it works as)",
    "already inactive", "inactive (cannot log in)", "on the keep-list (--keep / [users] keep)",
    "profile 'Support' is on the keep-list (--keep-profile / [users] keep_profiles)",
    "automated process user: touched only when named explicitly",
    "no UserLogin row readable for this user, so it cannot be frozen",
    "the last active System Administrator: the org would be left without an admin who can "
    "log in",
]


@pytest.mark.parametrize("lang", [lang for lang in LANGUAGES if lang != "en"])
def test_every_refusal_reason_sfexit_writes_is_translated(lang: str) -> None:
    cat = load_catalogue(lang)
    for reason in REFUSALS:
        cell = refusal_cell(cat, reason)
        assert 'lang="en"' not in cell and cell != reason, (lang, reason)
    assert "Support" in refusal_cell(cat, REFUSALS[5])
    # an unknown wording (an older run) stays English, marked so
    assert refusal_cell(cat, "something else") == '<span lang="en">something else</span>'


def test_catalogue_commands_are_code_not_backticks() -> None:
    text = load_catalogue("en").t("report.manual_notice")
    assert "`" in text
    html = para(text)
    assert "`" not in html and "<code>sfexit notice</code>" in html


@pytest.mark.parametrize("lang", LANGUAGES)
def test_one_is_singular(lang: str) -> None:
    cat = load_catalogue(lang)
    one = coded(cat, "freeze_failed", {"count": 1}, "1 users could not be frozen")
    two = coded(cat, "freeze_failed", {"count": 2}, "2 users could not be frozen")
    assert one != two.replace("2", "1"), lang   # not the plural sentence with a 1 in it
    if lang == "en":
        assert one == "1 user could not be frozen"
        assert load_catalogue("en").size(923) == "923 bytes"


def test_timeline_labels_are_drawn_after_every_marker_line() -> None:
    c = ContractInfo(start="2025-12-08", end="2027-12-08", term_days=730, on="2026-12-07",
                     status="safe", recommended_notice_date="2027-10-09",
                     notice_deadline="2027-11-08", renewal_window_start="2027-11-08",
                     renewal_window_end="2027-12-08", renewal_term_end=None, refund=None,
                     milestones=())
    svg = timeline_svg(c, load_catalogue("en"))
    last_line = max(m.start() for m in re.finditer("<line ", svg))
    first_text = min(m.start() for m in re.finditer("<text ", svg))
    assert last_line < first_text
