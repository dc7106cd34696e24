"""``sfexit deadline`` and ``sfexit notice``: the contract's dates, refund and cancellation letter.

Flags override the ``[contract]`` section of the config. This is the only place the rules
meet the clock: ``--on`` defaults to ``date.today()`` and is passed into the pure functions.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

import click

from sfexit import errors, ics, rules
from sfexit.cli.context import AppContext, json_option, pass_app
from sfexit.notice import (NoticeRequest, OrgIdentity, format_for_filename, money,
                           render_notice)
from sfexit.rules import Contract, StatusKind

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


@dataclasses.dataclass(frozen=True)
class ContractFlags:
    """The contract values as typed on the command line (None: take the config's)."""

    start: str | None
    end: str | None
    paid: str | None
    currency: str | None
    fee: str | None


@dataclasses.dataclass(frozen=True)
class ResolvedContract:
    """The contract to compute with. ``paid_known`` False: no amount given, no refund shown."""

    contract: Contract
    paid_known: bool


def contract_options(f: Any) -> Any:
    """The contract flags shared by ``deadline`` and ``notice``. Values are parsed by us, not
    Click, so every bad value gets the same one-line message as in the library."""
    options = [
        click.option("--start", metavar="DATE", help="Contract start, YYYY-MM-DD "
                     "[config: contract.start]."),
        click.option("--end", metavar="DATE", help="Contract end (the renewal date), "
                     "YYYY-MM-DD [config: contract.end]."),
        click.option("--paid", metavar="AMOUNT", help="Amount paid for the term, e.g. "
                     "12000.00 [config: contract.paid]."),
        click.option("--currency", metavar="CODE", help="ISO 4217 currency of --paid, e.g. "
                     "USD [config: contract.currency]."),
        click.option("--fee", metavar="AMOUNT|PCT%", help="Early-termination fee: an amount, "
                     "or a percentage of the remaining value, e.g. 10% [config: contract.fee]."),
    ]
    for option in reversed(options):
        f = option(f)
    return f


def resolve_contract(app: AppContext, flags: ContractFlags) -> ResolvedContract:
    """Flags over config over the rules' defaults. Raises UsageError naming flag and key."""
    cfg = app.settings().contract
    start = _date_value(flags.start, "--start", cfg.start, "start")
    end = _date_value(flags.end, "--end", cfg.end, "end")
    paid = rules.parse_money(flags.paid, "--paid") if flags.paid is not None else cfg.paid
    currency = (rules.parse_currency(flags.currency, "--currency")
                if flags.currency is not None else cfg.currency)
    fee = (rules.parse_fee(flags.fee, "--fee") if flags.fee is not None
           else rules.parse_fee(cfg.fee, "contract.fee") if cfg.fee is not None
           else rules.NO_FEE)  # parsed even when unused, so a typo never passes silently
    days = {name: getattr(cfg, name) for name in ("notice_days", "recommended_notice_days",
                                                  "refund_full_days", "renewal_window_days")}
    overrides = {name: value for name, value in days.items() if value is not None}
    if paid is None:
        # Without an amount there is no refund to compute: dates only, and no fee to apply.
        contract = Contract(start, end, Decimal(0), currency or rules.NO_CURRENCY, **overrides)
        return ResolvedContract(contract, paid_known=False)
    if currency is None:
        raise errors.UsageError("an amount paid needs its currency: pass --currency CODE "
                                "or set contract.currency in the config")
    return ResolvedContract(Contract(start, end, paid, currency, fee, **overrides), True)


def _date_value(text: str | None, flag: str, configured: dt.date | None, key: str) -> dt.date:
    if text is not None:
        return rules.parse_date(text, flag)
    if configured is None:
        raise errors.UsageError(f"no contract {key} date: pass {flag} YYYY-MM-DD "
                                f"or set contract.{key} in the config")
    return configured


def _today(on: str | None) -> dt.date:
    # The one clock read for the rules; everything below takes the day as a parameter.
    return rules.parse_date(on, "--on") if on is not None else dt.date.today()


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
             currency: str | None, fee: str | None, on: str | None,
             ics_path: Path | None) -> None:
    """When notice must be given, when the contract renews, and the refund if you cancel."""
    resolved = resolve_contract(app, ContractFlags(start, end, paid, currency, fee))
    today = _today(on)
    _warn_about(app, resolved, today)
    if ics_path is not None:
        text = ics.contract_calendar(resolved.contract, dt.datetime.now(dt.timezone.utc))
        _write(ics_path, text.encode("utf-8"))  # bytes: keep the CRLF line ends as they are
    result = deadline_result(resolved, today, ics_path)
    app.out.result(result, lambda: deadline_text(resolved, today, ics_path))


