"""``sfexit archive build --link`` and the copy every other build makes (issue 22, "Scale").

With ``--link`` the bag's payload files are hard links to the export's (one inode, no byte
written), made read-only; the one SHA-256 pass over them stays. Without it each file is copied
with ``copy_file_range(2)`` (a reflink on XFS and btrfs), ``shutil.copyfile`` where that is
refused. Every archive is checked with the stock ``bagit`` library and ``archive verify``.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
from pathlib import Path
from typing import Any

import bagit
import pytest
from auth_support import invoke, on_org_clock, password_env, password_profile, write_config
from click.testing import CliRunner
from export_support import clock_sleep, session_for

from sfexit.archive import build_archive
from sfexit.archive.payload import exported_paths
from sfexit.archive.source import open_export
from sfexit.cli import cli
from sfexit.errors import UsageError
from sfexit.export.backup import run_backup
from sfexit.export.data_run import ExportOptions
from sfexit.export.manifest import ManifestStore

WRITE_BITS = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH


@pytest.fixture(scope="module")
def export_dir(emulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    dest = tmp_path_factory.mktemp("link-export") / "backup"
    summary = run_backup(session_for(emulator), ExportOptions(dest=dest), files=True,
                         sleep=clock_sleep(emulator))
    assert not summary.failed and not summary.files_failed
    return dest


@pytest.fixture
def backup(export_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the export: linking changes its files' mode, tests edit it."""
    target = tmp_path / "backup"
    shutil.copytree(export_dir, target)
    return target


def run(*args: str) -> Any:
    return CliRunner().invoke(cli, list(args))


def payload(backup: Path) -> list[str]:
    return list(exported_paths(open_export(backup)))


def verified(archive: Path) -> Any:
    bagit.Bag(str(archive)).validate()           # the stock library: every SHA-256
    return run("archive", "verify", str(archive))


def test_a_linked_archive_is_a_valid_bag_that_verify_passes(backup: Path,
                                                            tmp_path: Path) -> None:
    out = tmp_path / "ARCHIVE"
    result = run("archive", "build", str(backup), "--out", str(out), "--link")
    assert result.exit_code == 0, result.output
    assert f"{len(payload(backup))} files hard-linked from the backup" in result.stdout
    assert "copied instead" not in result.stdout
    checked = verified(out)
    assert checked.exit_code == 0, checked.output
    assert "Everything matches." in checked.stdout


def test_linked_files_share_the_exports_inodes_and_are_read_only(backup: Path,
                                                                 tmp_path: Path) -> None:
    out = tmp_path / "ARCHIVE"
    summary = build_archive(backup, out, link=True)
    paths = payload(backup)
    assert summary.linked == len(paths) and summary.link_fallbacks == 0
    for relative in paths:
        ours, theirs = (out / "data" / relative).stat(), (backup / relative).stat()
        assert (ours.st_dev, ours.st_ino) == (theirs.st_dev, theirs.st_ino), relative
        assert ours.st_nlink == 2
        assert ours.st_mode & WRITE_BITS == 0, relative
    for tag in ("archive.sqlite", "index.html", "bag-info.txt"):
        assert (out / tag).stat().st_nlink == 1


def test_link_removes_write_bits_and_never_widens_who_may_read(backup: Path,
                                                              tmp_path: Path) -> None:
    (backup / "data" / "Account.csv").chmod(0o640)    # an export made under umask 027
    (backup / "data" / "Contact.csv").chmod(0o644)    # umask 022
    (backup / "manifest.json").chmod(0o600)           # atomic_write's mkstemp: owner only
    build_archive(backup, tmp_path / "ARCHIVE", link=True)
    modes = {name: stat.S_IMODE((backup / name).stat().st_mode)
             for name in ("data/Account.csv", "data/Contact.csv", "manifest.json")}
    assert modes == {"data/Account.csv": 0o440, "data/Contact.csv": 0o444,
                     "manifest.json": 0o400}


