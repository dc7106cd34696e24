"""The emulator's Data Export Service, driven over real HTTPS the way a browser does it.

The Export Now form is filled by its visible ``<label>`` texts, with every hidden input replayed
as served: these tests never use a field name of the form (the names are the emulator's own).
The emulator clock is advanced instead of sleeping.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import pytest
import requests

from sfexit_emulator import Emulator
from sfexit_emulator.routes.dataexport import service

PAGE = "/ui/setup/export/DataExportPage/d"
SERVLET = "/servlet/servlet.OrgExport"
ALERT = re.compile(r"alert\('(The most recent export was performed on [^']*)'\)")


# --- a tiny browser -------------------------------------------------------------------------------
@dataclass
class Control:
    tag: str
    attrs: dict[str, str]
    options: list[tuple[str, str, bool]] = field(default_factory=list)  # value, label, selected

    @property
    def kind(self) -> str:
        return self.attrs.get("type", "text").lower() if self.tag == "input" else self.tag


@dataclass
class Form:
    attrs: dict[str, str]
    controls: list[Control] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)   # for-id -> text


class PageParser(HTMLParser):
    """Forms (with controls and labels), ``a.actionLink`` hrefs, buttons, h1 and title."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.labels: dict[str, str] = {}
        self.links: list[dict[str, str]] = []
        self.inputs: list[dict[str, str]] = []
        self.h1: list[str] = []
        self.title = ""
        self._form: Form | None = None
        self._select: Control | None = None
        self._option: dict[str, str] | None = None
        self._label_for: str | None = None
        self._text: list[str] = []
        self._capture: str | None = None

    def handle_starttag(self, tag: str, attrs_list: list[tuple[str, str | None]]) -> None:
        attrs = {k: (v if v is not None else "") for k, v in attrs_list}
        if tag == "form":
            self._form = Form(attrs)
            self.forms.append(self._form)
        elif tag in ("input", "select"):
            control = Control(tag, attrs)
            if tag == "input":
                self.inputs.append(attrs)
            if self._form is not None:
                self._form.controls.append(control)
            if tag == "select":
                self._select = control
        elif tag == "option":
            self._option, self._text = attrs, []
        elif tag == "label":
            self._label_for, self._text = attrs.get("for"), []
        elif tag == "a" and "actionLink" in attrs.get("class", "").split():
            self.links.append(attrs)
        elif tag in ("h1", "title"):
            self._capture, self._text = tag, []

    def handle_endtag(self, tag: str) -> None:
        text = "".join(self._text).strip()
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "option" and self._option is not None and self._select is not None:
            self._select.options.append((self._option.get("value", text), text,
                                         "selected" in self._option))
            self._option = None
        elif tag == "label" and self._label_for:
            self.labels[self._label_for] = text
            self._label_for = None
        elif tag == self._capture:
            if tag == "h1":
                self.h1.append(text)
            else:
                self.title = text
            self._capture = None

    def handle_data(self, data: str) -> None:
        self._text.append(data)


def parse(text: str) -> PageParser:
    parser = PageParser()
    parser.feed(text)
    parser.close()
    for form in parser.forms:
        form.labels = dict(parser.labels)
    return parser


