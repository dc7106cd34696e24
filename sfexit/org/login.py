"""``sfexit login`` and ``logout`` as library functions: log in, verify, keep the secrets."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sfexit.config import Settings
from sfexit.org import authenticator, session_for
from sfexit.org.rest import RestClient
from sfexit.org.secrets import (Prompt, delete_secrets, read_secret,
                                refuse_prompts_without_keyring, store_secrets)


@dataclass(frozen=True)
class LoginResult:
    org_profile: str
    method: str
    instance_url: str
    username: str
    user_id: str
    org_id: str
    stored_in_keyring: tuple[str, ...]


@dataclass(frozen=True)
class LogoutResult:
    org_profile: str
    revoked: bool
    deleted_from_keyring: tuple[str, ...]


def login(settings: Settings, *, prompt: Prompt | None = None,
          given: Mapping[str, str] | None = None, show_url: Callable[[str], None] | None = None,
          open_browser: bool = True, warn: Callable[[str], None] | None = None,
          run_sf: Any = None, web_timeout: float | None = None) -> LoginResult:
    """Log in, verify through ``/services/oauth2/userinfo``, store new secrets in the keyring.

    Raises AuthError (wrong secrets, refused login, no keyring to store a typed secret),
    ConfigError, ConnectionFailed.
    """
    auth = authenticator(settings, prompt=prompt, given=given, warn=warn, run_sf=run_sf)
    refuse_prompts_without_keyring(auth.profile.name, auth.profile.auth, settings.env,
                                   given or {})
    if auth.profile.auth == "web":
        token = auth.web_flow(show_url=show_url or (lambda _url: None),
                              open_browser=open_browser, timeout=web_timeout)
    else:
        token = auth.login()
    auth.token = token
    session = session_for(auth, token)
    me = RestClient(session).identity()
    stored = store_secrets(auth.profile.name, auth.secrets.to_store())
    return LoginResult(org_profile=auth.profile.name, method=auth.profile.auth,
                       instance_url=session.instance_url, username=me.username,
                       user_id=me.user_id, org_id=me.org_id, stored_in_keyring=tuple(stored))


def logout(settings: Settings) -> LogoutResult:
    """Revoke the stored refresh token or access token and delete every keyring entry.

    A Salesforce CLI (``sf``) login belongs to sf and is left alone. Raises ConnectionFailed.
    """
    auth = authenticator(settings)
    profile = auth.profile
    revoked = False
    if profile.auth != "sf":
        for kind in ("refresh_token", "access_token"):
            token = read_secret(profile.name, kind) or auth.secrets.env.secret(kind)
            if token:
                revoked = auth.revoke(token) or revoked
                break
    deleted = delete_secrets(profile.name)
    return LogoutResult(org_profile=profile.name, revoked=revoked,
                        deleted_from_keyring=tuple(deleted))
