"""Daily limits as Salesforce counts them: over a ROLLING 24-hour window, not a calendar day.

"The total number of API requests allowed per rolling 24-hour period" (API Request Limits and
Allocations, developer.salesforce.com/docs/atlas.en-us.salesforce_app_limits_cheatsheet.meta/
salesforce_app_limits_cheatsheet/salesforce_app_limits_platform_api.htm); Bulk API 2.0 query
jobs and result storage are likewise "per 24-hour rolling period" (bulk_api_2_limits.htm).
So a unit spent at time t counts until t + 24 h, then frees on its own: there is no reset.
Amounts are kept per whole second of the org's clock (``EmulatorClock``), so tests that move
the clock forward see the window empty as it would on Salesforce.
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable

WINDOW_SECONDS = 24 * 3600


class RollingWindow:
    """Amounts spent in the last :data:`WINDOW_SECONDS` of ``now``; thread-safe."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self.now = now
        self._lock = threading.Lock()
        self._spent: dict[str, collections.deque[list[int]]] = {}   # name → [[second, amount]]
        self._total: dict[str, int] = {}

    def _expire(self, name: str, now: float) -> None:
        buckets = self._spent.get(name)
        while buckets and buckets[0][0] <= now - WINDOW_SECONDS:
            self._total[name] -= buckets.popleft()[1]

    def used(self, name: str) -> int:
        with self._lock:
            self._expire(name, self.now())
            return self._total.get(name, 0)

    def spend(self, name: str, amount: int, maximum: int) -> bool:
        """Spend ``amount``; False (and nothing spent) if the window would pass ``maximum``."""
        with self._lock:
            now = self.now()
            self._expire(name, now)
            used = self._total.get(name, 0)
            if used + amount > maximum:
                return False
            second = int(now)
            buckets = self._spent.setdefault(name, collections.deque())
            if buckets and buckets[-1][0] == second:
                buckets[-1][1] += amount
            else:
                buckets.append([second, amount])
            self._total[name] = used + amount
            return True
