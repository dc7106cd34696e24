"""``sfexit deadline`` and ``sfexit notice``: the contract's dates, refund and cancellation letter.

Flags override the ``[contract]`` section of the config. This is the only place the rules
meet the clock: ``--on`` defaults to ``date.today()`` and is passed into the pure functions.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import click

from sfexit import configured_contract, errors, ics, rules
from sfexit.cli.context import AppContext, json_option, pass_app, require_writable_dir
from sfexit.configured_contract import ContractFlags, ResolvedContract
from sfexit.jsonable import to_jsonable
from sfexit.notice import (NoticeRequest, OrgIdentity, format_for_filename, money,
                           render_notice)
from sfexit.rules import Contract, StatusKind

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
# What each checklist item asks of the person (the report has the same words, translated).
TASK_TEXT = {
    rules.Task.NOTICE: "Send the written notice (sfexit notice) so that it reaches Salesforce",
    rules.Task.BILLING: "Cancel the renewal in the Salesforce billing portal",
    rules.Task.CONFIRMATION: "Keep Salesforce's written confirmation of the cancellation",
    rules.Task.INVOICE: "Check the first invoice after the end: nothing for a new term",
    rules.Task.REFUND: "Confirm the refund of {amount} arrived",
}
END_HELP = ("Contract end: the order form's End Date, the term's last day (included), "
            "YYYY-MM-DD [config: contract.end].")


def contract_options(f: Any) -> Any:
    """The contract flags shared by ``deadline`` and ``notice``. Values are parsed by us, not
    Click, so every bad value gets the same one-line message as in the library."""
    options = [
        click.option("--start", metavar="DATE", help="Contract start: the order form's Start "
                     "Date, YYYY-MM-DD [config: contract.start]."),
        click.option("--end", metavar="DATE", help=END_HELP),
        click.option("--paid", metavar="AMOUNT", help="Amount paid for the term, e.g. "
                     "12000.00 [config: contract.paid]."),
        click.option("--currency", metavar="CODE", help="ISO 4217 currency of --paid, e.g. "
                     "USD [config: contract.currency]."),
        click.option("--fee", metavar="AMOUNT|PCT%", help="Early-termination fee: an amount, "
                     "or a percentage of the remaining value, e.g. 10% [config: contract.fee]."),
        click.option("--leave", metavar="WAY", help="How the company leaves: end-of-term "
                     "(notice by the deadline, no refund) or early (on --effective, pro-rata "
                     "refund) [config: contract.leave; default end-of-term]."),
        click.option("--effective", metavar="DATE", help="The day an early termination takes "
                     "effect, YYYY-MM-DD; implies --leave early [config: contract.effective]."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def resolve_contract(app: AppContext, flags: ContractFlags) -> ResolvedContract:
    """Flags over config over the rules' defaults. Raises UsageError naming flag and key."""
    return configured_contract.resolve(app.settings().contract, flags)


def _today(on: str | None) -> dt.date:
    # The one clock read for the rules; everything below takes the day as a parameter.
    return rules.parse_date(on, "--on") if on is not None else dt.date.today()


def term_text(contract: Contract) -> str:
    """"term 2025-03-01 – 2026-02-28, 365 days": how every output states the term."""
    return f"term {contract.start} – {contract.end}, {contract.term_days} days"


def plan_line(p: rules.ContractPlan) -> str:
    """One line for other commands' output (offboard): the term, the way, the next date."""
    first = p.checklist[0]
    if p.leave is rules.Leave.EARLY:
        way = f"early termination effective {p.early.effective}"
    elif p.end_of_term.in_time:
        way = "leaving at the end of the term"
    else:
        way = (f"the notice deadline {p.notice_deadline} has passed: it renews on "
               f"{p.end_of_term.renews_on} until {p.end_of_term.renewal_term_end}")
    late = f", {first.days_late} days late" if first.days_late else ""
    return (f"Contract: {term_text(p.contract)}; {way}; written notice by {first.due}{late} "
            "(sfexit deadline shows the checklist)")


# --- sfexit deadline -------------------------------------------------------------------------

@click.command("deadline")
@contract_options
@click.option("--on", "on", metavar="DATE",
              help="The day to compute the status and refund for, YYYY-MM-DD (default: today).")
