"""The one session against the emulator: silent re-auth, retries under faults, limits, CA, read-only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import certifi
import pytest

from auth_support import invoke, password_env, password_profile, write_config
from sfexit import errors
from sfexit.config import Settings, load_settings
from sfexit.org import connect
from sfexit.org.identity import whoami
from sfexit.org.rest import RestClient


def settings_for(emulator: Any, env: dict[str, str] | None = None, **profile: Any) -> Settings:
    overrides = {"login_url": emulator.url, "ca_bundle": str(emulator.ca_file),
                 **password_profile(emulator), **profile}
    return load_settings(environ={**password_env(emulator), **(env or {})}, overrides=overrides)


def token_requests(emulator: Any) -> int:
    return int(emulator.stats()["requests_by_route"].get("oauth_token", 0))


def test_expired_session_mid_run_reauthenticates_silently(fresh_emulator: Any) -> None:
    events: list[str] = []
    session = connect(settings_for(fresh_emulator), on_event=events.append)
    assert token_requests(fresh_emulator) == 1
    fresh_emulator.faults.expire_session_after_calls = 2
    rows = list(RestClient(session).query_iter("SELECT Id, Name FROM Account"))
    me = whoami(session)
    assert rows and me.username == fresh_emulator.credentials.username
    assert "session expired; signing in again" in events
    assert token_requests(fresh_emulator) >= 2


def test_session_idle_past_timeout_reauthenticates(fresh_emulator: Any) -> None:
    session = connect(settings_for(fresh_emulator))
    first = session.access_token
    fresh_emulator.clock.advance(3 * 3600)
    assert whoami(session).username == fresh_emulator.credentials.username
    assert session.access_token != first


def test_simple_salesforce_gets_the_refreshed_token(fresh_emulator: Any) -> None:
    session = connect(settings_for(fresh_emulator))
    sf = session.simple_salesforce()
    fresh_emulator.faults.expire_session_after_calls = 1
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] > 0
    assert sf.query("SELECT COUNT() FROM Contact")["totalSize"] > 0
    assert sf.session_id == session.access_token


def test_injected_503s_are_retried(fresh_emulator: Any) -> None:
    session = connect(settings_for(fresh_emulator), sleep=lambda s: None)
    fresh_emulator.faults.update({"error_503_rate": 0.3, "fault_seed": 7})
    before = fresh_emulator.stats()["requests_total"]
    me = whoami(session)
    assert me.username == fresh_emulator.credentials.username
    sent = fresh_emulator.stats()["requests_total"] - before
    assert session.calls >= sent > 4  # more requests than the 4 whoami needs: retries happened


def test_non_idempotent_post_is_not_retried_on_503(fresh_emulator: Any) -> None:
    sleeps: list[float] = []
    session = connect(settings_for(fresh_emulator), sleep=sleeps.append)
    session.api_version  # negotiate before the fault
    fresh_emulator.faults.error_503_rate = 1.0
    calls = session.calls
    with pytest.raises(errors.SalesforceError) as info:
        session.request("POST", "data/sobjects/Account", json={"Name": "Once"})
    assert info.value.status == 503
    assert session.calls == calls + 1 and sleeps == []
    fresh_emulator.faults.error_503_rate = 0.0
    assert RestClient(session).count("SELECT COUNT() FROM Account WHERE Name = 'Once'") == 0


def test_spent_daily_limit_is_exit_4(fresh_emulator: Any, tmp_path: Path) -> None:
    fresh_emulator.faults.daily_api_max = 0
    config = write_config(tmp_path, fresh_emulator, **password_profile(fresh_emulator))
    run = invoke(["--config", str(config), "limits"], env=password_env(fresh_emulator))
    assert run.code == 4
    assert run.body == {"status": 4, "name": "ApiLimitError", "exitCode": 4, "warnings": [],
                        "message": "TotalRequests Limit exceeded. (REQUEST_LIMIT_EXCEEDED) "
                                   "(wait until the org's API limit resets; see `sfexit limits`)"}


def test_read_only_session_refuses_writes_and_the_org_sees_none(fresh_emulator: Any) -> None:
    session = connect(settings_for(fresh_emulator), read_only=True)
    fresh_emulator.reset_stats()
    with pytest.raises(errors.ReadOnlyViolation):
        session.request("POST", "data/sobjects/Account", json={"Name": "x"})
    with pytest.raises(errors.ReadOnlyViolation):
        RestClient(session).update_records("Account", [{"id": "001000000000001AAA", "Name": "y"}])
    with pytest.raises(errors.ReadOnlyViolation):
        session.simple_salesforce().Account.create({"Name": "z"})
    assert whoami(session).org_id
    stats = fresh_emulator.stats()
    assert stats["writes"] == 0


def test_profile_ca_bundle_wins_over_a_different_requests_ca_bundle(emulator: Any) -> None:
    # python-stack.md: requests lets REQUESTS_CA_BUNDLE override Session.verify
    settings = settings_for(emulator, env={"REQUESTS_CA_BUNDLE": certifi.where()})
    session = connect(settings)
    assert whoami(session).username == emulator.credentials.username
    assert session.simple_salesforce().query("SELECT COUNT() FROM Account")["totalSize"] > 0


def test_profile_ca_wins_also_when_the_process_env_has_another_bundle(
        emulator: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", certifi.where())
    monkeypatch.setenv("CURL_CA_BUNDLE", certifi.where())
    session = connect(settings_for(emulator))
    assert session.simple_salesforce().query("SELECT COUNT() FROM User")["totalSize"] > 0


def test_requests_ca_bundle_is_used_without_a_profile_ca(emulator: Any) -> None:
    settings = load_settings(
        environ={**password_env(emulator), "REQUESTS_CA_BUNDLE": str(emulator.ca_file)},
        overrides={"login_url": emulator.url, **password_profile(emulator)})
    assert whoami(connect(settings)).org_id


def test_untrusted_certificate_is_one_clear_line(emulator: Any, tmp_path: Path) -> None:
    config = write_config(tmp_path, emulator, ca=False, **password_profile(emulator))
    run = invoke(["--config", str(config), "whoami"],
                 env={**password_env(emulator), "REQUESTS_CA_BUNDLE": certifi.where()})
    assert run.code == 1
    assert run.body["name"] == "ConnectionFailed"
    assert run.body["message"] == ("TLS verification failed for 127.0.0.1 (give the org's CA with "
                                   "ca_bundle in the profile or REQUESTS_CA_BUNDLE)")


def test_connection_reset_mid_body_is_retried(fresh_emulator: Any) -> None:
    session = connect(settings_for(fresh_emulator), sleep=lambda s: None)
    fresh_emulator.faults.update({"reset_rate": 0.3, "fault_seed": 3})
    rows = list(RestClient(session).query_iter("SELECT Id, Name FROM Account"))
    fresh_emulator.faults.reset_rate = 0.0
    assert len(rows) == RestClient(session).count("SELECT COUNT() FROM Account")
    assert fresh_emulator.stats()["faults_injected"].get("reset", 0) > 0


def test_query_iter_pages_through_next_records_url(emulator: Any) -> None:
    session = connect(settings_for(emulator))
    rest = RestClient(session)
    total = rest.count("SELECT COUNT() FROM Account")
    before = session.calls
    rows = list(rest.query_iter("SELECT Id, Name, Owner.Username FROM Account", batch_size=200))
    assert len(rows) == total and len({r["Id"] for r in rows}) == total
    assert session.calls - before == -(-total // 200)  # one call per page of 200
    assert "attributes" not in rows[0] and "attributes" not in (rows[0]["Owner"] or {})


def test_deleted_rows_only_with_include_deleted(emulator: Any) -> None:
    rest = RestClient(connect(settings_for(emulator)))
    query = "SELECT Id FROM Account WHERE IsDeleted = true"
    assert list(rest.query_iter(query)) == []
    assert len(list(rest.query_iter(query, include_deleted=True))) > 0


def test_update_records_in_collections_of_200(fresh_emulator: Any) -> None:
    session = connect(settings_for(fresh_emulator))
    rest = RestClient(session)
    ids = [r["Id"] for r in rest.query_iter("SELECT Id FROM Contact ORDER BY Id LIMIT 250")]
    assert len(ids) == 250
    records = [{"id": i, "Title": "sfexit test"} for i in ids]
    records.insert(3, {"id": "003000000000000AAA", "Title": "x"})
    before = session.calls
    results = rest.update_records("Contact", records)
    assert session.calls - before == 2
    assert len(results) == 251
    assert [r.success for r in results].count(False) == 1
    assert results[3].success is False and results[3].errors[0].status_code
    from sfexit.org import soql

    done = rest.count(soql.count("Contact", where=[soql.condition("Title", "=",
                                                                  "sfexit test")]))
    assert done == 250


def test_login_survives_a_connection_reset_and_a_503(fresh_emulator: Any, tmp_path: Path) -> None:
    """The token POST is repeatable: a dropped answer or a 5xx is tried again, not a traceback."""
    config = write_config(tmp_path, fresh_emulator, **password_profile(fresh_emulator))
    fresh_emulator.faults.fault_seed = 3
    fresh_emulator.faults.reset_rate = 0.3
    run = invoke(["--config", str(config), "whoami"], env=password_env(fresh_emulator))
    assert run.code == 0, run.output
    assert run.body["result"]["username"] == fresh_emulator.credentials.username
    fresh_emulator.faults.reset_rate = 0.0
    assert fresh_emulator.stats()["faults_injected"].get("reset", 0) >= 1  # the retry path really ran


def test_login_that_never_gets_an_answer_is_one_line(fresh_emulator: Any, tmp_path: Path) -> None:
    config = write_config(tmp_path, fresh_emulator, **password_profile(fresh_emulator))
    fresh_emulator.faults.reset_rate = 1.0
    run = invoke(["--config", str(config), "whoami"], env=password_env(fresh_emulator))
    assert run.code == 1
    assert run.body["name"] == "ConnectionFailed"
    assert run.body["message"].startswith("127.0.0.1 could not be reached: ChunkedEncodingError")


def test_login_answered_only_by_503s_is_one_line(fresh_emulator: Any, tmp_path: Path) -> None:
    """The emulator's 503 body is a REST error array, not OAuth's object: still one clear line."""
    config = write_config(tmp_path, fresh_emulator, **password_profile(fresh_emulator))
    fresh_emulator.faults.error_503_rate = 1.0
    run = invoke(["--config", str(config), "whoami"], env=password_env(fresh_emulator))
    assert run.code == 3, run.output
    assert run.body["name"] == "AuthError"
    assert "HTTP 503" in run.body["message"]
