"""The Data Export Service's browser side: frontdoor, the ``sid`` cookie, Setup pages, the servlet.

Routes (all HTML/UI routes use ``auth="none"`` and check the ``sid`` cookie here: the framework's
``session`` mode reads a Bearer header, which a browser never sends; ``api=False``: UI pages do
not count against DailyApiRequests):

- ``GET|POST /secur/frontdoor.jsp?sid=<token>&retURL=<relative path>`` — a live API session →
  ``Set-Cookie: sid=…`` (+ ``oid``) and a 302 to ``retURL`` (or, by the ``frontdoor_mode`` knob, a
  script interstitial); a bad token → 302 to the login page. Only a relative ``retURL`` is
  followed (no open redirect); anything else goes to ``/home/home.jsp``.
- ``GET /`` — the login page (``<title>Login | Salesforce</title>``); with a live ``sid`` cookie
  and a ``startURL`` it redirects there (so the ``redirect_loop`` knob makes a real loop); ``POST /``
  logs in with ``username``/``pw``.
- ``/ui/setup/export/DataExportPage/d`` (page), ``/e`` (Export Now form; POST starts an export),
  ``/servlet/servlet.OrgExport`` (index without query; download with ``?fileName=&id=``),
  ``/lightning/setup/DataManagementExport/home`` (Lightning shell), ``/home/home.jsp``. Without a
  live ``sid`` cookie: ``302`` to ``/?ec=302&startURL=<encoded path>``.
- ``GET|POST /__emulator__/dataexport`` — state and knobs (loopback only).

Emulator choices (UNCONFIRMED in the research, flagged): download ``Content-Type:
application/zip`` and ``Content-Disposition``; ``Range`` answered with ``206``/``Content-Range``
(``Accept-Ranges: bytes`` on every download); unknown/expired id → ``404`` "Data Not Available"
page; index ``text/plain;charset=UTF-8`` without a trailing newline; an invalid confirmation token
→ ``200`` error page, a POST inside the interval → the form again with the alert text (``200``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote

from sfexit_emulator import dataexport_pages as pages
from sfexit_emulator.clock import parse_iso
from sfexit_emulator.dataexport import (ENCODINGS, DataExportService, ExportOptions,
                                        ExportRefused, exportable_objects)
from sfexit_emulator.http import (Call, HttpError, Response, Router, json_response,
                                  parse_byte_range)

if TYPE_CHECKING:
    from sfexit_emulator.auth_state import Session
    from sfexit_emulator.server import EmulatorApp

HTML_TYPE = "text/html;charset=UTF-8"
TEXT_TYPE = "text/plain;charset=UTF-8"
ZIP_TYPE = "application/zip"           # UNCONF
EXTENSION_KEY = "dataexport"
HOME_PATH = "/home/home.jsp"
_CHUNK = 1 << 20


def service(app: EmulatorApp) -> DataExportService:
    """The org's Data Export state, made on first use (``org.app.extensions["dataexport"]``)."""
    with app.lock:
        found = app.extensions.get(EXTENSION_KEY)
        if found is None:
            found = app.extensions[EXTENSION_KEY] = DataExportService(app.store)
        return found


# --- helpers -------------------------------------------------------------------------------------
def _html(body: str, status: int = 200, headers: list[tuple[str, str]] | None = None,
          is_write: bool = False) -> Response:
    return Response(status=status, body=body.encode("utf-8"), content_type=HTML_TYPE,
                    headers=[("Cache-Control", "no-cache,must-revalidate,max-age=0,no-store,private")]
                    + list(headers or []), is_write=is_write)


def _redirect(call: Call, target: str, headers: list[tuple[str, str]] | None = None,
              is_write: bool = False) -> Response:
    location = call.app.base_url + target if target.startswith("/") else target
    return Response(status=302, body=b"", content_type=None,
                    headers=[("Location", location)] + list(headers or []), is_write=is_write)


def cookies(call: Call) -> dict[str, str]:
    jar: dict[str, str] = {}
    for piece in (call.request.headers.get("Cookie") or "").split(";"):
        name, sep, value = piece.strip().partition("=")
        if sep and name:
            jar[name] = value.strip().strip('"')
    return jar


def _use_token(app: EmulatorApp, token: str) -> Session | None:
    faults = app.faults
    return app.auth.use(token, app.clock.now(), faults.expire_session_after_calls,
                        faults.generation)


def ui_session(call: Call) -> Session | None:
    """The live session named by the ``sid`` cookie (counted as one use), or None."""
    token = cookies(call).get("sid")
    return _use_token(call.app, token) if token else None


def _full_path(call: Call) -> str:
    request = call.request
    return request.path + (f"?{request.query_string}" if request.query_string else "")


def login_redirect(call: Call) -> Response:
    """Salesforce's answer to a UI URL without a session (the page timeout script's form)."""
    return _redirect(call, "/?ec=302&startURL=" + quote(_full_path(call), safe=""))


