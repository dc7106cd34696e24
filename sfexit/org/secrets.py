"""Secrets: resolved flag → environment → OS keyring → prompt (twine's order).

Secrets live in the OS keyring under service ``sfexit``, key ``<profile>:<kind>`` (kinds:
``config.SECRET_ENV``). They never go to a file: where no keyring backend exists we say so and
point to the environment variables instead. With ``--yes`` or without a terminal a needed
prompt fails (AuthError) instead of waiting.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping

from sfexit.config import SECRET_ENV, EnvValues
from sfexit.errors import AuthError, KeyringUnavailableError

SERVICE = "sfexit"

LABELS = {
    "password": "password",
    "security_token": "security token",
    "client_secret": "consumer secret",
    "refresh_token": "refresh token",
    "key_passphrase": "private key passphrase",
    "access_token": "access token",
}

Prompt = Callable[[str], str]

# The secrets each auth method reads (org/auth.py ``_login_<method>``): (kind, required).
# A web login's refresh token is what `sfexit login` obtains and keeps.
SECRETS_BY_METHOD: dict[str, tuple[tuple[str, bool], ...]] = {
    "jwt": (("key_passphrase", False),),
    "client_credentials": (("client_secret", True),),
    "web": (("refresh_token", True), ("client_secret", False)),
    "refresh_token": (("refresh_token", True), ("client_secret", False)),
    "password": (("password", True), ("security_token", False), ("client_secret", True)),
    "soap": (("password", True), ("security_token", False)),
    "sf": (),
    "session": (("access_token", True),),
}


def secret_sources(profile: str, method: str, env: EnvValues) -> list[tuple[str, bool, str]]:
    """(kind, required, where it comes from: "env", "keyring" or "missing") for each secret
    ``method`` reads; never the value."""
    out = []
    for kind, required in SECRETS_BY_METHOD.get(method, ()):
        source = ("env" if env.secret(kind) else
                  "keyring" if read_secret(profile, kind) else "missing")
        out.append((kind, required, source))
    return out


def refuse_prompts_without_keyring(profile: str, method: str, env: EnvValues,
                                   given: Mapping[str, str]) -> None:
    """Before `sfexit login` asks for anything: with no keyring, a secret it would ask for
    (or obtain, a web login's refresh token) could not be kept, so say so now, not after the
    prompts. Raises KeyringUnavailableError."""
    if keyring_available():
        return
    missing = [kind for kind, required in SECRETS_BY_METHOD.get(method, ())
               if required and not env.secret(kind) and kind not in given]
    if missing:
        raise _no_keyring("keep the " + ", ".join(LABELS[k] for k in missing) + " this login "
                          "needs", missing)


def keyring_key(profile: str, kind: str) -> str:
    return f"{profile}:{kind}"


def keyring_available() -> bool:
    import keyring
    from keyring.backends import fail

    backend = keyring.get_keyring()
    return not isinstance(backend, fail.Keyring) and backend.priority > 0


def _no_keyring(action: str, kinds: Iterable[str]) -> KeyringUnavailableError:
    names = ", ".join(SECRET_ENV[k] for k in kinds)
    return KeyringUnavailableError(
        f"no OS keyring is available, so sfexit cannot {action}; sfexit never writes secrets "
        f"to a file",
        hint=f"set {names} in the environment, or install a keyring backend "
             "(e.g. Secret Service / gnome-keyring)")


def read_secret(profile: str, kind: str) -> str | None:
    """The stored secret, or None (also when there is no keyring)."""
    if not keyring_available():
        return None
    import keyring
    from keyring.errors import KeyringError

    try:
        return keyring.get_password(SERVICE, keyring_key(profile, kind))
    except KeyringError:
        return None


def store_secrets(profile: str, values: Mapping[str, str]) -> list[str]:
    """Store each secret; returns the kinds stored. Raises KeyringUnavailableError."""
    if not values:
        return []
    if not keyring_available():
        raise _no_keyring("store the " + ", ".join(LABELS[k] for k in values), values)
    import keyring
    from keyring.errors import KeyringError

    try:
        for kind, value in values.items():
            keyring.set_password(SERVICE, keyring_key(profile, kind), value)
    except KeyringError as exc:
        raise KeyringUnavailableError(f"the OS keyring refused to store a secret: "
                                      f"{type(exc).__name__}") from None
    return list(values)


def delete_secrets(profile: str) -> list[str]:
    """Delete every secret stored for ``profile``; returns the kinds that were there."""
    if not keyring_available():
        return []
    import keyring
    from keyring.errors import KeyringError, PasswordDeleteError

    deleted = []
    for kind in SECRET_ENV:
        key = keyring_key(profile, kind)
        try:
            if keyring.get_password(SERVICE, key) is None:
                continue
            keyring.delete_password(SERVICE, key)
            deleted.append(kind)
        except (PasswordDeleteError, KeyringError):
            continue
    return deleted


class SecretResolver:
    """Finds each secret for one profile and remembers where it came from."""

    def __init__(self, profile: str, env: EnvValues, *, given: Mapping[str, str] | None = None,
                 prompt: Prompt | None = None, use_keyring: bool = True) -> None:
        self.profile = profile
        self.env = env
        self.given = dict(given or {})
        self.prompt = prompt
        self.use_keyring = use_keyring
        self.sources: dict[str, str] = {}
        self._values: dict[str, str] = {}

    def get(self, kind: str, *, required: bool = True, ask: bool = False) -> str | None:
        """The secret of this ``kind``; raises AuthError if required and nowhere to be found.

        An optional secret (``required=False``) is asked for only with ``ask=True`` and a
        prompt; an empty answer then means "none" (a security token on a trusted network).
        """
        if kind in self._values:
            return self._values[kind] or None
        # Each place is looked at only when the ones before it have nothing: the keyring (its
        # import and backend probe cost ~0.1 s of every command's start) not when the flag or
        # the environment gives the secret (issue 23, process start).
        places: tuple[tuple[str, Callable[[], str | None]], ...] = (
            ("flag", lambda: self.given.get(kind)), ("env", lambda: self.env.secret(kind)),
            ("keyring", lambda: read_secret(self.profile, kind) if self.use_keyring else None))
        for source, look in places:
            value = look()
            if value:
                return self.remember(kind, value, source)
        if not required and not (ask and self.prompt is not None):
            return None
        if self.prompt is None:
            raise AuthError(
                f"no {LABELS[kind]} for org profile '{self.profile}' and prompting is off",
                hint=f"set {SECRET_ENV[kind]}, or run `sfexit login` in a terminal to store it "
                     "in the keyring")
        label = f"{LABELS[kind].capitalize()} for '{self.profile}'"
        value = self.prompt(label if required else label + " (empty for none)")
        if not value:
            if not required:
                self.remember(kind, "", "prompt")  # asked once: "none"
                return None
            raise AuthError(f"no {LABELS[kind]} given")
        return self.remember(kind, value, "prompt")

    def remember(self, kind: str, value: str, source: str) -> str:
        self._values[kind] = value
        self.sources[kind] = source
        return value

    def to_store(self) -> dict[str, str]:
        """Secrets that came from a flag or a prompt: what `login` puts in the keyring."""
        return {k: v for k, v in self._values.items()
                if v and self.sources[k] in ("flag", "prompt")}

    def known_values(self) -> list[str]:
        """Every secret value seen, for redaction."""
        return list(self._values.values())

    def __repr__(self) -> str:
        return f"SecretResolver({self.profile!r}, kinds={sorted(self._values)})"
