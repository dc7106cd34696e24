"""Users for the auth layer: lookups, passwords, freeze state, login history.

Passwords live in the emulator-only `_password` table (never in a queryable object).
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from sfexit_emulator.schema import Schema
from sfexit_emulator.store_db import format_datetime, json_converter
from sfexit_emulator.store_records import fetch_row


def user_row(conn: sqlite3.Connection, schema: Schema, where: str, value: str) -> dict[str, Any] | None:
    """Flat User fields in REST value forms, plus ProfileName and IsFrozen."""
    obj = schema.objects["User"]
    row = conn.execute(f'SELECT "Id" FROM "User" WHERE {where} AND "IsDeleted" = 0', (value,)).fetchone()
    if row is None:
        return None
    stored = fetch_row(conn, obj, row[0])
    assert stored is not None
    out: dict[str, Any] = {}
    for f in obj.stored_fields:
        conv = json_converter(f)
        out[f.name] = conv(stored[f.name]) if conv and stored[f.name] is not None else stored[f.name]
    extra = conn.execute('SELECT p."Name", l."IsFrozen" FROM "User" u LEFT JOIN "Profile" p ON p."Id" = '
                         'u."ProfileId" LEFT JOIN "UserLogin" l ON l."UserId" = u."Id" WHERE u."Id" = ?',
                         (row[0],)).fetchone()
    out["ProfileName"] = extra[0]
    out["IsFrozen"] = bool(extra[1])
    return out


def password_matches(conn: sqlite3.Connection, username: str, password: str) -> bool:
    """The password, or the password with the security token appended (SOAP / password grant)."""
    row = conn.execute('SELECT p.password, p.token FROM _password p JOIN "User" u ON u."Id" = p.user_id '
                       'WHERE u."Username" = ? COLLATE NOCASE', (username,)).fetchone()
    if row is None:
        return False
    return password in (row[0], row[0] + row[1])


def frozen(conn: sqlite3.Connection, user_id: str) -> bool:
    row = conn.execute('SELECT "IsFrozen" FROM "UserLogin" WHERE "UserId" = ?', (user_id,)).fetchone()
    return bool(row and row[0])


def insert_login(conn: sqlite3.Connection, login_id: str, user_id: str, now: datetime, login_type: str,
                 status: str, application: str, source_ip: str) -> None:
    """A LoginHistory row; a successful login also sets User.LastLoginDate."""
    stamp = format_datetime(now)
    conn.execute('INSERT INTO "LoginHistory" ("Id", "UserId", "LoginTime", "LoginType", "SourceIp", "LoginUrl", '
                 '"Browser", "Platform", "Status", "Application", "ApiType", "IsDeleted") '
                 "VALUES (?, ?, ?, ?, ?, '127.0.0.1', 'Unknown', 'Unknown', ?, ?, 'N/A', 0)",
                 (login_id, user_id, stamp, login_type, source_ip, status, application))
    if status == "Success":
        conn.execute('UPDATE "User" SET "LastLoginDate" = ? WHERE "Id" = ?', (stamp, user_id))
