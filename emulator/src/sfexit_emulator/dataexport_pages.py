"""HTML of the Data Export Service's Setup pages, the login page and the frontdoor interstitial.

The markup of the Data Export page (``/ui/setup/export/DataExportPage/d``) follows two real
captures of the Classic page (Developer Edition, May 2020; hudec117/sf-data-backup
``src/SfDataBackup.Tests/Data/Export{PageSingleExportAvailable,NoneAvailablePage}.html``):
the ``h1``, the ``bDescription`` text, the ``messageText`` block, the Export Now / Schedule Export
buttons (enabled: ``navigateToUrl('/ui/setup/export/DataExportPage/e?retURL=…')``; too soon:
``btnDisabled`` + ``disabled`` + ``alert('…')``), the ``export_delivery`` block and the files table
with ``a.actionLink`` rows — byte for byte where the capture shows them, including ``&amp;``.
The surrounding chrome (header, setup tree, scripts) is cut down, but keeps what a parser may
trip over: several ``<form>`` elements (session timeout, header search) besides the real one.

UNCONFIRMED parts (emulator choices): the in-progress markup (only the sentence is known, from a
course screenshot), the row classes of a multi-row table (``even``/``odd``, ``first``/``last``,
Salesforce's related-list convention), the whole Export Now form page (no public capture: field
names, ids, layout), the error pages, the login page beyond its ``<title>``.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from urllib.parse import quote

from sfexit_emulator.dataexport import ENCODINGS, ExportFile, ExportOptions, size_label

PAGE_PATH = "/ui/setup/export/DataExportPage/d"
EDIT_PATH = "/ui/setup/export/DataExportPage/e"
SERVLET_PATH = "/servlet/servlet.OrgExport"
SCHEDULE_RET = ("/ui/setup/export/ScheduleDataExportPage?pid=DataExport&retURL=%2Fui%2Fsetup%2F"
                "export%2FDataExportPage%2Fd%3FretURL%3D%252Fui%252Fsetup%252FSetup%253Fsetupid"
                "%253DDataManagement%26setupid%3DDataManagementExport")
DESCRIPTION = (
    "Data Export lets you prepare a copy of all your data in salesforce.com. From this page you "
    "can start the export process manually or schedule it to run automatically. When an export is "
    "ready for download you will receive an email containing a link that allows you to download "
    "the file(s). The export files are also available on this page for {hours} hours, after which "
    "time they are deleted.")
IN_PROGRESS = "A data export is currently in progress for your organization."
# The generic Salesforce "Data Not Available" page text (UNCONF for this servlet).
DATA_NOT_AVAILABLE = ("The data you were trying to access could not be found. It may be due to "
                      "another user deleting the data or a system error. If you know the data is "
                      "not deleted but cannot access it, please look at our support page.")
# Salesforce's standard Insufficient Privileges text (the page for this case is UNCONF).
INSUFFICIENT_PRIVILEGES = ("You do not have the level of access necessary to perform the operation "
                           "you requested. Please contact the owner of the record or your "
                           "administrator if access is necessary.")
# Salesforce's text for a form posted with a stale or missing confirmation token (UNCONF here).
INVALID_CONFIRMATION = ("The page you submitted was invalid for your session. Please click Save "
                        "again to confirm your change.")


def esc(text: str) -> str:
    return html.escape(text, quote=True)


def js_string(text: str) -> str:
    """A single-quoted JavaScript string literal's body."""
    return text.replace("\\", "\\\\").replace("'", "\\'")


