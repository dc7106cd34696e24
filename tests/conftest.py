"""Test isolation for every test: no real user dirs, no real keyring, no stray SFEXIT_* env.

Like llm's tests/conftest.py, an autouse fixture moves the user's config/data/cache dirs to
a temp dir; ours also installs an in-memory keyring so no test needs a keyring daemon.
"""

from __future__ import annotations

import os
from collections.abc import Iterator

import keyring
import keyring.backend
import pytest

# The emulator fixtures (`emulator`, `fresh_emulator`, `emulator_ca_env`) come from the
# sfexit-emulator distribution's pytest plugin (its pytest11 entry point).


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A keyring that lives in a dict for the length of one test."""

    priority = 1  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()
        self.secrets: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.secrets.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.secrets[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        self.secrets.pop((service, username), None)


@pytest.fixture(autouse=True)
def isolated_user_env(tmp_path_factory: pytest.TempPathFactory,
                      monkeypatch: pytest.MonkeyPatch) -> Iterator[MemoryKeyring]:
    home = tmp_path_factory.mktemp("home")
    for var in list(os.environ):
        if var.startswith("SFEXIT_"):
            monkeypatch.delenv(var)
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CONFIG_HOME", str(home / ".config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local/share"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(home / ".cache"))
    monkeypatch.delenv("NO_COLOR", raising=False)
    previous = keyring.get_keyring()
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(previous)


@pytest.fixture
def memory_keyring(isolated_user_env: MemoryKeyring) -> MemoryKeyring:
    return isolated_user_env
