"""`sfexit export weekly` against the emulator over real HTTPS, through the CLI's error boundary.

Nothing sleeps: the poll's sleep advances the emulator clock (and the command's monotonic clock).
The emulator's Export Now form uses its own field names; sfexit never sees them, it fills the
form by label.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest
from auth_support import (invoke, on_org_clock, password_env, password_profile, write_config,
                          writes)

from sfexit import errors
from sfexit.export.weekly import read_status
from sfexit.export.weekly_download import WeeklyFilesExpired, download_parts
from sfexit.org.session import OrgSession
from sfexit.org.uisession import open_ui_session
from sfexit_emulator import Emulator, testing


@pytest.fixture
def org(fresh_emulator: Emulator) -> Emulator:
    """A private org; the command runs on its clock (:func:`weekly`)."""
    return fresh_emulator


svc = testing.dataexport


def weekly(org: Emulator, tmp_path: Path, *args: str) -> Any:
    config = write_config(tmp_path / "cfg", org, **password_profile(org))
    return invoke(["--config", str(config), "export", "weekly", *args], env=password_env(org),
                  app=on_org_clock(org))


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def served(org: Emulator) -> dict[str, bytes]:
    """The current export's parts as the emulator holds them (name → bytes)."""
    run = svc(org).current
    assert run is not None
    return {part.name: part.path.read_bytes() for part in run.files}


def seed_ready(org: Emulator, hours_ago: float = 1, **options: Any) -> dict[str, bytes]:
    testing.seed_export(org, org.clock.now() - dt.timedelta(hours=hours_ago), **options)
    return served(org)


# --- status --------------------------------------------------------------------------------------
def test_status_none_in_progress_and_ready(org: Emulator, tmp_path: Path) -> None:
    run = weekly(org, tmp_path, "--status")
    assert run.code == 0, run.output
    assert run.body["result"]["state"] == "none" and run.body["result"]["files"] == []
    assert run.body["result"]["next_allowed"] is None

    svc(org).seed_export(org.clock.now())                 # generation takes 600 s
    run = weekly(org, tmp_path, "--status")
    assert run.body["result"]["state"] == "in_progress"
    assert run.body["result"]["next_allowed"] == (org.clock.now().date()
                                                  + dt.timedelta(days=7)).isoformat()

    org.clock.advance(601)
    before = writes(org)
    run = weekly(org, tmp_path, "--status")
    result = run.body["result"]
    assert result["state"] == "ready" and result["parts"] == []
    assert [f["name"] for f in result["files"]] == sorted(served(org), key=lambda n: int(
        n.split("_")[-1].split(".")[0]))
    assert all(f["id"].startswith("092") and f["size_text"] for f in result["files"])
    assert writes(org) == before, "reading the page writes nothing"
    assert not (tmp_path / "weekly").exists()


# --- the full cycle ------------------------------------------------------------------------------
def test_trigger_wait_download_several_parts_verified_and_recorded(org: Emulator,
                                                                   tmp_path: Path) -> None:
    svc(org).update({"part_size_bytes": 64 * 1024})
    dest = tmp_path / "backup"
    before = writes(org)
    run = weekly(org, tmp_path, "--dest", str(dest), "--trigger", "--parallel", "4",
                 "--no-include-files", "--replace-carriage-returns", "--extract")
    assert run.code == 0, run.output
    result = run.body["result"]
    assert result["triggered"] is True and result["state"] == "ready"
    assert writes(org) == before + 1, "Export Now is the one write"
    options = svc(org).current.options  # type: ignore[union-attr]
    assert options.encoding == "UTF-8" and options.include_attachments
    assert not options.include_files and options.replace_cr

    expected = served(org)
    assert len(expected) >= 3, "a 64 KB part size gives several parts"
    parts = {p["name"]: p for p in result["parts"]}
    assert set(parts) == set(expected)
    for name, data in expected.items():
        on_disk = dest / "weekly" / name
        assert on_disk.read_bytes() == data
        assert parts[name]["size"] == len(data) and parts[name]["sha256"] == sha(data)
        assert zipfile.ZipFile(on_disk).testzip() is None
    assert not list((dest / "weekly").glob("*.part"))

    manifest = json.loads((dest / "manifest.json").read_text(encoding="utf-8"))
    recorded = {w["name"]: w for w in manifest["weekly"]}
    assert set(recorded) == set(expected)
    assert all(recorded[n]["sha256"] == sha(d) and recorded[n]["size"] == len(d)
               and recorded[n]["path"] == f"weekly/{n}" for n, d in expected.items())

    extracted = dest / "weekly" / "extracted"
    assert (extracted / "Account.csv").exists()
    assert len(list((extracted / "Attachments").iterdir())) == testing.record_count(org,
                                                                                    "Attachment")

    # Run again: the parts on disk verify and are not downloaded again.
    run = weekly(org, tmp_path, "--dest", str(dest))
    assert run.code == 0 and all(p["reused"] for p in run.body["result"]["parts"])


