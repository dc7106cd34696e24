"""Reading the Data Export Setup pages, filling the Export Now form, and safe extraction.

The page fragments are the captured Classic HTML quoted in research/export-protocol.md
(hudec117/sf-data-backup, Developer Edition, May 2020); the multi-row, Lightning and form pages
are built the same way (their exact markup is UNCONFIRMED in the research).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import stat
import zipfile
from pathlib import Path

import pytest
import requests

from sfexit import errors
from sfexit.export.weekly import (WeeklyOptions, earliest_expiry, fill_export_form,
                                  wait_until_ready)
from sfexit.export.weekly_download import (DownloadedPart, ExtractLimits, UnsafeArchive,
                                           extract_parts, safe_member_path)
from sfexit.export.weekly_forms import export_form, page_errors, parse_forms
from sfexit.export.weekly_page import (ExportFileLink, PageFormatError, download_url,
                                       parse_export_page, size_bytes)
from sfexit.org.uisession import (UiPage, download_to, interstitial_target, is_login_page,
                                  is_login_url)

H1 = '<h1 class="noSecondHeader pageType">{title}</h1>'
NEXT = '<div class="messageText"><h4>Next scheduled export:</h4>None</div>'
ENABLED = ('<input value="Export Now"  class="btn" name="edit" title="Export Now" type="button" '
           "onclick=\"navigateToUrl('/ui/setup/export/DataExportPage/e?retURL=%2Fui%2Fsetup%2F"
           "export%2FDataExportPage%2Fd',null,'edit');\" />")
ALERT = ("The most recent export was performed on 22/05/2020. Export files are available for 48 "
         "hours after they are completed. You must wait 28 days from the time of the last export "
         "before you can use the service again.")
DISABLED = ('<input value="Export Now"  class="btnDisabled" name="edit" disabled="disabled" '
            f"title=\"Export Now\" type=\"button\" onclick=\"alert('{ALERT}')\" />")
ROW = ('<tr class=" dataRow even last first" onblur="if (window.hiOff){{hiOff(this);}}"><td '
       "class='actionColumn'><a href=\"{href}\" class=\"actionLink\" id=\"{file_id}\" "
       'title="download - Record 1 - {name}">download</a></td><th scope="row" class=" dataCell  '
       '">{name}</th><td class=" dataCell  ">{size}</td></tr>')
TABLE = ('<table class="list" border="0" cellspacing="0" cellpadding="0"><tr class="headerRow">'
         '<th class="actionColumn" scope="col">Action</th><th scope="col">File Name</th><th '
         'scope="col">File Size</th></tr>{rows}</table>')
USER_CONTEXT = ('<script>UserContext.initialize({{"dateFormat":"{fmt}","locale":"en_GB",'
                '"userName":"Admin"}});</script>')
DESCRIPTION = ('<div class="bDescription">… The export files are also available on this page for '
               '48 hours, after which time they are deleted.</div>')


def page(*, title: str = "Weekly Export Service", button: str = ENABLED, rows: str = "",
         extra: str = "", fmt: str | None = "dd/MM/yyyy") -> str:
    head = USER_CONTEXT.format(fmt=fmt) if fmt else ""
    table = TABLE.format(rows=rows) if rows else ""
    return (f"<html><head><title>{title} ~ Salesforce - Developer Edition</title>{head}</head>"
            f"<body>{H1.format(title=title)}{DESCRIPTION}{NEXT}{extra}{button}{table}"
            "</body></html>")


def row(name: str, file_id: str, size: str, href: str | None = None) -> str:
    href = href or f"/servlet/servlet.OrgExport?fileName={name}&amp;id={file_id}"
    return ROW.format(href=href, file_id=file_id, name=name, size=size)


# --- the Data Export page ------------------------------------------------------------------------
def test_captured_page_with_one_file_lists_it_with_the_amp_decoded() -> None:
    state = parse_export_page(page(rows=row("WE_00D4J000000CuzUUAS_1.ZIP", "0924J000000YpZK",
                                            "81.7K")))
    assert state.state == "ready" and not state.monthly
    [link] = state.files
    assert link.name == "WE_00D4J000000CuzUUAS_1.ZIP" and link.file_id == "0924J000000YpZK"
    assert link.url == ("/servlet/servlet.OrgExport?fileName=WE_00D4J000000CuzUUAS_1.ZIP"
                        "&id=0924J000000YpZK")
    assert link.size_text == "81.7K" and link.size_estimate == int(81.7 * 1024)
    assert state.export_now_enabled and state.alert is None
    assert state.export_now_url == ("/ui/setup/export/DataExportPage/e?retURL=%2Fui%2Fsetup%2F"
                                    "export%2FDataExportPage%2Fd")
    assert state.expiry_hours == 48


def test_page_without_files_is_none_and_in_progress_is_read_from_the_sentence() -> None:
    assert parse_export_page(page()).state == "none"
    busy = parse_export_page(page(extra='<div class="messageText">A data export is currently in '
                                        'progress for your organization.</div>',
                                  button=DISABLED))
    assert busy.state == "in_progress" and busy.in_progress and not busy.export_now_enabled


def test_disabled_button_gives_the_last_export_and_the_next_allowed_date() -> None:
    state = parse_export_page(page(button=DISABLED))
    assert state.export_now_found and not state.export_now_enabled
    assert state.alert == ALERT
    assert state.last_export == dt.date(2020, 5, 22)
    assert state.interval_days == 28
    assert state.next_allowed == dt.date(2020, 6, 19)


def test_dates_follow_the_users_format_and_default_to_day_first() -> None:
    us = DISABLED.replace("22/05/2020", "05/22/2020").replace("28 days", "7 days")
    assert parse_export_page(page(button=us, fmt="M/d/yyyy")).last_export == dt.date(2020, 5, 22)
    ambiguous = DISABLED.replace("22/05/2020", "03/04/2020")
    assert parse_export_page(page(button=ambiguous, fmt="MM/dd/yyyy")).last_export == \
        dt.date(2020, 3, 4)
    assert parse_export_page(page(button=ambiguous, fmt=None)).last_export == dt.date(2020, 4, 3)


def test_multi_row_table_keeps_order_ids_and_size_estimates() -> None:
    rows = "".join(row(f"WE_00D4J000000CuzUUAS_{n}.ZIP", f"0924J000000YpZ{n}", size)
                   for n, size in ((1, "512.0M"), (2, "1.2G"), (3, "999B")))
    rows = rows.replace("even last first", "even first", 1)
    state = parse_export_page(page(rows=rows))
    assert [f.name[-5:] for f in state.files] == ["1.ZIP", "2.ZIP", "3.ZIP"]
    assert [f.file_id for f in state.files] == ["0924J000000YpZ1", "0924J000000YpZ2",
                                                "0924J000000YpZ3"]
    assert [f.size_estimate for f in state.files] == [512 * 1024 ** 2, int(1.2 * 1024 ** 3), 999]


def test_lightning_srcup_links_are_unwrapped_to_the_servlet_url() -> None:
    href = ("javascript:srcUp(%27%2Fservlet%2Fservlet.OrgExport%3FfileName%3DWE_00D4J000000CuzUUAS"
            "_1.ZIP%26id%3D0924J000000YpZK%26isdtp%3Dp1%27);")
    state = parse_export_page(page(rows=row("WE_00D4J000000CuzUUAS_1.ZIP", "0924J000000YpZK",
                                            "81.7K", href=href)))
    assert [f.url for f in state.files] == [
        "/servlet/servlet.OrgExport?fileName=WE_00D4J000000CuzUUAS_1.ZIP&id=0924J000000YpZK"
        "&isdtp=p1"]
    assert download_url("javascript:void(0)") is None
    assert download_url("/001/o") is None


def test_monthly_page_other_expiry_and_not_the_page() -> None:
    state = parse_export_page(page(title="Monthly Export Service").replace("48 hours", "72 hours"))
    assert state.monthly and state.expiry_hours == 72
    with pytest.raises(PageFormatError):
        parse_export_page("<html><head><title>Login | Salesforce</title></head></html>")


def test_size_texts() -> None:
    assert size_bytes("81.7K") == 83660 and size_bytes("2M") == 2 * 1024 ** 2
    assert size_bytes("1,5 MB") == int(1.5 * 1024 ** 2) and size_bytes("big") is None


def test_earliest_expiry_assumes_the_earliest_moment_the_date_allows() -> None:
    state = parse_export_page(page(rows=row("WE_1.ZIP", "092000000000001", "1K"), button=DISABLED))
    # 22/05/2020 in a zone up to UTC+14 began 21/05 10:00 UTC; + 48 h.
    assert earliest_expiry(state) == dt.datetime(2020, 5, 23, 10, 0, tzinfo=dt.UTC)
    assert earliest_expiry(parse_export_page(page(button=DISABLED))) is None


def test_the_users_clock_on_the_page_narrows_the_expiry_to_their_zone() -> None:
    clock = ('<script>UserContext.initialize({"dateFormat":"dd/MM/yyyy","dateTimeFormat":'
             '"dd/MM/yyyy h:mm a","today":"22/05/2020 9:30 PM"});</script>')
    state = parse_export_page(page(rows=row("WE_1.ZIP", "092000000000001", "1K"),
                                   button=DISABLED, extra=clock, fmt=None))
    assert state.user_now == dt.datetime(2020, 5, 22, 21, 30)
    utc_now = dt.datetime(2020, 5, 22, 19, 31, tzinfo=dt.UTC)      # the user is UTC+2
    assert earliest_expiry(state, utc_now) == dt.datetime(2020, 5, 23, 22, 0,
                                                          tzinfo=dt.UTC)
    assert earliest_expiry(state) == dt.datetime(2020, 5, 23, 10, 0, tzinfo=dt.UTC)


# --- forms ---------------------------------------------------------------------------------------
FORM_PAGE = """<html><body>
<form id="sessiontimeout" method="post"><input type="hidden" name="continueButton" value="Continue"/></form>
<form action="/_ui/search/ui/UnifiedSearchResults" method="GET"><input name="str" value=""/>
<input value="Search" type="submit" name="search"/></form>
<form action="/ui/setup/export/DataExportPage/e" id="editPage" method="POST">
<input type="hidden" name="_CONFIRMATIONTOKEN" value="VmpFOSxNakF5TUMw&amp;x=1"/>
<input type="hidden" name="retURL" value="/ui/setup/export/DataExportPage/d"/>
<input value="Start Export" class="btn" name="save" type="submit"/>
<input value="Cancel" class="btn" name="cancel" type="submit"/>
<div class="pbError" id="errorDiv_ep" style="display: none">Error: Invalid Data.</div>
<table><tr><td><label for="enc">Export File Encoding</label></td><td><select id="enc" name="zz9">
<option value="ISO-8859-1" selected="selected">ISO-8859-1 (General US &amp; Western European, ISO-LATIN-1)</option>
<option value="UTF-8">Unicode (UTF-8)</option><option value="UTF-16">Unicode (UTF-16)</option></select></td></tr>
<tr><td><label for="a1">Include images, documents, and attachments</label></td><td><input id="a1" name="q1" type="checkbox" value="1"/></td></tr>
<tr><td><label for="a2">Include Salesforce Files and Salesforce CRM Content document versions</label></td><td><input id="a2" name="q2" type="checkbox" value="1"/></td></tr>
<tr><td><label>Replace carriage returns with spaces <input name="q3" type="checkbox" value="yes"/></label></td></tr>
<tr><td><label for="all">Include all data</label></td><td><input id="all" name="q4" type="checkbox" value="1" checked="checked"/></td></tr>
<tr><td><input id="off" name="q5" type="checkbox" value="1" checked="checked" disabled="disabled"/></td></tr>
</table></form></body></html>"""


def test_the_export_form_is_found_among_several_and_replayed_as_served() -> None:
    assert len(parse_forms(FORM_PAGE)) == 3
    form = export_form(FORM_PAGE)
    assert form.action == "/ui/setup/export/DataExportPage/e" and form.method == "POST"
    payload = form.payload("Start Export")
    assert payload == [("_CONFIRMATIONTOKEN", "VmpFOSxNakF5TUMw&x=1"),
                       ("retURL", "/ui/setup/export/DataExportPage/d"), ("save", "Start Export"),
                       ("zz9", "ISO-8859-1"), ("q4", "1")]
    with pytest.raises(PageFormatError):
        form.payload("Export Everything")
    with pytest.raises(PageFormatError):
        export_form(FORM_PAGE.replace("Start Export", "Save"))


def test_options_are_set_by_their_labels_never_by_field_names() -> None:
    form = export_form(FORM_PAGE)
    checks, choices = fill_export_form(form, WeeklyOptions(replace_carriage_returns=True))
    payload = form.payload("Start Export", checks, choices)
    assert ("zz9", "UTF-8") in payload
    assert ("q1", "1") in payload and ("q2", "1") in payload and ("q3", "yes") in payload
    assert ("q4", "1") in payload and not any(name == "q5" for name, _ in payload)
    off = fill_export_form(form, WeeklyOptions(include_files=False, include_attachments=False,
                                               encoding="ISO-8859-1"))
    payload = form.payload("Start Export", *off)
    assert ("zz9", "ISO-8859-1") in payload
    assert not any(name in ("q1", "q2", "q3") for name, _ in payload)


def test_an_unknown_encoding_or_a_missing_option_is_a_clear_error() -> None:
    form = export_form(FORM_PAGE)
    with pytest.raises(errors.UsageError, match="Shift_JIS.*offers: ISO-8859-1"):
        fill_export_form(form, WeeklyOptions(encoding="Shift_JIS"))
    with pytest.raises(errors.UsageError):
        fill_export_form(form, WeeklyOptions(encoding="Unicode"))   # two matches: ambiguous
    changed = export_form(FORM_PAGE.replace("Include Salesforce Files and", "Include Other"))
    with pytest.raises(errors.SalesforceError, match="no option labelled"):
        fill_export_form(changed, WeeklyOptions(include_files=True))
    fill_export_form(changed, WeeklyOptions(include_files=False))   # not asked: not needed


def test_visible_error_messages_only() -> None:
    assert page_errors(FORM_PAGE) == []
    shown = FORM_PAGE.replace('style="display: none">Error: Invalid Data.',
                              f'>Error: {ALERT}')
    assert page_errors(shown) == [f"Error: {ALERT}"]


# --- the wire's pure helpers ---------------------------------------------------------------------
def test_login_page_and_interstitials_are_recognised() -> None:
    assert is_login_url("https://x.my.salesforce.com/?ec=302&startURL=%2Fui%2Fsetup")
    assert not is_login_url("https://x.my.salesforce.com/ui/setup/export/DataExportPage/d")
    assert is_login_page("text/html;charset=UTF-8", "<title>Login | Salesforce</title>")
    assert not is_login_page("application/zip", "<title>Login | Salesforce</title>")
    assert interstitial_target("<script>top.window.location='/ui/a\\/b';</script>") == "/ui/a/b"
    assert interstitial_target("if (window.location.replace){ \nwindow.location.replace("
                               "'/ui/setup/export/DataExportPage/d');}") == \
        "/ui/setup/export/DataExportPage/d"
    assert interstitial_target("<html>just a page</html>") is None


# --- extraction refuses zip-slip -----------------------------------------------------------------
def _zip(path: Path, members: dict[str, bytes]) -> DownloadedPart:
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    data = path.read_bytes()
    return DownloadedPart(path.name, len(data), hashlib.sha256(data).hexdigest(), path)


@pytest.mark.parametrize("evil", ["../escape.txt", "a/../../escape.txt", "/tmp/escape.txt",
                                  "..\\escape.txt", "C:/escape.txt"])
def test_extract_refuses_a_member_escaping_the_destination(tmp_path: Path, evil: str) -> None:
    part = _zip(tmp_path / "WE_1.ZIP", {"Account.csv": b"Id\n", evil: b"pwned"})
    root = tmp_path / "out" / "extracted"
    with pytest.raises(UnsafeArchive, match="outside"):
        extract_parts([part], root)
    assert not (tmp_path / "out" / "escape.txt").exists() and not (tmp_path / "escape.txt").exists()
    assert not (root / "Account.csv").exists(), "nothing of a refused part is written"


def test_extract_unpacks_safe_parts(tmp_path: Path) -> None:
    one = _zip(tmp_path / "WE_1.ZIP", {"Account.csv": b"Id\n1\n", "Attachments/00P1": b"\x00\x01"})
    two = _zip(tmp_path / "WE_2.ZIP", {"Contact.csv": b"Id\n2\n"})
    root = extract_parts([one, two], tmp_path / "extracted")
    assert (root / "Account.csv").read_bytes() == b"Id\n1\n"
    assert (root / "Attachments" / "00P1").read_bytes() == b"\x00\x01"
    assert (root / "Contact.csv").read_bytes() == b"Id\n2\n"
    assert safe_member_path(root, "a/./b.csv") == (root / "a" / "b.csv").resolve()


def _left_over(tmp_path: Path) -> list[str]:
    """Everything extraction left under tmp_path besides the zips."""
    return sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*")
                  if not p.name.endswith(".ZIP"))


def test_extract_refuses_a_symlink_member_and_leaves_nothing(tmp_path: Path) -> None:
    path = tmp_path / "WE_2.ZIP"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("Account.csv", b"Id\n1\n")
        link = zipfile.ZipInfo("Attachments")
        link.external_attr = (stat.S_IFLNK | 0o777) << 16
        archive.writestr(link, "/etc")
        archive.writestr("Attachments/00P1", b"x")
    data = path.read_bytes()
    part = DownloadedPart(path.name, len(data), hashlib.sha256(data).hexdigest(), path)
    good = _zip(tmp_path / "WE_1.ZIP", {"Contact.csv": b"Id\n"})
    with pytest.raises(UnsafeArchive) as info:
        extract_parts([good, part], tmp_path / "extracted")
    assert info.value.one_line() == ("refused to extract WE_2.ZIP: member 'Attachments' is a "
                                     "symbolic link; nothing was extracted")
    assert _left_over(tmp_path) == []


def test_extract_refuses_a_name_that_is_both_file_and_folder(tmp_path: Path) -> None:
    part = _zip(tmp_path / "WE_1.ZIP", {"a": b"file", "a/b.csv": b"Id\n"})
    with pytest.raises(UnsafeArchive, match="member 'a' appears twice or as both"):
        extract_parts([part], tmp_path / "extracted")
    assert _left_over(tmp_path) == []


def _bomb(path: Path, size: int) -> DownloadedPart:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("Account.csv", b"\0" * size)
    data = path.read_bytes()
    return DownloadedPart(path.name, len(data), hashlib.sha256(data).hexdigest(), path)


def test_extract_refuses_a_zip_bomb_by_ratio_and_the_flag_raises_it(tmp_path: Path) -> None:
    bomb = _bomb(tmp_path / "WE_1.ZIP", 64 << 20)   # 64 MiB of zeros: ~64 KB compressed
    with pytest.raises(UnsafeArchive) as info:
        extract_parts([bomb], tmp_path / "extracted")
    assert info.value.one_line().startswith(
        "refused to extract WE_1.ZIP: member 'Account.csv' expands past 200 times its "
        "compressed size (")
    assert "--max-ratio" in info.value.one_line()
    assert _left_over(tmp_path) == []
    root = extract_parts([bomb], tmp_path / "extracted", ExtractLimits(max_ratio=5000))
    assert (root / "Account.csv").stat().st_size == 64 << 20


def test_extract_refuses_a_part_past_the_byte_limit(tmp_path: Path) -> None:
    part = _zip(tmp_path / "WE_1.ZIP", {"a.csv": b"x" * 1000, "b.csv": b"y" * 1000})
    with pytest.raises(UnsafeArchive, match="member 'b.csv' takes the part past 1500 bytes"):
        extract_parts([part], tmp_path / "extracted", ExtractLimits(max_bytes=1500))
    assert _left_over(tmp_path) == []


def test_extract_replaces_an_earlier_extraction_only_when_it_succeeds(tmp_path: Path) -> None:
    root = extract_parts([_zip(tmp_path / "WE_1.ZIP", {"Account.csv": b"old"})],
                         tmp_path / "extracted")
    with pytest.raises(UnsafeArchive):
        extract_parts([_zip(tmp_path / "WE_2.ZIP", {"../x": b"new"})], root)
    assert (root / "Account.csv").read_bytes() == b"old"
    extract_parts([_zip(tmp_path / "WE_3.ZIP", {"Contact.csv": b"new"})], root)
    assert sorted(p.name for p in root.iterdir()) == ["Contact.csv"]
    assert _left_over(tmp_path) == ["extracted", "extracted/Contact.csv"]


# --- streaming a part: Range only where the server answers 206 -----------------------------------
class _BreakingRaw:
    """A response body that breaks the connection after ``cut`` bytes (when given)."""

    def __init__(self, data: bytes, cut: int | None) -> None:
        self.data, self.cut, self.pos = data, cut, 0

    def read(self, size: int = -1, **_kw: object) -> bytes:
        if self.cut is not None and self.pos >= self.cut:
            raise requests.ConnectionError("connection reset by peer")
        end = len(self.data) if size < 0 else self.pos + size
        if self.cut is not None:
            end = min(end, self.cut)
        chunk, self.pos = self.data[self.pos:end], min(end, len(self.data))
        return chunk

    def close(self) -> None:
        pass


class _FakeUi:
    """Stands in for UiSession.stream: the first answer breaks halfway."""

    def __init__(self, data: bytes, honours_range: bool) -> None:
        self.data, self.honours_range = data, honours_range
        self.ranges: list[int] = []

    def stream(self, url: str, *, range_start: int = 0) -> requests.Response:
        self.ranges.append(range_start)
        response = requests.Response()
        response.url = "https://org.example" + url
        response.request = requests.Request("GET", response.url).prepare()
        body = self.data
        response.status_code = 200
        response.headers["Content-Type"] = "application/zip"
        response.headers["Content-Length"] = str(len(body))
        if range_start and self.honours_range:
            response.status_code = 206
            response.headers["Content-Range"] = \
                f"bytes {range_start}-{len(body) - 1}/{len(body)}"
            body = body[range_start:]
        cut = len(body) // 2 if len(self.ranges) == 1 else None
        response.raw = _BreakingRaw(body, cut)
        return response


@pytest.mark.parametrize("honours_range", [True, False])
def test_a_broken_stream_resumes_with_range_only_on_206(tmp_path: Path,
                                                        honours_range: bool) -> None:
    part = _zip(tmp_path / "source.zip", {"Account.csv": bytes(range(256)) * 2000})
    data = part.path.read_bytes()
    ui = _FakeUi(data, honours_range)
    link = ExportFileLink("WE_1.ZIP", "092000000000001", "/servlet/servlet.OrgExport?id=1",
                          "1K", 1024)
    got = download_to(ui, link.url, tmp_path / "WE_1.ZIP.part",  # type: ignore[arg-type]
                      check=lambda response: None)
    assert (tmp_path / "WE_1.ZIP.part").read_bytes() == data
    assert (got.size, got.sha256, got.announced) == (len(data), hashlib.sha256(data).hexdigest(),
                                                     len(data))
    assert ui.ranges[0] == 0 and ui.ranges[1] > 0, "the second request asks for the rest"


# --- waiting ---------------------------------------------------------------------------------------
class _PagesUi:
    """Stands in for UiSession.get: serves a list of Data Export pages, one per poll."""

    def __init__(self, pages: list[str]) -> None:
        self.pages = pages
        self.polls = 0

    def get(self, path: str) -> UiPage:
        text = self.pages[min(self.polls, len(self.pages) - 1)]
        self.polls += 1
        return UiPage("https://org.example" + path, 200, "text/html", text)


def test_after_a_trigger_a_disabled_button_without_files_means_still_running() -> None:
    ready = page(rows=row("WE_1.ZIP", "092000000000001", "1K"), button=DISABLED)
    ui = _PagesUi([page(button=DISABLED), page(button=DISABLED), ready])
    slept: list[float] = []
    found = wait_until_ready(ui, timeout=3600, sleep=slept.append,  # type: ignore[arg-type]
                             clock=lambda: sum(slept), just_triggered=True)
    assert found.files and ui.polls == 3
    assert slept == [30.0, 45.0], "backoff grows between polls"
    with pytest.raises(errors.SalesforceError, match="neither in progress"):
        wait_until_ready(_PagesUi([page(button=DISABLED)]), timeout=60,  # type: ignore[arg-type]
                         sleep=slept.append, clock=lambda: 0.0)
