"""Answers that are not the API's (org/answers.py through the session), and re-login bounds."""

from __future__ import annotations

import pytest
import requests
import responses

from sfexit import errors
from sfexit.org import answers
from sfexit.org.relogin import MAX_LOGIN_FAILURES
from sfexit.org.session import OrgSession, Token

BASE = "https://acme.my.salesforce.com"
DATA = f"{BASE}/services/data/v64.0"
TOKEN = "00D000000000001!AQ.first"
LOGIN_PAGE = ("<html><head><title>Login | Salesforce</title></head><body><form>"
              "<input type='password' name='pw'></form></body></html>")
PROXY_PAGE = ("<!DOCTYPE html><html><head><title>Corporate gateway</title></head><body>"
              "<form><input name=u><input type=\"password\" name=p></form></body></html>")


def make(sleeps: list[float], reauth: object = None) -> OrgSession:
    return OrgSession(BASE, TOKEN, api_version="64.0", sleep=sleeps.append,
                      reauthenticate=reauth)  # type: ignore[arg-type]


@pytest.fixture
def mocked() -> responses.RequestsMock:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield rsps  # type: ignore[misc]


BAD = [
    ("html", dict(body="<html><body>Gateway</body></html>", content_type="text/html"),
     "GET /services/data/v64.0/limits answered an HTML page instead of JSON"),
    ("truncated", dict(body='{"DailyApiRequests": {"Max": 1', content_type="application/json"),
     "GET /services/data/v64.0/limits answered truncated JSON (byte 30 of 30)"),
    ("invalid", dict(body='{"a": tru}', content_type="application/json"),
     "GET /services/data/v64.0/limits answered invalid JSON (byte 6 of 10)"),
    ("empty", dict(body="", content_type="application/json"),
     "GET /services/data/v64.0/limits answered HTTP 200 with an empty body"),
    ("gzip", dict(body='{"a": 1}', content_type="application/json",
                  headers={"Content-Encoding": "gzip"}),
     "GET /services/data/v64.0/limits answered a body that does not match its "
     "Content-Encoding header"),
    ("not utf-8", dict(body=b'{"a": "\xff"}', content_type="application/json"),
     "GET /services/data/v64.0/limits answered JSON that is not UTF-8 (byte 7)"),
]


@pytest.mark.parametrize(("kind", "answer", "message"), BAD, ids=[b[0] for b in BAD])
def test_a_bad_answer_to_a_get_is_retried_then_named(mocked: responses.RequestsMock, kind: str,
                                                    answer: dict[str, object],
                                                    message: str) -> None:
    mocked.get(f"{DATA}/limits", **answer)  # type: ignore[arg-type]
    sleeps: list[float] = []
    session = make(sleeps)
    with pytest.raises(errors.ServerAnswerError) as info:
        session.get_json("data/limits")
    assert info.value.message == message
    assert info.value.exit_code == errors.EXIT_FAILURE
    assert session.calls == session.retry.attempts and len(sleeps) == session.retry.attempts - 1


def test_a_bad_answer_that_heals_on_retry_is_used(mocked: responses.RequestsMock) -> None:
    mocked.get(f"{DATA}/limits", body='{"Daily', content_type="application/json")
    mocked.get(f"{DATA}/limits", json={"DailyApiRequests": {"Max": 5, "Remaining": 4}})
    session = make([])
    assert session.get_json("data/limits")["DailyApiRequests"]["Max"] == 5
    assert session.calls == 2


def test_a_bad_answer_to_a_create_is_not_sent_again(mocked: responses.RequestsMock) -> None:
    mocked.post(f"{DATA}/sobjects/Account", body="<html>oops</html>", content_type="text/html")
    session = make([])
    with pytest.raises(errors.ServerAnswerError, match="POST /services/data/v64.0/sobjects/"
                                                       "Account answered an HTML page"):
        session.request("POST", "data/sobjects/Account", json={"Name": "x"})
    assert session.calls == 1


@pytest.mark.parametrize("page", [LOGIN_PAGE, PROXY_PAGE], ids=["salesforce", "proxy"])
def test_a_login_page_is_an_auth_error_after_one_more_login(mocked: responses.RequestsMock,
                                                           page: str) -> None:
    mocked.get(f"{DATA}/limits", body=page, content_type="text/html;charset=UTF-8")
    logins: list[int] = []

    def reauth() -> Token:
        logins.append(1)
        return Token(TOKEN, BASE)

    session = make([], reauth)
    with pytest.raises(errors.AuthError) as info:
        session.get_json("data/limits")
    assert info.value.one_line().startswith(
        "GET /services/data/v64.0/limits answered a login page instead of the API (")
    assert info.value.exit_code == errors.EXIT_AUTH and len(logins) >= 1


