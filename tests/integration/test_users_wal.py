"""Write-ahead journaling of `sfexit users freeze` / `deactivate`, through the crash window.

The crash is simulated deterministically: the outcome writer (``Journal.applied``, and
``Journal.not_applied``) raises a BaseException right after the sObject Collections call
returned, so the org has the change and the journal has only its intent, exactly what a
SIGKILL at that point leaves (nothing is written after it: the CLI boundary only prints). For
the other side of the window, the call itself is stopped before it is sent.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from auth_support import writes
from users_support import active, org_rows, username_of, users_cli

from sfexit.journal import Journal, read_journal, unresolved_intents, verify_journal
from sfexit.org.rest import RestClient
from sfexit_emulator import testing


class Killed(BaseException):
    """The process dies here: not an Exception, so nothing on the way catches it."""


def frozen_state(org: Any) -> dict[str, bool]:
    return {r["UserId"]: bool(r["IsFrozen"])
            for r in org_rows(org, "SELECT UserId, IsFrozen FROM UserLogin")}




AFTER, BEFORE = "after the call", "before the call"


def _die(*_args: Any, **_kwargs: Any) -> Any:
    raise Killed("the process died here")


@contextmanager
def killed(monkeypatch: pytest.MonkeyPatch, when: str) -> Iterator[None]:
    """AFTER: the call went out and returned, no outcome can be journaled. BEFORE: the
    intents are on disk, the call is never sent."""
    with monkeypatch.context() as m:
        if when == AFTER:
            m.setattr(Journal, "applied", _die)
            m.setattr(Journal, "not_applied", _die)
        else:
            m.setattr(RestClient, "update_records", _die)
        yield


def crash(org: Any, tmp_path: Path, *args: str) -> None:
    run = users_cli(org, tmp_path, *args)
    assert run.code == 1 and "Killed" in run.body["name"] + run.body["message"], run.output


def kinds(journal: Path) -> Counter[str]:
    return Counter(e.kind for e in read_journal(journal))


def test_unfreeze_after_a_freeze_killed_after_its_call_restores_the_exact_state(
        fresh_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    org = fresh_emulator
    before = frozen_state(org)
    journal = tmp_path / "freeze.jsonl"
    with killed(monkeypatch, AFTER):
        crash(org, tmp_path, "freeze", "--all-active", "--journal", str(journal))
    pending = unresolved_intents(read_journal(journal))
    assert pending and kinds(journal)["change"] == 0   # the crash window: intents only
    during = frozen_state(org)
    assert all(during[e.target["user_id"]] for e in pending)   # …but the org has the changes
    assert any(not before[e.target["user_id"]] for e in pending)

    run = users_cli(org, tmp_path, "unfreeze", "--journal", str(journal))
    assert run.code == 0, run.output
    assert frozen_state(org) == before     # users frozen before sfexit came stay frozen
    entries = read_journal(journal)
    assert verify_journal(journal).ok and unresolved_intents(entries) == []
    recovered = [e for e in entries if e.kind == "change" and e.action == "freeze"]
    assert {e.info["intent"] for e in recovered} == {e.hash for e in pending}
    assert all("recovered" in e.info and e.info["observed"] == {"IsFrozen": True}
               for e in recovered)
    thawed = {e.target["user_id"] for e in entries if e.kind == "change"
              and e.action == "unfreeze"}
    assert thawed == {e.target["user_id"] for e in pending}
    assert run.body["result"]["changed"] == len(pending)


def test_an_intent_that_never_reached_the_org_is_not_undone(
        fresh_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    org = fresh_emulator
    before, journal = frozen_state(org), tmp_path / "freeze.jsonl"
    with killed(monkeypatch, BEFORE):
        crash(org, tmp_path, "freeze", "--all-active", "--journal", str(journal))
    pending = unresolved_intents(read_journal(journal))
    assert pending and frozen_state(org) == before
    count = writes(org)
    run = users_cli(org, tmp_path, "unfreeze", "--journal", str(journal))
    assert run.code == 0, run.output
    assert frozen_state(org) == before and writes(org) == count   # nothing sent
    outcomes = [e for e in read_journal(journal) if e.info.get("intent")]
    assert {e.kind for e in outcomes} == {"not_applied"}
    assert {e.info["intent"] for e in outcomes} == {e.hash for e in pending}


def test_an_unresolved_freeze_is_thawed_only_where_the_org_shows_it_frozen(
        fresh_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Someone unfroze one of them by hand after the crash: a dry run reads the org and
    leaves that user alone, writing nothing; the real undo journals it as not applied."""
    org = fresh_emulator
    before, journal = frozen_state(org), tmp_path / "freeze.jsonl"
    with killed(monkeypatch, AFTER):
        crash(org, tmp_path, "freeze", "--all-active", "--journal", str(journal))
    pending = unresolved_intents(read_journal(journal))
    by_hand = pending[0]
    admin = testing.user_id(org, org.credentials.username)
    testing.update(org, "UserLogin", by_hand.target["id"], {"IsFrozen": False}, as_user=admin)
    text = journal.read_text(encoding="utf-8")
    dry = users_cli(org, tmp_path, "unfreeze", "--journal", str(journal), "--dry-run")
    assert dry.code == 0, dry.output
    statuses = {i["user_id"]: i["status"] for i in dry.body["result"]["items"]}
    assert statuses[by_hand.target["user_id"]] == "leave: not frozen"
    assert Counter(statuses.values())["would unfreeze"] == len(pending) - 1
    assert journal.read_text(encoding="utf-8") == text   # a dry run writes no journal entry

    run = users_cli(org, tmp_path, "unfreeze", "--journal", str(journal))
    assert run.code == 0, run.output
    assert frozen_state(org) == before
    outcome = {e.info["intent"]: e.kind for e in read_journal(journal) if e.info.get("intent")}
    assert outcome.pop(by_hand.hash) == "not_applied"
    assert set(outcome.values()) == {"change"}