def test_an_in_place_edit_of_the_export_is_caught_by_verify(backup: Path,
                                                          tmp_path: Path) -> None:
    out = tmp_path / "ARCHIVE"
    build_archive(backup, out, link=True)
    body = next(f for f in ManifestStore.load(backup).snapshot().files.values()
                if f.object == "Attachment")
    edited = backup / body.path
    edited.chmod(0o644)     # what another tool would have to do first (or run as root)
    with open(edited, "r+b") as fh:     # in place: the inode the archive shares
        fh.seek(-1, os.SEEK_END)
        last = fh.read(1)
        fh.seek(-1, os.SEEK_END)
        fh.write(bytes([last[0] ^ 0x01]))
    result = run("archive", "verify", str(out))
    assert result.exit_code == 1
    assert f"data/{body.path}" in result.stderr.splitlines()[-1]


def test_deleting_or_resuming_the_export_leaves_the_archive_valid(
        backup: Path, tmp_path: Path, emulator: Any) -> None:
    out = tmp_path / "ARCHIVE"
    build_archive(backup, out, link=True)
    before = (out / "data" / "manifest.json").stat().st_ino
    # A rerun of the finished export (a resume): what it rewrites is renamed over the name.
    run_backup(session_for(emulator), ExportOptions(dest=backup), files=True,
               sleep=clock_sleep(emulator))
    assert (backup / "manifest.json").stat().st_ino != before      # it did write
    assert (out / "data" / "manifest.json").stat().st_ino == before
    assert verified(out).exit_code == 0
    shutil.rmtree(backup)
    checked = verified(out)
    assert checked.exit_code == 0, checked.output


def test_link_across_file_systems_falls_back_to_a_copy_said_once(
        backup: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def other_device(_source: Any, _target: Any) -> None:
        raise OSError(errno.EXDEV, "Invalid cross-device link")

    monkeypatch.setattr(os, "link", other_device)
    out = tmp_path / "ARCHIVE"
    result = run("archive", "build", str(backup), "--out", str(out), "--link")
    assert result.exit_code == 0, result.output
    count = len(payload(backup))
    assert result.stdout.count("copied instead") == 1
    assert f"0 files hard-linked from the backup (now read-only there too); {count} files " \
           "copied instead" in result.stdout
    for relative in payload(backup):
        assert (out / "data" / relative).stat().st_ino != (backup / relative).stat().st_ino
        assert (backup / relative).stat().st_mode & stat.S_IWUSR     # the export untouched
    monkeypatch.undo()
    assert verified(out).exit_code == 0


def test_link_with_a_cloud_out_is_refused_before_anything_is_written(
        export_dir: Path, tmp_path: Path) -> None:
    modes = {p: p.stat().st_mode for p in export_dir.rglob("*")}
    result = run("archive", "build", str(export_dir), "--out", "s3://some-bucket/x", "--link")
    assert result.exit_code == 2, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("Error")]
    assert lines == ["Error: --link needs a local --out directory, not s3://some-bucket/x: "
                     "files are uploaded to a bucket, never linked (drop --link, or give a "
                     "directory as --out)"], result.stderr
    assert "Traceback" not in result.output
    assert {p: p.stat().st_mode for p in export_dir.rglob("*")} == modes
    assert list(tmp_path.iterdir()) == []



def test_the_library_refuses_link_for_a_payload_it_does_not_stage(export_dir: Path,
                                                                  tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="^--link needs a local --out directory, not a cloud "
                                         "archive"):
        build_archive(export_dir, tmp_path / "ARCHIVE", stage_payload=False, link=True)
    assert list(tmp_path.iterdir()) == []

# --- the copy without --link ------------------------------------------------------------------

