"""Checking a JWT bearer assertion (RS256) with nothing but ``cryptography``.

Salesforce's "OAuth 2.0 JWT Bearer Flow" page: ``iss`` = the connected app's consumer key,
``sub`` = the username, ``aud`` = ``https://login.salesforce.com``, ``https://test.salesforce.com``
or the My Domain / community URL (we accept our own base URL as that), ``exp`` in the future; the
signature is checked against the certificate uploaded to the connected app.

simple-salesforce sends ``exp`` as a JSON *string* of seconds (``f'{ts:.0f}'``, its login.py),
and Salesforce accepts it, so a numeric string is accepted here too.
"""

from __future__ import annotations

import base64
import json
from typing import Any

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from sfexit_emulator.http import Call

INVALID = ("invalid_grant", "invalid assertion")


def _b64(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


def verify(call: Call, assertion: str) -> dict[str, Any]:
    """The claims of a valid assertion; raises OAuthError (errors.md §3 texts)."""
    from sfexit_emulator.routes.oauth import BAD_CLIENT_ID, OAuthError

    try:
        head_b64, body_b64, sig_b64 = assertion.split(".")
        header = json.loads(_b64(head_b64))
        claims = json.loads(_b64(body_b64))
        signature = _b64(sig_b64)
    except (ValueError, UnicodeDecodeError):
        raise OAuthError(*INVALID) from None
    if not isinstance(header, dict) or not isinstance(claims, dict) or header.get("alg") != "RS256":
        raise OAuthError(*INVALID)
    cert = x509.load_pem_x509_certificate(call.app.auth.app.cert_pem)
    key = cert.public_key()
    if not isinstance(key, rsa.RSAPublicKey):
        raise OAuthError(*INVALID)
    try:
        key.verify(signature, f"{head_b64}.{body_b64}".encode("ascii"), padding.PKCS1v15(),
                   hashes.SHA256())
    except InvalidSignature:
        raise OAuthError(*INVALID) from None
    if claims.get("iss") != call.app.auth.app.consumer_key:
        raise OAuthError(*BAD_CLIENT_ID)
    audiences = claims.get("aud")
    audiences = audiences if isinstance(audiences, list) else [audiences]
    allowed = {"https://login.salesforce.com", "https://test.salesforce.com", call.app.base_url}
    if not any(isinstance(a, str) and a.rstrip("/") in allowed for a in audiences):
        raise OAuthError("invalid_grant", "audience is invalid")
    try:
        exp = float(claims.get("exp"))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise OAuthError(*INVALID) from None
    if exp <= call.app.clock.timestamp():
        raise OAuthError(*INVALID)
    return claims
