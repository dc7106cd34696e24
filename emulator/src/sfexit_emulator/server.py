"""The emulator's HTTP(S) server: threads, TLS, keep-alive, chunked bodies, gzip, resets.

Only this module touches sockets. It reads a request into :class:`~sfexit_emulator.http.Request`,
hands it to :func:`sfexit_emulator.routes.dispatch`, and writes the :class:`Response` back with a
correct ``Content-Length`` on every response, so HTTP/1.1 clients keep their connection.

Facts it is built on:
- ``http.server`` does not decode ``Transfer-Encoding: chunked`` request bodies; jsforce's Bulk
  ingest upload is chunked (real-clients-wire.md, "Bulk API 2.0"). We read the chunks here.
- The TLS handshake runs in the connection's own thread (``finish_request``), not in the
  accept loop, so one slow client cannot stall the others.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gzip
import ipaddress
import socket
import ssl
import sys
import threading
import time
import traceback
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any

from sfexit_emulator.auth_state import AuthState
from sfexit_emulator.clock import EmulatorClock
from sfexit_emulator.faults import Faults
from sfexit_emulator.http import Headers, Request, Response, Router
from sfexit_emulator.rolling import RollingWindow

if TYPE_CHECKING:
    from sfexit_emulator.store import OrgStore

# API versions served, with Salesforce's release labels (three releases a year; 50.0 = Winter '21,
# 68.0 = Winter '27). From 31.0 (Summer '14): 21.0–30.0 were retired in Summer '25 (KB 000354473
# "Salesforce Platform API Versions 21.0 through 30.0 Retirement"); the planned retirements of
# 31.0 and later are dated in routes/versions.py.
_SEASONS = ("Winter", "Spring", "Summer")
FIRST_VERSION, LAST_VERSION = 31, 68
API_VERSIONS: tuple[str, ...] = tuple(f"{v}.0" for v in range(FIRST_VERSION, LAST_VERSION + 1))
RELEASE_LABELS: dict[str, str] = {
    f"{v}.0": f"{_SEASONS[(v - 50) % 3]} '{21 + (v - 50) // 3}"
    for v in range(FIRST_VERSION, LAST_VERSION + 1)
}
# Bodies under this size are sent as is even when the client accepts gzip.
GZIP_MIN_BYTES = 1024
IDLE_CONNECTION_SECONDS = 300


def release_label(version: str) -> str:
    return RELEASE_LABELS[version]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Stats:
    """Counters behind ``GET /__emulator__/stats``; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._total = 0
            self._by_route: dict[str, int] = {}
            self._by_status: dict[str, int] = {}
            self._writes = 0
            self._bytes_sent = 0
            self._bytes_received = 0
            self._faults: dict[str, int] = {}
            self._connections = 0

    def count_request(self, route: str, status: int, is_write: bool, received: int) -> None:
        with self._lock:
            self._total += 1
            self._by_route[route] = self._by_route.get(route, 0) + 1
            key = str(status)
            self._by_status[key] = self._by_status.get(key, 0) + 1
            self._bytes_received += received
            if is_write:
                self._writes += 1

    def count_fault(self, name: str) -> None:
        with self._lock:
            self._faults[name] = self._faults.get(name, 0) + 1

    def count_bytes(self, sent: int) -> None:
        with self._lock:
            self._bytes_sent += sent

    def count_connection(self) -> None:
        with self._lock:
            self._connections += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests_total": self._total,
                "requests_by_route": dict(self._by_route),
                "responses_by_status": dict(self._by_status),
                "writes": self._writes,
                "bytes_sent": self._bytes_sent,
                "bytes_received": self._bytes_received,
                "faults_injected": dict(self._faults),
                "connections": self._connections,
            }


class ApiCounter:
    """DailyApiRequests: calls in the rolling 24 h window (rolling.py) against
    ``faults.daily_api_max``; thread-safe. ``now`` is the org's clock (set by EmulatorApp)."""

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self.window = RollingWindow(now)

    @property
    def used(self) -> int:
        return self.window.used("DailyApiRequests")

    def consume(self, maximum: int) -> bool:
        """Count one call; False (and nothing counted) when the window's allowance is spent."""
        return self.window.spend("DailyApiRequests", 1, maximum)


