"""When a session refused for a request ends it (sfexit/org/relogin.py): only sessions that
served none of the requests sent with them add up, whichever thread reads its answer first."""

from __future__ import annotations

from sfexit.org.relogin import MAX_REFUSED_SESSIONS, Relogins
from sfexit.org.session import Token


def _sign_in(relogins: Relogins) -> None:
    relogins.sign_in(lambda: Token("00Dxx!AQnew", "https://x.my.salesforce.com"), lambda n: None)


def test_sessions_that_served_calls_read_late_never_add_up() -> None:
    """Three threads share each session; the session serves two and refuses the third, whose
    refusal is read before the two answers (a CI run of 2026-12-07 ended an export so)."""
    relogins = Relogins()
    for _ in range(10 * MAX_REFUSED_SESSIONS):
        first, second, third = (relogins.sending() for _ in range(3))
        relogins.came_back(third, served=False, refused=True)
        assert not relogins.give_up(third)
        _sign_in(relogins)
        relogins.came_back(first, served=True, refused=False)
        relogins.came_back(second, served=True, refused=False)


def test_sessions_refused_outright_end_it_at_the_third() -> None:
    relogins = Relogins()
    verdicts = []
    for _ in range(MAX_REFUSED_SESSIONS):
        sent = [relogins.sending() for _ in range(3)]
        for generation in sent:
            relogins.came_back(generation, served=False, refused=True)
        verdicts.append(relogins.give_up(sent[0]))
        _sign_in(relogins)
    assert verdicts == [False] * (MAX_REFUSED_SESSIONS - 1) + [True]


def test_a_session_still_answering_is_not_judged_yet() -> None:
    """Two sessions refused outright; before the third, a request of the second is still out."""
    relogins = Relogins()
    for _ in range(MAX_REFUSED_SESSIONS - 2):
        relogins.came_back(relogins.sending(), served=False, refused=True)
        _sign_in(relogins)
    out = relogins.sending()
    relogins.came_back(relogins.sending(), served=False, refused=True)
    _sign_in(relogins)
    refused = relogins.sending()
    relogins.came_back(refused, served=False, refused=True)
    assert not relogins.give_up(refused)
    relogins.came_back(out, served=False, refused=True)
    assert relogins.give_up(refused)


def test_an_older_session_refused_leaves_the_decision_to_the_newer() -> None:
    relogins = Relogins()
    old = relogins.sending()
    _sign_in(relogins)
    relogins.came_back(old, served=False, refused=True)
    assert not relogins.give_up(old)