class FilledForm:
    """A browser's view of one form: options set by label, submitted by a button's caption."""

    def __init__(self, form: Form) -> None:
        self.form = form
        self.checked: dict[int, bool] = {}
        self.selected: dict[int, str] = {}
        for index, control in enumerate(form.controls):
            if control.kind in ("checkbox", "radio"):
                self.checked[index] = "checked" in control.attrs
            elif control.kind == "select":
                chosen = [v for v, _label, sel in control.options if sel]
                self.selected[index] = chosen[0] if chosen else control.options[0][0]

    def _by_label(self, text: str) -> int:
        ids = [key for key, value in self.form.labels.items() if value == text]
        for index, control in enumerate(self.form.controls):
            if control.attrs.get("id") in ids:
                return index
        raise KeyError(f"no control labelled {text!r}; labels: {sorted(self.form.labels.values())}")

    def check(self, label: str, on: bool = True) -> None:
        self.checked[self._by_label(label)] = on

    def choose(self, label: str, option_label: str) -> None:
        index = self._by_label(label)
        options = self.form.controls[index].options
        self.selected[index] = next(v for v, text, _sel in options if text == option_label)

    def labels(self) -> list[str]:
        return list(self.form.labels.values())

    def payload(self, button: str) -> list[tuple[str, str]]:
        out: list[tuple[str, str]] = []
        clicked = False
        for index, control in enumerate(self.form.controls):
            name = control.attrs.get("name")
            if not name or "disabled" in control.attrs:
                continue
            kind = control.kind
            if kind in ("checkbox", "radio"):
                if self.checked[index]:
                    out.append((name, control.attrs.get("value", "on")))
            elif kind == "select":
                out.append((name, self.selected[index]))
            elif kind in ("submit", "image"):
                if control.attrs.get("value") == button and not clicked:
                    out.append((name, control.attrs.get("value", "")))
                    clicked = True
            elif kind in ("button", "reset", "file"):
                continue
            else:
                out.append((name, control.attrs.get("value", "")))
        assert clicked, f"no submit button {button!r}"
        return out


def form_with_button(page: PageParser, caption: str) -> Form:
    for form in page.forms:
        if any(c.kind == "submit" and c.attrs.get("value") == caption for c in form.controls):
            return form
    raise AssertionError(f"no form with a {caption!r} button")


class Browser:
    def __init__(self, org: Emulator, token: str | None = None) -> None:
        self.org = org
        self.http = requests.Session()
        self.http.verify = str(org.ca_file)
        self.http.trust_env = False   # REQUESTS_CA_BUNDLE would override the session's verify
        self.token = token or org.token

    def url(self, path: str) -> str:
        return urljoin(self.org.url, path)

    def login(self, ret: str = PAGE) -> requests.Response:
        response = self.http.get(self.url("/secur/frontdoor.jsp"),
                                 params={"sid": self.token, "retURL": ret})
        assert response.status_code == 200, response.text[:300]
        return response

    def get(self, path: str, **kw: Any) -> requests.Response:
        return self.http.get(self.url(path), **kw)

    def page(self) -> tuple[requests.Response, PageParser]:
        response = self.get(PAGE)
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/html")
        return response, parse(response.text)

    def export_form(self) -> tuple[FilledForm, str]:
        _response, page = self.page()
        buttons = [i for i in page.inputs if i.get("value") == "Export Now"]
        assert buttons and "disabled" not in buttons[0], "Export Now is disabled"
        target = re.search(r"navigateToUrl\('([^']+)'", buttons[0]["onclick"]).group(1)  # type: ignore[union-attr]
        response = self.get(target)
        assert response.status_code == 200
        form = form_with_button(parse(response.text), "Start Export")
        return FilledForm(form), response.url

    def submit(self, filled: FilledForm, base: str, button: str = "Start Export",
               **kw: Any) -> requests.Response:
        action = urljoin(base, filled.form.attrs.get("action") or base)
        method = (filled.form.attrs.get("method") or "GET").upper()
        assert method == "POST"
        return self.http.post(action, data=filled.payload(button), **kw)

    def trigger(self, *, attachments: bool = False, files: bool = False, replace_cr: bool = False,
                encoding: str | None = None) -> requests.Response:
        filled, base = self.export_form()
        if attachments:
            filled.check("Include images, documents, and attachments")
        if files:
            filled.check("Include Salesforce Files and Salesforce CRM Content document versions")
        if replace_cr:
            filled.check("Replace carriage returns with spaces")
        if encoding:
            filled.choose("Export File Encoding", encoding)
        return self.submit(filled, base, allow_redirects=False)

    def links(self) -> list[str]:
        _response, page = self.page()
        return [link["href"] for link in page.links]

    def index(self) -> list[str]:
        response = self.http.post(self.url(SERVLET))
        assert response.status_code == 200
        assert response.headers["Content-Type"].startswith("text/plain")
        return [line.strip() for line in response.text.strip().split("\n") if line.strip()]


@pytest.fixture
def org(fresh_emulator: Emulator) -> Emulator:
    return fresh_emulator


def _settings(org: Emulator, **knobs: Any) -> None:
    assert org.app is not None
    service(org.app).update(knobs)


