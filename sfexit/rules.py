"""Contract dates and money: notice deadline, renewal window, refund. Pure: today is a parameter.

The rules come from the cancellation guidance we follow (issue 4, "The rules"). Each number is a
named constant below; a contract in the config can override it.

Day-counting conventions (one place, used everywhere):

* ``start`` is the first day of service and ``end`` is the day the term ends, which is also the
  day a renewal term would begin: the term covers ``start <= day < end`` and lasts
  ``(end - start).days`` calendar days, leap days included (2024-01-01..2025-01-01 is 366 days).
  If someone enters the last day of service as ``end`` instead, every deadline comes out one day
  earlier: the safe direction.
* The start day is **day 1**. Cancelling on day N (``start + N - 1``) counts N days as used: the
  service was there on the cancellation day. Days 1..30 get the full refund, day 31 does not.
* Notice on the deadline day (``end - 30``) is in time; the day after is not.
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
        if self.end <= self.start:
            raise UsageError(f"contract end {self.end} must be after its start {self.start}")
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
        """Calendar days in the term, leap days included (end exclusive)."""
        return (self.end - self.start).days


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
    """Where the next term ends if the contract renews on ``end`` for a term of the same length.

    A term of whole calendar months (how order forms state it: "12 months") renews for the
    same number of months, so 2024-01-01..2025-01-01 renews until 2026-01-01, not a 366-day
    term to 2026-01-02. Any other term renews for the same number of days.
    """
    start, end = contract.start, contract.end
    months = (end.year - start.year) * 12 + end.month - start.month
    if months > 0 and _add_months(start, months) == end:
        # Anchored on the start so month-end clamping does not drift (Jan 31 -> Feb 29 -> Mar 31).
        return _add_months(start, 2 * months)
    return end + dt.timedelta(days=contract.term_days)


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
    """Where a contract stands on ``today``. ``renews_on``/``renewal_term_end`` only when passed."""

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
        renews_on=contract.end if passed else None,
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
    END = "end"
    RENEWAL_TERM_END = "renewal-term-end"


@dataclasses.dataclass(frozen=True)
class Milestone:
    date: dt.date
    kind: MilestoneKind
    label: str


def timeline(contract: Contract, today: dt.date) -> tuple[Milestone, ...]:
    """Dated milestones in order, for the report. The renewed term only once it is certain."""
    now = status(contract, today)
    end_label = ("Contract renews for another term" if now.renews_on
                 else "Contract ends (renews if notice was not given in time)")
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
    if now.renewal_term_end is not None:
        items.append(Milestone(now.renewal_term_end, MilestoneKind.RENEWAL_TERM_END,
                               "Renewed term ends"))
    order = list(MilestoneKind)
    return tuple(sorted(items, key=lambda m: (m.date, order.index(m.kind))))


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
