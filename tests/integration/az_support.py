"""The Azure Blob server on loopback the az:// destination tests share: Azurite, Microsoft's
Azure Storage emulator (npm package, pinned in tests/integration/azurite/, installed by
``make node-deps``), run by Node as a child of the test process for each module, in memory,
with a fresh container per test.

sfexit reaches it the way the Azure tools reach Azurite: AZURE_STORAGE_CONNECTION_STRING with
Azurite's well-known development account and its BlobEndpoint, read by adlfs itself. Telemetry
is off (``--disableTelemetry``: Azurite otherwise reports to Application Insights, off this
machine)."""

from __future__ import annotations

import itertools
import os
import queue
import re
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

PROJECT = Path(__file__).parent / "azurite"
AZURITE = PROJECT / "node_modules" / ".bin" / "azurite-blob"
# Azurite's development account, the same in every Azurite (Microsoft's docs, "Use the Azurite
# emulator for local Azure Storage development": "Connection strings"). Not a secret.
ACCOUNT = "devstoreaccount1"
ACCOUNT_KEY = ("Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/"
               "KBHBeksoGMGw==")
STARTUP_SECONDS = 60
LISTENING = re.compile(r"successfully listens on (http://127\.0\.0\.1:\d+)")

_containers = itertools.count(1)


def azurite_installed() -> Path:
    """The Azurite script, installed with ``npm ci`` when missing (pytest alone works, as for
    emulator/tests/js_clients.py). Without node or npm: a skip on a developer's machine, a
    failure in CI (CI=true), where nothing may be skipped silently."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        why = "node and npm are needed for Azurite, the az:// tests' server (Node.js >= 20)"
        if os.environ.get("CI"):
            pytest.fail(why)
        pytest.skip(why)
    if not AZURITE.exists():
        done = subprocess.run(("npm", "ci", "--no-audit", "--no-fund"), cwd=PROJECT,
                              capture_output=True, text=True, timeout=600, check=False)
        if done.returncode != 0:
            pytest.fail(f"`npm ci` in {PROJECT} failed:\n{done.stderr[-3000:]}")
    return AZURITE


@pytest.fixture(scope="module")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Azurite's Blob service on a free loopback port for this module: its blob endpoint
    (``http://127.0.0.1:PORT/devstoreaccount1``)."""
    pytest.importorskip("adlfs")
    script = azurite_installed()
    workspace = tmp_path_factory.mktemp("azurite")
    server = subprocess.Popen(
        [str(script), "--blobHost", "127.0.0.1", "--blobPort", "0", "--inMemoryPersistence",
         "--extentMemoryLimit", "256", "--disableTelemetry", "--silent", "--loose",
         "--skipApiVersionCheck"],
        cwd=workspace, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        yield f"{listening(server)}/{ACCOUNT}"
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def listening(server: subprocess.Popen[str]) -> str:
    """The address Azurite prints once it listens; its output is read to the end by a thread
    (a full pipe would block it)."""
    lines: queue.Queue[str | None] = queue.Queue()

    def drain() -> None:
        assert server.stdout is not None
        for line in server.stdout:
            lines.put(line)
        lines.put(None)

    threading.Thread(target=drain, daemon=True).start()
    said: list[str] = []
    while True:
        try:
            line = lines.get(timeout=STARTUP_SECONDS)
        except queue.Empty:
            pytest.fail(f"Azurite did not listen within {STARTUP_SECONDS} s:\n{''.join(said)}")
        if line is None:
            pytest.fail(f"Azurite exited ({server.wait()}):\n{''.join(said)}")
        said.append(line)
        if found := LISTENING.search(line):
            return found[1]


def connection_string(blob_endpoint: str) -> str:
    return (f"DefaultEndpointsProtocol=http;AccountName={ACCOUNT};AccountKey={ACCOUNT_KEY};"
            f"BlobEndpoint={blob_endpoint};")


@pytest.fixture
def azure_env(azurite: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The connection string the Azure way (the environment), none of the machine's own."""
    for var in [v for v in os.environ if v.startswith(("AZURE_STORAGE_", "AZURE_CLIENT_"))]:
        monkeypatch.delenv(var)
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", connection_string(azurite))


@pytest.fixture
def az(azurite: str, azure_env: None) -> Any:
    """A client of the server of our own, apart from sfexit's."""
    import adlfs

    return adlfs.AzureBlobFileSystem(connection_string=connection_string(azurite),
                                     skip_instance_cache=True)


@pytest.fixture
def container(az: Any) -> str:
    name = f"exit-archives-{next(_containers)}"
    az.mkdir(name)
    return name
