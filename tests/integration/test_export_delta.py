"""``sfexit export bulk --since BASE``: the last day's delta, and ``archive build`` of the chain.

One private org per test (``fresh_emulator``): records are changed, created and deleted by
another user between the base and the delta, on the org's clock. Expectations are the org's own
rows (``sfexit_emulator.testing``) and the stock ``bagit`` validation.
"""

from __future__ import annotations

import csv
import hashlib
import json
import shutil
import sqlite3
from pathlib import Path
from typing import Any

import bagit
import pytest
from auth_support import (invoke, on_org_clock, password_env, password_profile,
                          requests_total, write_config)
from export_support import backup

from sfexit.archive import build_archive, verify_archive
from sfexit.errors import UsageError
from sfexit.export.delta import OVERLAP, open_base
from sfexit.export.manifest import ManifestStore
from sfexit_emulator import testing

OBJECTS = ("Account", "Contact", "User")


def _csv_ids(directory: Path, name: str) -> dict[str, dict[str, str]]:
    with open(directory / "data" / f"{name}.csv", encoding="utf-8", newline="") as fh:
        return {row["Id"]: row for row in csv.DictReader(fh)}


def _delta(org: Any, base: Path, dest: Path) -> None:
    summary = backup(org, dest, objects=OBJECTS, since=open_base(base))
    assert not summary.failed


def last_day(org: Any) -> dict[str, str]:
    """As another user, ten minutes on the org's clock: one Account renamed, one Contact
    deleted. Their ids, and the other user's."""
    org.clock.advance(OVERLAP.total_seconds() * 2)
    other = testing.rows(org, "SELECT Id FROM User WHERE IsActive = true "
                              "AND Profile.Name != 'System Administrator' LIMIT 1")[0][0]
    account = testing.rows(org, "SELECT Id FROM Account ORDER BY Id LIMIT 1")[0][0]
    gone = testing.rows(org, "SELECT Id FROM Contact ORDER BY Id LIMIT 1")[0][0]
    testing.update(org, "Account", account, {"Name": "Renamed on the last day"}, as_user=other)
    testing.delete(org, "Contact", gone, as_user=other)
    return {"account": account, "gone": gone, "other": other}


@pytest.fixture
def chain(fresh_emulator: Any, tmp_path: Path) -> dict[str, Any]:
    """A base export, then as another user: one Account renamed, one Contact created, one
    Contact deleted, ten minutes later on the org's clock; then the delta."""
    org = fresh_emulator
    base = tmp_path / "base"
    assert not backup(org, base, objects=OBJECTS).failed
    changed = last_day(org)
    account, gone = changed["account"], changed["gone"]
    created = testing.create(org, "Contact", {"LastName": "Lastday", "AccountId": account},
                             as_user=changed["other"])
    delta = tmp_path / "delta"
    _delta(org, base, delta)
    return {"org": org, "base": base, "delta": delta, "account": account, "created": created,
            "gone": gone, "tmp": tmp_path}


def test_the_delta_holds_exactly_the_changed_created_and_deleted_rows(chain: dict[str, Any]
                                                                      ) -> None:
    delta = chain["delta"]
    assert set(_csv_ids(delta, "Account")) == {chain["account"]}
    assert _csv_ids(delta, "Account")[chain["account"]]["Name"] == "Renamed on the last day"
    contacts = _csv_ids(delta, "Contact")
    assert set(contacts) == {chain["created"], chain["gone"]}
    assert contacts[chain["gone"]]["IsDeleted"] == "true"
    assert contacts[chain["created"]]["IsDeleted"] == "false"
    m = ManifestStore.load(delta).manifest
    base_sha = hashlib.sha256((chain["base"] / "manifest.json").read_bytes()).hexdigest()
    assert m.base is not None and m.base.manifest_sha256 == base_sha
    assert m.base.path == str(chain["base"]) and m.base.overlap_seconds == 300
    assert m.objects["Contact"].since == m.base.start and m.objects["Contact"].include_deleted
    assert m.files == {}


