"""An interrupted export resumes to an identical result; faults leave no trace in the result."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import sfexit.export.backup as backup_module
import sfexit.export.preflight as preflight_module
from auth_support import password_env, password_profile
from export_support import backup, clock_sleep
from sfexit.config import load_settings
from sfexit_emulator import Emulator
from sfexit.export.data_run import ObjectProgress
from sfexit.export.manifest import ManifestStore
from sfexit.export.verify import verify_backup
from sfexit.org import connect
from sfexit.org.session import RetryPolicy

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
    # Objects are read side by side (downloads share the read places: data_run.ExportRun.
    # reading): those done before the interrupt are listed; Contact, interrupted, is not.
    listed = set(ManifestStore.load(dest).manifest.objects)
    assert "Contact" not in listed and listed < set(OBJECTS)
    assert not (dest / "data" / "Contact.csv").exists()
    assert not list(dest.rglob("*.part"))

    again = backup(org, dest, objects=OBJECTS, max_records=40, parallel=1)
    status = {o.name: o.status for o in again.objects}
    assert {status[n] for n in listed} <= {"kept"}
    assert status["Contact"] == "exported"
    assert {status[n] for n in OBJECTS if n not in listed} == {"exported"}
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


# Faults are drawn from ONE seeded random sequence in request order (emulator/faults.py). The
# export's first reads (identity, Organization, the object list, the preflight) run side by
# side (export/backup.py, issue 23), so which of them draws which fault varies from run to run
# even with the preflight's own reads one at a time (PARALLEL = 1): the test asks for faults in
# the preflight (either kind) and in the data step, and for both kinds retried over the run. The
# data step's ~60 requests at 19% each make "no fault at all" a 1-in-300,000 event, and 8 tries
# per request make 8 faults in a row on one request (which would fail the export) ~1 in 7,000.
FAULTS = {"error_503_rate": 0.1, "reset_rate": 0.1, "fault_seed": 5}


def test_503s_and_resets_leave_the_result_byte_identical(fresh_emulator: Emulator,
                                                         tmp_path: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    org = fresh_emulator
    backup(org, tmp_path / "clean", objects=OBJECTS, max_records=40)
    events: list[str] = []
    session = _password_session(org, events)
    session.retry = RetryPolicy(attempts=8)
    before_data: dict[str, int] = {}
    real_export_data = backup_module.export_data

    def export_data(*args: Any, **kwargs: Any) -> Any:
        before_data.update(org.stats()["faults_injected"])
        return real_export_data(*args, **kwargs)

    monkeypatch.setattr(backup_module, "export_data", export_data)
    # One preflight read at a time (they run side by side by default: export/preflight.py), so
    # the preflight's fault draws are the same on every run (see the comment above).
    monkeypatch.setattr(preflight_module, "PARALLEL", 1)
    start = dict(org.stats()["faults_injected"])
    org.faults.update(FAULTS)
    backup(org, tmp_path / "faulty", objects=OBJECTS, max_records=40, session=session,
           parallel=2)
    org.faults.update({"error_503_rate": 0.0, "reset_rate": 0.0})
    after = org.stats()["faults_injected"]
    kinds = ("error_503", "reset")
    in_preflight = {k: before_data.get(k, 0) - start.get(k, 0) for k in kinds}
    in_data = {k: after.get(k, 0) - before_data.get(k, 0) for k in kinds}
    assert sum(in_preflight.values()) >= 1, in_preflight
    assert sum(in_data.values()) >= 1, in_data
    assert any(e.startswith("retrying") and " 503 " in e for e in events), events
    assert any(e.startswith("retrying") and "Connection broken" in e for e in events), events
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
