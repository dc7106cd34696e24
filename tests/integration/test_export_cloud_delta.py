"""``sfexit export bulk --dest s3://… --since BASE`` (docs/cloud-export.md, "A delta"): the last
day's delta straight to a bucket, its base a bucket export or a directory; then the archive of
the chain. The emulated org, moto's S3 server, the CLI; what the bucket holds is read back with
s3fs.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from pathlib import Path
from typing import Any

import bagit
import pytest
from auth_support import (invoke, on_org_clock, password_env, password_profile,
                          requests_total, write_config)
from s3_support import objects
from test_export_delta import last_day

from sfexit.archive import build_archive
from sfexit.export.manifest import SCHEMA_VERSION

OBJECTS = "Account,Contact"


@pytest.fixture(autouse=True)
def aws(aws_env: None) -> None:
    """Credentials the AWS way (s3_support.py) for every test here."""


def export(org: Any, tmp_path: Path, dest: str, *extra: str) -> Any:
    config = write_config(tmp_path / "cfg", org, **password_profile(org))
    return invoke(["--config", str(config), "export", "bulk", "--dest", dest,
                   "--objects", OBJECTS, "--no-files", *extra],
                  env=password_env(org), app=on_org_clock(org))


def download(s3: Any, root: str, into: Path) -> Path:
    """Every object under ``root`` into ``into``, as `aws s3 sync` would."""
    for relative, body in objects(s3, root).items():
        (into / relative).parent.mkdir(parents=True, exist_ok=True)
        (into / relative).write_bytes(body)
    return into


@pytest.mark.parametrize("base_in", ["bucket", "directory"])
def test_a_delta_goes_straight_to_the_bucket_and_its_archive_applies_it(
        fresh_emulator: Any, tmp_path: Path, s3: Any, s3_endpoint: str, bucket: str,
        base_in: str) -> None:
    org = fresh_emulator
    base = f"s3://{bucket}/base" if base_in == "bucket" else str(tmp_path / "base")
    made = export(org, tmp_path, base,
                  *(("--endpoint-url", s3_endpoint) if base_in == "bucket" else ()))
    assert made.code == 0, made.output
    changed = last_day(org)
    url = f"s3://{bucket}/delta"
    delta = export(org, tmp_path, url, "--since", base, "--endpoint-url", s3_endpoint)
    assert delta.code == 0, delta.output

    held = objects(s3, f"{bucket}/delta")
    manifest = json.loads(held["manifest.json"])
    base_manifest = (objects(s3, f"{bucket}/base")["manifest.json"] if base_in == "bucket"
                     else (tmp_path / "base" / "manifest.json").read_bytes())
    assert manifest["base"]["path"] == base
    assert manifest["base"]["manifest_sha256"] == hashlib.sha256(base_manifest).hexdigest()
    assert manifest["objects"]["Contact"]["since"] == manifest["base"]["start"]
    assert changed["gone"].encode() in held["data/Contact.csv"]

    # `archive build` reads a directory: the chain downloaded side by side, as the delta's
    # base pointer (its last segment, "base") finds it.
    local = tmp_path / "dl"
    if base_in == "bucket":
        download(s3, f"{bucket}/base", local / "base")
    download(s3, f"{bucket}/delta", local / "delta")
    out = tmp_path / "ARCHIVE"
    build_archive(local / "delta", out)
    bagit.Bag(str(out)).validate()
    db = sqlite3.connect(out / "archive.sqlite")
    assert db.execute("SELECT Name FROM Account WHERE Id = ?", [changed["account"]]
                      ).fetchone() == ("Renamed on the last day",)
    assert db.execute("SELECT _sfexit_deleted_at IS NOT NULL FROM Contact WHERE Id = ?",
                      [changed["gone"]]).fetchone() == (1,)


@pytest.mark.parametrize("since, says", [
    ("s3://{bucket}/empty", "holds no sfexit export (no manifest.json)"),
    ("s3://{bucket}/unfinished", "did not finish"),
    ("s3://{bucket}/delta", "cannot be written into its base"),
])
def test_a_bad_cloud_base_is_one_line_before_the_org_is_asked(
        fresh_emulator: Any, tmp_path: Path, s3: Any, s3_endpoint: str, bucket: str,
        since: str, says: str) -> None:
    s3.pipe_file(f"{bucket}/unfinished/manifest.json", json.dumps(
        {"schema_version": SCHEMA_VERSION, "org_id": fresh_emulator.org_id, "started_at": "2026-01-01T00:00:00+00:00",
         "finished_at": None, "objects": {}}).encode())
    s3.pipe_file(f"{bucket}/delta/manifest.json", json.dumps(
        {"schema_version": SCHEMA_VERSION, "org_id": fresh_emulator.org_id, "started_at": "2026-01-01T00:00:00+00:00",
         "finished_at": "2026-01-01T01:00:00+00:00", "objects": {}}).encode())
    before = requests_total(fresh_emulator)
    run = export(fresh_emulator, tmp_path, f"s3://{bucket}/delta", "--since",
                 since.format(bucket=bucket), "--endpoint-url", s3_endpoint)
    assert run.code == 2, run.output
    assert says in run.body["message"]
    assert tmp_path.as_posix() not in run.body["message"]     # the URL, not a spool, named
    assert requests_total(fresh_emulator) == before


def test_export_bulk_refuses_to_archive_a_delta_whose_base_is_in_a_bucket(
        fresh_emulator: Any, tmp_path: Path, s3: Any, s3_endpoint: str, bucket: str) -> None:
    s3.pipe_file(f"{bucket}/base/manifest.json", json.dumps(
        {"schema_version": SCHEMA_VERSION, "org_id": fresh_emulator.org_id,
         "started_at": "2026-01-01T00:00:00+00:00",
         "finished_at": "2026-01-01T01:00:00+00:00", "objects": {}}).encode())
    before = requests_total(fresh_emulator)
    run = export(fresh_emulator, tmp_path, f"s3://{bucket}/delta", "--since",
                 f"s3://{bucket}/base", "--archive", str(tmp_path / "ARCHIVE"),
                 "--endpoint-url", s3_endpoint)
    assert run.code == 2, run.output
    assert run.body["message"].startswith("the archive of a delta whose base is in a bucket")
    assert requests_total(fresh_emulator) == before
    assert set(objects(s3, bucket)) == {"base/manifest.json"}
