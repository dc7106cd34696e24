"""Crash-resume, fast part (issue 19): ``sfexit export bulk`` SIGKILLed inside the file
downloads, run again, ends with the same CSV bytes, manifest hashes and file bodies as an
uninterrupted run. The offboard points (inside freeze, reassign and the export) are in
test_offboard_kill.py; all 20 seeded points in bench/crash_resume.py."""

from __future__ import annotations

from pathlib import Path

from offboard_support import (
    export_facts,
    files_on_disk,
    offboard_config,
    sfexit_process,
)

from sfexit.export.verify import verify_backup
from sfexit_emulator import Emulator
from sfexit_emulator.testing import SESSION_RECORDS, SESSION_SEED


def test_export_bulk_killed_inside_the_file_downloads_resumes_to_the_same_backup(
        fresh_emulator: Emulator, tmp_path: Path) -> None:
    with Emulator(records=SESSION_RECORDS, seed=SESSION_SEED) as clean_org:
        config = offboard_config(tmp_path / "clean", clean_org)
        code, output = sfexit_process(config, clean_org, "export", "bulk", "--dest",
                                      str(tmp_path / "clean" / "out"))
        assert code == 0, output
        clean = export_facts(tmp_path / "clean" / "out", clean_org)
    org = fresh_emulator
    config, dest = offboard_config(tmp_path, org), tmp_path / "out"
    command = ("export", "bulk", "--dest", str(dest))
    org.faults.latency_ms = 30   # file bodies come in a few ms each: give the kill a window
    code, output = sfexit_process(config, org, *command,
                                  kill_when=lambda: files_on_disk(dest) >= 15)
    org.faults.latency_ms = 0
    assert code is None, f"the export ended (exit {code}) before the kill point:\n{output}"
    assert 15 <= files_on_disk(dest) < len(clean["files"])
    code, output = sfexit_process(config, org, *command)
    assert code == 0, output
    assert export_facts(dest, org) == clean
    assert not list(dest.rglob("*.part"))
    assert verify_backup(dest).ok