def _admin(org: Emulator, body: dict[str, Any] | None = None) -> dict[str, Any]:
    url = org.url + "/__emulator__/dataexport"
    if body is None:
        response = requests.get(url, verify=str(org.ca_file), timeout=60)
    else:
        response = requests.post(url, json=body, verify=str(org.ca_file), timeout=60)
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


def _ready(browser: Browser, **options: Any) -> list[str]:
    """Trigger an export, let its generation time pass, and return the page's links."""
    response = browser.trigger(**options)
    assert response.status_code == 302, response.text[:500]
    browser.org.clock.advance(601)
    links = browser.links()
    assert links
    return links


# --- frontdoor and the login redirect -------------------------------------------------------------
def test_frontdoor_sets_the_sid_cookie_and_opens_the_page(emulator: Emulator) -> None:
    browser = Browser(emulator)
    first = browser.http.get(browser.url("/secur/frontdoor.jsp"),
                             params={"sid": browser.token, "retURL": PAGE}, allow_redirects=False)
    assert first.status_code == 302
    assert urlsplit(first.headers["Location"]).path == PAGE
    cookie = first.headers["Set-Cookie"]
    assert f"sid={browser.token}" in cookie and "Secure" in cookie and "HttpOnly" in cookie
    response = browser.get(PAGE)
    page = parse(response.text)
    assert page.h1 == ["Weekly Export Service"]
    assert '<div class="messageText"><h4>Next scheduled export:</h4>None</div>' in response.text
    export_now = [i for i in page.inputs if i.get("value") == "Export Now"][0]
    assert export_now["class"] == "btn" and "disabled" not in export_now
    assert ("navigateToUrl('/ui/setup/export/DataExportPage/e?retURL=%2Fui%2Fsetup%2Fexport%2F"
            "DataExportPage%2Fd',null,'edit');") in export_now["onclick"]
    assert 'id="export_delivery"' not in response.text and 'class="list"' not in response.text
    assert browser.index() == []


def test_frontdoor_post_form_and_script_interstitial(org: Emulator) -> None:
    browser = Browser(org)
    response = browser.http.post(browser.url("/secur/frontdoor.jsp"),
                                 data={"sid": browser.token, "retURL": PAGE})
    assert response.status_code == 200 and response.url.endswith(PAGE)
    _settings(org, frontdoor_mode="replace")
    other = Browser(org)
    response = other.http.get(other.url("/secur/frontdoor.jsp"),
                              params={"sid": other.token, "retURL": PAGE}, allow_redirects=False)
    assert response.status_code == 200
    assert f"window.location.replace('{PAGE}')" in response.text
    assert other.get(PAGE).status_code == 200          # the cookie was set by the interstitial
    _settings(org, frontdoor_mode="top")
    response = Browser(org).http.get(org.url + "/secur/frontdoor.jsp",
                                     params={"sid": org.token, "retURL": PAGE},
                                     allow_redirects=False)
    assert f"top.window.location='{PAGE}';" in response.text


def test_ui_without_a_session_redirects_to_the_login_page(emulator: Emulator) -> None:
    browser = Browser(emulator)
    for path in (PAGE, "/ui/setup/export/DataExportPage/e", SERVLET,
                 SERVLET + "?fileName=WE_x_1.ZIP&id=0925g0000000001"):
        response = browser.get(path, allow_redirects=False)
        assert response.status_code == 302, path
        location = urlsplit(response.headers["Location"])
        assert location.path == "/" and location.query.startswith("ec=302&startURL=%2F")
    landed = browser.get(PAGE)
    assert landed.status_code == 200
    assert "<title>Login | Salesforce</title>" in landed.text
    assert urlsplit(landed.url).query == "ec=302&startURL=%2Fui%2Fsetup%2Fexport%2FDataExportPage%2Fd"
    # A bad token at the frontdoor: login page, no cookie.
    bad = browser.http.get(browser.url("/secur/frontdoor.jsp"),
                           params={"sid": "00D000000000001!AQnope", "retURL": PAGE},
                           allow_redirects=False)
    assert bad.status_code == 302 and "Set-Cookie" not in bad.headers
    assert urlsplit(bad.headers["Location"]).path == "/"
    # Only relative retURLs are followed.
    evil = browser.http.get(browser.url("/secur/frontdoor.jsp"),
                            params={"sid": browser.token, "retURL": "https://evil.example/x"},
                            allow_redirects=False)
    assert urlsplit(evil.headers["Location"]).netloc == urlsplit(emulator.url).netloc
    assert urlsplit(evil.headers["Location"]).path == "/home/home.jsp"


