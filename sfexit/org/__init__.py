"""The wire: the only code in sfexit that talks HTTP to an org.

``connect()`` is the ONE factory (CumulusCI's ``salesforce_api/utils.py`` pattern): every
command gets its :class:`OrgSession` here, with the profile's auth method, CA bundle, API
version and read-only flag applied the same way. simple-salesforce, REST, Bulk 2.0 and file
downloads all hang off that one session.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from sfexit.config import OrgProfile, Settings
from sfexit.errors import ConfigError

if TYPE_CHECKING:
    from sfexit.org.auth import Authenticator
    from sfexit.org.secrets import Prompt
    from sfexit.org.session import OrgSession, Token

__all__ = ["connect", "require_profile", "ca_verify", "authenticator", "session_for"]


def require_profile(settings: Settings) -> OrgProfile:
    """The org profile to use; raises ConfigError when none is configured."""
    if settings.org is None:
        from sfexit.config import default_config_path

        # Without the file (an explicit --config/SFEXIT_CONFIG that is missing fails earlier),
        # the default path is what was searched. Suggest only what every command has.
        where = (f"{settings.config_file} has no [orgs.NAME] table" if settings.config_file
                 else f"no config file at {default_config_path()}")
        raise ConfigError(f"no org profile: {where}",
                          hint="run `sfexit login --login-url URL --method METHOD ...` (it saves "
                               "the profile), pass --config FILE, or set SFEXIT_INSTANCE_URL "
                               "and SFEXIT_ACCESS_TOKEN; see config.example.toml")
    return settings.org


def ca_verify(profile: OrgProfile, settings: Settings) -> str | bool:
    """What TLS trusts: the profile's CA bundle, else REQUESTS_CA_BUNDLE, else the default."""
    if profile.ca_bundle is not None:
        return str(profile.ca_bundle)
    return settings.env.requests_ca_bundle or True


def authenticator(settings: Settings, *, prompt: Prompt | None = None,
                  given: Mapping[str, str] | None = None,
                  warn: Callable[[str], None] | None = None, run_sf: Any = None,
                  web_login: Callable[[], Token] | None = None) -> Authenticator:
    from sfexit.org.auth import Authenticator
    from sfexit.org.secrets import SecretResolver

    profile = require_profile(settings)
    secrets = SecretResolver(profile.name, settings.env, given=given, prompt=prompt)
    return Authenticator(profile, secrets, verify=ca_verify(profile, settings), warn=warn,
                         run_sf=run_sf, web_login=web_login)


def session_for(auth: Authenticator, token: Token, *, read_only: bool = False,
                on_event: Callable[[str], None] | None = None,
                sleep: Callable[[float], None] = time.sleep) -> OrgSession:
    from sfexit.org.session import OrgSession

    return OrgSession(token.instance_url, token.access_token,
                      api_version=auth.profile.api_version, read_only=read_only,
                      verify=auth.verify, reauthenticate=auth.reauthenticate,
                      on_event=on_event, sleep=sleep,
                      extra_hosts={urlsplit(auth.login_url).hostname or ""})


def connect(settings: Settings, *, read_only: bool = False,
            on_event: Callable[[str], None] | None = None, prompt: Prompt | None = None,
            warn: Callable[[str], None] | None = None, run_sf: Any = None,
            sleep: Callable[[float], None] = time.sleep) -> OrgSession:
    """Log in with the configured profile and return the one session for this run.

    Raises ConfigError (no/invalid profile, http:// URL), AuthError (no or wrong secrets,
    KeyringUnavailableError), ConnectionFailed.
    """
    auth = authenticator(settings, prompt=prompt, warn=warn, run_sf=run_sf)
    token = auth.login()
    return session_for(auth, token, read_only=read_only, on_event=on_event, sleep=sleep)
