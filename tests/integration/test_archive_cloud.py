"""Cloud destinations of the exit archive (``s3://``), end to end on loopback: an S3 server
(moto's server mode, started here as the emulator is) and a real export of the emulated org.

What the bucket holds is read back with s3fs and checked with the stock ``bagit`` library,
never with the archive code's own upload bookkeeping.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import bagit
import pytest
from auth_support import invoke, on_org_clock, password_env, password_profile, write_config
from click.testing import CliRunner
from export_support import backup, clock_sleep, session_for
from s3_support import objects, parts_on_the_server, puts_on_the_server

from sfexit.cli import cli
from sfexit.export.backup import run_backup
from sfexit.export.data_run import ExportOptions

@pytest.fixture(autouse=True)
def aws(aws_env: None) -> None:
    """Credentials the AWS way (s3_support.py) for every test here."""


@pytest.fixture(scope="module")
def export_dir(emulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("cloud-export") / "backup"
    summary = run_backup(session_for(emulator), ExportOptions(dest=dest), files=True,
                         sleep=clock_sleep(emulator))
    assert not summary.failed and not summary.files_failed
    return dest


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def download(s3: Any, root: str, into: Path) -> Path:
    for relative, body in objects(s3, root).items():
        (into / relative).parent.mkdir(parents=True, exist_ok=True)
        (into / relative).write_bytes(body)
    return into


def one_line(result: Any) -> str:
    """The error, as one line after the progress lines, without a traceback."""
    assert "Traceback" not in result.output + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error: ")]
    assert len(lines) == 1 and result.stderr.rstrip().endswith(lines[0]), result.stderr
    return lines[0]


# --- build and verify through the bucket ----------------------------------------------------

def test_build_to_s3_uploads_a_valid_bag_and_verify_reads_it_back(
        export_dir: Path, s3: Any, s3_endpoint: str, bucket: str, tmp_path: Path) -> None:
    url = f"s3://{bucket}/exits/acme"
    work = tmp_path / "work"
    built = run("--json", "archive", "build", str(export_dir), "--out", url,
                "--endpoint-url", s3_endpoint, "--work-dir", str(work))
    assert built.exit_code == 0, built.output + built.stderr
    assert f'"archive": "{url}"' in built.stdout
    assert list(work.iterdir()) == []                      # nothing staged is left behind
    local = download(s3, f"{bucket}/exits/acme", tmp_path / "down")
    bagit.Bag(str(local)).validate()                       # the stock library, every SHA-256
    assert (local / "data" / "manifest.json").read_bytes() == \
        (export_dir / "manifest.json").read_bytes()
    assert (local / "archive.sqlite").is_file() and (local / "index.html").is_file()

    checked = run("archive", "verify", url, "--endpoint-url", s3_endpoint,
                  "--work-dir", str(work))
    assert checked.exit_code == 0, checked.output + checked.stderr
    assert "Everything matches." in checked.stdout
    assert list(work.iterdir()) == []


def test_the_endpoint_can_come_from_the_aws_environment(
        export_dir: Path, s3: Any, s3_endpoint: str, bucket: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    built = run("archive", "build", str(export_dir), "--out", f"s3://{bucket}/a")
    assert built.exit_code == 0, built.output + built.stderr
    assert "bagit.txt" in objects(s3, f"{bucket}/a")
    assert run("archive", "verify", f"s3://{bucket}/a").exit_code == 0


def test_tampering_with_an_object_in_the_bucket_fails_verify_naming_it(
        export_dir: Path, s3: Any, s3_endpoint: str, bucket: str) -> None:
    url = f"s3://{bucket}/x"
    assert run("archive", "build", str(export_dir), "--out", url,
               "--endpoint-url", s3_endpoint).exit_code == 0
    key = f"{bucket}/x/data/data/Account.csv"
    body = s3.cat_file(key)
    s3.pipe_file(key, body[:-2] + bytes([body[-2] ^ 1]) + body[-1:])   # same size
    assert body != s3.cat_file(key)
    checked = run("archive", "verify", url, "--endpoint-url", s3_endpoint)
    assert checked.exit_code == 1
    assert "verification failed" in checked.stderr
    assert "data/data/Account.csv" in checked.stdout + checked.stderr


# --- the payload goes from the export to the bucket, never through the work dir ------------

def test_a_cloud_archive_is_the_local_archive_byte_for_byte_without_staging_the_payload(
        export_dir: Path, s3: Any, s3_endpoint: str, bucket: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import sfexit.archive.build as build_module
    import sfexit.archive.destination as destination

    monkeypatch.setattr(build_module, "utc_now", lambda: "2026-12-07T10:00:00Z")
    assert run("archive", "build", str(export_dir), "--out",
               str(tmp_path / "LOCAL")).exit_code == 0
    work, seen = tmp_path / "work", {}
    real = destination.upload_bag

    def looking(files: dict[str, Path], *args: Any, **kwargs: Any) -> Any:
        seen["staged"] = sorted(p for p in work.rglob("*") if p.is_file())
        seen["payload"] = {p: f for p, f in files.items() if p.startswith("data/")}
        return real(files, *args, **kwargs)

    monkeypatch.setattr(destination, "upload_bag", looking)
    url = f"s3://{bucket}/same"
    built = run("archive", "build", str(export_dir), "--out", url, "--endpoint-url",
                s3_endpoint, "--work-dir", str(work))
    assert built.exit_code == 0, built.output + built.stderr
    # Only the tag files were written locally; every payload file is sent from the export.
    assert {p.name for p in seen["staged"]} == {
        "bagit.txt", "bag-info.txt", "manifest-sha256.txt", "tagmanifest-sha256.txt",
        "archive.sqlite", "index.html", "metadata.json"}
    assert seen["payload"] and all(f.is_relative_to(export_dir)
                                   for f in seen["payload"].values())
    local = {p.relative_to(tmp_path / "LOCAL").as_posix(): p.read_bytes()
             for p in (tmp_path / "LOCAL").rglob("*") if p.is_file()}
    assert objects(s3, f"{bucket}/same") == local           # every path, every byte


def test_a_delta_chain_in_the_bucket_is_its_local_archive_byte_for_byte(
        fresh_emulator: Any, s3: Any, s3_endpoint: str, bucket: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import sfexit.archive.build as build_module
    from sfexit.export.delta import OVERLAP, open_base

    objects_ = ("Account", "Contact", "User")
    assert not backup(fresh_emulator, tmp_path / "base", objects=objects_).failed
    fresh_emulator.clock.advance(OVERLAP.total_seconds() * 2)
    delta = tmp_path / "delta"
    assert not backup(fresh_emulator, delta, objects=objects_,
                      since=open_base(tmp_path / "base")).failed
    monkeypatch.setattr(build_module, "utc_now", lambda: "2026-12-07T10:00:00Z")
    assert run("archive", "build", str(delta), "--out", str(tmp_path / "LOCAL")).exit_code == 0
    built = build(delta, f"s3://{bucket}/chain", s3_endpoint)
    assert built.exit_code == 0, built.output + built.stderr
    local = {p.relative_to(tmp_path / "LOCAL").as_posix(): p.read_bytes()
             for p in (tmp_path / "LOCAL").rglob("*") if p.is_file()}
    assert any(k.startswith("data/deltas/1/") for k in local)
    assert objects(s3, f"{bucket}/chain") == local


def test_a_payload_file_that_changed_since_the_build_read_it_is_never_uploaded(
        export_dir: Path, s3: Any, s3_endpoint: str, bucket: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import sfexit.archive.destination as destination

    export = tmp_path / "backup"
    shutil.copytree(export_dir, export)
    real = destination.upload_bag

    def changing(*args: Any, **kwargs: Any) -> Any:
        csv = export / "data" / "Account.csv"
        body = csv.read_bytes()
        csv.write_bytes(body[:-2] + bytes([body[-2] ^ 1]) + body[-1:])    # same size
        return real(*args, **kwargs)

    monkeypatch.setattr(destination, "upload_bag", changing)
    result = build(export, f"s3://{bucket}/changed", s3_endpoint)
    assert result.exit_code == 1
    line = one_line(result)
    assert "not uploading data/data/Account.csv: SHA-256 " in line
    assert "in the bag's manifest" in line and "without bagit.txt (no bag)" in line
    left = objects(s3, f"{bucket}/changed")
    assert "data/data/Account.csv" not in left and "bagit.txt" not in left


def test_a_large_file_goes_up_in_parts_and_only_when_its_bytes_are_the_manifests(
        s3: Any, s3_endpoint: str, bucket: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import hashlib

    from sfexit import storage as store
    from sfexit import storage_checked as checked
    from sfexit.errors import SfexitError

    monkeypatch.setattr(checked, "PART", 5 * 2**20)       # S3's smallest part
    big = tmp_path / "big.bin"
    big.write_bytes(bytes(range(256)) * (12 * 2**20 // 256))
    sha = hashlib.sha256(big.read_bytes()).hexdigest()
    remote = store.parse_remote(f"s3://{bucket}/big", s3_endpoint)
    assert remote is not None
    fs = store.open_store(remote)
    with pytest.raises(SfexitError, match="not uploading data/big.bin: SHA-256"):
        checked.put(fs, remote, big, "data/big.bin", "0" * 64)
    assert objects(s3, f"{bucket}/big") == {}
    assert not s3.call_s3("list_multipart_uploads", Bucket=bucket).get("Uploads")
    checked.put(fs, remote, big, "data/big.bin", sha)
    assert objects(s3, f"{bucket}/big") == {"data/big.bin": big.read_bytes()}
    assert checked.stored_sha256(fs, remote, "data/big.bin") is None  # parts: sent again


# --- a failed upload leaves no bag, keeps the rest, and the same command resumes -----------

def failing_put(monkeypatch: pytest.MonkeyPatch, when: Any) -> list[str | None]:
    """A storage fault: s3fs's upload of a bag's file raises for the keys ``when`` picks,
    until the list returned (the keys put) is given an item None (the fault is repaired)."""
    import s3fs

    real = s3fs.S3FileSystem._pipe_file
    put: list[str | None] = []

    async def pipe_file(self: Any, path: str, data: bytes, *args: Any, **kwargs: Any) -> Any:
        if path.endswith("/.sfexit-upload.json"):
            return await real(self, path, data, *args, **kwargs)
        if None not in put and when(path, len(put)):
            raise ConnectionResetError("connection reset by peer")
        put.append(path)
        return await real(self, path, data, *args, **kwargs)

    monkeypatch.setattr(s3fs.S3FileSystem, "_pipe_file", pipe_file)
    return put


def build(export_dir: Path, url: str, s3_endpoint: str) -> Any:
    return run("archive", "build", str(export_dir), "--out", url, "--endpoint-url", s3_endpoint)


def assert_a_valid_archive(s3: Any, s3_endpoint: str, root: str, into: Path) -> None:
    bagit.Bag(str(download(s3, root, into))).validate()       # no marker left, every SHA-256
    checked = run("archive", "verify", f"s3://{root}", "--endpoint-url", s3_endpoint)
    assert checked.exit_code == 0, checked.output + checked.stderr


def test_an_upload_cut_midway_keeps_what_it_put_and_the_same_command_resumes_it(
        export_dir: Path, s3: Any, s3_endpoint: str, bucket: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    put = failing_put(monkeypatch, lambda _key, done: done == 5)
    url = f"s3://{bucket}/cut"
    result = build(export_dir, url, s3_endpoint)
    assert result.exit_code == 1
    line = one_line(result)
    assert "uploading " in line and "ConnectionResetError" in line
    assert f"what was uploaded is kept in {url}, without bagit.txt (no bag): `sfexit " \
           "archive build` of the same export to it resumes the upload" in line
    assert len(put) == 5 and all("/cut/data/" in key for key in put)   # the payload first
    left = objects(s3, f"{bucket}/cut")
    assert "bagit.txt" not in left and ".sfexit-upload.json" in left
    assert {f"{bucket}/cut/{k}" for k in left if k.startswith("data/")} == set(put)

    first = {key.partition("/")[2] for key in put if key}
    put.append(None)                                                  # the fault is repaired
    sent = puts_on_the_server(monkeypatch)
    again = build(export_dir, url, s3_endpoint)
    assert again.exit_code == 0, again.output + again.stderr
    assert not set(sent) & first                                      # not sent twice
    assert sent[-1] == "cut/bagit.txt"
    assert_a_valid_archive(s3, s3_endpoint, f"{bucket}/cut", tmp_path / "down")


def test_a_large_file_of_a_cut_upload_is_not_sent_again_unless_it_changed_in_the_bucket(
        s3: Any, s3_endpoint: str, bucket: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """S3 keeps no SHA-256 of a file sent in parts: the upload's marker records the ETag S3
    gave it, and a rerun skips it only when a HEAD gives that size and ETag."""
    import hashlib

    from sfexit import storage, storage_checked
    from sfexit.archive import upload as uploading
    from sfexit.errors import SfexitError

    monkeypatch.setattr(storage_checked, "PART", 5 * 2**20)          # S3's smallest part
    big = bytes(range(256)) * (12 * 2**20 // 256)
    bodies = {"data/big.bin": big, "data/small.csv": b"Id\n1\n",
              **{name: f"{name}\n".encode() for name in uploading.LAST}}
    files = {}
    for relative, body in bodies.items():
        files[relative] = tmp_path / "bag" / relative
        files[relative].parent.mkdir(parents=True, exist_ok=True)
        files[relative].write_bytes(body)
    hashes = {k: hashlib.sha256(v).hexdigest() for k, v in bodies.items()}
    remote = storage.parse_remote(f"s3://{bucket}/large", s3_endpoint)
    assert remote is not None
    put = failing_put(monkeypatch, lambda path, _done: path.endswith("/manifest-sha256.txt"))
    fs, key = storage.open_store(remote), f"{bucket}/large/data/big.bin"   # after the patch

    def upload() -> None:
        uploading.upload_bag(files, hashes, fs, remote, "a" * 64)

    parts = parts_on_the_server(monkeypatch)
    with pytest.raises(SfexitError, match="manifest-sha256.txt"):
        upload()                                                     # cut before the end
    assert len(parts) == 3 and s3.cat_file(key) == big               # sent in 3 parts
    parts.clear()
    sent = puts_on_the_server(monkeypatch)
    with pytest.raises(SfexitError, match="manifest-sha256.txt"):
        upload()                                                     # cut again
    assert parts == [] and "large/data/big.bin" not in sent          # not sent again

    s3.pipe_file(key, big[:-1] + b"!")                               # same size, other bytes
    put.append(None)                                                 # the fault is repaired
    upload()
    assert len(parts) == 3 and s3.cat_file(key) == big               # sent again
    assert ".sfexit-upload.json" not in objects(s3, f"{bucket}/large")


def test_an_upload_cut_before_bagit_txt_is_no_bag_and_the_rerun_finishes_it(
        export_dir: Path, s3: Any, s3_endpoint: str, bucket: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    put = failing_put(monkeypatch, lambda key, _done: key.endswith("/bagit.txt"))
    url = f"s3://{bucket}/stuck"
    result = build(export_dir, url, s3_endpoint)
    assert result.exit_code == 1
    assert "of the same export to it resumes the upload" in one_line(result)
    left = objects(s3, f"{bucket}/stuck")
    assert "tagmanifest-sha256.txt" in left and "bagit.txt" not in left   # all but the last
    with pytest.raises(bagit.BagError):
        bagit.Bag(str(download(s3, f"{bucket}/stuck", tmp_path / "stuck")))
    refused = run("archive", "verify", url, "--endpoint-url", s3_endpoint)
    assert refused.exit_code == 2
    assert "is not an sfexit archive" in one_line(refused)

    put.append(None)
    sent = puts_on_the_server(monkeypatch)
    assert build(export_dir, url, s3_endpoint).exit_code == 0
    # The payload is there with its checksum; only this build's own tag files differ.
    assert not [key for key in sent if "/data/" in key]
    assert_a_valid_archive(s3, s3_endpoint, f"{bucket}/stuck", tmp_path / "down")


def test_an_upload_that_arrives_different_is_caught_before_bagit_txt(
        export_dir: Path, s3: Any, s3_endpoint: str, bucket: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """A store that silently keeps other bytes than sent (moto checks no checksum): the
    read-back of the bag's own files catches it before bagit.txt is put."""
    import s3fs

    real = s3fs.S3FileSystem._pipe_file

    async def corrupting(self: Any, path: str, data: bytes, *args: Any, **kwargs: Any) -> Any:
        if path.endswith("/bag-info.txt"):
            return await real(self, path, data.replace(b"sfexit", b"sfexiT"))
        return await real(self, path, data, *args, **kwargs)

    monkeypatch.setattr(s3fs.S3FileSystem, "_pipe_file", corrupting)
    url = f"s3://{bucket}/bent"
    result = build(export_dir, url, s3_endpoint)
    assert result.exit_code == 1
    line = one_line(result)
    assert "does not match the bag: bag-info.txt: SHA-256" in line
    assert "without bagit.txt (no bag)" in line
    assert "bagit.txt" not in objects(s3, f"{bucket}/bent")
    monkeypatch.setattr(s3fs.S3FileSystem, "_pipe_file", real)
    assert build(export_dir, url, s3_endpoint).exit_code == 0
    assert_a_valid_archive(s3, s3_endpoint, f"{bucket}/bent", tmp_path / "down")