def test_revoked_token_cookie_gets_the_login_page(org: Emulator) -> None:
    token = org.new_token()
    browser = Browser(org, token)
    browser.login()
    assert org.app is not None
    org.app.auth.revoke(token)
    response = browser.get(PAGE)
    assert "<title>Login | Salesforce</title>" in response.text
    # The login form itself works and returns to the page.
    assert org.credentials is not None
    login = browser.http.post(org.url + "/", data={
        "username": org.credentials.username, "pw": org.credentials.password,
        "startURL": PAGE})
    assert login.status_code == 200 and parse(login.text).h1 == ["Weekly Export Service"]


# --- the full cycle ----------------------------------------------------------------------------------
def test_full_cycle_form_by_label_parts_head_get_and_content(org: Emulator) -> None:
    _settings(org, part_size_bytes=64 * 1024)
    browser = Browser(org)
    browser.login()
    filled, _base = browser.export_form()
    for label in ("Include images, documents, and attachments",
                  "Include Salesforce Files and Salesforce CRM Content document versions",
                  "Replace carriage returns with spaces", "Include all data", "Export File Encoding"):
        assert label in filled.labels()
    encoding_options = [text for ctl in filled.form.controls if ctl.kind == "select"
                        for _v, text, _s in ctl.options]
    assert "ISO-8859-1 (General US & Western European, ISO-LATIN-1)" in encoding_options
    assert "Unicode (UTF-8)" in encoding_options
    hidden = [c.attrs["name"] for c in filled.form.controls if c.kind == "hidden"]
    assert "_CONFIRMATIONTOKEN" in hidden and "retURL" in hidden and "save_new_url" in hidden

    org.reset_stats()
    response = browser.trigger(attachments=True)
    assert response.status_code == 302
    assert urlsplit(response.headers["Location"]).path == PAGE

    text = browser.get(PAGE).text
    assert "A data export is currently in progress for your organization" in text
    assert 'class="btnDisabled"' in text and 'id="export_delivery"' in text
    assert browser.index() == [] and 'class="actionLink"' not in text

    org.clock.advance(601)
    response, page = browser.page()
    links = [a["href"] for a in page.links]
    org18 = org.org_id
    assert len(org18) == 18
    assert len(links) >= 3, "a 64 KB part size must give several parts"
    names = [re.search(r"fileName=([^&]+)", href).group(1) for href in links]  # type: ignore[union-attr]
    assert names == [f"WE_{org18}_{n}.ZIP" for n in range(1, len(links) + 1)]
    ids = [re.search(r"&id=(\w+)$", href).group(1) for href in links]  # type: ignore[union-attr]
    assert len(set(ids)) == len(ids) and all(i.startswith("092") and len(i) == 15 for i in ids)
    assert f'fileName={names[0]}&amp;id={ids[0]}" class="actionLink"' in response.text
    assert browser.index() == links
    sizes = re.findall(r'<td class=" dataCell  ">([0-9.]+[BKMG])</td>', response.text)
    assert len(sizes) == len(links)

    entries: dict[str, bytes] = {}
    for href, size_label in zip(links, sizes):
        head = browser.http.head(browser.url(href))
        assert head.status_code == 200
        assert head.headers["Content-Type"] == "application/zip"
        length = int(head.headers["Content-Length"])
        body = browser.get(href).content
        assert len(body) == length
        assert size_label.endswith("K") or size_label.endswith("M")
        with zipfile.ZipFile(io.BytesIO(body)) as part:
            assert part.testzip() is None
            for name in part.namelist():
                entries[name] = part.read(name)
    # Stats are counted just after a response is sent: by now the POST is long counted.
    assert org.stats()["writes"] == 1, "the trigger is a write; page views and downloads are not"

    assert "Account.csv" in entries and "Contact.csv" in entries
    rows = list(csv.reader(io.StringIO(entries["Account.csv"].decode("iso-8859-1"), newline="")))
    assert rows[0][0] == "Id" and "Name" in rows[0]
    assert len(rows) - 1 == org.store.record_count("Account")
    attachments = [n for n in entries if n.startswith("Attachments/")]
    assert len(attachments) == org.store.record_count("Attachment") > 0
    first = attachments[0].split("/", 1)[1]
    expected = b"".join(org.store.blob("Attachment", first, "Body").chunks())
    assert entries[attachments[0]] == expected
    assert not any(n.startswith("ContentVersion/") for n in entries)
    assert "ContentVersion.csv" not in entries


