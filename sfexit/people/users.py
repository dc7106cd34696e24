"""The org's users as typed :class:`OrgUser` rows: profile, licence, role, login and freeze state.

Listing query per research/users-protocol.md §1 (the fields sfdx-hardis
``diagnose:unusedusers`` reads, plus UserType, UserRole and ManagerId); UserLogin (IsFrozen) is
joined in chunks of ``UserId IN (…)`` (§2). Flags mark who a bulk action must not touch by
default: the running user (from ``/services/oauth2/userinfo``), integration users, Automated
Process, the Platform Integration User, other system users and Chatter users (§1).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from sfexit.org import soql
from sfexit.org.rest import RestClient
from sfexit.org.session import OrgSession

ADMIN_PROFILE = "System Administrator"
# users-protocol §1: the integration licence and its API-only profiles.
INTEGRATION_LICENCES = frozenset({"Salesforce Integration"})
INTEGRATION_PROFILES = frozenset({"Salesforce API Only System Integrations",
                                  "Minimum Access - API Only Integrations"})
CHATTER_TYPES = frozenset({"CsnOnly", "CsnExternal"})  # Chatter Free / External: own nothing
# Kinds a bulk action skips unless the user is named explicitly.
SYSTEM_KINDS = frozenset({"integration", "automated_process", "platform_integration", "system"})

_FIELDS = ["Id", "Username", "Name", "Email", "IsActive", "UserType", "LastLoginDate",
           "CreatedDate", "ManagerId", "ProfileId", "Profile.Name", "Profile.UserLicense.Name",
           "Profile.UserLicense.LicenseDefinitionKey", "UserRole.Name"]


@dataclass(frozen=True)
class OrgUser:
    id: str
    username: str
    name: str
    email: str | None
    is_active: bool
    user_type: str
    profile: str | None
    licence: str | None
    licence_key: str | None
    role: str | None
    last_login: dt.datetime | None
    created: dt.datetime | None
    manager_id: str | None
    profile_id: str | None = None
    is_frozen: bool | None = None  # None: no UserLogin row readable (cannot be frozen)
    login_id: str | None = None  # the UserLogin row's Id
    is_running_user: bool = False

    @property
    def kind(self) -> str:
        """standard, integration, automated_process, platform_integration, system or chatter."""
        if self.user_type == "AutomatedProcess":
            return "automated_process"
        if self.user_type == "CloudIntegrationUser":
            return "platform_integration"
        # By licence and profile name, not PermissionsApiUserOnly: an admin profile may carry
        # that permission without being an integration user.
        if self.licence in INTEGRATION_LICENCES or self.profile in INTEGRATION_PROFILES:
            return "integration"
        if self.user_type in CHATTER_TYPES:
            return "chatter"
        if self.user_type in ("Guest", "LicenseManager", "SelfService"):
            return "system"
        return "standard"

    @property
    def is_system(self) -> bool:
        return self.kind in SYSTEM_KINDS

    @property
    def is_admin(self) -> bool:
        return self.profile == ADMIN_PROFILE

    @property
    def flags(self) -> tuple[str, ...]:
        out = ["running_user"] if self.is_running_user else []
        if self.kind != "standard":
            out.append(self.kind)
        if self.is_admin:
            out.append("admin")
        if self.is_frozen:
            out.append("frozen")
        return tuple(out)

    def summary(self) -> dict[str, Any]:
        """The listing's row: what `users list` shows and `--json` returns."""
        return {"username": self.username, "name": self.name, "id": self.id,
                "active": self.is_active, "profile": self.profile, "role": self.role,
                "licence": self.licence, "licence_key": self.licence_key,
                "user_type": self.user_type, "kind": self.kind, "last_login": self.last_login,
                "frozen": self.is_frozen, "flags": list(self.flags)}


@dataclass(frozen=True)
class UserFilter:
    active_only: bool = True
    profiles: tuple[str, ...] = ()
    licences: tuple[str, ...] = ()  # licence name or LicenseDefinitionKey
    inactive_days: int | None = None  # no login (or never, and created before) for N days


def same_id(a: str | None, b: str | None) -> bool:
    """Salesforce ids compare on their case-sensitive 15-character form."""
    return bool(a and b and a[:15] == b[:15])


def parse_datetime(value: Any) -> dt.datetime | None:
    """Salesforce's ``2026-01-02T03:04:05.000+0000`` as an aware datetime."""
    if not value:
        return None
    text = str(value).replace("Z", "+00:00")
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        return None


