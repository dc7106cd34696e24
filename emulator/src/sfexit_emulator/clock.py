"""The emulator's clock: real time plus an offset that tests move forward instead of sleeping.

Everything time-dependent in the org (session expiry, Bulk job progress, export expiry,
LAST_N_DAYS) reads :meth:`EmulatorClock.now`. ``advance`` and ``set`` are what
``POST /__emulator__/clock`` and ``org.clock`` call.
"""

from __future__ import annotations

import datetime as dt
import threading
import time


class EmulatorClock:
    def __init__(self, start: dt.datetime | None = None) -> None:
        self._lock = threading.Lock()
        self._offset = 0.0
        if start is not None:
            self.set(start)

    def now(self) -> dt.datetime:
        """Current emulator time, timezone-aware UTC."""
        with self._lock:
            offset = self._offset
        return dt.datetime.fromtimestamp(time.time() + offset, tz=dt.timezone.utc)

    def timestamp(self) -> float:
        with self._lock:
            return time.time() + self._offset

    def advance(self, seconds: float) -> dt.datetime:
        """Move forward (never backward: a clock going back would revive expired sessions)."""
        if seconds < 0:
            raise ValueError("the emulator clock only moves forward")
        with self._lock:
            self._offset += seconds
        return self.now()

    def set(self, when: dt.datetime) -> dt.datetime:
        """Jump to ``when`` (naive means UTC). Setting the past is allowed for seeding scenarios."""
        if when.tzinfo is None:
            when = when.replace(tzinfo=dt.timezone.utc)
        with self._lock:
            self._offset = when.timestamp() - time.time()
        return self.now()


def parse_iso(text: str) -> dt.datetime:
    """ISO 8601 with ``Z`` or an offset; raises ValueError."""
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def sf_datetime(when: dt.datetime) -> str:
    """Salesforce's REST datetime form: ``2024-05-01T12:34:56.000+0000``."""
    utc = when.astimezone(dt.timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"