def test_encoding_and_replace_carriage_returns(org: Emulator) -> None:
    browser = Browser(org)
    browser.login()
    links = _ready(browser, encoding="Unicode (UTF-8)", replace_cr=True, files=True)
    entries: dict[str, bytes] = {}
    for href in links:
        with zipfile.ZipFile(io.BytesIO(browser.get(href).content)) as part:
            entries.update({n: part.read(n) for n in part.namelist()})
    assert any(n.startswith("ContentVersion/") for n in entries)
    for name, data in entries.items():
        if not name.endswith(".csv"):
            continue
        text = data.decode("utf-8")
        rows = list(csv.reader(io.StringIO(text, newline="")))
        assert len(text.rstrip("\n").split("\n")) == len(rows), name   # no line break in a value
    assert any(ord(ch) > 255 for name, data in entries.items() if name.endswith(".csv")
               for ch in data.decode("utf-8")), "the seed's non-Latin text survives UTF-8"


# --- limits, expiry, replacement ----------------------------------------------------------------------
def test_frequency_limit_refuses_a_second_export(org: Emulator) -> None:
    browser = Browser(org)
    browser.login()
    requested = org.clock.now()
    links = _ready(browser)
    org.clock.advance(86400)
    response, page = browser.page()
    export_now = [i for i in page.inputs if i.get("value") == "Export Now"][0]
    assert export_now["class"] == "btnDisabled" and "disabled" in export_now
    alert = ALERT.search(response.text)
    assert alert is not None
    assert alert.group(1) == (
        f"The most recent export was performed on {requested.strftime('%d/%m/%Y')}. Export files "
        "are available for 48 hours after they are completed. You must wait 7 days from the time "
        "of the last export before you can use the service again.")
    # A client posting the form anyway (kept from earlier) is refused; nothing is deleted.
    form_page = browser.get("/ui/setup/export/DataExportPage/e?retURL=%2Fui%2Fsetup%2Fexport%2F"
                            "DataExportPage%2Fd")
    filled_form = FilledForm(form_with_button(parse(form_page.text), "Start Export"))
    org.reset_stats()
    refused = browser.submit(filled_form, form_page.url, allow_redirects=False)
    assert refused.status_code == 200
    assert "You must wait 7 days" in refused.text
    assert org.stats()["writes"] == 0
    assert browser.links() == links and browser.index() == links
    # After the interval, Export Now is back.
    org.clock.advance(6 * 86400 + 1)
    _response, page = browser.page()
    assert [i for i in page.inputs if i.get("value") == "Export Now"][0]["class"] == "btn"


def test_files_expire_after_48_hours(org: Emulator) -> None:
    browser = Browser(org)
    browser.login()
    links = _ready(browser)
    org.clock.advance(47 * 3600)
    assert browser.links() == links
    org.clock.advance(3600)
    response, page = browser.page()
    assert page.links == [] and 'id="export_delivery"' not in response.text
    assert browser.index() == []
    gone = browser.get(links[0])
    assert gone.status_code == 404
    assert gone.headers["Content-Type"].startswith("text/html")
    assert "Data Not Available" in gone.text