def test_archive_build_applies_the_delta_and_bags_the_chain(chain: dict[str, Any]) -> None:
    org, base, delta = chain["org"], chain["base"], chain["delta"]
    out = chain["tmp"] / "ARCHIVE"
    build_archive(delta, out)
    bagit.Bag(str(out)).validate()
    checked = verify_archive(out)
    assert checked.ok, checked.problems
    db = sqlite3.connect(out / "archive.sqlite")
    name = db.execute("SELECT Name FROM Account WHERE Id = ?", [chain["account"]]).fetchone()
    assert name == ("Renamed on the last day",)
    based = len(_csv_ids(base, "Contact"))
    assert db.execute("SELECT COUNT(*) FROM Contact").fetchone() == (based + 1,)
    assert db.execute("SELECT COUNT(*) FROM Account").fetchone() == (
        len(_csv_ids(base, "Account")),)
    deleted = db.execute("SELECT Id, _sfexit_deleted_at FROM Contact "
                         "WHERE _sfexit_deleted_at IS NOT NULL").fetchall()
    stamp = testing.rows(org, f"SELECT SystemModstamp FROM Contact WHERE Id = '{chain['gone']}'",
                         include_deleted=True)[0][0]
    assert [d[0] for d in deleted] == [chain["gone"]] and deleted[0][1]
    assert str(deleted[0][1])[:16] == testing.csv_text(stamp)[:16]
    info = (out / "bag-info.txt").read_text(encoding="utf-8")
    assert "Export-Delta-1: data/deltas/1" in info
    assert (out / "data" / "deltas" / "1" / "data" / "Contact.csv").is_file()
    assert (out / "data" / "data" / "Contact.csv").read_bytes() == (
        base / "data" / "Contact.csv").read_bytes()


def test_verify_against_the_org_on_the_last_delta_shows_no_change_since(
        chain: dict[str, Any], tmp_path: Path) -> None:
    org = chain["org"]
    config = write_config(tmp_path / "cfg", org, **password_profile(org))

    def verify() -> Any:
        return invoke(["--config", str(config), "export", "verify", str(chain["delta"]),
                       "--against-org"], env=password_env(org), app=on_org_clock(org))

    done = verify()
    assert done.code == 0, done.output
    assert done.body["result"]["differences"] == []
    testing.create(org, "Account", {"Name": "Created after the delta"})
    done = verify()
    assert done.code == 1, done.output
    rows = [d for d in done.body["result"]["differences"] if d["name"] == "Account"]
    assert [(d["what"], d["expected"], d["actual"]) for d in rows] == [("rows", "2", "1")]
    # The changed-since count (issue 20) takes the delta's own start; the org's clock moved
    # ahead of this machine's by the fixture, so only a later change is asked about.
    org.clock.advance(OVERLAP.total_seconds() * 4)
    before = verify().body["result"]["changed_since"]["Contact"]
    untouched = testing.rows(org, "SELECT Id FROM Contact ORDER BY Id LIMIT 1 OFFSET 1")[0][0]
    assert untouched not in (chain["created"], chain["gone"])
    testing.delete(org, "Contact", untouched)
    after = verify().body["result"]["changed_since"]["Contact"]
    assert after == before + 1   # a deletion since the delta counts (queryAll)


def _rewritten(base: Path, to: Path, **fields: Any) -> Path:
    shutil.copytree(base, to)
    raw = json.loads((to / "manifest.json").read_text(encoding="utf-8"))
    raw.update(fields)
    (to / "manifest.json").write_text(json.dumps(raw), encoding="utf-8")
    return to


def test_a_bad_since_exits_2_with_one_line_and_writes_nothing(fresh_emulator: Any,
                                                              tmp_path: Path) -> None:
    org = fresh_emulator
    base = tmp_path / "base"
    assert not backup(org, base, objects=("Account",)).failed
    config = write_config(tmp_path / "cfg", org, **password_profile(org))
    (tmp_path / "empty").mkdir()
    cases = {
        "not-an-export": (tmp_path / "empty", "is not an sfexit export", False),
        "missing": (tmp_path / "nowhere", "is not a directory", False),
        "unfinished": (_rewritten(base, tmp_path / "unfinished", finished_at=None),
                       "did not finish", False),
        "other-org": (_rewritten(base, tmp_path / "other", org_id="00D000000000001AAA"),
                      "is a backup of org 00D000000000001AAA, not of", True),
    }
    for name, (since, text, asks_org) in cases.items():
        before = requests_total(org)
        dest = tmp_path / f"delta-{name}"
        run = invoke(["--config", str(config), "export", "bulk", "--dest", str(dest),
                      "--since", str(since)], env=password_env(org), app=on_org_clock(org))
        assert run.code == 2, (name, run.output)
        assert text in run.body["message"] and "\n" not in run.body["message"], name
        assert run.body["message"].startswith("--since: "), name
        assert (requests_total(org) > before) == asks_org, name
        assert not dest.exists(), name


