"""Invariants of the contract rules, for any contract and any day (hypothesis)."""

from __future__ import annotations

import calendar

import datetime as dt
from decimal import Decimal

from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from sfexit import rules
from sfexit.rules import Contract, Fee, FeeKind, StatusKind

# A shared 2-core machine: no per-example deadline. Per test, not a global profile, so other
# modules' hypothesis settings stay theirs.
RULES = hypothesis_settings(deadline=None, max_examples=300)

CURRENCIES = ["USD", "EUR", "JPY", "KWD"]


@st.composite
def fees(draw: st.DrawFn, currency: str) -> Fee:
    places = rules.minor_unit(currency)
    if draw(st.booleans()):
        return Fee(FeeKind.PERCENT, draw(st.decimals(0, 100, places=2)))
    return Fee(FeeKind.ABSOLUTE, draw(st.decimals(0, 10**6, places=places)))


@st.composite
def contracts(draw: st.DrawFn) -> Contract:
    start = draw(st.dates(dt.date(2000, 1, 1), dt.date(2040, 12, 31)))
    term = draw(st.integers(1, 1500))  # days, both ends included
    currency = draw(st.sampled_from(CURRENCIES))
    paid = draw(st.decimals(0, 10**8, places=rules.minor_unit(currency)))
    days = st.integers(1, 400)
    return Contract(start, start + dt.timedelta(days=term - 1), paid, currency,
                    draw(fees(currency)), notice_days=draw(days),
                    recommended_notice_days=draw(days), refund_full_days=draw(days),
                    renewal_window_days=draw(days))


def around(c: Contract) -> st.SearchStrategy[dt.date]:
    """Any day from well before the start to well after the end."""
    return st.dates(c.start - dt.timedelta(days=60), c.end + dt.timedelta(days=60))


@RULES
@given(st.data())
def test_refund_is_never_negative_nor_above_paid(data: st.DataObject) -> None:
    c = data.draw(contracts())
    result = rules.refund(c, data.draw(around(c)))
    assert Decimal(0) <= result.amount <= c.paid


@RULES
@given(st.data())
def test_refund_never_increases_as_cancellation_moves_later(data: st.DataObject) -> None:
    c = data.draw(contracts())
    first, second = sorted([data.draw(around(c)), data.draw(around(c))])
    assert rules.refund(c, first).amount >= rules.refund(c, second).amount


@RULES
@given(st.data())
def test_refund_never_increases_day_by_day_across_the_full_refund_edge(
        data: st.DataObject) -> None:
    c = data.draw(contracts())
    edge = rules.full_refund_last_day(c)
    amounts = [rules.refund(c, edge + dt.timedelta(days=k)).amount for k in range(-2, 3)]
    assert amounts == sorted(amounts, reverse=True)


@RULES
@given(contracts())
def test_the_end_is_the_last_day_of_the_term_and_renewal_starts_the_day_after(
        c: Contract) -> None:
    assert c.term_days == (c.end - c.start).days + 1
    assert c.renews_on == c.end + dt.timedelta(days=1)
    assert rules.refund(c, c.end).days_unused == 0
    assert rules.refund(c, c.start).days_used == 1


@RULES
@given(st.data())
def test_days_add_up_to_the_term(data: st.DataObject) -> None:
    c = data.draw(contracts())
    result = rules.refund(c, data.draw(around(c)))
    assert 0 <= result.days_used <= result.term_days == c.term_days
    assert result.days_used + result.days_unused == c.term_days


@RULES
@given(st.data())
def test_full_refund_exactly_through_day_refund_full_days(data: st.DataObject) -> None:
    c = data.draw(contracts())
    day = data.draw(around(c))
    result = rules.refund(c, day)
    assert result.full_refund == ((day - c.start).days + 1 <= c.refund_full_days)
    if result.full_refund:
        assert result.amount == c.paid and result.fee == 0


@RULES
@given(st.data())
def test_amounts_are_rounded_to_the_minor_unit(data: st.DataObject) -> None:
    c = data.draw(contracts())
    result = rules.refund(c, data.draw(around(c)))
    exponent = -rules.minor_unit(c.currency)
    for amount in (result.amount, result.pro_rata, result.fee):
        assert amount.as_tuple().exponent == exponent


