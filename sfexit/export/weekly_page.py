"""The Classic Data Export Setup pages read as data: pure parsing with ``html.parser``, no I/O.

What is parsed, and from where (``research/export-protocol.md``, two real captures of the Classic
page in hudec117/sf-data-backup ``src/SfDataBackup.Tests/Data/*.html``):

- the page title ``<h1 class="noSecondHeader pageType">Weekly Export Service</h1>`` (or
  ``Monthly …``);
- the files table: every ``a.actionLink`` whose (HTML-decoded) href points at
  ``/servlet/servlet.OrgExport`` (SF-DataExport ``Reducers/DownloadExports.cs``, hudec117,
  anyei), the row's ``File Size`` cell (``81.7K``); Lightning renders the same links as
  ``javascript:srcUp('<url-encoded /servlet/…>')`` (ele-sage/salesforce-backup);
- the Export Now button: enabled ``navigateToUrl('/ui/setup/export/DataExportPage/e?…')``, or
  ``btnDisabled`` + ``disabled`` with ``alert('The most recent export was performed on
  22/05/2020. … You must wait 28 days …')``: the last export date and the interval;
- "A data export is currently in progress for your organization" (in progress);
- ``export_delivery``'s "Schedule Date", the description's "available … for 48 hours";
- the user's date format from ``UserContext.initialize({"dateFormat":"dd/MM/yyyy",…})`` (the
  capture's user is en_GB: ``22/05/2020``).

Forms (the Export Now form, a refused form's errors) are parsed in :mod:`weekly_forms`.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass
from html.parser import HTMLParser
from urllib.parse import parse_qs, unquote, urlsplit

SERVLET_PATH = "/servlet/servlet.OrgExport"
PAGE_PATH = "/ui/setup/export/DataExportPage/d"
START_EXPORT = "Start Export"
IN_PROGRESS_TEXT = "data export is currently in progress"
DEFAULT_EXPIRY_HOURS = 48.0   # page text: "available on this page for 48 hours"

_SIZE = re.compile(r"^\s*([0-9]+(?:[.,][0-9]+)?)\s*([BKMGT])B?\s*$", re.I)
_UNITS = {"B": 1, "K": 1024, "M": 1024 ** 2, "G": 1024 ** 3, "T": 1024 ** 4}
_NAVIGATE = re.compile(r"navigateToUrl\('((?:[^'\\]|\\.)*)'")
_ALERT = re.compile(r"alert\('((?:[^'\\]|\\.)*)'\)")
_SRCUP = re.compile(r"^javascript:\s*srcUp\(\s*'((?:[^'\\]|\\.)*)'", re.I)
_LAST_EXPORT = re.compile(r"most recent export was performed on\s+([0-9]{1,4}[./-][0-9]{1,2}"
                          r"[./-][0-9]{1,4})", re.I)
_WAIT_DAYS = re.compile(r"wait\s+(\d+)\s+days", re.I)
_EXPIRY = re.compile(r"available (?:on this page )?for\s+(\d+(?:\.\d+)?)\s+hours", re.I)
_DATE_FORMAT = re.compile(r'"dateFormat"\s*:\s*"([^"]+)"')
# Real pages' UserContext also carries the user's clock ("today":"7/19/2019 10:54 AM", with
# "dateTimeFormat":"M/d/yyyy h:mm a"; public Visualforce captures): it gives the user's zone.
_TODAY = re.compile(r'"today"\s*:\s*"([^"]+)"')
_DATETIME_FORMAT = re.compile(r'"dateTimeFormat"\s*:\s*"([^"]+)"')


class PageFormatError(ValueError):
    """The page does not look like what the research describes (Salesforce changed it)."""


# --- the Data Export page ------------------------------------------------------------------------
@dataclass(frozen=True)
class ExportFileLink:
    """One listed export part: ``WE_<org id>_<n>.ZIP`` with its download URL (relative)."""

    name: str
    file_id: str | None
    url: str                  # /servlet/servlet.OrgExport?fileName=…&id=… (``&amp;`` decoded)
    size_text: str            # as shown: ``81.7K``
    size_estimate: int | None  # bytes, from the size text (rounded by the page: an estimate)


@dataclass(frozen=True)
class ExportPageState:
    """What the Data Export page says. Dates are the page's (the user's locale, no time)."""

    title: str
    monthly: bool
    files: tuple[ExportFileLink, ...]
    in_progress: bool
    export_now_found: bool
    export_now_enabled: bool
    export_now_url: str | None     # the form page the button navigates to
    alert: str | None               # the disabled button's alert text, verbatim
    last_export: dt.date | None     # from the alert
    interval_days: int | None       # from the alert ("You must wait 28 days")
    schedule_date: dt.date | None   # export_delivery's "Schedule Date"
    expiry_hours: float
    date_format: str | None         # the user's Java date pattern, when the page gives it
    user_now: dt.datetime | None = None   # the user's wall clock (UserContext "today"), naive

    @property
    def state(self) -> str:
        """``ready`` (files listed), ``in_progress`` or ``none``."""
        if self.files:
            return "ready"
        return "in_progress" if self.in_progress else "none"

    @property
    def next_allowed(self) -> dt.date | None:
        """The first day Export Now is allowed again (the page gives dates without time)."""
        if self.last_export is None or self.interval_days is None:
            return None
        return self.last_export + dt.timedelta(days=self.interval_days)


def tag_attrs(pairs: list[tuple[str, str | None]]) -> dict[str, str]:
    return {k.lower(): (v if v is not None else "") for k, v in pairs}


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.h1: list[str] = []
        self.title = ""
        self.inputs: list[dict[str, str]] = []
        self.rows: list[tuple[list[dict[str, str]], list[str]]] = []   # (links, cell texts)
        self.loose_links: list[dict[str, str]] = []
        self.delivery: dict[str, str] = {}
        self.text: list[str] = []
        self._capture: str | None = None
        self._buffer: list[str] = []
        self._row: tuple[list[dict[str, str]], list[str]] | None = None
        self._cell: list[str] | None = None
        self._label_cell: str | None = None

    def handle_starttag(self, tag: str, pairs: list[tuple[str, str | None]]) -> None:
        attrs = tag_attrs(pairs)
        if tag == "tr":
            self._row = ([], [])
            self.rows.append(self._row)
        elif tag in ("td", "th"):
            self._cell = []
        elif tag == "a" and "actionlink" in attrs.get("class", "").lower().split():
            (self._row[0] if self._row is not None else self.loose_links).append(attrs)
        elif tag == "input":
            self.inputs.append(attrs)
        elif tag in ("h1", "title"):
            self._capture, self._buffer = tag, []

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th") and self._cell is not None and self._row is not None:
            text = " ".join("".join(self._cell).split())
            self._row[1].append(text)
            if self._label_cell is not None:
                self.delivery.setdefault(self._label_cell, text)
                self._label_cell = None
            elif text in ("Schedule Date", "Scheduled By", "Export File Encoding"):
                self._label_cell = text
            self._cell = None
        elif tag == "tr":
            self._row = None
        elif tag == self._capture:
            text = " ".join("".join(self._buffer).split())
            (self.h1.append(text) if tag == "h1" else setattr(self, "title", text))
            self._capture = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self._cell is not None:
            self._cell.append(data)
        if self._capture is not None:
            self._buffer.append(data)


def js_unescape(text: str) -> str:
    """The value of a single-quoted JavaScript string body (``\\'``, ``\\/``, ``\\xNN``, …)."""
    def one(match: re.Match[str]) -> str:
        body = match.group(1)
        if body[0] in "xu":
            return chr(int(body[1:], 16))
        return {"n": "\n", "t": "\t", "r": "\r"}.get(body, body)
    return re.sub(r"\\(x[0-9a-fA-F]{2}|u[0-9a-fA-F]{4}|.)", one, text)


def download_url(href: str) -> str | None:
    """The servlet URL of an export link (Classic href, or Lightning's ``srcUp('…')``)."""
    href = href.strip()
    wrapped = _SRCUP.match(unquote(href)) if href.lower().startswith("javascript:") else None
    if wrapped:
        href = js_unescape(wrapped.group(1))
    elif href.lower().startswith("javascript:"):
        return None
    return href if SERVLET_PATH.lower() in href.lower() else None


def size_bytes(text: str) -> int | None:
    """``81.7K`` → 83661 (the page rounds: an estimate, never compared with a download)."""
    match = _SIZE.match(text)
    if not match:
        return None
    return int(float(match.group(1).replace(",", ".")) * _UNITS[match.group(2).upper()])


def _file_link(attrs: Mapping[str, str], cells: list[str]) -> ExportFileLink | None:
    url = download_url(attrs.get("href", ""))
    if url is None:
        return None
    query = parse_qs(urlsplit(url).query)
    name = (query.get("fileName") or [""])[0] or next(
        (c for c in cells if c.upper().endswith(".ZIP")), "")
    if not name:
        return None
    file_id = (query.get("id") or [""])[0] or attrs.get("id") or None
    size_text = next((c for c in cells if _SIZE.match(c)), "")
    return ExportFileLink(name=name, file_id=file_id, url=url, size_text=size_text,
                          size_estimate=size_bytes(size_text) if size_text else None)


def parse_java_date(text: str, pattern: str | None) -> dt.date | None:
    """A date as the page writes it. With the user's pattern (``dd/MM/yyyy``) exact; without it,
    ISO first, then day-first (the only captured locale is en_GB); None when it cannot be read."""
    text = text.strip()
    formats: list[str] = []
    if pattern:
        formats.append(_java_to_strptime(pattern))
    formats += ["%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%m/%d/%Y", "%d-%m-%Y"]
    for fmt in formats:
        try:
            return dt.datetime.strptime(text, fmt).date()
        except ValueError:
            continue
    return None


def _java_to_strptime(pattern: str) -> str:
    out, index = [], 0
    tokens = (("yyyy", "%Y"), ("yy", "%y"), ("MM", "%m"), ("M", "%m"), ("dd", "%d"), ("d", "%d"),
              ("HH", "%H"), ("H", "%H"), ("hh", "%I"), ("h", "%I"), ("mm", "%M"), ("ss", "%S"),
              ("a", "%p"))
    while index < len(pattern):
        for java, py in tokens:
            if pattern.startswith(java, index):
                out.append(py)
                index += len(java)
                break
        else:
            out.append(pattern[index].replace("%", "%%"))
            index += 1
    return "".join(out)


def alert_facts(alert: str, pattern: str | None) -> tuple[dt.date | None, int | None]:
    """(date of the most recent export, days to wait) from the "too soon" alert text."""
    last = _LAST_EXPORT.search(alert)
    wait = _WAIT_DAYS.search(alert)
    return (parse_java_date(last.group(1), pattern) if last else None,
            int(wait.group(1)) if wait else None)


def parse_export_page(text: str) -> ExportPageState:
    """The Data Export page's state. Raises PageFormatError when it is not that page."""
    parser = _PageParser()
    parser.feed(text)
    parser.close()
    title = next((h for h in parser.h1 if "Export Service" in h), "")
    if not title:
        raise PageFormatError("not the Data Export page (no \"Weekly/Monthly Export Service\" "
                              f"heading; page title {parser.title!r})")
    files: list[ExportFileLink] = []
    seen: set[str] = set()
    candidates = [(a, cells) for links, cells in parser.rows for a in links]
    candidates += [(a, []) for a in parser.loose_links]
    for attrs, cells in candidates:
        link = _file_link(attrs, cells)
        if link is not None and link.url not in seen:
            seen.add(link.url)
            files.append(link)
    button = next((i for i in parser.inputs if i.get("value", "").strip() == "Export Now"), None)
    onclick = button.get("onclick", "") if button else ""
    enabled = (button is not None and "disabled" not in button
               and "btndisabled" not in button.get("class", "").lower())
    navigate = _NAVIGATE.search(onclick)
    alert_match = _ALERT.search(onclick)
    alert = js_unescape(alert_match.group(1)) if alert_match else None
    pattern_match = _DATE_FORMAT.search(text)
    pattern = pattern_match.group(1) if pattern_match else None
    last_export, interval_days = alert_facts(alert or "", pattern)
    body_text = " ".join("".join(parser.text).split())
    expiry = _EXPIRY.search(body_text)
    scheduled = parser.delivery.get("Schedule Date")
    today, stamp_format = _TODAY.search(text), _DATETIME_FORMAT.search(text)
    user_now = None
    if today and stamp_format:
        try:
            user_now = dt.datetime.strptime(today.group(1),
                                            _java_to_strptime(stamp_format.group(1)))
        except ValueError:
            user_now = None
    return ExportPageState(
        title=title, monthly=title.lower().startswith("monthly"), files=tuple(files),
        in_progress=IN_PROGRESS_TEXT in body_text.lower(),
        export_now_found=button is not None, export_now_enabled=enabled,
        export_now_url=js_unescape(navigate.group(1)) if navigate else None, alert=alert,
        last_export=last_export, interval_days=interval_days,
        schedule_date=parse_java_date(scheduled, pattern) if scheduled else None,
        expiry_hours=float(expiry.group(1)) if expiry else DEFAULT_EXPIRY_HOURS,
        date_format=pattern, user_now=user_now)
