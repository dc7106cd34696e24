"""One regex list hides tokens, secrets and org/user ids in every logged line."""

from __future__ import annotations

import pytest

from sfexit.org.redaction import redact

TOKEN = "00D5g000004XyZ1!AQ8AQJ.x_y-z123"


@pytest.mark.parametrize(("text", "expected"), [
    (f"Authorization: Bearer {TOKEN}", "Authorization: Bearer [REDACTED]"),
    (f"token {TOKEN} used", "token [REDACTED] used"),
    ("grant_type=password&client_secret=abc123&password=pw",
     "grant_type=password&client_secret=[REDACTED]&password=[REDACTED]"),
    ('{"access_token": "abc", "refresh_token":"def"}',
     '{"access_token": "[REDACTED]", "refresh_token":"[REDACTED]"}'),
    ("<sessionId>SESSION</sessionId>", "<sessionId>[REDACTED]</sessionId>"),
    ("<urn:password>pw&amp;x</urn:password>", "<urn:password>[REDACTED]</urn:password>"),
    ("/id/00D5g000004XyZ1EAI/0055g000001AbCdAAK", "/id/00D************/005************"),
    ("GET https://x/services/data/v64.0/query?q=SELECT+Id",
     "GET https://x/services/data/v64.0/query?q=SELECT+Id"),
])
def test_patterns(text: str, expected: str) -> None:
    assert redact(text) == expected


def test_known_secret_values_are_replaced() -> None:
    assert redact("the pw is hunter2-long", ["hunter2-long", None]) == "the pw is [REDACTED]"
