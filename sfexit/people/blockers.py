"""The deactivation blocker scan: for each source, clear, found (with detail) or UNKNOWN.

Sources from research/users-protocol.md §3 (help.sf KB 000384761, 000003585, 000187291,
000386275, 000004425) and errors.md §8. Many live in Setup settings that the REST API does not
expose (Lead/Support/Process Automation settings are Metadata API only); those are reported
as unknown with the Setup page to check, never as clear. An object the org's API does not
list, or a query it refuses, is unknown too.

Readable through REST/SOQL:
- hierarchy fields on User: every custom User field referencing User is a hierarchy field
  (a lookup from User to User can only be of the hierarchical type; help.sf "Object
  Relationships Overview"), plus ManagerId and DelegatedApproverId;
- pending approval requests assigned to the user (ProcessInstanceWorkitem.ActorId);
- dashboards running as the user (Dashboard.RunningUserId);
- queue and group memberships (GroupMember): deactivation removes them (§3 "Effects");
  reported, not blocking.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from sfexit.errors import ApiLimitError, AuthError, SfexitError
from sfexit.org import soql
from sfexit.org.rest import RestClient
from sfexit.org.session import OrgSession
from sfexit.people.users import OrgUser

Status = Literal["clear", "found", "unknown"]

# Settings the REST API cannot read: (source, exact Setup path).
SETUP_ONLY: tuple[tuple[str, str], ...] = (
    ("Default Lead Owner", "Setup → Lead Settings → Default Lead Owner"),
    ("Web-to-Lead Default Creator", "Setup → Web-to-Lead → Default Lead Creator"),
    ("Default Case Owner", "Setup → Support Settings → Default Case Owner"),
    ("Automated Case User", "Setup → Support Settings → Automated Case User"),
    ("Default Workflow User", "Setup → Process Automation Settings → Default Workflow User"),
    ("Lead assignment rule entries", "Setup → Lead Assignment Rules → each rule's entries"),
    ("Case assignment rule entries", "Setup → Case Assignment Rules → each rule's entries"),
    ("Lead auto-response rule entries", "Setup → Lead Auto-Response Rules"),
    ("Case auto-response rule entries", "Setup → Case Auto-Response Rules"),
    ("Approval process steps (approver)", "Setup → Approval Processes → each step's approver"),
    ("Workflow field updates, tasks and email alerts",
     "Setup → Field Updates / Tasks / Email Alerts (Workflow Actions)"),
    ("Opportunity update reminders and Big Deal Alert",
     "Setup → Opportunity Update Reminders; Setup → Big Deal Alert"),
    ("Customer Portal Administrator", "Setup → Customer Portal Settings → Administrator"),
)


@dataclass(frozen=True)
class BlockerCheck:
    source: str
    status: Status
    detail: str = ""
    setup_path: str | None = None
    blocks: bool = True  # False: worth knowing, but does not stop the deactivation

    def line(self) -> str:
        where = f" (check in {self.setup_path})" if self.setup_path else ""
        text = {"clear": "clear", "found": "FOUND" if self.blocks else "found (does not block)",
                "unknown": "unknown"}[self.status]
        return f"{self.source}: {text}{': ' + self.detail if self.detail else ''}{where}"


@dataclass(frozen=True)
class BlockerReport:
    username: str
    user_id: str
    checks: list[BlockerCheck] = field(default_factory=list)

    @property
    def found(self) -> list[BlockerCheck]:
        return [c for c in self.checks if c.status == "found" and c.blocks]

    @property
    def unknown(self) -> list[BlockerCheck]:
        return [c for c in self.checks if c.status == "unknown"]


class _Unreadable(Exception):
    pass


class _Reader:
    """Queries that turn "not available here" into _Unreadable, and nothing else."""

    def __init__(self, session: OrgSession) -> None:
        self.rest = RestClient(session)
        self._objects: set[str] | None = None

    def has_object(self, name: str) -> bool:
        if self._objects is None:
            self._objects = {o["name"] for o in self.rest.describe_global()
                             if o.get("queryable")}
        return name in self._objects

    def rows(self, sobject: str, fields: list[str], in_field: str, ids: Iterable[str],
             where: Sequence[str] = ()) -> list[dict[str, Any]]:
        if not self.has_object(sobject):
            raise _Unreadable(f"the org's API does not expose {sobject}")
        out: list[dict[str, Any]] = []
        try:
            for query in soql.select_in_chunks(sobject, fields, in_field, list(ids), where=where):
                out.extend(self.rest.query_iter(query))
        except (AuthError, ApiLimitError):
            raise
        except SfexitError as exc:
            raise _Unreadable(f"{sobject} could not be read: {exc.message}") from None
        return out


def hierarchy_fields(reader: _Reader) -> list[tuple[str, str]]:
    """(field, label) of User fields that name another user and block deactivation."""
    described = reader.rest.describe("User")
    out = []
    for f in described.get("fields", []):
        refs = f.get("referenceTo") or []
        if f.get("type") != "reference" or "User" not in refs:
            continue
        if f.get("custom") or f["name"] in ("ManagerId", "DelegatedApproverId"):
            out.append((f["name"], f.get("label") or f["name"]))
    return out


def scan_blockers(session: OrgSession, users: Sequence[OrgUser]) -> list[BlockerReport]:
    """One report per user, every source listed with clear / found / unknown. Reads only."""
    reader = _Reader(session)
    ids = [u.id for u in users]
    per_user: dict[str, list[BlockerCheck]] = {u.id[:15]: [] for u in users}
    if ids:
        for check in (_hierarchy, _approvals, _dashboards, _queues):
            for user_id, found in check(reader, ids).items():
                per_user[user_id].extend(found)
    return [BlockerReport(u.username, u.id, per_user[u.id[:15]] + [
        BlockerCheck(source, "unknown", "not readable through the REST API", path)
        for source, path in SETUP_ONLY]) for u in users]


Checker = Callable[[_Reader, list[str]], dict[str, list[BlockerCheck]]]


def _per_user(ids: list[str], source: str, hits: dict[str, list[str]], *,
              blocks: bool = True, setup_path: str | None = None
              ) -> dict[str, list[BlockerCheck]]:
    return {i[:15]: [BlockerCheck(source, "found", "; ".join(hits[i[:15]]), setup_path, blocks)
                     if hits.get(i[:15]) else BlockerCheck(source, "clear", blocks=blocks)]
            for i in ids}


def _unknown(ids: list[str], source: str, why: str, path: str | None
             ) -> dict[str, list[BlockerCheck]]:
    return {i[:15]: [BlockerCheck(source, "unknown", why, path)] for i in ids}


def _hierarchy(reader: _Reader, ids: list[str]) -> dict[str, list[BlockerCheck]]:
    out: dict[str, list[BlockerCheck]] = {i[:15]: [] for i in ids}
    try:
        fields = hierarchy_fields(reader)
    except (AuthError, ApiLimitError):
        raise
    except SfexitError as exc:
        return _unknown(ids, "Hierarchy fields on User", f"describe User failed: {exc.message}",
                        "Setup → Object Manager → User → Fields & Relationships")
    for name, label in fields:
        # Every user, active or not: reporting one blocker too many is the safe mistake.
        source = f"User.{name} ({label}) on other users"
        try:
            rows = reader.rows("User", ["Id", "Username", "IsActive", name], name, ids)
        except _Unreadable as why:
            for i, checks in _unknown(ids, source, str(why), None).items():
                out[i].extend(checks)
            continue
        hits: dict[str, list[str]] = {}
        for row in rows:
            who = str(row["Username"]) + ("" if row.get("IsActive") else " (inactive)")
            hits.setdefault(str(row[name])[:15], []).append(who)
        fix = "clear it on those users first (Salesforce refuses while it is set)"
        for i, checks in _per_user(ids, source, {k: [f"set on {', '.join(v)}; {fix}"]
                                                 for k, v in hits.items()}).items():
            out[i].extend(checks)
    return out


def _approvals(reader: _Reader, ids: list[str]) -> dict[str, list[BlockerCheck]]:
    source = "Pending approval requests assigned to the user"
    try:
        rows = reader.rows("ProcessInstanceWorkitem", ["Id", "ActorId"], "ActorId", ids)
    except _Unreadable as why:
        return _unknown(ids, source, str(why), "the user's Items to Approve")
    hits: dict[str, list[str]] = {}
    for row in rows:
        hits.setdefault(str(row["ActorId"])[:15], []).append(str(row["Id"]))
    return _per_user(ids, source, {k: [f"{len(v)} pending: reassign them"]
                                   for k, v in hits.items()})


def _dashboards(reader: _Reader, ids: list[str]) -> dict[str, list[BlockerCheck]]:
    source = "Dashboards running as the user"
    try:
        rows = reader.rows("Dashboard", ["Id", "Title", "RunningUserId"], "RunningUserId", ids)
    except _Unreadable as why:
        return _unknown(ids, source, str(why),
                        "Dashboards → each dashboard's \"View dashboard as\"")
    hits: dict[str, list[str]] = {}
    for row in rows:
        hits.setdefault(str(row["RunningUserId"])[:15], []).append(str(row.get("Title")))
    return _per_user(ids, source, {k: [f"{', '.join(v)}: change \"View dashboard as\""]
                                   for k, v in hits.items()})


def _queues(reader: _Reader, ids: list[str]) -> dict[str, list[BlockerCheck]]:
    source = "Queue and group memberships"
    try:
        members = reader.rows("GroupMember", ["GroupId", "UserOrGroupId"], "UserOrGroupId", ids)
        group_ids = sorted({str(m["GroupId"]) for m in members})
        groups = {str(g["Id"])[:15]: g for g in reader.rows("Group", ["Id", "Name", "Type"],
                                                             "Id", group_ids)} if group_ids else {}
    except _Unreadable as why:
        return _unknown(ids, source, str(why), "Setup → Queues; Setup → Public Groups")
    hits: dict[str, list[str]] = {}
    for m in members:
        g = groups.get(str(m["GroupId"])[:15], {})
        kind = "queue" if g.get("Type") == "Queue" else "group"
        hits.setdefault(str(m["UserOrGroupId"])[:15], []).append(f"{kind} {g.get('Name')}")
    return _per_user(ids, source, {k: [", ".join(v) + " (deactivation removes the user; check "
                                        "each queue keeps a member)"] for k, v in hits.items()},
                     blocks=False)
