"""Contract dates and money: notice deadline, renewal, refund, and the plan for leaving.
Pure: today is a parameter.

The rules come from the cancellation guidance we follow (issue 4, "The rules"). Each number is a
named constant below; a contract in the config can override it.

Day-counting conventions (one place, used everywhere; issue 20, "one model, stated once"):

* ``start`` and ``end`` are the order form's Start Date and End Date, **both included**: the
  term covers ``start <= day <= end`` and lasts ``(end - start).days + 1`` calendar days, leap
  days included (2024-01-01..2024-12-31 is 366 days). A renewal term begins on ``end + 1``.
* The start day is **day 1**. Cancelling on day N (``start + N - 1``) counts N days as used: the
  service was there on the cancellation day. Days 1..30 get the full refund, day 31 does not.
  (2024-01-01..2024-12-31, 36,600 paid, effective 2024-07-01: 183 of 366 days unused, 18,300.00.)
* Notice on the deadline day (``end - 30``) is in time; the day after is not.

Two ways of leaving, never mixed (``Leave``): not renewing (notice by the deadline, the contract
runs to its end, no refund) or an early termination effective on a chosen day (pro-rata refund
of the unused days minus the fee). ``plan`` computes both and the person's checklist for the
chosen one; ``sfexit deadline``, ``notice``, the offboard run and its report all read it.
"""

from __future__ import annotations

import calendar
import dataclasses
import datetime as dt
import decimal
import enum
import re
from decimal import Decimal

from sfexit.errors import UsageError

# Written notice must reach Salesforce at least this many days before the end (issue 4, rule 1).
NOTICE_DAYS = 30
# The guidance recommends giving notice this many days before the end (issue 4, rule 2).
RECOMMENDED_NOTICE_DAYS = 60
# Cancelling within this many days of the service start refunds everything, no fee (rule 4).
REFUND_FULL_DAYS = 30
# Renewals are triggered in the last this-many days of the term (issue 4, rule 3).
RENEWAL_WINDOW_DAYS = 30

# ISO 4217 minor units that differ from the usual 2 (ISO 4217 list one, "Minor unit").
# XXX is ISO's code for "no currency involved": used when no amount paid is known.
MINOR_UNITS: dict[str, int] = {
    "JPY": 0, "KRW": 0, "XXX": 0,
    "BHD": 3, "KWD": 3, "JOD": 3, "OMR": 3, "TND": 3,
}
DEFAULT_MINOR_UNIT = 2
NO_CURRENCY = "XXX"

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_AMOUNT = re.compile(r"-?\d+(\.\d+)?")
_CURRENCY = re.compile(r"[A-Z]{3}")


class FeeKind(enum.Enum):
    ABSOLUTE = "absolute"
    PERCENT = "percent"  # percent of the remaining (unused, pro rata) value


@dataclasses.dataclass(frozen=True)
class Fee:
    """An early-termination fee: an amount in the contract currency, or a percentage."""

    kind: FeeKind
    value: Decimal

    def __str__(self) -> str:
        return f"{self.value}%" if self.kind is FeeKind.PERCENT else str(self.value)


NO_FEE = Fee(FeeKind.ABSOLUTE, Decimal(0))


def minor_unit(currency: str) -> int:
    return MINOR_UNITS.get(currency, DEFAULT_MINOR_UNIT)


def round_money(amount: Decimal, currency: str) -> Decimal:
    """Round half-up to the currency's minor unit (the guidance: never banker's rounding)."""
    unit = Decimal(1).scaleb(-minor_unit(currency))
    return amount.quantize(unit, rounding=decimal.ROUND_HALF_UP)


