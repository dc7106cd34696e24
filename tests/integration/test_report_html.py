"""report.html renders in headless Chromium in every language, with no console error and no
external asset. Skipped when Chromium is absent (CI: ``apt-get install -y chromium``).

Set REPORT_SCREENSHOT_DIR to keep the screenshots for a person to look at.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any

import pytest
from report_support import compose_run

from sfexit.report import build_report
from sfexit.report.i18n import LANGUAGES, load_catalogue

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="headless Chromium is not installed "
                             "(apt-get update && apt-get install -y chromium)")
# docs: /work/.library/env — flags that keep a headless Chromium off the network.
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0"]
CONSOLE_ERROR = re.compile(r"Uncaught|ERROR:CONSOLE|Failed to load resource")
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def screenshot(page: Path, png: Path, height: int = 2000) -> str:
    """Take a screenshot of ``page``; return Chromium's log (stderr)."""
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run(
            [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", f"--screenshot={png}",
             f"--window-size=1280,{height}", page.resolve().as_uri()],
            capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert png.read_bytes()[:8] == PNG_MAGIC
    keep = os.environ.get("REPORT_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(png, Path(keep) / png.name)
    return done.stderr


def console_errors(log: str) -> list[str]:
    return [line for line in log.splitlines() if CONSOLE_ERROR.search(line)]


@pytest.fixture(scope="module")
def real_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from sfexit_emulator import Emulator
    from sfexit_emulator.testing import SESSION_RECORDS, SESSION_SEED

    with Emulator(records=SESSION_RECORDS, seed=SESSION_SEED) as org:
        return compose_run(org, tmp_path_factory.mktemp("report-html") / "run")


def test_the_console_check_sees_a_script_error(tmp_path: Path) -> None:
    """The check below can fail: a page that throws is caught."""
    page = tmp_path / "broken.html"
    page.write_text("<!DOCTYPE html><html><body><script>throw new Error('boom')</script>"
                    "</body></html>", encoding="utf-8")
    assert console_errors(screenshot(page, tmp_path / "broken.png", 400))


@pytest.mark.parametrize("lang", LANGUAGES)
def test_report_renders_in_every_language(real_run: Path, tmp_path: Path, lang: str) -> None:
    _, html_path = build_report(real_run, lang=lang)
    page = tmp_path / f"report-{lang}.html"
    shutil.copy(html_path, page)
    text = page.read_text(encoding="utf-8")
    assert "<script" not in text
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:|//)""", text), "external asset"
    assert load_catalogue(lang).t("report.title") in text
    log = screenshot(page, tmp_path / f"report-{lang}.png")
    assert console_errors(log) == []
    assert (tmp_path / f"report-{lang}.png").stat().st_size > 20_000   # not a blank page


def test_dry_run_report_renders_with_its_banner(real_run: Path, tmp_path: Path) -> None:
    plan = tmp_path / "plan-run"
    shutil.copytree(real_run, plan)
    raw: dict[str, Any] = json.loads((plan / "run.json").read_text(encoding="utf-8"))
    raw["mode"] = "dry-run"
    (plan / "run.json").write_text(json.dumps(raw), encoding="utf-8")
    _, html_path = build_report(plan, lang="fr")
    page = tmp_path / "report-plan-fr.html"
    shutil.copy(html_path, page)
    assert html.escape("Plan uniquement : rien n'a été modifié") in page.read_text("utf-8")
    log = screenshot(page, tmp_path / "report-plan-fr.png")
    assert console_errors(log) == []