def _head(title: str, date_format_java: str, user_id: str, user_name: str) -> str:
    context = ('{"ampm":["AM","PM"],"isAccessibleMode":false,"dateFormat":"%s","language":"en_US",'
               '"locale":"en_GB","uiTheme":"Theme3","userName":"%s","userId":"%s",'
               '"renderMode":"RETRO","timeFormat":"HH:mm"}'
               % (date_format_java, js_string(user_name), user_id[:15]))
    return f"""
<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN" "http://www.w3.org/TR/html4/loose.dtd">
<html class="" style="display:none !important;"><head><script src="/static/111213/js/perf/stub.js"></script>
<title>{esc(title)}</title><link href="/sCSS/48.0/sprites/1580155678000/Theme3/default/base/setup.css" rel="stylesheet" type="text/css"/><script src="/jslibrary/1581015810224/sfdc/main.js"></script><script>window.sfdcPage = new GenericSfdcPage();
UserContext.initialize({context});
</script></head><body onUnload="if(this.bodyOnUnload)bodyOnUnload();" onLoad="if(this.bodyOnLoad)bodyOnLoad();" class="hasMotif setupTab  DataExportPage sfdcBody brandQuaternaryBgr">
<!-- Main Body Starts Here -->
<form  accept-charset="UTF-8" enctype="application/x-www-form-urlencoded" id="sessiontimeout" method="post" name="sessiontimeout" onsubmit="if (window.ffInAlert) {{ return false; }}" ><input type="hidden" name="continueButton" id="continueButton" value="Continue Working" /><input type="hidden" name="doNotTimeoutLocation" id="doNotTimeoutLocation" value="/page/timeoutrefresh.jsp" /><input type="hidden" name="logoutButton" id="logoutButton" value="Logout" /></form><div id="contentWrapper"><div class="bPageHeader" id="AppBodyHeader"><table  class="phHeader brandZeronaryBgr" border="0" cellpadding="0" cellspacing="0" id="phHeader"><tr><td class="searchCell"><form  accept-charset="UTF-8" action="/_ui/search/ui/UnifiedSearchResults" enctype="application/x-www-form-urlencoded" id="phSearchForm" method="GET" name="sbsearch"><input type="hidden" name="searchType" id="searchType" value="2" /><input  autocomplete="off" id="phSearchInput" maxlength="100" name="str" placeholder="Search..." size="20" title="Search..." type="text" value="" /><input value="Search"  id="phSearchButton" type="button" /></form></td><td class="right vtop"><div class="navLinks"><div class="linkElements"><span  class="menuButtonLabel" id="userNavLabel" tabindex="0">{esc(user_name)}</span><a href="/secur/logout.jsp" class="menuButtonMenuLink" title="Logout">Logout</a></div></div></td></tr>
</table></div><div class="bodyDiv brdPalette brandPrimaryBrd" id="bodyDiv_setup"><table class="outer" width="100%" id="bodyTable" border="0" cellspacing="0" cellpadding="0"><tr><td class="oLeft"><div class="mTreeSelection" id="setupNavTree"><div class="setupLeaf"><a href="/ui/setup/export/DataExportPage/d?setupid=DataManagementExport" id="DataManagementExport_font">Data Export</a></div></div></td>
<td class=" oRight" id="bodyCell"><a name="skiplink"><img src="/img/s.gif" height='1' width='1' alt="Content Starts Here" class="skiplink skipLinkTargetInner zen-skipLinkTarget" title="Content Starts Here"/></a>"""


_TAIL = """

<!-- Body events -->
<script type="text/javascript">function bodyOnLoad(){if (typeof(startSessionTimer)!='undefined') {startSessionTimer(); };}function bodyOnUnload(){}</script>
<!-- End page content -->
</td>
</tr>
</table>
</div><div class="bPageFooter noTableFooter"><div><span  class="brandQuaternaryFgr">Copyright &#169; 2000-2026 salesforce.com, inc. All rights reserved.</span></div></div></div></body></html>
<!-- page generation time: 42ms -->
"""


def _java_date_format(py_format: str) -> str:
    return (py_format.replace("%d", "dd").replace("%m", "MM").replace("%Y", "yyyy")
            .replace("%y", "yy"))


def _title_block(h1: str) -> str:
    return (f'<div class="bPageTitle"><div class="ptBody"><div class="content"><img src="/img/s.gif" '
            f'alt=""  class="pageTitleIcon" title=""/><h1 class="noSecondHeader pageType">{esc(h1)}'
            f'</h1><div class="blank">&nbsp;</div></div></div><div class="ptBreadcrumb"></div></div>')


def _message(div_id: str, inner: str) -> str:
    return (f'<div class="message infoM4" id="{div_id}"><table  class="messageTable" border="0" '
            f'cellpadding="0" cellspacing="0"><tr><td><img src="/img/s.gif" alt="Information"  '
            f'class="msgIcon" title="Information"/></td><td class="messageCell"><div '
            f'class="messageText">{inner}</div></td></tr>\n</table></div><script>if (window.sfdcPage) '
            f"sfdcPage.registerMessage('{div_id}');</script>")


