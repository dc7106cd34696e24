"""An iCalendar (RFC 5545) writer for the contract's dates, with reminders. Pure: returns text.

Only what Google Calendar, Outlook and Apple Calendar need to import all-day events with
alarms: CRLF line ends (RFC 5545 3.1), lines folded at 75 octets without splitting a UTF-8
character (3.1), TEXT escaping (3.3.11), a UTC DTSTAMP (3.8.7.2) and a stable UID per event
(3.8.4.7), so importing a newer file updates the events instead of duplicating them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib

from sfexit import __version__
from sfexit import rules

PRODID = f"-//sfexit//sfexit {__version__}//EN"
CRLF = "\r\n"
MAX_LINE_OCTETS = 75
# Alarms fire at 09:00 local time N days before an all-day event: the trigger is relative to
# its start (midnight), so "7 days before at 09:00" is -P6DT15H, the form Apple Calendar writes.
REMINDER_HOUR = 9
REMINDER_DAYS_BEFORE = (7, 1)


@dataclasses.dataclass(frozen=True)
class Event:
    """One all-day event; ``reminders`` are days before it (0 = on the day, at 09:00)."""

    uid: str
    day: dt.date
    summary: str
    description: str
    reminders: tuple[int, ...] = REMINDER_DAYS_BEFORE


def calendar(events: list[Event], dtstamp: dt.datetime) -> str:
    """The whole VCALENDAR as text with CRLF line ends.

    Raises:
        ValueError: ``dtstamp`` has no time zone (RFC 5545 wants DTSTAMP in UTC).
    """
    if dtstamp.tzinfo is None:
        raise ValueError("dtstamp needs a time zone; pass an aware datetime")
    lines = ["BEGIN:VCALENDAR", "VERSION:2.0", f"PRODID:{PRODID}", "CALSCALE:GREGORIAN",
             # PUBLISH: a plain calendar to import, not a meeting request (RFC 5546 3.2.1).
             "METHOD:PUBLISH"]
    for event in events:
        lines.extend(_event_lines(event, dtstamp))
    lines.append("END:VCALENDAR")
    return "".join(fold(line) + CRLF for line in lines)


def _event_lines(event: Event, dtstamp: dt.datetime) -> list[str]:
    stamp = dtstamp.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VEVENT",
        f"UID:{escape_text(event.uid)}",
        f"DTSTAMP:{stamp}",
        f"DTSTART;VALUE=DATE:{_ics_date(event.day)}",
        # DTEND of an all-day event is exclusive: the next day (RFC 5545 3.6.1).
        f"DTEND;VALUE=DATE:{_ics_date(event.day + dt.timedelta(days=1))}",
        f"SUMMARY:{escape_text(event.summary)}",
        f"DESCRIPTION:{escape_text(event.description)}",
        "TRANSP:TRANSPARENT",  # a reminder, not a meeting: do not show the day as busy
    ]
    for days in event.reminders:
        lines.extend([
            "BEGIN:VALARM",
            "ACTION:DISPLAY",
            f"DESCRIPTION:{escape_text(event.summary)}",
            f"TRIGGER:{alarm_trigger(days)}",
            "END:VALARM",
        ])
    lines.append("END:VEVENT")
    return lines


def alarm_trigger(days_before: int) -> str:
    """A DURATION from the event's midnight to 09:00, ``days_before`` days earlier."""
    if days_before == 0:
        return f"PT{REMINDER_HOUR}H"
    hours_before = 24 - REMINDER_HOUR
    whole_days = days_before - 1
    return f"-P{whole_days}DT{hours_before}H" if whole_days else f"-PT{hours_before}H"


def _ics_date(day: dt.date) -> str:
    return day.strftime("%Y%m%d")


def escape_text(value: str) -> str:
    """TEXT escaping (RFC 5545 3.3.11): backslash first, then ``;`` ``,`` and newlines."""
    value = value.replace("\\", "\\\\").replace(";", "\\;").replace(",", "\\,")
    return value.replace("\r\n", "\\n").replace("\r", "\\n").replace("\n", "\\n")


def fold(line: str) -> str:
    """Fold to at most 75 octets per line; continuation lines start with one space.

    Never splits a UTF-8 sequence (RFC 5545 3.1 allows it, but several importers break).
    """
    pieces: list[str] = []
    current, size, limit = "", 0, MAX_LINE_OCTETS
    for char in line:
        width = len(char.encode("utf-8"))
        if size + width > limit:
            pieces.append(current)
            current, size, limit = " ", 1, MAX_LINE_OCTETS
        current += char
        size += width
    pieces.append(current)
    return CRLF.join(pieces)


# --- the contract's calendar -------------------------------------------------------------------

def contract_events(contract: rules.Contract,
                    effective: dt.date | None = None) -> list[Event]:
    """The recommended notice date and the notice deadline with reminders, the term's last
    day (``end``, included; a renewal would begin the day after), and with ``effective`` the
    day a chosen early termination takes effect, with reminders."""
    deadline = rules.notice_deadline(contract)
    recommended = rules.recommended_notice_date(contract)
    term = (f"Salesforce contract, term {contract.start} – {contract.end}, "
            f"{contract.term_days} days")
    events = [
        Event(_uid(contract, "recommended-notice"), recommended,
              "Salesforce: recommended date to give notice",
              f"{term}. Recommended: send written notice of cancellation today. "
              f"The deadline is {deadline}."),
        Event(_uid(contract, "notice-deadline"), deadline,
              "Salesforce: notice deadline",
              f"{term}. Written notice of cancellation must reach Salesforce by today, "
              f"{contract.notice_days} days before the end; otherwise the contract renews "
              f"on {contract.renews_on}."),
        Event(_uid(contract, "end"), contract.end,
              "Salesforce: last day of the contract term",
              f"{term}. Today is the term's last day; without notice given in time the "
              f"contract renews tomorrow, {contract.renews_on}, until "
              f"{rules.renewal_term_end(contract)}.", reminders=()),
    ]
    if effective is not None:
        events.append(Event(_uid(contract, f"effective-{effective}"), effective,
                            "Salesforce: early termination takes effect",
                            f"{term}. The early termination takes effect today: the written "
                            "notice must have reached Salesforce."))
    return sorted(events, key=lambda event: event.day)


def _uid(contract: rules.Contract, kind: str) -> str:
    # Stable for one contract term and milestone: re-importing updates, never duplicates.
    digest = hashlib.sha256(f"{contract.start}/{contract.end}".encode()).hexdigest()[:16]
    return f"{kind}-{digest}@sfexit"


def contract_calendar(plan: rules.ContractPlan, dtstamp: dt.datetime) -> str:
    """The plan's calendar: the non-renewal dates, and an early termination's day if chosen."""
    early = plan.early.effective if plan.leave is rules.Leave.EARLY else None
    return calendar(contract_events(plan.contract, early), dtstamp)
