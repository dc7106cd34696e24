"""Fault injection: latency, 503s, mid-body resets, truncated Bulk result pages, session
expiry, spent daily limit, and more.

Also the switch, profile and scales of the server-time model (costs.py: ``cost_model``,
``cost_profile``, ``cost_rest_scale``, ``cost_bulk_scale``), so one running emulator can be measured with and
without it. Set at start (``Emulator(latency_ms=…)``, ``sfexit emulator serve --latency-ms``),
from Python (``org.faults.error_503_rate = 0.2`` or ``org.faults.update({...})``) or over HTTP
(``POST /__emulator__/faults``). Random decisions come from one ``random.Random(fault_seed)``,
so a given seed and request order give the same fault pattern every run.
"""

from __future__ import annotations

import dataclasses
import random
import threading
from typing import Any

# costs.PROFILES' names (kept here so faults imports nothing; a test checks they agree).
COST_PROFILES = ("low", "central", "high")
# Fields that are fractions of requests (0.0 … 1.0).
_RATES = ("error_503_rate", "reset_rate", "lock_row_rate", "truncate_page_rate")


@dataclasses.dataclass
class FaultSettings:
    latency_ms: float = 0.0
    # Fraction of Salesforce requests answered 503 SERVER_UNAVAILABLE.
    error_503_rate: float = 0.0
    # Fraction of responses whose body is cut in the middle, then the connection dropped.
    reset_rate: float = 0.0
    # Fraction of Bulk query result pages served cut short while the response stays well formed:
    # Content-Length (or the gzip stream) matches the cut body and ``Sforce-NumberOfRecords``
    # still gives the full page's rows, so only a client that counts the records it received
    # notices. Half the cuts end at a record boundary (whole rows missing), half anywhere
    # (often inside a quoted value). Used by routes/bulk_query.py; counted as "truncate_page".
    truncate_page_rate: float = 0.0
    # Each access token dies after serving this many calls (counted from when it was set);
    # each 401 it causes is counted as "session_expired".
    expire_session_after_calls: int | None = None
    # DailyApiRequests Max; once spent, 403 REQUEST_LIMIT_EXCEEDED "TotalRequests Limit exceeded.".
    daily_api_max: int = 100_000
    # Fraction of Bulk ingest rows failing UNABLE_TO_LOCK_ROW (used by routes/bulk_ingest.py);
    # counted per row as "lock_row".
    lock_row_rate: float = 0.0
    # The Data Export download answers the HTML login page instead of the zip (routes/dataexport.py).
    html_instead_of_zip: bool = False
    # The blob routes ignore ``Range`` and send the whole body (200), as a server without Range
    # support does (Salesforce's support is undocumented; routes/sobjects.py answers 206).
    ignore_range: bool = False
    fault_seed: int = 0
    # Objects (comma-separated, e.g. "PermissionSetAssignment") whose REST queries the org
    # refuses, 403 INSUFFICIENT_ACCESS, as for a user who may not run them (routes/query.py);
    # counted as "query_refused". For a client's handling of a refused read.
    refuse_query_objects: str = ""
    # The HTTP methods the 503 and reset faults may hit ("GET,PATCH"); empty: every method.
    # For tests of a client's retries, which by design cover only idempotent requests.
    fault_methods: str = ""
    # The server-time model of costs.py (off: today's timing). The profile picks the REST page
    # time in its range (costs.PROFILES); the scales multiply its times: REST/synchronous ones
    # and Bulk ones, for sensitivity runs.
    cost_model: bool = False
    cost_profile: str = "central"
    cost_rest_scale: float = 1.0
    cost_bulk_scale: float = 1.0


