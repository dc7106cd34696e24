"""When the session signs in again, and when it stops (issue 19, item 11).

Re-authentication keeps going for as long as logins succeed: an org whose sessions die every few
calls must not end a long export. Only consecutive failures are bounded, and a success resets
each count:

- a login that cannot reach the login host is tried again, :data:`MAX_LOGIN_FAILURES` times in
  a row at most; a login the org refuses (wrong secret, inactive user) is never repeated, since
  repeating it could lock the user out;
- :data:`MAX_REFUSED_SESSIONS` sessions in a row refused, each a different one, with no call
  answered in between by any thread: the login works but the session does not (API disabled
  for the user, IP restrictions), so it is an AuthError. Sessions that serve a few calls and
  expire never add up.

:class:`Relogins` keeps these counts for one :class:`~sfexit.org.session.OrgSession`; the
session calls it under its own lock (parallel downloads share the session).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from sfexit import errors

if TYPE_CHECKING:
    from sfexit.org.session import Token

MAX_LOGIN_FAILURES = 3
MAX_REFUSED_SESSIONS = 3


class Relogins:
    """Which session a request was sent with (``generation``, one more per re-login) and the
    consecutive-failure counts. Not thread-safe by itself: the session holds its lock."""

    def __init__(self) -> None:
        self.generation = 0
        self._refused = (0, -1)      # (sessions refused in a row, the last one counted)
        self._login_failures = 0     # consecutive logins that could not reach the login host

    def answered(self) -> None:
        """A call was answered: the sessions work. Cheap when nothing was counted."""
        if self._refused[0]:
            self._refused = (0, -1)

    def give_up(self, generation: int) -> bool:
        """Whether a session refused for a request sent with ``generation`` ends it."""
        if generation != self.generation:
            return False  # an older session: another thread has signed in again already
        count, last = self._refused
        if generation > last:
            self._refused = count, last = count + 1, generation
        return count >= MAX_REFUSED_SESSIONS

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
        return token
