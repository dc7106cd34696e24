"""``sfexit export bulk --dest s3://…`` end to end on loopback (docs/cloud-export.md): the
emulated org, moto's S3 server, the CLI. What the bucket holds is read back with s3fs and
compared with a local export of the same org, never with the export's own bookkeeping.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from auth_support import (invoke, on_org_clock, password_env, password_profile, requests_total,
                          write_config)
from s3_support import objects, puts_on_the_server

# Not User: each login moves the running user's LastLoginDate, so two runs differ there.
OBJECTS = "Account,CaseStatus,Contact,Opportunity,ContentVersion"   # with file bodies


@pytest.fixture(autouse=True)
def aws(aws_env: None) -> None:
    """Credentials the AWS way (s3_support.py) for every test here."""


# Every test here spools under a watched TMPDIR (s3_support.spool).
pytestmark = pytest.mark.usefixtures("spool")


def export(org: Any, tmp_path: Path, dest: str, *extra: str, files: bool = False) -> Any:
    config = write_config(tmp_path / "cfg", org, **password_profile(org))
    return invoke(["--config", str(config), "export", "bulk", "--dest", dest,
                   "--objects", OBJECTS, *([] if files else ["--no-files"]), *extra],
                  env=password_env(org), app=on_org_clock(org))


def written(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in root.rglob("*") if p.is_file()}


def without_job_ids(entries: dict[str, Any]) -> dict[str, Any]:
    """Manifest entries as the bytes prove them: each run makes its own Bulk jobs."""
    return {name: {k: v for k, v in e.items() if k != "job_ids"} for name, e in entries.items()}


def test_an_export_to_s3_is_the_local_export_byte_for_byte_and_spools_nothing_left(
        fresh_emulator: Any, tmp_path: Path, s3: Any, s3_endpoint: str, bucket: str,
        spool: Path) -> None:
    local = export(fresh_emulator, tmp_path, str(tmp_path / "LOCAL"))
    assert local.code == 0, local.output
    url = f"s3://{bucket}/exits/acme"
    cloud = export(fresh_emulator, tmp_path, url, "--endpoint-url", s3_endpoint)
    assert cloud.code == 0, cloud.output
    assert cloud.body["result"]["dest"] == url
    assert cloud.body["result"]["manifest"] == f"{url}/manifest.json"
    assert not list(spool.glob(".sfexit-export.*"))          # the spool is gone
    held, mine = objects(s3, f"{bucket}/exits/acme"), written(tmp_path / "LOCAL")
    assert set(held) == set(mine)                            # the same files, no more
    for name in mine:
        if name != "manifest.json":
            assert held[name] == mine[name], name            # every byte of every CSV
    theirs, ours = json.loads(held["manifest.json"]), json.loads(mine["manifest.json"])
    assert theirs["finished_at"]
    assert without_job_ids(theirs["objects"]) == without_job_ids(ours["objects"])
    assert sorted(theirs["objects"]) == sorted(OBJECTS.split(","))


def test_file_bodies_go_to_s3_one_by_one_and_a_rerun_sends_none_again(
        fresh_emulator: Any, tmp_path: Path, s3: Any, s3_endpoint: str, bucket: str,
        spool: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    local = export(fresh_emulator, tmp_path, str(tmp_path / "LOCAL"), files=True)
    assert local.code == 0, local.output
    url, root = f"s3://{bucket}/withfiles", f"{bucket}/withfiles"
    import sfexit.export.cloud as cloud_module

    in_spool: list[int] = []
    real_send = cloud_module.CloudPublisher.send_file

    def watching(self: Any, relative: str, sha256: str) -> None:
        in_spool.append(sum(1 for p in (self.spool / "files").rglob("*") if p.is_file()))
        real_send(self, relative, sha256)

    monkeypatch.setattr(cloud_module.CloudPublisher, "send_file", watching)
    sent = puts_on_the_server(monkeypatch)
    cloud = export(fresh_emulator, tmp_path, url, "--endpoint-url", s3_endpoint, "--parallel",
                   "1", files=True)
    assert cloud.code == 0, cloud.output
    mine = written(tmp_path / "LOCAL")
    bodies = sorted(k for k in mine if k.startswith("files/"))
    assert bodies and max(in_spool) == 1         # one body on local disk at a time (parallel 1)
    held = objects(s3, root)
    assert set(held) == set(mine)
    assert all(held[k] == mine[k] for k in mine if k != "manifest.json")
    theirs = json.loads(held["manifest.json"])
    assert theirs["files"] == json.loads(mine["manifest.json"])["files"]
    assert not list(spool.glob(".sfexit-export.*"))
    # The manifest after each object and at the end; not after each batch of bodies (it
    # grows with every body): at most every MANIFEST_EVERY seconds, not reached here.
    assert sent.count("withfiles/manifest.json") == len(OBJECTS.split(",")) + 1

    sent.clear()
    again = export(fresh_emulator, tmp_path, url, "--endpoint-url", s3_endpoint, files=True)
    assert again.code == 0, again.output
    assert set(sent) == {"withfiles/manifest.json"}          # no CSV, no body sent again


def test_a_rerun_sends_no_object_again_and_an_upload_cut_midway_resumes(
        fresh_emulator: Any, tmp_path: Path, s3: Any, s3_endpoint: str, bucket: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import s3fs

    url, root = f"s3://{bucket}/cut", f"{bucket}/cut"
    real = s3fs.S3FileSystem._pipe_file

    async def failing(self: Any, path: str, data: bytes, *args: Any, **kwargs: Any) -> Any:
        if path.endswith("data/CaseStatus.csv"):
            raise ConnectionResetError("connection reset by peer")
        return await real(self, path, data, *args, **kwargs)

    monkeypatch.setattr(s3fs.S3FileSystem, "_pipe_file", failing)
    cut = export(fresh_emulator, tmp_path, url, "--endpoint-url", s3_endpoint,
                 "--parallel", "1")
    assert cut.code == 1
    assert "uploading data/CaseStatus.csv" in cut.body["message"]
    assert "ConnectionResetError" in cut.body["message"]
    held = objects(s3, root)
    manifest = json.loads(held["manifest.json"])
    assert not manifest["finished_at"] and "CaseStatus" not in manifest["objects"]
    assert "data/CaseStatus.csv" not in held
    done_before = set(manifest["objects"])
    assert done_before and all(f"data/{n}.csv" in held for n in done_before)

    monkeypatch.setattr(s3fs.S3FileSystem, "_pipe_file", real)   # the fault is repaired
    sent = puts_on_the_server(monkeypatch)
    again = export(fresh_emulator, tmp_path, url, "--endpoint-url", s3_endpoint, "--resume")
    assert again.code == 0, again.output
    csvs = {k.rpartition("/")[2] for k in sent if "/data/" in k}
    assert csvs == {f"{n}.csv" for n in OBJECTS.split(",")} - {f"{n}.csv" for n in done_before}
    assert json.loads(objects(s3, root)["manifest.json"])["finished_at"]

    sent.clear()
    third = export(fresh_emulator, tmp_path, url, "--endpoint-url", s3_endpoint)
    assert third.code == 0, third.output
    assert set(sent) == {"cut/manifest.json"}                # nothing but the manifest


@pytest.mark.parametrize("dest, extra, code, says", [
    ("s3:/bucket/x", (), 2, "not a storage URL"),
    ("s3://no-such-bucket/x", (), 2, "no such bucket"),
    ("s3://{bucket}/x", ("--archive", "s3://{bucket}/x/archive"), 2,
     "one is inside the other"),
    ("s3://{bucket}/x", ("--archive", "s3://{bucket}/taken"), 2, "is not empty"),
    ("s3://{bucket}/x", ("--since", "s3://{bucket}/x"), 2, "holds no sfexit export"),
    ("s3://{bucket}/taken", (), 2, "holds 1 objects but no manifest.json"),
    ("s3://{bucket}/empty", ("--resume",), 2, "holds no export to continue"),
    ("s3://{bucket}/x", ("--no-credentials",), 3, "no usable credentials"),
])
def test_a_bad_cloud_dest_is_one_line_before_the_org_is_asked(
        fresh_emulator: Any, tmp_path: Path, s3: Any, s3_endpoint: str, bucket: str,
        monkeypatch: pytest.MonkeyPatch, dest: str, extra: tuple[str, ...], code: int,
        says: str) -> None:
    s3.pipe_file(f"{bucket}/taken/notes.txt", b"mine")
    if "--no-credentials" in extra:
        monkeypatch.delenv("AWS_ACCESS_KEY_ID")
        monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
        monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")   # no instance role to wait for
    config = write_config(tmp_path / "cfg", fresh_emulator, **password_profile(fresh_emulator))
    before = requests_total(fresh_emulator)
    run = invoke(["--config", str(config), "export", "bulk", "--dest",
                  dest.format(bucket=bucket), "--endpoint-url", s3_endpoint, "--no-files",
                  *[e.format(tmp=tmp_path, bucket=bucket) for e in extra
                    if e != "--no-credentials"]],
                 env=password_env(fresh_emulator), app=on_org_clock(fresh_emulator))
    assert run.code == code, run.output
    assert says in run.body["message"]
    assert "Traceback" not in run.output
    assert requests_total(fresh_emulator) == before            # the org was never asked
    assert set(objects(s3, bucket)) == {"taken/notes.txt"}     # nothing written


def test_a_file_sent_in_parts_is_proven_on_resume_by_its_etag_or_its_bytes_read_back(
        s3: Any, s3_endpoint: str, bucket: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """S3's checksum of a multipart object is of its parts: the export records the ETag S3
    gave it (SENT_NAME) and a rerun compares it with a HEAD; without a record it reads the
    object back rather than exporting it again from the org (its daily limits)."""
    import hashlib

    from sfexit import storage, storage_checked
    from sfexit.export.cloud import SENT_NAME, CloudDest, CloudPublisher, open_cloud_dest

    monkeypatch.setattr(storage_checked, "PART", 5 * 2**20)          # S3's smallest part
    big = tmp_path / "spool" / "data" / "Big.csv"
    big.parent.mkdir(parents=True)
    body = bytes(range(256)) * (12 * 2**20 // 256)
    big.write_bytes(body)
    sha, size = hashlib.sha256(body).hexdigest(), len(body)
    dest = open_cloud_dest(f"s3://{bucket}/big", s3_endpoint)
    assert dest is not None
    CloudPublisher(dest, tmp_path / "spool").send_file("data/Big.csv", sha)
    assert not big.exists()                                          # gone from the spool

    def rerun() -> CloudPublisher:
        found = storage.listing(dest.fs, dest.remote)
        return CloudPublisher.start(CloudDest(dest.remote, dest.fs, found))

    real_read = storage_checked.read_sha256

    def no_read_back(*args: Any) -> str:
        raise AssertionError("read back")

    publisher = rerun()
    assert publisher.dest.found == {"data/Big.csv": size, SENT_NAME: publisher.dest.found[
        SENT_NAME]}
    assert storage_checked.stored_sha256(dest.fs, dest.remote, "data/Big.csv") is None
    monkeypatch.setattr(storage_checked, "read_sha256", no_read_back)
    assert publisher.holds_file("data/Big.csv", size, sha)           # a HEAD: the ETag
    publisher.close()

    s3.pipe_file(f"{bucket}/big/data/Big.csv", body[:-1] + b"!")    # same size, other bytes
    monkeypatch.setattr(storage_checked, "read_sha256", real_read)
    publisher = rerun()
    assert not publisher.holds_file("data/Big.csv", size, sha)       # read back: changed
    publisher.close()

    s3.pipe_file(f"{bucket}/big/data/Big.csv", body)                 # no ETag record of it
    publisher = rerun()
    assert publisher.holds_file("data/Big.csv", size, sha)           # its bytes read back
    assert not publisher.holds_file("data/Big.csv", size, "0" * 64)  # other bytes: not held
    publisher.close()


def test_export_verify_of_the_bucket_rereads_every_file_and_names_what_changed(
        fresh_emulator: Any, tmp_path: Path, s3: Any, s3_endpoint: str, bucket: str,
        spool: Path) -> None:
    url, root = f"s3://{bucket}/v", f"{bucket}/v"
    made = export(fresh_emulator, tmp_path, url, "--endpoint-url", s3_endpoint, files=True)
    assert made.code == 0, made.output
    checked = invoke(["export", "verify", url, "--endpoint-url", s3_endpoint])
    assert checked.code == 0, checked.output
    assert checked.body["result"]["ok"] and checked.body["result"]["directory"] == url
    assert checked.body["result"]["objects_checked"] == len(OBJECTS.split(","))
    assert checked.body["result"]["files_checked"] > 0

    body = s3.cat_file(f"{root}/data/Account.csv")
    s3.pipe_file(f"{root}/data/Account.csv", body[:-2] + bytes([body[-2] ^ 1]) + body[-1:])
    gone = next(k for k in objects(s3, root) if k.startswith("files/"))
    s3.rm_file(f"{root}/{gone}")
    failed = invoke(["export", "verify", url, "--endpoint-url", s3_endpoint])
    assert failed.code == 1, failed.output
    found = {(d["name"], d["what"]) for d in failed.body["result"]["differences"]}
    assert ("Account", "sha256") in found
    assert any(what == "missing" for _name, what in found)
    assert not list(spool.glob(".sfexit-verify.*"))             # nothing left behind


def test_the_export_says_how_to_verify_it_with_its_endpoint_and_that_command_works(
        fresh_emulator: Any, tmp_path: Path, s3_endpoint: str, bucket: str) -> None:
    """An export made with --endpoint-url and verified without it would be looked for at AWS:
    the summary prints the verify command with the endpoint, and it works as printed."""
    from click.testing import CliRunner

    from sfexit.cli import cli

    org, url = fresh_emulator, f"s3://{bucket}/told"
    config = write_config(tmp_path / "cfg", org, **password_profile(org))
    made = CliRunner().invoke(cli, ["--config", str(config), "export", "bulk", "--dest", url,
                                    "--objects", "Account", "--no-files", "--endpoint-url",
                                    s3_endpoint], env=password_env(org), obj=on_org_clock(org))
    assert made.exit_code == 0, made.output
    told = made.stdout.splitlines()[-1]
    assert told == f"Check it with `sfexit export verify {url} --endpoint-url {s3_endpoint}`."
    command = told.split("`")[1].split()
    assert command[:3] == ["sfexit", "export", "verify"]
    checked = invoke(command[1:])
    assert checked.code == 0, checked.output
    assert checked.body["result"]["ok"] and checked.body["result"]["directory"] == url
