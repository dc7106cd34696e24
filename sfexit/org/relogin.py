"""When the session signs in again, and when it stops (issue 19, item 11).

Re-authentication keeps going for as long as logins succeed: an org whose sessions die every few
calls must not end a long export. Only consecutive failures are bounded, and a success resets
each count:

- a login that cannot reach the login host is tried again, :data:`MAX_LOGIN_FAILURES` times in
  a row at most; a login the org refuses (wrong secret, inactive user) is never repeated, since
  repeating it could lock the user out;
- :data:`MAX_REFUSED_SESSIONS` sessions in a row refused: the login works but the session does
  not (API disabled for the user, IP restrictions), so it is an AuthError. A session counts as
  refused only once every request sent with it has come back and none was served. Parallel
  downloads share the session, so while one thread reads the refusal of a session that served
  its few calls, the threads those calls were for may not have read their answers yet; judging
  a session by the answers read so far ended a long export whose sessions each served two calls
  (a CI run, 2026-12-07). Sessions that serve a few calls and expire never add up.

:class:`Relogins` keeps these counts for one :class:`~sfexit.org.session.OrgSession`; the
session calls it under its own lock.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import TYPE_CHECKING

from sfexit import errors

if TYPE_CHECKING:
    from sfexit.org.session import Token

MAX_LOGIN_FAILURES = 3
MAX_REFUSED_SESSIONS = 3


@dataclasses.dataclass
class _Tally:
    """What came of the requests sent with one session."""
    in_flight: int = 0
    served: bool = False
    refused: bool = False

    def refused_outright(self) -> bool:
        return self.refused and not self.served and not self.in_flight


class Relogins:
    """Which session a request is sent with (``generation``, one more per re-login), what came
    of each recent session's requests, and the consecutive login failures. Not thread-safe by
    itself: the session holds its lock."""

    def __init__(self) -> None:
        self.generation = 0
        self._tallies: dict[int, _Tally] = {0: _Tally()}
        self._login_failures = 0     # consecutive logins that could not reach the login host

    def sending(self) -> int:
        """A request is about to be sent; the generation to report its outcome under."""
        self._tallies[self.generation].in_flight += 1
        return self.generation

    def came_back(self, generation: int, *, served: bool, refused: bool) -> None:
        """The request sent with ``generation`` was ``served``, ``refused`` as a dead session,
        or neither (it failed otherwise)."""
        tally = self._tallies.get(generation)
        if tally is None:
            return  # a session too old to count any more
        tally.in_flight -= 1
        tally.served |= served
        tally.refused |= refused

    def give_up(self, generation: int) -> bool:
        """Whether a session refused for a request sent with ``generation`` ends it: this one
        and the :data:`MAX_REFUSED_SESSIONS` - 1 before it refused outright."""
        if generation != self.generation:
            return False  # an older session: another thread has signed in again already
        before = range(generation - 1, generation - MAX_REFUSED_SESSIONS, -1)
        return generation >= MAX_REFUSED_SESSIONS - 1 and all(
            self._tallies[g].refused_outright() for g in before)

    def sign_in(self, reauthenticate: Callable[[], Token], wait: Callable[[int], None]
                ) -> Token:
        """A new session from ``reauthenticate``; ``wait(n)`` after the n-th unreachable login
        host in a row. Raises AuthError (refused, at once), ConnectionFailed (after
        :data:`MAX_LOGIN_FAILURES` in a row)."""
        while True:
            try:
                token = reauthenticate()
                break
            except errors.ConnectionFailed:
                self._login_failures += 1
                if self._login_failures >= MAX_LOGIN_FAILURES:
                    raise
                wait(self._login_failures)
        self._login_failures = 0
        self.generation += 1
        self._tallies[self.generation] = _Tally()
        self._tallies.pop(self.generation - MAX_REFUSED_SESSIONS, None)
        return token
