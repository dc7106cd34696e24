"""jsforce 3.10.16, unchanged, on search, recently viewed, layouts, list views, tabs and theme
(``emulator/tests/js/ui.mjs``; how the scripts run: test_jsforce.py)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from js_clients import client_env, node_project, run_json
from search_words import commonest_word

from sfexit_emulator import Emulator

VERSION = "62.0"


def _rows(org: Emulator, soql: str) -> list[tuple[Any, ...]]:
    cursor = org.store.query(soql, now=org.clock.now())
    try:
        return [tuple(row) for row in cursor.rows()]
    finally:
        cursor.close()


@pytest.fixture(scope="module")
def ui(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    project = node_project("js", "jsforce/package.json")
    with Emulator() as org:
        accounts = _rows(org, "SELECT Id, Name FROM Account ORDER BY Id LIMIT 50")
        word = commonest_word(str(name) for _, name in accounts)
        viewed = str(accounts[0][0])
        env = client_env(org, tmp_path_factory.mktemp("home"), SF_API_VERSION=VERSION)
        out = run_json(["node", "ui.mjs", word, viewed], Path(project), env)
        yield {"out": out, "org": org, "word": word, "viewed": viewed,
               "viewed_name": str(accounts[0][1]), "accounts": org.store.record_count("Account"),
               "contact_name": next(f["label"] for f in org.store.describe("Contact")["fields"]
                                    if f["name"] == "Name")}


def _ok(ui: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = ui["out"]
    assert "error" not in out, out.get("error")
    return out


def test_conn_search_answers_search_records(ui: dict[str, Any]) -> None:
    out = _ok(ui)
    accounts = [r for r in out["search"] if r["type"] == "Account"]
    assert 0 < len(accounts) <= 3
    assert all(ui["word"].lower() in r["Name"].lower() for r in accounts)
    assert [r["Name"] for r in accounts] == sorted(r["Name"] for r in accounts)
    assert out["badSearch"]["errorCode"] == "MALFORMED_SEARCH"


def test_conn_recent_and_sobject_recent(ui: dict[str, Any]) -> None:
    out = _ok(ui)
    assert out["recent"] == [ui["viewed"]]
    assert out["recentAccounts"] == [{"Id": ui["viewed"], "Name": ui["viewed_name"]}]


def test_layouts_named_layouts_and_compact_layouts(ui: dict[str, Any]) -> None:
    out = _ok(ui)
    assert out["layouts"]["keys"] == ["layouts", "recordTypeMappings", "recordTypeSelectorRequired"]
    assert "Name" in out["layouts"]["fields"]
    assert out["layouts"]["recordTypeId"] == "012000000000000AAA"
    assert out["named"] == 1
    assert out["compact"] == [[ui["contact_name"]]]


def test_list_views_describe_results_and_explain(ui: dict[str, Any]) -> None:
    out = _ok(ui)
    assert out["views"] == ["AllAccounts", "MyAccounts", "NewThisWeek"]
    assert out["described"]["query"].startswith("SELECT Name, Site")
    assert out["results"]["size"] == min(25, ui["accounts"])
    assert out["results"]["first"][0]["fieldNameOrPath"] == "Name"
    assert out["explained"] == ["Account"]


def test_tabs_and_theme(ui: dict[str, Any]) -> None:
    out = _ok(ui)
    assert "Account" in out["tabs"] and out["theme"] == out["tabs"]
