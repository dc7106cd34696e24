"""The journal: hash-chained JSON Lines; any edit, deletion or reordering is detected."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sfexit.errors import EXIT_FAILURE
from sfexit.journal import (
    GENESIS,
    Journal,
    JournalError,
    default_journal_path,
    read_journal,
    verify_journal,
)


def fixed_clock() -> dt.datetime:
    return dt.datetime(2026, 11, 22, 12, 0, 0, tzinfo=dt.UTC)


def write_sample(path: Path, n: int = 4) -> Journal:
    journal = Journal.open(path, clock=fixed_clock)
    journal.step_start("freeze", users=n)
    for i in range(n):
        journal.change("freeze", target={"object": "UserLogin", "id": f"060{i}",
                                         "user_id": f"005{i}", "username": f"u{i}@x.com"},
                       before={"IsFrozen": False}, after={"IsFrozen": True}, attempt=1)
    journal.step_end("freeze", "ok", frozen=n)
    return journal


def test_entries_chain_each_line_to_the_previous_one(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    journal = write_sample(path)
    lines = path.read_text().splitlines()
    entries = read_journal(path)
    assert [e.seq for e in entries] == list(range(1, len(lines) + 1))
    assert entries[0].prev == GENESIS
    for line, entry in zip(lines, entries[1:], strict=False):
        assert entry.prev == hashlib.sha256(line.encode()).hexdigest()
    assert journal.head_hash == hashlib.sha256(lines[-1].encode()).hexdigest()
    check = verify_journal(path)
    assert check.ok and check.entries == len(lines) and check.problems == []
    assert check.head_hash == journal.head_hash


def test_change_entry_keeps_before_and_after_state(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    journal = Journal.open(path, clock=fixed_clock)
    entry = journal.change("deactivate", target={"object": "User", "id": "005A"},
                           before={"IsActive": True}, after={"IsActive": False}, reason="left")
    assert entry.kind == "change" and entry.at == "2026-11-22T12:00:00Z"
    assert read_journal(path) == [entry]
    raw = json.loads(path.read_text())
    assert raw["before"] == {"IsActive": True} and raw["info"] == {"reason": "left"}


def test_reopening_verifies_and_continues_the_chain(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    first = write_sample(path, 2)
    again = Journal.open(path, clock=fixed_clock)
    assert again.head_hash == first.head_hash
    entry = again.note("second run")
    assert entry.seq == len(first.entries()) + 1
    assert verify_journal(path).ok


def test_secrets_are_never_written(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    journal = Journal.open(path, clock=fixed_clock)
    token = "00D000000000001!AQ0AQO.abc_def-ghi"
    journal.note(f"logged in with {token}", access_token=token, nested={"password": "hunter2"})
    text = path.read_text()
    assert token not in text and "hunter2" not in text
    assert verify_journal(path).ok


def test_tampered_journal_refuses_to_open_naming_the_line(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    write_sample(path)
    lines = path.read_text().splitlines()
    lines[2] = lines[2].replace('"IsFrozen":true', '"IsFrozen":false')
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(JournalError) as err:
        Journal.open(path)
    assert "line 3" in err.value.message and err.value.exit_code == EXIT_FAILURE
    with pytest.raises(JournalError):
        read_journal(path)


def test_cut_off_end_is_detected_through_the_head_file(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    write_sample(path, 2)
    lines = path.read_text().splitlines()
    path.write_text("\n".join(lines[:-1]) + "\n")
    check = verify_journal(path)
    assert not check.ok and any("deleted" in p for p in check.problems)


def test_missing_journal_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(JournalError, match="does not exist"):
        read_journal(tmp_path / "nope.jsonl")


def test_default_path_is_under_the_data_dir_and_never_reused(tmp_path: Path) -> None:
    now = fixed_clock()
    path = default_journal_path("freeze", now=now)
    assert path.parent.name == "journals" and path.name == "20261122T120000Z-freeze.jsonl"
    base = tmp_path / "journals"
    first = default_journal_path("freeze", base, now=now)
    Journal.open(first)
    second = default_journal_path("freeze", base, now=now)
    assert second != first and second.parent == base


def _tamper(lines: list[str], op: str, i: int, j: int, text: str) -> list[str]:
    out = list(lines)
    if op == "edit":
        line = out[i]
        k = j % len(line)
        replacement = text if text != line[k] else text + "x"
        out[i] = line[:k] + replacement + line[k + 1:]
    elif op == "delete":
        del out[i]
    elif op == "swap":
        j = j % len(out)
        if j == i:
            j = (i + 1) % len(out)
        out[i], out[j] = out[j], out[i]
    return out


@settings(max_examples=150, deadline=None,  # fsync per entry: timing varies on a busy disk
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(op=st.sampled_from(["edit", "delete", "swap"]), i=st.integers(0, 5),
       j=st.integers(0, 10_000), text=st.text(min_size=1, max_size=3))
def test_any_single_edit_deletion_or_swap_is_detected(tmp_path: Path, op: str, i: int, j: int,
                                                      text: str) -> None:
    path = tmp_path / "h.jsonl"
    path.unlink(missing_ok=True)
    write_sample(path, 4)  # 6 lines
    lines = path.read_text().splitlines()
    tampered = _tamper(lines, op, i, j, text)
    path.write_text("\n".join(tampered) + "\n")
    check = verify_journal(path)
    assert not check.ok and check.problems
    with pytest.raises(JournalError):
        Journal.open(path)
