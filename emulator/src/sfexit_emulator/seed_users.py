"""Seed: licences, profiles, permission sets (with their object permissions), roles, ~50 users, queues
and groups, audit and logins.

Users of every kind users-protocol.md §1 names: 3 System Administrators (one is the demo admin),
standard users (one "departing" with a large share of records, one demo standard user), an API-only
integration user, Automated Process, the Platform Integration User, 3 Chatter Free, 5 inactive,
3 frozen, and the holders of every deactivation blocker of §3 (default lead/case owner, Web-to-Lead
creator, Default Workflow User, a custom hierarchy field value, a manager of active users).
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any

from sfexit_emulator.seed import DEMO_CREDENTIALS, DOMAIN, SeedContext

# (Name, LicenseDefinitionKey, TotalLicenses). UNCONF: the keys of the Integration and Cloud
# Integration licences (users-protocol §1 confirms SFDC, AUL, PID_Chatter only).
LICENCES = (("Salesforce", "SFDC", 60), ("Salesforce Platform", "AUL", 10),
            ("Chatter Free", "PID_Chatter", 5000), ("Chatter External", "PID_Chatter_External", 500),
            ("Salesforce Integration", "PID_Salesforce_Integration", 5),
            ("Cloud Integration User", "PID_Cloud_Integration_User", 1))
_STANDARD_PERMS = ("PermissionsApiEnabled", "PermissionsEditTask", "PermissionsEditEvent",
                   "PermissionsRunReports", "PermissionsConvertLeads", "PermissionsExportReport",
                   "PermissionsImportPersonal", "PermissionsChatterInternalUser", "PermissionsTransferAnyLead")
# (profile, licence, permissions: "all" or a tuple). The admin profile lacks Query All Files, as
# in an org where nobody granted it, so the demo admin meets the ContentDocumentLink restriction.
# A real System Administrator has it only once someone grants it: "To grant users access to
# content files and objects, create a permission set with user permissions and assign it to
# users"; View All Data alone "allows you to query only files that you own or have access to"
# (help.salesforce.com experience.collab_files_query; backup vendors ask the same of their API
# user: helpdesk.kaseya.com 22609283259153).
# "all" never includes API Only User: a real System Administrator logs in to the UI too.
_NOT_IN_ALL = frozenset({"PermissionsQueryAllFiles", "PermissionsApiUserOnly"})
PROFILES = (
    ("System Administrator", "Salesforce", "all"),
    ("Standard User", "Salesforce", _STANDARD_PERMS),
    ("Marketing User", "Salesforce", _STANDARD_PERMS),
    ("Read Only", "Salesforce", ("PermissionsApiEnabled", "PermissionsRunReports")),
    ("Contract Manager", "Salesforce", _STANDARD_PERMS),
    ("Minimum Access - Salesforce", "Salesforce", ()),
    ("Standard Platform User", "Salesforce Platform", _STANDARD_PERMS),
    ("Chatter Free User", "Chatter Free", ("PermissionsChatterInternalUser",)),
    ("Salesforce API Only System Integrations", "Salesforce Integration",
     ("PermissionsApiEnabled", "PermissionsApiUserOnly")),
    ("Minimum Access - API Only Integrations", "Cloud Integration User",
     ("PermissionsApiEnabled", "PermissionsApiUserOnly")),
)
ROLES = (("CEO", None), ("VP Sales", "CEO"), ("Sales Manager EMEA", "VP Sales"),
         ("Sales Rep EMEA", "Sales Manager EMEA"), ("Sales Manager APAC", "VP Sales"),
         ("Sales Rep APAC", "Sales Manager APAC"), ("VP Support", "CEO"), ("Support Agent", "VP Support"),
         ("Marketing", "CEO"))
QUEUES = (("Support Queue", ("Case", "Lead")), ("Lead Qualification", ("Lead",)),
          ("Project Intake", ("Project__c",)))
_FIRST = ("Anna", "Lukas", "Sofía", "Mateo", "Zoë", "Björn", "Chloé", "Nikos", "Ελένη", "Γιώργος",
          "美咲", "翔太", "Priya", "Arjun", "Fatima", "Omar", "Olivia", "Noah", "Élodie", "Łukasz",
          "Ingrid", "Søren", "Aoife", "Tomás", "Mei", "Jun")
_LAST = ("Schmidt", "García", "Dubois", "Papadopoulos", "Παπαδάκης", "佐藤", "鈴木", "Sharma",
         "Haddad", "O'Connor", "Nguyen", "Kowalski", "Jørgensen", "Müller", "Rossi", "Novák",
         "Smith", "Silva", "Lindström", "Ó Briain")


@dataclass
class UserSpec:
    key: str
    first: str | None
    last: str
    local: str  # username before the @
    profile: str
    user_type: str = "Standard"
    active: bool = True
    frozen: bool = False
    last_login_days: float | None = 1.0
    role: str | None = None
    title: str | None = None


def _ascii(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text.replace("ø", "o").replace("ł", "l").replace("ß", "ss"))
    return "".join(c for c in plain if c.isascii() and (c.isalnum() or c in ".-")).lower()


def _fixed_users() -> list[UserSpec]:
    return [
        UserSpec("admin", "Ada", "Admin", "admin", "System Administrator", role="CEO", title="Salesforce Administrator"),
        UserSpec("admin2", "Sofia", "Lindqvist", "sofia.lindqvist", "System Administrator", role="CEO"),
        UserSpec("admin3", "健二", "渡辺", "kenji.watanabe", "System Administrator", last_login_days=40),
        UserSpec("standard", "Sam", "Standard", "standard.user", "Standard User", role="Sales Rep EMEA"),
        UserSpec("departing", "Jürgen", "Müller-Lüdenscheidt", "departing.user", "Standard User",
                 role="Sales Rep EMEA", title="Senior Account Executive"),
        UserSpec("integration", "Integration", "User", "integration", "Salesforce API Only System Integrations",
                 last_login_days=0.1),
        UserSpec("autoproc", None, "Automated Process", "autoproc", "Minimum Access - Salesforce",
                 user_type="AutomatedProcess", last_login_days=None),
        UserSpec("cloudint", "Platform Integration", "User", "platform.integration",
                 "Minimum Access - API Only Integrations", user_type="CloudIntegrationUser", last_login_days=None),
        UserSpec("lead_owner", "Lena", "Lead-Router", "lead.router", "Standard User", role="Marketing"),
        UserSpec("case_owner", "Carlos", "Casero", "support.manager", "Standard User", role="VP Support"),
        UserSpec("web2lead", "Wendy", "Webform", "web2lead", "Marketing User", role="Marketing"),
        UserSpec("escalation", "Eero", "Eskola", "escalation.manager", "Standard User", role="VP Support"),
        UserSpec("team_lead", "Teresa", "Ó Briain", "team.lead", "Standard User", role="Sales Manager EMEA"),
    ] + [UserSpec(f"chatter{i}", f, "Chatter", f"chatter{i}", "Chatter Free User", user_type="CsnOnly",
                  last_login_days=d)
         for i, (f, d) in enumerate((("Charlie", 3.0), ("Ψάπφω", 400.0), ("Chen", None)), 1)]


def _generated_users(ctx: SeedContext) -> list[UserSpec]:
    rng = ctx.rng
    specs = []
    roles = ("Sales Rep EMEA", "Sales Rep APAC", "Support Agent", "Marketing", "Sales Manager APAC")
    used: set[str] = set()
    for i in range(34):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        local = f"{_ascii(first) or 'user'}.{_ascii(last) or 'x'}"
        while local in used:
            local += str(i)
        used.add(local)
        roll = rng.random()
        login = rng.uniform(0.05, 14) if roll < 0.7 else (rng.uniform(181, 700) if roll < 0.85
                                                          else (None if roll < 0.95 else rng.uniform(30, 180)))
        spec = UserSpec(f"user{i}", first, last, local, rng.choice(("Standard User", "Standard User",
                        "Marketing User", "Read Only", "Contract Manager", "Standard Platform User")),
                        last_login_days=login, role=rng.choice(roles))
        if i < 5:
            spec.active, spec.last_login_days = False, rng.uniform(200, 900)
        elif i < 8:
            spec.frozen = True
        specs.append(spec)
    return specs


def seed_people(ctx: SeedContext) -> None:
    fixed = _fixed_users()
    users = fixed + _generated_users(ctx)
    user_ids = dict(zip((u.key for u in users), ctx.ids("005", len(users))))
    ctx.values["users"] = user_ids
    ctx.values["user_specs"] = users
    admin = user_ids["admin"]
    ctx.conn.executemany("INSERT INTO _setting (key, value) VALUES (?, ?)",
                         [("admin.user_id", admin), ("lead.default_owner", user_ids["lead_owner"]),
                          ("case.default_owner", user_ids["case_owner"]),
                          ("web_to_lead.default_creator", user_ids["web2lead"]),
                          ("workflow.default_user", user_ids["admin2"])])
    licences = _licences(ctx, admin)
    profiles = _profiles(ctx, admin, licences)
    roles = _roles(ctx, admin)
    _users(ctx, users, user_ids, profiles, roles)
    _permission_sets(ctx, admin, users, user_ids, profiles, licences)
    _groups(ctx, admin, users, user_ids)
    _status_tables(ctx, admin)
    from sfexit_emulator.orgrules import recount_licences
    recount_licences(ctx.conn)
    _owner_pools(ctx, users, user_ids)


def _licences(ctx: SeedContext, admin: str) -> dict[str, str]:
    ids = ctx.ids("100", len(LICENCES))
    created = ctx.ago(6 * 365)
    ctx.insert("UserLicense", ["Id", "LicenseDefinitionKey", "TotalLicenses", "Status", "UsedLicenses",
                               "UsedLicensesLastUpdated", "Name", "MasterLabel", "CreatedDate",
                               "LastModifiedDate", "SystemModstamp"],
               [(i, key, total, "Active", 0, ctx.ago(0.5), name, name, created, created, created)
                for i, (name, key, total) in zip(ids, LICENCES)])
    return {name: i for i, (name, _, _) in zip(ids, LICENCES)}


def _profiles(ctx: SeedContext, admin: str, licences: dict[str, str]) -> dict[str, str]:
    perm_fields = [f.name for f in ctx.schema.objects["Profile"].fields if f.name.startswith("Permissions")]
    ids = ctx.ids("00e", len(PROFILES))
    created = ctx.ago(6 * 365)
    cols = ["Id", "Name", "UserLicenseId", "UserType", "CreatedDate", "CreatedById", "LastModifiedDate",
            "LastModifiedById", "SystemModstamp", *perm_fields]
    rows = []
    for pid, (name, licence, perms) in zip(ids, PROFILES):
        flags = [1 if perms == "all" and f not in _NOT_IN_ALL else int(f in perms)
                 for f in perm_fields]
        user_type = "CsnOnly" if licence == "Chatter Free" else "Standard"
        rows.append((pid, name, licences[licence], user_type, created, admin, created, admin, created, *flags))
    ctx.insert("Profile", cols, rows)
    return {name: pid for pid, (name, _, _) in zip(ids, PROFILES)}


def _roles(ctx: SeedContext, admin: str) -> dict[str, str]:
    ids = dict(zip((r for r, _ in ROLES), ctx.ids("00E", len(ROLES))))
    ctx.insert("UserRole", ["Id", "Name", "ParentRoleId", "DeveloperName", "OpportunityAccessForAccountOwner",
                            "CaseAccessForAccountOwner", "ContactAccessForAccountOwner", "LastModifiedDate",
                            "LastModifiedById", "SystemModstamp"],
               [(ids[name], name, ids[parent] if parent else None, name.replace(" ", "_"), "None", "Edit",
                 "Edit", ctx.ago(900), admin, ctx.ago(900)) for name, parent in ROLES])
    return ids


_USER_COLS = ["Id", "Username", "LastName", "FirstName", "Name", "CompanyName", "Title", "Street", "City",
              "PostalCode", "Country", "Email", "Alias", "CommunityNickname", "IsActive", "TimeZoneSidKey",
              "UserRoleId", "LocaleSidKey", "EmailEncodingKey", "ProfileId", "UserType", "LanguageLocaleKey",
              "ManagerId", "Escalation_Manager__c", "LastLoginDate", "LastPasswordChangeDate", "CreatedDate",
              "CreatedById", "LastModifiedDate", "LastModifiedById", "SystemModstamp", "FederationIdentifier", "DigestFrequency",
              "DefaultGroupNotificationFrequency"]


def _users(ctx: SeedContext, users: list[UserSpec], ids: dict[str, str], profiles: dict[str, str],
           roles: dict[str, str]) -> None:
    rng, admin, org_id = ctx.rng, ids["admin"], ctx.values["org_id"]
    cities = (("Hamburg", "20457", "Germany"), ("München", "80331", "Germany"), ("Αθήνα", "105 57", "Greece"),
              ("東京", "100-0005", "Japan"), ("Lyon", "69002", "France"), ("Dublin", "D02 X285", "Ireland"))
    rows = []
    for n, u in enumerate(users):
        domain = f"{org_id.lower()}.example" if u.user_type in ("AutomatedProcess", "CloudIntegrationUser") else DOMAIN
        username = f"{u.local}@{domain}"
        name = f"{u.first} {u.last}" if u.first else u.last
        city, postal, country = cities[n % len(cities)]
        manager = ids["team_lead"] if u.key.startswith("user") and n % 3 == 0 else None
        escalation = ids["escalation"] if u.key.startswith("user") and n % 7 == 1 else None
        login = None if u.last_login_days is None else ctx.ago(u.last_login_days)
        created = ctx.ago(rng.uniform(400, 2000)) if u.key != "admin" else ctx.ago(6 * 365)
        alias = (_ascii(u.first or "")[:1] + _ascii(u.last))[:8] or f"u{n}"
        rows.append((ids[u.key], username, u.last, u.first, name, ctx.values["org_name"], u.title,
                     f"{n + 1} Hauptstraße\nEtage {n % 5}", city, postal, country, f"{u.local}@{DOMAIN}",
                     "autoproc" if u.key == "autoproc" else alias, f"{u.local}.{n}", int(u.active),
                     "Europe/Berlin", roles.get(u.role) if u.role else None, "de_DE", "UTF-8",
                     profiles[u.profile], u.user_type, "en_US", manager, escalation, login,
                     ctx.ago(rng.uniform(1, 90)), created, admin, ctx.ago(rng.uniform(0, 30)), admin,
                     ctx.ago(rng.uniform(0, 30)), None, "D", "N"))
    ctx.insert("User", _USER_COLS, rows)
    login_ids = ctx.ids("0Yw", len(users))
    ctx.insert("UserLogin", ["Id", "UserId", "IsFrozen", "IsPasswordLocked", "LastModifiedDate", "LastModifiedById"],
               [(lid, ids[u.key], int(u.frozen), 0, ctx.ago(20), admin) for lid, u in zip(login_ids, users)])
    demo = {"admin": DEMO_CREDENTIALS, "standard": DEMO_CREDENTIALS.standard}
    ctx.conn.executemany("INSERT INTO _password (user_id, password, token) VALUES (?, ?, ?)",
                         [(ids[u.key], demo[u.key].password if u.key in demo else f"Pw-{u.local}-{n}",
                           demo[u.key].security_token if u.key in demo else f"Tok{n:03d}{u.local[:10]}")
                          for n, u in enumerate(users)])


def _permission_sets(ctx: SeedContext, admin: str, users: list[UserSpec], ids: dict[str, str],
                     profiles: dict[str, str], licences: dict[str, str]) -> None:
    created = ctx.ago(900)
    owned = dict(zip(profiles, ctx.ids("0PS", len(profiles))))
    custom = [("Sales_Ops", "Sales Operations"), ("Freeze_Users", "Freeze Users Delegate"),
              ("Query_All_Files", "Query All Files")]
    custom_ids = ctx.ids("0PS", len(custom))
    rows: list[tuple[Any, ...]] = [(psid, f"X00e{n:04d}", f"{name} profile permission set", None, profiles[name], 1, 0)
                                   for n, (name, psid) in enumerate(owned.items())]
    rows += [(psid, api, label, licences["Salesforce"], None, 0, 1) for psid, (api, label) in zip(custom_ids, custom)]
    # The two delegate permission sets grant what their names say; the others grant nothing extra.
    grants = [(int(r[1] == "Freeze_Users"), int(r[1] == "Query_All_Files")) for r in rows]
    ctx.insert("PermissionSet", ["Id", "Name", "Label", "LicenseId", "ProfileId", "IsOwnedByProfile", "IsCustom",
                                 "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById", "SystemModstamp",
                                 "PermissionsFreezeUsers", "PermissionsQueryAllFiles"],
               [(*r, created, admin, created, admin, created, *g) for r, g in zip(rows, grants)])
    assignments = [(owned[u.profile], ids[u.key]) for u in users]
    assignments += [(custom_ids[0], ids[k]) for k in ("departing", "standard", "team_lead")]
    assignments += [(custom_ids[1], ids["admin2"])]
    ctx.insert("PermissionSetAssignment", ["Id", "PermissionSetId", "AssigneeId", "SystemModstamp", "IsActive"],
               [(i, ps, who, created, 1) for i, (ps, who) in zip(ctx.ids("0Pa", len(assignments)), assignments)])
    _object_permissions(ctx, admin, owned, dict(zip((api for api, _ in custom), custom_ids)))


# Object permissions (ObjectPermissions rows, one per permission set and object with any access;
# object reference sforce_api_objects_objectpermissions.htm). Letters: C(reate) R(ead) E(dit)
# D(elete) V(iew All) M(odify All). The admin profile has everything; the sales profiles
# read/create/edit/delete the sales objects, read the rest, and have no View All / Modify All,
# as in a new org; a new custom object is granted through the Sales Operations permission set.
_SALES = ("Account", "Contact", "Opportunity", "Lead", "Case", "Contract")
_PERMISSIONABLE = ("Account", "Campaign", "Case", "Contact", "Contract", "Document", "Invoice__c", "Lead",
                   "Opportunity", "Project__c")
_SALES_ACCESS = {**dict.fromkeys(_SALES, "CRED"), "Campaign": "R", "Document": "R", "Project__c": "R"}
OBJECT_ACCESS: dict[str, dict[str, str]] = {
    "System Administrator": dict.fromkeys(_PERMISSIONABLE, "CREDVM"),
    "Standard User": _SALES_ACCESS,
    "Marketing User": {**_SALES_ACCESS, "Campaign": "CRED"},
    "Contract Manager": _SALES_ACCESS,
    "Standard Platform User": {"Account": "CRED", "Contact": "CRED", "Document": "R", "Project__c": "R"},
    "Read Only": dict.fromkeys(_SALES + ("Campaign", "Document", "Project__c", "Invoice__c"), "R"),
    "Sales_Ops": {"Project__c": "CRED", "Invoice__c": "CRED"},
}
_ACCESS_COLUMNS = (("C", "PermissionsCreate"), ("R", "PermissionsRead"), ("E", "PermissionsEdit"),
                   ("D", "PermissionsDelete"), ("V", "PermissionsViewAllRecords"),
                   ("M", "PermissionsModifyAllRecords"))


def _object_permissions(ctx: SeedContext, admin: str, owned: dict[str, str], custom: dict[str, str]) -> None:
    created = ctx.ago(900)
    sets = {**owned, **custom}
    rows = [(sets[holder], obj, *(int(letter in access) for letter, _ in _ACCESS_COLUMNS))
            for holder, grants in OBJECT_ACCESS.items() for obj, access in grants.items()]
    ctx.insert("ObjectPermissions", ["Id", "ParentId", "SobjectType", *(c for _, c in _ACCESS_COLUMNS),
                                     "CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById",
                                     "SystemModstamp"],
               [(i, *r, created, admin, created, admin, created)
                for i, r in zip(ctx.ids("110", len(rows)), rows)])


def _groups(ctx: SeedContext, admin: str, users: list[UserSpec], ids: dict[str, str]) -> None:
    created = ctx.ago(800)
    names = [q for q, _ in QUEUES] + ["All Sales", "EMEA Team"]
    gids = dict(zip(names, ctx.ids("00G", len(names))))
    ctx.values["queues"] = {q: gids[q] for q, _ in QUEUES}
    ctx.insert("Group", ["Id", "Name", "DeveloperName", "Type", "Email", "OwnerId", "CreatedDate", "CreatedById",
                         "LastModifiedDate", "LastModifiedById", "SystemModstamp"],
               [(gid, name, name.replace(" ", "_"), "Queue" if i < len(QUEUES) else "Regular",
                 f"{name.lower().replace(' ', '.')}@{DOMAIN}" if i < len(QUEUES) else None, admin, created,
                 admin, created, admin, created) for i, (name, gid) in enumerate(gids.items())])
    pairs = [(gids[q], obj) for q, objs in QUEUES for obj in objs]
    ctx.insert("QueueSobject", ["Id", "QueueId", "SobjectType", "CreatedById", "SystemModstamp"],
               [(i, q, obj, admin, created) for i, (q, obj) in zip(ctx.ids("03g", len(pairs)), pairs)])
    members = [(gids["Support Queue"], ids[k]) for k in ("case_owner", "escalation", "departing")]
    members += [(gids["Lead Qualification"], ids["lead_owner"]), (gids["Project Intake"], ids["departing"])]
    members += [(gids["All Sales"], ids[u.key]) for u in users if u.role and "Sales" in u.role]
    members += [(gids["EMEA Team"], gids["All Sales"])]
    ctx.insert("GroupMember", ["Id", "GroupId", "UserOrGroupId", "SystemModstamp"],
               [(i, g, m, created) for i, (g, m) in zip(ctx.ids("011", len(members)), members)])


def _status_tables(ctx: SeedContext, admin: str) -> None:
    created = ctx.ago(2000)
    cols = ["Id", "MasterLabel", "ApiName", "SortOrder", "IsDefault", "IsClosed", "CreatedById", "CreatedDate",
            "LastModifiedById", "LastModifiedDate", "SystemModstamp"]
    for obj, values, closed in (("CaseStatus", ("New", "Working", "Escalated", "Closed"), {"Closed"}),
                                ("TaskStatus", ("Not Started", "In Progress", "Completed", "Waiting on someone else",
                                                "Deferred"), {"Completed"})):
        ids = ctx.ids("01J", len(values))
        ctx.insert(obj, cols, [(i, v, v, n + 1, int(n == 0), int(v in closed), admin, created, admin, created,
                                created) for n, (i, v) in enumerate(zip(ids, values))])


def _owner_pools(ctx: SeedContext, users: list[UserSpec], ids: dict[str, str]) -> None:
    """Who owns data records: active and inactive standard users, the departing user ~15%."""
    owners = [ids[u.key] for u in users if u.user_type == "Standard" and u.profile in
              ("Standard User", "Marketing User", "Contract Manager", "Standard Platform User")
              and u.key not in ("departing",)]
    pool = owners + [ids["departing"]] * max(1, len(owners) * 15 // 85)
    ctx.values["owner_pool"] = pool
    ctx.values["active_users"] = [ids[u.key] for u in users if u.active and u.user_type == "Standard"]


def seed_audit_and_logins(ctx: SeedContext) -> None:
    rng, users, ids = ctx.rng, ctx.values["user_specs"], ctx.values["users"]
    admin = ids["admin"]
    audit = []
    for u in users:
        if not u.active:
            audit.append(("deactivateduser", f"Deactivated user {u.local}@{DOMAIN}", rng.uniform(180, 700)))
        if u.frozen:
            audit.append(("frozeuser", f"Froze user {u.local}@{DOMAIN}", rng.uniform(5, 60)))
    for n in range(40):
        audit.append(rng.choice((("changedManager", "Changed manager", 0), ("PermSetAssign", "Permission set assigned", 0),
                                 ("changedpassword", "Changed password", 0), ("activateduser", "Activated user", 0)))[:2]
                     + (rng.uniform(0, 170),))
    ctx.insert("SetupAuditTrail", ["Id", "Action", "Section", "CreatedDate", "CreatedById", "Display"],
               [(i, action, "Manage Users", ctx.ago(age), admin, display)
                for i, (action, display, age) in zip(ctx.ids("0Ym", len(audit)), audit)])
    logins = []
    for u in users:
        if u.last_login_days is None:
            continue
        for k in range(max(1, ctx.records // 2000) * 4):
            age = u.last_login_days + k * rng.uniform(0.5, 6)
            if age > 180 and k:
                break
            status = "Success" if k == 0 or rng.random() > 0.05 else "Invalid Password"
            logins.append((ids[u.key], ctx.ago(age), rng.choice(("Application", "Remote Access 2.0", "SAML Sfdc Initiated SSO")),
                           status))
    ctx.insert("LoginHistory", ["Id", "UserId", "LoginTime", "LoginType", "SourceIp", "LoginUrl", "Browser",
                                "Platform", "Status", "Application", "ApiType", "TlsProtocol"],
               [(i, uid, t, lt, "203.0.113.7", f"login.{DOMAIN}", "Chrome 120", "Mac OSX", st, "Browser", "N/A", "TLS 1.3")
                for i, (uid, t, lt, st) in zip(ctx.ids("0Ya", len(logins)), logins)])
