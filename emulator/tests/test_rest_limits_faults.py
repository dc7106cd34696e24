"""``/limits``, Sforce-Limit-Info, and the injected faults as a client observes them."""

from __future__ import annotations

import time

import pytest
import requests

from sfexit_emulator import Emulator


def _http(org: Emulator, token: str | None = None) -> requests.Session:
    session = requests.Session()
    session.verify = str(org.ca_file)
    session.trust_env = False  # else REQUESTS_CA_BUNDLE overrides verify (python-stack.md)
    session.headers["Authorization"] = f"Bearer {token or org.token}"
    return session


def _limits_url(org: Emulator) -> str:
    return f"{org.url}/services/data/v68.0/limits"


def test_limits_shape_and_live_daily_api_requests(fresh_emulator: Emulator) -> None:
    org = fresh_emulator
    http = _http(org)
    first = http.get(_limits_url(org))
    assert first.status_code == 200
    body = first.json()
    for name in ("DailyApiRequests", "DailyBulkV2QueryJobs", "DailyBulkV2QueryFileStorageMB",
                 "DailyBulkApiBatches", "DataStorageMB", "FileStorageMB"):
        assert set(body[name]) == {"Max", "Remaining"}, name
    assert body["DailyApiRequests"]["Max"] == 100_000
    used = body["DailyApiRequests"]["Max"] - body["DailyApiRequests"]["Remaining"]
    assert first.headers["Sforce-Limit-Info"] == f"api-usage={used}/100000"
    http.get(f"{org.url}/services/data/v68.0")
    second = http.get(_limits_url(org)).json()
    assert second["DailyApiRequests"]["Remaining"] == body["DailyApiRequests"]["Remaining"] - 2


def test_daily_api_max_spent_is_request_limit_exceeded(fresh_emulator: Emulator) -> None:
    org = fresh_emulator
    org.faults.daily_api_max = org.stats()["api_requests_used"] + 2
    http = _http(org)
    assert http.get(_limits_url(org)).status_code == 200
    assert http.get(_limits_url(org)).status_code == 200
    refused = http.get(_limits_url(org))
    assert refused.status_code == 403
    assert refused.json() == [{"message": "TotalRequests Limit exceeded.",
                               "errorCode": "REQUEST_LIMIT_EXCEEDED"}]


def test_error_503_rate_is_seeded_and_reproducible(fresh_emulator: Emulator) -> None:
    org = fresh_emulator
    http = _http(org)

    def pattern() -> list[int]:
        org.faults.update({"error_503_rate": 0.5, "fault_seed": 1234})
        return [http.get(f"{org.url}/services/data/v68.0").status_code for _ in range(20)]

    first = pattern()
    assert set(first) == {200, 503}
    assert pattern() == first
    org.faults.error_503_rate = 1.0
    response = http.get(f"{org.url}/services/data/v68.0")
    assert response.status_code == 503
    assert response.json()[0]["errorCode"] == "SERVER_UNAVAILABLE"
    assert org.stats()["faults_injected"]["error_503"] >= 11


def test_reset_cuts_the_body_and_drops_the_connection(fresh_emulator: Emulator) -> None:
    org = fresh_emulator
    org.faults.reset_rate = 1.0
    with pytest.raises(requests.exceptions.RequestException):
        _http(org).get(f"{org.url}/services/data/v68.0/sobjects",
                       headers={"Accept-Encoding": "identity"})
    org.faults.reset_rate = 0.0
    assert _http(org).get(f"{org.url}/services/data/v68.0/sobjects").status_code == 200


def test_refuse_query_objects_refuses_only_their_queries(fresh_emulator: Emulator) -> None:
    org = fresh_emulator
    http = _http(org)
    org.faults.refuse_query_objects = "PermissionSetAssignment, Profile"
    query = f"{org.url}/services/data/v68.0/query"
    refused = http.get(query, params={"q": "SELECT Id FROM permissionsetassignment"})
    assert refused.status_code == 403
    assert refused.json() == [{"errorCode": "INSUFFICIENT_ACCESS",
                               "message": "insufficient access rights on object id"}]
    assert http.get(query, params={"q": "SELECT Id FROM Account"}).status_code == 200
    assert org.stats()["faults_injected"]["query_refused"] == 1
    org.faults.refuse_query_objects = ""
    assert http.get(query, params={"q": "SELECT Id FROM Profile"}).status_code == 200


def test_session_expires_after_n_calls(fresh_emulator: Emulator) -> None:
    org = fresh_emulator
    token = org.new_token()
    org.faults.expire_session_after_calls = 2
    http = _http(org, token)
    assert http.get(f"{org.url}/services/data/v68.0").status_code == 200
    assert http.get(f"{org.url}/services/data/v68.0").status_code == 200
    expired = http.get(f"{org.url}/services/data/v68.0")
    assert expired.status_code == 401
    assert expired.json()[0]["errorCode"] == "INVALID_SESSION_ID"
    assert org.stats()["faults_injected"]["session_expired"] == 1


def test_latency_is_added(fresh_emulator: Emulator) -> None:
    org = fresh_emulator
    http = _http(org)
    http.get(f"{org.url}/services/data/v68.0")  # warm the connection
    org.faults.latency_ms = 150
    started = time.monotonic()
    http.get(f"{org.url}/services/data/v68.0")
    assert time.monotonic() - started >= 0.15


def test_reset_also_cuts_gzipped_bodies(fresh_emulator: Emulator) -> None:
    org = fresh_emulator
    org.faults.update({"reset_rate": 1.0, "fault_seed": 3})
    for _ in range(5):
        with pytest.raises(requests.exceptions.RequestException):
            _http(org).get(f"{org.url}/services/data/v68.0/sobjects",
                           headers={"Accept-Encoding": "gzip"})
    assert org.stats()["faults_injected"]["reset"] == 5


@pytest.mark.parametrize("path", ["/", "/secur/frontdoor.jsp", "/ui/setup/export/DataExportPage/d",
                                  "/servlet/servlet.OrgExport"])
def test_injected_503_on_ui_pages_is_an_html_page(fresh_emulator: Emulator, path: str) -> None:
    org = fresh_emulator
    org.faults.error_503_rate = 1.0
    page = _http(org).get(org.url + path, allow_redirects=False)
    assert page.status_code == 503
    assert page.headers["Content-Type"].startswith("text/html")
    assert "<html>" in page.text and "temporarily unavailable" in page.text
    assert "Sforce-Limit-Info" not in page.headers
    rest = _http(org).get(f"{org.url}/services/data/v68.0/limits")
    assert rest.status_code == 503 and rest.headers["Content-Type"].startswith("application/json")
    assert org.stats()["faults_injected"]["error_503"] == 2
