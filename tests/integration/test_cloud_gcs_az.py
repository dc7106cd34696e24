"""gs:// and az:// destinations end to end on loopback (docs/cloud-export.md, "gs:// and
az://"): the emulated org, a GCS server (gcp-storage-emulator, gcs_support.py) and an Azure
Blob server (Azurite, az_support.py), the CLI. Each test runs once per provider. What the
store holds is read back with a client of our own and compared with a local build or export
of the same data, or checked with the stock ``bagit`` library, never with sfexit's own upload
bookkeeping.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bagit
import pytest
from auth_support import (invoke, on_org_clock, password_env, password_profile, requests_total,
                          write_config)
from click.testing import CliRunner
from export_support import clock_sleep, session_for
from s3_support import objects

from sfexit.cli import cli
from sfexit.export.backup import run_backup
from sfexit.export.data_run import ExportOptions

# Not User: each login moves the running user's LastLoginDate, so two runs differ there.
OBJECTS = "Account,CaseStatus,Contact,Opportunity"


@dataclass(frozen=True)
class Store:
    """One provider's server, a fresh bucket or container in it, and what sfexit is given
    besides the environment to reach it (gs: ``--endpoint-url``; az: nothing, the connection
    string is in the environment: az_support.azure_env)."""

    scheme: str
    fs: Any
    bucket: str
    flags: tuple[str, ...]

    def url(self, prefix: str) -> str:
        return f"{self.scheme}://{self.bucket}/{prefix}"

    def held(self, prefix: str) -> dict[str, bytes]:
        return objects(self.fs, f"{self.bucket}/{prefix}")

    def key(self, prefix: str, relative: str) -> str:
        return f"{self.bucket}/{prefix}/{relative}"


@pytest.fixture(params=["gs", "az"])
def store(request: pytest.FixtureRequest) -> Store:
    """Only the asked provider's server starts (module-scoped, shared by its tests)."""
    if request.param == "gs":
        return Store("gs", request.getfixturevalue("gcs"),
                     request.getfixturevalue("gcs_bucket"),
                     ("--endpoint-url", request.getfixturevalue("gcs_endpoint")))
    return Store("az", request.getfixturevalue("az"), request.getfixturevalue("container"), ())


