"""The catalogues: complete, consistent, and formatted for each locale by Babel."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal

import pytest

from sfexit import notice, rules
from sfexit.config import REPORT_LANGUAGES
from sfexit.errors import UsageError
from sfexit.report.i18n import (LANGUAGES, catalogue_path, check_lang, load_catalogue,
                                placeholders)

OTHERS = [lang for lang in LANGUAGES if lang != "en"]
# Words that are the same in these languages ("Manifest", "SHA-256").
SAME_IN_EVERY_LANGUAGE = {"report.export_manifest"}


def raw(lang: str) -> dict[str, str]:
    return json.loads(catalogue_path(lang).read_text(encoding="utf-8"))


def test_the_languages_are_the_configs() -> None:
    assert set(LANGUAGES) == set(REPORT_LANGUAGES)


@pytest.mark.parametrize("lang", OTHERS)
def test_every_catalogue_has_exactly_the_english_keys(lang: str) -> None:
    english, other = raw("en"), raw(lang)
    assert sorted(set(english) - set(other)) == [], "missing"
    assert sorted(set(other) - set(english)) == [], "extra"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_no_message_is_empty_or_untrimmed(lang: str) -> None:
    for key, text in raw(lang).items():
        assert isinstance(text, str) and text.strip(), key
        assert text == text.strip(), key


@pytest.mark.parametrize("lang", OTHERS)
def test_placeholders_are_the_same_as_in_english(lang: str) -> None:
    english, other = raw("en"), raw(lang)
    for key, text in english.items():
        assert placeholders(other[key]) == placeholders(text), key


@pytest.mark.parametrize("lang", OTHERS)
def test_messages_are_translated_not_copied(lang: str) -> None:
    english, other = raw("en"), raw(lang)
    same = [k for k, v in english.items() if other[k] == v and len(v) > 25]
    assert [k for k in same if k not in SAME_IN_EVERY_LANGUAGE] == []


def test_english_notice_keys_are_the_letters_messages() -> None:
    """notice.py keeps its English MESSAGES; en.json must say the same thing."""
    english = {k[len("notice."):]: v for k, v in raw("en").items() if k.startswith("notice.")}
    assert english == notice.MESSAGES


def test_every_message_formats_with_its_placeholders() -> None:
    for lang in LANGUAGES:
        cat = load_catalogue(lang)
        for key, text in cat.messages.items():
            values = {name: "X" for name in placeholders(text)}
            assert "{" not in cat.t(key, **values).replace("{{", ""), (lang, key)


@pytest.mark.parametrize(("lang", "date_text", "amount_text"), [
    ("en", "November 22, 2026", "€12,345.67"),
    ("da", "22. november 2026", "12.345,67\xa0€"),
    ("de", "22. November 2026", "12.345,67\xa0€"),
    ("fr", "22 novembre 2026", "12\u202f345,67\xa0€"),
    ("it", "22 novembre 2026", "12.345,67\xa0€"),
    ("nl", "22 november 2026", "€\xa012.345,67"),
])
def test_babel_formats_dates_and_amounts_for_the_locale(lang: str, date_text: str,
                                                        amount_text: str) -> None:
    cat = load_catalogue(lang)
    assert cat.date(dt.date(2026, 11, 22)) == date_text
    assert cat.date("2026-11-22") == date_text
    assert cat.money(Decimal("12345.67"), "EUR") == amount_text


def test_sizes_and_numbers_follow_the_locale() -> None:
    assert load_catalogue("en").number(1234567) == "1,234,567"
    assert load_catalogue("de").number(1234567) == "1.234.567"
    assert load_catalogue("en").size(2_500_000) == "2.5 MB"
    assert load_catalogue("de").size(2_500_000) == "2,5 MB"


def test_unknown_language_is_one_clear_usage_error() -> None:
    with pytest.raises(UsageError, match="'sv' is not a supported language; use one of en"):
        check_lang("sv")
    assert check_lang(" DE ") == "de" and check_lang(None) == "en"


@pytest.mark.parametrize("lang", OTHERS)
def test_the_notice_letter_is_translated_with_local_dates_and_amounts(lang: str) -> None:
    c = rules.Contract(dt.date(2025, 1, 1), dt.date(2025, 12, 31), Decimal("12000"), "EUR",
                       rules.parse_fee("10%", "--fee"))
    plan = rules.plan(c, dt.date(2025, 6, 1), leave=rules.Leave.EARLY,
                      effective=dt.date(2025, 9, 1))
    request = notice.NoticeRequest(plan, company="Acme")
    text = notice.render_notice(request, notice.NoticeFormat.MARKDOWN, lang)
    cat = load_catalogue(lang)
    assert cat.t("notice.title") in text and cat.t("notice.salutation") in text
    assert cat.date(dt.date(2025, 9, 1)) in text
    assert cat.money(Decimal("3580.27"), "EUR") in text   # the refund after the 10 % fee
    assert "2025-09-01" not in text and "MESSAGES" not in text
    english = notice.render_notice(request, notice.NoticeFormat.MARKDOWN)
    assert "2025-09-01" in english and "3,580.27 EUR" in english


def test_notice_refuses_an_unknown_language() -> None:
    c = rules.Contract(dt.date(2025, 1, 1), dt.date(2025, 12, 31), Decimal("1"), "EUR")
    request = notice.NoticeRequest(rules.plan(c, dt.date(2025, 6, 1)))
    with pytest.raises(UsageError):
        notice.render_notice(request, notice.NoticeFormat.TEXT, "sv")


# The report's own warnings (sfexit/report/model.py), besides the orchestration's codes.
REPORT_CODES = {"journal_bad", "export_differs", "journal_unconfirmed"}


def test_every_reason_code_is_in_the_catalogue_with_the_same_placeholders() -> None:
    """run.json's reason_code/warning code is rendered from report.reason_<code>: a code the
    orchestration can write (sfexit/offboard/notes.py) must have a message, with its params."""
    from sfexit.offboard.notes import TEXTS

    english = raw("en")
    for code, text in TEXTS.items():
        key = f"report.reason_{code}"
        assert key in english, key
        assert placeholders(english[key]) == placeholders(text), code
    in_catalogue = {k[len("report.reason_"):] for k in english if k.startswith("report.reason_")
                    and not k.endswith(".one")}
    assert in_catalogue == set(TEXTS) | REPORT_CODES
    for key in (k for k in english if k.endswith(".one")):   # the singular of a message
        assert placeholders(english[key]) == placeholders(english[key[:-len(".one")]]), key


def test_a_forecast_shortfall_is_worded_and_formatted_for_each_language() -> None:
    """forecast_short/forecast_forced carry the limits as numbers (``shortfall``): the report
    says them in the reader's words and number format, not the English forecast line."""
    from sfexit.report.html_parts import coded

    params = {"limits": "DailyApiRequests: needs about 12,345, 1,200 remaining — does NOT fit",
              "shortfall": [{"limit": "DailyApiRequests", "forecast": 12345, "remaining": 1200},
                            {"limit": "DailyBulkApiBatches", "forecast": 2, "remaining": 1}]}
    for lang in LANGUAGES:
        cat = load_catalogue(lang)
        for code in ("forecast_short", "forecast_forced"):
            text = coded(cat, code, params, "ENGLISH")
            assert cat.number(12345) in text and cat.number(1200) in text, (lang, text)
            assert cat.t("report.limit_rest_calls") in text, (lang, text)
            assert cat.t("report.limit_ingest_batches") in text, (lang, text)
            if lang != "en":
                assert "needs about" not in text and "12,345" not in text, (lang, text)
    assert load_catalogue("de").number(12345) == "12.345"
    german = load_catalogue("de")
    # a run written before ``shortfall`` existed: the sentence with its English lines
    assert coded(german, "forecast_short", {"limits": "X"}, "ENGLISH").endswith(": X")
    # a shortfall that is not {limit, forecast, remaining}: the English sentence
    broken = {"limits": "X", "shortfall": [{"limit": "DailyApiRequests"}]}
    assert coded(german, "forecast_short", broken, "ENGLISH") == "ENGLISH"