@click.option("--ics", "ics_path", type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE", help="Also write an iCalendar file with reminders.")
@json_option
@pass_app
def deadline(app: AppContext, start: str | None, end: str | None, paid: str | None,
             currency: str | None, fee: str | None, leave: str | None, effective: str | None,
             on: str | None, ics_path: Path | None) -> None:
    """When notice must be given, when the contract renews, and what each way of leaving
    gives: at the end of the term (no refund) or early (pro-rata refund), side by side, with
    the checklist for the chosen one.

    The contract's end is the order form's End Date, its last day: a term 2025-03-01 –
    2026-02-28 is 365 days and would renew on 2026-03-01.
    """
    resolved = resolve_contract(app, ContractFlags(start, end, paid, currency, fee, leave,
                                                   effective))
    today = _today(on)
    the_plan = configured_contract.plan(resolved, today)
    _warn_about(app, the_plan, today)
    if ics_path is not None:
        text = ics.contract_calendar(the_plan, dt.datetime.now(dt.UTC))
        _write(ics_path, text.encode("utf-8"))  # bytes: keep the CRLF line ends as they are
    result = deadline_result(the_plan, ics_path)
    app.out.result(result, lambda: deadline_text(app, the_plan, ics_path))


def _warn_about(app: AppContext, the_plan: rules.ContractPlan, today: dt.date) -> None:
    if not the_plan.paid_known:
        app.out.warn("no amount paid (--paid or contract.paid): the refund is not computed")
    if today > the_plan.contract_end:
        app.out.warn(f"the contract end {the_plan.contract_end} is before {today}; if the "
                     "contract renewed, give the current term's --start and --end")


def deadline_result(the_plan: rules.ContractPlan, ics_path: Path | None) -> dict[str, Any]:
    """The ``--json`` result: the plan (dates ISO, amounts decimal strings) and the ics path."""
    result: dict[str, Any] = to_jsonable(the_plan)
    result["ics"] = ics_path
    return result


def deadline_text(app: AppContext, the_plan: rules.ContractPlan, ics_path: Path | None) -> str:
    contract, today = the_plan.contract, the_plan.on
    window = the_plan.renewal_window
    lines = [
        f"Contract          {term_text(contract)} (renews on {_day(contract.renews_on)} "
        "without notice)",
        f"Today             {_day(today)}",
        "",
        _status_line(the_plan),
        "",
        f"Recommended date  {_day(the_plan.recommended_notice_date)}, "
        f"{_relative(the_plan.days_until_recommended)}",
        f"Notice deadline   {_day(the_plan.notice_deadline)}, "
        f"{_relative(the_plan.days_until_deadline)}",
        f"Renewal window    {_day(window.start)} to {_day(window.end)}",
        *_weekend_note(the_plan),
        "",
        *_ways(the_plan),
        "",
        *_refund_lines(the_plan),
        "",
        *checklist_lines(app, the_plan),
        "",
        "Timeline",
        *(f"  {m.date} {_WEEKDAYS[m.date.weekday()][:3]}  {m.label}" for m in the_plan.timeline),
    ]
    if ics_path is not None:
        lines += ["", f"Calendar written to {ics_path} (reminders 7 days and 1 day before "
                      "the recommended date and the deadline)."]
    return "\n".join(lines)


def _status_line(p: rules.ContractPlan) -> str:
    if p.leave is rules.Leave.EARLY:
        days = (p.early.effective - p.on).days
        return (f"Status: early termination chosen, effective {_day(p.early.effective)}: "
                f"written notice must reach Salesforce by then ({_relative(days)}).")
    if p.status is StatusKind.SAFE:
        return (f"Status: safe. Give written notice by the recommended date, "
                f"{_day(p.recommended_notice_date)}; it must reach Salesforce by "
                f"{_day(p.notice_deadline)} at the latest.")
    if p.status is StatusKind.RECOMMENDED_DATE_PASSED:
        return (f"Status: the recommended date has passed. Send written notice now: it must "
                f"reach Salesforce by {_day(p.notice_deadline)}, "
                f"{_relative(p.days_until_deadline)}.")
    return f"Status: {renewal_sentence(p)}"


def renewal_sentence(p: rules.ContractPlan) -> str:
    """What a missed deadline means, and the next term's deadline to plan for."""
    eot = p.end_of_term
    renews = "renewed" if p.on >= eot.renews_on else "renews"
    return (f"the notice deadline passed {_relative(p.days_until_deadline)}. Unless Salesforce "
            f"agrees otherwise, the contract {renews} on {_day(eot.renews_on)} for another "
            f"term, until {_day(eot.renewal_term_end)}; to leave then, notice must reach "
            f"Salesforce by {_day(eot.next_term_notice_deadline)}.")


def _ways(p: rules.ContractPlan) -> list[str]:
    """Both ways of leaving, side by side; the chosen one marked."""
    eot, early = p.end_of_term, p.early
    early_chosen = p.leave is rules.Leave.EARLY
    left = "At the end of the term" + ("" if early_chosen else " (chosen)")
    right = "Early termination" + (" (chosen)" if early_chosen else "")
    if not eot.in_time:
        left_notice = f"late; next term {eot.next_term_notice_deadline}"
        left_end = f"renews {eot.renews_on} until {eot.renewal_term_end}"
    else:
        left_notice, left_end = str(eot.notice_deadline), f"{eot.last_day} (last day)"
    rows = [
        ("", left, right),
        ("Notice reaches Salesforce by", left_notice, str(early.effective)),
        ("Service ends after", left_end, str(early.effective)),
        ("Refund", "none (the term is used)", _money_or(early.refund)),
    ]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    return ["Two ways of leaving"] + [
        "  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(r)).rstrip()
        for r in rows]


def _money_or(result: rules.Refund | None) -> str:
    if result is None:
        return "not computed (no amount paid)"
    return money(result.amount, result.currency) + (" (full refund)" if result.full_refund
                                                    else "")


def checklist_lines(app: AppContext, p: rules.ContractPlan) -> list[str]:
    """The person's checklist in date order; overdue items in red, with the days late."""
    way = "at the end of the term" if p.leave is rules.Leave.END_OF_TERM else (
        f"early termination on {p.early.effective}")
    lines = [f"Checklist ({way})"]
    for item in p.checklist:
        text = TASK_TEXT[item.task].format(amount=money(item.amount, item.currency or "")
                                           if item.amount is not None else "")
        if item.next_term:
            text += f" (next term, until {p.end_of_term.renewal_term_end})"
        line = f"  [ ] {item.due} {_WEEKDAYS[item.due.weekday()][:3]}  {text}"
        if item.days_late:
            late = "1 day late" if item.days_late == 1 else f"{item.days_late} days late"
            line = app.out.style(f"{line}: {late}", fg="red")
        lines.append(line)
    return lines


def _refund_lines(p: rules.ContractPlan) -> list[str]:
    """The early termination's refund, worked out (for --on, or the chosen effective day)."""
    if p.early.refund is None:
        return ["Refund            not computed: give --paid AMOUNT and --currency CODE "
                "(or contract.paid and contract.currency)"]
    result, today = p.early.refund, p.early.effective  # today: the effective day
    cur = result.currency
    if result.full_refund:
        return [f"Refund if terminated early on {today}: {money(result.amount, cur)}, a full refund "
                f"(within the first {p.contract.refund_full_days} days, no fee)"]
    lines = [
        f"Refund if terminated early on {today}",
        f"  Amount paid     {money(result.paid, cur)}",
        f"  Days used       {result.days_used} of {result.term_days} "
        f"({result.days_unused} unused)",
        f"  Pro rata        {money(result.pro_rata, cur)} "
        f"({result.days_unused}/{result.term_days} of the amount paid)",
        f"  Fee             -{money(result.fee, cur)}{_fee_note(p.contract.fee)}",
        f"  Refund          {money(result.amount, cur)}",
    ]
    if result.fee > result.pro_rata:
        lines.append("  (the fee is more than the pro rata; a refund is never negative)")
    return lines


def _fee_note(fee: rules.Fee) -> str:
    return f" ({fee.value}% of the remaining value)" if fee.kind is rules.FeeKind.PERCENT else ""


def _weekend_note(p: rules.ContractPlan) -> list[str]:
    # Post and couriers do not deliver everywhere at weekends; "reach by" is what counts.
    deadline = p.notice_deadline
    if deadline.weekday() < 5 or p.days_until_deadline < 0:
        return []
    return [f"The deadline is a {_WEEKDAYS[deadline.weekday()]}: send the notice early "
            "enough to reach Salesforce by then."]


def _day(day: dt.date | None) -> str:
    if day is None:
        return "-"
    return f"{day.isoformat()} ({_WEEKDAYS[day.weekday()]})"


def _relative(days: int) -> str:
    if days == 0:
        return "today"
    if days == 1:
        return "tomorrow"
    if days == -1:
        return "yesterday"
    return f"in {days} days" if days > 0 else f"{-days} days ago"


# --- sfexit notice ---------------------------------------------------------------------------

@click.command("notice")
@click.option("--out", "out_path", required=True, metavar="FILE",
              type=click.Path(dir_okay=False, path_type=Path),
              help="Where to write the letter: .md (Markdown) or .txt (plain text).")
@contract_options
@click.option("--on", "on", metavar="DATE",
              help="The day the notice is dated and sent, YYYY-MM-DD (default: today).")
@click.option("--company", metavar="NAME", help="Your company's name, as on the contract "
              "[config: notice.company].")
@click.option("--signer", metavar="NAME", help="Who signs the letter [config: notice.signer].")
@click.option("--title", "signer_title", metavar="TITLE", help="The signer's title "
              "[config: notice.title].")
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
@click.option("--lang", metavar="LANG", help="Language of the letter: en, da, de, fr, it or nl "
              "[config: report.lang; default en].")
@json_option
@pass_app
def notice(app: AppContext, out_path: Path, start: str | None, end: str | None,
           paid: str | None, currency: str | None, fee: str | None, leave: str | None,
           effective: str | None, on: str | None, company: str | None, signer: str | None,
           signer_title: str | None, force: bool, lang: str | None) -> None:
    """Write the cancellation notice, ready to sign and send to Salesforce.

    It follows the chosen way of leaving: at the end of the term (the default: no renewal,
    no refund) or an early termination on --effective (with the pro-rata refund).
    """
    fmt = format_for_filename(out_path.name)
    require_writable_dir(out_path.parent, "--out")
    letter_lang = _letter_lang(app, lang)
    resolved = resolve_contract(app, ContractFlags(start, end, paid, currency, fee, leave,
                                                   effective))
    the_plan = configured_contract.plan(resolved, _today(on))
    if out_path.exists() and not force:
        raise errors.UsageError(f"{out_path} already exists; pass --force to overwrite it")
    sender = app.settings().notice
    org = _org_identity(app)
    request = NoticeRequest(the_plan, company or sender.company, signer or sender.signer,
                            signer_title or sender.title, org)
    _write(out_path, render_notice(request, fmt, letter_lang).encode("utf-8"))
    if the_plan.leave is rules.Leave.END_OF_TERM and not the_plan.end_of_term.in_time:
        app.out.warn(f"the notice deadline {the_plan.notice_deadline} has passed: unless "
                     f"Salesforce agrees, the contract renews on {the_plan.end_of_term.renews_on}")
    if org is None:
        app.out.info("The letter has no org id: add it by hand (Setup > Company "
                     "Information) so Salesforce can find the org.")
    missing = [name for name, value in (("company", request.company),
                                        ("signer", request.signer)) if not value]
    if missing:
        app.out.info(f"The letter has a placeholder for the {' and the '.join(missing)}: pass "
                     + " and ".join(f"--{name}" for name in missing)
                     + " or set them in [notice] in the config.")
    result = {"path": out_path, "format": fmt, "lang": letter_lang, "leave": the_plan.leave,
              "effective": request.effective, "notice_deadline": the_plan.notice_deadline,
              "notice_by": _notice_by(the_plan), "status": the_plan.status,
              "refund": the_plan.chosen_refund, "term_days": the_plan.term_days, "org": org}
    app.out.result(result, _notice_text(out_path, the_plan))


def _notice_by(p: rules.ContractPlan) -> dt.date:
    """The day the letter must reach Salesforce: the checklist's notice item (the current
    term's, even when late)."""
    return next(i.due for i in p.checklist if i.task is rules.Task.NOTICE)


def _letter_lang(app: AppContext, lang: str | None) -> str:
    """--lang, else [report] lang from the config (validated there), else English."""
    if lang is not None:
        from sfexit.report.i18n import check_lang

        return check_lang(lang)
    return app.settings().report.lang


def _notice_text(out_path: Path, p: rules.ContractPlan) -> str:
    text = (f"Wrote the cancellation notice to {out_path} ({term_text(p.contract)}). Check it "
            "against your order form and sign it")
    if p.leave is rules.Leave.EARLY:
        return (f"{text}; the early termination takes effect on {_day(p.early.effective)}, "
                "so it must reach Salesforce before then.")
    if not p.end_of_term.in_time:
        return f"{text}; the deadline has passed, so send it now and ask Salesforce to agree."
    return f"{text}; it must reach Salesforce by {_day(p.notice_deadline)}."


def _org_identity(app: AppContext) -> OrgIdentity | None:
    """The configured org's id and name for the letter; None when no org profile is set up.

    Logging in must never fail the notice: with a profile whose login does not work (no secret
    stored, network down) the letter is written without the org line and a warning says why.
    Never prompts: a notice is often written by someone who cannot log in.
    """
    settings = app.settings()
    if settings.org is None:
        return None
    from sfexit.org.rest import RestClient

    try:
        session = app.connect(read_only=True, may_prompt=False)
        info = RestClient(session).organization()
    except (errors.SfexitError, LookupError) as exc:
        app.out.warn(f"could not read the org id from {settings.org.name}: "
                     f"{exc.one_line() if isinstance(exc, errors.SfexitError) else exc}")
        return None
    return OrgIdentity(org_id=info.org_id, name=info.name)


def _write(path: Path, data: bytes) -> None:
    try:
        path.write_bytes(data)
    except OSError as exc:
        raise errors.SfexitError(f"could not write {path}: {exc.strerror or exc}",
                                 hint="check that the folder exists and is writable") from None
