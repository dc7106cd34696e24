"""The deterministic generator of the demo org: same (seed, records, day) -> byte-identical SQLite.

`build_org(path, seed=, records=, now=)` writes a complete org: Organization, licences, profiles,
permission sets, roles, ~50 users of every kind (seed_users.py), queues and groups, the data
objects scaled by `records` (seed_records.py) and files with generated bodies (seed_files.py).
Every random choice comes from `random.Random(seed)` in a fixed order; dates are relative to the
start of `now`'s UTC day, so the whole day shares one cached template.

The build writes with journal_mode=OFF / synchronous=OFF in one transaction and creates indexes
last: 1,000,000 rows take well under a minute (bench/seed_1m.py).
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

from sfexit_emulator.ids import ID_NUMBER_BASE, make_id
from sfexit_emulator.schema import Schema
from sfexit_emulator.store_db import create_indexes, create_tables, format_datetime, quote

# Bump when the seeded content changes meaning; the cache key also hashes the seed code itself.
SEED_FORMAT_VERSION = 3  # 3: ObjectPermissions rows
DOMAIN = "sfexit-demo.example"


@dataclass(frozen=True)
class DemoLogin:
    username: str
    password: str
    security_token: str


@dataclass(frozen=True)
class DemoCredentials(DemoLogin):
    """The demo admin's login (top-level attributes), a standard user's, and well-known users."""
    standard: DemoLogin
    departing_username: str


DEMO_CREDENTIALS = DemoCredentials(
    username=f"admin@{DOMAIN}", password="Emulator-Admin-1", security_token="EmuAdminToken7Qx2Lp9Vz4Rk",
    standard=DemoLogin(f"standard.user@{DOMAIN}", "Emulator-Standard-1", "EmuStdToken3Hf8Wc1Nb6Yt2"),
    departing_username=f"departing.user@{DOMAIN}",
)


def seed_fingerprint() -> str:
    """A short hash of everything that shapes a seeded org, so code changes never reuse a stale cache."""
    here = Path(__file__).parent
    digest = hashlib.sha256(str(SEED_FORMAT_VERSION).encode())
    for name in ("seed.py", "seed_users.py", "seed_records.py", "seed_records_activities.py", "seed_files.py", "schema.py",
                 "store_db.py", "ids.py", "orgrules.py", "data/standard-objects.json", "data/emulator-objects.json"):
        digest.update((here / name).read_bytes())
    return digest.hexdigest()[:10]


@dataclass
class SeedContext:
    conn: sqlite3.Connection
    schema: Schema
    rng: random.Random
    anchor: datetime  # 00:00 UTC of the seeding day
    records: int
    seed: int
    counters: dict[str, int] = field(default_factory=dict)
    ids_by_object: dict[str, list[str]] = field(default_factory=dict)
    values: dict[str, Any] = field(default_factory=dict)  # named users, queues... for later steps
    stamp_pairs: list[tuple[str, str]] = field(default_factory=list)

    def ids(self, prefix: str, n: int) -> list[str]:
        start = self.counters.get(prefix, 0)
        self.counters[prefix] = start + n
        return [make_id(prefix, ID_NUMBER_BASE + start + i + 1) for i in range(n)]

    def insert(self, obj: str, columns: Sequence[str], rows: Iterable[Sequence[Any]]) -> None:
        cols = ", ".join(quote(c) for c in columns)
        marks = ", ".join("?" for _ in columns)
        self.conn.executemany(f"INSERT INTO {quote(obj)} ({cols}) VALUES ({marks})", rows)

    def ago(self, days: float) -> str:
        return format_datetime(self.anchor - timedelta(days=days))

    def stamps(self) -> tuple[str, str]:
        """(CreatedDate, LastModifiedDate) within the last 3 years, from a precomputed pool."""
        return self.stamp_pairs[int(self.rng.random() * len(self.stamp_pairs))]

    def picklist(self, obj: str, field_name: str) -> tuple[str, ...]:
        f = self.schema.objects[obj].field(field_name)
        assert f is not None
        return f.picklist


def _stamp_pool(rng: random.Random, anchor: datetime, size: int = 8192) -> list[tuple[str, str]]:
    span = 3 * 365 * 86400
    pairs = []
    for _ in range(size):
        age = rng.randrange(3600, span)
        modified_age = rng.randrange(0, age) if rng.random() < 0.6 else age
        pairs.append((format_datetime(anchor - timedelta(seconds=age)),
                      format_datetime(anchor - timedelta(seconds=modified_age))))
    return pairs


def build_org(path: Path, *, seed: int, records: int, now: datetime) -> None:
    """Write a complete seeded org to `path` (which must not exist)."""
    from sfexit_emulator import seed_files, seed_records, seed_users

    conn = sqlite3.connect(str(path), isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode=OFF")
        conn.execute("PRAGMA synchronous=OFF")
        conn.execute("PRAGMA cache_size=-200000")
        schema = Schema.load()
        create_tables(conn, schema)
        conn.execute("BEGIN")
        day = now.astimezone(timezone.utc).date() if now.tzinfo else now.date()
        anchor = datetime.combine(day, time(), timezone.utc)
        rng = random.Random(seed)
        ctx = SeedContext(conn, schema, rng, anchor, records, seed)
        ctx.stamp_pairs = _stamp_pool(rng, anchor)
        _organization(ctx)
        seed_users.seed_people(ctx)
        seed_records.seed_data(ctx)
        seed_files.seed_files(ctx)
        seed_users.seed_audit_and_logins(ctx)
        conn.executemany("INSERT INTO _idseq (prefix, next) VALUES (?, ?)",
                         sorted((p, ID_NUMBER_BASE + n + 1) for p, n in ctx.counters.items()))
        conn.execute("COMMIT")
        create_indexes(conn, schema)
        conn.execute("PRAGMA journal_mode=DELETE")
    finally:
        conn.close()


_ORG_NAMES = ("Nordwind Handels GmbH", "Acme Industrial Supply Ltd", "Müller & Søn Logistik AG",
              "Helios Renewables S.A.", "Kōbe Precision Tools K.K.")


def _organization(ctx: SeedContext) -> None:
    (org_id,) = ctx.ids("00D", 1)
    name = _ORG_NAMES[ctx.seed % len(_ORG_NAMES)]
    ctx.values["org_id"] = org_id
    ctx.values["org_name"] = name
    created = ctx.ago(6 * 365 + 17)
    # CreatedById is the first admin; its id is known before users exist (first 005 id).
    admin_id = make_id("005", ID_NUMBER_BASE + 1)
    ctx.insert("Organization",
               ["Id", "Name", "Street", "City", "PostalCode", "Country", "Phone", "DefaultLocaleSidKey",
                "TimeZoneSidKey", "LanguageLocaleKey", "ReceivesInfoEmails", "ReceivesAdminInfoEmails",
                "FiscalYearStartMonth", "DefaultAccountAccess", "DefaultContactAccess",
                "DefaultOpportunityAccess", "DefaultLeadAccess", "DefaultCaseAccess",
                "DefaultCalendarAccess", "DefaultPricebookAccess", "DefaultCampaignAccess",
                "SystemModstamp", "UiSkin", "SignupCountryIsoCode", "TrialExpirationDate",
                "OrganizationType", "NamespacePrefix", "InstanceName", "IsSandbox", "IsReadOnly",
                "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById"],
               [(org_id, name, "Speicherstraße 12\nHaus B", "Hamburg", "20457", "Germany",
                 "+49 40 1234567", "de_DE", "Europe/Berlin", "en_US", 0, 1, 1, "Read", "ControlledByParent",
                 "Read", "ReadEditTransfer", "ReadEditTransfer", "HideDetailsInsert", "ReadSelect",
                 "All", ctx.ago(30), "Theme3", "DE", None, "Enterprise Edition", None, "EU46", 0, 0,
                 created, admin_id, ctx.ago(30), admin_id)])
    ctx.conn.executemany("INSERT INTO _setting (key, value) VALUES (?, ?)",
                         [("org.id", org_id), ("org.name", name), ("seed", str(ctx.seed)),
                          ("records", str(ctx.records))])