@pytest.fixture(scope="module")
def export_dir(emulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small export with file bodies, made once: the archive's input."""
    dest = tmp_path_factory.mktemp("gcs-az-export") / "backup"
    summary = run_backup(session_for(emulator),
                         ExportOptions(dest=dest, objects=("Account", "Contact", "Opportunity")),
                         files=True, sleep=clock_sleep(emulator))
    assert not summary.failed and not summary.files_failed
    return dest


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def tampered(body: bytes) -> bytes:
    """The same size, one bit of the last byte but one flipped."""
    return body[:-2] + bytes([body[-2] ^ 1]) + body[-1:]


def files_under(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes()
            for p in root.rglob("*") if p.is_file()}


# --- archive build --out gs:// | az://, archive verify -------------------------------------

def test_an_archive_built_to_the_store_is_the_local_archive_byte_for_byte_and_verifies(
        export_dir: Path, store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sfexit.archive.build as build_module

    monkeypatch.setattr(build_module, "utc_now", lambda: "2026-12-07T10:00:00Z")
    assert run("archive", "build", str(export_dir), "--out",
               str(tmp_path / "LOCAL")).exit_code == 0
    url, work = store.url("exits/acme"), tmp_path / "work"
    built = run("--json", "archive", "build", str(export_dir), "--out", url, *store.flags,
                "--work-dir", str(work))
    assert built.exit_code == 0, built.output + built.stderr
    assert f'"archive": "{url}"' in built.stdout
    assert list(work.iterdir()) == []                      # nothing staged is left behind
    held = store.held("exits/acme")
    assert held == files_under(tmp_path / "LOCAL")         # every path, every byte
    down = tmp_path / "down"
    for relative, body in held.items():
        (down / relative).parent.mkdir(parents=True, exist_ok=True)
        (down / relative).write_bytes(body)
    bagit.Bag(str(down)).validate()                        # the stock library, every SHA-256

    checked = run("archive", "verify", url, *store.flags, "--work-dir", str(work))
    assert checked.exit_code == 0, checked.output + checked.stderr
    assert "Everything matches." in checked.stdout

    key = store.key("exits/acme", "data/data/Account.csv")
    store.fs.pipe_file(key, tampered(store.fs.cat_file(key)))
    caught = run("archive", "verify", url, *store.flags)
    assert caught.exit_code == 1
    assert "verification failed" in caught.stderr
    assert "data/data/Account.csv" in caught.stdout + caught.stderr


def cutting(monkeypatch: pytest.MonkeyPatch, store: Store, suffix: str) -> None:
    """Every single-request upload of a path ending with ``suffix`` fails with a connection
    reset, through the provider's own class (the one sfexit's storage opens too). adlfs binds
    pipe_file to its _pipe_file at class creation; gcsfs makes it per instance from _pipe_file
    unless the class has one: both are replaced."""
    from fsspec.asyn import sync_wrapper

    provider = type(store.fs)
    real_pipe = provider._pipe_file

    async def cut(self: Any, path: str, data: bytes, *args: Any, **kwargs: Any) -> Any:
        if path.endswith(suffix):
            raise ConnectionResetError("connection reset by peer")
        return await real_pipe(self, path, data, *args, **kwargs)

    monkeypatch.setattr(provider, "_pipe_file", cut)
    monkeypatch.setattr(provider, "pipe_file", sync_wrapper(cut))


def test_an_archive_upload_cut_midway_leaves_no_bag_and_the_same_command_finishes_it(
        export_dir: Path, store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    url = store.url("cut")
    with monkeypatch.context() as fault:
        cutting(fault, store, "data/data/Contact.csv")
        first = run("archive", "build", str(export_dir), "--out", url, *store.flags)
    assert first.exit_code == 1, first.output + first.stderr
    assert "ConnectionResetError" in first.stderr
    assert "bagit.txt" not in store.held("cut")             # no bag until it is whole
    again = run("archive", "build", str(export_dir), "--out", url, *store.flags)
    assert again.exit_code == 0, again.output + again.stderr
    assert "bagit.txt" in store.held("cut")
    checked = run("archive", "verify", url, *store.flags)
    assert checked.exit_code == 0, checked.output + checked.stderr


# --- export bulk --dest gs:// | az://, export verify ---------------------------------------

def export(org: Any, tmp_path: Path, dest: str, *extra: str) -> Any:
    config = write_config(tmp_path / "cfg", org, **password_profile(org))
    return invoke(["--config", str(config), "export", "bulk", "--dest", dest,
                   "--objects", OBJECTS, "--no-files", *extra],
                  env=password_env(org), app=on_org_clock(org))


def without_job_ids(entries: dict[str, Any]) -> dict[str, Any]:
    """Manifest entries as the bytes prove them: each run makes its own Bulk jobs."""
    return {name: {k: v for k, v in e.items() if k != "job_ids"} for name, e in entries.items()}


def test_an_export_to_the_store_is_the_local_export_byte_for_byte_and_verifies(
        fresh_emulator: Any, store: Store, tmp_path: Path) -> None:
    local = export(fresh_emulator, tmp_path, str(tmp_path / "LOCAL"))
    assert local.code == 0, local.output
    url = store.url("exits/acme")
    cloud = export(fresh_emulator, tmp_path, url, *store.flags)
    assert cloud.code == 0, cloud.output
    assert cloud.body["result"]["dest"] == url
    held, mine = store.held("exits/acme"), files_under(tmp_path / "LOCAL")
    assert set(held) == set(mine)                            # the same files, no more
    assert all(held[k] == mine[k] for k in mine if k != "manifest.json")
    theirs, ours = json.loads(held["manifest.json"]), json.loads(mine["manifest.json"])
    assert theirs["finished_at"]
    assert without_job_ids(theirs["objects"]) == without_job_ids(ours["objects"])

    checked = invoke(["export", "verify", url, *store.flags])
    assert checked.code == 0, checked.output
    assert checked.body["result"]["objects_checked"] == len(OBJECTS.split(","))

    key = store.key("exits/acme", "data/Account.csv")
    store.fs.pipe_file(key, tampered(store.fs.cat_file(key)))
    failed = invoke(["export", "verify", url, *store.flags])
    assert failed.code == 1, failed.output
    assert ("Account", "sha256") in {(d["name"], d["what"])
                                     for d in failed.body["result"]["differences"]}


def test_an_export_cut_midway_resumes_proving_what_the_store_holds_by_reading_it_back(
        fresh_emulator: Any, store: Store, tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither store keeps a SHA-256 sfexit can read (storage_checked.stored_sha256 is S3's): the
    rerun keeps an object only when its bytes, read back, have the manifest's SHA-256."""
    import sfexit.export.cloud as cloud_module

    url = store.url("cut")
    with monkeypatch.context() as fault:
        cutting(fault, store, "data/CaseStatus.csv")
        first = export(fresh_emulator, tmp_path, url, *store.flags, "--parallel", "1")
    assert first.code == 1, first.output
    assert "uploading data/CaseStatus.csv" in first.body["message"]
    assert "ConnectionResetError" in first.body["message"]
    manifest = json.loads(store.held("cut")["manifest.json"])
    done_before = set(manifest["objects"])
    assert done_before and "CaseStatus" not in done_before and not manifest["finished_at"]

    # One CSV the manifest lists is damaged in the store meanwhile: same size, other bytes.
    damaged = sorted(done_before)[0]
    key = store.key("cut", f"data/{damaged}.csv")
    store.fs.pipe_file(key, tampered(store.fs.cat_file(key)))

    real_put, sent = cloud_module.put, []                    # the fault is repaired

    def counted(fs: Any, remote: Any, local: Path, relative: str, sha256: str) -> None:
        sent.append(relative)
        real_put(fs, remote, local, relative, sha256)

    monkeypatch.setattr(cloud_module, "put", counted)
    again = export(fresh_emulator, tmp_path, url, *store.flags, "--resume")
    assert again.code == 0, again.output
    expected = set(OBJECTS.split(",")) - done_before | {damaged}
    assert {k.removeprefix("data/").removesuffix(".csv")
            for k in sent if k.startswith("data/")} == expected
    assert invoke(["export", "verify", url, *store.flags]).code == 0


# --- storage_checked.put in parts: nothing stored unless the bytes read have the manifest's hash

def test_a_file_sent_in_parts_is_stored_whole_and_nothing_when_it_changed_on_the_way(
        store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """adlfs completes a blob when the file closes, whatever autocommit says: the hash is
    compared before that (storage_checked._put_parts)."""
    from sfexit import storage, storage_checked

    monkeypatch.setattr(storage_checked, "PART", 2**20)            # GCS: a multiple of 256 KiB
    big = tmp_path / "Big.csv"
    big.write_bytes(bytes(range(256)) * (3 * 2**20 // 256 + 7))
    sha, size = hashlib.sha256(big.read_bytes()).hexdigest(), big.stat().st_size
    endpoint = store.flags[1] if store.flags else None
    remote = storage.parse_remote(store.url("big"), endpoint)
    assert remote is not None
    fs = storage.open_store(remote)

    storage_checked.put(fs, remote, big, "data/Big.csv", sha)
    found = storage.listing(fs, remote)
    assert found == {"data/Big.csv": size}
    assert storage_checked.holds(fs, remote, found, "data/Big.csv", size, sha,
                                 read_back=True)
    assert not storage_checked.holds(fs, remote, found, "data/Big.csv", size, "0" * 64,
                                     read_back=True)

    with pytest.raises(storage.SfexitError, match="not uploading data/Other.csv"):
        storage_checked.put(fs, remote, big, "data/Other.csv", "0" * 64)
    assert storage.listing(fs, remote) == {"data/Big.csv": size}   # no object, not even cut


# --- what is refused before the org is asked -----------------------------------------------

def test_a_missing_bucket_or_container_is_one_line_exit_2_before_the_org_is_asked(
        fresh_emulator: Any, store: Store, tmp_path: Path) -> None:
    before = requests_total(fresh_emulator)
    run_ = export(fresh_emulator, tmp_path, f"{store.scheme}://no-such-place/x", *store.flags)
    assert run_.code == 2, run_.output
    assert "no such bucket or container" in run_.body["message"]
    assert requests_total(fresh_emulator) == before


def test_endpoint_url_with_an_az_url_points_to_the_connection_string(
        fresh_emulator: Any, tmp_path: Path) -> None:
    refused = export(fresh_emulator, tmp_path, "az://c/x", "--endpoint-url",
                     "http://127.0.0.1:10000")
    assert refused.code == 2
    assert "--endpoint-url is for s3:// and gs://" in refused.body["message"]
    assert "the BlobEndpoint of AZURE_STORAGE_CONNECTION_STRING" in refused.body["message"]