class Faults:
    """Thread-safe fault settings plus the seeded random source that decides each fault.

    Attribute access reads and writes settings (``org.faults.latency_ms = 50``); setting
    ``fault_seed`` restarts the random sequence.
    """

    _own = ("_lock", "_settings", "_random", "_generation")

    def __init__(self, **settings: Any) -> None:
        object.__setattr__(self, "_lock", threading.Lock())
        object.__setattr__(self, "_settings", FaultSettings())
        object.__setattr__(self, "_random", random.Random(0))
        # Bumped whenever expire_session_after_calls is set: sessions count calls from there.
        object.__setattr__(self, "_generation", 0)
        self.update(settings)

    def __getattr__(self, name: str) -> Any:
        settings = object.__getattribute__(self, "_settings")
        if name in {f.name for f in dataclasses.fields(FaultSettings)}:
            return getattr(settings, name)
        raise AttributeError(name)

    def __setattr__(self, name: str, value: Any) -> None:
        self.update({name: value})

    @property
    def generation(self) -> int:
        return int(object.__getattribute__(self, "_generation"))

    def update(self, changes: dict[str, Any]) -> dict[str, Any]:
        """Apply ``changes`` (validated); raises ValueError naming a bad key or value."""
        names = {f.name: f for f in dataclasses.fields(FaultSettings)}
        clean: dict[str, Any] = {}
        for key, value in changes.items():
            if key not in names:
                raise ValueError(f"unknown fault {key!r}; known: {', '.join(sorted(names))}")
            clean[key] = _coerce(key, value)
        with self._lock:
            for key, value in clean.items():
                setattr(self._settings, key, value)
            if "fault_seed" in clean:
                self._random.seed(clean["fault_seed"])
            if "expire_session_after_calls" in clean:
                object.__setattr__(self, "_generation", self._generation + 1)
        return self.to_dict()

    def reset(self) -> None:
        defaults = dataclasses.asdict(FaultSettings())
        self.update(defaults)

    def to_dict(self) -> dict[str, Any]:
        with self._lock:
            return dataclasses.asdict(self._settings)

    def roll(self, rate_name: str, method: str | None = None) -> bool:
        """True with probability ``rate_name``; draws from the seeded source only when rate > 0
        and ``method`` (when given) is one of ``fault_methods`` (when set)."""
        with self._lock:
            rate = float(getattr(self._settings, rate_name))
            if rate <= 0.0:
                return False
            only = {m.strip().upper() for m in self._settings.fault_methods.split(",") if m.strip()}
            if method is not None and only and method.upper() not in only:
                return False
            return self._random.random() < rate

    def pick(self, count: int) -> int:
        """A seeded choice among ``count`` (0 … count-1); 0 when there is no choice."""
        with self._lock:
            return self._random.randrange(count) if count > 1 else 0

    def cut_point(self, length: int) -> int:
        """Where to cut a body of ``length`` bytes for a reset: somewhere strictly inside it."""
        with self._lock:
            if length <= 1:
                return 0
            return self._random.randrange(1, length)


def _coerce(key: str, value: Any) -> Any:
    if key in _RATES:
        rate = float(value)
        if not 0.0 <= rate <= 1.0:
            raise ValueError(f"{key} must be between 0 and 1, got {value!r}")
        return rate
    if key == "latency_ms":
        latency = float(value)
        if latency < 0:
            raise ValueError("latency_ms must be >= 0")
        return latency
    if key == "expire_session_after_calls":
        if value is None:
            return None
        calls = int(value)
        if calls < 0:
            raise ValueError("expire_session_after_calls must be >= 0")
        return calls
    if key == "daily_api_max":
        limit = int(value)
        if limit < 0:
            raise ValueError("daily_api_max must be >= 0")
        return limit
    if key in ("cost_rest_scale", "cost_bulk_scale"):
        scale = float(value)
        if not scale > 0:
            raise ValueError(f"{key} must be > 0, got {value!r}")
        return scale
    if key in ("html_instead_of_zip", "ignore_range", "cost_model"):
        if not isinstance(value, bool):
            raise ValueError(f"{key} must be true or false")
        return value
    if key == "cost_profile":
        if value not in COST_PROFILES:
            raise ValueError(f"cost_profile must be one of {', '.join(COST_PROFILES)}, "
                             f"got {value!r}")
        return str(value)
    if key == "fault_seed":
        return int(value)
    if key == "fault_methods":
        if not isinstance(value, str):
            raise ValueError("fault_methods must be a comma-separated list of HTTP methods")
        return value.upper()
    if key == "refuse_query_objects":
        if not isinstance(value, str):
            raise ValueError("refuse_query_objects must be a comma-separated list of objects")
        return value
    raise ValueError(f"unknown fault {key!r}")
