"""Worked examples for the contract rules: dates, status, refund, timeline, parsing."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from sfexit import rules
from sfexit.errors import UsageError
from sfexit.rules import Contract, Fee, FeeKind, MilestoneKind, StatusKind

D = dt.date


def contract(start: dt.date = D(2025, 1, 1), end: dt.date = D(2025, 12, 31),
             paid: str = "36500.00", currency: str = "USD", fee: Fee = rules.NO_FEE,
             **days: int) -> Contract:
    return Contract(start, end, Decimal(paid), currency, fee, **days)


# --- term length ------------------------------------------------------------------------------

def test_leap_year_term_counts_366_days_both_ends_included() -> None:
    assert contract(D(2024, 1, 1), D(2024, 12, 31)).term_days == 366


def test_ordinary_year_term_counts_365_days() -> None:
    # The order form's example: Start 2025-03-01, End 2026-02-28 is a 365-day term.
    assert contract(D(2025, 3, 1), D(2026, 2, 28)).term_days == 365
    assert contract().term_days == 365


def test_term_across_feb_29_counts_the_leap_day() -> None:
    assert contract(D(2024, 2, 28), D(2024, 3, 1)).term_days == 3


def test_a_one_day_term_is_valid() -> None:
    assert contract(D(2025, 1, 1), D(2025, 1, 1)).term_days == 1


def test_renewal_begins_the_day_after_the_end() -> None:
    assert contract().renews_on == D(2026, 1, 1)


# --- deadlines ---------------------------------------------------------------------------------

def test_notice_deadline_is_30_days_before_end() -> None:
    assert rules.notice_deadline(contract()) == D(2025, 12, 1)


def test_recommended_notice_date_is_60_days_before_end() -> None:
    assert rules.recommended_notice_date(contract()) == D(2025, 11, 1)


def test_deadline_across_a_leap_february() -> None:
    assert rules.notice_deadline(contract(D(2023, 3, 15), D(2024, 3, 14))) == D(2024, 2, 13)


def test_renewal_window_is_the_last_30_days_including_the_end() -> None:
    window = rules.renewal_window(contract())
    assert (window.start, window.end) == (D(2025, 12, 1), D(2025, 12, 31))


def test_day_counts_can_be_overridden() -> None:
    c = contract(notice_days=90, recommended_notice_days=120, renewal_window_days=45)
    assert rules.notice_deadline(c) == D(2025, 10, 2)
    assert rules.recommended_notice_date(c) == D(2025, 9, 2)
    assert rules.renewal_window(c).start == D(2025, 11, 16)


def test_default_day_counts_are_the_named_constants() -> None:
    c = contract()
    assert (c.notice_days, c.recommended_notice_days, c.refund_full_days,
            c.renewal_window_days) == (rules.NOTICE_DAYS, rules.RECOMMENDED_NOTICE_DAYS,
                                       rules.REFUND_FULL_DAYS, rules.RENEWAL_WINDOW_DAYS)
    assert (rules.NOTICE_DAYS, rules.RECOMMENDED_NOTICE_DAYS, rules.REFUND_FULL_DAYS,
            rules.RENEWAL_WINDOW_DAYS) == (30, 60, 30, 30)


# --- status ------------------------------------------------------------------------------------

def test_safe_on_the_recommended_date() -> None:
    now = rules.status(contract(), D(2025, 11, 1))
    assert now.kind is StatusKind.SAFE
    assert now.days_until_recommended == 0
    assert now.days_until_deadline == 30
    assert now.renews_on is None and now.renewal_term_end is None


def test_recommended_date_passed_the_day_after() -> None:
    now = rules.status(contract(), D(2025, 11, 2))
    assert now.kind is StatusKind.RECOMMENDED_DATE_PASSED
    assert now.days_until_recommended == -1


def test_notice_on_the_deadline_is_in_time() -> None:
    now = rules.status(contract(), D(2025, 12, 1))
    assert now.kind is StatusKind.RECOMMENDED_DATE_PASSED
    assert now.days_until_deadline == 0
    assert now.renews_on is None


def test_notice_the_day_after_the_deadline_is_late_and_states_the_renewal() -> None:
    now = rules.status(contract(), D(2025, 12, 2))
    assert now.kind is StatusKind.DEADLINE_PASSED
    assert now.days_until_deadline == -1
    assert now.renews_on == D(2026, 1, 1)
    assert now.renewal_term_end == D(2026, 12, 31)


def test_status_kinds_have_the_documented_names() -> None:
    assert [k.value for k in StatusKind] == ["safe", "recommended-date-passed",
                                             "deadline-passed"]


# --- renewal -----------------------------------------------------------------------------------

def test_twelve_month_leap_term_renews_for_twelve_months() -> None:
    # 366 days, but a 12-month term: renews 2025-01-01 to 2025-12-31, not for 366 days.
    assert rules.renewal_term_end(contract(D(2024, 1, 1), D(2024, 12, 31))) == D(2025, 12, 31)


def test_term_from_feb_29_renews_for_twelve_months() -> None:
    # Feb 29 + 12 months = 2025-02-28 (clamped): the term's last day is the day before.
    assert rules.renewal_term_end(contract(D(2024, 2, 29), D(2025, 2, 27))) == D(2026, 2, 27)


def test_month_end_term_does_not_drift() -> None:
    # Jan 31 + 1 month = Feb 29 (clamped); the next month is to Mar 31 (last day Mar 30).
    assert rules.renewal_term_end(contract(D(2024, 1, 31), D(2024, 2, 28))) == D(2024, 3, 30)


def test_term_of_odd_days_renews_for_the_same_number_of_days() -> None:
    c = contract(D(2025, 1, 1), D(2025, 4, 14))
    assert c.term_days == 104
    assert rules.renewal_term_end(c) == D(2025, 4, 14) + dt.timedelta(days=104)


# --- refund ------------------------------------------------------------------------------------

def test_cancel_on_day_30_is_a_full_refund_without_fee() -> None:
    result = rules.refund(contract(fee=Fee(FeeKind.ABSOLUTE, Decimal(500))), D(2025, 1, 30))
    assert result.full_refund
    assert result.days_used == 30
    assert result.amount == Decimal("36500.00")
    assert result.fee == Decimal("0.00")


def test_cancel_on_day_31_is_pro_rata() -> None:
    result = rules.refund(contract(), D(2025, 1, 31))
    assert not result.full_refund
    assert (result.days_used, result.days_unused, result.term_days) == (31, 334, 365)
    assert result.pro_rata == Decimal("33400.00")
    assert result.amount == Decimal("33400.00")


def test_start_day_is_day_one() -> None:
    result = rules.refund(contract(), D(2025, 1, 1))
    assert result.days_used == 1 and result.full_refund
    assert rules.full_refund_last_day(contract()) == D(2025, 1, 30)


def test_absolute_fee_is_subtracted() -> None:
    c = contract(fee=Fee(FeeKind.ABSOLUTE, Decimal("500")))
    result = rules.refund(c, D(2025, 1, 31))
    assert (result.pro_rata, result.fee, result.amount) == (
        Decimal("33400.00"), Decimal("500.00"), Decimal("32900.00"))


def test_percentage_fee_is_of_the_remaining_value() -> None:
    c = contract(fee=Fee(FeeKind.PERCENT, Decimal("10")))
    result = rules.refund(c, D(2025, 1, 31))
    assert (result.fee, result.amount) == (Decimal("3340.00"), Decimal("30060.00"))


def test_fee_larger_than_the_pro_rata_gives_zero_not_negative() -> None:
    c = contract(fee=Fee(FeeKind.ABSOLUTE, Decimal("500")))
    result = rules.refund(c, D(2025, 12, 30))  # day 364 of 365, 1 unused: pro rata 100.00
    assert result.pro_rata == Decimal("100.00")
    assert result.amount == Decimal("0.00")


def test_cancelling_on_the_last_day_of_the_term_leaves_nothing_unused() -> None:
    # The end (2025-12-31) is in the term: day 365, counted as used.
    assert rules.refund(contract(), D(2025, 12, 30)).days_unused == 1
    assert rules.refund(contract(), D(2025, 12, 31)).days_unused == 0


def test_cancel_on_or_after_the_end_refunds_nothing() -> None:
    for day in (D(2026, 1, 1), D(2027, 6, 1)):
        result = rules.refund(contract(), day)
        assert (result.days_used, result.days_unused, result.amount) == (365, 0, Decimal("0.00"))


def test_cancel_before_the_start_is_a_full_refund() -> None:
    result = rules.refund(contract(), D(2024, 12, 1))
    assert result.full_refund and result.days_used == 0


def test_leap_year_contract_cancelled_effective_july_first_refunds_half() -> None:
    # Issue 20's example: 2024-01-01..2024-12-31 paid 36,600, effective 2024-07-01 (day 183,
    # used): 183 of 366 days unused, 18,300.00.
    c = contract(D(2024, 1, 1), D(2024, 12, 31), paid="36600.00")
    result = rules.refund(c, D(2024, 7, 1))
    assert (result.days_used, result.days_unused, result.term_days) == (183, 183, 366)
    assert result.amount == Decimal("18300.00")


def test_leap_year_pro_rata_divides_by_366() -> None:
    c = contract(D(2024, 1, 1), D(2024, 12, 31), paid="36600.00")
    result = rules.refund(c, D(2024, 12, 1))  # day 336: 30 unused days
    assert (result.days_unused, result.term_days, result.amount) == (30, 366,
                                                                   Decimal("3000.00"))


def test_rounding_is_half_up_not_bankers() -> None:
    c = contract(D(2025, 1, 1), D(2025, 1, 8), paid="1.00", refund_full_days=1)
    assert rules.refund(c, D(2025, 1, 7)).amount == Decimal("0.13")  # 0.125


@pytest.mark.parametrize(("currency", "paid", "expected"), [
    ("JPY", "1001", Decimal("501")),       # 500.5 yen
    ("KWD", "1.001", Decimal("0.501")),    # 0.5005 dinar
    ("EUR", "10.01", Decimal("5.01")),     # 5.005 euro
])
def test_refund_rounds_to_the_currency_minor_unit(currency: str, paid: str,
                                                   expected: Decimal) -> None:
    c = contract(D(2025, 1, 1), D(2025, 1, 4), paid=paid, currency=currency, refund_full_days=1)
    assert rules.refund(c, D(2025, 1, 2)).amount == expected


def test_paid_is_normalised_to_minor_units() -> None:
    assert str(contract(paid="12000").paid) == "12000.00"
    assert str(contract(paid="12000", currency="JPY").paid) == "12000"


# --- validation --------------------------------------------------------------------------------

@pytest.mark.parametrize(("kwargs", "message"), [
    ({"end": D(2024, 12, 31)},
     "contract end 2024-12-31 must not be before its start 2025-01-01"),
    ({"end": D(2024, 6, 1)}, "contract end 2024-06-01 must not be before its start 2025-01-01"),
    ({"paid": "-1"}, "amount paid -1 must be 0 or more"),
    ({"paid": "100.005"}, "amount paid 100.005 has more decimals than USD allows (2)"),
    ({"paid": "100.5", "currency": "JPY"},
     "amount paid 100.5 has more decimals than JPY allows (0)"),
    ({"currency": "usd"},
     "currency 'usd' is not an ISO 4217 code (three capital letters, e.g. USD)"),
    ({"currency": "US"}, "currency 'US' is not an ISO 4217 code (three capital letters, e.g. USD)"),
    ({"fee": Fee(FeeKind.ABSOLUTE, Decimal(-5))}, "early-termination fee -5 must be 0 or more"),
    ({"fee": Fee(FeeKind.PERCENT, Decimal(150))},
     "percentage fee 150% must be between 0% and 100%"),
    ({"notice_days": 0}, "notice_days must be a whole number of days, 1 or more, not 0"),
    ({"refund_full_days": -3},
     "refund_full_days must be a whole number of days, 1 or more, not -3"),
])
def test_invalid_contract_is_one_clear_line(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(UsageError) as caught:
        contract(**kwargs)  # type: ignore[arg-type]
    assert caught.value.one_line() == message
    assert caught.value.exit_code == 2


# --- timeline ----------------------------------------------------------------------------------

def test_timeline_is_ordered_with_today_in_place() -> None:
    kinds = [m.kind for m in rules.timeline(contract(), D(2025, 11, 20))]
    assert kinds == [MilestoneKind.START, MilestoneKind.FULL_REFUND_END,
                     MilestoneKind.RECOMMENDED_NOTICE, MilestoneKind.TODAY,
                     MilestoneKind.NOTICE_DEADLINE, MilestoneKind.RENEWAL_WINDOW_START,
                     MilestoneKind.END]


def test_timeline_dates() -> None:
    dates = {m.kind: m.date for m in rules.timeline(contract(), D(2025, 6, 1))}
    assert dates == {
        MilestoneKind.START: D(2025, 1, 1), MilestoneKind.FULL_REFUND_END: D(2025, 1, 30),
        MilestoneKind.RECOMMENDED_NOTICE: D(2025, 11, 1),
        MilestoneKind.NOTICE_DEADLINE: D(2025, 12, 1),
        MilestoneKind.RENEWAL_WINDOW_START: D(2025, 12, 1), MilestoneKind.TODAY: D(2025, 6, 1),
        MilestoneKind.END: D(2025, 12, 31),
    }


def test_timeline_adds_the_renewed_term_once_the_deadline_passed() -> None:
    milestones = rules.timeline(contract(), D(2025, 12, 2))
    assert milestones[-1].kind is MilestoneKind.RENEWAL_TERM_END
    assert milestones[-1].date == D(2026, 12, 31)
    assert milestones[-2].label == "Last day of the term; the contract renews on 2026-01-01"


# --- the plan: two ways of leaving and the checklist -----------------------------------------

def _items(p: rules.ContractPlan) -> list[tuple[str, dt.date, int]]:
    return [(i.task.value + ("+next" if i.next_term else ""), i.due, i.days_late)
            for i in p.checklist]


def test_end_of_term_plan_has_no_refund_and_dates_in_order() -> None:
    p = rules.plan(contract(fee=Fee(FeeKind.PERCENT, Decimal(10))), D(2025, 6, 1))
    assert p.leave is rules.Leave.END_OF_TERM and p.chosen_refund is None
    assert _items(p) == [("notice", D(2025, 11, 1), 0), ("billing", D(2025, 12, 1), 0),
                         ("confirmation", D(2025, 12, 31), 0), ("invoice", D(2026, 1, 30), 0)]
    # `refund` stays the figure for an early termination on `on`, shown beside the plan.
    assert p.refund is not None and p.refund.cancel_on == D(2025, 6, 1)
    assert p.early.effective == D(2025, 6, 1)


def test_end_of_term_notice_is_due_by_the_deadline_once_the_recommended_date_passed() -> None:
    p = rules.plan(contract(), D(2025, 11, 20))
    assert _items(p)[0] == ("notice", D(2025, 12, 1), 0)


def test_missed_deadline_flags_the_notice_late_and_plans_the_next_term() -> None:
    p = rules.plan(contract(), D(2025, 12, 13))
    eot = p.end_of_term
    assert not eot.in_time
    assert (eot.renews_on, eot.renewal_term_end) == (D(2026, 1, 1), D(2026, 12, 31))
    assert eot.next_term_notice_deadline == D(2026, 12, 1)
    assert _items(p) == [("notice", D(2025, 12, 1), 12),
                         ("notice+next", D(2026, 11, 1), 0),
                         ("billing+next", D(2026, 12, 1), 0),
                         ("confirmation+next", D(2026, 12, 31), 0),
                         ("invoice+next", D(2027, 1, 30), 0)]


def test_early_termination_plan_lists_the_refund_due() -> None:
    c = contract(D(2024, 1, 1), D(2024, 12, 31), paid="36600.00")
    p = rules.plan(c, D(2024, 6, 1), leave=rules.Leave.EARLY, effective=D(2024, 7, 1))
    assert p.chosen_refund is not None and p.chosen_refund.amount == Decimal("18300.00")
    assert _items(p) == [("notice", D(2024, 7, 1), 0), ("billing", D(2024, 7, 1), 0),
                         ("confirmation", D(2024, 7, 1), 0), ("invoice", D(2024, 7, 31), 0),
                         ("refund", D(2024, 7, 31), 0)]
    assert p.checklist[-1].amount == Decimal("18300.00")
    assert MilestoneKind.EFFECTIVE in {m.kind for m in p.timeline}


def test_early_termination_without_a_refund_due_has_no_refund_item() -> None:
    c = contract(fee=Fee(FeeKind.ABSOLUTE, Decimal("36500")))
    p = rules.plan(c, D(2025, 6, 1), leave=rules.Leave.EARLY, effective=D(2025, 7, 1))
    assert "refund" not in [t for t, _, _ in _items(p)]


def test_early_termination_past_its_effective_day_is_overdue() -> None:
    p = rules.plan(contract(), D(2025, 7, 4), leave=rules.Leave.EARLY, effective=D(2025, 7, 1))
    assert _items(p)[0] == ("notice", D(2025, 7, 1), 3)


@pytest.mark.parametrize(("leave", "effective", "message"), [
    (rules.Leave.END_OF_TERM, D(2025, 7, 1), "an effective date is for an early termination"),
    (rules.Leave.EARLY, D(2026, 1, 1), "effective date 2026-01-01 is outside the term"),
])
def test_the_two_ways_are_never_mixed(leave: rules.Leave, effective: dt.date,
                                      message: str) -> None:
    with pytest.raises(UsageError) as caught:
        rules.plan(contract(), D(2025, 6, 1), leave=leave, effective=effective)
    assert caught.value.one_line().startswith(message)


def test_parse_leave_names_the_field() -> None:
    assert rules.parse_leave("Early", "contract.leave") is rules.Leave.EARLY
    with pytest.raises(UsageError) as caught:
        rules.parse_leave("now", "contract.leave")
    assert caught.value.one_line().startswith("contract.leave: 'now' is not a way of leaving")


# --- parsing -----------------------------------------------------------------------------------

def test_parse_date_accepts_iso() -> None:
    assert rules.parse_date(" 2024-02-29 ", "--end") == D(2024, 2, 29)


@pytest.mark.parametrize("text", ["2025-02-30", "20250101", "2025-W01-1", "tomorrow", "",
                                  "2025-1-1", "01/02/2025"])
def test_parse_date_rejects_with_the_option_name(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        rules.parse_date(text, "--end")
    assert caught.value.one_line() == (f"--end: {text!r} is not a date; use YYYY-MM-DD, "
                                       "e.g. 2025-01-31")


@pytest.mark.parametrize(("text", "expected"), [("500", Decimal("500")),
                                                 ("500.00", Decimal("500.00")),
                                                 ("0", Decimal(0))])
def test_parse_money(text: str, expected: Decimal) -> None:
    assert rules.parse_money(text, "--paid") == expected


@pytest.mark.parametrize(("text", "message"), [
    ("-5", "--paid: -5 is negative; an amount must be 0 or more"),
    ("abc", "--paid: 'abc' is not an amount; use digits and an optional decimal point, "
            "e.g. 12000.00"),
    ("1,200.00", "--paid: '1,200.00' is not an amount; use digits and an optional decimal "
                 "point, e.g. 12000.00"),
    ("NaN", "--paid: 'NaN' is not an amount; use digits and an optional decimal point, "
            "e.g. 12000.00"),
    ("1e3", "--paid: '1e3' is not an amount; use digits and an optional decimal point, "
            "e.g. 12000.00"),
])
def test_parse_money_rejects(text: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        rules.parse_money(text, "--paid")
    assert caught.value.one_line() == message


@pytest.mark.parametrize(("text", "expected"), [
    ("500", Fee(FeeKind.ABSOLUTE, Decimal("500"))),
    ("500.00", Fee(FeeKind.ABSOLUTE, Decimal("500.00"))),
    ("10%", Fee(FeeKind.PERCENT, Decimal("10"))),
    ("12.5 %", Fee(FeeKind.PERCENT, Decimal("12.5"))),
    ("100%", Fee(FeeKind.PERCENT, Decimal("100"))),
])
def test_parse_fee(text: str, expected: Fee) -> None:
    assert rules.parse_fee(text, "--fee") == expected


@pytest.mark.parametrize(("text", "message"), [
    ("abc", "--fee: 'abc' is not a fee; use an amount like 500.00 or a percentage like 10%"),
    ("%", "--fee: '%' is not a fee; use an amount like 500.00 or a percentage like 10%"),
    ("150%", "--fee: 150% is not between 0% and 100%"),
    ("-5%", "--fee: -5% is not between 0% and 100%"),
    ("-500", "--fee: -500 is negative; an amount must be 0 or more"),
])
def test_parse_fee_rejects(text: str, message: str) -> None:
    with pytest.raises(UsageError) as caught:
        rules.parse_fee(text, "--fee")
    assert caught.value.one_line() == message


def test_parse_currency_upper_cases() -> None:
    assert rules.parse_currency("eur", "--currency") == "EUR"


@pytest.mark.parametrize("text", ["US", "EURO", "US$", "12A", ""])
def test_parse_currency_rejects(text: str) -> None:
    with pytest.raises(UsageError) as caught:
        rules.parse_currency(text, "--currency")
    assert caught.value.one_line() == (f"--currency: {text!r} is not a currency code; use "
                                       "three letters, e.g. USD or EUR")