def safe_relative(url: str | None) -> str | None:
    """``url`` if it is a same-site relative path (``/x``), else None (no open redirect)."""
    if not url or not url.startswith("/") or url.startswith("//") or url.startswith("/\\"):
        return None
    if re.search(r"[\x00-\x1f\\]", url):
        return None
    return url


def _cookie_headers(call: Call, token: str) -> list[tuple[str, str]]:
    secure = "; Secure" if call.app.base_url.startswith("https") else ""
    return [("Set-Cookie", f"sid={token}; Path=/{secure}; HttpOnly"),
            ("Set-Cookie", f"oid={call.app.org_id[:15]}; Path=/{secure}")]


def _user_name(app: EmulatorApp, user_id: str) -> str:
    user = app.store.user_by_id(user_id)
    if not user:
        return user_id
    return str(user.get("Name") or user.get("Username") or user_id)


def user_permissions(app: EmulatorApp, user_id: str) -> dict[str, bool]:
    """The profile permissions the UI checks: ``PermissionsDataExport`` ("Weekly Data Export",
    needed for the Data Export pages) and ``PermissionsApiUserOnly`` ("API Only User": no UI).
    Permission sets are not consulted (emulator simplification)."""
    from sfexit_emulator.ids import normalize_id

    uid = normalize_id(user_id) or user_id
    cursor = app.store.query("SELECT Profile.PermissionsDataExport, Profile.PermissionsApiUserOnly "
                             f"FROM User WHERE Id = '{uid}'", now=app.clock.now())
    for row in cursor.rows():
        return {"PermissionsDataExport": bool(row[0]), "PermissionsApiUserOnly": bool(row[1])}
    return {"PermissionsDataExport": False, "PermissionsApiUserOnly": False}


def _ui_allowed(app: EmulatorApp, session: Session) -> bool:
    if not service(app).settings.api_only_blocks_ui:
        return True
    return not user_permissions(app, session.user_id)["PermissionsApiUserOnly"]


UiHandler = Callable[[Call, "Session"], Response]


def ui(handler: UiHandler, needs_data_export: bool = True) -> Callable[[Call], Response]:
    """Wrap a UI handler: no live ``sid`` cookie (or the ``redirect_loop`` knob, or an API-only
    user when ``api_only_blocks_ui``) → login redirect; a user without the "Weekly Data Export"
    permission → the Insufficient Privileges page (200, UNCONF)."""
    def wrapped(call: Call) -> Response:
        session = ui_session(call)
        if (session is None or service(call.app).settings.redirect_loop
                or not _ui_allowed(call.app, session)):
            return login_redirect(call)
        if needs_data_export and not user_permissions(
                call.app, session.user_id)["PermissionsDataExport"]:
            return _html(pages.error_page("Insufficient Privileges", pages.INSUFFICIENT_PRIVILEGES))
        return handler(call, session)
    wrapped.__name__ = handler.__name__
    return wrapped


# --- frontdoor and login ---------------------------------------------------------------------------
def _params(call: Call) -> dict[str, str]:
    values = {k: v[0] for k, v in call.request.query.items()}
    if call.request.method == "POST":
        values.update(call.request.form())
    return values


def frontdoor(call: Call) -> Response:
    params = _params(call)
    token = params.get("sid", "")
    target = safe_relative(params.get("retURL")) or HOME_PATH
    session = _use_token(call.app, token) if token else None
    if session is None or not _ui_allowed(call.app, session):
        return _redirect(call, "/?ec=302&startURL=" + quote(target, safe=""))
    headers = _cookie_headers(call, token)
    mode = service(call.app).settings.frontdoor_mode
    if mode == "redirect":
        return _redirect(call, target, headers)
    return _html(pages.interstitial(target, mode), headers=headers)


def login(call: Call) -> Response:
    params = _params(call)
    start = safe_relative(params.get("startURL"))
    if call.request.method == "POST" and "username" in params:
        from sfexit_emulator.routes.oauth import OAuthError, password_user

        try:
            user_id = password_user(call, params.get("username", ""), params.get("pw", ""))
        except OAuthError:
            return _html(pages.login_page(start or "", pages_login_failed()))
        app = call.app
        session = app.auth.issue(user_id, app.clock.now())
        app.store.record_login(user_id, now=app.clock.now(), login_type="Application")
        return _redirect(call, start or HOME_PATH, _cookie_headers(call, session.token),
                         is_write=True)
    token = cookies(call).get("sid")
    if token and start and _use_token(call.app, token) is not None:
        return _redirect(call, start)
    return _html(pages.login_page(start or ""))


def pages_login_failed() -> str:
    from sfexit_emulator.routes.oauth_web import LOGIN_FAILED

    return LOGIN_FAILED


