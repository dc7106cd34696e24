"""The Salesforce CLI (``sf``, npm ``@salesforce/cli``), unchanged, against the emulator.

What a user would do: ``sf org login access-token`` with ``SF_ACCESS_TOKEN``, then ``org
display``, ``data query``, ``data search`` and ``data export bulk`` on that alias, trusting the emulator's CA
through ``NODE_EXTRA_CA_CERTS`` with a private ``HOME`` (sf keeps its auth files there).
Pinned in ``emulator/tests/sfcli/package.json``: sf 2.146.3, the last release for Node 20,
with its HTTP library held at ``@jsforce/jsforce-node`` 3.10.16 (later ones need Node 22.19).

``sf data export bulk`` polls the job every 5 s of real time (real-clients-wire.md), so each
export takes one such wait; the emulator's jobs finish on its clock well within it.
"""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from js_clients import client_env, node_project, run_json
from search_words import whole_words

from sfexit_emulator import Emulator

ALIAS = "emu"


@dataclass
class SfRun:
    org: Emulator
    home: Path
    env: dict[str, str]
    project: Path

    def __call__(self, *args: str) -> Any:
        return run_json(["sf", *args, "--json"], self.home, self.env)


@pytest.fixture(scope="module")
def sf(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SfRun]:
    project = node_project("sfcli", "@salesforce/cli/package.json")
    with Emulator(records=2000, seed=1) as org:
        home = tmp_path_factory.mktemp("sf-home")
        path = f"{project / 'node_modules' / '.bin'}{os.pathsep}{os.environ.get('PATH', '')}"
        env = client_env(org, home, PATH=path)
        run = SfRun(org, home, env, project)
        login = run("org", "login", "access-token", "--instance-url", org.url, "--no-prompt",
                    "--alias", ALIAS)
        assert login.get("status") == 0, login
        yield run


def _store_rows(org: Emulator, soql: str) -> list[list[Any]]:
    cursor = org.store.query(soql, now=org.clock.now())
    try:
        return [list(row) for row in cursor.rows()]
    finally:
        close = getattr(cursor, "close", None)
        if callable(close):
            close()


def test_access_token_login_stores_the_org(sf: SfRun) -> None:
    creds = sf.org.credentials
    assert creds is not None
    stored = json.loads((sf.home / ".sfdx" / f"{creds.username}.json").read_text("utf-8"))
    assert stored["orgId"] == sf.org.org_id
    assert stored["instanceUrl"] == sf.org.url + "/"   # sf keeps the trailing slash


def test_org_display_is_connected(sf: SfRun) -> None:
    out = sf("org", "display", "--target-org", ALIAS)
    assert out["status"] == 0, out
    result = out["result"]
    assert result["id"] == sf.org.org_id
    assert result["connectedStatus"] == "Connected"
    assert result["instanceUrl"] == sf.org.url + "/"
    assert result["apiVersion"] == "68.0"   # the highest version the emulator lists
    assert result["username"] == (sf.org.credentials.username if sf.org.credentials else None)


def test_data_query_returns_the_stored_rows(sf: SfRun) -> None:
    soql = "SELECT Id, Name FROM Account ORDER BY Id LIMIT 5"
    out = sf("data", "query", "--query", soql, "--target-org", ALIAS)
    assert out["status"] == 0, out
    records = out["result"]["records"]
    assert [[r["Id"], r["Name"]] for r in records] == _store_rows(sf.org, soql)
    assert out["result"]["totalSize"] == 5


def test_data_search_answers_the_search_records(sf: SfRun) -> None:
    """``sf data search`` sends the SOSL to ``/search`` and prints ``searchRecords``."""
    name = str(_store_rows(sf.org, "SELECT Name FROM Account ORDER BY Id LIMIT 1")[0][0])
    word = max(sorted(whole_words(name)), key=len)
    out = sf("data", "search", "--query", f"FIND {{{word}}} IN NAME FIELDS RETURNING "
             "Account(Id, Name)", "--target-org", ALIAS)
    assert out["status"] == 0, out
    found = out["result"]["searchRecords"]
    assert found and all(r["attributes"]["type"] == "Account" for r in found)
    assert all(word.lower() in r["Name"].lower() for r in found)
    bad = sf("data", "search", "--query", word, "--target-org", ALIAS)
    assert bad["status"] != 0 and "braces" in json.dumps(bad)