def test_rerunning_the_killed_freeze_on_its_journal_finishes_it_once(
        fresh_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    org = fresh_emulator
    journal = tmp_path / "freeze.jsonl"
    with killed(monkeypatch, AFTER):
        crash(org, tmp_path, "freeze", "--all-active", "--journal", str(journal))
    pending = {e.target["user_id"] for e in unresolved_intents(read_journal(journal))}
    count = writes(org)
    run = users_cli(org, tmp_path, "freeze", "--all-active", "--journal", str(journal))
    assert run.code == 0, run.output
    assert writes(org) == count           # everyone is frozen already: nothing sent again
    items = {i["user_id"]: i for i in run.body["result"]["items"]}
    assert all(items[uid]["status"] == "frozen" and items[uid]["before"] is False
               for uid in pending)        # reported as this run's, as if never killed
    changes = Counter(e.target["user_id"] for e in read_journal(journal) if e.kind == "change")
    assert set(changes) == pending and max(changes.values()) == 1


def test_unfreeze_by_name_settles_the_killed_freeze_in_the_journals_dir(
        fresh_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    org = fresh_emulator
    name = username_of(org, "departing.user")
    with killed(monkeypatch, AFTER):
        run = users_cli(org, tmp_path, "freeze", name)   # default journal, data dir
    assert run.code == 1
    uid = testing.user_id(org, name)
    assert frozen_state(org)[uid] is True
    run = users_cli(org, tmp_path, "unfreeze", name)
    assert run.code == 0, run.output
    assert [i["status"] for i in run.body["result"]["items"]] == ["unfrozen"]
    assert frozen_state(org)[uid] is False
    assert any("interrupted change(s) read from the org" in w for w in run.body["warnings"])


def test_deactivate_killed_after_its_call_then_undo_reactivates(
        fresh_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    org = fresh_emulator
    name, journal = username_of(org, "standard.user"), tmp_path / "d.jsonl"
    with killed(monkeypatch, AFTER):
        crash(org, tmp_path, "deactivate", name, "--journal", str(journal))
    [pending] = unresolved_intents(read_journal(journal))
    assert pending.action == "deactivate" and not active(org, name)
    run = users_cli(org, tmp_path, "deactivate", "--undo", str(journal))
    assert run.code == 0, run.output
    assert active(org, name)
    assert [i["status"] for i in run.body["result"]["items"]] == ["reactivated"]
    entries = read_journal(journal)
    assert verify_journal(journal).ok and unresolved_intents(entries) == []
    changes = [e for e in entries if e.kind in ("change", "not_applied")]
    assert [(e.kind, e.action) for e in changes] == \
        [("change", "deactivate"), ("change", "reactivate")]
    assert changes[0].info["intent"] == pending.hash and "recovered" in changes[0].info


def test_deactivate_killed_before_its_call_undo_reactivates_nobody(
        fresh_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    org = fresh_emulator
    name, journal = username_of(org, "standard.user"), tmp_path / "d.jsonl"
    with killed(monkeypatch, BEFORE):
        crash(org, tmp_path, "deactivate", name, "--journal", str(journal))
    assert active(org, name) and len(unresolved_intents(read_journal(journal))) == 1
    dry = users_cli(org, tmp_path, "deactivate", "--undo", str(journal), "--dry-run")
    assert [i["status"] for i in dry.body["result"]["items"]] == ["leave: already active"]
    count = writes(org)
    run = users_cli(org, tmp_path, "deactivate", "--undo", str(journal))
    assert run.code == 0, run.output
    assert writes(org) == count and active(org, name)
    assert [e.kind for e in read_journal(journal)][-1] == "not_applied"