@dataclasses.dataclass(frozen=True)
class Contract:
    """One Salesforce contract term. Validated on construction.

    Raises:
        UsageError: end not after start, a negative or over-precise amount, a percentage fee
            outside 0..100, a currency that is not three capital letters, a day count below 1.
        (``end == start`` is a one-day term.)
    """

    start: dt.date
    end: dt.date
    paid: Decimal
    currency: str
    fee: Fee = NO_FEE
    notice_days: int = NOTICE_DAYS
    recommended_notice_days: int = RECOMMENDED_NOTICE_DAYS
    refund_full_days: int = REFUND_FULL_DAYS
    renewal_window_days: int = RENEWAL_WINDOW_DAYS

    def __post_init__(self) -> None:
        if self.end < self.start:
            raise UsageError(f"contract end {self.end} must not be before its start "
                             f"{self.start}")
        if not _CURRENCY.fullmatch(self.currency):
            raise UsageError(f"currency {self.currency!r} is not an ISO 4217 code "
                             "(three capital letters, e.g. USD)")
        # Frozen, so normalise through object.__setattr__: "12000" becomes 12000.00 for USD.
        object.__setattr__(self, "paid", self._money("amount paid", self.paid))
        self._check_fee()
        for name in ("notice_days", "recommended_notice_days", "refund_full_days",
                     "renewal_window_days"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise UsageError(f"{name} must be a whole number of days, 1 or more, "
                                 f"not {value!r}")

    def _money(self, what: str, amount: Decimal) -> Decimal:
        if not amount.is_finite() or amount < 0:
            raise UsageError(f"{what} {amount} must be 0 or more")
        rounded = round_money(amount, self.currency)
        if rounded != amount:
            raise UsageError(f"{what} {amount} has more decimals than {self.currency} allows "
                             f"({minor_unit(self.currency)})")
        return rounded

    def _check_fee(self) -> None:
        if self.fee.kind is FeeKind.ABSOLUTE:
            fee = Fee(FeeKind.ABSOLUTE, self._money("early-termination fee", self.fee.value))
            object.__setattr__(self, "fee", fee)
        elif not (self.fee.value.is_finite() and 0 <= self.fee.value <= 100):
            raise UsageError(f"percentage fee {self.fee.value}% must be between 0% and 100%")

    @property
    def term_days(self) -> int:
        """Calendar days in the term, leap days included, both ends included."""
        return (self.end - self.start).days + 1

    @property
    def renews_on(self) -> dt.date:
        """The first day of a renewal term: the day after the last day."""
        return self.end + dt.timedelta(days=1)


# --- dates -----------------------------------------------------------------------------------

def notice_deadline(contract: Contract) -> dt.date:
    """The last day written notice can reach Salesforce in time (that day itself is in time)."""
    return contract.end - dt.timedelta(days=contract.notice_days)


def recommended_notice_date(contract: Contract) -> dt.date:
    return contract.end - dt.timedelta(days=contract.recommended_notice_days)


@dataclasses.dataclass(frozen=True)
class DateRange:
    start: dt.date
    end: dt.date


def renewal_window(contract: Contract) -> DateRange:
    """The last days of the term, when the renewal is triggered (both ends included)."""
    return DateRange(contract.end - dt.timedelta(days=contract.renewal_window_days), contract.end)


def full_refund_last_day(contract: Contract) -> dt.date:
    """Day ``refund_full_days`` of the term, counting the start as day 1."""
    return contract.start + dt.timedelta(days=contract.refund_full_days - 1)


def renewal_term_end(contract: Contract) -> dt.date:
    """The last day of the next term, if the contract renews on ``end + 1`` for the same length.

    A term of whole calendar months (how order forms state it: "12 months") renews for the
    same number of months, so 2024-01-01..2024-12-31 renews until 2025-12-31, not for 366 days
    to 2026-01-01. Any other term renews for the same number of days.
    """
    start, after = contract.start, contract.renews_on
    months = (after.year - start.year) * 12 + after.month - start.month
    if months > 0 and _add_months(start, months) == after:
        # Anchored on the start so month-end clamping does not drift (Jan 31 -> Feb 29 -> Mar 31).
        return _add_months(start, 2 * months) - dt.timedelta(days=1)
    return contract.end + dt.timedelta(days=contract.term_days)


def next_term(contract: Contract) -> Contract:
    """The renewal term (same amount, fee and day counts), for planning its own deadline."""
    return dataclasses.replace(contract, start=contract.renews_on,
                               end=renewal_term_end(contract))


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last_day = calendar.monthrange(year, month + 1)[1]
    return dt.date(year, month + 1, min(day.day, last_day))


# --- status ----------------------------------------------------------------------------------

class StatusKind(enum.Enum):
    SAFE = "safe"
    RECOMMENDED_DATE_PASSED = "recommended-date-passed"
    DEADLINE_PASSED = "deadline-passed"


@dataclasses.dataclass(frozen=True)
class Status:
    """Where a contract stands on ``today``. ``renews_on`` (the first day of the renewal term)
    and ``renewal_term_end`` only once the deadline has passed."""

    kind: StatusKind
    today: dt.date
    notice_deadline: dt.date
    recommended_notice_date: dt.date
    days_until_deadline: int  # negative once the deadline has passed
    days_until_recommended: int
    renews_on: dt.date | None
    renewal_term_end: dt.date | None


def status(contract: Contract, today: dt.date) -> Status:
    """Safe until the recommended date has passed; late after the notice deadline."""
    deadline = notice_deadline(contract)
    recommended = recommended_notice_date(contract)
    if today > deadline:
        kind = StatusKind.DEADLINE_PASSED
    elif today > recommended:
        kind = StatusKind.RECOMMENDED_DATE_PASSED
    else:
        kind = StatusKind.SAFE
    passed = kind is StatusKind.DEADLINE_PASSED
    return Status(
        kind=kind, today=today, notice_deadline=deadline, recommended_notice_date=recommended,
        days_until_deadline=(deadline - today).days,
        days_until_recommended=(recommended - today).days,
        renews_on=contract.renews_on if passed else None,
        renewal_term_end=renewal_term_end(contract) if passed else None,
    )


# --- refund ----------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Refund:
    """The refund for cancelling on ``cancel_on``, with the working shown.

    ``fee`` is the contract's fee as it applies (for a percentage: of ``pro_rata``); it is 0 for
    a full refund. ``amount`` is ``pro_rata - fee`` clamped to ``[0, paid]``.
    """

    cancel_on: dt.date
    currency: str
    paid: Decimal
    term_days: int
    days_used: int
    days_unused: int
    pro_rata: Decimal
    fee: Decimal
    amount: Decimal
    full_refund: bool


def refund(contract: Contract, cancel_on: dt.date) -> Refund:
    """The refund for a cancellation taking effect on ``cancel_on`` (see the module conventions).

    Days 1..refund_full_days (start = day 1, also any day before the start) give everything back
    with no fee. Later, the refund is unused/term x paid, minus the fee, never below 0 or above
    paid. On or after the end nothing is unused.
    """
    term = contract.term_days
    used = min(max((cancel_on - contract.start).days + 1, 0), term)
    unused = term - used
    currency = contract.currency
    if cancel_on <= full_refund_last_day(contract):
        return Refund(cancel_on, currency, contract.paid, term, used, unused,
                      pro_rata=contract.paid, fee=round_money(Decimal(0), currency),
                      amount=contract.paid, full_refund=True)
    with decimal.localcontext() as ctx:
        ctx.prec = 50  # exact enough for any amount before the single rounding to minor units
        pro_rata = round_money(contract.paid * unused / term, currency)
    fee = _fee_amount(contract.fee, pro_rata, currency)
    amount = min(max(pro_rata - fee, Decimal(0)), contract.paid)
    return Refund(cancel_on, currency, contract.paid, term, used, unused, pro_rata, fee,
                  round_money(amount, currency), full_refund=False)


def _fee_amount(fee: Fee, pro_rata: Decimal, currency: str) -> Decimal:
    if fee.kind is FeeKind.PERCENT:
        return round_money(pro_rata * fee.value / 100, currency)
    return round_money(fee.value, currency)


# --- timeline --------------------------------------------------------------------------------

class MilestoneKind(enum.Enum):
    # Declaration order breaks ties between milestones on the same day.
    START = "start"
    FULL_REFUND_END = "full-refund-end"
    RECOMMENDED_NOTICE = "recommended-notice"
    NOTICE_DEADLINE = "notice-deadline"
    RENEWAL_WINDOW_START = "renewal-window-start"
    TODAY = "today"
    EFFECTIVE = "effective"
    END = "end"
    RENEWAL_TERM_END = "renewal-term-end"


@dataclasses.dataclass(frozen=True)
class Milestone:
    date: dt.date
    kind: MilestoneKind
    label: str


def timeline(contract: Contract, today: dt.date,
             effective: dt.date | None = None) -> tuple[Milestone, ...]:
    """Dated milestones in order, for the report. The renewed term only once it is certain;
    ``effective``, an early termination's effective day, when one is planned."""
    now = status(contract, today)
    end_label = (f"Last day of the term; the contract renews on {contract.renews_on}"
                 if now.renews_on else "Last day of the term (the contract renews the next day "
                 "unless notice was given in time)")
    items = [
        Milestone(contract.start, MilestoneKind.START, "Contract starts"),
        Milestone(full_refund_last_day(contract), MilestoneKind.FULL_REFUND_END,
                  "Last day to cancel with a full refund"),
        Milestone(now.recommended_notice_date, MilestoneKind.RECOMMENDED_NOTICE,
                  "Recommended date to give notice"),
        Milestone(now.notice_deadline, MilestoneKind.NOTICE_DEADLINE,
                  "Notice deadline: written notice must reach Salesforce by this day"),
        Milestone(renewal_window(contract).start, MilestoneKind.RENEWAL_WINDOW_START,
                  "Renewal window opens"),
        Milestone(today, MilestoneKind.TODAY, "Today"),
        Milestone(contract.end, MilestoneKind.END, end_label),
    ]
    if effective is not None:
        items.append(Milestone(effective, MilestoneKind.EFFECTIVE,
                               "Early termination takes effect"))
    if now.renewal_term_end is not None:
        items.append(Milestone(now.renewal_term_end, MilestoneKind.RENEWAL_TERM_END,
                               "Renewed term ends"))
    order = list(MilestoneKind)
    return tuple(sorted(items, key=lambda m: (m.date, order.index(m.kind))))


# --- the plan: how the company leaves, and what the person must do by when --------------------

# The person checks the first invoice and the refund this many days after the contract ends.
CHECK_AFTER_DAYS = 30


class Leave(enum.Enum):
    END_OF_TERM = "end-of-term"   # notice by the deadline, runs to its end, no refund
    EARLY = "early"               # terminated on a chosen day, pro-rata refund minus the fee


class Task(enum.Enum):
    # Declaration order breaks ties between checklist items due on the same day.
    NOTICE = "notice"              # send the written notice
    BILLING = "billing"            # cancel the renewal in the billing portal
    CONFIRMATION = "confirmation"  # keep Salesforce's written confirmation
    INVOICE = "invoice"            # check the first invoice after the end
    REFUND = "refund"              # confirm the refund arrived (only when one is due)


@dataclasses.dataclass(frozen=True)
class ChecklistItem:
    """One thing no API can do, with the day it is due. ``days_late`` > 0: overdue on ``on``.
    ``next_term``: planned for the renewal term, the current term's deadline having passed."""

    task: Task
    due: dt.date
    days_late: int
    next_term: bool = False
    amount: Decimal | None = None
    currency: str | None = None


@dataclasses.dataclass(frozen=True)
class EndOfTerm:
    """Leaving by not renewing. ``in_time`` False: the deadline passed, so the contract renews
    on ``renews_on`` until ``renewal_term_end`` and ``next_term_notice_deadline`` is the one
    to plan for."""

    notice_deadline: dt.date
    recommended_notice_date: dt.date
    last_day: dt.date
    renews_on: dt.date
    in_time: bool
    renewal_term_end: dt.date
    next_term_notice_deadline: dt.date | None
    next_term_recommended_notice_date: dt.date | None


@dataclasses.dataclass(frozen=True)
class EarlyTermination:
    """Leaving on ``effective``; ``refund`` None when the amount paid is not known."""

    effective: dt.date
    refund: Refund | None


@dataclasses.dataclass(frozen=True)
class ContractPlan:
    """The one computed plan: dates as of ``on``, both ways of leaving, the chosen one's
    checklist. Its JSON (``sfexit deadline --json``, run.json) keeps the earlier field names;
    ``refund`` is the early-termination figure for ``on``."""

    contract: Contract
    paid_known: bool
    leave: Leave
    on: dt.date
    contract_start: dt.date
    contract_end: dt.date
    term_days: int
    notice_deadline: dt.date
    recommended_notice_date: dt.date
    renewal_window: DateRange
    status: StatusKind
    days_until_deadline: int
    days_until_recommended: int
    renews_on: dt.date | None
    renewal_term_end: dt.date | None
    refund: Refund | None
    end_of_term: EndOfTerm
    early: EarlyTermination
    checklist: tuple[ChecklistItem, ...]
    timeline: tuple[Milestone, ...]

    @property
    def chosen_refund(self) -> Refund | None:
        """The refund the chosen way gives: None for end-of-term or an unknown amount."""
        return self.early.refund if self.leave is Leave.EARLY else None


def plan(contract: Contract, today: dt.date, *, leave: Leave = Leave.END_OF_TERM,
         effective: dt.date | None = None, paid_known: bool = True) -> ContractPlan:
    """Both ways of leaving as of ``today`` and the checklist for ``leave``.

    ``effective`` is the early termination's effective day (default: ``today``, the figure
    ``sfexit deadline`` shows beside the end-of-term plan).

    Raises:
        UsageError: ``effective`` with ``leave`` end-of-term (the two are never mixed), or an
            effective day outside the term.
    """
    if effective is not None:
        if leave is Leave.END_OF_TERM:
            raise UsageError("an effective date is for an early termination: set leave = "
                             "\"early\" (or --leave early), or drop the effective date")
        if not contract.start <= effective <= contract.end:
            raise UsageError(f"effective date {effective} is outside the term {contract.start} "
                             f"to {contract.end}; an early termination ends the current term")
    now = status(contract, today)
    early_day = effective if effective is not None else today
    early = EarlyTermination(early_day, refund(contract, early_day) if paid_known else None)
    eot = _end_of_term(contract, now)
    items = (_early_checklist(early, today) if leave is Leave.EARLY
             else _end_of_term_checklist(contract, eot, today))
    return ContractPlan(
        contract=contract, paid_known=paid_known, leave=leave, on=today,
        contract_start=contract.start, contract_end=contract.end, term_days=contract.term_days,
        notice_deadline=now.notice_deadline,
        recommended_notice_date=now.recommended_notice_date,
        renewal_window=renewal_window(contract), status=now.kind,
        days_until_deadline=now.days_until_deadline,
        days_until_recommended=now.days_until_recommended, renews_on=now.renews_on,
        renewal_term_end=now.renewal_term_end,
        refund=refund(contract, today) if paid_known else None, end_of_term=eot, early=early,
        checklist=items,
        timeline=timeline(contract, today, effective if leave is Leave.EARLY else None))


def _end_of_term(contract: Contract, now: Status) -> EndOfTerm:
    in_time = now.kind is not StatusKind.DEADLINE_PASSED
    following = None if in_time else next_term(contract)
    return EndOfTerm(
        notice_deadline=now.notice_deadline, recommended_notice_date=now.recommended_notice_date,
        last_day=contract.end, renews_on=contract.renews_on, in_time=in_time,
        renewal_term_end=renewal_term_end(contract),
        next_term_notice_deadline=notice_deadline(following) if following else None,
        next_term_recommended_notice_date=(recommended_notice_date(following)
                                           if following else None))


def _item(task: Task, due: dt.date, today: dt.date, *, next_term: bool = False,
          amount: Decimal | None = None, currency: str | None = None) -> ChecklistItem:
    return ChecklistItem(task, due, max((today - due).days, 0), next_term, amount, currency)


def _after(day: dt.date) -> dt.date:
    return day + dt.timedelta(days=CHECK_AFTER_DAYS)


def _sorted(items: list[ChecklistItem]) -> tuple[ChecklistItem, ...]:
    order = list(Task)
    return tuple(sorted(items, key=lambda i: (i.due, i.next_term, order.index(i.task))))


def _end_of_term_checklist(contract: Contract, eot: EndOfTerm,
                           today: dt.date) -> tuple[ChecklistItem, ...]:
    """Notice by the recommended date while it is ahead, then by the deadline. Once the
    deadline has passed, the late notice stays on the list (Salesforce may still agree) and
    the rest is planned for the renewal term."""
    if eot.in_time:
        notice_by = (eot.recommended_notice_date if today <= eot.recommended_notice_date
                     else eot.notice_deadline)
        return _sorted([_item(Task.NOTICE, notice_by, today),
                        _item(Task.BILLING, eot.notice_deadline, today),
                        _item(Task.CONFIRMATION, contract.end, today),
                        _item(Task.INVOICE, _after(contract.end), today)])
    following = next_term(contract)
    deadline, recommended = notice_deadline(following), recommended_notice_date(following)
    notice_by = recommended if today <= recommended else deadline
    return _sorted([_item(Task.NOTICE, eot.notice_deadline, today),
                    _item(Task.NOTICE, notice_by, today, next_term=True),
                    _item(Task.BILLING, deadline, today, next_term=True),
                    _item(Task.CONFIRMATION, following.end, today, next_term=True),
                    _item(Task.INVOICE, _after(following.end), today, next_term=True)])


def _early_checklist(early: EarlyTermination, today: dt.date) -> tuple[ChecklistItem, ...]:
    """Everything by the effective day; the refund item only when a refund is due."""
    day = early.effective
    items = [_item(Task.NOTICE, day, today), _item(Task.BILLING, day, today),
             _item(Task.CONFIRMATION, day, today), _item(Task.INVOICE, _after(day), today)]
    r = early.refund
    if r is not None and r.amount > 0:
        items.append(_item(Task.REFUND, _after(day), today, amount=r.amount,
                           currency=r.currency))
    return _sorted(items)


def parse_leave(text: str, field: str) -> Leave:
    """``end-of-term`` or ``early``. Raises UsageError naming ``field``."""
    try:
        return Leave(text.strip().lower())
    except ValueError:
        raise UsageError(f"{field}: {text!r} is not a way of leaving; use \"end-of-term\" "
                         "(notice by the deadline, no refund) or \"early\" (with an effective "
                         "date, pro-rata refund)") from None


# --- parsing for the CLI and config (one-line errors naming where the value came from) --------

def parse_date(text: str, field: str) -> dt.date:
    """An ISO ``YYYY-MM-DD`` date. Raises UsageError naming ``field`` (e.g. ``--end``)."""
    value = text.strip()
    try:
        if _ISO_DATE.fullmatch(value):
            return dt.date.fromisoformat(value)
    except ValueError:
        pass
    raise UsageError(f"{field}: {text!r} is not a date; use YYYY-MM-DD, e.g. 2025-01-31")


def parse_money(text: str, field: str) -> Decimal:
    """A non-negative decimal amount such as ``12000`` or ``12000.00`` (no separators)."""
    value = text.strip()
    if not _AMOUNT.fullmatch(value):
        raise UsageError(f"{field}: {text!r} is not an amount; use digits and an optional "
                         "decimal point, e.g. 12000.00")
    amount = Decimal(value)
    if amount < 0:
        raise UsageError(f"{field}: {value} is negative; an amount must be 0 or more")
    return amount


def parse_fee(text: str, field: str) -> Fee:
    """``500`` or ``500.00`` (an amount) or ``10%`` (of the remaining value), 0..100 %."""
    value = text.strip()
    if value.endswith("%") and _AMOUNT.fullmatch(value[:-1].strip()):
        percent = Decimal(value[:-1].strip())
        if not 0 <= percent <= 100:
            raise UsageError(f"{field}: {value} is not between 0% and 100%")
        return Fee(FeeKind.PERCENT, percent)
    if _AMOUNT.fullmatch(value):
        return Fee(FeeKind.ABSOLUTE, parse_money(value, field))
    raise UsageError(f"{field}: {text!r} is not a fee; use an amount like 500.00 "
                     "or a percentage like 10%")


def parse_currency(text: str, field: str) -> str:
    """An ISO 4217 code; lower case is accepted and upper-cased."""
    code = text.strip().upper()
    if not _CURRENCY.fullmatch(code):
        raise UsageError(f"{field}: {text!r} is not a currency code; use three letters, "
                         "e.g. USD or EUR")
    return code