def test_files_still_listed_are_saved_before_a_new_export(org: Emulator, tmp_path: Path) -> None:
    svc(org).update({"interval_days": 1})
    old = seed_ready(org, hours_ago=25)
    dest = tmp_path / "backup"
    run = weekly(org, tmp_path, "--dest", str(dest), "--trigger")
    assert run.code == 0, run.output
    result = run.body["result"]
    assert {p["name"]: p["sha256"] for p in result["previous_parts"]} == \
        {n: sha(d) for n, d in old.items()}
    for name, data in old.items():
        assert (dest / "weekly" / "previous" / name).read_bytes() == data
    new = served(org)
    assert {p["name"]: p["sha256"] for p in result["parts"]} == {n: sha(d) for n, d in new.items()}
    names = {w["name"] for w in json.loads((dest / "manifest.json").read_text())["weekly"]}
    assert names == {f"previous/{n}" for n in old} | set(new)


def test_a_trigger_that_cannot_save_the_old_files_requests_nothing(org: Emulator,
                                                                    tmp_path: Path) -> None:
    svc(org).update({"interval_days": 1})
    old = seed_ready(org, hours_ago=25)
    org.faults.html_instead_of_zip = True
    before = writes(org)
    run = weekly(org, tmp_path, "--dest", str(tmp_path / "b"), "--trigger")
    assert run.code == errors.EXIT_AUTH
    assert "no new export was requested" in run.body["message"]
    assert "--discard-old" in run.body["message"]
    assert writes(org) == before and served(org) == old

    run = weekly(org, tmp_path, "--dest", str(tmp_path / "b"), "--trigger", "--discard-old",
                 "--no-wait")
    assert run.code == 0, run.output
    assert run.body["result"]["triggered"] and run.body["result"]["state"] == "in_progress"
    assert any("discarded" in w for w in run.body["warnings"])
    assert writes(org) == before + 1


# --- refusals and faults -------------------------------------------------------------------------
def test_frequency_limit_exits_1_with_the_next_date_and_does_nothing(org: Emulator,
                                                                     tmp_path: Path) -> None:
    last = org.clock.now() - dt.timedelta(days=2)
    svc(org).set_last_export(last)
    before = writes(org)
    run = weekly(org, tmp_path, "--dest", str(tmp_path / "b"), "--trigger")
    assert run.code == 1
    assert run.body["name"] == "WeeklyTooSoon"
    allowed = (last.date() + dt.timedelta(days=7)).isoformat()
    assert f"next export allowed on or after {allowed}" in run.body["message"]
    assert last.date().isoformat() in run.body["message"]
    assert writes(org) == before
    assert org.stats()["requests_by_route"].get("dataexport_edit", 0) == 0, "form not even opened"
    assert svc(org).current is None and not any((tmp_path / "b").rglob("*.ZIP"))
    assert not (tmp_path / "b" / "manifest.json").exists()


