"""``sfexit export bulk --dest s3://… --archive …`` and ``--dry-run`` (docs/cloud-export.md):
the emulated org, moto's S3 server, the CLI; what the bucket holds read back with s3fs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import bagit
import pytest
from auth_support import invoke, on_org_clock, password_env, password_profile, write_config
from s3_support import objects, puts_on_the_server

OBJECTS = "Account,CaseStatus,Contact,ContentVersion"   # with file bodies


@pytest.fixture(autouse=True)
def aws(aws_env: None) -> None:
    """Credentials the AWS way (s3_support.py) for every test here."""


# Every test here spools under a watched TMPDIR (s3_support.spool).
pytestmark = pytest.mark.usefixtures("spool")


def export(org: Any, tmp_path: Path, dest: str, *extra: str) -> Any:
    config = write_config(tmp_path / "cfg", org, **password_profile(org))
    return invoke(["--config", str(config), "export", "bulk", "--dest", dest,
                   "--objects", OBJECTS, *extra], env=password_env(org),
                  app=on_org_clock(org))


def downloads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The objects the cloud export code downloads from here on, in order."""
    import sfexit.export.cloud as cloud_module

    fetched: list[str] = []
    real_get = cloud_module.get

    def get(fs: Any, remote: Any, relative: str, into: Path) -> None:
        fetched.append(relative)
        real_get(fs, remote, relative, into)

    monkeypatch.setattr(cloud_module, "get", get)
    return fetched


@pytest.mark.parametrize("archive_in", ["bucket", "directory"])
def test_an_export_to_s3_with_archive_builds_the_archive_of_what_the_bucket_holds(
        fresh_emulator: Any, tmp_path: Path, s3: Any, s3_endpoint: str, bucket: str,
        spool: Path, archive_in: str, monkeypatch: pytest.MonkeyPatch) -> None:
    archive = (f"s3://{bucket}/archive" if archive_in == "bucket"
               else str(tmp_path / "ARCHIVE"))
    fetched = downloads(monkeypatch)
    run = export(fresh_emulator, tmp_path, f"s3://{bucket}/export", "--archive", archive,
                 "--endpoint-url", s3_endpoint)
    assert run.code == 0, run.output
    assert run.body["result"]["archive"]["archive"] == archive
    checked = invoke(["archive", "verify", archive,
                      *(("--endpoint-url", s3_endpoint) if archive_in == "bucket" else ())])
    assert checked.code == 0, checked.output
    assert checked.body["result"]["ok"]
    held = objects(s3, f"{bucket}/export")
    if archive_in == "directory":
        bagit.Bag(archive).validate()
        bagged = {p.relative_to(Path(archive) / "data").as_posix(): p.read_bytes()
                  for p in (Path(archive) / "data").rglob("*") if p.is_file()}
    else:
        bagged = {k.removeprefix("data/"): v for k, v in objects(s3, f"{bucket}/archive").items()
                  if k.startswith("data/")}
    assert bagged == held                     # the archive's payload is the bucket's export
    bodies = {k for k in held if k.startswith("files/")}
    # To a bucket of the same store the bodies are copied inside it, never downloaded; to a
    # directory the export is downloaded whole.
    assert bodies & set(fetched) == (set() if archive_in == "bucket" else bodies)
    assert {k for k in held if k.startswith("data/")} <= set(fetched)
    assert any(k.startswith("files/") for k in held)
    assert not list(spool.glob(".sfexit-*"))          # no spool, no download left behind


