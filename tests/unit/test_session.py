"""OrgSession policies, one module with `responses`: retries, re-auth, read-only, errors, usage."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
import requests
import responses

from sfexit import errors
from sfexit.org.relogin import MAX_REFUSED_SESSIONS
from sfexit.org.session import OrgSession, RetryPolicy, Token, is_read_only_safe

BASE = "https://acme.my.salesforce.com"
DATA = f"{BASE}/services/data/v64.0"
TOKEN = "00D000000000001!AQ.first"
NEW_TOKEN = "00D000000000001!AQ.second"


class Sleeps(list[float]):
    def __call__(self, seconds: float) -> None:
        self.append(seconds)


@pytest.fixture
def sleeps() -> Sleeps:
    return Sleeps()


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps


def make(sleeps: Sleeps, *, read_only: bool = False, reauth: object = None,
         events: list[str] | None = None) -> OrgSession:
    return OrgSession(BASE, TOKEN, api_version="64.0", read_only=read_only, sleep=sleeps,
                      reauthenticate=reauth,  # type: ignore[arg-type]
                      on_event=(events.append if events is not None else None))


def sf_error(code: str, message: str) -> list[dict[str, str]]:
    return [{"message": message, "errorCode": code}]


def test_get_is_retried_on_503_with_bounded_jittered_backoff(mocked: responses.RequestsMock,
                                                             sleeps: Sleeps) -> None:
    mocked.get(f"{DATA}/limits", status=503, json=sf_error("SERVER_UNAVAILABLE", "busy"))
    mocked.get(f"{DATA}/limits", status=503, json=sf_error("SERVER_UNAVAILABLE", "busy"))
    mocked.get(f"{DATA}/limits", json={"DailyApiRequests": {"Max": 10, "Remaining": 9}})
    session = make(sleeps)
    assert session.get_json("data/limits") == {"DailyApiRequests": {"Max": 10, "Remaining": 9}}
    assert session.calls == 3
    assert len(sleeps) == 2
    assert 0 <= sleeps[0] <= 0.5 and 0 <= sleeps[1] <= 1.0


def test_retries_are_bounded_and_then_the_error_is_raised(mocked: responses.RequestsMock,
                                                          sleeps: Sleeps) -> None:
    mocked.get(f"{DATA}/limits", status=503, json=sf_error("SERVER_UNAVAILABLE", "busy"))
    session = make(sleeps)
    with pytest.raises(errors.SalesforceError) as info:
        session.get_json("data/limits")
    assert info.value.one_line() == "GET /services/data/v64.0/limits failed: busy"
    assert info.value.status == 503
    assert session.calls == RetryPolicy().attempts == 5
    assert len(sleeps) == 4
    assert all(0 <= s <= RetryPolicy().max_seconds for s in sleeps)


def test_non_idempotent_post_is_never_retried(mocked: responses.RequestsMock,
                                              sleeps: Sleeps) -> None:
    mocked.post(f"{DATA}/sobjects/Account", status=503, json=sf_error("SERVER_UNAVAILABLE", "x"))
    session = make(sleeps)
    with pytest.raises(errors.SalesforceError):
        session.request("POST", "data/sobjects/Account", json={"Name": "A"})
    assert session.calls == 1 and sleeps == []


def test_non_idempotent_post_connection_error_is_not_retried(mocked: responses.RequestsMock,
                                                             sleeps: Sleeps) -> None:
    mocked.post(f"{DATA}/sobjects/Account", body=requests.ConnectionError("reset"))
    session = make(sleeps)
    with pytest.raises(errors.ConnectionFailed) as info:
        session.request("POST", "data/sobjects/Account", json={"Name": "A"})
    assert info.value.one_line() == (f"{BASE} could not be reached: reset (check the network, "
                                     "proxy and CA bundle, then run the command again)")
    assert session.calls == 1


def test_post_flagged_idempotent_is_retried(mocked: responses.RequestsMock,
                                            sleeps: Sleeps) -> None:
    mocked.post(f"{DATA}/jobs/query", status=503)
    mocked.post(f"{DATA}/jobs/query", json={"id": "750x"})
    session = make(sleeps)
    assert session.request("POST", "data/jobs/query", json={}, idempotent=True).json() == {
        "id": "750x"}
    assert session.calls == 2


def test_connection_errors_retried_then_connection_failed(mocked: responses.RequestsMock,
                                                          sleeps: Sleeps) -> None:
    mocked.get(f"{DATA}/limits", body=requests.ConnectionError("refused"))
    session = make(sleeps)
    with pytest.raises(errors.ConnectionFailed):
        session.get_json("data/limits")
    assert session.calls == 5


def test_retry_after_is_honoured(mocked: responses.RequestsMock, sleeps: Sleeps) -> None:
    mocked.get(f"{DATA}/limits", status=503, headers={"Retry-After": "7"})
    mocked.get(f"{DATA}/limits", json={})
    make(sleeps).get_json("data/limits")
    assert sleeps == [7.0]


def test_too_long_retry_after_gives_up_instead_of_waiting(mocked: responses.RequestsMock,
                                                          sleeps: Sleeps) -> None:
    mocked.get(f"{DATA}/limits", status=503, headers={"Retry-After": "3600"},
               json=sf_error("SERVER_UNAVAILABLE", "maintenance"))
    session = make(sleeps)
    with pytest.raises(errors.SalesforceError):
        session.get_json("data/limits")
    assert sleeps == [] and session.calls == 1


def test_unable_to_lock_row_retried_for_idempotent_patch_only(mocked: responses.RequestsMock,
                                                              sleeps: Sleeps) -> None:
    lock = sf_error("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record")
    mocked.patch(f"{DATA}/composite/sobjects", status=400, json=lock)
    mocked.patch(f"{DATA}/composite/sobjects", json=[])
    session = make(sleeps)
    session.request("PATCH", "data/composite/sobjects", json={}, idempotent=True)
    assert session.calls == 2
    mocked.patch(f"{DATA}/sobjects/Account/001", status=400, json=lock)
    with pytest.raises(errors.SalesforceError) as info:
        session.request("PATCH", "data/sobjects/Account/001", json={})
    assert info.value.error_code == "UNABLE_TO_LOCK_ROW"
    assert session.calls == 3


def test_spent_daily_limit_is_an_api_limit_error_without_retries(
        mocked: responses.RequestsMock, sleeps: Sleeps) -> None:
    mocked.get(f"{DATA}/limits", status=403,
               json=sf_error("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded."))
    session = make(sleeps)
    with pytest.raises(errors.ApiLimitError) as info:
        session.get_json("data/limits")
    assert info.value.exit_code == 4
    assert info.value.one_line() == (
        "TotalRequests Limit exceeded. (REQUEST_LIMIT_EXCEEDED) (wait until the org's API "
        "limit resets; see `sfexit limits`)")
    assert session.calls == 1


def test_concurrent_request_limit_is_retried(mocked: responses.RequestsMock,
                                             sleeps: Sleeps) -> None:
    mocked.get(f"{DATA}/limits", status=403, json=sf_error(
        "REQUEST_LIMIT_EXCEEDED", "ConcurrentRequests (Concurrent API Requests) Limit exceeded."))
    mocked.get(f"{DATA}/limits", json={})
    session = make(sleeps)
    session.get_json("data/limits")
    assert session.calls == 2


def test_other_4xx_not_retried_and_parsed(mocked: responses.RequestsMock, sleeps: Sleeps) -> None:
    mocked.get(f"{DATA}/query", status=400, json=sf_error(
        "INVALID_FIELD", "No such column 'Nme' on entity 'Account'."))
    session = make(sleeps)
    with pytest.raises(errors.SalesforceError) as info:
        session.get_json("data/query", params={"q": "SELECT Nme FROM Account"})
    assert info.value.name == "INVALID_FIELD"
    assert info.value.one_line() == ("GET /services/data/v64.0/query failed: No such column "
                                     "'Nme' on entity 'Account'.")
    assert session.calls == 1


def test_expired_session_reauthenticates_once_silently(mocked: responses.RequestsMock,
                                                       sleeps: Sleeps) -> None:
    dead = sf_error("INVALID_SESSION_ID", "Session expired or invalid")
    mocked.post(f"{DATA}/sobjects/Account", status=401, json=dead)
    mocked.post(f"{DATA}/sobjects/Account", status=201, json={"id": "001"})
    tokens: list[str] = []

    def reauth() -> Token:
        tokens.append("new")
        return Token(NEW_TOKEN, BASE)

    events: list[str] = []
    session = make(sleeps, reauth=reauth, events=events)
    assert session.request("POST", "data/sobjects/Account", json={}).status_code == 201
    assert tokens == ["new"]
    sent = [c.request.headers["Authorization"] for c in mocked.calls]
    assert sent == [f"Bearer {TOKEN}", f"Bearer {NEW_TOKEN}"]
    assert events == ["session expired; signing in again"]


def test_a_session_refused_after_every_fresh_login_is_an_auth_error(
        mocked: responses.RequestsMock, sleeps: Sleeps) -> None:
    mocked.get(f"{DATA}/limits", status=401,
               json=sf_error("INVALID_SESSION_ID", "Session expired or invalid"))
    session = make(sleeps, reauth=lambda: Token(NEW_TOKEN, BASE))
    with pytest.raises(errors.AuthError) as info:
        session.get_json("data/limits")
    assert info.value.one_line() == ("Session expired or invalid (INVALID_SESSION_ID) (sign in "
                                     "again with `sfexit login`)")
    assert info.value.exit_code == 3
    assert session.calls == MAX_REFUSED_SESSIONS   # the first session included


@pytest.mark.parametrize(("method", "path"), [
    ("POST", "data/sobjects/Account"), ("PATCH", "data/composite/sobjects"),
    ("DELETE", "data/sobjects/Account/001"), ("PUT", "data/jobs/ingest/750/batches"),
    ("PATCH", "data/jobs/ingest/750"), ("DELETE", "data/jobs/query/750"),
    ("POST", "data/composite"),
])
def test_read_only_refuses_writes_before_sending(mocked: responses.RequestsMock, sleeps: Sleeps,
                                                 method: str, path: str) -> None:
    session = make(sleeps, read_only=True)
    with pytest.raises(errors.ReadOnlyViolation) as info:
        session.request(method, path, json={})
    assert info.value.one_line().startswith(f"refused {method} /services/data/v64.0/")
    assert info.value.one_line().endswith("this session is read-only (dry run); nothing was sent")
    assert session.calls == 0 and len(mocked.calls) == 0


def test_read_only_refuses_writes_through_simple_salesforce(mocked: responses.RequestsMock,
                                                            sleeps: Sleeps) -> None:
    session = make(sleeps, read_only=True)
    with pytest.raises(errors.ReadOnlyViolation):
        session.simple_salesforce().Account.update("001000000000001", {"Name": "x"})
    assert len(mocked.calls) == 0


def test_read_only_allows_reads_and_query_job_creation(mocked: responses.RequestsMock,
                                                       sleeps: Sleeps) -> None:
    mocked.get(f"{DATA}/limits", json={})
    mocked.post(f"{DATA}/jobs/query", json={"id": "750"})
    session = make(sleeps, read_only=True)
    session.get_json("data/limits")
    session.request("POST", "data/jobs/query", json={"operation": "query", "query": "x"})
    assert session.calls == 2
    assert is_read_only_safe("HEAD", "/anything")
    assert not is_read_only_safe("POST", "/services/data/v64.0/jobs/ingest")
    # An export that stops aborts the query jobs it created (export/data_run.py).
    assert is_read_only_safe("PATCH", "/services/data/v64.0/jobs/query/7503000000AbCdE")
    assert not is_read_only_safe("PATCH", "/services/data/v64.0/jobs/query/750/results")


def test_http_urls_are_refused_before_any_connection(mocked: responses.RequestsMock,
                                                     sleeps: Sleeps) -> None:
    with pytest.raises(errors.UsageError) as info:
        OrgSession("http://acme.my.salesforce.com", TOKEN)
    assert info.value.one_line() == ("instance URL http://acme.my.salesforce.com is not HTTPS; "
                                     "sfexit only connects over https:// (nothing was sent)")
    assert info.value.exit_code == 2
    session = make(sleeps)
    with pytest.raises(errors.UsageError):
        session.request("GET", "http://acme.my.salesforce.com/services/data")
    assert len(mocked.calls) == 0


def test_token_is_not_sent_to_other_hosts(mocked: responses.RequestsMock, sleeps: Sleeps) -> None:
    mocked.get("https://files.example.com/blob", body=b"x")
    make(sleeps).request("GET", "https://files.example.com/blob")
    assert "Authorization" not in mocked.calls[0].request.headers


def test_api_usage_and_calls_are_counted(mocked: responses.RequestsMock, sleeps: Sleeps) -> None:
    mocked.get(f"{DATA}/limits", json={}, headers={"Sforce-Limit-Info": "api-usage=18/15000"})
    session = make(sleeps)
    session.get_json("data/limits")
    assert session.api_usage == (18, 15000) and session.calls == 1


def test_api_version_is_negotiated_to_the_newest_supported(mocked: responses.RequestsMock,
                                                           sleeps: Sleeps) -> None:
    mocked.get(f"{BASE}/services/data", json=[
        {"version": v, "label": "x", "url": f"/services/data/v{v}"}
        for v in ("49.0", "50.0", "64.0", "68.0", "99.0")])
    session = OrgSession(BASE, TOKEN, sleep=sleeps)
    assert session.api_version == "68.0"
    assert session.data_url("limits") == f"{BASE}/services/data/v68.0/limits"
    assert session.calls == 1
    assert OrgSession(BASE, TOKEN, api_version="60.0").api_version == "60.0"


@pytest.mark.parametrize(("status", "body", "content_type", "name", "message"), [
    (400, '{"error":"invalid_grant","error_description":"authentication failure"}',
     "application/json", "invalid_grant", "authentication failure"),
    (500, '<soapenv:Envelope><soapenv:Body><soapenv:Fault><faultcode>sf:INVALID_LOGIN'
          '</faultcode><faultstring>INVALID_LOGIN: Invalid username</faultstring>'
          '</soapenv:Fault></soapenv:Body></soapenv:Envelope>', "text/xml",
     "INVALID_LOGIN", "INVALID_LOGIN: Invalid username"),
    (404, "<html>not here</html>", "text/html", "SalesforceError", "HTTP 404 Not Found"),
])
def test_error_shapes_are_parsed(mocked: responses.RequestsMock, sleeps: Sleeps, status: int,
                                 body: str, content_type: str, name: str, message: str) -> None:
    mocked.post(f"{DATA}/thing", status=status, body=body, content_type=content_type)
    session = make(sleeps)
    with pytest.raises(errors.SfexitError) as info:
        session.request("POST", "data/thing")
    assert info.value.name == name
    assert info.value.one_line() == f"POST /services/data/v64.0/thing failed: {message}"


def test_debug_log_is_redacted(mocked: responses.RequestsMock, sleeps: Sleeps,
                               caplog: pytest.LogCaptureFixture) -> None:
    mocked.get(f"{BASE}/id/00D000000000001AAA/005000000000001AAA", json={})
    caplog.set_level(logging.DEBUG, logger="sfexit")
    make(sleeps).request("GET", f"/id/00D000000000001AAA/005000000000001AAA?oauth_token={TOKEN}")
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "GET https://acme.my.salesforce.com/id/00D************/005************" in text
    assert TOKEN not in text and "00D000000000001AAA" not in text


def test_refresh_reaches_simple_salesforce(mocked: responses.RequestsMock, sleeps: Sleeps) -> None:
    dead = sf_error("INVALID_SESSION_ID", "Session expired or invalid")
    mocked.get(f"{DATA}/query/", status=401, json=dead)
    mocked.get(f"{DATA}/query/", json={"totalSize": 0, "done": True, "records": []})
    session = make(sleeps, reauth=lambda: Token(NEW_TOKEN, BASE))
    sf = session.simple_salesforce()
    assert sf.query("SELECT Id FROM Account")["totalSize"] == 0
    assert mocked.calls[-1].request.headers["Authorization"] == f"Bearer {NEW_TOKEN}"
    assert sf.session_id == NEW_TOKEN
    assert session.calls == 2


def test_identity_bad_oauth_token_403_also_reauthenticates(mocked: responses.RequestsMock,
                                                           sleeps: Sleeps) -> None:
    # The identity service answers a dead token with 403 "Bad_OAuth_Token", not REST's 401.
    mocked.get(f"{BASE}/services/oauth2/userinfo", status=403, body="Bad_OAuth_Token",
               content_type="text/plain;charset=UTF-8")
    mocked.get(f"{BASE}/services/oauth2/userinfo", json={"user_id": "005"})
    session = make(sleeps, reauth=lambda: Token(NEW_TOKEN, BASE))
    assert session.get_json("/services/oauth2/userinfo") == {"user_id": "005"}
    mocked.get(f"{BASE}/services/oauth2/userinfo", status=403, body="Bad_OAuth_Token")
    with pytest.raises(errors.AuthError) as info:
        make(sleeps).get_json("/services/oauth2/userinfo")
    assert info.value.one_line() == ("Session expired or invalid (INVALID_SESSION_ID) (sign in "
                                     "again with `sfexit login`)")


def test_parallel_callers_sign_in_again_only_once(mocked: responses.RequestsMock,
                                                  sleeps: Sleeps) -> None:
    import threading

    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        if request.headers["Authorization"] == f"Bearer {TOKEN}":
            return 401, {"Content-Type": "application/json"}, (
                '[{"errorCode":"INVALID_SESSION_ID","message":"Session expired or invalid"}]')
        return 200, {"Content-Type": "application/json"}, "{}"

    mocked.add_callback(responses.GET, f"{DATA}/limits", callback=answer)
    logins: list[int] = []
    barrier = threading.Barrier(4)

    def reauth() -> Token:
        logins.append(1)
        return Token(NEW_TOKEN, BASE)

    session = make(sleeps, reauth=reauth)

    def call() -> None:
        barrier.wait()
        session.get_json("data/limits")

    threads = [threading.Thread(target=call) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert logins == [1]


def test_proxy_variables_are_honoured_per_host_and_read_once(
        sleeps: Sleeps, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "files.example")
    http = make(sleeps)._http

    def proxies(url: str) -> dict[str, str]:
        settings = http.merge_environment_settings(url, {}, False, True, None)  # as requests
        assert settings["verify"] is http.pinned_verify   # the profile's CA wins
        return dict(settings["proxies"])

    assert proxies(f"{DATA}/limits")["https"] == "http://proxy.example:3128"
    assert "https" not in proxies("https://files.example/a")
    monkeypatch.setenv("HTTPS_PROXY", "http://other.example:1")   # not read again
    assert proxies(f"{DATA}/query")["https"] == "http://proxy.example:3128"
