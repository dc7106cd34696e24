"""Write-ahead journaling: an ``intent`` before each call, its outcome after; what an intent
with no outcome means to every reader, and how the org's state resolves it (pure parts)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest

from sfexit.journal import Entry, Journal, read_journal, unresolved_intents, verify_journal
from sfexit.people.deactivate import deactivated_by_sfexit
from sfexit.people.freeze import frozen_by_sfexit
from sfexit.people.intents import carried_over, is_applied

UID_A, UID_B = "005000000000001AAA", "005000000000002AAA"


def fixed_clock() -> dt.datetime:
    return dt.datetime(2026, 11, 22, 12, 0, 0, tzinfo=dt.UTC)


def freeze_intent(journal: Journal, uid: str, *, before: bool = False) -> Entry:
    return journal.intent("freeze", target={"object": "UserLogin", "id": "060" + uid[3:],
                                            "user_id": uid, "username": f"{uid}@x.example"},
                          before={"IsFrozen": before}, after={"IsFrozen": True})


def test_intent_and_outcome_shapes(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    journal = Journal.open(path, clock=fixed_clock)
    a, b = freeze_intent(journal, UID_A), freeze_intent(journal, UID_B)
    applied = journal.applied(a)
    refused = journal.not_applied(b, salesforce_message="FIELD_CUSTOM_VALIDATION_EXCEPTION: no")
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["kind"] for line in lines] == ["intent", "intent", "change", "not_applied"]
    assert lines[0]["before"] == {"IsFrozen": False} and lines[0]["after"] == {"IsFrozen": True}
    # the applied outcome is an ordinary change: same action, target, before and after
    assert (applied.action, applied.target, applied.before, applied.after) == \
        (a.action, a.target, a.before, a.after)
    assert applied.info == {"intent": a.hash, "intent_seq": 1}
    assert refused.after is None and refused.info["intent"] == b.hash
    assert refused.info["salesforce_message"].startswith("FIELD_CUSTOM")
    assert verify_journal(path).ok and read_journal(path)[2] == applied


def test_only_an_intent_has_an_outcome(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path / "j.jsonl", clock=fixed_clock)
    note = journal.note("not an intent")
    with pytest.raises(ValueError, match="not an intent"):
        journal.applied(note)


def test_an_intent_without_outcome_is_unresolved(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path / "j.jsonl", clock=fixed_clock)
    a, b = freeze_intent(journal, UID_A), freeze_intent(journal, UID_B)
    assert unresolved_intents(journal.entries()) == [a, b]
    journal.applied(a)
    assert unresolved_intents(journal.entries()) == [b]
    journal.not_applied(b)
    assert unresolved_intents(journal.entries()) == []


def test_outcomes_name_their_intent_by_hash_across_journals(tmp_path: Path) -> None:
    """Two journals read together (unfreeze without --journal): seq 1 of one is not seq 1 of
    the other."""
    first = Journal.open(tmp_path / "1.jsonl", clock=fixed_clock)
    first.applied(freeze_intent(first, UID_A))
    second = Journal.open(tmp_path / "2.jsonl", clock=fixed_clock)
    pending = freeze_intent(second, UID_B)
    assert unresolved_intents(first.entries() + second.entries()) == [pending]


@pytest.mark.parametrize(("before", "observed", "applied"), [
    ({"IsFrozen": False}, {"IsFrozen": True}, True),     # the call went through
    ({"IsFrozen": False}, {"IsFrozen": False}, False),   # it never reached the org
    ({"IsFrozen": False}, None, False),                  # the record is gone: nothing to undo
    ({"IsFrozen": True}, {"IsFrozen": True}, False),     # no change was intended
])
def test_applied_only_when_the_org_shows_the_intended_value_and_it_changed(
        tmp_path: Path, before: dict[str, Any], observed: dict[str, Any] | None,
        applied: bool) -> None:
    journal = Journal.open(tmp_path / "j.jsonl", clock=fixed_clock)
    intent = journal.intent("freeze", target={"object": "UserLogin", "user_id": UID_A},
                            before=before, after={"IsFrozen": True})
    assert is_applied(intent, observed) is applied


def test_readers_of_a_clean_journal_see_only_changes(tmp_path: Path) -> None:
    """What a clean run journals (every intent resolved) reads exactly like the old
    change-only journal: the applied users, never the refused one."""
    journal = Journal.open(tmp_path / "j.jsonl", clock=fixed_clock)
    a, b = freeze_intent(journal, UID_A), freeze_intent(journal, UID_B)
    change = journal.applied(a)
    journal.not_applied(b, salesforce_message="no")
    assert frozen_by_sfexit(journal.entries()) == {UID_A[:15]: change}


def test_an_unresolved_freeze_is_a_maybe_for_unfreeze(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path / "j.jsonl", clock=fixed_clock)
    pending = freeze_intent(journal, UID_A)
    already = freeze_intent(journal, UID_B, before=True)   # found frozen: never ours
    assert frozen_by_sfexit(journal.entries()) == {UID_A[:15]: pending}
    journal.not_applied(pending)
    journal.not_applied(already)
    assert frozen_by_sfexit(journal.entries()) == {}


def test_an_unfreeze_change_ends_the_freeze_but_an_unfreeze_intent_does_not(
        tmp_path: Path) -> None:
    journal = Journal.open(tmp_path / "j.jsonl", clock=fixed_clock)
    journal.applied(freeze_intent(journal, UID_A))
    thaw = journal.intent("unfreeze", target={"object": "UserLogin", "user_id": UID_A},
                          before={"IsFrozen": True}, after={"IsFrozen": False})
    assert UID_A[:15] in frozen_by_sfexit(journal.entries())   # unknown yet: read the org
    journal.applied(thaw)
    assert frozen_by_sfexit(journal.entries()) == {}


def test_deactivations_in_effect_follow_the_same_rules(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path / "j.jsonl", clock=fixed_clock)

    def deactivate(uid: str) -> Entry:
        return journal.intent("deactivate", target={"object": "User", "id": uid},
                              before={"IsActive": True}, after={"IsActive": False})
    done, refused, pending = deactivate(UID_A), deactivate(UID_B), deactivate("005C")
    change = journal.applied(done)
    journal.not_applied(refused)
    assert deactivated_by_sfexit(journal.entries()) == {UID_A[:15]: change, "005C": pending}


def test_carried_over_is_the_work_of_an_attempt_that_never_finished(tmp_path: Path) -> None:
    journal = Journal.open(tmp_path / "j.jsonl", clock=fixed_clock)
    journal.step_start("freeze")
    journal.applied(freeze_intent(journal, UID_A))
    journal.step_end("freeze", "ok")
    assert carried_over(journal.entries(), "freeze") == {}   # a finished run: not carried
    journal.step_start("freeze")
    change = journal.applied(freeze_intent(journal, UID_B))
    # killed here: no step_end; the next attempt reports this change as its own
    assert carried_over(journal.entries(), "freeze") == {UID_B[:15]: change}
    assert carried_over(journal.entries(), "unfreeze") == {}
