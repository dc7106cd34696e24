"""A reassignment that dies between an object's journal entry and its write, resumed, undone.

docs/offboard.md "Resume": the resumed run journals the object again. Each attempt keeps its
own snapshot (no file a journal entry hashed is ever overwritten), and ``reassign --undo``
restores every record to the owner it had before the FIRST attempt.
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from test_reassign import DEPARTING, STANDARD, owners, session_for, ticker, user_id

from sfexit.journal import Journal, read_journal, verify_journal
from sfexit.people import ownership, ownership_read, ownership_transfer, ownership_undo

TEAM_LEAD = "team.lead@sfexit-demo.example"
OBJECTS = ["Account", "Case"]


class Killed(Exception):
    """The process dying at a chosen point (a test stand-in for kill -9)."""


def die_on_first_send(monkeypatch: pytest.MonkeyPatch, sobject: str, sent: int) -> None:
    """The first write of ``sobject`` sends only its first ``sent`` rows, then the run dies
    (0: after the journal entry, before any write)."""
    real_send = ownership_transfer._Writer.send
    state = {"died": False}

    def send(self: Any, name: str, rows: Sequence[Any]) -> Any:
        if name != sobject or state["died"]:
            return real_send(self, name, rows)
        state["died"] = True
        if sent:
            assert not real_send(self, name, rows[:sent])
        raise Killed(f"killed while writing {name}")

    monkeypatch.setattr(ownership_transfer._Writer, "send", send)


def run(org: Any, path: Path, pairs: list[tuple[str, str]], **kw: Any) -> Any:
    session = session_for(org)
    plan = ownership_read.build_plan(session, pairs, OBJECTS)
    return ownership_transfer.transfer(session, plan, Journal.open(path), sleep=org.clock.advance,
                                       clock=ticker(), **kw)


def snapshots(path: Path, sobject: str) -> list[Any]:
    return [e for e in read_journal(path)
            if e.kind == "change" and e.action == "reassign_owner"
            and e.target["object"] == sobject]


def assert_every_file_matches_its_entry(path: Path) -> None:
    """Nothing a journal entry hashed was overwritten afterwards."""
    for entry in read_journal(path):
        for name, sha in (("snapshot", "sha256"), ("team_snapshot", "team_sha256"),
                          ("failure_file", "failure_sha256")):
            where = entry.target if name == "snapshot" else entry.info
            if where.get(name):
                assert ownership_transfer.file_sha256(Path(where[name])) == where[sha], where[name]


def crash_resume_undo(org: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sent: int,
                      pairs: list[tuple[str, str]], resumed_pairs: list[tuple[str, str]] | None
                      = None, **kw: Any) -> tuple[Any, Any]:
    before = {o: owners(org, o) for o in OBJECTS}
    journal = tmp_path / "r.jsonl"
    die_on_first_send(monkeypatch, "Account", sent)
    with pytest.raises(Killed):
        run(org, journal, pairs, **kw)
    monkeypatch.undo()
    resumed = run(org, journal, resumed_pairs or pairs, **kw)
    assert resumed.failed == 0
    first, second = snapshots(journal, "Account")
    assert first.target["snapshot"] != second.target["snapshot"]
    assert_every_file_matches_its_entry(journal)
    assert {o: owners(org, o) for o in OBJECTS} != before
    undone = ownership_undo.undo_transfer(session_for(org), journal,
                                          Journal.open(tmp_path / "u.jsonl"),
                                          sleep=org.clock.advance, clock=ticker(), **kw)
    assert undone.failed == 0
    assert {o: owners(org, o) for o in OBJECTS} == before   # every record, original owner
    assert verify_journal(journal).ok and verify_journal(tmp_path / "u.jsonl").ok
    assert_every_file_matches_its_entry(journal)
    assert_every_file_matches_its_entry(tmp_path / "u.jsonl")
    return first, second


def test_a_crash_after_the_journal_entry_before_the_write_resumes_and_undoes(
        fresh_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = crash_resume_undo(fresh_emulator, tmp_path, monkeypatch, 0,
                                      [(DEPARTING, STANDARD)])
    # nothing had moved, so the resumed run planned the same records again
    assert first.target["rows"] == second.target["rows"] > 0


def test_a_crash_after_a_partial_write_keeps_both_snapshots_and_undo_restores_all(
        fresh_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = crash_resume_undo(fresh_emulator, tmp_path, monkeypatch, 2,
                                      [(DEPARTING, STANDARD)])
    assert second.target["rows"] == first.target["rows"] - 2


def test_the_bulk_path_survives_a_partial_write_crash_too(
        fresh_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = crash_resume_undo(fresh_emulator, tmp_path, monkeypatch, 1,
                                      [(DEPARTING, STANDARD)], bulk_threshold=1)
    assert first.info["transport"] == "bulk" and second.info["transport"] == "bulk"


def test_a_record_moved_then_seen_again_goes_back_to_its_first_owner(
        fresh_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The dead attempt gave some of departing's accounts to standard; the resumed one (the
    successor changed to the team lead in between, for departing's and standard's records)
    moves them on. Undo must give them back to departing (attempt 1's snapshot), not to
    standard (attempt 2's). A plan never chains (a user both gives and receives is refused),
    so a changed successor is how one record lands in two snapshots."""
    org = fresh_emulator
    dep, std = user_id(org, DEPARTING), user_id(org, STANDARD)
    first, second = crash_resume_undo(org, tmp_path, monkeypatch, 2, [(DEPARTING, STANDARD)],
                                      [(DEPARTING, TEAM_LEAD), (STANDARD, TEAM_LEAD)])
    old = {r["Id"]: r["OwnerId"] for r in _rows(first.target["snapshot"])}
    new = {r["Id"]: r["OwnerId"] for r in _rows(second.target["snapshot"])}
    again = [i for i in old if i in new and old[i] == dep and new[i] == std]
    assert again, "the partial write should have moved some departing accounts to standard"
    assert all(owners(org, "Account")[i] == dep for i in again)


def test_undo_leaves_alone_a_record_whose_retry_failed() -> None:
    """The dead attempt never wrote 001B (the resumed run saw it again) and the resumed one
    was refused: it never moved and is left alone. 001A was not seen again: it had moved."""
    Row = ownership_transfer.Row
    rows = [Row("001A", "005D", "005S"), Row("001B", "005D", "005S")]
    dead = ownership.Attempt(tuple(rows), None)
    refused = ownership.Attempt(tuple(rows[1:]), frozenset({"001B"}))
    assert ownership.undo_rows([dead, refused]) == [Row("001A", "005S", "005D")]
    moved = ownership.Attempt(tuple(rows[1:]), frozenset())
    assert [r.id for r in ownership.undo_rows([dead, moved])] == ["001A", "001B"]
    # and a dead attempt with no later one: any of its rows may have moved, all go back
    assert [r.id for r in ownership.undo_rows([dead])] == ["001A", "001B"]


def _rows(path: str) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))
