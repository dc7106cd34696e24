"""The identity service: ``GET /services/oauth2/userinfo`` and ``GET /id/<orgId18>/<userId18>``.

Both are outside ``/services/data``: no API call is counted and no ``Sforce-Limit-Info`` is sent.
A bad or expired token gets ``403`` with the plain-text body ``Bad_OAuth_Token``, not REST's 401:
Salesforce's help page on the UserInfo endpoint says so, and clients special-case it
(SalesforceMobileSDK-iOS #3398, SalesforceMobileSDK-Android PR #2430, jsforce PR #736).

Shapes follow Salesforce's "Identity URLs" and "UserInfo Endpoint" help pages: the identity
answer has ``id, asserted_user, user_id, organization_id, username, nick_name, display_name,
email, …, urls{…}, active, user_type, language, locale, utcOffset, last_modified_date``; userinfo
is the OpenID Connect form (``sub`` = the identity URL, ``preferred_username``, ``name`` …) plus
the same ``urls``.
"""

from __future__ import annotations

from typing import Any

from sfexit_emulator.http import Call, Response, Router, json_response
from sfexit_emulator.routes import bearer_token

LATEST = "68.0"


def user_field(user: Any, name: str, default: Any = None) -> Any:
    """A field of the store's user record (a dict of User fields or an object)."""
    if user is None:
        return default
    if isinstance(user, dict):
        return user.get(name, default)
    return getattr(user, name, default)


def _bad_token() -> Response:
    return Response(status=403, body=b"Bad_OAuth_Token", content_type="text/plain;charset=UTF-8")


def _session_user(call: Call) -> tuple[str, Any] | None:
    token = bearer_token(call.request)
    if not token:
        return None
    app = call.app
    session = app.auth.use(token, app.clock.now(), app.faults.expire_session_after_calls,
                           app.faults.generation)
    if session is None:
        return None
    return session.user_id, app.store.user_by_id(session.user_id)


def identity_urls(base: str, org18: str, user18: str) -> dict[str, str]:
    v = "{version}"  # Salesforce leaves the literal placeholder in these URLs
    data = f"{base}/services/data/v{v}"
    return {
        "enterprise": f"{base}/services/Soap/c/{v}/{org18}",
        "metadata": f"{base}/services/Soap/m/{v}/{org18}",
        "partner": f"{base}/services/Soap/u/{v}/{org18}",
        "rest": f"{data}/",
        "sobjects": f"{data}/sobjects/",
        "search": f"{data}/search/",
        "query": f"{data}/query/",
        "recent": f"{data}/recent/",
        "tooling_soap": f"{base}/services/Soap/T/{v}/{org18}",
        "tooling_rest": f"{data}/tooling/",
        "profile": f"{base}/{user18}",
        "feeds": f"{data}/chatter/feeds",
        "groups": f"{data}/chatter/groups",
        "users": f"{data}/chatter/users",
        "feed_items": f"{data}/chatter/feed-items",
        "feed_elements": f"{data}/chatter/feed-elements",
        "custom_domain": base,
    }


def _common(call: Call, user_id: str, user: Any) -> dict[str, Any]:
    from sfexit_emulator.clock import sf_datetime
    from sfexit_emulator.ids import normalize_id

    app = call.app
    org18 = normalize_id(app.org_id) or app.org_id
    user18 = normalize_id(user_id) or user_id
    first = user_field(user, "FirstName")
    last = user_field(user, "LastName") or ""
    name = user_field(user, "Name") or " ".join(p for p in (first, last) if p)
    modified = user_field(user, "LastModifiedDate") or sf_datetime(app.clock.now())
    return {
        "org18": org18, "user18": user18, "first": first, "last": last, "name": name,
        "username": user_field(user, "Username"), "email": user_field(user, "Email"),
        "nick": user_field(user, "CommunityNickname") or (user_field(user, "Username") or "")
        .split("@")[0],
        "active": bool(user_field(user, "IsActive", True)),
        "user_type": str(user_field(user, "UserType") or "Standard").upper(),
        "language": user_field(user, "LanguageLocaleKey") or "en_US",
        "locale": user_field(user, "LocaleSidKey") or "en_US",
        "timezone": user_field(user, "TimeZoneSidKey") or "America/Los_Angeles",
        "modified": modified,
        "identity": f"{app.base_url}/id/{org18}/{user18}",
        "urls": identity_urls(app.base_url, org18, user18),
        "photos": {"picture": f"{app.base_url}/profilephoto/005/F",
                   "thumbnail": f"{app.base_url}/profilephoto/005/T"},
    }


def identity_body(call: Call, user_id: str, user: Any) -> dict[str, Any]:
    c = _common(call, user_id, user)
    return {
        "id": c["identity"], "asserted_user": True, "user_id": c["user18"],
        "organization_id": c["org18"], "username": c["username"], "nick_name": c["nick"],
        "display_name": c["name"], "email": c["email"], "email_verified": True,
        "first_name": c["first"], "last_name": c["last"], "timezone": c["timezone"],
        "photos": c["photos"], "addr_street": None, "addr_city": None, "addr_state": None,
        "addr_country": None, "addr_zip": None, "mobile_phone": None,
        "mobile_phone_verified": False, "is_lightning_login_user": False,
        "status": {"created_date": None, "body": None}, "urls": c["urls"],
        "active": c["active"], "user_type": c["user_type"], "language": c["language"],
        "locale": c["locale"], "utcOffset": -28800000, "last_modified_date": c["modified"],
        "is_app_installed": True,
    }


def userinfo_body(call: Call, user_id: str, user: Any) -> dict[str, Any]:
    c = _common(call, user_id, user)
    return {
        "sub": c["identity"], "user_id": c["user18"], "organization_id": c["org18"],
        "preferred_username": c["username"], "nickname": c["nick"], "name": c["name"],
        "email": c["email"], "email_verified": True, "given_name": c["first"],
        "family_name": c["last"], "zoneinfo": c["timezone"], "photos": c["photos"],
        "profile": c["urls"]["profile"], "picture": c["photos"]["picture"],
        "address": {}, "is_salesforce_integration_user": False, "urls": c["urls"],
        "active": c["active"], "user_type": c["user_type"], "language": c["language"],
        "locale": c["locale"], "utcOffset": -28800000, "updated_at": c["modified"],
        "is_app_installed": True,
    }


def userinfo(call: Call) -> Response:
    found = _session_user(call)
    if found is None:
        return _bad_token()
    return json_response(userinfo_body(call, *found))


def identity(call: Call) -> Response:
    from sfexit_emulator.ids import normalize_id

    found = _session_user(call)
    if found is None:
        return _bad_token()
    session_user, _user = found
    org = normalize_id(call.params["org"])
    wanted = normalize_id(call.params["user"])
    if org != normalize_id(call.app.org_id) or wanted is None:
        return _bad_token()
    # Any user of the org may be looked up by a valid session (Salesforce allows it for admins).
    user = call.app.store.user_by_id(wanted)
    if user is None:
        return _bad_token()
    return json_response(identity_body(call, wanted, user))


def register(router: Router) -> None:
    router.add("oauth_userinfo", r"/services/oauth2/userinfo", userinfo, ("GET", "POST"),
               auth="none", api=False)
    router.add("identity", r"/id/(?P<org>[^/]+)/(?P<user>[^/]+)/?", identity, ("GET", "POST"),
               auth="none", api=False)