def test_a_dry_run_to_s3_plans_from_the_bucket_and_writes_nothing(
        fresh_emulator: Any, tmp_path: Path, s3: Any, s3_endpoint: str, bucket: str,
        spool: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"s3://{bucket}/plan"
    empty = export(fresh_emulator, tmp_path, url, "--dry-run", "--endpoint-url", s3_endpoint)
    assert empty.code == 0, empty.output
    result = empty.body["result"]
    assert result["dry_run"] and result["dest"] == url
    assert result["objects"] == len(OBJECTS.split(",")) and result["objects_done"] == 0
    assert objects(s3, bucket) == {}                               # nothing written

    made = export(fresh_emulator, tmp_path, url, "--no-files", "--endpoint-url", s3_endpoint)
    assert made.code == 0, made.output
    before = objects(s3, bucket)
    sent = puts_on_the_server(monkeypatch)
    again = export(fresh_emulator, tmp_path, url, "--dry-run", "--endpoint-url", s3_endpoint)
    assert again.code == 0, again.output
    assert again.body["result"]["objects_done"] == len(OBJECTS.split(","))  # from the bucket
    assert sent == [] and objects(s3, bucket) == before
    assert not list(spool.glob(".sfexit-*"))
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")                        # still checked
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    refused = export(fresh_emulator, tmp_path, url, "--dry-run", "--endpoint-url", s3_endpoint)
    assert refused.code == 3, refused.output


def test_export_dest_in_the_config_may_be_a_url_for_export_bulk_only(
        fresh_emulator: Any, tmp_path: Path, s3: Any, s3_endpoint: str, bucket: str) -> None:
    config = write_config(tmp_path / "cfg", fresh_emulator, **password_profile(fresh_emulator))
    with open(config, "a", encoding="utf-8") as fh:
        fh.write(f'[export]\ndest = "s3://{bucket}/configured/"\n')

    def run(*args: str) -> Any:
        return invoke(["--config", str(config), "export", *args],
                      env=password_env(fresh_emulator), app=on_org_clock(fresh_emulator))

    made = run("bulk", "--objects", "Account", "--no-files", "--endpoint-url", s3_endpoint)
    assert made.code == 0, made.output
    assert made.body["result"]["dest"] == f"s3://{bucket}/configured"
    assert "data/Account.csv" in objects(s3, f"{bucket}/configured")
    files = run("files")
    assert files.code == 2, files.output
    assert files.body["message"] == (f"export files writes to a directory, and [export] dest "
                                     f"is s3://{bucket}/configured (pass --dest DIR)")


def test_a_body_changed_in_the_bucket_before_the_archive_is_never_copied_into_it(
        fresh_emulator: Any, tmp_path: Path, s3: Any, s3_endpoint: str, bucket: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import contextlib

    import sfexit.export.cloud as cloud_module

    real = cloud_module.downloaded
    changed: list[str] = []

    @contextlib.contextmanager
    def tampering(dest: Any, **kwargs: Any) -> Any:
        body = sorted(k for k in objects(s3, f"{bucket}/export") if k.startswith("files/"))[0]
        data = s3.cat_file(f"{bucket}/export/{body}")
        s3.pipe_file(f"{bucket}/export/{body}", data[:-1] + bytes([data[-1] ^ 1]))  # same size
        changed.append(body)
        with real(dest, **kwargs) as mirror:
            yield mirror

    monkeypatch.setattr(cloud_module, "downloaded", tampering)
    run = export(fresh_emulator, tmp_path, f"s3://{bucket}/export", "--archive",
                 f"s3://{bucket}/archive", "--endpoint-url", s3_endpoint)
    assert run.code == 1, run.output
    message = run.body["message"]
    assert message.startswith(f"the export in s3://{bucket}/export is complete, but no "
                              "archive was built: not copying ")
    assert changed[0] in message and "without bagit.txt (no bag)" in message
    left = objects(s3, f"{bucket}/archive")
    assert f"data/{changed[0]}" not in left and "bagit.txt" not in left


def test_archive_build_reads_an_export_in_a_bucket(
        fresh_emulator: Any, tmp_path: Path, s3: Any, s3_endpoint: str, bucket: str,
        spool: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    made = export(fresh_emulator, tmp_path, f"s3://{bucket}/export", "--endpoint-url",
                  s3_endpoint)
    assert made.code == 0, made.output
    held = objects(s3, f"{bucket}/export")
    fetched = downloads(monkeypatch)
    url = f"s3://{bucket}/export"
    for out in (f"s3://{bucket}/archive", str(tmp_path / "ARCHIVE")):
        fetched.clear()
        built = invoke(["archive", "build", url, "--out", out, "--endpoint-url", s3_endpoint])
        assert built.code == 0, built.output
        assert built.body["result"]["archive"] == out
        checked = invoke(["archive", "verify", out, *(("--endpoint-url", s3_endpoint)
                                                      if "://" in out else ())])
        assert checked.code == 0 and checked.body["result"]["ok"], checked.output
        bodies = {k for k in held if k.startswith("files/")}
        assert bodies and bodies & set(fetched) == (set() if "://" in out else bodies)
    assert not list(spool.glob(".sfexit-*"))
    empty = invoke(["archive", "build", f"s3://{bucket}/nothing", "--out",
                    str(tmp_path / "A2"), "--endpoint-url", s3_endpoint])
    assert empty.code == 2
    assert empty.body["message"].startswith(f"s3://{bucket}/nothing holds no sfexit export")