def test_a_login_page_then_a_good_answer_after_signing_in_again(
        mocked: responses.RequestsMock) -> None:
    mocked.get(f"{DATA}/limits", body=LOGIN_PAGE, content_type="text/html")
    mocked.get(f"{DATA}/limits", json={})
    session = make([], lambda: Token("00D000000000001!AQ.second", BASE))
    assert session.get_json("data/limits") == {}
    assert session.access_token.endswith("second")


@pytest.mark.parametrize(("body", "message"), [
    ([], "GET /services/data/v64.0/limits answered JSON a list where an object was expected"),
    ("x", "GET /services/data/v64.0/limits answered JSON a string where an object was expected"),
])
def test_a_wrongly_shaped_answer_is_named(mocked: responses.RequestsMock, body: object,
                                          message: str) -> None:
    mocked.get(f"{DATA}/limits", json=body)
    with pytest.raises(errors.ServerAnswerError) as info:
        make([]).get_json("data/limits")
    assert info.value.message == message


def test_a_missing_member_names_endpoint_and_member(mocked: responses.RequestsMock) -> None:
    mocked.get(f"{DATA}/jobs/query/7505g00000AbCdEAAV", json={"state": "JobComplete"})
    body = make([]).get_json("data/jobs/query/7505g00000AbCdEAAV")
    with pytest.raises(errors.ServerAnswerError) as info:
        body["id"]
    assert info.value.message == ("GET /services/data/v64.0/jobs/query/{id} answered JSON "
                                  "without 'id'")
    with pytest.raises(KeyError):  # still a KeyError for code that expects one
        body["id"]


def test_member_and_integer_check_types(mocked: responses.RequestsMock) -> None:
    mocked.get(f"{DATA}/query", json={"totalSize": "many", "records": {}, "done": True})
    body = make([]).get_json("data/query")
    with pytest.raises(errors.ServerAnswerError, match="answered 'totalSize' as a string where a "
                                                       "number was expected"):
        answers.integer(body, "totalSize")
    with pytest.raises(errors.ServerAnswerError, match="'records' as an object where a list"):
        answers.member(body, "records", list)
    assert answers.member(body, "done", bool) is True


def test_sessions_dying_every_call_keep_signing_in(mocked: responses.RequestsMock) -> None:
    """Issue 19 item 11: re-authentication goes on for as long as logins succeed."""
    tokens = iter(f"00D000000000001!AQ.t{n}" for n in range(100))
    live = {"token": TOKEN}

    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        if request.headers["Authorization"] != f"Bearer {live['token']}":
            return 401, {"Content-Type": "application/json"}, \
                '[{"errorCode": "INVALID_SESSION_ID", "message": "Session expired or invalid"}]'
        live["token"] = "dead after one call"
        return 200, {"Content-Type": "application/json"}, '{"ok": true}'

    def reauth() -> Token:
        live["token"] = next(tokens)
        return Token(live["token"], BASE)

    mocked.add_callback(responses.GET, f"{DATA}/limits", callback=answer)
    session = make([], reauth)
    for _ in range(30):
        assert session.get_json("data/limits") == {"ok": True}


def test_an_unreachable_login_host_is_tried_again_a_bounded_number_of_times(
        mocked: responses.RequestsMock) -> None:
    mocked.get(f"{DATA}/limits", status=401, json=[{"errorCode": "INVALID_SESSION_ID"}])
    mocked.get(f"{DATA}/limits", json={})
    outcomes = [errors.ConnectionFailed("login host down")] * (MAX_LOGIN_FAILURES - 1)

    def reauth() -> Token:
        if outcomes:
            raise outcomes.pop()
        return Token("00D000000000001!AQ.back", BASE)

    sleeps: list[float] = []
    assert make(sleeps, reauth).get_json("data/limits") == {}
    assert len(sleeps) == MAX_LOGIN_FAILURES - 1

    def never() -> Token:
        raise errors.ConnectionFailed("login host down")

    mocked.replace(responses.GET, f"{DATA}/limits", status=401,
                   json=[{"errorCode": "INVALID_SESSION_ID"}])
    with pytest.raises(errors.ConnectionFailed):
        make([], never).get_json("data/limits")


def test_a_refused_login_is_never_repeated(mocked: responses.RequestsMock) -> None:
    mocked.get(f"{DATA}/limits", status=401, json=[{"errorCode": "INVALID_SESSION_ID"}])
    logins: list[int] = []

    def refused() -> Token:
        logins.append(1)
        raise errors.AuthError("login failed: authentication failure (invalid_grant)")

    with pytest.raises(errors.AuthError, match="invalid_grant"):
        make([], refused).get_json("data/limits")
    assert logins == [1]
