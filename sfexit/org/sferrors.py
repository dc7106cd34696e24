"""Salesforce's error answers (REST, OAuth, SOAP; errors.md §1) turned into sfexit errors.

Messages carry Salesforce's own text, redacted; a spent limit is an ApiLimitError, not "403".
"""

from __future__ import annotations

import re
import time
from urllib.parse import urlsplit

import requests

from sfexit import errors
from sfexit.org.redaction import redact


def parse_error(response: requests.Response) -> tuple[str | None, str | None]:
    """(errorCode, message) from Salesforce's REST, OAuth or SOAP error shapes."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, list) and body and isinstance(body[0], dict):
        return body[0].get("errorCode"), body[0].get("message")
    if isinstance(body, dict):
        if "error" in body:
            return str(body["error"]), body.get("error_description")
        if "errorCode" in body:
            return body.get("errorCode"), body.get("message")
    text = response.text if not body else ""
    fault = re.search(r"<faultcode>(?:\w+:)?([^<]+)</faultcode>\s*<faultstring>([^<]*)<", text)
    if fault:
        return fault.group(1), fault.group(2)
    return None, None


def is_dead_session(response: requests.Response) -> bool:
    """401 INVALID_SESSION_ID (REST), or the identity service's ``403 Bad_OAuth_Token``."""
    if response.status_code == 401:
        return error_code(response) in ("INVALID_SESSION_ID", None)
    return response.status_code == 403 and response.text.strip() == "Bad_OAuth_Token"


def error_from_response(response: requests.Response, method: str) -> errors.SfexitError:
    code, message = parse_error(response)
    path = urlsplit(response.url).path
    text = redact(message or f"HTTP {response.status_code} {response.reason}")
    if is_dead_session(response):
        code, text = code or "INVALID_SESSION_ID", "Session expired or invalid"
    if response.status_code == 401 or code == "INVALID_SESSION_ID":
        return errors.AuthError(f"{text} ({code or 'HTTP 401'})",
                                hint="sign in again with `sfexit login`")
    if code == "REQUEST_LIMIT_EXCEEDED":
        return errors.ApiLimitError(f"{text} (REQUEST_LIMIT_EXCEEDED)",
                                    hint="wait until the org's API limit resets; see "
                                         "`sfexit limits`")
    return errors.SalesforceError(f"{method.upper()} {redact(path)} failed: {text}",
                                  error_code=code, status=response.status_code)


def error_code(response: requests.Response) -> str | None:
    if "json" not in response.headers.get("Content-Type", "") and \
            "xml" not in response.headers.get("Content-Type", ""):
        return None
    return parse_error(response)[0]


def daily_limit_spent(response: requests.Response) -> bool:
    return "TotalRequests" in (parse_error(response)[1] or "")


def retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        from email.utils import parsedate_to_datetime

        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        return max(0.0, when.timestamp() - time.time())
