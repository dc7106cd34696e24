"""Read-only objects that Salesforce computes from others, served as SQLite TEMP views.

ActivityHistory (Object Reference, sforce_api_objects_activityhistory.htm): "the past activity
of a record: closed tasks and past events"; queryable only as a subquery of its parent
(``SELECT (SELECT … FROM ActivityHistories) FROM Account``; a top-level ``FROM ActivityHistory``
stays refused, store_select.py). Its rows are the closed Tasks and the Events that have ended.
UNCONF (emulator simplification): "ended" is judged on the machine's clock, not the emulator's.
"""

from __future__ import annotations

import sqlite3

from sfexit_emulator.schema import Schema
from sfexit_emulator.store_db import quote

# Views whose rows depend on the machine's clock (not only on the stored data).
CLOCK_VIEWS = ("ActivityHistory",)
# ActivityHistory fields with no same-named column on Task / Event.
_TASK_ONLY = {"IsTask": "1", "ActivityType": "'Task'", "IsAllDayEvent": "0"}
_EVENT_ONLY = {"IsTask": "0", "ActivityType": "'Event'", "IsClosed": "1", "IsHighPriority": "0"}


def _select(schema: Schema, source: str, fixed: dict[str, str], where: str) -> str | None:
    view, table = schema.get("ActivityHistory"), schema.get(source)
    if view is None or table is None:
        return None
    stored = {f.name for f in table.stored_fields}
    columns = []
    for f in view.stored_fields:
        value = fixed.get(f.name) or (f"{quote(f.name)}" if f.name in stored else "NULL")
        columns.append(f"{value} AS {quote(f.name)}")
    return f"SELECT {', '.join(columns)} FROM {quote(source)} WHERE {where}"


def create_views(conn: sqlite3.Connection, schema: Schema) -> None:
    """Create this connection's TEMP views (one statement each, idempotent)."""
    tasks = _select(schema, "Task", _TASK_ONLY, '"IsClosed" = 1')
    events = _select(schema, "Event", _EVENT_ONLY,
                     "\"EndDateTime\" < strftime('%Y-%m-%dT%H:%M:%fZ', 'now')")
    if tasks and events:
        conn.execute(f'CREATE TEMP VIEW IF NOT EXISTS "ActivityHistory" AS {tasks} UNION ALL {events}')
