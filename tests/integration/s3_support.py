"""The S3 server on loopback the cloud-destination tests share (moto's ThreadedMotoServer,
started by the tests as the emulator is), with AWS credentials the AWS way and a fresh bucket
per test. Fixtures for tests/integration/conftest.py; a module that uses the server asks for
``aws_env`` in an autouse fixture of its own (no machine's credentials or endpoint leak in)."""

from __future__ import annotations

import itertools
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_buckets = itertools.count(1)


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """An S3 server on loopback for this module (moto's ThreadedMotoServer). The modules are
    imported here, so a machine without them skips the tests that ask, not the directory."""
    pytest.importorskip("s3fs")
    moto_server = pytest.importorskip("moto.server")
    server = moto_server.ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Credentials the AWS way (the environment), none of the machine's own profiles."""
    for var in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))


@pytest.fixture
def spool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The system's temporary directory (TMPDIR), where a cloud export spools, watched (the
    cloud export tests use it for every test: ``pytestmark``)."""
    where = tmp_path / "tmp"
    where.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(where))
    return where


@pytest.fixture
def s3(s3_endpoint: str, aws_env: None) -> Any:
    fsspec = pytest.importorskip("fsspec")
    return fsspec.filesystem("s3", endpoint_url=s3_endpoint, skip_instance_cache=True)


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"exit-archives-{next(_buckets)}"
    s3.mkdir(name)
    return name


def objects(s3: Any, root: str) -> dict[str, bytes]:
    s3.invalidate_cache()
    cut = len(root) + 1
    return {name[cut:]: s3.cat_file(name) for name in s3.find(root)}


def puts_on_the_server(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every PutObject the S3 server receives (its key), whoever sends it."""
    from moto.s3.responses import S3Response

    real = S3Response.put_object
    keys: list[str] = []

    def counted(self: Any) -> Any:
        keys.append(self.parse_key_name())
        return real(self)

    monkeypatch.setattr(S3Response, "put_object", counted)
    return keys


def parts_on_the_server(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every UploadPart the S3 server receives (its key): a file sent in parts."""
    from moto.s3.responses import S3Response

    real = S3Response.upload_part
    keys: list[str] = []

    def counted(self: Any) -> Any:
        keys.append(self.parse_key_name())
        return real(self)

    monkeypatch.setattr(S3Response, "upload_part", counted)
    return keys
