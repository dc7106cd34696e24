"""The org emulator: a Salesforce org on loopback. sfexit's library code never imports it.

Tests, benchmarks, the demo and ``sfexit emulator serve`` use :class:`Emulator`::

    with Emulator(records=2000, seed=1) as org:
        requests.get(org.url + "/services/data/v68.0/limits",
                     headers={"Authorization": f"Bearer {org.token}"}, verify=org.ca_file)

The org's records (read them, seed them, bend them) through :mod:`sfexit_emulator.testing`:
with this class, the whole API that code outside the emulator may use (its ``store`` and ``app``
are for the emulator's own tests).

Heavy imports (the store, ``cryptography``) happen in :meth:`Emulator.start`, so that importing
this package (the org engineer's modules import ``sfexit_emulator.ids``) stays cheap.
"""

from __future__ import annotations

import dataclasses
import shutil
import sys
import tempfile
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import datetime as dt

    from sfexit_emulator.clock import EmulatorClock
    from sfexit_emulator.faults import Faults
    from sfexit_emulator.server import EmulatorApp, EmulatorHTTPServer
    from sfexit_emulator.store import OrgStore

__all__ = ["Credentials", "Emulator"]


@dataclasses.dataclass(frozen=True)
class Credentials:
    """The demo org's secrets: the admin's login and the demo connected app."""

    username: str
    password: str
    security_token: str
    consumer_key: str
    consumer_secret: str
    jwt_key_file: Path          # RSA private key whose certificate the connected app holds
    jwt_cert_file: Path
    redirect_uri: str


def _demo_login() -> tuple[str, str, str]:
    from sfexit_emulator import store

    demo: Any = store.DEMO_CREDENTIALS
    if isinstance(demo, dict):
        return demo["username"], demo["password"], demo["security_token"]
    if isinstance(demo, tuple) and not hasattr(demo, "username"):
        return str(demo[0]), str(demo[1]), str(demo[2])
    return demo.username, demo.password, demo.security_token


def _declared_objects(schema_file: str | Path | None) -> dict[str, dict[str, Any]]:
    if schema_file is None:
        return {}
    from sfexit_emulator import schema_custom
    from sfexit_emulator.schema import Schema

    return schema_custom.load(Path(schema_file), set(Schema.load().objects))