def test_data_query_table_output_uses_column_metadata(sf: SfRun) -> None:
    """Without --json, sf asks ``columns=true`` for the table's columns (real-clients-wire.md)."""
    soql = "SELECT Id, Name, Owner.Username FROM Account ORDER BY Id LIMIT 3"
    before = sf.org.stats()["requests_by_route"].get("query", 0)
    done = subprocess.run(["sf", "data", "query", "--query", soql, "--target-org", ALIAS],
                          cwd=sf.home, env=sf.env, capture_output=True, text=True, timeout=300,
                          check=False)
    assert done.returncode == 0, done.stderr
    for record_id, _name, username in _store_rows(sf.org, soql):
        assert record_id in done.stdout and username in done.stdout
    assert "Total number of records retrieved: 3" in done.stdout
    assert sf.org.stats()["requests_by_route"]["query"] == before + 2   # rows, then columns


def test_data_query_all_rows_sees_deleted_rows(sf: SfRun) -> None:
    soql = "SELECT Id FROM Account WHERE IsDeleted = true"
    out = sf("data", "query", "--query", soql, "--all-rows", "--target-org", ALIAS)
    assert out["status"] == 0, out
    expected = sf.org.store.query(soql, include_deleted=True, now=sf.org.clock.now()).total_size
    assert out["result"]["totalSize"] == expected > 0


def test_data_export_bulk_csv_matches_the_store(sf: SfRun) -> None:
    soql = "SELECT Id, Name, Description FROM Account"
    out = sf("data", "export", "bulk", "--query", soql, "--output-file", "accounts.csv",
             "--result-format", "csv", "--wait", "5", "--target-org", ALIAS)
    assert out["status"] == 0, out
    # Bytes, not read_text(): that would turn the CRLF inside a value into LF.
    rows = list(csv.reader(io.StringIO((sf.home / "accounts.csv").read_bytes().decode("utf-8"),
                                       newline="")))
    assert rows[0] == ["Id", "Name", "Description"]
    expected = {str(r[0]): [str(r[0]), r[1] or "", r[2] or ""] for r in _store_rows(sf.org, soql)}
    assert out["result"]["totalSize"] == len(expected) == len(rows) - 1
    assert {row[0]: row for row in rows[1:]} == expected
    assert any("\r\n" in row[1] or "\r\n" in row[2] for row in rows[1:])  # CRLF inside text kept


def test_data_export_bulk_json_closes_after_every_record(sf: SfRun) -> None:
    soql = "SELECT Id, LastName FROM Contact"
    out = sf("data", "export", "bulk", "--query", soql, "--output-file", "contacts.json",
             "--result-format", "json", "--wait", "5", "--target-org", ALIAS)
    assert out["status"] == 0, out
    exported = json.loads((sf.home / "contacts.json").read_text("utf-8"))
    expected = {str(r[0]): r[1] for r in _store_rows(sf.org, soql)}
    assert {r["Id"]: r["LastName"] for r in exported} == expected
    assert out["result"]["totalSize"] == len(expected)


def test_a_dead_token_is_refused_at_userinfo(sf: SfRun) -> None:
    """sf's first call is /services/oauth2/userinfo, which answers a bad token with 403
    ``Bad_OAuth_Token`` (identity.py); sf reports that text."""
    env = dict(sf.env, SF_ACCESS_TOKEN=f"{sf.org.org_id[:15]}!AQdeadtoken")
    out = run_json(["sf", "org", "login", "access-token", "--instance-url", sf.org.url,
                    "--no-prompt", "--json"], sf.home, env)
    assert out["status"] != 0
    assert out["name"] == "AuthCodeUsernameRetrievalError"
    assert "Bad_OAuth_Token" in out["message"]
