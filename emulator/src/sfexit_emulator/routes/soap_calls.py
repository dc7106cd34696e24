"""SOAP calls beyond login(), on the session of the ``SessionHeader``: ``logout`` and ``update``.

SOAP API Developer Guide:
- logout() (sforce_api_calls_logout.htm): "Ends the session of the logged-in user"; the answer is
  an empty ``logoutResponse``. The session's token no longer works anywhere (REST included).
- update() (sforce_api_calls_update.htm): ``<update><sObjects>…</sObjects></update>``, up to 200
  records, one ``SaveResult`` per record in order (``id``, ``success``, ``errors`` with
  ``fields``/``message``/``statusCode``). Partner WSDL records carry ``<type>``; enterprise
  ones ``xsi:type``. ``fieldsToNull`` names fields to empty.
- OwnerChangeOptions header (sforce_api_header_ownerchangeoptions.htm): ``<options><type>
  KeepAccountTeam</type><execute>true</execute></options>``; only KeepAccountTeam and
  KeepSalesTeam change what the emulator does (store_writes.TEAM_ON_OWNER_CHANGE); the other
  types are accepted and ignored (the API does no cascade the emulator models).
A missing or dead session answers the INVALID_SESSION_ID fault (UnexpectedErrorFault; text as the
REST one, UNCONF for SOAP).
"""

from __future__ import annotations

import xml.etree.ElementTree as ElementTree
from typing import Any
from xml.sax.saxutils import escape

from sfexit_emulator.http import Call, Response

MAX_RECORDS = 200
XSI_TYPE = "{http://www.w3.org/2001/XMLSchema-instance}type"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _children(element: ElementTree.Element, name: str) -> list[ElementTree.Element]:
    return [c for c in element if _local(c.tag) == name]


def call_of(root: ElementTree.Element) -> ElementTree.Element | None:
    """The one element of the SOAP Body: the call."""
    for element in root.iter():
        if _local(element.tag) == "Body":
            return next(iter(element), None)
    return None


def _header(root: ElementTree.Element, name: str) -> ElementTree.Element | None:
    for element in root.iter():
        if _local(element.tag) == name:
            return element
    return None


def _session_token(root: ElementTree.Element) -> str | None:
    header = _header(root, "SessionHeader")
    found = _children(header, "sessionId") if header is not None else []
    return (found[0].text or "").strip() or None if found else None


def _envelope(api: str, body: str) -> Response:
    namespace = "urn:partner.soap.sforce.com" if api == "u" else "urn:enterprise.soap.sforce.com"
    text = ('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope '
            f'xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" xmlns="{namespace}" '
            'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><soapenv:Body>'
            f"{body}</soapenv:Body></soapenv:Envelope>")
    return Response(status=200, body=text.encode("utf-8"), content_type="text/xml;charset=UTF-8")


def handle(call: Call, api: str, root: ElementTree.Element) -> Response | None:
    """The answer to a logout or update call; None for any other call."""
    from sfexit_emulator.routes import SESSION_INVALID
    from sfexit_emulator.routes.soap import fault

    body = call_of(root)
    name = _local(body.tag) if body is not None else ""
    if name not in ("logout", "update"):
        return None
    assert body is not None
    token = _session_token(root)
    app = call.app
    session = app.auth.use(token, app.clock.now(), app.faults.expire_session_after_calls,
                           app.faults.generation) if token else None
    if session is None:
        return fault("INVALID_SESSION_ID", SESSION_INVALID, api, login=False)
    if name == "logout":
        app.auth.revoke(token or "")
        return _envelope(api, "<logoutResponse/>")
    records = _children(body, "sObjects")
    if len(records) > MAX_RECORDS:
        return fault("EXCEEDED_ID_LIMIT", "record limit reached. cannot submit more than 200 "
                     "records into this call", api, login=False)
    options = _owner_change_options(root)
    results = []
    with app.store.transaction(as_user=session.user_id, now=app.clock.now(),
                               owner_change_options=options) as batch:
        for record in records:
            results.append(_update_one(batch, record))
    response = _envelope(api, "<updateResponse>" + "".join(results) + "</updateResponse>")
    response.is_write = True
    return response


def _owner_change_options(root: ElementTree.Element) -> frozenset[str]:
    header = _header(root, "OwnerChangeOptions")
    chosen: set[str] = set()
    for option in _children(header, "options") if header is not None else []:
        kind = next((c.text or "" for c in option if _local(c.tag) == "type"), "")
        execute = next((c.text or "" for c in option if _local(c.tag) == "execute"), "")
        if execute.strip().lower() == "true":
            chosen.add(kind.strip())
    return frozenset(chosen)


def _record_values(record: ElementTree.Element) -> tuple[str, str, dict[str, Any]]:
    """(type, id, values) of one sObjects element."""
    sobject = record.get(XSI_TYPE, "").split(":")[-1]
    record_id = ""
    values: dict[str, Any] = {}
    for child in record:
        name = _local(child.tag)
        if name == "type":
            sobject = (child.text or "").strip()
        elif name == "Id":
            record_id = (child.text or "").strip()
        elif name == "fieldsToNull":
            values[(child.text or "").strip()] = None
        elif child.get(XSI_NIL) != "true":
            values[name] = child.text or ""
    return sobject, record_id, values


def _update_one(batch: Any, record: ElementTree.Element) -> str:
    sobject, record_id, values = _record_values(record)
    try:
        batch.attempt(lambda: batch.update(sobject, record_id, values))
    except Exception as exc:
        if type(exc).__name__ != "SalesforceFault":
            raise
        fields = "".join(f"<fields>{escape(f)}</fields>" for f in (getattr(exc, "fields", None) or []))
        return (f"<result><errors>{fields}<message>{escape(str(getattr(exc, 'message')))}</message>"
                f"<statusCode>{escape(str(getattr(exc, 'error_code')))}</statusCode></errors>"
                '<id xsi:nil="true"/><success>false</success></result>')
    from sfexit_emulator.ids import normalize_id

    return f"<result><id>{normalize_id(record_id) or record_id}</id><success>true</success></result>"