@dataclasses.dataclass
class EmulatorApp:
    """Everything a route handler may use: the org, the clock, auth, faults, counters."""

    store: OrgStore
    clock: EmulatorClock
    faults: Faults
    auth: AuthState
    router: Router
    stats: Stats = dataclasses.field(default_factory=Stats)
    api: ApiCounter = dataclasses.field(default_factory=ApiCounter)
    base_url: str = ""
    versions: tuple[str, ...] = API_VERSIONS
    # Free-form per-feature state for routes (query cursors, Bulk jobs, exports), by route module.
    extensions: dict[str, Any] = dataclasses.field(default_factory=dict)
    lock: threading.RLock = dataclasses.field(default_factory=threading.RLock)
    # How modelled server time is waited (costs.py): wall clock by default; tests inject both.
    server_clock: Callable[[], float] = time.monotonic
    server_sleep: Callable[[float], None] = time.sleep

    def __post_init__(self) -> None:
        self.api.window.now = self.clock.timestamp   # limits roll with the org's clock

    @property
    def org_id(self) -> str:
        return str(self.store.org_id)

    def limit_info(self) -> str:
        return f"api-usage={self.api.used}/{self.faults.daily_api_max}"


@dataclasses.dataclass(frozen=True)
class _Wire:
    """A response as it goes on the wire: final body, extra headers, Content-Length, and the
    number of body bytes that will be written (what ``bytes_sent`` counts)."""

    body: bytes
    headers: list[tuple[str, str]]
    length: int | None
    planned: int


