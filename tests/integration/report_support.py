"""A real run directory, composed from the library steps against the emulator (issue 14's
contract: run.json + journal.jsonl + export/), for the report tests."""

from __future__ import annotations

import datetime as dt
import itertools
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

from sfexit import rules
from sfexit.cli.deadline import deadline_result
from sfexit.export.backup import run_backup
from sfexit.export.data_run import ExportOptions
from sfexit.journal import Journal
from sfexit.jsonable import to_jsonable
from sfexit.org.rest import RestClient
from sfexit.org.session import OrgSession, RetryPolicy
from sfexit.people import freeze
from sfexit.people.ownership_read import build_plan
from sfexit.people.ownership_transfer import transfer
from sfexit.people.users import UserFilter, list_users

DOMAIN = "@sfexit-demo.example"
DEPARTING = "departing.user" + DOMAIN
SUCCESSOR = "standard.user" + DOMAIN
EXPORTED = ("Account", "Contact", "Lead", "ContentVersion")
REASSIGNED = ["Account", "Lead"]


def session_for(org: Any) -> OrgSession:
    return OrgSession(org.url, org.token, verify=str(org.ca_file), sleep=org.clock.advance,
                      retry=RetryPolicy(attempts=4, base_seconds=0))


def contract_today(today: dt.date) -> Any:
    c = rules.Contract(dt.date(2026, 1, 1), dt.date(2026, 12, 31), Decimal("24000.00"), "EUR",
                       rules.parse_fee("10%", "--fee"))
    return to_jsonable(deadline_result(rules.plan(c, today), None))


def compose_run(org: Any, run: Path, *, today: dt.date = dt.date(2026, 9, 1)) -> Path:
    """Export into RUN_DIR/export, freeze the leaver (and one user frozen before) through the
    journal, reassign the leaver's Accounts and Leads, and write run.json per the contract."""
    session = session_for(org)
    rest = RestClient(session)
    started = dt.datetime.now(dt.UTC).isoformat()
    steps: list[dict[str, Any]] = []

    def step(name: str, result: Any, before: int, **extra: Any) -> None:
        steps.append({"name": name, "status": extra.pop("status", "done"), "reason": None,
                      "started_at": started, "finished_at": dt.datetime.now(dt.UTC).isoformat(),
                      "forecast": {"rest_calls": session.calls - before},
                      "used": {"rest_calls": session.calls - before},
                      "result": to_jsonable(result), **extra})

    mark = session.calls
    summary = run_backup(session, ExportOptions(dest=run / "export", objects=EXPORTED),
                         force=True, files=True, sleep=org.clock.advance)
    step("export", summary, mark)

    mark = session.calls
    journal = Journal.open(run / "journal.jsonl")
    everyone = list_users(session, UserFilter(active_only=False), running_id="")
    already = next(u for u in everyone if u.is_frozen and u.is_active)
    leaver = next(u for u in everyone if u.username == DEPARTING)
    the_plan = freeze.plan(session, "freeze", [leaver, already])
    plan_file = freeze.write_plan_csv(the_plan, run / "plans" / "freeze-plan.csv")
    frozen = freeze.apply(session, the_plan, journal, plan_file=plan_file)
    step("freeze", frozen, mark)

    mark = session.calls
    ticks = itertools.count()
    ownership = build_plan(session, [(DEPARTING, SUCCESSOR)], REASSIGNED)
    moved = transfer(session, ownership, journal, sleep=org.clock.advance,
                     clock=lambda: float(next(ticks)))
    step("reassign", {**to_jsonable(moved), "plan": to_jsonable(ownership)}, mark,
         status="partial" if moved.failed else "done")
    steps.append({"name": "deactivate", "status": "skipped",
                  "reason": "not enabled ([offboard] deactivate = false)", "result": None})

    organization, me = rest.organization(), rest.identity()
    raw = {"schema_version": 1, "run_id": run.name, "mode": "real", "tool_version": "0.1.0",
           "started_at": started, "finished_at": dt.datetime.now(dt.UTC).isoformat(),
           "lang": "en",
           "org": {"id": organization.org_id, "name": organization.name,
                   "instance_url": session.instance_url, "edition": None, "is_sandbox": None,
                   "api_version": session.api_version},
           "operator": {"username": me.username, "user_id": me.user_id, "profile": None},
           "contract": contract_today(today), "steps": steps, "limits_before": {},
           "warnings": [], "journal_head": journal.head_hash}
    (run / "run.json").write_text(json.dumps(raw, indent=2), encoding="utf-8")
    return run