def home(call: Call, session: Session) -> Response:
    return _html(pages.home_page(_user_name(call.app, session.user_id)))


# --- the Data Export page ----------------------------------------------------------------------------
def _page_args(call: Call, session: Session) -> dict[str, Any]:
    svc = service(call.app)
    return {"title": svc.title(), "edition": svc.edition(), "user_id": session.user_id,
            "user_name": _user_name(call.app, session.user_id),
            "date_format": svc.settings.date_format}


def export_page(call: Call, session: Session, error: str | None = None) -> Response:
    svc = service(call.app)
    now = call.app.clock.now()
    with svc.lock:
        state = svc.state(now)
        refusal = svc.refusal(now)
        run = svc.current
        delivery = None
        if run is not None and state in ("in_progress", "ready"):
            delivery = (run.requested_by, _user_name(call.app, run.requested_by),
                        run.requested_at.strftime(svc.settings.date_format), run.options)
        parts = svc.listed_files(now)
    lightning = svc.settings.lightning or call.request.arg("isdtp") == "p1"
    text = pages.export_page(state=state, refusal=refusal, delivery=delivery, parts=parts,
                             lightning=lightning, error=error,
                             expiry_hours=_number(svc.settings.expiry_hours),
                             **_page_args(call, session))
    return _html(text)


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else str(value)


def _object_choices(app: EmulatorApp) -> list[tuple[str, str]]:
    out = []
    for name in exportable_objects(app.store):
        obj = app.store.schema.get(name)
        out.append((name, obj.label if obj is not None else name))
    return out


def _form_page(call: Call, session: Session, ret_url: str, error: str | None = None) -> Response:
    svc = service(call.app)
    token = svc.confirmation_token(session.token, call.app.clock.now())
    text = pages.export_form(token=token, ret_url=ret_url, objects=_object_choices(call.app),
                             error=error, **_page_args(call, session))
    return _html(text)


def export_edit(call: Call, session: Session) -> Response:
    if call.request.method != "POST":
        ret_url = safe_relative(call.request.arg("retURL")) or pages.PAGE_PATH
        return _form_page(call, session, ret_url)
    form = parse_qs(call.request.body.decode("utf-8", "replace"), keep_blank_values=True)

    def first(name: str) -> str | None:
        values = form.get(name)
        return values[0] if values else None

    ret_url = safe_relative(first("retURL")) or pages.PAGE_PATH
    if first(pages.CANCEL_NAME) is not None:
        return _redirect(call, ret_url)
    svc = service(call.app)
    if not svc.check_token(first(pages.FIELD_TOKEN), session.token):
        return _html(pages.error_page("Error", pages.INVALID_CONFIRMATION))
    encoding = first(pages.FIELD_ENCODING) or ""
    if encoding not in {value for value, _label, _codec in ENCODINGS}:
        return _form_page(call, session, ret_url, "Invalid export file encoding.")
    objects: tuple[str, ...] | None = None
    if first(pages.FIELD_ALL_DATA) is None:
        known = {name.lower(): name for name in exportable_objects(call.app.store)}
        objects = tuple(known[v.lower()] for v in form.get(pages.FIELD_OBJECT, [])
                        if v.lower() in known)
        if not objects:
            return _form_page(call, session, ret_url, "You must select at least one object.")
    options = ExportOptions(encoding=encoding,
                            include_attachments=first(pages.FIELD_ATTACHMENTS) is not None,
                            include_files=first(pages.FIELD_FILES) is not None,
                            replace_cr=first(pages.FIELD_REPLACE_CR) is not None,
                            objects=objects)
    try:
        svc.start(options, session.user_id, call.app.clock.now())
    except ExportRefused as refused:
        return _form_page(call, session, ret_url, refused.message)
    return _redirect(call, ret_url, is_write=True)


def lightning_home(call: Call, session: Session) -> Response:
    return _html(pages.lightning_setup_page(
        pages.PAGE_PATH + "?setupid=DataManagementExport&isdtp=p1"))


