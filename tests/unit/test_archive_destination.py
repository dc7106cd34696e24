"""Parsing an archive's destination and the upload order: pure, no storage."""

from __future__ import annotations

from pathlib import Path

import pytest

from sfexit.archive.bag import seal, write_bag
from sfexit.archive.destination import parse_destination
from sfexit.archive.upload import bag_hashes, tag_files, upload_order
from sfexit.errors import UsageError


def test_a_path_without_a_scheme_is_a_local_directory() -> None:
    dest = parse_destination("backups/ARCHIVE")
    assert dest.local == Path("backups/ARCHIVE") and dest.remote is None
    assert parse_destination("C:/exits/ARCHIVE").local == Path("C:/exits/ARCHIVE")
    assert parse_destination("exit:2026").local == Path("exit:2026")


@pytest.mark.parametrize("text", ["s3:/bucket/x", "S3:bucket", "gs:/b", "az:c/x"])
def test_a_mistyped_url_is_refused_not_made_a_folder(text: str) -> None:
    with pytest.raises(UsageError, match="not a storage URL"):
        parse_destination(text)


@pytest.mark.parametrize("text, bucket, prefix, root", [
    ("s3://bucket/exits/acme/", "bucket", "exits/acme", "bucket/exits/acme"),
    ("S3://bucket", "bucket", "", "bucket"),
    ("gs://b/x", "b", "x", "b/x"),
    ("az://container/x", "container", "x", "container/x"),
])
def test_a_cloud_url_names_its_bucket_and_prefix(text: str, bucket: str, prefix: str,
                                                 root: str) -> None:
    remote = parse_destination(text).remote
    assert remote is not None
    assert (remote.bucket, remote.prefix, remote.root) == (bucket, prefix, root)
    assert remote.key("bagit.txt") == f"{root}/bagit.txt"
    assert not remote.url.endswith("/")


@pytest.mark.parametrize("text", ["s3://", "s3:///x", "s3://b//x", "s3://b/./x", "s3://b/x/..",
                                  "http://host/x", "file:///tmp/x"])
def test_a_url_sfexit_cannot_store_to_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError):
        parse_destination(text)


def test_endpoint_url_is_only_for_s3_and_gs() -> None:
    assert parse_destination("s3://b/x", endpoint_url="http://127.0.0.1:9000").remote
    assert parse_destination("gs://b/x", endpoint_url="http://127.0.0.1:9023").remote
    for text in ("az://b/x", "ARCHIVE"):
        with pytest.raises(UsageError, match="--endpoint-url is for s3://"):
            parse_destination(text, endpoint_url="http://127.0.0.1:9000")


def test_the_payload_goes_first_and_bagit_txt_last() -> None:
    files = ["bagit.txt", "index.html", "data/manifest.json", "tagmanifest-sha256.txt",
             "archive.sqlite", "bag-info.txt", "data/data/Account.csv", "manifest-sha256.txt",
             "metadata.json"]
    order = upload_order(dict.fromkeys(files, "0" * 64))
    assert sorted(order) == sorted(files)
    assert order[:2] == ["data/data/Account.csv", "data/manifest.json"]
    assert order[-4:] == ["manifest-sha256.txt", "bag-info.txt", "tagmanifest-sha256.txt",
                          "bagit.txt"]


@pytest.mark.parametrize("endpoint", ["http://minio.example:9000", "ftp://127.0.0.1",
                                      "127.0.0.1:9000"])
def test_an_endpoint_the_archive_would_cross_a_network_in_clear_to_is_refused(
        endpoint: str) -> None:
    with pytest.raises(UsageError, match="give an https:// URL"):
        parse_destination("s3://b/x", endpoint_url=endpoint)


@pytest.mark.parametrize("endpoint", ["https://minio.example:9000", "http://127.0.0.1:5000",
                                      "http://localhost:9000", "http://[::1]:9000"])
def test_https_or_loopback_endpoints_are_taken(endpoint: str) -> None:
    remote = parse_destination("s3://b/x", endpoint_url=endpoint).remote
    assert remote is not None and remote.endpoint_url == endpoint


def test_a_bag_without_its_payload_lists_it_from_its_manifest(tmp_path: Path) -> None:
    """A cloud build writes the tag files only: the payload's hashes come from
    manifest-sha256.txt, the tag files are the only local files sent."""
    write_bag(tmp_path, {"Source-Organization": "Acme"}, {"data/Account.csv": (3, "a" * 64)})
    (tmp_path / "index.html").write_text("<p>", encoding="utf-8")
    seal(tmp_path)
    hashes = bag_hashes(tmp_path)
    assert hashes["data/data/Account.csv"] == "a" * 64
    assert set(hashes) == {"data/data/Account.csv", *tag_files(tmp_path)}
    assert set(tag_files(tmp_path)) == {"bagit.txt", "bag-info.txt", "manifest-sha256.txt",
                                        "tagmanifest-sha256.txt", "index.html"}
