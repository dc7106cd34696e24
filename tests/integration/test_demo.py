"""``sfexit demo``: the bundled emulator, a dry run and a real run, to the end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import bagit
import pytest
from auth_support import invoke
from contract_support import assert_report_agrees_with_deadline_and_notice


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """One demo for the module: it takes a while (an emulated org, two offboard runs)."""
    return invoke(["demo", "--dir", str(tmp_path_factory.mktemp("demo")), "--records", "200"])


def test_demo_runs_a_dry_run_and_a_real_run_to_the_end(demo: Any) -> None:
    run = demo
    assert run.code == 0, run.output
    result = run.body["result"]
    dry, real = result["dry_run"], result["real_run"]
    assert dry["mode"] == "dry-run" and real["mode"] == "real"
    assert dry["journal"] is None and Path(real["journal"]).is_file()
    assert real["steps"]["freeze"] == "done" and real["steps"]["reassign"] == "done"
    assert dry["steps"]["freeze"] == "planned"
    state = json.loads((Path(real["run_dir"]) / "run.json").read_text(encoding="utf-8"))
    assert state["contract"]["refund"] is not None
    assert Path(real["report"]["html"]).is_file()
    assert result["report_html"] == real["report"]["html"]
    config = Path(result["config"]).read_text(encoding="utf-8")
    assert "password =" not in config and "security_token" not in config


def test_demo_ends_with_a_valid_archive_of_the_real_runs_export(demo: Any) -> None:
    assert demo.code == 0, demo.output
    archive = Path(demo.body["result"]["archive"])
    bagit.Bag(str(archive)).validate()
    assert invoke(["archive", "verify", str(archive)]).code == 0
    info = bagit.Bag(str(archive)).info
    assert info["Contract-Start"] and info["Contract-End"]     # from the demo's config
    assert (archive / "index.html").is_file()


def test_the_demos_report_agrees_with_deadline_and_notice(demo: Any, tmp_path: Path) -> None:
    # Done-when of issue 20: the report's checklist, money and dates are those of `sfexit
    # deadline` and `sfexit notice` for the same contract (the demo's config.toml).
    assert demo.code == 0, demo.output
    result = demo.body["result"]
    for run in ("dry_run", "real_run"):
        plan = assert_report_agrees_with_deadline_and_notice(
            Path(result[run]["run_dir"]), Path(result["config"]), tmp_path / f"{run}.md")
    assert plan["leave"] == "end-of-term" and plan["status"] == "safe"
    assert [i["task"] for i in plan["checklist"]] == ["notice", "billing", "confirmation",
                                                      "invoice"]


def test_demo_refuses_a_directory_it_cannot_create(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    run = invoke(["demo", "--dir", str(blocker / "sub"), "--records", "200"])
    assert run.code == 2
    assert "cannot create" in run.body["message"]
