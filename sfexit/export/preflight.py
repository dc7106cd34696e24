"""Before a backup runs: can this user see everything, and does the export fit the org's limits?

- Permissions (export-pitfalls.md I): View All Data, Query All Files, API Enabled, from the
  user's Profile and every assigned permission set (a permission granted by any of them counts).
  A permission field the org's describe does not have counts as not granted.
- Forecast (limits.md): REST calls, Bulk 2.0 query jobs (one per object) and result storage
  against ``/limits`` remaining (``DailyApiRequests``, ``DailyBulkV2QueryJobs``,
  ``DailyBulkV2QueryFileStorageMB``). Row counts come from ``limits/recordCount`` where the org
  serves it, else ``SELECT COUNT()`` per object; the row width from a small REST sample of the
  largest objects. A forecast that does not fit is refused with the numbers unless ``force``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from sfexit import errors
from sfexit.export.csvsink import csv_line
from sfexit.org import soql
from sfexit.org.rest import RestClient
from sfexit.org.session import OrgSession

PERMISSIONS = {
    "ViewAllData": "PermissionsViewAllData",
    "QueryAllFiles": "PermissionsQueryAllFiles",
    "ApiEnabled": "PermissionsApiEnabled",
}
MISSED_WITHOUT = {
    "ViewAllData": "records shared with nobody in this user's hierarchy (private sharing) are "
                   "not returned, and EntitySubscription cannot be read",
    "QueryAllFiles": "files not shared with this user (ContentVersion, ContentDocumentLink) are "
                     "not returned",
    "ApiEnabled": "the REST and Bulk APIs refuse this user: nothing can be exported",
}
REST_PAGE_ROWS = 2000          # REST query page (limits.md)
POLLS_PER_JOB = 4              # create + a few status polls per Bulk job
SAMPLE_OBJECTS = 3             # largest objects sampled for the row width
SAMPLE_ROWS = 50
DEFAULT_ROW_BYTES = 400
FILE_OBJECTS = ("ContentVersion", "Attachment", "Document")
MB = 1024 * 1024


@dataclass(frozen=True)
class Forecast:
    objects: int
    rows: int
    row_bytes: int               # average CSV row width from the sample
    api_calls: int
    bulk_jobs: int
    result_mb: int
    files: int
    remaining: dict[str, int]    # limit name → remaining

    def problems(self) -> list[str]:
        wanted = {"DailyApiRequests": self.api_calls, "DailyBulkV2QueryJobs": self.bulk_jobs,
                  "DailyBulkV2QueryFileStorageMB": self.result_mb}
        return [f"{name}: needs about {need:,}, {self.remaining[name]:,} remaining"
                for name, need in wanted.items()
                if name in self.remaining and need > self.remaining[name]]


@dataclass(frozen=True)
class PreflightReport:
    user_id: str
    permissions: dict[str, bool]
    missing: dict[str, str]      # permission → what would be missed without it
    forecast: Forecast
    # Rows per object as counted for the forecast; the data step starts the largest first.
    # Kept out of Forecast so the ``--json`` forecast stays as it was.
    row_counts: dict[str, int] = field(default_factory=dict)

    @property
    def fits(self) -> bool:
        return not self.forecast.problems()


def check_permissions(session: OrgSession, user_id: str) -> dict[str, bool]:
    """Each of :data:`PERMISSIONS` → granted by the Profile or any assigned permission set."""
    rest = RestClient(session)
    found = dict.fromkeys(PERMISSIONS, False)
    for sobject, where in (("Profile", _profile_filter(rest, user_id)),
                           ("PermissionSet", _assigned_filter(rest, user_id))):
        if where is None:
            continue
        known = {f["name"] for f in rest.describe(sobject).get("fields", [])}
        fields = [f for f in PERMISSIONS.values() if f in known]
        if not fields:
            continue
        for row in rest.query_iter(soql.select(sobject, fields, where=[where])):
            for key, field in PERMISSIONS.items():
                found[key] = found[key] or bool(row.get(field))
    return found


def _profile_filter(rest: RestClient, user_id: str) -> str | None:
    rows = list(rest.query_iter(soql.select("User", ["ProfileId"],
                                            where=[soql.condition("Id", "=", user_id)])))
    profile = rows[0].get("ProfileId") if rows else None
    return soql.condition("Id", "=", profile) if profile else None


def _assigned_filter(rest: RestClient, user_id: str) -> str | None:
    query = soql.select("PermissionSetAssignment", ["PermissionSetId"],
                        where=[soql.condition("AssigneeId", "=", user_id)])
    ids = [str(r["PermissionSetId"]) for r in rest.query_iter(query) if r.get("PermissionSetId")]
    return soql.in_list("Id", ids) if ids else None


def row_counts(rest: RestClient, objects: Sequence[str], include_deleted: bool) -> dict[str, int]:
    """Rows per object: ``limits/recordCount`` (one call, approximate) where the org serves it
    and deleted rows are not wanted, else ``SELECT COUNT()`` per object (0 when refused)."""
    if not include_deleted and objects:
        try:
            body = rest.session.get_json("data/limits/recordCount",
                                         params={"sObjects": ",".join(objects)})
            counts = {str(s["name"]): int(s.get("count", 0)) for s in body.get("sObjects", [])}
            return {name: counts.get(name, 0) for name in objects}
        except errors.SalesforceError:
            pass  # not served (orgs before v40.0, no permission): count exactly instead
    counts = {}
    for name in objects:
        try:
            counts[name] = _count(rest, soql.count(name), include_deleted)
        except errors.SalesforceError:
            counts[name] = 0  # not countable as a whole (per-parent, not queryable)
    return counts


def _count(rest: RestClient, query: str, include_deleted: bool) -> int:
    resource = "queryAll" if include_deleted else "query"
    return int(rest.session.get_json(f"data/{resource}", params={"q": query})["totalSize"])


def sample_row_bytes(rest: RestClient, counts: dict[str, int]) -> int:
    """Average CSV row width over a few rows of the largest objects (all their fields)."""
    largest = sorted((n for n, c in counts.items() if c > 0), key=lambda n: -counts[n])
    widths: list[int] = []
    for name in largest[:SAMPLE_OBJECTS]:
        try:
            fields = [f["name"] for f in rest.describe(name)["fields"]
                      if f.get("type") not in ("address", "location", "base64")]
            query = soql.select(name, fields, limit=SAMPLE_ROWS)
            widths += [len(csv_line(row.get(f) for f in fields))
                       for row in rest.query_iter(query)]
        except (errors.SalesforceError, ValueError):
            continue
    return round(sum(widths) / len(widths)) if widths else DEFAULT_ROW_BYTES


def forecast(session: OrgSession, objects: Sequence[str], *, include_deleted: bool,
             include_files: bool, max_records: int | None,
             counts: Mapping[str, int] | None = None) -> Forecast:
    """The forecast; ``counts`` (from :func:`row_counts`) saves counting again."""
    rest = RestClient(session)
    counts = dict(counts) if counts is not None else row_counts(rest, objects, include_deleted)
    width = sample_row_bytes(rest, counts)
    page_rows = max_records or 50_000
    pages = sum(max(1, math.ceil(c / page_rows)) for c in counts.values())
    files = sum(counts.get(n, 0) for n in FILE_OBJECTS) if include_files else 0
    rows = sum(counts.values())
    # describe global + one describe per object + (create, polls) per job + one call per page,
    # plus one GET per file body.
    calls = 1 + len(objects) * (1 + POLLS_PER_JOB) + pages + files
    limits = rest.limits()
    remaining: dict[str, int] = {name: limits[name].remaining for name in
                 ("DailyApiRequests", "DailyBulkV2QueryJobs", "DailyBulkV2QueryFileStorageMB")
                 if name in limits}
    return Forecast(objects=len(objects), rows=rows, row_bytes=width, api_calls=calls,
                    bulk_jobs=len(objects), result_mb=math.ceil(rows * width / MB),
                    files=files, remaining=remaining)


def preflight(session: OrgSession, user_id: str, objects: Sequence[str], *,
              include_deleted: bool = False, include_files: bool = True,
              max_records: int | None = None) -> PreflightReport:
    permissions = check_permissions(session, user_id)
    missing = {k: MISSED_WITHOUT[k] for k, granted in permissions.items() if not granted}
    counts = row_counts(RestClient(session), objects, include_deleted)
    return PreflightReport(user_id, permissions, missing,
                           forecast(session, objects, include_deleted=include_deleted,
                                    include_files=include_files, max_records=max_records,
                                    counts=counts),
                           row_counts=counts)


def enforce(report: PreflightReport, *, force: bool) -> None:
    """Raise ApiLimitError (exit 4) with the numbers when the forecast does not fit."""
    problems = report.forecast.problems()
    if problems and not force:
        raise errors.ApiLimitError(
            "the export does not fit the org's remaining limits: " + "; ".join(problems),
            hint="wait for the 24-hour limits to recover, export fewer --objects, or pass "
                 "--force to start anyway (what completes is kept)")
