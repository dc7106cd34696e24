"""A forecast that does not fit is recorded as numbers (``shortfall``: limit, forecast,
remaining) beside its English text, and the report words it in the reader's language with the
numbers formatted for the locale, instead of pasting the English forecast line."""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path
from typing import Any

import pytest
from auth_support import invoke
from offboard_support import offboard, offboard_config, run_json, writes

from sfexit_emulator import testing

FILES = 1100   # one download call each: the forecast needs over 1,000 calls


def add_files(org: Any, n: int) -> None:
    body = base64.b64encode(b"minutes of the board meeting\n").decode()
    with testing.writes(org) as batch:
        for i in range(n):
            batch.create("ContentVersion", {"Title": f"Minutes {i}", "PathOnClient": f"m{i}.txt",
                                            "VersionData": body})


def warnings_section(page: str) -> str:
    found = re.search(r'<section id="warnings">.*?</section>', page, re.S)
    assert found, "the report has a warnings section"
    return found.group(0)


def de(n: int) -> str:
    """A whole number as German writes it: 1.234.567."""
    return f"{n:,}".replace(",", ".")


@pytest.fixture
def short_dry_run(fresh_emulator: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                  ) -> tuple[Path, dict[str, Any]]:
    """A dry run of an org with 1,200 API calls left for the day and a forecast above that."""
    org = fresh_emulator
    add_files(org, FILES)
    org.faults = {"daily_api_max": org.stats()["api_requests_used"] + 1200}
    config = offboard_config(tmp_path, org)
    before = writes(org)
    run = offboard(config, org, "--dry-run", "--run-dir", str(tmp_path / "dry"))
    assert run.code == 0, run.output
    assert writes(org) == before
    return tmp_path / "dry", run_json(tmp_path / "dry")


def test_the_shortfall_is_recorded_as_numbers_beside_the_english_text(
        short_dry_run: tuple[Path, dict[str, Any]]) -> None:
    run_dir, state = short_dry_run
    assert state["forecast"]["fits"] is False
    [short] = [w for w in state["warning_codes"] if w["code"] == "forecast_short"]
    [item] = short["params"]["shortfall"]
    assert item["limit"] == "DailyApiRequests"
    assert item["forecast"] == state["forecast"]["rest_calls"] > item["remaining"] >= 1000
    line = (f"DailyApiRequests: needs about {item['forecast']:,}, {item['remaining']:,} "
            "remaining — does NOT fit")
    assert short["params"]["limits"] == line     # the English, unchanged for --json readers
    assert short["text"] == f"the forecast does not fit the remaining limits: {line}"
    assert short["text"] in state["warnings"]
    report = json.loads((run_dir / "report.json").read_text(encoding="utf-8"))
    [kept] = [w for w in report["warning_codes"] if w["code"] == "forecast_short"]
    assert kept["params"]["shortfall"] == short["params"]["shortfall"]


def test_the_german_report_words_the_shortfall_with_german_numbers(
        short_dry_run: tuple[Path, dict[str, Any]]) -> None:
    run_dir, state = short_dry_run
    [short] = [w for w in state["warning_codes"] if w["code"] == "forecast_short"]
    [item] = short["params"]["shortfall"]
    german = invoke(["report", "render", str(run_dir), "--lang", "de"])
    assert german.code == 0, german.output
    section = warnings_section((run_dir / "report.de.html").read_text(encoding="utf-8"))
    assert (f"die Prognose passt nicht in die verbleibenden Limits: REST-Aufrufe: etwa "
            f"{de(item['forecast'])} benötigt, {de(item['remaining'])} übrig") in section
    for words in ("needs about", "remaining", "does NOT fit", "DailyApiRequests",
                  f"{item['forecast']:,}"):
        assert words not in section, words
    # the same run in English: the reader's words there too, not the raw forecast line
    english = invoke(["report", "render", str(run_dir), "--lang", "en"])
    assert english.code == 0, english.output
    section = warnings_section((run_dir / "report.en.html").read_text(encoding="utf-8"))
    assert (f"REST calls: about {item['forecast']:,} needed, {item['remaining']:,} left"
            in section)
