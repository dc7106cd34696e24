"""Reusing a Salesforce CLI (``sf``) login.

Current ``sf`` redacts the token in ``sf org display --json``
(``"[REDACTED] Use 'sf org auth show-access-token' to view"``), so the token comes from
``sf org auth show-access-token --target-org ALIAS --json``; an older ``sf`` without that
command still shows it in ``org display``. ``instanceUrl`` (with a trailing slash) and
``connectedStatus`` come from ``org display``: a dead session still answers ``status 0`` with
``connectedStatus`` set to the server's error, so anything but ``"Connected"`` is refused.
On INVALID_SESSION_ID the session asks ``sf`` again: ``org display`` makes ``sf`` refresh its
own token. ``sf`` runs without a shell (real-clients-wire.md, "Reusing an existing sf login").
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable
from typing import Any

from sfexit.errors import AuthError
from sfexit.org.redaction import redact
from sfexit.org.session import Token, require_https

SF_TIMEOUT = 120
_TOKEN = re.compile(r"^(00D\w{12,15})![.\w]+$|^[\w-]+\.[\w-]+\.[\w-]+$")

Runner = Callable[..., "subprocess.CompletedProcess[str]"]


def sf_token(sf_path: str, alias: str, *, run: Runner | None = None) -> Token:
    """The token and instance of the ``sf`` login ``alias``. Raises AuthError."""
    display = _sf_json(sf_path, ["org", "display", "--target-org", alias, "--json"], run)
    status = display.get("connectedStatus")
    if status != "Connected":
        raise AuthError(f"the Salesforce CLI login '{alias}' is not connected: "
                        f"{redact(str(status or 'unknown'))}",
                        hint=f"run `sf org login web --alias {alias}` again")
    instance = display.get("instanceUrl")
    if not isinstance(instance, str) or not instance:
        raise AuthError(f"`sf org display` gave no instanceUrl for '{alias}'")
    token = _token_from_show(sf_path, alias, run)
    if token is None:
        shown = display.get("accessToken")
        token = shown if isinstance(shown, str) and _TOKEN.match(shown) else None
    if token is None:
        raise AuthError(f"the Salesforce CLI would not give the access token of '{alias}'",
                        hint="update sf (it needs `sf org auth show-access-token`)")
    return Token(token, require_https(instance, "instance URL from sf"))


def _token_from_show(sf_path: str, alias: str, run: Runner | None) -> str | None:
    try:
        result = _sf_json(sf_path, ["org", "auth", "show-access-token", "--target-org", alias,
                                    "--json"], run)
    except AuthError:
        return None  # an older sf without the command: fall back to org display
    token = result.get("accessToken")
    return token if isinstance(token, str) and _TOKEN.match(token) else None


def _sf_json(sf_path: str, args: list[str], run: Runner | None) -> dict[str, Any]:
    runner: Runner = run or subprocess.run
    command = " ".join(["sf", *args[:2]])
    try:
        proc = runner([sf_path, *args], capture_output=True, text=True, timeout=SF_TIMEOUT,
                      shell=False, check=False)
    except FileNotFoundError:
        raise AuthError(f"the Salesforce CLI was not found ({sf_path})",
                        hint="install sf, or set SFEXIT_SF_PATH / sf_path in the profile"
                        ) from None
    except subprocess.TimeoutExpired:
        raise AuthError(f"`{command}` did not answer within {SF_TIMEOUT} s") from None
    try:
        body = json.loads(proc.stdout or "{}")
    except ValueError:
        body = {}
    if proc.returncode != 0 or not isinstance(body, dict) or body.get("status", 1) != 0:
        message = body.get("message") if isinstance(body, dict) else None
        raise AuthError(f"`{command}` failed: {redact(str(message or 'exit ' + str(proc.returncode)))}")
    result = body.get("result")
    if not isinstance(result, dict):
        raise AuthError(f"`{command}` gave no result")
    return result