def _download_href(part: ExportFile, lightning: bool) -> str:
    if lightning:
        # Lightning's iframe renders links as javascript:srcUp('<url-encoded url>') (ele-sage);
        # the exact encoding and the isdtp parameter are UNCONF.
        return f"javascript:srcUp(%27{quote(part.url + '&isdtp=p1', safe='')}%27);"
    return esc(part.url)


def _files_table(parts: Sequence[ExportFile], lightning: bool) -> str:
    rows = []
    for index, part in enumerate(parts):
        classes = " dataRow " + ("even" if index % 2 == 0 else "odd")
        if index == len(parts) - 1:
            classes += " last"
        if index == 0:
            classes += " first"
        rows.append(
            f'\n<!-- ListRow -->\n<tr class="{classes}" onblur="if (window.hiOff){{hiOff(this);}}" '
            f'onfocus="if (window.hiOn){{hiOn(this);}}" onmouseout="if (window.hiOff){{hiOff(this);}}" '
            f'onmouseover="if (window.hiOn){{hiOn(this);}}"><td class=\'actionColumn\'><a '
            f'href="{_download_href(part, lightning)}" class="actionLink" id="{part.file_id}" '
            f'title="download - Record {index + 1} - {esc(part.name)}">download</a></td><th '
            f'scope="row" class=" dataCell  ">{esc(part.name)}</th><td class=" dataCell  ">'
            f'{size_label(part.size)}</td></tr>')
    return ("\n<!-- Begin RelatedListElement -->\n<div class=\"bRelatedList\">\n<!-- Begin ListElement -->"
            "\n\n<!-- motif: Setup -->\n\n<!-- WrappingClass -->\n<div class=\"listRelatedObject "
            "setupBlock\"><div class=\"bPageBlock brandSecondaryBrd secondaryPalette\"><div "
            "class=\"pbHeader\"></div><div class=\"pbBody\"><table class=\"list\" border=\"0\" "
            "cellspacing=\"0\" cellpadding=\"0\"><tr class=\"headerRow\"><th class=\"actionColumn\" "
            "scope=\"col\">Action</th><th scope=\"col\" class=\" zen-deemphasize\">File Name</th><th "
            "scope=\"col\" class=\" zen-deemphasize\">File Size</th></tr>\n"
            + "".join(rows) + "</table>\n</div><div class=\"pbFooter secondaryPalette\"><div "
            "class=\"bg\"></div></div></div></div><div class=\"listElementBottomNav\"></div>\n"
            "<!-- End ListElement -->\n</div>\n<!-- End RelatedListElement -->\n")


def _delivery_block(user_id: str, user_name: str, scheduled: str, encoding_label: str) -> str:
    return (
        '<div class="bPageBlock brandSecondaryBrd secondaryPalette" id="export_delivery"><div '
        'class="pbHeader pbHeaderEmpty"><table  border="0" cellpadding="0" cellspacing="0"><tr><td '
        'class="pbTitle"><img src="/img/s.gif" alt="" width="1" height="1" class="minWidth" title="" '
        '/><h2 class="mainTitle"></h2></td><td class="pbButton" id="topButtonRow">&nbsp;</td></tr>\n'
        '</table></div><div class="pbBody"><div class="pbError" id="errorDiv_export_delivery" '
        'style="display: none">Error: Invalid Data. <br/>Review all error messages below to correct '
        'your data.</div><div class="pbSubsection"><table  class="detailList" border="0" '
        'cellpadding="0" cellspacing="0"><tr><td class="labelCol">Scheduled By</td><td '
        f'class="data2Col" colspan="3"><a href="/{user_id[:15]}">{esc(user_name)}</a></td></tr>\n'
        f'<tr><td class="labelCol">Schedule Date</td><td class="data2Col" colspan="3">{esc(scheduled)}'
        '</td></tr>\n<tr><td class="last labelCol">Export File Encoding</td><td class="last '
        f'data2Col" colspan="3">{esc(encoding_label)}</td></tr>\n</table></div></div><div '
        'class="pbFooter secondaryPalette"><div class="bg"></div></div></div>')


