"""``/__emulator__/``: stats, clock and faults, over HTTP and from Python."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
import requests

from sfexit_emulator import Emulator


def _session(org: Emulator) -> requests.Session:
    session = requests.Session()
    session.verify = str(org.ca_file)
    session.trust_env = False
    session.headers["Authorization"] = f"Bearer {org.token}"
    return session


def test_stats_count_requests_by_route_and_bytes(fresh_emulator: Emulator) -> None:
    org = fresh_emulator
    org.reset_stats()
    http = _session(org)
    http.get(org.url + "/services/data")
    http.get(org.url + "/services/data/v68.0")
    http.get(org.url + "/services/data/v60.0/")
    http.get(org.url + "/does/not/exist")
    stats = http.get(org.url + "/__emulator__/stats").json()
    assert stats["requests_total"] == 4
    assert stats["requests_by_route"] == {"versions": 1, "resources": 2, "not_found": 1}
    assert stats["writes"] == 0
    assert stats["bytes_sent"] > 0
    assert stats["api_requests_used"] == 2
    # The stats call itself is counted afterwards.
    assert org.stats()["requests_by_route"]["admin_stats"] == 1


def test_reset_stats_over_http(fresh_emulator: Emulator) -> None:
    org = fresh_emulator
    http = _session(org)
    http.get(org.url + "/services/data")
    assert http.post(org.url + "/__emulator__/stats/reset").json()["requests_total"] == 0


def test_clock_advances_and_sets(fresh_emulator: Emulator) -> None:
    org = fresh_emulator
    http = _session(org)
    before = org.clock.now()
    answer = http.post(org.url + "/__emulator__/clock", json={"advance_seconds": 3600}).json()
    now = dt.datetime.fromisoformat(answer["now"])
    assert dt.timedelta(seconds=3599) < now - before < dt.timedelta(seconds=3700)
    answer = http.post(org.url + "/__emulator__/clock",
                       json={"set": "2030-01-02T03:04:05Z"}).json()
    assert answer["now"].startswith("2030-01-02T03:04:0")
    org.clock.advance(60)
    assert org.clock.now().strftime("%H:%M") == "03:05"


def test_clock_refuses_bad_input(fresh_emulator: Emulator) -> None:
    http = _session(fresh_emulator)
    url = fresh_emulator.url + "/__emulator__/clock"
    assert http.post(url, json={"advance_seconds": -5}).status_code == 400
    assert http.post(url, json={"set": "yesterday"}).status_code == 400
    assert http.post(url, json={"nothing": 1}).status_code == 400


def test_faults_over_http_and_python(fresh_emulator: Emulator) -> None:
    org = fresh_emulator
    http = _session(org)
    url = org.url + "/__emulator__/faults"
    assert http.get(url).json()["error_503_rate"] == 0.0
    answer = http.post(url, json={"latency_ms": 1, "fault_seed": 7})
    assert answer.status_code == 200
    assert answer.json()["fault_seed"] == 7
    assert org.faults.latency_ms == 1
    org.faults.reset_rate = 0.25
    assert http.get(url).json()["reset_rate"] == 0.25
    bad = http.post(url, json={"no_such_fault": 1})
    assert bad.status_code == 400 and "no_such_fault" in bad.json()[0]["message"]
    assert http.post(url, json={"error_503_rate": 2}).status_code == 400
    with pytest.raises(ValueError):
        org.faults.error_503_rate = -1


def test_faults_setter_replaces_all_settings(fresh_emulator: Emulator) -> None:
    org = fresh_emulator
    org.faults.latency_ms = 3
    org.faults = {"error_503_rate": 0.5}
    assert org.faults.latency_ms == 0
    assert org.faults.error_503_rate == 0.5


def test_admin_routes_need_no_salesforce_session(emulator: Emulator) -> None:
    response = requests.get(emulator.url + "/__emulator__/stats", verify=str(emulator.ca_file))
    assert response.status_code == 200
    assert "Sforce-Limit-Info" not in response.headers


def test_stats_are_exact_as_soon_as_the_answer_is_received(fresh_emulator: Emulator) -> None:
    """No polling: the request, its write and its body bytes are counted before it is sent."""
    org = fresh_emulator
    http = _session(org)
    http.headers["Accept-Encoding"] = "identity"  # bytes_sent counts the body as sent
    url = org.url + "/services/data/v68.0/sobjects/Account"
    org.reset_stats()
    received = 0
    for n in range(25):
        created = http.post(url, json={"Name": f"Stats race {n}"})
        assert created.status_code == 201, created.text
        received += len(created.content)
        stats = org.stats()   # read in-process, right after the client got the full answer
        assert stats["requests_by_route"] == {"sobject_create": n + 1}
        assert stats["writes"] == n + 1
        assert stats["bytes_sent"] == received
    read = http.get(f"{url}/{created.json()['id']}")
    assert org.stats()["writes"] == 25   # a read is not a write
    assert org.stats()["bytes_sent"] == received + len(read.content)


def test_stats_are_counted_before_the_first_byte_is_written(
        fresh_emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """The deterministic form of the test above: look at the counters at the moment the
    server starts writing the answer."""
    from sfexit_emulator import server

    org = fresh_emulator
    seen: list[tuple[dict[str, Any], int]] = []
    original = server._RequestHandler._write

    def spy(self: Any, request: Any, response: Any, wire: Any) -> int:
        seen.append((self.server.app.stats.snapshot(), wire.planned))
        return original(self, request, response, wire)

    monkeypatch.setattr(server._RequestHandler, "_write", spy)
    http = _session(org)
    http.headers["Accept-Encoding"] = "identity"
    org.reset_stats()
    created = http.post(org.url + "/services/data/v68.0/sobjects/Account", json={"Name": "Spy"})
    assert created.status_code == 201
    snapshot, planned = seen[-1]
    assert snapshot["requests_by_route"] == {"sobject_create": 1}
    assert snapshot["writes"] == 1
    assert snapshot["bytes_sent"] == planned == len(created.content)
