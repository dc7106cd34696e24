"""The written cancellation notice: a letter ready to sign and send. Pure: returns the text.

Every sentence of the letter is in ``MESSAGES`` (English); the other languages (da, de, fr,
it, nl) are the ``notice.*`` keys of the report's catalogues (``sfexit/report/i18n/``, the one
place translations live); the code only picks keys and fills ``{placeholders}``. English keeps
ISO dates and ``12,000.00 USD``; a translated letter writes dates and amounts the way its
locale does, through Babel. The CLI writes the file; the format follows its extension
(``.md`` Markdown, ``.txt`` text).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import re
from decimal import Decimal

from sfexit import rules
from sfexit.errors import UsageError

MESSAGES: dict[str, str] = {
    "title": "Notice of cancellation of Salesforce subscription",
    "date": "Date: {date}",
    "to": "To: Salesforce, Inc. (Contracts and Renewals)",
    "from": "From: {company}",
    "company_placeholder": "[Company name]",
    "subject": "Subject: Cancellation of our Salesforce contract ({start} to {end})",
    "org": "Salesforce org: {name} (Org ID {org_id})",
    "org_unnamed": "Salesforce org ID: {org_id}",
    "salutation": "Dear Salesforce team,",
    "cancel": ("{company} hereby gives written notice that it cancels its Salesforce "
               "subscription contract for the term from {start} to {end}, and that the "
               "contract shall not renew."),
    "effective_end": ("We request that the cancellation take effect at the end of the current "
                      "term, on {effective}."),
    "effective_early": "We request that the cancellation take effect on {effective}.",
    "in_time": ("This notice is given {days} days before the end of the term, within the "
                "{notice_days}-day notice period."),
    "refund_heading": "Refund",
    "refund_full": ("As the cancellation falls within the first {days} days after the service "
                    "start, we expect a full refund of {paid}, with no fees."),
    "refund_pro_rata": ("We expect a refund of {amount} for the unused part of the term, "
                        "calculated as follows:"),
    "refund_none_at_end": "As the cancellation takes effect at the end of the term, no refund "
                          "is due.",
    "refund_zero": ("After the early-termination fee, no refund is due for the unused part of "
                    "the term:"),
    "refund_unknown": ("Please refund any amount paid for the unused part of the term after "
                       "the effective date."),
    "col_item": "Item",
    "col_value": "Amount",
    "row_paid": "Amount paid",
    "row_term": "Term",
    "row_term_value": "{days} days ({start} to {end})",
    "row_used": "Days used up to {effective}",
    "row_unused": "Days unused",
    "row_pro_rata": "Pro rata for the unused days ({unused}/{term} of {paid})",
    "row_fee": "Early-termination fee",
    "row_fee_percent": "Early-termination fee ({percent}% of the remaining value)",
    "row_amount": "Refund expected",
    "confirm": ("Please confirm in writing that you have received this notice, the effective "
                "date of the cancellation, that the contract will not renew, that no further "
                "invoices will be issued, and the amount and date of any refund."),
    "closing": "Sincerely,",
    "sign_line": "Signature: ______________________________",
    "signer_placeholder": "[Name]",
    "title_line": "Title: [Title]",
    "title_named": "Title: {title}",
    "sign_date": "Date: ______________",
}

# Only what changes inline Markdown; escaping "." or "-" would make the raw letter ugly.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_\[\]<>|#])")


class NoticeFormat(enum.Enum):
    MARKDOWN = "markdown"
    TEXT = "text"


def format_for_filename(name: str) -> NoticeFormat:
    """``.md`` means Markdown, ``.txt`` plain text. Raises UsageError for anything else."""
    lowered = name.lower()
    if lowered.endswith(".md"):
        return NoticeFormat.MARKDOWN
    if lowered.endswith(".txt"):
        return NoticeFormat.TEXT
    raise UsageError(f"--out {name}: use a file name ending in .md (Markdown) "
                     "or .txt (plain text)")


@dataclasses.dataclass(frozen=True)
class OrgIdentity:
    """Who the org is, when we are logged in: printed on the letter so Salesforce can find it."""

    org_id: str
    name: str | None = None


@dataclasses.dataclass(frozen=True)
class NoticeRequest:
    """What the letter says: the contract plan (``rules.plan``: the way of leaving, its
    effective day and refund, the day the notice is sent) and who sends it. Without a known
    amount paid the refund is asked for, not computed."""

    plan: rules.ContractPlan
    company: str | None = None
    signer: str | None = None
    title: str | None = None
    org: OrgIdentity | None = None

    @property
    def contract(self) -> rules.Contract:
        return self.plan.contract

    @property
    def today(self) -> dt.date:
        return self.plan.on

    @property
    def effective(self) -> dt.date:
        """The early termination's day, or the term's last day for a non-renewal."""
        early = self.plan.leave is rules.Leave.EARLY
        return self.plan.early.effective if early else self.contract.end


def render_notice(request: NoticeRequest, fmt: NoticeFormat, lang: str = "en") -> str:
    """The letter as Markdown or plain text in ``lang``, ending with a newline.

    Raises UsageError for a language sfexit has no catalogue for.
    """
    style = _Style(fmt, lang, _messages(lang))
    blocks = [
        style.title(style.m["title"]),
        "\n".join(style.line(text) for text in _header(request, style)),
        style.m["salutation"],
        *_body(request, style),
        *_refund(request, style),
        style.m["confirm"],
        "\n".join(style.line(text) for text in _signature(request, style)),
    ]
    return "\n\n".join(blocks) + "\n"


def _messages(lang: str) -> dict[str, str]:
    if lang == "en":
        return MESSAGES
    from sfexit.report.i18n import check_lang, notice_messages

    return notice_messages(check_lang(lang))


def _header(request: NoticeRequest, style: _Style) -> list[str]:
    contract, m, day = request.contract, style.m, style.day
    lines = [
        m["date"].format(date=day(request.today)),
        m["to"],
        m["from"].format(company=_company(request, style)),
        m["subject"].format(start=day(contract.start), end=day(contract.end)),
    ]
    if request.org is not None:
        key = "org" if request.org.name else "org_unnamed"
        lines.append(m[key].format(name=style.user(request.org.name or ""),
                                          org_id=style.user(request.org.org_id)))
    return lines


def _body(request: NoticeRequest, style: _Style) -> list[str]:
    contract, m, day = request.contract, style.m, style.day
    cancel = m["cancel"].format(company=_company(request, style),
                                start=day(contract.start), end=day(contract.end))
    end_of_term = request.plan.leave is rules.Leave.END_OF_TERM
    key = "effective_end" if end_of_term else "effective_early"
    blocks = [cancel, m[key].format(effective=day(request.effective))]
    # Only claim timeliness when it is true (and it is about the non-renewal period); a late
    # notice says nothing about the period.
    if end_of_term and request.plan.end_of_term.in_time:
        blocks.append(m["in_time"].format(days=(contract.end - request.today).days,
                                                 notice_days=contract.notice_days))
    return blocks


def _refund(request: NoticeRequest, style: _Style) -> list[str]:
    m, money_ = style.m, style.money
    heading = style.heading(m["refund_heading"])
    if request.plan.leave is rules.Leave.END_OF_TERM:
        return [heading, m["refund_none_at_end"]]
    result = request.plan.early.refund
    if result is None:
        return [heading, m["refund_unknown"]]
    if result.full_refund:
        paid = money_(result.paid, result.currency)
        return [heading, m["refund_full"].format(
            days=request.contract.refund_full_days, paid=paid)]
    if result.days_unused == 0:
        return [heading, m["refund_none_at_end"]]
    key = "refund_pro_rata" if result.amount > 0 else "refund_zero"
    intro = m[key].format(amount=money_(result.amount, result.currency))
    return [heading, intro, style.table(_refund_rows(request, result, style))]


def _refund_rows(request: NoticeRequest, result: rules.Refund,
                 style: _Style) -> list[tuple[str, str]]:
    contract, cur = request.contract, result.currency
    m, money_, day = style.m, style.money, style.day
    fee = contract.fee
    fee_label = (m["row_fee_percent"].format(percent=style.number(fee.value))
                 if fee.kind is rules.FeeKind.PERCENT else m["row_fee"])
    return [
        (m["row_paid"], money_(result.paid, cur)),
        (m["row_term"], m["row_term_value"].format(
            days=result.term_days, start=day(contract.start), end=day(contract.end))),
        (m["row_used"].format(effective=day(request.effective)), str(result.days_used)),
        (m["row_unused"], str(result.days_unused)),
        (m["row_pro_rata"].format(unused=result.days_unused, term=result.term_days,
                                  paid=money_(result.paid, cur)),
         money_(result.pro_rata, cur)),
        (fee_label, ("-" if result.fee else "") + money_(result.fee, cur)),
        (m["row_amount"], money_(result.amount, cur)),
    ]


def _signature(request: NoticeRequest, style: _Style) -> list[str]:
    m = style.m
    signer = style.user(request.signer) if request.signer else m["signer_placeholder"]
    title = (m["title_named"].format(title=style.user(request.title)) if request.title
             else m["title_line"])
    return [m["closing"], "", m["sign_line"], signer, title, _company(request, style),
            m["sign_date"]]


def _company(request: NoticeRequest, style: _Style) -> str:
    return style.user(request.company) if request.company else style.m["company_placeholder"]


def money(amount: Decimal, currency: str) -> str:
    """``12,000.00 USD``: English digit grouping (a translation would bring its own)."""
    return f"{amount:,} {currency}"


@dataclasses.dataclass(frozen=True)
class _Style:
    """The few places Markdown and plain text differ, and the language's words and formats."""

    fmt: NoticeFormat
    lang: str = "en"
    m: dict[str, str] = dataclasses.field(default_factory=lambda: MESSAGES)

    def day(self, value: dt.date) -> str:
        """English letters keep ISO dates (as before); others the locale's long date, French
        with its ordinal first of the month ("1er janvier")."""
        if self.lang == "en":
            return value.isoformat()
        from sfexit.report.i18n import format_day

        return format_day(value, self.lang)

    def money(self, amount: Decimal, currency: str) -> str:
        if self.lang == "en":
            return money(amount, currency)
        from babel.numbers import format_currency

        return str(format_currency(amount, currency, locale=self.lang))

    def number(self, value: Decimal) -> str:
        if self.lang == "en":
            return str(value)
        from babel.numbers import format_decimal

        return str(format_decimal(value, locale=self.lang))

    @property
    def markdown(self) -> bool:
        return self.fmt is NoticeFormat.MARKDOWN

    def title(self, text: str) -> str:
        return f"# {text}" if self.markdown else f"{text}\n{'=' * len(text)}"

    def heading(self, text: str) -> str:
        return f"## {text}" if self.markdown else f"{text}\n{'-' * len(text)}"

    def line(self, text: str) -> str:
        # Markdown joins adjacent lines into one paragraph; two trailing spaces break the line.
        return f"{text}  " if self.markdown and text else text

    def user(self, text: str) -> str:
        """Text the user typed (company, signer), escaped so Markdown shows it as typed."""
        return _MARKDOWN_SPECIAL.sub(r"\\\1", text) if self.markdown else text

    def table(self, rows: list[tuple[str, str]]) -> str:
        if self.markdown:
            body = [f"| {label} | {value} |" for label, value in rows]
            header = f"| {self.m['col_item']} | {self.m['col_value']} |"
            return "\n".join([header, "|---|--:|", *body])
        width = max(len(label) for label, _ in rows)
        return "\n".join(f"  {label.ljust(width)}  {value}" for label, value in rows)