def export_page(*, title: str, edition: str, expiry_hours: str, refusal: str | None,
                state: str, user_id: str, user_name: str, date_format: str,
                delivery: tuple[str, str, str, ExportOptions] | None,
                parts: Sequence[ExportFile], lightning: bool, error: str | None = None) -> str:
    """The ``/d`` page. ``delivery`` = (requester id, requester name, schedule date, options)."""
    if refusal is None:
        button = ('<input value="Export Now"  class="btn" name="edit" title="Export Now" type="button" '
                  "onclick=\"navigateToUrl('/ui/setup/export/DataExportPage/e?retURL=%2Fui%2Fsetup%2F"
                  "export%2FDataExportPage%2Fd',null,'edit');\" />")
    else:
        button = ('<input value="Export Now"  class="btnDisabled" name="edit" disabled="disabled" '
                  f'title="Export Now" type="button" onclick="alert(\'{esc(js_string(refusal))}\')" />')
    messages = _message("dataExportScheduleInfo", "<h4>Next scheduled export:</h4>None")
    if state == "in_progress":
        messages += _message("dataExportInProgressInfo", esc(IN_PROGRESS))
    error_div = (f'<div class="pbError" id="errorDiv_ep">{esc(error)}</div>' if error else
                 '<div class="pbError" id="errorDiv_ep" style="display: none">Error: Invalid Data. '
                 '<br/>Review all error messages below to correct your data.</div>')
    body = (
        _title_block(title)
        + f'<div class="bDescription">{esc(DESCRIPTION.format(hours=expiry_hours))}</div>'
        + '<div class="bPageBlock brandSecondaryBrd bEditBlock secondaryPalette" id="ep"><div '
        'class="pbHeader pbHeaderEmpty"><table  border="0" cellpadding="0" cellspacing="0"><tr><td '
        'class="pbTitle"><img src="/img/s.gif" alt="" width="1" height="1" class="minWidth" title="" '
        '/><h2 class="mainTitle"></h2></td></tr>\n</table></div><div class="pbBody">' + error_div
        + '<div class="pbSubsection"><table  class="detailList" border="0" cellpadding="0" '
        "cellspacing=\"0\"><tr  class=\"last detailRow\"><td colspan='4'>" + messages
        + '</td></tr></table></div></div><div class="pbBottomButtons"><table  border="0" '
        'cellpadding="0" cellspacing="0"><tr><td class="pbTitle"><img src="/img/s.gif" alt="" '
        'width="1" height="1" class="minWidth" title="" />&nbsp;</td><td class="pbButtonb" '
        'id="bottomButtonRow">' + button
        + ' <input value="Schedule Export"  class="btn" name="schedule" title="Schedule Export" '
        f"type=\"button\" onclick=\"navigateToUrl('{SCHEDULE_RET}',null,'schedule');\" /></td></tr>\n"
        '</table></div><div class="pbFooter secondaryPalette"><div class="bg"></div></div></div>'
        '<script>if (window.sfdcPage && window.sfdcPage.initButtons) { '
        'window.sfdcPage.initButtons([]); }</script>')
    if delivery is not None:
        requester_id, requester_name, scheduled, options = delivery
        body += _delivery_block(requester_id, requester_name, scheduled, options.encoding_label())
    if parts:
        body += _files_table(parts, lightning)
    page_title = f"{title} ~ Salesforce - {edition}"
    return _head(page_title, _java_date_format(date_format), user_id, user_name) + body + _TAIL


# --- the Export Now form (/e) -----------------------------------------------------------------
# The field NAMES and ids below are the emulator's own (UNCONFIRMED: no public capture or code
# posts this form). A client must find every option by its visible <label for=…> text, keep the
# hidden inputs as served and post to the form's own action; it must never rely on these names.
FIELD_ENCODING = "p1"
FIELD_ATTACHMENTS = "p2"
FIELD_FILES = "p3"
FIELD_REPLACE_CR = "p4"
FIELD_ALL_DATA = "p5"
FIELD_OBJECT = "p6"           # one checkbox per object, value = API name
FIELD_TOKEN = "_CONFIRMATIONTOKEN"
SUBMIT_NAME = "save"
CANCEL_NAME = "cancel"
LABEL_ATTACHMENTS = "Include images, documents, and attachments"
LABEL_FILES = "Include Salesforce Files and Salesforce CRM Content document versions"
LABEL_REPLACE_CR = "Replace carriage returns with spaces"
LABEL_ALL_DATA = "Include all data"
LABEL_ENCODING = "Export File Encoding"
START_EXPORT = "Start Export"


