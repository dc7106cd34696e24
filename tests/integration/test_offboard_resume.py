"""``sfexit offboard --resume``: interrupted at several points, resumed, the org ends exactly
as after an uninterrupted run, and no change is applied (or journaled) twice."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from auth_support import password_env
from offboard_support import offboard, offboard_config, org_state, run_json

from sfexit.config import load_settings
from sfexit_emulator import Emulator
from sfexit_emulator.testing import SESSION_RECORDS, SESSION_SEED
from sfexit.journal import read_journal, verify_journal
from sfexit.offboard.run import STEP_FINISHED, RunOptions, start_run
from sfexit.org import connect
from sfexit.report.verify import verify_run

class Crash(Exception):
    """Stands for the process dying at this point."""


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """The end state of one uninterrupted run of a fresh org (same seed as fresh_emulator)."""
    tmp = tmp_path_factory.mktemp("uninterrupted")
    with Emulator(records=SESSION_RECORDS, seed=SESSION_SEED) as org:
        config = offboard_config(tmp, org)
        run = offboard(config, org, "--yes", "--run-dir", str(tmp / "run"))
        assert run.code == 0, run.output
        state = org_state(org)
        state["moved"] = _step(run_json(tmp / "run"), "reassign")["result"]["moved_total"]
        yield state


def _step(run: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in run["steps"] if s["name"] == name)


def crash_at(step: str, when: Callable[[Any], bool], exc: BaseException | None = None
             ) -> Callable[[str, Any], None]:
    seen = Counter[str]()

    def hook(name: str, event: Any) -> None:
        if name == step:
            seen[step] += 1
            if when(event) and seen[step] >= 1:
                raise exc or Crash(f"crash in {step}")
    return hook


def interrupted_run(org: Any, config: Path, run_dir: Path, hook: Callable[[str, Any], None],
                    expected: type[BaseException] = Crash) -> None:
    """Start a real run through the library and let ``hook`` kill it."""
    settings = load_settings(config, environ=password_env(org))
    session = connect(settings, sleep=org.clock.advance)
    contract = None
    with pytest.raises(expected):
        start_run(settings, session, run_dir,
                  RunOptions(sleep=org.clock.advance, on_progress=hook, contract=contract))


def resume_and_check(org: Any, config: Path, run_dir: Path, crashed_step: str,
                     uninterrupted: dict[str, Any]) -> dict[str, Any]:
    state = run_json(run_dir)
    assert _step(state, crashed_step)["status"] == "failed"
    assert "--resume" in _step(state, crashed_step)["reason"]
    assert _step(state, crashed_step)["reason_code"] in ("step_error", "interrupted")
    assert state["finished_at"]   # the attempt ended (failed); the resume clears it
    run = offboard(config, org, "--yes", "--resume", str(run_dir))
    assert run.code == 0, run.output
    final = run_json(run_dir)
    assert all(s["status"] in ("done", "skipped") for s in final["steps"]), final["steps"]
    assert final["finished_at"] >= state["finished_at"]
    assert verify_run(run_dir).ok, verify_run(run_dir).differences   # the final head
    assert org_state(org) == {k: v for k, v in uninterrupted.items() if k != "moved"}
    journal = run_dir / "journal.jsonl"
    assert verify_journal(journal).ok
    entries = read_journal(journal)
    changes = Counter((e.action, tuple(sorted(map(str, e.target.items()))))
                      for e in entries if e.kind == "change")
    assert max(changes.values(), default=1) == 1, changes.most_common(3)
    frozen_ids = Counter(e.target["user_id"] for e in entries
                         if e.kind == "change" and e.action == "freeze")
    assert frozen_ids and max(frozen_ids.values()) == 1
    moved = sum(int(e.target["rows"]) for e in entries
                if e.kind == "change" and e.action == "reassign_owner")
    assert moved == uninterrupted["moved"]
    return final


@pytest.fixture
def org_and_config(fresh_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                   ) -> tuple[Any, Path]:
    return fresh_emulator, offboard_config(tmp_path, fresh_emulator)


def test_crash_in_the_middle_of_the_export_resumes_by_the_manifest(
        org_and_config: Any, tmp_path: Path, uninterrupted: dict[str, Any]) -> None:
    org, config = org_and_config
    done: list[str] = []

    def hook(name: str, event: Any) -> None:
        if name == "export" and getattr(event, "done", False):
            done.append(event.object)
            if len(done) == 10:
                raise Crash("export")
    interrupted_run(org, config, tmp_path / "run", hook)
    final = resume_and_check(org, config, tmp_path / "run", "export", uninterrupted)
    statuses = Counter(o["status"] for o in _step(final, "export")["result"]["objects"])
    assert statuses["kept"] >= 5, statuses   # kept from before the crash, not read again


def test_crash_after_users_were_frozen_does_not_freeze_them_again(
        org_and_config: Any, tmp_path: Path, uninterrupted: dict[str, Any]) -> None:
    org, config = org_and_config
    interrupted_run(org, config, tmp_path / "run",
                    crash_at("freeze", lambda e: isinstance(e, str) and e.startswith("freeze:")))
    before = [e for e in read_journal(tmp_path / "run" / "journal.jsonl")
              if e.kind == "change" and e.action == "freeze"]
    assert before  # the users were frozen before the crash
    final = resume_and_check(org, config, tmp_path / "run", "freeze", uninterrupted)
    items = _step(final, "freeze")["result"]["items"]
    assert {i["user_id"] for i in items if i["status"] == "frozen"} \
        == {e.target["user_id"] for e in before}


def test_crash_after_the_reassignment_before_it_was_recorded_moves_nothing_twice(
        org_and_config: Any, tmp_path: Path, uninterrupted: dict[str, Any]) -> None:
    org, config = org_and_config
    interrupted_run(org, config, tmp_path / "run",
                    crash_at("reassign", lambda e: e == STEP_FINISHED))
    final = resume_and_check(org, config, tmp_path / "run", "reassign", uninterrupted)
    assert _step(final, "reassign")["result"]["moved_total"] == 0  # all moved before


def test_ctrl_c_during_verify_then_resume(org_and_config: Any, tmp_path: Path,
                                          uninterrupted: dict[str, Any]) -> None:
    org, config = org_and_config
    interrupted_run(org, config, tmp_path / "run",
                    crash_at("verify", lambda e: "COUNT()" in str(e), KeyboardInterrupt()),
                    expected=KeyboardInterrupt)
    state = run_json(tmp_path / "run")
    assert "interrupted" in _step(state, "verify")["reason"]
    assert _step(state, "freeze")["status"] == "planned"  # nothing changed in the org yet
    resume_and_check(org, config, tmp_path / "run", "verify", uninterrupted)


def test_a_dry_run_cannot_be_resumed(org_and_config: Any, tmp_path: Path) -> None:
    org, config = org_and_config
    assert offboard(config, org, "--dry-run", "--run-dir", str(tmp_path / "d")).code == 0
    run = offboard(config, org, "--yes", "--resume", str(tmp_path / "d"))
    assert run.code == 2
    assert "dry run" in run.body["message"]


def test_crash_between_two_objects_of_the_reassignment_moves_each_record_once(
        org_and_config: Any, tmp_path: Path, uninterrupted: dict[str, Any]) -> None:
    """The journal entry of the object being written when the process died is written again
    on resume with the SAME snapshot (docs/offboard.md, known limit): distinct targets are
    what the org saw, and each record moved once."""
    org, config = org_and_config
    seen: list[str] = []

    def hook(name: str, event: Any) -> None:
        if name == "reassign" and isinstance(event, str) and " records by " in event:
            seen.append(event)
            if len(seen) == 3:
                raise Crash("reassign")
    interrupted_run(org, config, tmp_path / "run", hook)
    run = offboard(config, org, "--yes", "--resume", str(tmp_path / "run"))
    assert run.code == 0, run.output
    assert org_state(org) == {k: v for k, v in uninterrupted.items() if k != "moved"}
    entries = read_journal(tmp_path / "run" / "journal.jsonl")
    targets = {(e.target["object"], e.target["sha256"]): int(e.target["rows"])
               for e in entries if e.kind == "change" and e.action == "reassign_owner"}
    assert sum(targets.values()) == uninterrupted["moved"]


def test_injected_503s_and_connection_resets_end_in_the_same_org_state(
        org_and_config: Any, tmp_path: Path, uninterrupted: dict[str, Any],
        monkeypatch: pytest.MonkeyPatch) -> None:
    """After login the emulator answers some requests 503 and cuts some response bodies; the
    session retries what is idempotent (reads, the Collections PATCH of set values), so the
    run completes with the org exactly as after a clean run, each change journaled once."""
    import sfexit.org

    org, config = org_and_config
    login = sfexit.org.connect

    def connect_then_faults(*args: Any, **kwargs: Any) -> Any:
        session = login(*args, **kwargs)   # logs in (sfexit.org.connect is eager)
        # Only on the requests the session may retry (GET, and the Collections PATCH of set
        # values): a 503 on a create is an error by design, and which request draws which fault
        # varies now that the export's reads run side by side.
        org.faults.update({"error_503_rate": 0.08, "reset_rate": 0.05, "fault_seed": 14,
                           "fault_methods": "GET,PATCH"})
        return session
    monkeypatch.setattr(sfexit.org, "connect", connect_then_faults)
    run = offboard(config, org, "--yes", "--run-dir", str(tmp_path / "run"))
    org.faults.update({"error_503_rate": 0.0, "reset_rate": 0.0})
    assert run.code == 0, run.output
    injected = org.stats()["faults_injected"]
    assert injected.get("error_503", 0) > 0 and injected.get("reset", 0) > 0, injected
    assert org_state(org) == {k: v for k, v in uninterrupted.items() if k != "moved"}
    final = run_json(tmp_path / "run")
    assert all(s["status"] in ("done", "skipped") for s in final["steps"]), final["steps"]
    assert _step(final, "reassign")["result"]["moved_total"] == uninterrupted["moved"]
    entries = read_journal(tmp_path / "run" / "journal.jsonl")
    changes = Counter((e.action, tuple(sorted(map(str, e.target.items()))))
                      for e in entries if e.kind == "change")
    assert changes and max(changes.values()) == 1
    assert verify_run(tmp_path / "run").ok
