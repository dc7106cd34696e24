"""``GET …/limits``: Salesforce's ``{"Name": {"Max": n, "Remaining": n}}`` map (limits.md).

``DailyApiRequests`` is live: every counted call spends one (this call too, as on Salesforce),
and its Max is the ``daily_api_max`` fault setting. Every daily limit counts a rolling 24 h
window of the org's clock (rolling.py): what was spent a day ago is free again. ``DailyBulkV2QueryJobs`` and
``DailyBulkV2QueryFileStorageMB`` are spent by the Bulk routes through :func:`spend`.
``DataStorageMB`` / ``FileStorageMB`` Remaining = Max - what the store says is used
(``OrgStore.storage_usage()``: 2 KB per counted record, file bytes; see store_usage.py for the
sources). Used MB are rounded UP (UNCONF: Salesforce's rounding is not documented; rounding up
never reports more room than there is).

``GET …/limits/recordCount?sObjects=A,B`` (REST "Record Count", v40.0+; response body shape from
https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_res/responses_record_count.htm):
``{"sObjects": [{"count": n, "name": "Account"}, …]}``; objects the org lacks are left out;
without ``sObjects``, every object. Salesforce's counts are approximate (a cached snapshot,
refreshed at variable intervals); the emulator's are EXACT and current (store_usage.py).
"""

from __future__ import annotations

import math

from sfexit_emulator.http import Call, Response, Router, json_response
from sfexit_emulator.rolling import RollingWindow
from sfexit_emulator.server import EmulatorApp

# Max values of an Enterprise Edition org (limits.md; DailyBulkV2QueryFileStorageMB = 1 TB in MB
# as /limits reports it). Remaining = Max - spent.
STATIC_MAX: dict[str, int] = {
    "ActiveScratchOrgs": 0,
    "AnalyticsExternalDataSizeMB": 40960,
    "ConcurrentAsyncGetReportInstances": 200,
    "ConcurrentSyncReportRuns": 20,
    "DailyAnalyticsDataflowJobExecutions": 60,
    "DailyApiRequests": 0,          # live, see below
    "DailyAsyncApexExecutions": 250000,
    "DailyAsyncApexTests": 500,
    "DailyBulkApiBatches": 15000,
    "DailyBulkV2QueryFileStorageMB": 976562,
    "DailyBulkV2QueryJobs": 10000,
    "DailyDurableGenericStreamingApiEvents": 10000,
    "DailyDurableStreamingApiEvents": 10000,
    "DailyGenericStreamingApiEvents": 10000,
    "DailyScratchOrgs": 0,
    "DailyStandardVolumePlatformEvents": 10000,
    "DailyStreamingApiEvents": 10000,
    "DailyWorkflowEmails": 2000,
    "DataStorageMB": 5120,
    "DurableStreamingApiConcurrentClients": 20,
    "FileStorageMB": 10240,
    "HourlyAsyncReportRuns": 1200,
    "HourlyDashboardRefreshes": 200,
    "HourlyDashboardResults": 5000,
    "HourlyDashboardStatuses": 999999999,
    "HourlyLongTermIdMapping": 100000,
    "HourlyODataCallout": 10000,
    "HourlyPublishedPlatformEvents": 50000,
    "HourlyPublishedStandardVolumePlatformEvents": 100000,
    "HourlyShortTermIdMapping": 100000,
    "HourlySyncReportRuns": 500,
    "HourlyTimeBasedWorkflow": 50,
    "MassEmail": 5000,
    "Package2VersionCreates": 0,
    "Package2VersionCreatesWithoutValidation": 0,
    "PermissionTypes": 30000,
    "PrivateConnectOutboundCalloutHourlyLimitMB": 0,
    "SingleEmail": 5000,
    "StreamingApiConcurrentClients": 20,
}


def spent(app: EmulatorApp) -> RollingWindow:
    """Amounts spent per limit name (Bulk jobs, MB of results, batches) in the rolling 24 h
    window of the org's clock (rolling.py: Salesforce's daily limits roll, they never reset)."""
    with app.lock:
        found = app.extensions.get("limits_spent")
        if found is None:
            found = app.extensions["limits_spent"] = RollingWindow(app.clock.timestamp)
    assert isinstance(found, RollingWindow)
    return found


def spend(app: EmulatorApp, name: str, amount: int = 1) -> bool:
    """For the Bulk routes: spend from a daily limit; False when it is exhausted."""
    return spent(app).spend(name, amount, STATIC_MAX[name])


def _storage(app: EmulatorApp) -> dict[str, int]:
    """MB used per storage limit name, rounded up."""
    data_mb, file_mb = app.store.storage_usage()
    return {"DataStorageMB": math.ceil(data_mb), "FileStorageMB": math.ceil(file_mb)}


def limits(call: Call) -> Response:
    app = call.app
    used = spent(app)
    storage = _storage(app)
    body: dict[str, dict[str, int]] = {}
    for name, maximum in STATIC_MAX.items():
        if name == "DailyApiRequests":
            maximum = app.faults.daily_api_max
            remaining = max(0, maximum - app.api.used)
        elif name in ("DataStorageMB", "FileStorageMB"):
            remaining = max(0, maximum - storage.get(name, 0))
        else:
            remaining = max(0, maximum - used.used(name))
        body[name] = {"Max": maximum, "Remaining": remaining}
    return json_response(body)


def record_count(call: Call) -> Response:
    # "Available in REST API version 40.0 and later": every version served (server.API_VERSIONS,
    # 50.0+) has it. Salesforce requires "View Setup and Configuration"; every seeded API user
    # may call it here (UNCONF which refusal Salesforce sends without it).
    asked = call.request.arg("sObjects")
    # An empty ``sObjects=`` is taken as absent (UNCONF: the docs only say it is optional).
    names = [n.strip() for n in asked.split(",") if n.strip()] if asked else None
    counts = call.app.store.record_counts(names)
    return json_response({"sObjects": [{"count": count, "name": name} for name, count in counts]})


def register(router: Router) -> None:
    router.add("limits", r"/services/data/{v}/limits/?", limits)
    router.add("limits_record_count", r"/services/data/{v}/limits/recordCount/?", record_count)
