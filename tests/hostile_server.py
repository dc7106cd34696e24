"""A small hostile HTTPS server on loopback: the org's answers, some of them replaced by bad ones.

It sits in front of the org emulator as a reverse proxy (its own throwaway CA, from the
emulator's ``tls.make_certificates``): every request is forwarded to the emulator unless a
:class:`Rule` matches, in which case the canned bad answer is served instead. So sfexit runs
its real commands (whoami, limits, export bulk, export files) against a real org and meets, at
the endpoint under test, the answers the emulator would never give: HTML pages, login pages,
cut or invalid JSON, empty 200s, a gzip header on a plain body, JSON of the wrong shape.

Use it with a plain session (``SFEXIT_INSTANCE_URL`` = :attr:`HostileServer.url`,
``SFEXIT_ACCESS_TOKEN`` = the emulator's pinned admin token, ``SFEXIT_CA_BUNDLE`` =
:attr:`HostileServer.ca_file`) so every API call goes through it.
"""

from __future__ import annotations

import re
import ssl
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests
from sfexit_emulator.tls import make_certificates, server_context

JSON = "application/json;charset=UTF-8"
HTML = "text/html;charset=UTF-8"
LOGIN_PAGE = (b"<!DOCTYPE html><html><head><title>Login | Salesforce</title></head><body>"
              b"<form action='/'><input name='username'><input type='password' name='pw'>"
              b"</form></body></html>")
PROXY_LOGIN = (b"<html><head><title>Sign in to the corporate proxy</title></head><body><form>"
               b"<input type=password name=p></form></body></html>")


@dataclass(frozen=True)
class Answer:
    """A canned answer. ``cut``: announce ``Content-Length`` of the whole body but send only
    this many bytes, then close (a body cut in transit)."""

    status: int = 200
    body: bytes = b""
    content_type: str | None = JSON
    headers: tuple[tuple[str, str], ...] = ()
    cut: int | None = None


@dataclass
class Rule:
    """Serve ``answer`` for ``method`` on paths matching ``path`` (a regex searched in the
    path), ``times`` times (None: always)."""

    method: str
    path: str
    answer: Answer
    times: int | None = None
    served: int = 0

    def matches(self, method: str, path: str) -> bool:
        if self.times is not None and self.served >= self.times:
            return False
        return method == self.method and re.search(self.path, path) is not None


@dataclass
class HostileServer:
    upstream: str                    # the emulator's URL
    upstream_ca: str
    rules: list[Rule] = field(default_factory=list)
    requests_seen: list[str] = field(default_factory=list)
    url: str = ""
    ca_file: Path = Path()

    def start(self) -> HostileServer:
        folder = Path(tempfile.mkdtemp(prefix="hostile-"))
        cert = make_certificates(folder)
        self.ca_file = cert.ca_file
        context: ssl.SSLContext = server_context(cert)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self._httpd.daemon_threads = True
        self._httpd.socket = context.wrap_socket(self._httpd.socket, server_side=True)
        self.url = f"https://127.0.0.1:{self._httpd.server_address[1]}"
        self._upstream = requests.Session()
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._upstream.close()

    def serve(self, method: str, path: str, answer: Answer, times: int | None = None) -> Rule:
        rule = Rule(method, path, answer, times)
        self.rules.append(rule)
        return rule

    def rule_for(self, method: str, path: str) -> Rule | None:
        for rule in self.rules:
            if rule.matches(method, path):
                rule.served += 1
                return rule
        return None

    def forward(self, method: str, path: str, headers: dict[str, str], body: bytes
                ) -> requests.Response:
        headers = {k: v for k, v in headers.items() if k.lower() not in ("host", "connection")}
        return self._upstream.request(method, self.upstream + path, headers=headers,
                                      data=body or None, verify=self.upstream_ca,
                                      allow_redirects=False, timeout=60, stream=False)


def _handler(server: HostileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _any(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            path = self.path.split("?")[0]
            server.requests_seen.append(f"{self.command} {path}")
            rule = server.rule_for(self.command, path)
            if rule is not None:
                self._send_canned(rule.answer)
                return
            upstream = server.forward(self.command, self.path, dict(self.headers), body)
            self.send_response(upstream.status_code)
            for name, value in upstream.headers.items():
                if name.lower() not in ("content-length", "transfer-encoding", "connection",
                                        "content-encoding"):
                    self.send_header(name, value)
            self.send_header("Content-Length", str(len(upstream.content)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(upstream.content)

        def _send_canned(self, answer: Answer) -> None:
            self.send_response(answer.status)
            if answer.content_type:
                self.send_header("Content-Type", answer.content_type)
            for name, value in answer.headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(answer.body)))
            if answer.cut is not None:
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(answer.body if answer.cut is None else answer.body[:answer.cut])
            if answer.cut is not None:
                self.wfile.flush()
                self.close_connection = True

        do_GET = do_POST = do_PATCH = do_PUT = do_DELETE = do_HEAD = _any

    return Handler