def _checkbox(field_id: str, name: str, label: str, checked: bool, value: str = "1",
              onclick: str = "") -> str:
    attrs = ' checked="checked"' if checked else ""
    click = f' onclick="{esc(onclick)}"' if onclick else ""
    return (f'<tr><td class="labelCol"><label for="{field_id}">{esc(label)}</label></td><td '
            f'class="dataCol col02"><input  id="{field_id}" name="{name}" type="checkbox" '
            f'value="{esc(value)}"{attrs}{click} /></td></tr>\n')


def export_form(*, title: str, edition: str, user_id: str, user_name: str, date_format: str,
                token: str, ret_url: str, objects: Sequence[tuple[str, str]],
                error: str | None = None) -> str:
    """The ``/e`` page: objects = (API name, label) pairs, in display order."""
    selected = ' selected="selected"'
    options = "".join(
        f'<option value="{esc(value)}"{selected if i == 0 else ""}>{esc(label)}</option>'
        for i, (value, label, _codec) in enumerate(ENCODINGS))
    save_new = f"{EDIT_PATH}?retURL={quote(ret_url, safe='')}"
    rows = (
        f'<tr><td class="labelCol"><label for="{FIELD_ENCODING}">{LABEL_ENCODING}</label></td><td '
        f'class="dataCol col02"><select  id="{FIELD_ENCODING}" name="{FIELD_ENCODING}">{options}'
        '</select></td></tr>\n'
        + _checkbox(FIELD_ATTACHMENTS, FIELD_ATTACHMENTS, LABEL_ATTACHMENTS, False)
        + _checkbox(FIELD_FILES, FIELD_FILES, LABEL_FILES, False)
        + _checkbox(FIELD_REPLACE_CR, FIELD_REPLACE_CR, LABEL_REPLACE_CR, False))
    object_rows = _checkbox(FIELD_ALL_DATA, FIELD_ALL_DATA, LABEL_ALL_DATA, True,
                            onclick="DataExport.toggleAll(this);")
    for index, (api_name, label) in enumerate(objects):
        object_rows += _checkbox(f"{FIELD_OBJECT}_{index}", FIELD_OBJECT, label, True, api_name)
    error_div = (f'<div class="pbError" id="errorDiv_ep">Error: {esc(error)}</div>' if error else
                 '<div class="pbError" id="errorDiv_ep" style="display: none">Error: Invalid Data. '
                 '<br/>Review all error messages below to correct your data.</div>')
    buttons = (f'<input value="{START_EXPORT}"  class="btn" name="{SUBMIT_NAME}" title="{START_EXPORT}"'
               f' type="submit" /> <input value="Cancel"  class="btn" name="{CANCEL_NAME}" '
               'title="Cancel" type="submit" />')
    body = (
        _title_block(title)
        + f'<form  action="{EDIT_PATH}" id="editPage" method="POST" name="editPage" '
        'onsubmit="if (window.ffInAlert) { return false; }if (window.sfdcPage &amp;&amp; '
        'window.sfdcPage.disableSaveButtons) { return window.sfdcPage.disableSaveButtons(); }" >'
        f'<input type="hidden" name="{FIELD_TOKEN}" id="{FIELD_TOKEN}" value="{esc(token)}" />'
        f'<input type="hidden" name="cancelURL" id="cancelURL" value="{esc(ret_url)}" />'
        f'<input type="hidden" name="retURL" id="retURL" value="{esc(ret_url)}" />'
        f'<input type="hidden" name="save_new_url" id="save_new_url" value="{esc(save_new)}" />'
        '<div class="bPageBlock brandSecondaryBrd bEditBlock secondaryPalette" id="ep"><div '
        'class="pbHeader"><table  border="0" cellpadding="0" cellspacing="0"><tr><td class="pbTitle">'
        '<h2 class="mainTitle">Export Now</h2></td><td class="pbButton" id="topButtonRow">'
        + buttons + '</td></tr>\n</table></div><div class="pbBody">' + error_div
        + '<div class="pbSubheader brandTertiaryBgr tertiaryPalette"><h3>Export File Encoding and '
        'Options</h3></div><div class="pbSubsection"><table  class="detailList" border="0" '
        'cellpadding="0" cellspacing="0">' + rows + '</table></div>'
        '<div class="pbSubheader brandTertiaryBgr tertiaryPalette"><h3>Exported Data</h3></div>'
        '<div class="pbSubsection"><table  class="detailList" border="0" cellpadding="0" '
        'cellspacing="0">' + object_rows + '</table></div></div><div class="pbBottomButtons"><table  '
        'border="0" cellpadding="0" cellspacing="0"><tr><td class="pbTitle">&nbsp;</td><td '
        'class="pbButtonb" id="bottomButtonRow">' + buttons + '</td></tr>\n</table></div>'
        '<div class="pbFooter secondaryPalette"><div class="bg"></div></div></div></form>')
    return (_head(f"{title} ~ Salesforce - {edition}", _java_date_format(date_format), user_id,
                  user_name) + body + _TAIL)


