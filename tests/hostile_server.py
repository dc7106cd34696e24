"""A small hostile HTTPS server on loopback: the org's answers, some of them replaced by bad ones.

It sits in front of the org emulator as a reverse proxy (its own throwaway self-signed
certificate, made here with ``cryptography``): every request is forwarded to the emulator unless a
:class:`Rule` matches, in which case the canned bad answer is served instead. So sfexit runs
its real commands (whoami, limits, export bulk, export files) against a real org and meets, at
the endpoint under test, the answers the emulator would never give: HTML pages, login pages,
cut or invalid JSON, empty 200s, a gzip header on a plain body, JSON of the wrong shape.

Use it with a plain session (``SFEXIT_INSTANCE_URL`` = :attr:`HostileServer.url`,
``SFEXIT_ACCESS_TOKEN`` = the emulator's pinned admin token, ``SFEXIT_CA_BUNDLE`` =
:attr:`HostileServer.ca_file`) so every API call goes through it.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import re
import ssl
import tempfile
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

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
        self.ca_file, key_file = _self_signed(folder)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.ca_file, key_file)
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


def _self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 that is its own CA (trusted through SFEXIT_CA_BUNDLE)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sfexit hostile test server")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1)).not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True,
                                     content_commitment=False, key_encipherment=False,
                                     data_encipherment=False, key_agreement=False,
                                     crl_sign=False, encipher_only=False, decipher_only=False),
                       critical=True)
        .add_extension(x509.SubjectAlternativeName([
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]),
            critical=False)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()),
                       critical=False)
        .sign(key, hashes.SHA256()))
    cert_file, key_file = folder / "cert.pem", folder / "key.pem"
    cert_file.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_file, key_file


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