def test_a_build_copies_with_copy_file_range_into_separate_files(
        backup: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    real = os.copy_file_range

    def counting(*args: Any, **kwargs: Any) -> int:
        calls.append(args[2])
        return real(*args, **kwargs)

    monkeypatch.setattr(os, "copy_file_range", counting)
    monkeypatch.setattr(shutil, "copyfile", None)       # the fallback must not be needed
    out = tmp_path / "ARCHIVE"
    summary = build_archive(backup, out)
    monkeypatch.undo()
    assert summary.linked == summary.link_fallbacks == 0
    assert len(calls) >= len(payload(backup))
    for relative in payload(backup):
        assert (out / "data" / relative).stat().st_ino != (backup / relative).stat().st_ino
    assert verified(out).exit_code == 0


@pytest.mark.parametrize("refusal", [errno.EXDEV, errno.ENOSYS, errno.EINVAL, "absent",
                                     "short"])
def test_where_copy_file_range_is_refused_shutil_copies_the_file_whole(
        backup: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
        refusal: int | str) -> None:
    """Refused (another file system, an old kernel, a file system without it), absent (not
    Linux), or copying short (0 bytes before the end: not trusted): each file whole again."""
    copied = []
    real_copyfile = shutil.copyfile

    def refused(*_args: Any) -> int:
        if refusal == "short":
            return 0
        assert isinstance(refusal, int)
        raise OSError(refusal, os.strerror(refusal))

    def copyfile(source: Any, target: Any) -> Any:
        copied.append(Path(target).as_posix().split("/bag/data/", 1)[-1])   # build.py's bag
        return real_copyfile(source, target)

    if refusal == "absent":
        monkeypatch.delattr(os, "copy_file_range")
    else:
        monkeypatch.setattr(os, "copy_file_range", refused)
    monkeypatch.setattr(shutil, "copyfile", copyfile)
    out = tmp_path / "ARCHIVE"
    build_archive(backup, out)
    monkeypatch.undo()
    paths = payload(backup)
    if refusal == "short":      # an empty file is complete at 0 bytes: nothing to redo
        paths = [p for p in paths if (backup / p).stat().st_size]
    assert sorted(copied) == sorted(paths)
    assert verified(out).exit_code == 0


def test_a_copy_error_that_is_no_refusal_fails_the_build_leaving_nothing(
        backup: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def disk_full(*_args: Any) -> int:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "copy_file_range", disk_full)
    result = run("archive", "build", str(backup), "--out", str(tmp_path / "out"))
    assert result.exit_code == 1, result.output
    assert "No space left on device" in result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["backup"]


# --- export bulk --archive --link -----------------------------------------------------------

def _export(org: Any, tmp_path: Path, *extra: str) -> Any:
    config = write_config(tmp_path / "cfg", org, **password_profile(org))
    return invoke(["--config", str(config), "export", "bulk", "--dest", str(tmp_path / "out"),
                   "--objects", "Account,CaseStatus", "--no-files", *extra],
                  env=password_env(org), app=on_org_clock(org))


def test_export_bulk_archive_link_links_the_exported_files(fresh_emulator: Any,
                                                           tmp_path: Path) -> None:
    done = _export(fresh_emulator, tmp_path, "--archive", str(tmp_path / "ARCHIVE"), "--link")
    assert done.code == 0, done.result.output
    paths = payload(tmp_path / "out")
    assert done.body["result"]["archive"]["linked"] == len(paths)
    assert done.body["result"]["archive"]["link_fallbacks"] == 0
    for relative in paths:
        assert (tmp_path / "ARCHIVE" / "data" / relative).stat().st_ino == \
            (tmp_path / "out" / relative).stat().st_ino
    assert verified(tmp_path / "ARCHIVE").exit_code == 0


def test_export_bulk_refuses_link_without_a_local_archive_before_asking_the_org(
        fresh_emulator: Any, tmp_path: Path) -> None:
    alone = _export(fresh_emulator, tmp_path, "--link")
    assert alone.code == 2
    assert alone.body["message"] == "--link is for --archive: give both, or neither"
    cloud = _export(fresh_emulator, tmp_path, "--archive", "s3://some-bucket/exit", "--link")
    assert cloud.code == 2
    assert cloud.body["message"].startswith("--link needs a local --archive directory, not "
                                            "s3://some-bucket/exit")
    assert not (tmp_path / "out").exists()                 # the export never started
