"""Seed: activities (Task, Event, AcceptedEventRelation), Account history/share/team rows, Opportunity
team rows, Notes and Contracts. Split from seed_records.py by meaning: these hang off the records there.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from sfexit_emulator.seed import SeedContext
from sfexit_emulator.seed_records import _SYSTEM, DESCRIPTIONS, _common, _owner, count_for
from sfexit_emulator.store_db import format_datetime

_TASK_STATUS = (("Not Started", 0), ("In Progress", 0), ("Completed", 1), ("Waiting on someone else", 0),
                ("Deferred", 0), ("Completed", 1))


def _pick(ctx: SeedContext, ids: list[str]) -> str:
    return ids[int(ctx.rng.random() * len(ids))]


def _what(ctx: SeedContext) -> tuple[str, str | None]:
    """(WhatId, AccountId) of an activity: an Account, Opportunity, Case or Project."""
    objs = ctx.ids_by_object
    r = ctx.rng.random()
    if r < 0.4:
        account = _pick(ctx, objs["Account"])
        return account, account
    if r < 0.7:
        return _pick(ctx, objs["Opportunity"]), None
    if r < 0.9:
        return _pick(ctx, objs["Case"]), None
    return _pick(ctx, objs["Project__c"]), None


def seed_activities(ctx: SeedContext) -> None:
    rng, objs = ctx.rng, ctx.ids_by_object
    task_ids = ctx.ids("00T", count_for(ctx, "Task"))

    def tasks() -> Iterator[tuple[Any, ...]]:
        for i, rid in enumerate(task_ids):
            c = _common(ctx)
            status, closed = _TASK_STATUS[int(rng.random() * len(_TASK_STATUS))]
            what, account = _what(ctx)
            who = _pick(ctx, objs["Contact"]) if rng.random() < 0.6 else _pick(ctx, objs["Lead"])
            due = (ctx.anchor + timedelta(days=int(rng.uniform(-700, 60)))).date().isoformat()
            yield (rid, who, None if who.startswith("00Q") else what, rng.choice(("Call", "Email", "Send Letter",
                   "Follow up: \"pricing, terms\"", "Rückruf — Angebot")), due, status,
                   rng.choice(("High", "Normal", "Normal", "Low")), _owner(ctx), DESCRIPTIONS[i % len(DESCRIPTIONS)],
                   None if who.startswith("00Q") else account, closed, rng.choice(("Task", "Call", "Email")),
                   *c, c[1])
    ctx.insert("Task", ["Id", "WhoId", "WhatId", "Subject", "ActivityDate", "Status", "Priority", "OwnerId",
                        "Description", "AccountId", "IsClosed", "TaskSubtype", *_SYSTEM], tasks())
    event_ids = ctx.ids("00U", count_for(ctx, "Event"))

    def events() -> Iterator[tuple[Any, ...]]:
        for i, rid in enumerate(event_ids):
            c = _common(ctx)
            start = ctx.anchor + timedelta(hours=int(rng.uniform(-700 * 24, 90 * 24)))
            minutes = rng.choice((30, 60, 90, 120))
            what, account = _what(ctx)
            yield (rid, _pick(ctx, objs["Contact"]), what, rng.choice(("Meeting", "Call", "Demo, on-site",
                   "Kick-off 🚀")), rng.choice(("Hamburg HQ", "Zoom", "会議室 3", None)), format_datetime(start),
                   start.date().isoformat(), minutes, format_datetime(start), format_datetime(start + timedelta(minutes=minutes)),
                   start.date().isoformat(), account, _owner(ctx), "Busy", *c, c[1])
    ctx.insert("Event", ["Id", "WhoId", "WhatId", "Subject", "Location", "ActivityDateTime", "ActivityDate",
                         "DurationInMinutes", "StartDateTime", "EndDateTime", "EndDate", "AccountId", "OwnerId",
                         "ShowAs", *_SYSTEM], events())
    rel_ids = ctx.ids("0RE", count_for(ctx, "AcceptedEventRelation"))
    users = ctx.values["active_users"]
    ctx.insert("AcceptedEventRelation", ["Id", "RelationId", "EventId", "RespondedDate", "Response", "Type", *_SYSTEM],
               [(rid, _pick(ctx, users), _pick(ctx, event_ids), (c := _common(ctx))[2], "Gern, bis dann",
                 "User", *c, c[1]) for rid in rel_ids])


def seed_account_side_tables(ctx: SeedContext, accounts: list[str], opps: list[str]) -> None:
    rng = ctx.rng
    users = ctx.values["active_users"]
    history_ids = ctx.ids("017", count_for(ctx, "AccountHistory"))
    fields = ("Owner", "Name", "Industry", "Rating", "created")

    def history() -> Iterator[tuple[Any, ...]]:
        for rid in history_ids:
            created, by, _, _, deleted = _common(ctx)
            field = fields[int(rng.random() * len(fields))]
            old, new = (None, None) if field == "created" else (f"old {field}, \"v1\"", f"new {field}")
            yield rid, _pick(ctx, accounts), by, created, field, old, new, deleted
    ctx.insert("AccountHistory", ["Id", "AccountId", "CreatedById", "CreatedDate", "Field", "OldValue", "NewValue",
                                  "IsDeleted"], history())
    share_ids = ctx.ids("00r", count_for(ctx, "AccountShare"))
    ctx.insert("AccountShare", ["Id", "AccountId", "UserOrGroupId", "AccountAccessLevel", "OpportunityAccessLevel",
                                "CaseAccessLevel", "ContactAccessLevel", "RowCause", "LastModifiedDate",
                                "LastModifiedById"],
               [(rid, _pick(ctx, accounts), _pick(ctx, users), rng.choice(("Read", "Edit", "All")), "Read", "Read",
                 "Read", rng.choice(("Owner", "Manual", "Team", "Rule")), ctx.stamps()[1], users[0])
                for rid in share_ids])
    roles = ctx.picklist("AccountTeamMember", "TeamMemberRole")
    team_ids = ctx.ids("01M", count_for(ctx, "AccountTeamMember"))
    ctx.insert("AccountTeamMember", ["Id", "AccountId", "UserId", "TeamMemberRole", "AccountAccessLevel",
                                     "OpportunityAccessLevel", "CaseAccessLevel", "ContactAccessLevel", *_SYSTEM],
               [(rid, _pick(ctx, accounts), _owner(ctx), rng.choice(roles), "Edit", "Read", "Read", "Read",
                 *(c := _common(ctx)), c[1]) for rid in team_ids])
    opp_team_ids = ctx.ids("00q", count_for(ctx, "OpportunityTeamMember"))
    ctx.insert("OpportunityTeamMember", ["Id", "OpportunityId", "UserId", "TeamMemberRole", "OpportunityAccessLevel",
                                         *_SYSTEM],
               [(rid, _pick(ctx, opps), _owner(ctx), rng.choice(roles), "Read", *(c := _common(ctx)), c[1])
                for rid in opp_team_ids])


def seed_notes_and_contracts(ctx: SeedContext, accounts: list[str], contacts: list[str], opps: list[str]) -> None:
    rng = ctx.rng
    note_ids = ctx.ids("002", count_for(ctx, "Note"))
    parents = (accounts, contacts, opps)
    ctx.insert("Note", ["Id", "ParentId", "Title", "IsPrivate", "Body", "OwnerId", *_SYSTEM],
               [(rid, _pick(ctx, parents[i % 3]), f"Notiz {i}: Gespräch, \"vertraulich\"", int(rng.random() < 0.1),
                 "Agreed next steps:\r\n1. Send quote\r\n2. Call back — 電話", _owner(ctx), *(c := _common(ctx)), c[1])
                for i, rid in enumerate(note_ids)])
    contract_ids = ctx.ids("800", count_for(ctx, "Contract"))
    ctx.insert("Contract", ["Id", "AccountId", "StartDate", "ContractTerm", "Status", "StatusCode", "ContractNumber",
                            "OwnerId", "Description", *_SYSTEM],
               [(rid, _pick(ctx, accounts), (ctx.anchor - timedelta(days=rng.randrange(0, 900))).date().isoformat(),
                 rng.choice((12, 24, 36)), status, {"Activated": "Activated", "Draft": "Draft"}.get(status, "InApproval"),
                 f"{i + 100:08d}", _owner(ctx), DESCRIPTIONS[i % len(DESCRIPTIONS)], *(c := _common(ctx)), c[1])
                for i, (rid, status) in enumerate((r, rng.choice(("Draft", "Activated", "In Approval Process")))
                                                  for r in contract_ids)])