def inactive_clause(days: int) -> str:
    """No login for ``days`` days, or never logged in and created before then (hardis §1).

    ``LAST_N_DAYS`` is evaluated by the org, so "now" is the org's clock.
    Raises ValueError for days < 0.
    """
    n = int(days)
    if n < 0:
        raise ValueError("days must be ≥ 0")
    before = soql.last_n_days(n)
    return soql.any_of(
        soql.all_of(soql.condition("LastLoginDate", "<", before),
                    soql.condition("LastLoginDate", "!=", None)),
        soql.all_of(soql.condition("CreatedDate", "<", before),
                    soql.condition("LastLoginDate", "=", None)))


def _user_from(row: dict[str, Any]) -> OrgUser:
    profile = row.get("Profile") or {}
    licence = profile.get("UserLicense") or {}
    role = row.get("UserRole") or {}
    return OrgUser(
        id=row["Id"], username=row.get("Username") or "", name=row.get("Name") or "",
        email=row.get("Email"), is_active=bool(row.get("IsActive")),
        user_type=row.get("UserType") or "Standard", profile=profile.get("Name"),
        licence=licence.get("Name"), licence_key=licence.get("LicenseDefinitionKey"),
        role=role.get("Name"), last_login=parse_datetime(row.get("LastLoginDate")),
        created=parse_datetime(row.get("CreatedDate")), manager_id=row.get("ManagerId"),
        profile_id=row.get("ProfileId"),
    )


def running_user_id(session: OrgSession) -> str:
    return RestClient(session).identity().user_id


def login_states(session: OrgSession, user_ids: Iterable[str]) -> dict[str, tuple[str, bool]]:
    """UserId (15-char) → (UserLogin Id, IsFrozen), read in URL-sized chunks (§2)."""
    rest = RestClient(session)
    out: dict[str, tuple[str, bool]] = {}
    for query in soql.select_in_chunks("UserLogin", ["Id", "UserId", "IsFrozen"], "UserId",
                                       list(user_ids)):
        for row in rest.query_iter(query):
            out[str(row["UserId"])[:15]] = (row["Id"], bool(row.get("IsFrozen")))
    return out


def list_users(session: OrgSession, flt: UserFilter = UserFilter(), *,
               running_id: str | None = None) -> list[OrgUser]:
    """Users matching ``flt``, sorted by username, with freeze state and flags.

    Raises SalesforceError / AuthError from the session.
    """
    where: list[str] = []
    if flt.active_only:
        where.append("IsActive = TRUE")
    if flt.profiles:
        where.append(soql.in_list("Profile.Name", flt.profiles))
    if flt.inactive_days is not None:
        where.append(inactive_clause(flt.inactive_days))
    rest = RestClient(session)
    query = soql.select("User", _FIELDS, where=where, order_by=["Username"])
    users = [_user_from(row) for row in rest.query_iter(query)]
    if flt.licences:
        wanted = {v.casefold() for v in flt.licences}
        users = [u for u in users if (u.licence or "").casefold() in wanted
                 or (u.licence_key or "").casefold() in wanted]
    if running_id is None:
        running_id = running_user_id(session)
    states = login_states(session, [u.id for u in users]) if users else {}
    return [replace(u, is_frozen=states[u.id[:15]][1] if u.id[:15] in states else None,
                    login_id=states[u.id[:15]][0] if u.id[:15] in states else None,
                    is_running_user=same_id(u.id, running_id)) for u in users]


def find_by_username(users: Sequence[OrgUser], username: str) -> OrgUser | None:
    """Usernames are case-insensitive in Salesforce."""
    folded = username.strip().casefold()
    return next((u for u in users if u.username.casefold() == folded), None)


def users_by_id(session: OrgSession, ids: Iterable[str], *,
                running_id: str | None = None) -> list[OrgUser]:
    """Full rows (any state) for the given user ids, in chunks."""
    rest = RestClient(session)
    rows: list[OrgUser] = []
    for query in soql.select_in_chunks("User", _FIELDS, "Id", list(ids)):
        rows.extend(_user_from(r) for r in rest.query_iter(query))
    states = login_states(session, [u.id for u in rows]) if rows else {}
    return [replace(u, is_frozen=states[u.id[:15]][1] if u.id[:15] in states else None,
                    login_id=states[u.id[:15]][0] if u.id[:15] in states else None,
                    is_running_user=same_id(u.id, running_id)) for u in rows]
