"""An interrupted export resumes to an identical result; faults leave no trace in the result."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from typing import Any

import pytest

from auth_support import password_env, password_profile
from export_support import backup, clock_sleep
from sfexit.config import load_settings
from sfexit.emulator import Emulator
from sfexit.export.bulk import ObjectProgress
from sfexit.export.manifest import ManifestStore
from sfexit.export.verify import verify_backup
from sfexit.org import connect

OBJECTS = ("Account", "CaseStatus", "Contact", "ContentDocumentLink", "Task")


def _contents(dest: Path) -> dict[str, bytes]:
    """Every data file's bytes and the manifest's object entries (times excluded)."""
    files = {str(p.relative_to(dest)): p.read_bytes() for p in sorted((dest / "data").iterdir())}
    manifest = ManifestStore.load(dest).manifest
    for name, entry in manifest.objects.items():
        files[f"entry:{name}"] = repr((entry.method, entry.query, entry.rows, entry.bytes,
                                       entry.sha256, entry.file)).encode()
    return files


class Interrupt(Exception):
    pass


def test_interrupted_mid_object_resumes_to_an_identical_result(fresh_emulator: Emulator,
                                                               tmp_path: Path) -> None:
    org = fresh_emulator
    clean = backup(org, tmp_path / "clean", objects=OBJECTS, max_records=40, parallel=1)
    seen: list[ObjectProgress] = []

    def stop_inside_contact(p: ObjectProgress) -> None:
        seen.append(p)
        if p.object == "Contact" and not p.done and p.rows >= 80:
            raise Interrupt()

    dest = tmp_path / "resumed"
    with pytest.raises(Interrupt):
        backup(org, dest, objects=OBJECTS, max_records=40, parallel=1,
               on_progress=stop_inside_contact)
    assert any(p.object == "Contact" and 0 < p.rows < 293 for p in seen)
    listed = ManifestStore.load(dest).manifest.objects
    assert "Contact" not in listed and "Account" in listed
    assert not (dest / "data" / "Contact.csv").exists()
    assert not list(dest.rglob("*.part"))

    again = backup(org, dest, objects=OBJECTS, max_records=40, parallel=1)
    status = {o.name: o.status for o in again.objects}
    assert status["Account"] == status["CaseStatus"] == "resumed"
    assert status["Contact"] == status["Task"] == "exported"
    assert _contents(dest) == _contents(tmp_path / "clean")
    assert verify_backup(dest).ok
    assert clean.rows == again.rows


def test_a_changed_csv_is_exported_again_not_trusted(fresh_emulator: Emulator,
                                                     tmp_path: Path) -> None:
    org = fresh_emulator
    backup(org, tmp_path, objects=("Account",))
    path = tmp_path / "data" / "Account.csv"
    good = path.read_bytes()
    path.write_bytes(good[:-10])
    again = backup(org, tmp_path, objects=("Account",))
    assert again.objects[0].status == "exported"
    assert path.read_bytes() == good


def test_a_leftover_part_file_is_never_trusted(fresh_emulator: Emulator, tmp_path: Path) -> None:
    org = fresh_emulator
    (tmp_path / "data").mkdir(parents=True)
    (tmp_path / "data" / "Account.csv.part").write_bytes(b'"Id"\n"garbage"\n')
    summary = backup(org, tmp_path, objects=("Account",))
    assert summary.objects[0].status == "exported"
    assert not (tmp_path / "data" / "Account.csv.part").exists()
    assert verify_backup(tmp_path).ok


def _password_session(org: Emulator, events: list[str]) -> Any:
    settings = load_settings(environ=password_env(org), overrides={
        "login_url": org.url, "ca_bundle": str(org.ca_file), **password_profile(org)})
    return connect(settings, read_only=True, sleep=clock_sleep(org), on_event=events.append)


def test_503s_and_resets_leave_the_result_byte_identical(fresh_emulator: Emulator,
                                                         tmp_path: Path) -> None:
    org = fresh_emulator
    backup(org, tmp_path / "clean", objects=OBJECTS, max_records=40)
    events: list[str] = []
    session = _password_session(org, events)
    org.faults.update({"error_503_rate": 0.15, "reset_rate": 0.15, "fault_seed": 3})
    backup(org, tmp_path / "faulty", objects=OBJECTS, max_records=40, session=session,
           parallel=2)
    org.faults.update({"error_503_rate": 0.0, "reset_rate": 0.0})
    faults = org.stats()["faults_injected"]
    assert faults.get("reset") and faults.get("error_503"), faults
    assert any(e.startswith("retrying") for e in events)
    assert _contents(tmp_path / "faulty") == _contents(tmp_path / "clean")


def test_session_expiry_mid_export_leaves_the_result_byte_identical(fresh_emulator: Emulator,
                                                                    tmp_path: Path) -> None:
    # Kept apart from the 503s: a 503 on the token endpoint during re-auth currently breaks
    # sfexit/org/auth.py (_token_request expects a dict; reported to the lead).
    org = fresh_emulator
    backup(org, tmp_path / "clean", objects=OBJECTS, max_records=40)
    events: list[str] = []
    session = _password_session(org, events)
    org.faults.expire_session_after_calls = 15
    backup(org, tmp_path / "expiring", objects=OBJECTS, max_records=40, session=session,
           parallel=2)
    org.faults.expire_session_after_calls = None
    assert sum("signing in again" in e for e in events) >= 2
    assert _contents(tmp_path / "expiring") == _contents(tmp_path / "clean")


def test_ctrl_c_in_parallel_leaves_no_part_and_a_valid_unfinished_manifest(
        fresh_emulator: Emulator, tmp_path: Path) -> None:
    org = fresh_emulator
    calls = {"n": 0}

    def ctrl_c(p: ObjectProgress) -> None:
        calls["n"] += 1
        if calls["n"] == 12:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        backup(org, tmp_path, objects=OBJECTS, max_records=20, parallel=3, on_progress=ctrl_c)
    assert not list(tmp_path.rglob("*.part"))
    manifest = ManifestStore.load(tmp_path).manifest
    assert manifest.finished_at is None
    for entry in manifest.objects.values():
        assert (tmp_path / entry.file).is_file()
    assert len(manifest.objects) < len(OBJECTS)
    assert verify_backup(tmp_path).ok