def test_expired_links_give_a_clear_message(org: Emulator, tmp_path: Path) -> None:
    seed_ready(org)
    session = OrgSession(org.url, org.token, verify=str(org.ca_file))
    ui = open_ui_session(session)
    listed = read_status(ui).files
    assert listed
    org.clock.advance(48 * 3600)
    with pytest.raises(WeeklyFilesExpired, match="no longer available.*48 hours"):
        download_parts(ui, listed, tmp_path / "weekly")
    assert not list((tmp_path / "weekly").glob("*.ZIP"))

    run = weekly(org, tmp_path, "--dest", str(tmp_path / "b"))
    assert run.code == 0 and run.body["result"]["state"] == "none"
    assert any("no export files are listed" in w and "were deleted" in w
               for w in run.body["warnings"])


def test_a_login_page_instead_of_a_zip_is_an_auth_error(org: Emulator, tmp_path: Path) -> None:
    seed_ready(org)
    org.faults.html_instead_of_zip = True
    run = weekly(org, tmp_path, "--dest", str(tmp_path / "b"))
    assert run.code == errors.EXIT_AUTH and run.body["name"] == "AuthError"
    assert "login page" in run.body["message"]
    assert not list((tmp_path / "b").rglob("*.ZIP"))


def test_truncated_downloads_are_retried_to_identical_bytes(org: Emulator, tmp_path: Path) -> None:
    svc(org).update({"part_size_bytes": 1024 * 1024})
    expected = seed_ready(org, include_attachments=True)
    # Every part is cut once, halfway, by a connection reset. Whether the bytes before the cut
    # reach the client (then a Range resume, 206) or die with the reset (then a restart, 200)
    # is up to TCP timing; both must end in identical files. The Range path itself is pinned
    # down in tests/unit/test_weekly_page.py.
    svc(org).update({"truncate_downloads": len(expected)})
    run = weekly(org, tmp_path, "--dest", str(tmp_path / "b"), "--parallel", "2")
    assert run.code == 0, run.output
    assert svc(org).settings.truncate_downloads == 0, "the fault fired on every part"
    assert {p["name"]: p["sha256"] for p in run.body["result"]["parts"]} == \
        {n: sha(d) for n, d in expected.items()}


def test_close_to_expiry_is_warned(org: Emulator, tmp_path: Path) -> None:
    # The page gives the export's date only (and the emulator no user clock): sfexit assumes the
    # day began in UTC+14, so files of 15/01 may go from 16/01 10:00 UTC (24 h + 48 h - 14 h).
    org.clock.set(dt.datetime(2030, 1, 15, 12, 0, tzinfo=dt.UTC))
    seed_ready(org, hours_ago=1)
    run = weekly(org, tmp_path, "--status")
    assert run.code == 0 and not any("deleted" in w for w in run.body["warnings"])
    assert run.body["result"]["expires_no_earlier_than"] == "2030-01-16T10:00:00+00:00"
    org.clock.set(dt.datetime(2030, 1, 15, 23, 0, tzinfo=dt.UTC))
    run = weekly(org, tmp_path, "--status")
    assert any("may be deleted as soon as 2030-01-16 10:00 UTC" in w
               for w in run.body["warnings"])
    org.clock.advance(12 * 3600)
    run = weekly(org, tmp_path, "--status")
    assert run.body["result"]["state"] == "ready"
    assert any("may be deleted at any moment now" in w for w in run.body["warnings"])


def test_interstitial_frontdoor_and_lightning_links(org: Emulator, tmp_path: Path) -> None:
    expected = seed_ready(org)
    svc(org).update({"frontdoor_mode": "top", "lightning": True})
    run = weekly(org, tmp_path, "--dest", str(tmp_path / "b"))
    assert run.code == 0, run.output
    assert {p["name"]: p["sha256"] for p in run.body["result"]["parts"]} == \
        {n: sha(d) for n, d in expected.items()}


def test_ui_redirect_loop_is_an_auth_error_not_a_hang(org: Emulator, tmp_path: Path) -> None:
    svc(org).update({"redirect_loop": True})
    run = weekly(org, tmp_path, "--status")
    assert run.code == errors.EXIT_AUTH and "login page" in run.body["message"]