class _RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "sfexit-emulator"
    sys_version = ""
    timeout = IDLE_CONNECTION_SECONDS
    server: EmulatorHTTPServer

    def version_string(self) -> str:
        return self.server_version

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        return  # quiet: tests and `serve` read stats instead of an access log

    def _serve(self) -> None:
        app = self.server.app
        try:
            body = self._read_body()
        except ValueError:
            app.stats.count_request("bad_request", 400, False, 0)
            self.send_error(400, "Bad chunked body")
            self.close_connection = True
            return
        path, _, query = self.path.partition("?")
        request = Request(self.command, path, query, Headers(self.headers.items()), body,
                          self.client_address[0])
        from sfexit_emulator.routes import dispatch

        try:
            response, route_name = dispatch(app, request)
        except Exception:  # dispatch renders handler errors itself; this is a bug in dispatch
            traceback.print_exc(file=sys.stderr)
            app.stats.count_request("internal_error", 500, False, len(body))
            self.send_error(500)
            return
        wire = self._encode(request, response)
        # Everything is counted BEFORE the first byte goes out, so a client that has received
        # its answer and then reads stats sees its request, its write and its bytes (bytes_sent
        # is what the response declares: a client that hangs up mid-body is still counted whole).
        app.stats.count_request(route_name, response.status, response.is_write, len(body))
        app.stats.count_bytes(wire.planned)
        self._write(request, response, wire)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self) -> bytes:
        parts: list[bytes] = []
        while True:
            line = self.rfile.readline(65537)
            if not line:
                raise ValueError("connection closed inside a chunked body")
            size = int(line.split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(parts)
            parts.append(self.rfile.read(size))
            self.rfile.readline(3)  # the CRLF after each chunk

    def _encode(self, request: Request, response: Response) -> _Wire:
        """The body as it will be sent (gzipped when asked), its headers, and the byte count."""
        body = response.body
        headers = list(response.headers)
        if response.stream is None and self._wants_gzip(request, response, body):
            body = gzip.compress(body, compresslevel=1, mtime=0)
            headers.append(("Content-Encoding", "gzip"))
            headers.append(("Vary", "Accept-Encoding"))
        length = response.content_length if response.stream is not None else len(body)
        if request.method == "HEAD" or response.status == 204:
            planned = 0
        elif response.reset_after is not None:
            planned = self._cut_limit(response, length)
        else:
            planned = length or 0
        return _Wire(body, headers, length, planned)

    @staticmethod
    def _cut_limit(response: Response, length: int | None) -> int:
        # The cut point was chosen on the uncompressed body: keep it inside what is sent.
        return min(response.reset_after or 0, (length or 1) - 1)

    def _write(self, request: Request, response: Response, wire: _Wire) -> int:
        body, headers, length = wire.body, wire.headers, wire.length
        self.send_response(response.status)
        if response.content_type and response.status != 204:
            self.send_header("Content-Type", response.content_type)
        for name, value in headers:
            self.send_header(name, value)
        if response.status != 204 and response.status >= 200:
            self.send_header("Content-Length", str(length or 0))
        if response.close or (request.headers.get("Connection") or "").lower() == "close":
            self.send_header("Connection", "close")
            self.close_connection = True
        if request.method == "HEAD" or response.status == 204:
            self.end_headers()
            return 0
        if response.reset_after is not None:
            self.end_headers()
            return self._write_cut(body, response, self._cut_limit(response, length))
        if response.stream is not None:
            self.end_headers()
            sent = 0
            for chunk in response.stream:
                self.wfile.write(chunk)
                sent += len(chunk)
            return sent
        # Headers and body in ONE write: two small writes meet Nagle and delayed ACK on the
        # client and cost ~40 ms per request.
        buffer: list[bytes] = getattr(self, "_headers_buffer")  # http.server's private buffer
        buffer.append(b"\r\n")
        buffer.append(body)
        self.flush_headers()
        return len(body)

    def _write_cut(self, body: bytes, response: Response, limit: int) -> int:
        """Send the first ``limit`` bytes, then drop the connection without a clean close."""
        sent = 0
        chunks = response.stream if response.stream is not None else [body]
        for chunk in chunks:
            piece = chunk[: max(0, limit - sent)]
            if piece:
                self.wfile.write(piece)
                sent += len(piece)
            if sent >= limit:
                break
        self.wfile.flush()
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        return sent

    @staticmethod
    def _wants_gzip(request: Request, response: Response, body: bytes) -> bool:
        accept = (request.headers.get("Accept-Encoding") or "").lower()
        return ("gzip" in accept and len(body) >= GZIP_MIN_BYTES
                and response.header("Content-Encoding") is None)


class EmulatorHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, host: str, port: int, app: EmulatorApp,
                 ssl_context: ssl.SSLContext | None) -> None:
        if not is_loopback(host):
            raise ValueError(f"the emulator only binds a loopback address, not {host!r}")
        if ":" in host:
            self.address_family = socket.AF_INET6
        self.app = app
        self.ssl_context = ssl_context
        self._live: set[socket.socket] = set()
        self._live_lock = threading.Lock()
        super().__init__((host, port), _RequestHandler)

    def close_connections(self) -> None:
        """Drop every open (keep-alive) connection; their threads then end."""
        with self._live_lock:
            live = list(self._live)
        for sock in live:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def finish_request(self, request: Any, client_address: Any) -> None:
        """Runs in the connection's thread: do the TLS handshake here, then serve."""
        with self._live_lock:
            self._live.add(request)
        try:
            self._serve_connection(request, client_address)
        finally:
            with self._live_lock:
                self._live.discard(request)

    def _serve_connection(self, request: Any, client_address: Any) -> None:
        self.app.stats.count_connection()
        try:
            request.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        except OSError:
            pass
        if self.ssl_context is None:
            _RequestHandler(request, client_address, self)
            return
        request.settimeout(30)
        try:
            tls = self.ssl_context.wrap_socket(request, server_side=True)
        except (ssl.SSLError, OSError):
            return  # a client that does not trust our CA, or a port scan
        with self._live_lock:  # the raw socket is detached now: track the TLS one
            self._live.discard(request)
            self._live.add(tls)
        try:
            tls.settimeout(IDLE_CONNECTION_SECONDS)
            _RequestHandler(tls, client_address, self)
        except (ssl.SSLError, ConnectionError, TimeoutError):
            pass
        finally:
            with self._live_lock:
                self._live.discard(tls)
            try:
                tls.close()
            except OSError:
                pass

    def handle_error(self, request: Any, client_address: Any) -> None:
        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, ssl.SSLError, TimeoutError)):
            return  # clients hanging up mid-response is normal (and a fault we inject)
        super().handle_error(request, client_address)


def serve_in_thread(server: EmulatorHTTPServer) -> threading.Thread:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1},
                              name="sfexit-emulator", daemon=True)
    thread.start()
    return thread


def latency_sleep(ms: float) -> None:
    """Injected latency is real time on purpose: it models the network, not the org's clock."""
    if ms > 0:
        time.sleep(ms / 1000.0)


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)
