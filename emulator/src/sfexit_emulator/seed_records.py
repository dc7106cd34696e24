"""Seed: the data objects, scaled by `records` (about the total row count across them).

Rows are generated lazily into executemany (constant memory besides parent id lists). Text
deliberately carries commas, double quotes, LF and CR LF line breaks, non-Latin scripts and emoji,
so exports and CSV writers meet them. About 3% of rows are soft-deleted (IsDeleted = 1).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

from sfexit_emulator.seed import SeedContext

# Share of `records` per object (sums to ~0.98; users, files and logs make up the rest).
QUOTAS = {"Account": 0.08, "Contact": 0.15, "Opportunity": 0.09, "Lead": 0.09, "Case": 0.08,
          "Task": 0.15, "Event": 0.07, "Campaign": 0.004, "CampaignMember": 0.04, "Project__c": 0.03,
          "Invoice__c": 0.05, "Note": 0.02, "AccountHistory": 0.04, "AccountShare": 0.03,
          "AccountTeamMember": 0.015, "OpportunityTeamMember": 0.015, "AcceptedEventRelation": 0.02,
          "Contract": 0.01}
DELETED_SHARE = 0.03
COMPANIES = ("Müller & Søn, \"Nord\"\nZweigstelle", "株式会社サンプル商事", "Ελληνικά Τρόφιμα Α.Ε.",
             "Café Rocket 🚀 Ltd", "O'Brien Holdings", "Smith, Jones and \"Partners\"", "Acme Corp",
             "Globex Corporation", "Initech", "Umbrella plc", "Björk Design AB", "Zürich Consult GmbH",
             "北京测试有限公司", "Ünal Tekstil A.Ş.", "Wüstenrot\r\nFiliale Süd", "Nordwind Logistik",
             "Société Générale de Test", "Kowalski i Synowie sp. z o.o.", "Tata & Sons", "Helios S.A.")
DESCRIPTIONS = (None, None, "Key account; renewal due.", "Line one\nLine two, with comma",
                "Windows line\r\nbreak and \"quotes\"", "Κρίσιμος πελάτης — προτεραιότητα",
                "重要な顧客です。", "Emoji ✅🚀 and tabs\tinside", "Plain text")
FIRST = ("Anna", "Lukas", "Sofía", "Mateo", "Zoë", "Björn", "Chloé", "Nikos", "Ελένη", "美咲", "Priya",
         "Omar", "Olivia", "Noah", "Łukasz", "Søren", "Aoife", "José", "Mei", "Dmitri")
LAST = ("Schmidt", "García", "Dubois", "Papadopoulos", "Παπαδάκης", "佐藤", "Sharma", "Haddad",
        "O'Connor", "Nguyen", "Kowalski", "Jørgensen", "Müller", "Rossi", "Novák", "Smith", "Silva",
        "Lindström", "Ó Briain", "Ivanov")
CITIES = (("Hamburg", "20457", "Germany", 53.55, 9.99), ("Paris", "75002", "France", 48.87, 2.34),
          ("Αθήνα", "105 57", "Greece", 37.98, 23.73), ("東京", "100-0005", "Japan", 35.68, 139.76),
          ("New York", "10001", "United States", 40.75, -73.99), ("São Paulo", "01310-100", "Brazil", -23.56, -46.65),
          ("Dublin", "D02 X285", "Ireland", 53.34, -6.26), ("Kraków", "31-001", "Poland", 50.06, 19.94))


def count_for(ctx: SeedContext, obj: str, minimum: int = 3) -> int:
    return max(minimum, int(ctx.records * QUOTAS[obj]))


def seed_data(ctx: SeedContext) -> None:
    accounts = _accounts(ctx)
    contacts = _contacts(ctx, accounts)
    opps = _opportunities(ctx, accounts, contacts)
    leads = _leads(ctx, accounts, contacts, opps)
    cases = _cases(ctx, accounts, contacts)
    campaigns = _campaigns(ctx)
    projects = _projects(ctx, accounts)
    ctx.ids_by_object.update({"Account": accounts, "Contact": contacts, "Opportunity": opps, "Lead": leads,
                              "Case": cases, "Campaign": campaigns, "Project__c": projects})
    _invoices(ctx, projects)
    _activities(ctx)
    _campaign_members(ctx, campaigns, contacts, leads)
    _account_side_tables(ctx, accounts, opps)
    _notes_and_contracts(ctx, accounts, contacts, opps)


def _common(ctx: SeedContext) -> tuple[str, str, str, str, int]:
    """(CreatedDate, CreatedById, LastModifiedDate, SystemModstamp, IsDeleted) of one row."""
    created, modified = ctx.stamps()
    rng = ctx.rng
    return created, ctx.values["owner_pool"][int(rng.random() * len(ctx.values["owner_pool"]))], modified, \
        modified, 1 if rng.random() < DELETED_SHARE else 0


def _owner(ctx: SeedContext, queue: str | None = None, share: float = 0.05) -> str:
    if queue is not None and ctx.rng.random() < share:
        return str(ctx.values["queues"][queue])
    pool = ctx.values["owner_pool"]
    return str(pool[int(ctx.rng.random() * len(pool))])


_SYSTEM = ["CreatedDate", "CreatedById", "LastModifiedDate", "SystemModstamp", "IsDeleted", "LastModifiedById"]


def _accounts(ctx: SeedContext) -> list[str]:
    n = count_for(ctx, "Account")
    ids = ctx.ids("001", n)
    rng = ctx.rng
    industries = ctx.picklist("Account", "Industry")
    types = ctx.picklist("Account", "Type")

    def rows() -> Iterator[tuple[Any, ...]]:
        for i, rid in enumerate(ids):
            c = _common(ctx)
            city, postal, country, lat, lon = CITIES[int(rng.random() * len(CITIES))]
            geo = rng.random() < 0.5
            ship = rng.random() < 0.4
            yield (rid, f"{COMPANIES[i % len(COMPANIES)]} {i + 1}", rng.choice(types), rng.choice(industries),
                   f"{i % 300 + 1} Market Street, Suite \"{i % 9}\"", city, postal, country,
                   lat if geo else None, lon if geo else None, "Address" if geo else None,
                   f"{i % 50 + 1} Dock Road" if ship else None, city if ship else None, country if ship else None,
                   f"+49 40 {1000000 + i}", round(rng.random() * 5e7, 2), int(rng.random() * 5000),
                   DESCRIPTIONS[i % len(DESCRIPTIONS)], _owner(ctx), rng.choice(("Hot", "Warm", "Cold", None)),
                   *c, c[1])
    ctx.insert("Account", ["Id", "Name", "Type", "Industry", "BillingStreet", "BillingCity", "BillingPostalCode",
                           "BillingCountry", "BillingLatitude", "BillingLongitude", "BillingGeocodeAccuracy",
                           "ShippingStreet", "ShippingCity", "ShippingCountry", "Phone", "AnnualRevenue",
                           "NumberOfEmployees", "Description", "OwnerId", "Rating", *_SYSTEM], rows())
    return ids


def _person(ctx: SeedContext, i: int) -> tuple[str, str]:
    rng = ctx.rng
    return FIRST[int(rng.random() * len(FIRST))], f"{LAST[int(rng.random() * len(LAST))]}"


def _contacts(ctx: SeedContext, accounts: list[str]) -> list[str]:
    ids = ctx.ids("003", count_for(ctx, "Contact"))
    rng = ctx.rng
    sources = ctx.picklist("Contact", "LeadSource")

    def rows() -> Iterator[tuple[Any, ...]]:
        for i, rid in enumerate(ids):
            c = _common(ctx)
            first, last = _person(ctx, i)
            city, postal, country, lat, lon = CITIES[i % len(CITIES)]
            yield (rid, accounts[int(rng.random() * len(accounts))] if rng.random() < 0.92 else None, first, last,
                   f"{first} {last}", f"c{i}@example.com", f"+33 1 {4000000 + i}", rng.choice(("CEO", "CFO", "Buyer",
                   "Einkaufsleiter, \"Süd\"", None)), f"{i % 99 + 1} Rue de la Paix", city, postal, country,
                   rng.choice(sources), DESCRIPTIONS[(i * 7) % len(DESCRIPTIONS)], _owner(ctx), *c, c[1])
    ctx.insert("Contact", ["Id", "AccountId", "FirstName", "LastName", "Name", "Email", "Phone", "Title",
                           "MailingStreet", "MailingCity", "MailingPostalCode", "MailingCountry", "LeadSource",
                           "Description", "OwnerId", *_SYSTEM], rows())
    return ids


def _opportunities(ctx: SeedContext, accounts: list[str], contacts: list[str]) -> list[str]:
    ids = ctx.ids("006", count_for(ctx, "Opportunity"))
    rng = ctx.rng
    stages = ctx.picklist("Opportunity", "StageName")

    def rows() -> Iterator[tuple[Any, ...]]:
        for i, rid in enumerate(ids):
            c = _common(ctx)
            stage = stages[int(rng.random() * len(stages))]
            closed, won = stage.startswith("Closed"), stage == "Closed Won"
            close = (ctx.anchor + timedelta(days=int(rng.uniform(-700, 200)))).date().isoformat()
            yield (rid, accounts[int(rng.random() * len(accounts))], f"Deal {i + 1}: renewal, \"phase {i % 4}\"",
                   stage, round(rng.random() * 250000, 2), 100 if won else (0 if closed else 10 * (i % 9 + 1)),
                   close, int(closed), int(won), *(("Closed" if won else ("Omitted" if closed else "Pipeline"),) * 2),
                   _owner(ctx), contacts[int(rng.random() * len(contacts))] if rng.random() < 0.5 else None, *c, c[1])
    ctx.insert("Opportunity", ["Id", "AccountId", "Name", "StageName", "Amount", "Probability", "CloseDate", "IsClosed",
                               "IsWon", "ForecastCategory", "ForecastCategoryName", "OwnerId", "ContactId", *_SYSTEM], rows())
    return ids


def _leads(ctx: SeedContext, accounts: list[str], contacts: list[str], opps: list[str]) -> list[str]:
    ids = ctx.ids("00Q", count_for(ctx, "Lead"))
    rng = ctx.rng
    statuses = [s for s in ctx.picklist("Lead", "Status") if s != "Closed - Converted"]

    def rows() -> Iterator[tuple[Any, ...]]:
        for i, rid in enumerate(ids):
            c = _common(ctx)
            first, last = _person(ctx, i)
            converted = rng.random() < 0.12
            queue = "Support Queue" if i % 2 else "Lead Qualification"
            city, postal, country, _, _ = CITIES[i % len(CITIES)]
            yield (rid, first, last, f"{first} {last}", f"{COMPANIES[(i * 3) % len(COMPANIES)]} (lead {i})",
                   "Closed - Converted" if converted else rng.choice(statuses), f"l{i}@example.org", city, country,
                   int(converted), c[2][:10] if converted else None,
                   accounts[int(rng.random() * len(accounts))] if converted else None,
                   contacts[int(rng.random() * len(contacts))] if converted else None,
                   opps[int(rng.random() * len(opps))] if converted and rng.random() < 0.7 else None,
                   _owner(ctx, queue, 0.08), *c, c[1])
    ctx.insert("Lead", ["Id", "FirstName", "LastName", "Name", "Company", "Status", "Email", "City", "Country",
                        "IsConverted", "ConvertedDate", "ConvertedAccountId", "ConvertedContactId",
                        "ConvertedOpportunityId", "OwnerId", *_SYSTEM], rows())
    return ids


def _cases(ctx: SeedContext, accounts: list[str], contacts: list[str]) -> list[str]:
    ids = ctx.ids("500", count_for(ctx, "Case"))
    rng = ctx.rng
    statuses, origins = ctx.picklist("Case", "Status"), ctx.picklist("Case", "Origin")
    priorities = ctx.picklist("Case", "Priority")

    def rows() -> Iterator[tuple[Any, ...]]:
        for i, rid in enumerate(ids):
            c = _common(ctx)
            status = statuses[int(rng.random() * len(statuses))]
            closed = status == "Closed"
            yield (rid, f"{i + 1:08d}", accounts[int(rng.random() * len(accounts))],
                   contacts[int(rng.random() * len(contacts))], status, int(closed), c[2] if closed else None,
                   rng.choice(origins), rng.choice(priorities), f"Problem #{i}: \"it broke\", again",
                   DESCRIPTIONS[(i * 5) % len(DESCRIPTIONS)], _owner(ctx, "Support Queue", 0.1), *c, c[1])
    ctx.insert("Case", ["Id", "CaseNumber", "AccountId", "ContactId", "Status", "IsClosed", "ClosedDate", "Origin",
                        "Priority", "Subject", "Description", "OwnerId", *_SYSTEM], rows())
    return ids


def _campaigns(ctx: SeedContext) -> list[str]:
    ids = ctx.ids("701", count_for(ctx, "Campaign"))
    rng = ctx.rng
    counters = ["NumberOfLeads", "NumberOfConvertedLeads", "NumberOfContacts", "NumberOfResponses",
                "NumberOfOpportunities", "NumberOfWonOpportunities", "AmountAllOpportunities", "AmountWonOpportunities"]
    ctx.insert("Campaign", ["Id", "Name", "Type", "Status", "StartDate", "IsActive", "OwnerId", *_SYSTEM, *counters],
               [(rid, f"Campaign {i + 1} — Frühjahr/春", rng.choice(ctx.picklist("Campaign", "Type") or ("Email",)),
                 rng.choice(ctx.picklist("Campaign", "Status") or ("Planned",)),
                 (ctx.anchor - timedelta(days=rng.randrange(1, 700))).date().isoformat(), int(rng.random() < 0.5),
                 _owner(ctx), *(c := _common(ctx)), c[1], *([0] * len(counters))) for i, rid in enumerate(ids)])
    return ids


def _projects(ctx: SeedContext, accounts: list[str]) -> list[str]:
    ids = ctx.ids("a01", count_for(ctx, "Project__c"))
    rng = ctx.rng
    account_of: list[str] = []

    def rows() -> Iterator[tuple[Any, ...]]:
        for i, rid in enumerate(ids):
            c = _common(ctx)
            account = accounts[int(rng.random() * len(accounts))]
            account_of.append(account)
            start = ctx.anchor - timedelta(days=rng.randrange(0, 900))
            located = rng.random() < 0.6
            yield (rid, f"Projekt {i + 1}: Rollout, Phase \"{i % 3 + 1}\"", account,
                   rng.choice(("Planned", "Active", "On Hold", "Done")), start.date().isoformat(),
                   (start + timedelta(days=rng.randrange(30, 400))).date().isoformat(), round(rng.random() * 1e6, 2),
                   "Scope:\r\n- site survey\r\n- install, test" if i % 4 == 0 else DESCRIPTIONS[i % len(DESCRIPTIONS)],
                   round(rng.uniform(-60, 70), 6) if located else None,
                   round(rng.uniform(-170, 170), 6) if located else None,
                   _owner(ctx, "Project Intake", 0.06), *c, c[1])
    ctx.insert("Project__c", ["Id", "Name", "Account__c", "Status__c", "Start_Date__c", "End_Date__c", "Budget__c",
                              "Description__c", "Site_Location__Latitude__s", "Site_Location__Longitude__s",
                              "OwnerId", *_SYSTEM], rows())
    ctx.values["project_accounts"] = account_of
    return ids


def _invoices(ctx: SeedContext, projects: list[str]) -> None:
    ids = ctx.ids("a02", count_for(ctx, "Invoice__c"))
    rng = ctx.rng
    accounts = ctx.values["project_accounts"]

    def rows() -> Iterator[tuple[Any, ...]]:
        for i, rid in enumerate(ids):
            c = _common(ctx)
            k = int(rng.random() * len(projects))
            status = rng.choice(("Draft", "Sent", "Paid", "Void"))
            yield (rid, f"INV-{i + 1:06d}", projects[k], accounts[k], round(rng.random() * 50000, 2),
                   (ctx.anchor + timedelta(days=rng.randrange(-600, 60))).date().isoformat(), status,
                   int(status == "Paid"), "Net 30, \"skonto\" 2%" if i % 5 == 0 else None, *c, c[1])
    ctx.insert("Invoice__c", ["Id", "Name", "Project__c", "Account__c", "Amount__c", "Due_Date__c", "Status__c",
                              "Paid__c", "Notes__c", *_SYSTEM], rows())


def _activities(ctx: SeedContext) -> None:
    from sfexit_emulator.seed_records_activities import seed_activities
    seed_activities(ctx)


def _campaign_members(ctx: SeedContext, campaigns: list[str], contacts: list[str], leads: list[str]) -> None:
    ids = ctx.ids("00v", count_for(ctx, "CampaignMember"))
    rng = ctx.rng

    def rows() -> Iterator[tuple[Any, ...]]:
        for rid in ids:
            c = _common(ctx)
            is_contact = rng.random() < 0.6
            status = rng.choice(("Sent", "Responded", "Planned", "Received"))
            yield (rid, campaigns[int(rng.random() * len(campaigns))],
                   contacts[int(rng.random() * len(contacts))] if is_contact else None,
                   None if is_contact else leads[int(rng.random() * len(leads))], status,
                   int(status == "Responded"), *c, c[1])
    ctx.insert("CampaignMember", ["Id", "CampaignId", "ContactId", "LeadId", "Status", "HasResponded", *_SYSTEM],
               rows())


def _account_side_tables(ctx: SeedContext, accounts: list[str], opps: list[str]) -> None:
    from sfexit_emulator.seed_records_activities import seed_account_side_tables
    seed_account_side_tables(ctx, accounts, opps)


def _notes_and_contracts(ctx: SeedContext, accounts: list[str], contacts: list[str], opps: list[str]) -> None:
    from sfexit_emulator.seed_records_activities import seed_notes_and_contracts
    seed_notes_and_contracts(ctx, accounts, contacts, opps)