def test_a_build_killed_during_the_upload_is_resumed_by_the_same_command(
        export_dir: Path, s3: Any, s3_endpoint: str, bucket: str, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """SIGKILL, so no clean-up runs: the S3 server holds the upload of archive.sqlite (after
    the payload, before the bag files) until the process is dead. The rerun sends only what
    is missing or not what the bag says (an object changed in the bucket meanwhile)."""
    import os
    import signal
    import subprocess
    import sys
    import threading

    from moto.s3.responses import S3Response

    reached, release = threading.Event(), threading.Event()
    real = S3Response.put_object

    def held(self: Any) -> Any:
        if self.parse_key_name().endswith("archive.sqlite"):
            reached.set()
            release.wait(timeout=120)
            raise ConnectionResetError("the client is gone")    # nothing stored
        return real(self)

    monkeypatch.setattr(S3Response, "put_object", held)
    url, root = f"s3://{bucket}/killed", f"{bucket}/killed"
    child = subprocess.Popen([sys.executable, "-m", "sfexit", "archive", "build",
                              str(export_dir), "--out", url, "--endpoint-url", s3_endpoint,
                              "--work-dir", str(tmp_path / "work")],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             env=dict(os.environ))
    try:
        assert reached.wait(timeout=300), "the upload never reached archive.sqlite"
        child.send_signal(signal.SIGKILL)
        assert child.wait(timeout=60) == -signal.SIGKILL
    finally:
        release.set()
        if child.poll() is None:
            child.kill()
            child.wait()
    monkeypatch.setattr(S3Response, "put_object", real)
    left = objects(s3, root)
    assert "data/manifest.json" in left and "bagit.txt" not in left
    with pytest.raises(bagit.BagError):
        bagit.Bag(str(download(s3, root, tmp_path / "killed")))
    refused = run("archive", "verify", url, "--endpoint-url", s3_endpoint)
    assert refused.exit_code == 2 and "is not an sfexit archive" in one_line(refused)

    # Someone changes an uploaded file body: same size, other bytes (and no checksum of S3).
    tampered = "data/data/Account.csv"
    body = left[tampered]
    s3.pipe_file(f"{root}/{tampered}", body[:-2] + bytes([body[-2] ^ 1]) + body[-1:])

    # Another export (its manifest.json differs) may not be uploaded into that prefix.
    other = tmp_path / "other"
    shutil.copytree(export_dir, other)
    with open(other / "manifest.json", "a", encoding="utf-8") as fh:
        fh.write("\n")
    foreign = build(other, url, s3_endpoint)
    assert foreign.exit_code == 2
    assert "holds an unfinished upload of another export" in one_line(foreign)

    sent = puts_on_the_server(monkeypatch)
    again = build(export_dir, url, s3_endpoint)
    assert again.exit_code == 0, again.output + again.stderr
    assert "resuming the upload" in again.stderr
    assert "files were already there with their SHA-256, not sent again" in again.stderr
    resent = {key.partition("/")[2] for key in sent}
    assert tampered in resent and "archive.sqlite" in resent
    payload_before = {k for k in left if k.startswith("data/")}
    assert resent & payload_before == {tampered}          # the others were not sent again
    assert_a_valid_archive(s3, s3_endpoint, root, tmp_path / "down")
    assert objects(s3, root)[tampered] == (export_dir / "data" / "Account.csv").read_bytes()


def test_a_prefix_holding_a_built_archive_is_refused(
        export_dir: Path, s3: Any, s3_endpoint: str, bucket: str) -> None:
    url = f"s3://{bucket}/done"
    assert build(export_dir, url, s3_endpoint).exit_code == 0
    before = objects(s3, f"{bucket}/done")
    again = build(export_dir, url, s3_endpoint)
    assert again.exit_code == 2 and "is not empty" in one_line(again)
    assert objects(s3, f"{bucket}/done") == before


def test_a_prefix_written_to_while_the_archive_was_built_is_not_uploaded_into(
        export_dir: Path, s3: Any, s3_endpoint: str, bucket: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    import sfexit.archive.destination as destination

    real = destination.build_archive

    def someone_writes(*args: Any, **kwargs: Any) -> Any:
        s3.pipe_file(f"{bucket}/raced/theirs.txt", b"theirs")
        return real(*args, **kwargs)

    monkeypatch.setattr(destination, "build_archive", someone_writes)
    result = run("archive", "build", str(export_dir), "--out", f"s3://{bucket}/raced",
                 "--endpoint-url", s3_endpoint)
    assert result.exit_code == 2
    assert "is no longer empty" in one_line(result)
    assert set(objects(s3, f"{bucket}/raced")) == {"theirs.txt"}     # theirs is not deleted


# --- refused before anything is built -------------------------------------------------------

def test_build_refuses_a_prefix_that_holds_anything(
        export_dir: Path, s3: Any, s3_endpoint: str, bucket: str) -> None:
    s3.pipe_file(f"{bucket}/taken/notes.txt", b"mine")
    result = run("archive", "build", str(export_dir), "--out", f"s3://{bucket}/taken",
                 "--endpoint-url", s3_endpoint)
    assert result.exit_code == 2
    assert "is not empty (1 objects)" in one_line(result)
    assert set(objects(s3, f"{bucket}/taken")) == {"notes.txt"}


def test_build_to_a_bucket_that_does_not_exist_is_one_line_exit_2(
        export_dir: Path, s3_endpoint: str) -> None:
    result = run("archive", "build", str(export_dir), "--out", "s3://no-such-bucket/x",
                 "--endpoint-url", s3_endpoint)
    assert result.exit_code == 2
    assert "no such bucket" in one_line(result)


def test_no_credentials_is_one_line_exit_3(export_dir: Path, s3_endpoint: str, bucket: str,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")    # no instance role to wait for
    result = run("archive", "build", str(export_dir), "--out", f"s3://{bucket}/x",
                 "--endpoint-url", s3_endpoint)
    assert result.exit_code == 3
    assert "no usable credentials" in one_line(result)


def test_credentials_the_store_refuses_are_one_line_exit_3(
        export_dir: Path, s3_endpoint: str, bucket: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    from moto import settings

    monkeypatch.setattr(settings, "INITIAL_NO_AUTH_ACTION_COUNT", 0)   # the server checks keys
    result = run("archive", "build", str(export_dir), "--out", f"s3://{bucket}/x",
                 "--endpoint-url", s3_endpoint)
    assert result.exit_code == 3
    assert "access denied" in one_line(result)


@pytest.mark.parametrize("out, says", [
    ("s3://", "no bucket"),
    ("s3://bucket//x", "no bucket, or an empty"),
    ("s3://bucket/../x", "'..' segment"),
    ("ftp://host/x", "unknown storage scheme 'ftp'"),
])
def test_a_malformed_url_is_one_line_exit_2(export_dir: Path, out: str, says: str) -> None:
    result = run("archive", "build", str(export_dir), "--out", out)
    assert result.exit_code == 2
    assert says in one_line(result)


def test_an_unwritable_local_archive_is_one_line_exit_2(export_dir: Path) -> None:
    result = run("archive", "build", str(export_dir), "--out", "/proc/sfexit-archive")
    assert result.exit_code == 2
    assert "cannot write to /proc/sfexit-archive" in one_line(result)


def test_endpoint_url_with_a_directory_is_a_usage_error(export_dir: Path, tmp_path: Path) -> None:
    result = run("archive", "build", str(export_dir), "--out", str(tmp_path / "A"),
                 "--endpoint-url", "http://127.0.0.1:1")
    assert result.exit_code == 2
    assert "--endpoint-url is for s3://" in one_line(result)


def test_a_provider_whose_package_is_missing_names_the_extra(
        export_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sys

    monkeypatch.setitem(sys.modules, "gcsfs", None)    # as if `sfexit[gcs]` were not installed
    result = run("archive", "build", str(export_dir), "--out", "gs://bucket/x")
    assert result.exit_code == 2
    assert one_line(result).endswith("gs://bucket/x needs gcsfs, which is not installed "
                                     "(pip install 'sfexit[gcs]')")


# --- export bulk --archive ------------------------------------------------------------------

def _export(org: Any, tmp_path: Path, *extra: str) -> Any:
    config = write_config(tmp_path / "cfg", org, **password_profile(org))
    return invoke(["--config", str(config), "export", "bulk", "--dest", str(tmp_path / "out"),
                   "--objects", "Account,CaseStatus", "--no-files", *extra],
                  env=password_env(org), app=on_org_clock(org))


def test_export_bulk_archive_builds_the_archive_in_the_bucket(
        fresh_emulator: Any, tmp_path: Path, s3: Any, s3_endpoint: str, bucket: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    url = f"s3://{bucket}/exit"
    done = _export(fresh_emulator, tmp_path, "--archive", url)
    assert done.code == 0, done.result.output
    assert done.body["result"]["archive"]["archive"] == url
    assert set(done.body["result"]["archive"]["tables"]) == {"Account", "CaseStatus"}
    assert run("archive", "verify", url).exit_code == 0


def test_export_bulk_whose_archive_upload_fails_says_the_export_is_complete(
        fresh_emulator: Any, tmp_path: Path, s3: Any, s3_endpoint: str, bucket: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    put = failing_put(monkeypatch, lambda _key, done: done == 2)
    done = _export(fresh_emulator, tmp_path, "--archive", f"s3://{bucket}/exit")
    assert done.code == 1
    assert done.body["message"].startswith(
        f"the export in {tmp_path / 'out'} is complete, but no archive was built: "
        f"s3://{bucket}/exit: uploading ")          # which file: 8 go up at a time
    assert "of the same export to it resumes the upload" in done.body["message"]
    assert "bagit.txt" not in objects(s3, f"{bucket}/exit")
    assert run("export", "verify", str(tmp_path / "out")).exit_code == 0
    put.append(None)                                          # the fault is repaired
    resumed = run("archive", "build", str(tmp_path / "out"), "--out", f"s3://{bucket}/exit")
    assert resumed.exit_code == 0, resumed.output + resumed.stderr
    assert run("archive", "verify", f"s3://{bucket}/exit").exit_code == 0


def test_export_bulk_archive_to_a_local_directory(fresh_emulator: Any, tmp_path: Path) -> None:
    done = _export(fresh_emulator, tmp_path, "--archive", str(tmp_path / "ARCHIVE"))
    assert done.code == 0, done.result.output
    assert done.body["result"]["archive"]["archive"] == str(tmp_path / "ARCHIVE")
    bagit.Bag(str(tmp_path / "ARCHIVE")).validate()


def test_export_bulk_refuses_a_bad_archive_before_asking_the_org(
        fresh_emulator: Any, tmp_path: Path, s3_endpoint: str,
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", s3_endpoint)
    refused = _export(fresh_emulator, tmp_path, "--archive", "s3://no-such-bucket/exit")
    assert refused.code == 2 and "no such bucket" in refused.body["message"]
    inside = _export(fresh_emulator, tmp_path, "--archive", str(tmp_path / "out" / "A"))
    assert inside.code == 2 and "is inside the export" in inside.body["message"]
    unwritable = _export(fresh_emulator, tmp_path, "--archive", "/proc/sfexit-archive")
    assert unwritable.code == 2 and "cannot write to" in unwritable.body["message"]
    assert not (tmp_path / "out").exists()                 # the export never started


def test_an_incomplete_export_builds_no_archive_and_says_so(
        fresh_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sfexit.export.rest_read as rest_read
    from sfexit.errors import SalesforceError

    real = rest_read.write_records

    def failing(run: Any, plan: Any, *args: Any) -> Any:
        if plan.name == "CaseStatus":
            raise SalesforceError("GET /query failed", error_code="UNKNOWN_EXCEPTION",
                                  status=500)
        return real(run, plan, *args)

    monkeypatch.setattr(rest_read, "write_records", failing)
    done = _export(fresh_emulator, tmp_path, "--archive", str(tmp_path / "ARCHIVE"))
    assert done.code == 5
    assert done.body["result"]["archive"] is None
    assert any("no archive built: the export is incomplete" in w
               for w in done.body["warnings"])
    assert not (tmp_path / "ARCHIVE").exists()
