"""``RestClient.create_records``: sObject Collections POST, ≤ 200 a call, one result per record
in order, never retried (a second POST could create the records twice)."""

from __future__ import annotations

from typing import Any

import pytest
from test_reassign import session_for

from sfexit import errors
from sfexit.org.rest import RestClient
from sfexit_emulator import testing


def create_calls(org: Any, rest: RestClient) -> int:
    rest.limits()  # stats are counted after the response is written: settle with one more call
    return int(org.stats()["requests_by_route"].get("composite_create", 0))


def lead_names(org: Any) -> dict[str, str]:
    return {str(i): str(n) for i, n in testing.rows(org, "SELECT Id, LastName FROM Lead")}


def test_450_records_take_three_calls_and_come_back_in_order(fresh_emulator: Any) -> None:
    org = fresh_emulator
    rest = RestClient(session_for(org))
    calls = create_calls(org, rest)
    wanted = [{"LastName": f"Created {i:03d}", "Company": "Acme"} for i in range(450)]
    results = rest.create_records("Lead", wanted)
    assert create_calls(org, rest) - calls == 3          # 200 + 200 + 50
    assert len(results) == 450 and all(r.success and r.id for r in results)
    names = lead_names(org)
    assert [names[str(r.id)] for r in results] == [w["LastName"] for w in wanted]


def test_a_refused_record_fails_alone_with_salesforces_code(fresh_emulator: Any) -> None:
    org = fresh_emulator
    rest = RestClient(session_for(org))
    before = len(lead_names(org))
    results = rest.create_records("Lead", [{"LastName": "First", "Company": "Acme"},
                                           {"Company": "No last name"},
                                           {"LastName": "Third", "Company": "Acme"}])
    assert [r.success for r in results] == [True, False, True]
    assert results[1].id is None and results[1].errors[0].status_code == "REQUIRED_FIELD_MISSING"
    assert "LastName" in results[1].errors[0].fields
    assert len(lead_names(org)) == before + 2


def test_all_or_none_creates_nothing_when_one_record_fails(fresh_emulator: Any) -> None:
    org = fresh_emulator
    rest = RestClient(session_for(org))
    before = lead_names(org)
    results = rest.create_records("Lead", [{"LastName": "First", "Company": "Acme"},
                                           {"Company": "No last name"}], all_or_none=True)
    assert [r.success for r in results] == [False, False]
    assert results[0].errors[0].status_code == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert lead_names(org) == before


def test_a_failed_create_call_is_not_sent_twice(fresh_emulator: Any) -> None:
    org = fresh_emulator
    rest = RestClient(session_for(org))          # its retry policy allows 2 attempts
    calls = create_calls(org, rest)
    before = lead_names(org)
    org.faults = {"error_503_rate": 1.0}
    with pytest.raises(errors.SfexitError):
        rest.create_records("Lead", [{"LastName": "Once", "Company": "Acme"}])
    org.faults = {}
    assert create_calls(org, rest) - calls == 1
    assert lead_names(org) == before


def test_no_records_no_call(fresh_emulator: Any) -> None:
    org = fresh_emulator
    rest = RestClient(session_for(org))
    calls = create_calls(org, rest)
    assert rest.create_records("Lead", []) == []
    assert create_calls(org, rest) == calls


def test_object_names_are_checked_before_anything_is_sent(emulator: Any) -> None:
    with pytest.raises(ValueError, match="not a Salesforce field or object name"):
        RestClient(session_for(emulator)).create_records("Lead/../x", [{"LastName": "x"}])