# --- other pages -------------------------------------------------------------------------------
def login_page(start_url: str = "", message: str = "") -> str:
    """Salesforce's login page as far as a client can tell: ``<title>Login | Salesforce</title>``
    and a login form (field names ``username``/``pw`` as on login.salesforce.com)."""
    error = f'<div id="error" class="loginError">{esc(message)}</div>' if message else ""
    return f"""<!DOCTYPE html>
<html lang="en_US"><head><meta http-equiv="Content-Type" content="text/html; charset=UTF-8">
<meta name="viewport" content="width=device-width, initial-scale=1.0">
<title>Login | Salesforce</title></head>
<body><div id="content"><div id="theloginform">
<form name="login" id="login_form" method="post" action="/" autocomplete="off" novalidate>
{error}<input type="hidden" name="startURL" id="startURL" value="{esc(start_url)}" />
<label for="username" class="label">Username</label><input class="input r4 wide mb16 mt8 username" type="email" value="" name="username" id="username">
<label for="password" class="label">Password</label><input class="input r4 wide mb16 mt8 password" type="password" id="password" name="pw" autocomplete="off">
<input class="button r4 wide primary" type="submit" id="Login" name="Login" value="Log In">
</form></div></div></body></html>
"""


def home_page(user_name: str) -> str:
    return f"""<!DOCTYPE html>
<html><head><title>Salesforce - Home</title></head>
<body class="homeTab"><h1 class="pageType">Home</h1><p>Welcome, {esc(user_name)}.</p></body></html>
"""


def interstitial(target: str, mode: str) -> str:
    """The script page frontdoor.jsp may answer instead of a 302 (SF-DataExport follows both
    ``top.window.location='…'`` and ``location.replace('…')``)."""
    quoted = js_string(target)
    if mode == "top":
        script = f"top.window.location='{quoted}';"
    else:
        script = ("function redirectOnLoad() {\nif (this.SfdcApp && this.SfdcApp.projectOneNavigator) "
                  f"{{ SfdcApp.projectOneNavigator.handleRedirect('{quoted}'); }}  else \n"
                  f"if (window.location.replace){{ \nwindow.location.replace('{quoted}');\n}} else {{;\n"
                  f"window.location.href ='{quoted}';\n}} \n}} \nredirectOnLoad();")
    return (f'<html><head><meta HTTP-EQUIV="PRAGMA" CONTENT="NO-CACHE">\n<script>\n{script}\n'
            f"</script>\n</head></html>\n\n<!--\n...................................................."
            "...........................................\n-->\n")


def error_page(title: str, message: str) -> str:
    """Salesforce's generic Classic error page (``Data Not Available`` style)."""
    return f"""<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN" "http://www.w3.org/TR/html4/loose.dtd">
<html><head><title>{esc(title)} ~ Salesforce</title></head>
<body class="hasMotif setupTab sfdcBody"><div class="bPageTitle"><div class="ptBody"><div class="content"><h1 class="noSecondHeader pageType">{esc(title)}</h1></div></div></div>
<div class="bPageBlock"><div class="pbBody"><span class="pageMsg">{esc(message)}</span></div></div>
<a href="javascript:history.back()">Click here to return to the previous page.</a></body></html>
"""


def lightning_setup_page(iframe_src: str) -> str:
    """``/lightning/setup/DataManagementExport/home``: a shell whose iframe holds the Classic page."""
    return f"""<!DOCTYPE html>
<html><head><title>Data Export | Salesforce</title></head>
<body class="desktop"><div class="oneSetupPage"><iframe name="vfFrameId" title="Data Export ~ Salesforce" height="100%" width="100%" src="{esc(iframe_src)}"></iframe></div></body></html>
"""


def format_date(when: dt.datetime, date_format: str) -> str:
    return when.strftime(date_format)