def test_wait_gives_up_after_the_timeout(org: Emulator, tmp_path: Path) -> None:
    svc(org).update({"never_completes": True})
    run = weekly(org, tmp_path, "--dest", str(tmp_path / "b"), "--trigger", "--timeout", "3600")
    assert run.code == 1 and run.body["name"] == "WeeklyTimeout"
    assert "still in progress after 60 minutes" in run.body["message"]


def test_usage_errors_are_one_line(org: Emulator, tmp_path: Path) -> None:
    run = weekly(org, tmp_path, "--discard-old")
    assert run.code == errors.EXIT_USAGE and "--trigger" in run.body["message"]
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    run = weekly(org, tmp_path, "--dest", str(blocker / "sub"))
    assert run.code == errors.EXIT_USAGE and "cannot write to" in run.body["message"]
    run = weekly(org, tmp_path, "--dest", str(tmp_path / "b"), "--trigger", "--encoding", "EBCDIC")
    assert run.code == errors.EXIT_USAGE and "Unicode (UTF-8)" in run.body["message"]
    assert svc(org).current is None


def test_session_expiry_mid_download_signs_in_again(org: Emulator, tmp_path: Path) -> None:
    svc(org).update({"part_size_bytes": 64 * 1024})
    expected = seed_ready(org, include_attachments=True)
    assert len(expected) >= 3
    # Every session dies after 8 uses: a few parts each (HEAD + GET), then the login page.
    org.faults.update({"expire_session_after_calls": 8})
    run = weekly(org, tmp_path, "--dest", str(tmp_path / "b"), "--parallel", "1")
    assert run.code == 0, run.output
    assert {p["name"]: p["sha256"] for p in run.body["result"]["parts"]} == \
        {n: sha(d) for n, d in expected.items()}
    assert org.stats()["requests_by_route"]["ui_frontdoor"] >= 2, "the UI session was reopened"


def test_debug_output_never_shows_the_token(org: Emulator, tmp_path: Path) -> None:
    import re

    from click.testing import CliRunner

    from sfexit.cli import cli

    seed_ready(org)
    config = write_config(tmp_path / "cfg", org, **password_profile(org))
    result = CliRunner().invoke(cli, ["--config", str(config), "-v", "export", "weekly",
                                      "--dest", str(tmp_path / "b")], env=password_env(org),
                           obj=on_org_clock(org))
    assert result.exit_code == 0, result.output
    text = result.stdout + result.stderr
    assert "/secur/frontdoor.jsp" in text, "the UI calls are in the debug log"
    assert not re.search(r"00D\w{12,15}!", text), "an access token leaked into the output"
    assert "sid=[REDACTED]" in text or "sid=" not in text


def test_a_read_only_session_cannot_press_export_now(org: Emulator) -> None:
    from sfexit.export.weekly import WeeklyOptions, request_export

    session = OrgSession(org.url, org.token, verify=str(org.ca_file), read_only=True)
    ui = open_ui_session(session)
    before = writes(org)
    with pytest.raises(errors.ReadOnlyViolation):
        request_export(ui, read_status(ui), WeeklyOptions())
    assert writes(org) == before and svc(org).current is None


def test_export_now_refused_on_post_is_too_soon_with_the_date(org: Emulator) -> None:
    """The page said Export Now was allowed, but by the POST it is not (another admin pressed
    it): the form comes back with the alert; sfexit reads the date from it."""
    from sfexit.export.weekly import WeeklyOptions, WeeklyTooSoon, request_export

    session = OrgSession(org.url, org.token, verify=str(org.ca_file))
    ui = open_ui_session(session)
    stale = read_status(ui)
    assert stale.export_now_enabled
    last = org.clock.now() - dt.timedelta(days=3)
    svc(org).set_last_export(last)
    before = writes(org)
    with pytest.raises(WeeklyTooSoon) as refused:
        request_export(ui, stale, WeeklyOptions())
    allowed = (last.date() + dt.timedelta(days=7)).isoformat()
    assert f"next export allowed on or after {allowed}" in refused.value.message
    assert writes(org) == before and svc(org).current is None


