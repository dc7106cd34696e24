"""``sfexit archive serve``: Datasette opens the archive with its labels, over real HTTP, and
renders in headless Chromium (screenshots kept in ``$ARCHIVE_SCREENSHOT_DIR`` when set).

The HTTP checks run wherever Datasette is installed (the ``test`` extra has it); the browser
checks skip when Chromium is absent (CI installs it: ``.ci/run``).
"""

from __future__ import annotations

import html
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from export_support import clock_sleep, session_for

from sfexit.archive import build_archive
from sfexit.export.backup import run_backup
from sfexit.export.data_run import ExportOptions
from sfexit_emulator import testing

pytest.importorskip("datasette", reason="the archive extra (Datasette) is not installed")

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def archive(emulator: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    base = tmp_path_factory.mktemp("archive-browse")
    run_backup(session_for(emulator), ExportOptions(dest=base / "backup"), files=True,
               sleep=clock_sleep(emulator))
    build_archive(base / "backup", base / "ARCHIVE")
    return base / "ARCHIVE"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def served(archive: Path) -> Iterator[str]:
    """``sfexit archive serve`` as a person runs it; the URL it prints."""
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "sfexit", "archive", "serve", str(archive), "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        first = process.stdout.readline() if process.stdout else ""
        assert f"at http://127.0.0.1:{port}/" in first, first
        url = first.split(" at ", 1)[1].split(" ", 1)[0]
        seen = []
        # Read the server's log until it listens (EOF ends the loop if it dies): no sleeping.
        for line in process.stderr or ():
            seen.append(line)
            if "Uvicorn running" in line:
                break
        assert process.poll() is None, "".join(seen)
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def account_with_files(archive: Path) -> tuple[str, str, list[str]]:
    import sqlite3

    conn = sqlite3.connect(f"{(archive / 'archive.sqlite').as_uri()}?mode=ro", uri=True)
    try:
        record, = conn.execute("SELECT record_id FROM _sfexit_files WHERE record_object = "
                               "'Account' ORDER BY record_id LIMIT 1").fetchone()
        name, = conn.execute("SELECT Name FROM Account WHERE Id = ?", [record]).fetchone()
        files = [r[0] for r in conn.execute("SELECT name FROM _sfexit_files WHERE record_id = ?",
                                            [record])]
    finally:
        conn.close()
    return record, name, files


def test_datasette_serves_the_account_table_with_its_labels(served: str, emulator: Any) -> None:
    described = testing.describe(emulator, "Account")
    page = requests.get(served + "archive/Account", timeout=30)
    assert page.status_code == 200
    assert f"{described['labelPlural']} (Account)" in page.text
    revenue = next(f for f in described["fields"] if f["name"] == "AnnualRevenue")
    assert f"{revenue['label']} (currency)" in page.text
    rows = requests.get(served + "archive/Account.json", params={"_shape": "array",
                                                                 "_size": "max"}, timeout=30)
    assert len(rows.json()) == testing.record_count(emulator, "Account")


def test_datasette_serves_one_record_and_its_files(served: str, archive: Path) -> None:
    record, name, files = account_with_files(archive)
    row = requests.get(f"{served}archive/Account/{record}", timeout=30)
    assert row.status_code == 200
    assert record in row.text
    listed = requests.get(f"{served}archive/_sfexit_files.json",
                          params={"record_id": record, "_shape": "array"}, timeout=30).json()
    assert sorted(f["name"] for f in listed) == sorted(files) and files
    for f in listed:
        assert (archive / f["path"]).stat().st_size == f["size"]
    named = requests.get(f"{served}archive/files_of_record", params={"record_id": record},
                         timeout=30)
    assert named.status_code == 200 and "Files of a record" in named.text
    assert all(html.escape(n, quote=False) in named.text for n in files)


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed "
                                             "(apt-get update && apt-get install -y chromium)")
@pytest.mark.parametrize("page", ["account", "record", "files"])
def test_the_pages_render_in_headless_chromium(served: str, archive: Path, tmp_path: Path,
                                               page: str) -> None:
    record, _name, _files = account_with_files(archive)
    url = {"account": f"{served}archive/Account",
           "record": f"{served}archive/Account/{record}",
           "files": f"{served}archive/files_of_record?record_id={record}"}[page]
    png = tmp_path / f"archive-{page}.png"
    height = 4200 if page == "account" else 1600     # the table sits below the field labels
    with tempfile.TemporaryDirectory() as profile:
        done = subprocess.run([str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}",
                               f"--screenshot={png}", f"--window-size=1280,{height}", url],
                              capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert png.read_bytes()[:8] == PNG_MAGIC and png.stat().st_size > 20_000
    keep = os.environ.get("ARCHIVE_SCREENSHOT_DIR")
    if keep:
        Path(keep).mkdir(parents=True, exist_ok=True)
        shutil.copy(png, Path(keep) / png.name)


_WITHOUT_DATASETTE = """
import sys
class Block:
    def find_spec(self, name, path=None, target=None):
        if name == "datasette" or name.startswith("datasette."):
            raise ModuleNotFoundError(f"No module named {name!r}")
sys.meta_path.insert(0, Block())
from sfexit.cli import main
sys.argv = ["sfexit", *sys.argv[1:]]
main()
"""


def test_serve_without_the_archive_extra_exits_2_naming_it(archive: Path) -> None:
    done = subprocess.run([sys.executable, "-c", _WITHOUT_DATASETTE, "archive", "serve",
                           str(archive)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and "sfexit[archive]" in lines[0], lines
    assert done.stdout == ""
