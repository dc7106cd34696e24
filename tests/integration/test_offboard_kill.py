"""``sfexit offboard`` killed for real (SIGKILL, no cleanup, no ``finally``) at several points,
then ``sfexit offboard --resume``: the org, the export and the journal end as after one
uninterrupted run, and no change is applied twice (issue 14, "Done when").

The run is a separate process (``python -m sfexit``) so the emulator, in this process,
outlives it; the kill points are read from the run directory's files (docs/offboard.md: the
journal, ``export/manifest.json``), as an operator watching the disk would see them.
test_offboard_resume.py covers the same resume in-process (exceptions, Ctrl-C).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from auth_support import password_env
from offboard_support import (
    check_no_change_twice,
    check_same_as_uninterrupted,
    journal_changes,
    kill_then_resume,
    manifest_objects,
    org_state,
    run_json,
    uninterrupted_offboard,
)

from sfexit_emulator import Emulator, testing
from sfexit_emulator.testing import SESSION_RECORDS, SESSION_SEED


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """One uninterrupted run, the same way (a subprocess), on an org of the same seed as
    ``fresh_emulator`` (offboard_support.uninterrupted_offboard)."""
    with Emulator(records=SESSION_RECORDS, seed=SESSION_SEED) as org:
        yield uninterrupted_offboard(tmp_path_factory.mktemp("uninterrupted"), org)


def _check_undo_restores(org: Any, tmp_path: Path, run_dir: Path, before: dict[str, Any]
                         ) -> None:
    """``sfexit reassign --undo`` of the resumed journal puts every original owner back."""
    from auth_support import invoke

    config = tmp_path / "config.toml"
    undo = invoke(["--config", str(config), "reassign", "--undo",
                   str(run_dir / "journal.jsonl"), "--journal", str(tmp_path / "undo.jsonl"),
                   "--yes"], env=password_env(org))
    assert undo.code == 0, undo.output
    assert org_state(org)["owners"] == before["owners"]


def test_killed_after_the_first_user_was_frozen(
        fresh_emulator: Any, tmp_path: Path, uninterrupted: dict[str, Any]) -> None:
    org = fresh_emulator
    run_dir, before = kill_then_resume(
        org, tmp_path, lambda d: journal_changes(d, "freeze") >= 1)
    check_same_as_uninterrupted(org, run_dir, uninterrupted)
    check_no_change_twice(run_dir)
    _check_undo_restores(org, tmp_path, run_dir, before)


def test_killed_after_the_first_reassignment_was_journaled(
        fresh_emulator: Any, tmp_path: Path, uninterrupted: dict[str, Any]) -> None:
    org = fresh_emulator
    run_dir, before = kill_then_resume(
        org, tmp_path, lambda d: journal_changes(d, "reassign_owner") >= 1)
    check_same_as_uninterrupted(org, run_dir, uninterrupted)
    check_no_change_twice(run_dir)
    _check_undo_restores(org, tmp_path, run_dir, before)


def test_killed_in_the_middle_of_the_export(
        fresh_emulator: Any, tmp_path: Path, uninterrupted: dict[str, Any]) -> None:
    org = fresh_emulator
    run_dir, before = kill_then_resume(org, tmp_path, lambda d: manifest_objects(d) >= 12)
    final = run_json(run_dir)
    export = next(s for s in final["steps"] if s["name"] == "export")["result"]
    statuses = Counter(o["status"] for o in export["objects"])
    assert statuses["kept"] >= 12, statuses   # kept from before the kill, not read again
    check_same_as_uninterrupted(org, run_dir, uninterrupted)
    check_no_change_twice(run_dir)
    _check_undo_restores(org, tmp_path, run_dir, before)


def test_killed_between_an_owner_change_and_its_team_restore(
        fresh_emulator: Any, tmp_path: Path, uninterrupted: dict[str, Any]) -> None:
    """The owner change dropped the account team (as Salesforce does); the resumed run has no
    account left to move, and must still re-add the team from the snapshot journaled with the
    change (issue 19, crash-resume: nothing missing)."""
    org = fresh_emulator
    team = "SELECT COUNT() FROM AccountTeamMember"
    members = testing.count(org, team)
    org.faults.latency_ms = 40   # a window between the owner change and the restore

    def dropped(run_dir: Path) -> bool:
        if journal_changes(run_dir, "reassign_owner") and testing.count(org, team) < members:
            org.faults.latency_ms = 0
            return True
        return False

    run_dir, _ = kill_then_resume(org, tmp_path, dropped)
    assert testing.count(org, team) == members
    check_same_as_uninterrupted(org, run_dir, uninterrupted)
    check_no_change_twice(run_dir)
