"""The iCalendar writer, checked by parsing its output back (RFC 5545)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st

from sfexit import __version__, ics, rules

STAMP = dt.datetime(2025, 6, 1, 12, 30, tzinfo=dt.UTC)
CONTRACT = rules.Contract(dt.date(2025, 1, 1), dt.date(2025, 12, 31), Decimal("12000"), "USD")
PLAN = rules.plan(CONTRACT, dt.date(2025, 6, 1))


@dataclasses.dataclass
class Component:
    name: str
    props: list[tuple[str, str]] = dataclasses.field(default_factory=list)
    children: list[Component] = dataclasses.field(default_factory=list)

    def get(self, key: str) -> str:
        values = [value for name, value in self.props if name == key]
        assert len(values) == 1, (key, self.props)
        return values[0]


def unfold(text: str) -> list[str]:
    """Content lines: split on CRLF, join continuation lines (leading space) to the previous."""
    assert text.endswith("\r\n")
    physical = text[:-2].split("\r\n")
    lines: list[str] = []
    for line in physical:
        if line.startswith(" "):
            lines[-1] += line[1:]
        else:
            lines.append(line)
    return lines


def parse(text: str) -> Component:
    """A tiny parser: BEGIN/END must balance; properties are NAME[;PARAMS]:VALUE."""
    stack: list[Component] = []
    root: Component | None = None
    for line in unfold(text):
        name, _, value = line.partition(":")
        if name == "BEGIN":
            component = Component(value)
            if stack:
                stack[-1].children.append(component)
            stack.append(component)
        elif name == "END":
            assert stack and stack[-1].name == value, f"unbalanced END:{value}"
            root = stack.pop()
        else:
            assert stack, f"property outside a component: {line}"
            stack[-1].props.append((name, value))
    assert not stack and root is not None
    return root


def unescape(value: str) -> str:
    out, chars = [], iter(value)
    for char in chars:
        if char == "\\":
            nxt = next(chars)
            out.append("\n" if nxt in "nN" else nxt)
        else:
            out.append(char)
    return "".join(out)


@pytest.fixture
def text() -> str:
    return ics.contract_calendar(PLAN, STAMP)


def test_every_line_ends_in_crlf_and_no_bare_newlines(text: str) -> None:
    assert text.endswith("\r\n")
    assert "\n" not in text.replace("\r\n", "")
    assert "\r" not in text.replace("\r\n", "")


def test_no_physical_line_exceeds_75_octets(text: str) -> None:
    for line in text.split("\r\n"):
        assert len(line.encode("utf-8")) <= 75, line
    assert any(line.startswith(" ") for line in text.split("\r\n")), "expected some folding"


def test_calendar_header(text: str) -> None:
    calendar = parse(text)
    assert calendar.name == "VCALENDAR"
    assert calendar.get("VERSION") == "2.0"
    assert calendar.get("PRODID") == f"-//sfexit//sfexit {__version__}//EN"
    assert calendar.get("METHOD") == "PUBLISH"


def test_events_are_all_day_on_the_contract_dates(text: str) -> None:
    events = parse(text).children
    assert [e.name for e in events] == ["VEVENT"] * 3
    assert [e.get("DTSTART;VALUE=DATE") for e in events] == ["20251101", "20251201", "20251231"]
    assert [e.get("DTEND;VALUE=DATE") for e in events] == ["20251102", "20251202", "20260101"]
    assert all(e.get("DTSTAMP") == "20250601T123000Z" for e in events)


def test_reminders_seven_days_and_one_day_before_at_nine(text: str) -> None:
    recommended, deadline, end = parse(text).children
    for event in (recommended, deadline):
        alarms = event.children
        assert [a.name for a in alarms] == ["VALARM", "VALARM"]
        assert [a.get("TRIGGER") for a in alarms] == ["-P6DT15H", "-PT15H"]
        assert all(a.get("ACTION") == "DISPLAY" and a.get("DESCRIPTION") for a in alarms)
    assert end.children == []


def test_summaries_and_escaped_description(text: str) -> None:
    deadline = parse(text).children[1]
    assert deadline.get("SUMMARY") == "Salesforce: notice deadline"
    assert "\\," in deadline.get("DESCRIPTION")
    assert unescape(deadline.get("DESCRIPTION")) == (
        "Salesforce contract, term 2025-01-01 – 2025-12-31, 365 days. Written notice of "
        "cancellation must "
        "reach Salesforce by today, 30 days before the end; otherwise the contract renews "
        "on 2026-01-01.")


def test_uids_are_unique_and_stable_for_the_same_term(text: str) -> None:
    uids = [e.get("UID") for e in parse(text).children]
    assert len(set(uids)) == 3 and all(uid.endswith("@sfexit") for uid in uids)
    later = ics.contract_calendar(PLAN, STAMP + dt.timedelta(days=3))
    assert [e.get("UID") for e in parse(later).children] == uids
    other = rules.Contract(dt.date(2026, 1, 1), dt.date(2026, 12, 31), Decimal(0), "USD")
    assert not set(uids) & {e.get("UID") for e in parse(ics.contract_calendar(rules.plan(other, dt.date(2026, 6, 1)), STAMP))
                            .children}


def test_dtstamp_is_converted_to_utc() -> None:
    cest = dt.timezone(dt.timedelta(hours=2))
    text = ics.contract_calendar(PLAN, dt.datetime(2025, 6, 1, 14, 30, tzinfo=cest))
    assert parse(text).children[0].get("DTSTAMP") == "20250601T123000Z"


def test_naive_dtstamp_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        ics.contract_calendar(PLAN, dt.datetime(2025, 6, 1))


@pytest.mark.parametrize(("days", "trigger"), [(7, "-P6DT15H"), (1, "-PT15H"), (0, "PT9H"),
                                               (14, "-P13DT15H")])
def test_alarm_trigger(days: int, trigger: str) -> None:
    assert ics.alarm_trigger(days) == trigger


def test_escape_text() -> None:
    assert ics.escape_text("a,b;c\\d\ne\r\nf") == "a\\,b\\;c\\\\d\\ne\\nf"


def test_fold_does_not_split_multibyte_characters() -> None:
    line = "SUMMARY:" + "é" * 80
    folded = ics.fold(line)
    for physical in folded.split("\r\n"):
        assert len(physical.encode("utf-8")) <= 75
        physical.encode("utf-8").decode("utf-8")  # each piece is valid UTF-8 on its own
    assert unfold(folded + "\r\n") == [line]


def test_event_text_with_special_characters_round_trips() -> None:
    event = ics.Event("x@sfexit", dt.date(2025, 3, 1), "A, B; C\\D", "line 1\nline 2 – ünïcode")
    parsed = parse(ics.calendar([event], STAMP)).children[0]
    assert unescape(parsed.get("SUMMARY")) == "A, B; C\\D"
    assert unescape(parsed.get("DESCRIPTION")) == "line 1\nline 2 – ünïcode"


@hypothesis_settings(deadline=None)
@given(st.text(min_size=0, max_size=400).filter(lambda s: "\r" not in s and "\n" not in s))
def test_fold_then_unfold_is_identity(value: str) -> None:
    line = "DESCRIPTION:" + value
    folded = ics.fold(line)
    assert all(len(p.encode("utf-8")) <= 75 for p in folded.split("\r\n"))
    assert unfold(folded + "\r\n") == [line]


@hypothesis_settings(deadline=None)
@given(st.text(max_size=200))
def test_escape_then_unescape_is_identity_up_to_line_ends(value: str) -> None:
    expected = value.replace("\r\n", "\n").replace("\r", "\n")
    escaped = ics.escape_text(value)
    assert "\n" not in escaped and "\r" not in escaped
    assert unescape(escaped) == expected


def test_a_chosen_early_termination_adds_its_day_with_reminders() -> None:
    plan = rules.plan(CONTRACT, dt.date(2025, 6, 1), leave=rules.Leave.EARLY,
                      effective=dt.date(2025, 9, 30))
    events = parse(ics.contract_calendar(plan, STAMP)).children
    assert [e.get("DTSTART;VALUE=DATE") for e in events] == [
        "20250930", "20251101", "20251201", "20251231"]
    assert events[0].get("SUMMARY") == "Salesforce: early termination takes effect"
    assert len(events[0].children) == 2   # reminders 7 days and 1 day before