def _warn_about(app: AppContext, resolved: ResolvedContract, today: dt.date) -> None:
    if not resolved.paid_known:
        app.out.warn("no amount paid (--paid or contract.paid): the refund is not computed")
    if today >= resolved.contract.end:
        app.out.warn(f"the contract end {resolved.contract.end} is not after {today}; if the "
                     "contract renewed, give the current term's --start and --end")


def deadline_result(resolved: ResolvedContract, today: dt.date,
                    ics_path: Path | None) -> dict[str, Any]:
    """The ``--json`` result: dates ISO, amounts decimal strings (via the envelope)."""
    contract = resolved.contract
    now = rules.status(contract, today)
    window = rules.renewal_window(contract)
    return {
        "contract_start": contract.start,
        "contract_end": contract.end,
        "term_days": contract.term_days,
        "on": today,
        "notice_deadline": now.notice_deadline,
        "recommended_notice_date": now.recommended_notice_date,
        "renewal_window": {"start": window.start, "end": window.end},
        "status": now.kind,
        "days_until_deadline": now.days_until_deadline,
        "days_until_recommended": now.days_until_recommended,
        "renews_on": now.renews_on,
        "renewal_term_end": now.renewal_term_end,
        "refund": rules.refund(contract, today) if resolved.paid_known else None,
        "timeline": list(rules.timeline(contract, today)),
        "ics": ics_path,
    }


def deadline_text(resolved: ResolvedContract, today: dt.date, ics_path: Path | None) -> str:
    contract = resolved.contract
    now = rules.status(contract, today)
    window = rules.renewal_window(contract)
    lines = [
        f"Contract          {_day(contract.start)} to {_day(contract.end)}, "
        f"{contract.term_days} days",
        f"Today             {_day(today)}",
        "",
        _status_line(contract, now),
        "",
        f"Recommended date  {_day(now.recommended_notice_date)}, "
        f"{_relative(now.days_until_recommended)}",
        f"Notice deadline   {_day(now.notice_deadline)}, {_relative(now.days_until_deadline)}",
        f"Renewal window    {_day(window.start)} to {_day(window.end)}",
        *_weekend_note(now),
        "",
        *_refund_lines(resolved, today),
        "",
        "Timeline",
        *(f"  {m.date} {_WEEKDAYS[m.date.weekday()][:3]}  {m.label}"
          for m in rules.timeline(contract, today)),
    ]
    if ics_path is not None:
        lines += ["", f"Calendar written to {ics_path} (reminders 7 days and 1 day before "
                      "the recommended date and the deadline)."]
    return "\n".join(lines)


def _status_line(contract: Contract, now: rules.Status) -> str:
    if now.kind is StatusKind.SAFE:
        return (f"Status: safe. Give written notice by the recommended date, "
                f"{_day(now.recommended_notice_date)}; it must reach Salesforce by "
                f"{_day(now.notice_deadline)} at the latest.")
    if now.kind is StatusKind.RECOMMENDED_DATE_PASSED:
        return (f"Status: the recommended date has passed. Send written notice now: it must "
                f"reach Salesforce by {_day(now.notice_deadline)}, "
                f"{_relative(now.days_until_deadline)}.")
    renews = "renewed" if now.today >= contract.end else "renews"
    return (f"Status: the notice deadline passed {_relative(now.days_until_deadline)}. "
            f"Unless Salesforce agrees otherwise, the contract {renews} on "
            f"{_day(contract.end)} for another term, until {_day(now.renewal_term_end)}.")


