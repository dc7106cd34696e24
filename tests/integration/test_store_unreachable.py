"""A store whose endpoint does not answer (a typo, a store not started): the admin sees a line
per retry ("could not reach …; trying again in N s (attempt k of m)") within seconds, then one
line and exit 1, instead of the storage library's silent retries (storage.wait_for_endpoint).
On a recorded clock: nothing sleeps."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from sfexit import storage
from sfexit.cli import cli
from sfexit.cli.context import AppContext
from sfexit.errors import SfexitError


def closed_port() -> int:
    """A loopback port nothing listens on: bound, then closed."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(args: list[str], waits: list[float]) -> tuple[int, str]:
    result = CliRunner().invoke(cli, args, obj=AppContext(sleep=waits.append), env={})
    return result.exit_code, result.stderr


def retry_lines(endpoint: str) -> list[str]:
    return [f"could not reach {endpoint}; trying again in {wait} s (attempt {k} of 4)"
            for k, wait in ((2, 2), (3, 4), (4, 8))]


def test_an_export_to_an_s3_endpoint_that_does_not_answer_says_so_at_each_retry(
        tmp_path: Path, aws_env: None) -> None:
    pytest.importorskip("s3fs")
    endpoint = f"http://127.0.0.1:{closed_port()}"
    waits: list[float] = []
    config = tmp_path / "config.toml"
    config.write_text("", encoding="utf-8")   # no org: the store is checked before it is asked
    code, err = run(["--config", str(config), "export", "bulk", "--dest",
                     "s3://bucket/backup", "--endpoint-url", endpoint], waits)
    assert code == 1, err
    lines = err.splitlines()
    assert [line for line in lines if "trying again" in line] == retry_lines(f"{endpoint}")
    assert waits == [2.0, 4.0, 8.0]
    assert f"s3://bucket/backup: could not reach {endpoint} after 4 attempts" in err
    assert "Traceback" not in err


def test_an_archive_in_an_azure_store_that_does_not_answer_says_so_at_each_retry(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    pytest.importorskip("adlfs")
    for var in [v for v in os.environ if v.startswith(("AZURE_STORAGE_", "AZURE_CLIENT_"))]:
        monkeypatch.delenv(var)
    port = closed_port()
    # Azurite's documented development account (its key is public), at a port nothing serves;
    # a SAS in the endpoint would not be printed: only scheme, host and port are.
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", (
        "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey="
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw"
        f"==;BlobEndpoint=http://127.0.0.1:{port}/devstoreaccount1;"))
    waits: list[float] = []
    code, err = run(["archive", "verify", "az://archives/acme"], waits)
    assert code == 1, err
    assert [line for line in err.splitlines() if "trying again" in line] == \
        retry_lines(f"http://127.0.0.1:{port}")
    assert "devstoreaccount1" not in err.replace("az://", "")


@pytest.mark.parametrize(("proxy", "no_proxy", "probed"), [
    ("http://proxy.invalid:3128", "", False),          # the libraries go through the proxy
    ("http://proxy.invalid:3128", "127.0.0.1", True),  # NO_PROXY: they connect directly
    ("", "", True)])
def test_a_store_reached_through_a_proxy_is_not_probed_directly(
        monkeypatch: pytest.MonkeyPatch, proxy: str, no_proxy: str, probed: bool) -> None:
    """Behind a corporate proxy a direct connection may be refused where the store's library,
    going through the proxy, works: sfexit then leaves the reaching to the library."""
    for var in ("HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy", "HTTPS_PROXY",
                "https_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.delenv(var, raising=False)
    if proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy)
    if no_proxy:
        monkeypatch.setenv("NO_PROXY", no_proxy)
    endpoint = f"http://127.0.0.1:{closed_port()}"
    lines: list[str] = []
    remote = storage.parse_remote("s3://bucket/backup", endpoint)
    assert remote is not None
    reach = storage.Reach(on_retry=lines.append, sleep=lambda _s: None)
    if probed:
        with pytest.raises(SfexitError):
            storage.wait_for_endpoint(remote, endpoint, reach)
        assert len(lines) == 3
    else:
        storage.wait_for_endpoint(remote, endpoint, reach)
        assert lines == []
