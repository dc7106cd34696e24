"""pytest fixtures wrapping the emulator, found by pytest through the ``pytest11`` entry point.

- ``emulator``: one seeded org for the whole session. Read-mostly: tests must not change its
  data, its clock or its faults (use ``fresh_emulator`` for that).
- ``fresh_emulator``: a private org per test (its own copy of the cached seed).
- ``emulator_ca_env``: points ``REQUESTS_CA_BUNDLE``/``SSL_CERT_FILE`` (and Node's
  ``NODE_EXTRA_CA_CERTS``) at the session emulator's CA, for clients that read the environment.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from sfexit_emulator import Emulator

SESSION_RECORDS = 2000
SESSION_SEED = 1


@pytest.fixture(scope="session")
def emulator() -> Iterator[Emulator]:
    from sfexit_emulator import Emulator

    with Emulator(records=SESSION_RECORDS, seed=SESSION_SEED) as org:
        yield org


@pytest.fixture
def fresh_emulator() -> Iterator[Emulator]:
    from sfexit_emulator import Emulator

    with Emulator(records=SESSION_RECORDS, seed=SESSION_SEED) as org:
        yield org


@pytest.fixture
def emulator_ca_env(emulator: Emulator, monkeypatch: pytest.MonkeyPatch) -> str:
    """The CA file path, also set in the environment for the length of the test."""
    ca_file = str(emulator.ca_file)
    for name in ("REQUESTS_CA_BUNDLE", "SSL_CERT_FILE", "NODE_EXTRA_CA_CERTS"):
        monkeypatch.setenv(name, ca_file)
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    return ca_file
