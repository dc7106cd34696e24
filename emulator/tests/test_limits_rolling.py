"""Daily limits roll over 24 hours of the org's clock, as Salesforce counts them (rolling.py):
a call or a Bulk job spent at t stops counting at t + 24 h; nothing resets at midnight."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sfexit_emulator import Emulator, testing
from sfexit_emulator.rolling import RollingWindow

HOUR = 3600.0


@pytest.fixture()
def org() -> Iterator[Emulator]:
    """A private org: these tests move its clock and spend its limits."""
    with Emulator(records=testing.SESSION_RECORDS, seed=testing.SESSION_SEED) as org:
        yield org


def limits(org: Emulator) -> Any:
    r = requests.get(f"{org.url}/services/data/v64.0/limits", timeout=30, verify=str(org.ca_file),
                     headers={"Authorization": f"Bearer {org.token}"})
    r.raise_for_status()
    return r.json(), r.headers["Sforce-Limit-Info"]


def test_api_calls_leave_the_window_24_hours_after_they_were_made(org: Emulator) -> None:
    org.faults.daily_api_max = 1000
    for _ in range(4):
        limits(org)
    org.clock.advance(12 * HOUR)
    body, info = limits(org)            # the 5th call, 12 h after the first four
    assert body["DailyApiRequests"]["Remaining"] == 995 and info == "api-usage=5/1000"
    org.clock.advance(12 * HOUR + 1)    # the first four are 24 h old: free again
    body, info = limits(org)
    assert body["DailyApiRequests"]["Remaining"] == 998 and info == "api-usage=2/1000"
    org.clock.advance(24 * HOUR + 1)
    assert limits(org)[1] == "api-usage=1/1000"


def test_a_spent_allowance_comes_back_a_day_later_not_before(org: Emulator) -> None:
    org.faults.daily_api_max = 3
    for _ in range(3):
        limits(org)
    r = requests.get(f"{org.url}/services/data/v64.0/limits", timeout=30,
                     verify=str(org.ca_file), headers={"Authorization": f"Bearer {org.token}"})
    assert r.status_code == 403 and r.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    org.clock.advance(23 * HOUR)
    assert requests.get(r.url, timeout=30, verify=str(org.ca_file),
                        headers={"Authorization": f"Bearer {org.token}"}).status_code == 403
    org.clock.advance(HOUR + 1)
    assert limits(org)[1] == "api-usage=1/3"


def test_bulk_jobs_spent_roll_off_with_the_clock(org: Emulator) -> None:
    name = "DailyBulkV2QueryJobs"
    before = limits(org)[0][name]["Remaining"]
    assert testing.spend_limit(org, name, 7)
    assert limits(org)[0][name]["Remaining"] == before - 7
    org.clock.advance(24 * HOUR + 1)
    assert limits(org)[0][name]["Remaining"] == before


def test_the_window_refuses_what_would_pass_the_maximum_and_keeps_nothing_of_it() -> None:
    now = [1000.0]
    window = RollingWindow(lambda: now[0])
    assert window.spend("X", 3, 5) and not window.spend("X", 3, 5)
    assert window.used("X") == 3
    now[0] += 24 * HOUR
    assert window.used("X") == 0 and window.spend("X", 5, 5)
