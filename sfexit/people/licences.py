"""Licences: what the org has, what is used, and what unused paid licences cost.

``UserLicense`` carries ``TotalLicenses`` and ``UsedLicenses`` (dev.sf
``sforce_api_objects_userlicense.htm``). Which licences are paid follows sfdx-hardis
``diagnose:unusedusers`` ``all-paying`` (research/users-protocol.md §1). A user who has not
logged in for N days (hardis's test, evaluated by the org's own clock) holds a licence that
deactivating would free; freezing does not free it (§2).

Savings: ``[users] price_per_licence`` per licence per month; for the rest of the term, the
months from ``today`` through the configured term's last day (``[contract] end``, included). A
renewal the missed deadline triggers is not assumed: the savings are for the term as configured.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from sfexit import rules
from sfexit.config import ContractSettings
from sfexit.org import soql
from sfexit.org.rest import RestClient
from sfexit.org.session import OrgSession
from sfexit.people.users import OrgUser, UserFilter, list_users

# hardis `all-paying`: all-crm (SFDC, AUL, AUL1, AULL_IGHT) plus community licences (§1).
PAID_KEYS = frozenset({"SFDC", "AUL", "AUL1", "AULL_IGHT", "PID_Customer_Community",
                       "PID_Customer_Community_Login", "PID_Partner_Community",
                       "PID_Partner_Community_Login"})


@dataclass(frozen=True)
class LicenceRow:
    name: str
    key: str | None
    status: str | None
    total: int
    used: int
    paid: bool
    unused_holders: int  # active users of this licence with no login for N days

    @property
    def free(self) -> int:
        return max(0, self.total - self.used)


@dataclass(frozen=True)
class UnusedHolder:
    username: str
    name: str
    licence: str | None
    last_login: dt.datetime | None


@dataclass(frozen=True)
class Savings:
    price_per_licence: Decimal
    currency: str | None
    licences: int
    per_month: Decimal
    term_end: dt.date | None = None
    months_left: Decimal | None = None
    rest_of_term: Decimal | None = None


@dataclass(frozen=True)
class LicenceReport:
    licences: list[LicenceRow]
    inactive_days: int
    unused: list[UnusedHolder]
    savings: Savings | None

    def report_lines(self) -> list[str]:
        """The human summary under the licence table."""
        out = [f"\n{len(self.unused)} paid licence(s) held by users with no login for "
               f"{self.inactive_days} days:"]
        out += [f"  {u.username} ({u.licence}; last login "
                f"{u.last_login.date().isoformat() if u.last_login else 'never'})"
                for u in self.unused]
        s = self.savings
        if s is None:
            return [*out, "Set [users] price_per_licence (or --price) to see what removing "
                          "them saves."]
        cur = f" {s.currency}" if s.currency else ""
        line = f"Removing them saves {s.per_month}{cur} per month"
        if s.rest_of_term is not None:
            line += (f", {s.rest_of_term}{cur} through {s.term_end} ({s.months_left} months left "
                     "in the term)")
        # Deactivating "doesn't reduce the number of licenses for which your organization is
        # billed" (users-protocol §3): the contract's count is changed with Salesforce.
        return [*out, line + ". Deactivating frees a licence; lowering the number you pay for "
                             "is a separate step with Salesforce."]


def _int(value: object) -> int:
    return int(value) if isinstance(value, int | float | str) and str(value) != "" else 0


def read_licences(session: OrgSession) -> list[dict[str, object]]:
    rest = RestClient(session)
    return list(rest.query_iter(soql.select(
        "UserLicense", ["Id", "Name", "LicenseDefinitionKey", "Status", "TotalLicenses",
                        "UsedLicenses"], order_by=["Name"])))


def unused_paid_holders(session: OrgSession, days: int) -> list[OrgUser]:
    users = list_users(session, UserFilter(inactive_days=days), running_id="")
    return [u for u in users if u.licence_key in PAID_KEYS and not u.is_system]


def licence_report(session: OrgSession, *, inactive_days: int, today: dt.date,
                   price: Decimal | None, contract: ContractSettings) -> LicenceReport:
    """Per licence counts, the unused paid ones, and (with a price) what removing them saves."""
    unused = unused_paid_holders(session, inactive_days)
    per_licence: dict[str, int] = {}
    for u in unused:
        per_licence[u.licence or ""] = per_licence.get(u.licence or "", 0) + 1
    rows = [LicenceRow(name=str(r.get("Name") or ""), key=_str(r.get("LicenseDefinitionKey")),
                       status=_str(r.get("Status")), total=_int(r.get("TotalLicenses")),
                       used=_int(r.get("UsedLicenses")),
                       paid=r.get("LicenseDefinitionKey") in PAID_KEYS,
                       unused_holders=per_licence.get(str(r.get("Name") or ""), 0))
            for r in read_licences(session)]
    holders = [UnusedHolder(u.username, u.name, u.licence, u.last_login) for u in unused]
    savings = savings_for(len(unused), price, contract, today) if price is not None else None
    return LicenceReport(rows, inactive_days, holders, savings)


def _str(value: object) -> str | None:
    return None if value is None else str(value)


def remaining_term(contract: ContractSettings, today: dt.date) -> dt.date | None:
    """The configured term's last day while it is ahead (or today); None without dates."""
    if contract.start is None or contract.end is None:
        return None
    return contract.end if contract.end >= today else None


def savings_for(licences: int, price: Decimal, contract: ContractSettings,
                today: dt.date) -> Savings:
    """Per month, and for the rest of the term: months = days left (today through the last
    day, both included) × 12 / 365, 2 decimals."""
    currency = contract.currency
    per_month = _round(price * licences, currency)
    end = remaining_term(contract, today)
    if end is None:
        return Savings(price, currency, licences, per_month)
    months = (Decimal((end - today).days + 1) * 12 / Decimal(365)).quantize(Decimal("0.01"))
    return Savings(price, currency, licences, per_month, end, months,
                   _round(per_month * months, currency))


def _round(amount: Decimal, currency: str | None) -> Decimal:
    return rules.round_money(amount, currency) if currency else amount.quantize(Decimal("0.01"))
