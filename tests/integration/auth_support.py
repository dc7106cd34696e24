"""Shared helpers for the auth/session integration tests (CliRunner + the emulator over HTTPS)."""

from __future__ import annotations

import html.parser
import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
from click.testing import CliRunner, Result

from sfexit.cli import cli
from sfexit.cli.context import AppContext

FAKE_SF = Path(__file__).resolve().parents[1] / "fixtures" / "fake_sf"


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return json.dumps(str(value))


def write_config(tmp_path: Path, emulator: Any, name: str = "emu", *, ca: bool = True,
                 **profile: Any) -> Path:
    """A config file with one [orgs.NAME] profile pointing at the emulator."""
    values: dict[str, Any] = {"login_url": emulator.url}
    if ca:
        values["ca_bundle"] = emulator.ca_file
    values.update(profile)
    lines = [f'default_org = "{name}"', f"[orgs.{name}]"]
    lines += [f"{key} = {toml_value(v)}" for key, v in values.items() if v is not None]
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "config.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def password_env(emulator: Any) -> dict[str, str]:
    c = emulator.credentials
    return {"SFEXIT_PASSWORD": c.password, "SFEXIT_SECURITY_TOKEN": c.security_token,
            "SFEXIT_CLIENT_SECRET": c.consumer_secret}


def password_profile(emulator: Any) -> dict[str, Any]:
    c = emulator.credentials
    return {"auth": "password", "username": c.username, "consumer_key": c.consumer_key}


@dataclass
class Run:
    result: Result
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def code(self) -> int:
        return self.result.exit_code

    @property
    def output(self) -> str:
        return self.result.stdout + self.result.stderr


def on_org_clock(org: Any) -> AppContext:
    """The app context of a command run on the emulator's clock: its waits (Bulk polls,
    retries) advance the org's clock instead of sleeping, its monotonic clock counts those
    waits, and ``now`` is the org's time. The one way a test takes time out of a command:
    ``invoke(args, env, app=on_org_clock(org))`` (or CliRunner's ``obj=``)."""
    waited = [0.0]

    def sleep(seconds: float) -> None:
        waited[0] += seconds
        org.clock.advance(seconds)

    return AppContext(sleep=sleep, clock=lambda: waited[0], now=org.clock.now)


def invoke(args: list[str], env: dict[str, str] | None = None,
           app: AppContext | None = None) -> Run:
    """``sfexit --json ARGS`` through the real error boundary; the envelope parsed. ``app``:
    an :class:`AppContext` of the test's own, e.g. :func:`on_org_clock`."""
    result = CliRunner().invoke(cli, ["--json", *args], env=env or {}, obj=app)
    try:
        body = json.loads(result.stdout)
    except ValueError:
        raise AssertionError(f"no JSON envelope: {result.stdout!r} {result.stderr!r}") from None
    return Run(result, body)


def admin_get(emulator: Any, path: str, **params: Any) -> Any:
    response = requests.get(emulator.url + path, params=params, verify=str(emulator.ca_file),
                            headers={"Authorization": f"Bearer {emulator.token}"}, timeout=30)
    response.raise_for_status()
    return response.json()


def requests_total(emulator: Any) -> int:
    return int(emulator.stats()["requests_total"])


class _FormParser(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.action = a.get("action", "")
        if tag == "input" and a.get("type") == "hidden":
            self.fields[a["name"]] = a.get("value", "")


def drive_browser_login(emulator: Any, url: str, username: str, password: str) -> int:
    """Play the person at the browser: open the authorize URL, fill the login form, follow the
    redirect to sfexit's loopback listener. Returns the listener's HTTP status."""
    browser = requests.Session()          # keeps the org's session cookie, as a browser does
    browser.verify = str(emulator.ca_file)
    browser.trust_env = False               # else REQUESTS_CA_BUNDLE overrides verify
    page = browser.get(url, timeout=30)     # the authorize URL redirects to the login page
    page.raise_for_status()
    form = _FormParser()
    form.feed(page.text)
    answer = browser.post(emulator.url + form.action,
                          data={**form.fields, "username": username, "pw": password},
                          allow_redirects=False, timeout=30)
    # logged in: back to the authorize URL, which redirects to sfexit's listener
    while answer.status_code == 302 and answer.headers["Location"].startswith(emulator.url):
        answer = browser.get(answer.headers["Location"], allow_redirects=False, timeout=30)
    assert answer.status_code == 302, answer.text
    return requests.get(answer.headers["Location"], timeout=30).status_code


class BrowserThread:
    """A stand-in for ``webbrowser.open``: drives the login in a thread, as a browser would."""

    def __init__(self, emulator: Any, username: str, password: str) -> None:
        self.emulator, self.username, self.password = emulator, username, password
        self.urls: list[str] = []
        self.statuses: list[int] = []
        self.threads: list[threading.Thread] = []

    def __call__(self, url: str, *args: Any, **kwargs: Any) -> bool:
        self.urls.append(url)

        def run() -> None:
            self.statuses.append(drive_browser_login(self.emulator, url, self.username,
                                                     self.password))

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        self.threads.append(thread)
        return True

    def join(self) -> None:
        for thread in self.threads:
            thread.join(30)


def writes(org: Any) -> int:
    """Writes the emulated org has accepted so far (its stats are exact before a response)."""
    return int(org.stats()["writes"])