def test_the_cli_writes_a_delta_whose_manifest_points_to_its_base(fresh_emulator: Any,
                                                                  tmp_path: Path) -> None:
    org = fresh_emulator
    base = tmp_path / "base"
    assert not backup(org, base, objects=("Account",)).failed
    org.clock.advance(OVERLAP.total_seconds() * 2)
    created = testing.create(org, "Account", {"Name": "Signed on the last day"})
    config = write_config(tmp_path / "cfg", org, **password_profile(org))
    delta = tmp_path / "delta"
    run = invoke(["--config", str(config), "export", "bulk", "--dest", str(delta),
                  "--objects", "Account", "--since", str(base)], env=password_env(org),
                 app=on_org_clock(org))
    assert run.code == 0, run.output
    assert set(_csv_ids(delta, "Account")) == {created}
    m = ManifestStore.load(delta).manifest
    assert m.base is not None and m.base.path == str(base)
    assert m.base.start < ManifestStore.load(base).manifest.started_at <= m.base.end


def test_a_delta_read_in_rest_field_groups_keeps_its_window(
        fresh_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import sfexit.export.rest_read as rest_read
    import sfexit.org.soql as soql

    org, name = fresh_emulator, "AcceptedEventRelation"   # read over REST (test_export_bulk)
    base = tmp_path / "base"
    assert not backup(org, base, objects=(name,)).failed
    assert _csv_ids(base, name)
    org.clock.advance(OVERLAP.total_seconds() * 2)
    monkeypatch.setattr(soql, "MAX_QUERY_URL_BYTES", 120)
    split: list[Any] = []
    real = rest_read.field_groups
    monkeypatch.setattr(rest_read, "field_groups", lambda plan: split.append(1) or real(plan))
    delta = tmp_path / "delta"
    summary = backup(org, delta, objects=(name,), since=open_base(base), force=True)
    assert not summary.failed and split
    assert _csv_ids(delta, name) == {}
    assert ManifestStore.load(delta).manifest.objects[name].since is not None


def test_archive_build_applies_two_deltas_oldest_first_and_refuses_a_changed_base(
        chain: dict[str, Any]) -> None:
    org, account = chain["org"], chain["account"]
    org.clock.advance(OVERLAP.total_seconds() * 2)
    testing.update(org, "Account", account, {"Name": "Renamed again"})
    second = chain["tmp"] / "delta2"
    _delta(org, chain["delta"], second)
    out = chain["tmp"] / "ARCHIVE2"
    build_archive(second, out)
    db = sqlite3.connect(out / "archive.sqlite")
    assert db.execute("SELECT Name FROM Account WHERE Id = ?", [account]).fetchone() == (
        "Renamed again",)
    assert [r[0] for r in db.execute("SELECT bag_path FROM _sfexit_deltas ORDER BY n")] == [
        "data/deltas/1/", "data/deltas/2/"]
    info = (out / "bag-info.txt").read_text(encoding="utf-8")
    assert "Export-Deltas: 2" in info and "Export-Delta-2: data/deltas/2/" in info
    assert verify_archive(out).ok
    manifest = chain["delta"] / "manifest.json"
    manifest.write_text(manifest.read_text(encoding="utf-8") + " ", encoding="utf-8")
    with pytest.raises(UsageError, match="is not the base the delta"):
        build_archive(second, chain["tmp"] / "ARCHIVE3")
    assert not (chain["tmp"] / "ARCHIVE3").exists()