class Emulator:
    """A running emulated org. Use as a context manager, or call :meth:`start`/:meth:`stop`.

    ``admin_token`` is accepted as given (any shape); without it a Salesforce-shaped token is
    made. ``store_dir`` holds the org's SQLite file (default: a private temp dir, removed on
    stop). ``session_seconds`` is the inactivity timeout of OAuth/SOAP sessions on the
    emulator clock. ``cost_model`` turns on the model of Salesforce's server time (costs.py;
    off: today's timing) at ``cost_profile`` (low, central, high: the REST page time), its
    times multiplied by ``cost_rest_scale`` (calls, REST query pages) and ``cost_bulk_scale``
    (Bulk query jobs and results). ``schema_file``: custom objects and fields to add (JSON or
    YAML, schema_custom.py). Raises ValueError for a non-loopback ``host``, a scale that is
    not > 0, an unknown profile or a schema file that cannot be used (SchemaFileError).
    """

    def __init__(self, records: int = 2000, seed: int = 1, latency_ms: float = 0,
                 tls: bool = True, admin_token: str | None = None,
                 ca_file: str | Path | None = None, store_dir: str | Path | None = None,
                 host: str = "127.0.0.1", port: int = 0, session_seconds: int = 7200,
                 daily_api_max: int = 100_000, now: dt.datetime | None = None,
                 cost_model: bool = False, cost_rest_scale: float = 1.0,
                 cost_bulk_scale: float = 1.0, schema_file: str | Path | None = None,
                 cost_profile: str = "central") -> None:
        from sfexit_emulator.server import is_loopback

        if not is_loopback(host):
            raise ValueError(f"the emulator only binds a loopback address, not {host!r}")
        self.records, self.seed, self.tls = records, seed, tls
        self.host, self.port = host, port
        self._latency_ms, self._daily_api_max = latency_ms, daily_api_max
        if not (cost_rest_scale > 0 and cost_bulk_scale > 0):
            raise ValueError("cost_rest_scale and cost_bulk_scale must be > 0")
        from sfexit_emulator.faults import COST_PROFILES

        if cost_profile not in COST_PROFILES:
            raise ValueError(f"cost_profile must be one of {', '.join(COST_PROFILES)}")
        self._costs = {"cost_model": cost_model, "cost_rest_scale": cost_rest_scale,
                       "cost_bulk_scale": cost_bulk_scale, "cost_profile": cost_profile}
        self._admin_token_arg = admin_token
        self._ca_file_arg = Path(ca_file) if ca_file else None
        self._store_dir_arg = Path(store_dir) if store_dir else None
        self._session_seconds = session_seconds
        self._now = now
        self._declared = _declared_objects(schema_file)
        self._tmp: Path | None = None
        self._server: EmulatorHTTPServer | None = None
        self.app: EmulatorApp | None = None
        self.url = ""
        self.token = ""
        self.ca_file: Path | None = None
        self.credentials: Credentials | None = None

    # --- lifecycle ------------------------------------------------------------------------
    def start(self) -> Emulator:
        from sfexit_emulator import auth_state, tls
        from sfexit_emulator.clock import EmulatorClock
        from sfexit_emulator.faults import Faults
        from sfexit_emulator.routes import build_router
        from sfexit_emulator.server import EmulatorApp, EmulatorHTTPServer, serve_in_thread
        from sfexit_emulator.store import OrgStore

        if self._server is not None:
            return self
        self._tmp = Path(tempfile.mkdtemp(prefix="sfexit-emulator-"))
        store_dir = self._store_dir_arg or self._tmp
        store_dir.mkdir(parents=True, exist_ok=True)
        clock = EmulatorClock(self._now)
        store = OrgStore.create(store_dir / "org.sqlite3", seed=self.seed, records=self.records,
                                now=clock.now())
        if self._declared:
            store.declare(self._declared)
        keys = auth_state.demo_jwt_key_pair()
        connected_app = auth_state.demo_connected_app(store.admin_user_id, keys.cert_pem)
        auth = auth_state.AuthState(store.org_id, connected_app, self._session_seconds)
        faults = Faults(latency_ms=self._latency_ms, daily_api_max=self._daily_api_max,
                        **self._costs)
        self.app = EmulatorApp(store=store, clock=clock, faults=faults, auth=auth,
                               router=build_router())
        context = None
        if self.tls:
            cert = tls.make_certificates(self._tmp / "tls", self._ca_file_arg)
            context = tls.server_context(cert)
            self.ca_file = cert.ca_file
        self._server = EmulatorHTTPServer(self.host, self.port, self.app, context)
        self.port = self._server.server_address[1]
        host = f"[{self.host}]" if ":" in self.host else self.host
        self.url = f"{'https' if self.tls else 'http'}://{host}:{self.port}"
        self.app.base_url = self.url
        self.token = auth.issue(store.admin_user_id, clock.now(), token=self._admin_token_arg,
                                pinned=True).token
        username, password, security_token = _demo_login()
        key_file = auth_state.write_private_key(self._tmp / "jwt-key.pem", keys.private_key_pem)
        cert_file = self._tmp / "jwt-cert.pem"
        cert_file.write_bytes(keys.cert_pem)
        self.credentials = Credentials(
            username, password, security_token, connected_app.consumer_key,
            connected_app.consumer_secret, key_file, cert_file, connected_app.redirect_uri)
        serve_in_thread(self._server)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server.close_connections()
            self._server = None
        if self.app is not None:
            # Route state (query cursors, Bulk result files, Data Export temp zips): each
            # extension with a close() releases its files; one failing must not keep the rest.
            for extension in list(self.app.extensions.values()):
                stop_extension = getattr(extension, "close", None)
                if callable(stop_extension):
                    try:
                        stop_extension()
                    except Exception as exc:  # noqa: BLE001 - shutting down: report, continue
                        print(f"emulator: closing {type(extension).__name__} failed: {exc}",
                              file=sys.stderr)
            close = getattr(self.app.store, "close", None)
            if callable(close):
                close()
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)
            self._tmp = None

    def __enter__(self) -> Emulator:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    # --- state for tests ------------------------------------------------------------------
    def _app(self) -> EmulatorApp:
        if self.app is None:
            raise RuntimeError("the emulator is not started")
        return self.app

    @property
    def store(self) -> OrgStore:
        return self._app().store

    @property
    def org_id(self) -> str:
        return str(self._app().store.org_id)

    @property
    def clock(self) -> EmulatorClock:
        return self._app().clock

    @property
    def faults(self) -> Faults:
        return self._app().faults

    @faults.setter
    def faults(self, settings: dict[str, Any]) -> None:
        """``org.faults = {"error_503_rate": 0.1}`` resets every fault, then applies these."""
        faults = self._app().faults
        faults.reset()
        faults.update(settings)

    @property
    def dataexport(self) -> Any:
        """The Data Export Service's state (``routes.dataexport.service``), made on first use."""
        from sfexit_emulator.routes.dataexport import service

        return service(self._app())

    def settle_bulk(self) -> bool:
        """Apply Bulk ingest jobs past their finish time now (any session request does it too);
        True if rows were applied. For tests that read ``org.store`` right after a job."""
        from sfexit_emulator.routes import settle_bulk_ingest

        return settle_bulk_ingest(self._app())

    def stats(self) -> dict[str, Any]:
        app = self._app()
        snapshot = app.stats.snapshot()
        snapshot["api_requests_used"] = app.api.used
        return snapshot

    def reset_stats(self) -> None:
        self._app().stats.reset()

    def new_token(self, user_id: str | None = None) -> str:
        """A fresh access token (the admin's by default), subject to the normal timeout."""
        app = self._app()
        return app.auth.issue(user_id or app.store.admin_user_id, app.clock.now(),
                              fault_generation=-1).token