@RULES
@given(contracts())
def test_deadline_is_never_after_the_end(c: Contract) -> None:
    assert rules.notice_deadline(c) <= c.end
    assert rules.renewal_window(c).start <= rules.renewal_window(c).end == c.end


@RULES
@given(contracts())
def test_recommended_date_is_not_after_the_deadline_when_it_asks_for_more_days(
        c: Contract) -> None:
    if c.recommended_notice_days >= c.notice_days:
        assert rules.recommended_notice_date(c) <= rules.notice_deadline(c)


@RULES
@given(st.data())
def test_status_agrees_with_days_until_deadline(data: st.DataObject) -> None:
    c = data.draw(contracts())
    now = rules.status(c, data.draw(around(c)))
    assert (now.kind is StatusKind.DEADLINE_PASSED) == (now.days_until_deadline < 0)
    assert (now.renews_on is not None) == (now.kind is StatusKind.DEADLINE_PASSED)


def _months_between(a: dt.date, b: dt.date) -> int:
    return (b.year - a.year) * 12 + b.month - a.month


def _is_whole_months(c: Contract) -> bool:
    """start + N months == the renewal day, allowing the month-end clamp (Jan 31 + 1 month
    = Feb 28)."""
    after = c.renews_on
    months = _months_between(c.start, after)
    last = calendar.monthrange(after.year, after.month)[1]
    return months > 0 and (after.day == c.start.day or (after.day == last < c.start.day))


@RULES
@given(contracts())
def test_renewed_term_has_the_same_length_in_its_unit(c: Contract) -> None:
    # Whole months renew for the same number of months (their days may differ: 2001-08-01 to
    # 2003-05-01 is 638 days, its renewal 642, as a leap February replaces two short ones);
    # any other term renews for the same number of days.
    renewed = rules.next_term(c)
    assert renewed.start == c.renews_on and renewed.end == rules.renewal_term_end(c)
    if _is_whole_months(c):
        assert (_months_between(renewed.start, renewed.renews_on)
                == _months_between(c.start, c.renews_on))
    else:
        assert renewed.term_days == c.term_days


@RULES
@given(st.data())
def test_timeline_is_in_date_order(data: st.DataObject) -> None:
    c = data.draw(contracts())
    dates = [m.date for m in rules.timeline(c, data.draw(around(c)))]
    assert dates == sorted(dates)


@RULES
@given(st.data())
def test_checklist_is_in_date_order_and_late_only_when_past_due(data: st.DataObject) -> None:
    c = data.draw(contracts())
    today = data.draw(around(c))
    leave = data.draw(st.sampled_from(list(rules.Leave)))
    effective = data.draw(st.dates(c.start, c.end)) if leave is rules.Leave.EARLY else None
    p = rules.plan(c, today, leave=leave, effective=effective)
    dues = [i.due for i in p.checklist]
    assert dues == sorted(dues)
    assert all(i.days_late == max((today - i.due).days, 0) for i in p.checklist)


@RULES
@given(st.data())
def test_a_refund_is_listed_only_for_an_early_termination_that_refunds(
        data: st.DataObject) -> None:
    c = data.draw(contracts())
    today = data.draw(around(c))
    effective = data.draw(st.dates(c.start, c.end))
    end_of_term = rules.plan(c, today)
    assert rules.Task.REFUND not in {i.task for i in end_of_term.checklist}
    assert end_of_term.chosen_refund is None
    early = rules.plan(c, today, leave=rules.Leave.EARLY, effective=effective)
    refund = rules.refund(c, effective)
    listed = [i for i in early.checklist if i.task is rules.Task.REFUND]
    assert [i.amount for i in listed] == ([refund.amount] if refund.amount > 0 else [])


@RULES
@given(st.data())
def test_a_missed_deadline_plans_the_next_terms_deadline(data: st.DataObject) -> None:
    c = data.draw(contracts())
    p = rules.plan(c, data.draw(around(c)))
    eot = p.end_of_term
    if eot.in_time:
        assert all(not i.next_term for i in p.checklist)
    else:
        assert eot.next_term_notice_deadline == rules.notice_deadline(rules.next_term(c))
        assert eot.renews_on == c.end + dt.timedelta(days=1)