# --- the servlet: index and downloads -----------------------------------------------------------------
def servlet(call: Call, session: Session) -> Response:
    request = call.request
    svc = service(call.app)
    now = call.app.clock.now()
    file_id = request.arg("id")
    file_name = request.arg("fileName")
    if file_id is None and file_name is None:
        lines = [part.url for part in svc.listed_files(now)]
        return Response(status=200, body="\n".join(lines).encode("utf-8"), content_type=TEXT_TYPE)
    part = svc.find_file(file_id or "", now)
    if part is None:
        return _html(pages.error_page("Data Not Available", pages.DATA_NOT_AVAILABLE), status=404)
    if call.app.faults.html_instead_of_zip:
        call.app.stats.count_fault("html_instead_of_zip")
        return _html(pages.login_page(_full_path(call)))
    size = part.size
    headers = [("Content-Disposition", f'attachment; filename="{part.name}"'),
               ("Accept-Ranges", "bytes")]
    start, end, status = 0, size - 1, 200
    wanted = request.headers.get("Range")
    if wanted:
        parsed = parse_byte_range(wanted, size)
        if isinstance(parsed, str):
            return Response(status=416, body=b"", content_type=None,
                            headers=[("Content-Range", f"bytes */{size}")])
        if parsed is not None:
            start, end = parsed
            status = 206
            headers.append(("Content-Range", f"bytes {start}-{end}/{size}"))
    length = end - start + 1 if size else 0
    try:
        stream: Iterator[bytes] = iter(()) if request.method == "HEAD" else _file_range(
            part.path, start, length)
    except FileNotFoundError:  # expired or replaced between the lookup and the open
        return _html(pages.error_page("Data Not Available", pages.DATA_NOT_AVAILABLE), status=404)
    response = Response(status=status, content_type=ZIP_TYPE, headers=headers, stream=stream,
                        content_length=length)
    with svc.lock:
        if svc.settings.truncate_downloads > 0 and request.method != "HEAD" and length > 1:
            svc.settings.truncate_downloads -= 1
            call.app.stats.count_fault("dataexport_truncate")
            response.reset_after = length // 2
    return response


def _file_range(path: Path, start: int, length: int) -> Iterator[bytes]:
    # Opened now, not lazily: a part deleted by a new export while we stream stays readable.
    fh = open(path, "rb")

    def chunks() -> Iterator[bytes]:
        try:
            fh.seek(start)
            left = length
            while left > 0:
                chunk = fh.read(min(_CHUNK, left))
                if not chunk:
                    return
                left -= len(chunk)
                yield chunk
        finally:
            fh.close()
    return chunks()


# --- admin: /__emulator__/dataexport ----------------------------------------------------------------------
def admin(call: Call) -> Response:
    """GET: state. POST JSON (any of): ``{"settings": {...}}``, ``{"reset": true}``,
    ``{"last_export_at": "<ISO>"|null}``, ``{"seed_export": {"requested_at": "<ISO>",
    "encoding", "include_attachments", "include_files", "replace_cr", "objects"}}``."""
    from sfexit_emulator.server import is_loopback

    if not is_loopback(call.request.client_host):
        raise HttpError(403, "FORBIDDEN", "The emulator's admin API is served to loopback only")
    svc = service(call.app)
    if call.request.method == "POST":
        body = call.request.json()
        if not isinstance(body, dict):
            raise HttpError(400, "INVALID_INPUT", "send a JSON object")
        unknown = set(body) - {"settings", "reset", "last_export_at", "seed_export"}
        if unknown:
            raise HttpError(400, "INVALID_INPUT", f"unknown keys: {', '.join(sorted(unknown))}")
        try:
            if body.get("reset"):
                svc.reset()
            if "settings" in body:
                if not isinstance(body["settings"], dict):
                    raise ValueError("settings must be an object")
                svc.update(body["settings"])
            if "last_export_at" in body:
                value = body["last_export_at"]
                svc.set_last_export(None if value is None else parse_iso(str(value)))
            if "seed_export" in body:
                seed = dict(body["seed_export"] or {})
                when = parse_iso(str(seed.pop("requested_at")))
                objects = seed.pop("objects", None)
                options = ExportOptions(objects=tuple(objects) if objects is not None else None,
                                        **seed)
                options.codec()
                svc.seed_export(when, options)
        except (TypeError, ValueError, KeyError) as exc:
            raise HttpError(400, "INVALID_INPUT", str(exc)) from exc
    return json_response(svc.snapshot(call.app.clock.now()))


def register(router: Router) -> None:
    router.add("admin_dataexport", r"/__emulator__/dataexport", admin, ("GET", "POST"),
               auth="admin", api=False)
    router.add("ui_frontdoor", r"/secur/frontdoor\.jsp", frontdoor, ("GET", "POST"),
               auth="none", api=False)
    router.add("ui_login", r"/", login, ("GET", "POST"), auth="none", api=False)
    router.add("ui_home", r"/home/home\.jsp", ui(home, needs_data_export=False), ("GET",),
               auth="none", api=False)
    router.add("dataexport_page", r"/ui/setup/export/DataExportPage/d", ui(export_page),
               ("GET", "POST"), auth="none", api=False)
    router.add("dataexport_edit", r"/ui/setup/export/DataExportPage/e", ui(export_edit),
               ("GET", "POST"), auth="none", api=False)
    router.add("dataexport_servlet", r"/servlet/servlet\.OrgExport", ui(servlet),
               ("GET", "POST"), auth="none", api=False)
    router.add("dataexport_lightning", r"/lightning/setup/DataManagementExport/home",
               ui(lightning_home), ("GET",), auth="none", api=False)
