"""The written cancellation notice: what the letter must say, in Markdown and plain text."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from sfexit import notice, rules
from sfexit.errors import UsageError
from sfexit.notice import MESSAGES, NoticeFormat, NoticeRequest, OrgIdentity

D = dt.date
MD, TXT = NoticeFormat.MARKDOWN, NoticeFormat.TEXT


def contract(fee: str | None = None, paid: str = "12000") -> rules.Contract:
    parsed = rules.parse_fee(fee, "--fee") if fee else rules.NO_FEE
    return rules.Contract(D(2025, 1, 1), D(2025, 12, 31), Decimal(paid), "USD", parsed)


def letter(fmt: NoticeFormat = TXT, *, contract: rules.Contract | None = None,
           today: dt.date = D(2025, 10, 1), effective: dt.date | None = None,
           paid_known: bool = True, lang: str = "en", **sender: object) -> str:
    """The letter for leaving at the end of the term, or early on ``effective``."""
    leave = rules.Leave.EARLY if effective is not None else rules.Leave.END_OF_TERM
    plan = rules.plan(contract or globals()["contract"](), today, leave=leave,
                      effective=effective, paid_known=paid_known)
    return notice.render_notice(NoticeRequest(plan, **sender), fmt, lang)  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", [MD, TXT])
def test_letter_states_contract_dates_and_effective_date(fmt: NoticeFormat) -> None:
    text = letter(fmt)
    assert "for the term from 2025-01-01 to 2025-12-31" in text
    assert ("We request that the cancellation take effect at the end of the current term, "
            "on 2025-12-31.") in text
    assert "Date: 2025-10-01" in text


@pytest.mark.parametrize("fmt", [MD, TXT])
def test_letter_asks_for_written_confirmation(fmt: NoticeFormat) -> None:
    assert "Please confirm in writing that you have received this notice" in letter(fmt)
    assert "that the contract will not renew" in letter(fmt)


@pytest.mark.parametrize("fmt", [MD, TXT])
def test_letter_has_a_signature_block(fmt: NoticeFormat) -> None:
    text = letter(fmt, company="Acme Ltd", signer="Jane Doe")
    tail = text[text.index("Sincerely,"):]
    for expected in ("Signature: ____", "Jane Doe", "Title: [Title]", "Acme Ltd", "Date: ____"):
        assert expected in tail


def test_the_signers_title_replaces_its_placeholder() -> None:
    text = letter(signer="Jane Doe", title="Chief Operating Officer")
    assert "Title: Chief Operating Officer" in text and "[Title]" not in text


def test_placeholders_when_company_and_signer_are_not_given() -> None:
    text = letter()
    assert "From: [Company name]" in text
    assert "[Company name] hereby gives written notice" in text
    assert "[Name]" in text


def test_letter_names_the_org_when_known() -> None:
    org = OrgIdentity("00D5g000000abcdEAA", "Acme Production")
    assert "Salesforce org: Acme Production (Org ID 00D5g000000abcdEAA)" in letter(org=org)
    assert "Salesforce org ID: 00D5g000000abcdEAA" in letter(org=OrgIdentity("00D5g000000abcdEAA"))


def test_letter_works_without_org_identity() -> None:
    assert "Org ID" not in letter(org=None)


def test_in_time_notice_says_so() -> None:
    assert ("This notice is given 91 days before the end of the term, within the 30-day notice "
            "period.") in letter()


def test_late_notice_does_not_claim_to_be_in_time() -> None:
    assert "notice period" not in letter(today=D(2025, 12, 2))
    assert "notice period" in letter(today=D(2025, 12, 1))


def test_no_refund_when_ending_at_the_end_of_the_term() -> None:
    # Never mixed: a non-renewal claims no refund, even with an amount paid and a fee.
    text = letter(contract=contract(fee="10%"))
    assert "As the cancellation takes effect at the end of the term, no refund is due." in text
    assert "Refund expected" not in text and "USD" not in text


def test_pro_rata_refund_with_breakdown_in_text() -> None:
    text = letter(contract=contract(fee="500"), effective=D(2025, 11, 1))
    assert "We request that the cancellation take effect on 2025-11-01." in text
    assert "We expect a refund of 1,472.60 USD for the unused part of the term" in text
    rows = {re.sub(r"\s{2,}.*", "", line.strip()): re.split(r"\s{2,}", line.strip())[-1]
            for line in text.splitlines() if line.startswith("  ")}
    assert rows == {
        "Amount paid": "12,000.00 USD",
        "Term": "365 days (2025-01-01 to 2025-12-31)",
        "Days used up to 2025-11-01": "305",
        "Days unused": "60",
        "Pro rata for the unused days (60/365 of 12,000.00 USD)": "1,972.60 USD",
        "Early-termination fee": "-500.00 USD",
        "Refund expected": "1,472.60 USD",
    }


def test_pro_rata_refund_table_in_markdown() -> None:
    text = letter(MD, contract=contract(fee="10%"), effective=D(2025, 11, 1))
    assert "## Refund" in text
    assert "| Item | Amount |\n|---|--:|" in text
    assert "| Early-termination fee (10% of the remaining value) | -197.26 USD |" in text
    assert "| Refund expected | 1,775.34 USD |" in text


def test_fee_larger_than_pro_rata_expects_nothing() -> None:
    text = letter(contract=contract(fee="5000"), effective=D(2025, 11, 1))
    assert "After the early-termination fee, no refund is due" in text
    assert "Refund expected" in text and "0.00 USD" in text


def test_full_refund_within_the_first_30_days() -> None:
    text = letter(today=D(2025, 1, 10), effective=D(2025, 1, 30), contract=contract(fee="500"))
    assert ("As the cancellation falls within the first 30 days after the service start, we "
            "expect a full refund of 12,000.00 USD, with no fees.") in text


def test_unknown_amount_asks_for_the_unused_part() -> None:
    text = letter(paid_known=False, effective=D(2025, 11, 1))
    assert MESSAGES["refund_unknown"] in text
    assert "USD" not in text


def test_markdown_escapes_what_the_user_typed() -> None:
    text = letter(MD, company="Acme_*Corp*")
    assert "From: Acme\\_\\*Corp\\*" in text
    assert "From: Acme_*Corp*" in letter(TXT, company="Acme_*Corp*")


def test_markdown_header_lines_break_and_text_has_underlined_title() -> None:
    assert letter(MD).startswith("# Notice of cancellation of Salesforce subscription\n\n"
                                 "Date: 2025-10-01  \n")
    title = MESSAGES["title"]
    assert letter(TXT).startswith(f"{title}\n{'=' * len(title)}\n\nDate: 2025-10-01\n")


def test_every_sentence_comes_from_the_catalogue() -> None:
    # What a translation would replace: all letter text is in MESSAGES, none inline.
    text = letter(company="ACME", signer="Jane")
    for key in ("title", "to", "salutation", "confirm", "closing", "refund_heading"):
        assert MESSAGES[key] in text


@pytest.mark.parametrize("effective", [D(2024, 12, 31), D(2026, 1, 1)])
def test_effective_date_outside_the_term_is_refused(effective: dt.date) -> None:
    with pytest.raises(UsageError) as caught:
        letter(effective=effective)
    assert caught.value.one_line() == (
        f"effective date {effective} is outside the term 2025-01-01 to 2025-12-31; an early "
        "termination ends the current term")


def test_a_french_letter_writes_the_first_of_the_month_as_an_ordinal() -> None:
    text = letter(lang="fr", today=D(2025, 10, 1), effective=D(2025, 12, 1))
    assert "Date : 1er octobre 2025" in text
    assert "prenne effet le 1er décembre 2025" in text
    assert "31 décembre 2025" in text and "131 décembre" not in text


@pytest.mark.parametrize(("name", "fmt"), [("letter.md", MD), ("LETTER.MD", MD),
                                           ("notice.txt", TXT)])
def test_format_follows_the_extension(name: str, fmt: NoticeFormat) -> None:
    assert notice.format_for_filename(name) is fmt


def test_other_extensions_are_refused() -> None:
    with pytest.raises(UsageError) as caught:
        notice.format_for_filename("letter.pdf")
    assert caught.value.one_line() == ("--out letter.pdf: use a file name ending in .md "
                                       "(Markdown) or .txt (plain text)")


def test_money_groups_thousands() -> None:
    assert notice.money(Decimal("1234567.50"), "EUR") == "1,234,567.50 EUR"
    assert notice.money(Decimal("1200"), "JPY") == "1,200 JPY"
