"""Secrets resolve flag → env → keyring → prompt; no keyring means env variables, never a file."""

from __future__ import annotations

import os
from pathlib import Path

import keyring
import pytest
from keyring.backends import fail

from sfexit import errors
from sfexit.org import secrets as secrets_module
from sfexit.config import EnvValues
from sfexit.org.secrets import (SERVICE, SecretResolver, delete_secrets, read_secret,
                                store_secrets)


def test_order_flag_env_keyring_prompt(memory_keyring: object) -> None:
    keyring.set_password(SERVICE, "prod:password", "from-keyring")
    env = EnvValues(secrets={"password": "from-env"})
    assert SecretResolver("prod", env, given={"password": "from-flag"}).get("password") == \
        "from-flag"
    assert SecretResolver("prod", env).get("password") == "from-env"
    resolver = SecretResolver("prod", EnvValues())
    assert resolver.get("password") == "from-keyring"
    assert resolver.sources == {"password": "keyring"}
    prompted = SecretResolver("prod", EnvValues(), prompt=lambda label: f"typed:{label}")
    assert prompted.get("client_secret") == "typed:Consumer secret for 'prod'"
    assert prompted.to_store() == {"client_secret": "typed:Consumer secret for 'prod'"}



def test_a_secret_from_the_flag_or_the_environment_leaves_the_keyring_unread(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """The keyring's import and backend probe cost ~0.1 s of a command's start (issue 23):
    looked at only when neither the flag nor the environment has the secret."""
    def unread(profile: str, kind: str) -> str:
        raise AssertionError(f"the keyring was read for {kind}")

    monkeypatch.setattr(secrets_module, "read_secret", unread)
    env = EnvValues(secrets={"access_token": "from-env"})
    assert SecretResolver("prod", env).get("access_token") == "from-env"
    assert SecretResolver("prod", EnvValues(), given={"password": "p"}).get("password") == "p"

def test_without_prompt_a_needed_secret_fails_with_what_to_do() -> None:
    with pytest.raises(errors.AuthError) as info:
        SecretResolver("prod", EnvValues()).get("security_token")
    assert info.value.one_line() == (
        "no security token for org profile 'prod' and prompting is off (set "
        "SFEXIT_SECURITY_TOKEN, or run `sfexit login` in a terminal to store it in the keyring)")
    assert SecretResolver("prod", EnvValues()).get("security_token", required=False) is None


def test_store_read_delete_roundtrip(memory_keyring: object) -> None:
    assert store_secrets("prod", {"password": "pw", "refresh_token": "rt"}) == [
        "password", "refresh_token"]
    assert read_secret("prod", "refresh_token") == "rt"
    assert sorted(delete_secrets("prod")) == ["password", "refresh_token"]
    assert read_secret("prod", "password") is None


def test_no_keyring_backend_points_to_env_and_writes_no_file(tmp_path: Path) -> None:
    keyring.set_keyring(fail.Keyring())
    home = Path(os.environ["HOME"])
    before = sorted(home.rglob("*"))
    assert read_secret("prod", "password") is None
    with pytest.raises(errors.KeyringUnavailableError) as info:
        store_secrets("prod", {"client_secret": "s3cr3t-value"})
    assert info.value.one_line() == (
        "no OS keyring is available, so sfexit cannot store the consumer secret; sfexit never "
        "writes secrets to a file (set SFEXIT_CLIENT_SECRET in the environment, or install a "
        "keyring backend (e.g. Secret Service / gnome-keyring))")
    assert info.value.exit_code == 3
    assert sorted(home.rglob("*")) == before
    assert delete_secrets("prod") == []