def test_a_new_export_deletes_the_previous_files(org: Emulator) -> None:
    state = _admin(org, {"settings": {"interval_days": 1}})
    assert state["settings"]["interval_days"] == 1
    browser = Browser(org)
    browser.login()
    old = _ready(browser)
    org.clock.advance(86400)
    assert browser.links() == old            # still listed, 1 day < 48 h
    assert browser.trigger().status_code == 302
    assert browser.index() == []             # in progress: the old files are gone already
    assert browser.get(old[0]).status_code == 404
    org.clock.advance(601)
    new = browser.links()
    assert new and set(new).isdisjoint(old)


def test_seeded_previous_export_and_last_export_date(org: Emulator) -> None:
    now = org.clock.now()
    state = _admin(org, {"seed_export": {"requested_at": (now - dt.timedelta(hours=2)).isoformat(),
                                         "include_attachments": True}})
    assert state["state"] == "ready" and state["run"]["files"]
    browser = Browser(org)
    browser.login()
    assert len(browser.links()) == len(state["run"]["files"])
    state = _admin(org, {"reset": True, "last_export_at": (now - dt.timedelta(days=3)).isoformat()})
    assert state["state"] == "none" and state["refusal"].startswith("The most recent export")
    assert 'class="btnDisabled"' in browser.get(PAGE).text


# --- downloads: faults and Range ---------------------------------------------------------------------
def test_html_login_page_instead_of_zip(org: Emulator) -> None:
    browser = Browser(org)
    browser.login()
    links = _ready(browser)
    org.faults.html_instead_of_zip = True
    response = browser.get(links[0])
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    assert "<title>Login | Salesforce</title>" in response.text


def test_range_requests_get_206(org: Emulator) -> None:
    browser = Browser(org)
    browser.login()
    href = _ready(browser)[0]
    full = browser.get(href)
    assert full.headers["Accept-Ranges"] == "bytes"
    size = len(full.content)
    part = browser.get(href, headers={"Range": "bytes=10-99"})
    assert part.status_code == 206
    assert part.headers["Content-Range"] == f"bytes 10-99/{size}"
    assert part.content == full.content[10:100]
    tail = browser.get(href, headers={"Range": "bytes=-20"})
    assert tail.status_code == 206 and tail.content == full.content[-20:]
    rest = browser.get(href, headers={"Range": f"bytes={size - 5}-"})
    assert rest.content == full.content[-5:]
    beyond = browser.get(href, headers={"Range": f"bytes={size}-"})
    assert beyond.status_code == 416 and beyond.headers["Content-Range"] == f"bytes */{size}"


def test_truncated_download_and_redirect_loop(org: Emulator) -> None:
    browser = Browser(org)
    browser.login()
    href = _ready(browser)[0]
    _settings(org, truncate_downloads=1)
    with pytest.raises(requests.exceptions.RequestException):
        browser.get(href).content  # noqa: B018 - reading the body raises
    assert len(browser.get(href).content) == int(browser.http.head(browser.url(href))
                                                 .headers["Content-Length"])
    _settings(org, redirect_loop=True)
    with pytest.raises(requests.exceptions.TooManyRedirects):
        browser.get(PAGE)


# --- the form's confirmation token ---------------------------------------------------------------------
def test_wrong_confirmation_token_is_refused(org: Emulator) -> None:
    browser = Browser(org)
    browser.login()
    filled, base = browser.export_form()
    token = next(c for c in filled.form.controls if c.attrs.get("name") == "_CONFIRMATIONTOKEN")
    token.attrs["value"] = token.attrs["value"][:-4] + "AAAA"
    org.reset_stats()
    response = browser.submit(filled, base, allow_redirects=False)
    assert response.status_code == 200
    assert "invalid for your session" in response.text
    assert org.stats()["writes"] == 0
    assert _admin(org)["state"] == "none"
    # Another session's valid token is refused too.
    other = Browser(org, org.new_token())
    other.login()
    theirs, _ = other.export_form()
    filled_ok, base = browser.export_form()
    mine = next(c for c in filled_ok.form.controls if c.attrs.get("name") == "_CONFIRMATIONTOKEN")
    mine.attrs["value"] = next(c for c in theirs.form.controls
                               if c.attrs.get("name") == "_CONFIRMATIONTOKEN").attrs["value"]
    assert browser.submit(filled_ok, base, allow_redirects=False).status_code == 200
    assert _admin(org)["state"] == "none"


