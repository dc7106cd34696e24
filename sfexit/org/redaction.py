"""The one list of patterns that hides tokens, secrets and org/user ids in text we log.

Like CumulusCI's ``pytest_sf_vcr.py``: one regex list, applied to every debug log line the
session writes and to every error message built from a server answer.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

REDACTED = "[REDACTED]"

# (pattern, replacement). Order matters: whole secrets before the ids they may contain.
PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # Salesforce access tokens / session ids: <org id>!<opaque> (real-clients-wire.md).
    (re.compile(r"00D[A-Za-z0-9]{12,15}![A-Za-z0-9._\-]+"), REDACTED),
    # Authorization headers.
    (re.compile(r"(?i)\b(Bearer|OAuth)\s+[^\s\"',;]+"), r"\1 " + REDACTED),
    # Form fields and query parameters carrying secrets.
    (re.compile(r"(?i)\b(access_token|refresh_token|client_secret|password|code|"
                r"code_verifier|assertion|token|oauth_token|sid|session_id)=[^&\s\"']+"),
     r"\1=" + REDACTED),
    # JSON members carrying secrets.
    (re.compile(r"(?i)(\"(?:access_token|refresh_token|client_secret|password|accessToken|"
                r"refreshToken|sessionId|id_token|assertion)\"\s*:\s*\")[^\"]*\""),
     r"\1" + REDACTED + '"'),
    # SOAP elements carrying secrets.
    (re.compile(r"(?is)(<(?:\w+:)?(sessionId|password)>).*?(</(?:\w+:)?\2>)"),
     r"\1" + REDACTED + r"\3"),
    # Org and user ids (15 or 18 characters).
    (re.compile(r"\b(00D|005)[A-Za-z0-9]{12}(?:[A-Za-z0-9]{3})?\b"), r"\1" + "*" * 12),
]


def redact(text: str, secrets: Iterable[str | None] = ()) -> str:
    """``text`` with every pattern and every known secret value replaced."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    for pattern, replacement in PATTERNS:
        text = pattern.sub(replacement, text)
    return text
