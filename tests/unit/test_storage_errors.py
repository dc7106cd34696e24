"""A storage error's one line says which endpoint to check, and where it comes from: pure, no
storage (storage.storage_errors)."""

from __future__ import annotations

import pytest

from sfexit.errors import SfexitError
from sfexit.storage import parse_remote, storage_errors


def unreachable(url: str, endpoint_url: str | None = None) -> str:
    remote = parse_remote(url, endpoint_url)
    assert remote is not None
    with pytest.raises(SfexitError) as caught, storage_errors(remote, "listing"):
        raise ConnectionError("Could not connect to the endpoint URL")
    assert caught.value.exit_code == 1
    return caught.value.one_line()


def test_an_unreachable_bucket_says_where_an_endpoint_is_given() -> None:
    # An export made with --endpoint-url, verified without it, reaches AWS: say how to give it.
    line = unreachable("s3://bucket/exits/acme")
    assert line.startswith("s3://bucket/exits/acme: listing failed (ConnectionError: ")
    assert "the endpoint (--endpoint-url, or AWS_ENDPOINT_URL, for a store that is not AWS)" \
        in line
    assert "--endpoint-url" in unreachable("gs://bucket/exits")
    assert "AZURE_STORAGE_CONNECTION_STRING" in unreachable("az://container/exits")


def test_an_unreachable_endpoint_that_was_given_is_named() -> None:
    line = unreachable("s3://bucket/exits", "http://127.0.0.1:9")
    assert "check the URL, the endpoint http://127.0.0.1:9 and the network" in line