def _refund_lines(resolved: ResolvedContract, today: dt.date) -> list[str]:
    if not resolved.paid_known:
        return ["Refund            not computed: give --paid AMOUNT and --currency CODE "
                "(or contract.paid and contract.currency)"]
    result = rules.refund(resolved.contract, today)
    cur = result.currency
    if result.full_refund:
        return [f"Refund if cancelled on {today}: {money(result.amount, cur)}, a full refund "
                f"(within the first {resolved.contract.refund_full_days} days, no fee)"]
    lines = [
        f"Refund if cancelled on {today}",
        f"  Amount paid     {money(result.paid, cur)}",
        f"  Days used       {result.days_used} of {result.term_days} "
        f"({result.days_unused} unused)",
        f"  Pro rata        {money(result.pro_rata, cur)} "
        f"({result.days_unused}/{result.term_days} of the amount paid)",
        f"  Fee             -{money(result.fee, cur)}{_fee_note(resolved.contract.fee)}",
        f"  Refund          {money(result.amount, cur)}",
    ]
    if result.fee > result.pro_rata:
        lines.append("  (the fee is more than the pro rata; a refund is never negative)")
    return lines


def _fee_note(fee: rules.Fee) -> str:
    return f" ({fee.value}% of the remaining value)" if fee.kind is rules.FeeKind.PERCENT else ""


def _weekend_note(now: rules.Status) -> list[str]:
    # Post and couriers do not deliver everywhere at weekends; "reach by" is what counts.
    deadline = now.notice_deadline
    if deadline.weekday() < 5 or now.days_until_deadline < 0:
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
@click.option("--effective", metavar="DATE",
              help="Requested effective date, YYYY-MM-DD (default: the contract end).")
@contract_options
@click.option("--on", "on", metavar="DATE",
              help="The day the notice is dated and sent, YYYY-MM-DD (default: today).")
@click.option("--company", metavar="NAME", help="Your company's name, as on the contract.")
@click.option("--signer", metavar="NAME", help="Who signs the letter.")
@click.option("--force", is_flag=True, help="Overwrite FILE if it exists.")
@click.option("--lang", metavar="LANG", help="Language of the letter: en, da, de, fr, it or nl "
              "[config: report.lang; default en].")
@json_option
@pass_app
def notice(app: AppContext, out_path: Path, effective: str | None, start: str | None,
           end: str | None, paid: str | None, currency: str | None, fee: str | None,
           on: str | None, company: str | None, signer: str | None, force: bool,
           lang: str | None) -> None:
    """Write the cancellation notice, ready to sign and send to Salesforce."""
    fmt = format_for_filename(out_path.name)
    letter_lang = _letter_lang(app, lang)
    resolved = resolve_contract(app, ContractFlags(start, end, paid, currency, fee))
    today = _today(on)
    effective_on = (rules.parse_date(effective, "--effective") if effective is not None
                    else resolved.contract.end)
    org = _org_identity(app)
    request = NoticeRequest(resolved.contract, today, effective_on, company, signer, org,
                            paid_known=resolved.paid_known)
    if out_path.exists() and not force:
        raise errors.UsageError(f"{out_path} already exists; pass --force to overwrite it")
    _write(out_path, render_notice(request, fmt, letter_lang).encode("utf-8"))
    now = rules.status(resolved.contract, today)
    if now.kind is StatusKind.DEADLINE_PASSED:
        app.out.warn(f"the notice deadline {now.notice_deadline} has passed: unless Salesforce "
                     f"agrees, the contract renews on {resolved.contract.end}")
    if org is None:
        app.out.info("The letter has no org id: add it by hand (Setup > Company "
                     "Information) so Salesforce can find the org.")
    result = {"path": out_path, "format": fmt, "lang": letter_lang, "effective": effective_on,
              "notice_deadline": now.notice_deadline, "status": now.kind,
              "refund": (rules.refund(resolved.contract, effective_on)
                         if resolved.paid_known else None),
              "org": org}
    app.out.result(result, _notice_text(out_path, now))


def _letter_lang(app: AppContext, lang: str | None) -> str:
    """--lang, else [report] lang from the config (validated there), else English."""
    if lang is not None:
        from sfexit.report.i18n import check_lang

        return check_lang(lang)
    return app.settings().report.lang


def _notice_text(out_path: Path, now: rules.Status) -> str:
    text = (f"Wrote the cancellation notice to {out_path}. Check it against your order form "
            "and sign it")
    if now.kind is StatusKind.DEADLINE_PASSED:
        return f"{text}; the deadline has passed, so send it now and ask Salesforce to agree."
    return f"{text}; it must reach Salesforce by {_day(now.notice_deadline)}."


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