def test_each_object_the_reassign_check_can_name_has_its_sentence() -> None:
    from typing import get_args

    from sfexit.people.ownership_access import Lacks
    from sfexit.report.html_parts import object_problem

    for lang in LANGUAGES:
        cat = load_catalogue(lang)
        for lacks in get_args(Lacks):
            assert placeholders(raw(lang)[f"report.perm_object_{lacks}"]) == {"object", "records"}
            text = object_problem(cat, {"object": "Opportunity", "lacks": lacks,
                                        "records": 1234})
            assert text and text.startswith("Opportunity") and cat.number(1234) in text
    assert object_problem(load_catalogue("en"), {"object": "Lead", "lacks": "edit"}) is None


def test_french_writes_the_first_of_the_month_as_an_ordinal() -> None:
    fr = load_catalogue("fr")
    assert fr.date("2027-01-01") == "1er janvier 2027"
    assert fr.date("2027-01-01", "medium") == "1er janv. 2027"
    assert fr.datetime("2026-09-01T10:00:00Z") == "1er sept. 2026, 10:00:00 UTC"
    assert [fr.date(f"2027-01-{d}") for d in ("11", "21", "31")] == [
        "11 janvier 2027", "21 janvier 2027", "31 janvier 2027"]
    assert fr.date("2027-01-01", "short") == "01/01/2027"
    assert load_catalogue("de").date("2027-01-01") == "1. Januar 2027"
