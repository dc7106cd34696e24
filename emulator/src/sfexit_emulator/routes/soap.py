"""SOAP ``login`` at ``/services/Soap/u/<version>`` (partner) and ``/services/Soap/c/<version>``;
``logout`` and ``update`` in soap_calls.py.

What clients send: simple-salesforce's login.py posts ``<n1:login><n1:username>…
<n1:password>{password}{security_token}`` with ``SOAPAction: login`` and reads ``sessionId``
and ``serverUrl`` (taking the instance host from serverUrl), or ``sf:exceptionCode`` /
``sf:exceptionMessage`` from a fault. The answer is the partner WSDL's ``loginResponse``
(metadataServerUrl, passwordExpired, sandbox, serverUrl, sessionId, userId, userInfo{…}).
Faults are HTTP 500 ``text/xml`` in the captured form of errors.md §1/§4.

Salesforce retires SOAP ``login()`` from API 65.0 (Winter '26). The fault it answers there is
UNCONF: we answer ``UNSUPPORTED_API_VERSION`` with the message below.
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from typing import Any
from xml.sax.saxutils import escape

from sfexit_emulator.http import Call, Response, Router
from sfexit_emulator.routes.identity import user_field

LAST_SOAP_LOGIN_VERSION = 64.0
LOGIN_TYPE = "Other Apex API"  # LoginHistory.LoginType of a SOAP API login
INVALID_LOGIN = "Invalid username, password, security token; or user locked out."
# UNCONF: Salesforce's exact fault for login() at 65.0+ is not documented in our sources.
RETIRED = ("SOAP API login() is not supported in API version 65.0 and later. "
           "Use OAuth 2.0 to get a session.")


def fault(code: str, message: str, api: str = "u", login: bool = True) -> Response:
    namespace = "urn:fault.partner.soap.sforce.com" if api == "u" \
        else "urn:fault.enterprise.soap.sforce.com"
    detail_type = "LoginFault" if login else "UnexpectedErrorFault"
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        f'xmlns:sf="{namespace}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<soapenv:Body><soapenv:Fault>"
        f"<faultcode>sf:{code}</faultcode><faultstring>{escape(code)}: {escape(message)}"
        f"</faultstring><detail><sf:{detail_type} xsi:type=\"sf:{detail_type}\">"
        f"<sf:exceptionCode>{code}</sf:exceptionCode>"
        f"<sf:exceptionMessage>{escape(message)}</sf:exceptionMessage>"
        f"</sf:{detail_type}></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>")
    return Response(status=500, body=body.encode("utf-8"), content_type="text/xml;charset=UTF-8")


def _client_fault(message: str) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"><soapenv:Body>'
        f"<soapenv:Fault><faultcode>soapenv:Client</faultcode><faultstring>{escape(message)}"
        "</faultstring></soapenv:Fault></soapenv:Body></soapenv:Envelope>")
    return Response(status=500, body=body.encode("utf-8"), content_type="text/xml;charset=UTF-8")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _login_args(root: ElementTree.Element) -> tuple[str, str] | None:
    for element in root.iter():
        if _local(element.tag) == "login":
            values = {_local(child.tag): (child.text or "") for child in element}
            return values.get("username", ""), values.get("password", "")
    return None


def _value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return escape(str(value))


def _element(name: str, value: Any) -> str:
    if value is None:
        return f'<{name} xsi:nil="true"/>'
    return f"<{name}>{_value(value)}</{name}>"


def login_response(call: Call, api: str, user_id: str, user: Any, session_id: str) -> Response:
    from sfexit_emulator.ids import normalize_id

    app = call.app
    org15 = app.org_id[:15]
    org18 = normalize_id(app.org_id) or app.org_id
    version = call.params["soap_version"]
    info = [
        ("accessibilityMode", False), ("chatterExternal", False), ("currencySymbol", "$"),
        ("orgAttachmentFileSizeLimit", 5242880), ("orgDefaultCurrencyIsoCode", "USD"),
        ("orgDefaultCurrencyLocale", "en_US"), ("orgDisallowHtmlAttachments", False),
        ("orgHasPersonAccounts", False), ("organizationId", org18),
        ("organizationMultiCurrency", False), ("organizationName", app.store.org_name),
        ("profileId", user_field(user, "ProfileId")), ("roleId", user_field(user, "UserRoleId")),
        ("sessionSecondsValid", app.auth.session_seconds),
        ("userDefaultCurrencyIsoCode", None), ("userEmail", user_field(user, "Email")),
        ("userFullName", user_field(user, "Name")), ("userId", normalize_id(user_id) or user_id),
        ("userLanguage", user_field(user, "LanguageLocaleKey") or "en_US"),
        ("userLocale", user_field(user, "LocaleSidKey") or "en_US"),
        ("userName", user_field(user, "Username")),
        ("userTimeZone", user_field(user, "TimeZoneSidKey") or "America/Los_Angeles"),
        ("userType", user_field(user, "UserType") or "Standard"), ("userUiSkin", "Theme3"),
    ]
    result = "".join([
        _element("metadataServerUrl", f"{app.base_url}/services/Soap/m/{version}/{org15}"),
        _element("passwordExpired", False), _element("sandbox", False),
        _element("serverUrl", f"{app.base_url}/services/Soap/{api}/{version}/{org15}"),
        _element("sessionId", session_id), _element("userId", normalize_id(user_id) or user_id),
        "<userInfo>", "".join(_element(k, v) for k, v in info), "</userInfo>",
    ])
    namespace = "urn:partner.soap.sforce.com" if api == "u" else "urn:enterprise.soap.sforce.com"
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
        f'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="{namespace}" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body><loginResponse>'
        f"<result>{result}</result></loginResponse></soapenv:Body></soapenv:Envelope>")
    return Response(status=200, body=body.encode("utf-8"), content_type="text/xml;charset=UTF-8")


def soap(call: Call) -> Response:
    from sfexit_emulator.routes import soap_calls
    from sfexit_emulator.routes.versions import retired

    api = call.params["api"]
    if retired(call.params["soap_version"], call.app.clock.now().date()) \
            or call.params["soap_version"] not in call.app.versions:
        # KB 000354473: "SOAP API returns 500: UNSUPPORTED_API_VERSION" (text UNCONF).
        return fault("UNSUPPORTED_API_VERSION", f"Invalid Api version specified on URL: "
                     f"{call.params['soap_version']}", api, login=False)
    try:
        root = ElementTree.fromstring(call.request.body)
        args = _login_args(root)
    except ElementTree.ParseError:
        return _client_fault("Unable to parse the request body as a SOAP envelope")
    if args is None:
        handled = soap_calls.handle(call, api, root)
        if handled is not None:
            return handled
        # Only login, logout and update are emulated; any other call is refused (text UNCONF).
        return fault("INVALID_OPERATION", "The emulator implements only the SOAP login, "
                     "logout and update calls", api, login=False)
    if float(call.params["soap_version"]) > LAST_SOAP_LOGIN_VERSION:
        return fault("UNSUPPORTED_API_VERSION", RETIRED, api)
    username, password = args
    store = call.app.store
    user = store.user_by_username(username)
    if user is None or not store.check_password(username, password):
        return fault("INVALID_LOGIN", INVALID_LOGIN, api)
    user_id = str(user_field(user, "Id"))
    # Frozen (UNCONF, errors.md §3) and inactive users get the generic INVALID_LOGIN.
    if not user_field(user, "IsActive", True) or store.is_frozen(user_id):
        return fault("INVALID_LOGIN", INVALID_LOGIN, api)
    now = call.app.clock.now()
    store.record_login(user_id, now=now, login_type=LOGIN_TYPE)
    session = call.app.auth.issue(user_id, now)
    return login_response(call, api, user_id, user, session.token)


def register(router: Router) -> None:
    router.add("soap", r"/services/Soap/(?P<api>[uc])/(?P<soap_version>\d+\.\d)(?:/[^/]*)?/?",
               soap, ("POST",), auth="none", api=False)