def test_cancel_starts_nothing(org: Emulator) -> None:
    browser = Browser(org)
    browser.login()
    filled, base = browser.export_form()
    response = browser.submit(filled, base, button="Cancel", allow_redirects=False)
    assert response.status_code == 302 and _admin(org)["state"] == "none"


# --- variants ---------------------------------------------------------------------------------------
def test_monthly_and_lightning_variants(org: Emulator) -> None:
    _settings(org, monthly=True)
    browser = Browser(org)
    browser.login()
    response, page = browser.page()
    assert page.h1 == ["Monthly Export Service"]
    assert page.title == "Monthly Export Service ~ Salesforce - Developer Edition"
    links = _ready(browser)
    assert all(re.search(r"fileName=WE_\w{18}_\d+\.ZIP", href) for href in links)
    _settings(org, lightning=True)
    _response, page = browser.page()
    assert all(a["href"].startswith("javascript:srcUp(%27%2Fservlet%2Fservlet.OrgExport%3FfileName")
               for a in page.links)
    shell = browser.get("/lightning/setup/DataManagementExport/home")
    assert shell.status_code == 200 and "<iframe" in shell.text
    text = browser.get(PAGE).text
    assert "You must wait 29 days" in text and 'class="btnDisabled"' in text


def test_selected_objects_only_and_an_export_that_never_completes(org: Emulator) -> None:
    browser = Browser(org)
    browser.login()
    filled, base = browser.export_form()
    options = {"Export File Encoding", "Include images, documents, and attachments",
               "Include Salesforce Files and Salesforce CRM Content document versions",
               "Replace carriage returns with spaces"}
    for label in filled.labels():
        if label not in options:
            filled.check(label, label in ("Account", "Contact"))
    assert browser.submit(filled, base, allow_redirects=False).status_code == 302
    org.clock.advance(601)
    names: list[str] = []
    for href in browser.links():
        with zipfile.ZipFile(io.BytesIO(browser.get(href).content)) as part:
            names += part.namelist()
    assert sorted(names) == ["Account.csv", "Contact.csv"]

    _settings(org, interval_days=0, never_completes=True)
    assert browser.trigger().status_code == 302
    org.clock.advance(30 * 86400)
    text = browser.get(PAGE).text
    assert "A data export is currently in progress" in text and browser.index() == []


def _user_with_profile(org: Emulator, profile: str) -> str:
    cursor = org.store.query("SELECT Id FROM User WHERE IsActive = true AND Profile.Name = "
                             f"'{profile}' LIMIT 1", now=org.clock.now())
    return str(next(iter(cursor.rows()))[0])


def test_permissions_insufficient_privileges_and_api_only(org: Emulator) -> None:
    standard = Browser(org, org.new_token(_user_with_profile(org, "Standard User")))
    standard.login()
    response = standard.get(PAGE)
    assert "Insufficient Privileges" in response.text and "Weekly Export Service" not in response.text
    assert "Insufficient Privileges" in standard.get(SERVLET).text
    _settings(org, api_only_blocks_ui=True)
    integration = org.new_token(_user_with_profile(org, "Salesforce API Only System Integrations"))
    response = Browser(org, integration).http.get(
        org.url + "/secur/frontdoor.jsp", params={"sid": integration, "retURL": PAGE},
        allow_redirects=False, verify=str(org.ca_file))
    assert response.status_code == 302 and "Set-Cookie" not in response.headers
    assert urlsplit(response.headers["Location"]).path == "/"


def test_parts_are_deterministic_for_the_same_org_state_and_time(org: Emulator) -> None:
    import hashlib

    from sfexit_emulator.dataexport import ExportOptions

    assert org.app is not None
    svc = service(org.app)
    svc.update({"part_size_bytes": 256 * 1024})
    when = org.clock.now()
    options = ExportOptions(include_attachments=True)
    first = [hashlib.sha256(p.path.read_bytes()).hexdigest() for p in
             svc.seed_export(when, options).files]
    second_run = svc.seed_export(when, options)
    assert [hashlib.sha256(p.path.read_bytes()).hexdigest() for p in second_run.files] == first
    assert all(p.size <= 256 * 1024 for p in second_run.files if len(p.entries) > 1)