# --- the read-only UI session, and what is counted ---------------------------------------------
def test_a_read_only_status_run_posts_the_frontdoor_and_counts_ui_pages_apart(
        org: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from sfexit.export.weekly import STATUS_URL
    from sfexit.org.session import is_read_only_safe

    seed_ready(org)
    session = OrgSession(org.url, org.token, verify=str(org.ca_file), read_only=True)
    sent: list[tuple[str, str, Any]] = []
    real = session.http.raw_request  # type: ignore[attr-defined]

    def recording(method: str, url: str, **kwargs: Any) -> Any:
        sent.append((method, url, kwargs.get("data")))
        return real(method, url, **kwargs)

    monkeypatch.setattr(session.http, "raw_request", recording)
    ui = open_ui_session(session, ret_url=STATUS_URL)
    page = read_status(ui)
    assert page.files, "the seeded export is listed"
    method, url, form = sent[0]
    assert (method, url) == ("POST", org.url + "/secur/frontdoor.jsp")
    assert dict(form)["sid"] == org.token, "the token goes in the form body"
    assert not any(org.token in u for _m, u, _d in sent), "never in a URL"
    assert session.calls == 0 and session.ui_calls == len(sent) >= 2
    # The guard lets this one POST through, and nothing else of the kind.
    assert is_read_only_safe("POST", "/secur/frontdoor.jsp")
    assert not is_read_only_safe("POST", "/secur/logout.jsp")
    assert not is_read_only_safe("POST", "/secur/frontdoor.jsp/../setup")
    with pytest.raises(errors.ReadOnlyViolation):
        ui.post_form("/ui/setup/export/DataExportPage/e", [("save", "Start Export")])


def test_parts_record_their_file_id_and_export_date_and_only_api_calls_count(
        org: Emulator, tmp_path: Path) -> None:
    seed_ready(org)
    dest = tmp_path / "backup"
    run = weekly(org, tmp_path, "--dest", str(dest))
    assert run.code == 0, run.output
    result = run.body["result"]
    ids = {f["name"]: f["id"] for f in result["files"]}
    manifest = json.loads((dest / "manifest.json").read_text(encoding="utf-8"))
    assert {w["name"]: w["file_id"] for w in manifest["weekly"]} == ids
    assert all(i and i.startswith("092") for i in ids.values())
    assert {w["export_date"] for w in manifest["weekly"]} == {result["last_export"]} != {None}
    # HEAD + GET per part and the pages are UI requests; the manifest counts API calls only.
    assert result["ui_requests"] >= 2 * len(ids) + 2
    assert manifest["api_calls"] == result["api_calls"] < result["ui_requests"]


def test_trigger_without_a_terminal_says_what_it_waits_for_and_how_to_come_back(
        org: Emulator, tmp_path: Path) -> None:
    from click.testing import CliRunner

    from sfexit.cli import cli

    config = write_config(tmp_path / "cfg", org, **password_profile(org))
    run = CliRunner().invoke(cli, ["--config", str(config), "export", "weekly", "--dest",
                                   str(tmp_path / "b"), "--trigger", "--no-include-files"],
                             env=password_env(org), obj=on_org_clock(org))
    assert run.exit_code == 0, run.output
    err = run.stderr
    assert ("Waiting for the Data Export Service to list the export's files" in err
            and "`sfexit export weekly --wait` later picks it up" in err), err
    waited = [line for line in err.splitlines() if "waiting for the export's files" in line]
    # generation takes 10 minutes of emulator time; the polls back off: a line at most every
    # 30 s of it, each with how long it has waited
    assert len(waited) >= 5, err
    assert "waited 30 s" in waited[0] and "(Ctrl-C stops; --wait resumes)" in waited[0]
