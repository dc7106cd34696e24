"""The GCS server on loopback the gs:// destination tests share: gcp-storage-emulator (pure
Python, PyPI; the `test` extra), started in a thread of the test process as moto is for S3
(s3_support.py), in memory, with a fresh bucket per test. sfexit reaches it with
``--endpoint-url``; on loopback it sends no credentials (sfexit/storage.py, open_store), so no
machine's Google credentials are read and the GCE metadata server is never asked."""

from __future__ import annotations

import itertools
import types
from collections.abc import Iterator
from typing import Any

import pytest

_buckets = itertools.count(1)


@pytest.fixture(scope="module")
def gcs_endpoint() -> Iterator[str]:
    """A GCS JSON-API server on loopback for this module. Imported here, so a machine without
    the packages skips the tests that ask, not the directory."""
    pytest.importorskip("gcsfs")
    server_module = pytest.importorskip("gcp_storage_emulator.server")
    with_cancel(server_module)
    server = server_module.create_server("127.0.0.1", 0, in_memory=True)
    server.start()
    # Port 0: the system's free port, read back from the listening socket (the emulator's
    # HTTPServer, created by start()).
    host, port = server._api._httpd.server_address[:2]
    yield f"http://{host}:{port}"
    server.stop()


def with_cancel(server_module: Any) -> None:
    """The emulator's resumable uploads learn to be cancelled, as GCS's are: DELETE on the
    session URI, answered 499 (Cloud Storage docs, "Perform resumable uploads": "Cancel an
    upload"), which gcsfs's GCSFile.discard sends. Without it the emulator answers 501, which
    gcsfs retries for ~30 s."""
    from gcp_storage_emulator.handlers import objects

    def cancel(request: Any, response: Any, storage: Any, *_args: Any, **_kw: Any) -> None:
        storage.delete_resumable_file_obj(request.query.get("upload_id")[0])
        response.status = types.SimpleNamespace(value=499, phrase="Client Closed Request")

    for _pattern, handlers in server_module.HANDLERS:
        if handlers.get("PUT") is objects.upload_partial:
            handlers.setdefault("DELETE", cancel)


@pytest.fixture
def gcs_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """None of the machine's Google settings leak in: the endpoint is the flag's."""
    for var in ("STORAGE_EMULATOR_HOST", "GOOGLE_APPLICATION_CREDENTIALS",
                "GOOGLE_CLOUD_PROJECT", "GCSFS_DEFAULT_PROJECT"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def gcs(gcs_endpoint: str, gcs_env: None) -> Any:
    """A client of the server of our own, apart from sfexit's: gcsfs's JSON-API class."""
    import gcsfs.core

    return gcsfs.core.GCSFileSystem(endpoint_url=gcs_endpoint, token="anon",
                                    skip_instance_cache=True)


@pytest.fixture
def gcs_bucket(gcs: Any) -> str:
    name = f"exit-archives-{next(_buckets)}"
    gcs.mkdir(name)
    return name
