"""Who is logged in: access tokens, refresh tokens, authorization codes and the connected app.

Access tokens look like Salesforce's, ``<15-char org id>!<opaque>``: the Salesforce CLI refuses
any token not matching ``(00D\\w{12,15})![.\\w]*`` (real-clients-wire.md, "Tokens"). A session
dies after ``session_seconds`` without use on the emulator clock (Salesforce's session timeout is
an inactivity timeout; default 2 hours), when revoked, or when the
``expire_session_after_calls`` fault says so. The admin token (``org.token``) is exempt from
the inactivity timeout so a session-scoped fixture survives tests that move the clock by days;
it still obeys revocation and the call-count fault.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import functools
import hashlib
import secrets
import string
import threading
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa

_TOKEN_ALPHABET = string.ascii_letters + string.digits + "."
DEFAULT_SESSION_SECONDS = 2 * 60 * 60
AUTH_CODE_SECONDS = 15 * 60  # Salesforce: an authorization code is valid for 15 minutes.


def new_access_token(org_id: str) -> str:
    """``00D…(15)!AQ…``: the shape of a real Salesforce session id."""
    opaque = "".join(secrets.choice(_TOKEN_ALPHABET) for _ in range(94))
    return f"{org_id[:15]}!AQ{opaque}"


def new_refresh_token() -> str:
    # Real refresh tokens: "5Aep861…" followed by ~80 base-64-ish characters.
    return "5Aep861" + "".join(secrets.choice(_TOKEN_ALPHABET[:-1]) for _ in range(80))


@dataclasses.dataclass
class Session:
    token: str
    user_id: str
    issued_at: dt.datetime
    last_used: dt.datetime
    client_id: str | None = None
    pinned: bool = False          # the admin token: no inactivity timeout
    revoked: bool = False
    calls: int = 0
    fault_generation: int = 0     # calls are counted from the fault's generation


@dataclasses.dataclass
class RefreshGrant:
    token: str
    user_id: str
    client_id: str
    revoked: bool = False


@dataclasses.dataclass
class AuthCode:
    code: str
    user_id: str
    client_id: str
    redirect_uri: str
    code_challenge: str | None
    code_challenge_method: str | None
    expires_at: dt.datetime
    used: bool = False


@dataclasses.dataclass(frozen=True)
class ConnectedApp:
    consumer_key: str
    consumer_secret: str
    redirect_uri: str
    run_as_user_id: str           # client_credentials runs as this user
    cert_pem: bytes               # the certificate uploaded for the JWT bearer flow
    issues_refresh_tokens: bool = True


@dataclasses.dataclass(frozen=True)
class JwtKeyPair:
    private_key_pem: bytes
    cert_pem: bytes


@functools.lru_cache(maxsize=1)
def demo_jwt_key_pair() -> JwtKeyPair:
    """An RSA key and self-signed certificate for the demo connected app (made once per process:
    RSA generation is slow, and the key is a published demo secret anyway)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(x509.oid.NameOID.COMMON_NAME, "sfexit demo JWT")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=3650))
            .sign(key, hashes.SHA256()))
    return JwtKeyPair(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption()),
        cert.public_bytes(serialization.Encoding.PEM))


def demo_connected_app(run_as_user_id: str, cert_pem: bytes,
                       redirect_uri: str = "http://localhost:1717/OauthRedirect") -> ConnectedApp:
    # Consumer keys of real connected apps start with "3MVG9" and are 85 characters long.
    return ConnectedApp(
        consumer_key="3MVG9sfexitEmulatorDemoConnectedApp." + "A1b2C3d4E5f6G7h8I9j0" * 2 + "KLMNOPQRS",
        consumer_secret="5F3A9C0E1B7D2468ACE13579BDF02468ACE13579BDF02468ACE13579BDF0246",
        redirect_uri=redirect_uri,   # the sf CLI's default callback
        run_as_user_id=run_as_user_id,
        cert_pem=cert_pem,
    )


def pkce_s256(verifier: str) -> str:
    """RFC 7636 S256: BASE64URL(SHA256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class AuthState:
    """All sessions of one emulator; thread-safe."""

    def __init__(self, org_id: str, app: ConnectedApp,
                 session_seconds: int = DEFAULT_SESSION_SECONDS) -> None:
        self.org_id = org_id
        self.app = app
        self.session_seconds = session_seconds
        self._lock = threading.Lock()
        self._sessions: dict[str, Session] = {}
        self._refresh: dict[str, RefreshGrant] = {}
        self._codes: dict[str, AuthCode] = {}

    # --- access tokens ---------------------------------------------------------------------
    def issue(self, user_id: str, now: dt.datetime, client_id: str | None = None,
              token: str | None = None, pinned: bool = False, fault_generation: int = 0) -> Session:
        session = Session(token or new_access_token(self.org_id), user_id, now, now,
                          client_id, pinned, fault_generation=fault_generation)
        with self._lock:
            self._sessions[session.token] = session
        return session

    def use(self, token: str, now: dt.datetime, expire_after_calls: int | None,
            fault_generation: int) -> Session | None:
        """The live session of ``token`` after counting this call, or None (401)."""
        with self._lock:
            session = self._sessions.get(token)
            if session is None or session.revoked:
                return None
            idle = (now - session.last_used).total_seconds()
            if not session.pinned and idle > self.session_seconds:
                return None
            if session.fault_generation != fault_generation:
                session.fault_generation, session.calls = fault_generation, 0
            if expire_after_calls is not None and session.calls >= expire_after_calls:
                return None
            session.calls += 1
            session.last_used = max(session.last_used, now)
            return session

    def peek(self, token: str) -> Session | None:
        with self._lock:
            return self._sessions.get(token)

    def revoke(self, token: str) -> bool:
        """Revoke an access token, or a refresh token and every session it issued."""
        with self._lock:
            if token in self._sessions:
                self._sessions[token].revoked = True
                return True
            grant = self._refresh.get(token)
            if grant is None:
                return False
            grant.revoked = True
            return True

    def revoke_user(self, user_id: str) -> None:
        """Freezing or deactivating a user ends their sessions (Salesforce does the same)."""
        with self._lock:
            for session in self._sessions.values():
                if session.user_id == user_id and not session.pinned:
                    session.revoked = True

    # --- refresh tokens --------------------------------------------------------------------
    def issue_refresh(self, user_id: str, client_id: str) -> str:
        grant = RefreshGrant(new_refresh_token(), user_id, client_id)
        with self._lock:
            self._refresh[grant.token] = grant
        return grant.token

    def refresh_grant(self, token: str) -> RefreshGrant | None:
        with self._lock:
            grant = self._refresh.get(token)
            return None if grant is None or grant.revoked else grant

    # --- authorization codes (web server flow) ---------------------------------------------
    def issue_code(self, user_id: str, client_id: str, redirect_uri: str,
                   challenge: str | None, method: str | None, now: dt.datetime) -> str:
        # Real codes look like "aPrx…==": base64 of ~60 bytes.
        code = "aPrx" + base64.b64encode(secrets.token_bytes(45)).decode("ascii")
        with self._lock:
            self._codes[code] = AuthCode(code, user_id, client_id, redirect_uri, challenge,
                                         method, now + dt.timedelta(seconds=AUTH_CODE_SECONDS))
        return code

    def take_code(self, code: str, now: dt.datetime) -> AuthCode | None:
        """The code, spent by this call; None if unknown, used or expired."""
        with self._lock:
            found = self._codes.get(code)
            if found is None or found.used or now > found.expires_at:
                return None
            found.used = True
            return found


def write_private_key(path: Path, pem: bytes) -> Path:
    path.write_bytes(pem)
    path.chmod(0o600)
    return path
