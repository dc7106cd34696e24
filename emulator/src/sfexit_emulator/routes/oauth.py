"""``POST /services/oauth2/token`` (every grant) and ``POST /services/oauth2/revoke``.

Errors are HTTP 400 ``{"error", "error_description"}`` with the texts of errors.md §3. A success
body is ``{"access_token", ["refresh_token",] "signature", "scope", "instance_url", "id",
"token_type": "Bearer", "issued_at"}``; ``signature`` is base64 HMAC-SHA256 of ``id + issued_at``
keyed with the consumer secret (Salesforce's OAuth endpoint docs).

The username-password flow returns no refresh token: Salesforce documents that this flow does
not issue one. authorization_code does (the demo app has the refresh_token scope).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from typing import Any

from sfexit_emulator.auth_state import pkce_s256
from sfexit_emulator.http import Call, Response, Router, empty_response, json_response
from sfexit_emulator.routes import jwt_bearer
from sfexit_emulator.routes.identity import user_field

LOGIN_TYPE = "Remote Access 2.0"   # LoginHistory.LoginType of OAuth logins
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class OAuthError(Exception):
    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error, self.description, self.status = error, description, status


def oauth_error(error: str, description: str, status: int = 400) -> Response:
    return json_response({"error": error, "error_description": description}, status=status)


AUTH_FAILURE = ("invalid_grant", "authentication failure")
INACTIVE_USER = ("invalid_grant", "inactive user")
BAD_CLIENT_ID = ("invalid_client_id", "client identifier invalid")
# errors.md §3: docs say invalid_client_credentials; the wire text is UNCONF. We choose this.
BAD_SECRET = ("invalid_client", "invalid client credentials")
EXPIRED_REFRESH = ("invalid_grant", "expired access/refresh token")


def check_client(call: Call, client_id: str | None, secret: str | None,
                 secret_required: bool) -> None:
    app_cfg = call.app.auth.app
    if client_id != app_cfg.consumer_key:
        raise OAuthError(*BAD_CLIENT_ID)
    if (secret is not None or secret_required) and not hmac.compare_digest(
            (secret or "").encode(), app_cfg.consumer_secret.encode()):
        raise OAuthError(*BAD_SECRET)


def usable_user(call: Call, user_id: str, inactive: tuple[str, str]) -> Any:
    """The user if they may log in; OAuthError otherwise (frozen: errors.md §3, UNCONF)."""
    store = call.app.store
    user = store.user_by_id(user_id)
    if user is None:
        raise OAuthError(*AUTH_FAILURE)
    if not user_field(user, "IsActive", True):
        raise OAuthError(*inactive)
    if store.is_frozen(user_id):
        raise OAuthError(*AUTH_FAILURE)
    return user


def password_user(call: Call, username: str, password: str) -> str:
    """The id of the user whose password (+ security token) this is; OAuthError otherwise."""
    store = call.app.store
    user = store.user_by_username(username)
    if user is None or not store.check_password(username, password):
        raise OAuthError(*AUTH_FAILURE)
    user_id = str(user_field(user, "Id"))
    # A deactivated user's right password is still "authentication failure" in this flow.
    usable_user(call, user_id, AUTH_FAILURE)
    return user_id


def token_success(call: Call, user_id: str, refresh: bool, scope: str) -> Response:
    from sfexit_emulator.ids import normalize_id

    app = call.app
    now = app.clock.now()
    app.store.record_login(user_id, now=now, login_type=LOGIN_TYPE)
    session = app.auth.issue(user_id, now, client_id=app.auth.app.consumer_key)
    org18 = normalize_id(app.org_id) or app.org_id
    identity = f"{app.base_url}/id/{org18}/{normalize_id(user_id) or user_id}"
    issued_at = str(int(now.timestamp() * 1000))
    digest = hmac.new(app.auth.app.consumer_secret.encode(), (identity + issued_at).encode(),
                      hashlib.sha256).digest()
    body: dict[str, Any] = {"access_token": session.token}
    if refresh and app.auth.app.issues_refresh_tokens:
        body["refresh_token"] = app.auth.issue_refresh(user_id, app.auth.app.consumer_key)
    body.update({
        "signature": base64.b64encode(digest).decode("ascii"),
        "scope": scope,
        "instance_url": app.base_url,
        "id": identity,
        "token_type": "Bearer",
        "issued_at": issued_at,
    })
    response = json_response(body)
    response.headers.append(("Cache-Control", "no-cache,must-revalidate,max-age=0,no-store,private"))
    return response


def _basic_client(call: Call) -> tuple[str | None, str | None]:
    header = call.request.headers.get("Authorization") or ""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        client_id, _, secret = base64.b64decode(value).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return None, None
    return client_id, secret


def grant_password(call: Call, form: dict[str, str]) -> Response:
    check_client(call, form.get("client_id"), form.get("client_secret"), secret_required=True)
    user_id = password_user(call, form.get("username", ""), form.get("password", ""))
    return token_success(call, user_id, refresh=False, scope="api web full")


def grant_refresh(call: Call, form: dict[str, str]) -> Response:
    check_client(call, form.get("client_id"), form.get("client_secret"), secret_required=False)
    grant = call.app.auth.refresh_grant(form.get("refresh_token", ""))
    if grant is None or grant.client_id != form.get("client_id"):
        raise OAuthError(*EXPIRED_REFRESH)
    usable_user(call, grant.user_id, INACTIVE_USER)
    return token_success(call, grant.user_id, refresh=False, scope="refresh_token api web full")


def grant_client_credentials(call: Call, form: dict[str, str]) -> Response:
    basic_id, basic_secret = _basic_client(call)
    client_id = form.get("client_id") or basic_id
    secret = form.get("client_secret") or basic_secret
    check_client(call, client_id, secret, secret_required=True)
    user_id = call.app.auth.app.run_as_user_id
    usable_user(call, user_id, INACTIVE_USER)
    return token_success(call, user_id, refresh=False, scope="api web full")


def grant_jwt(call: Call, form: dict[str, str]) -> Response:
    claims = jwt_bearer.verify(call, form.get("assertion", ""))
    user = call.app.store.user_by_username(str(claims.get("sub", "")))
    if user is None:
        raise OAuthError("invalid_grant", "invalid assertion")
    user_id = str(user_field(user, "Id"))
    usable_user(call, user_id, INACTIVE_USER)
    return token_success(call, user_id, refresh=False, scope="api web full")


def grant_code(call: Call, form: dict[str, str]) -> Response:
    client_id = form.get("client_id")
    verifier = form.get("code_verifier")
    # A public client (PKCE, like the sf CLI) may omit the secret; a confidential one sends it.
    check_client(call, client_id, form.get("client_secret"), secret_required=verifier is None)
    code = call.app.auth.take_code(form.get("code", ""), call.app.clock.now())
    # Texts below: Salesforce's OAuth error list names these cases; exact wire text UNCONF.
    if code is None or code.client_id != client_id:
        raise OAuthError("invalid_grant", "invalid authorization code")
    if form.get("redirect_uri") != code.redirect_uri:
        raise OAuthError("redirect_uri_mismatch", "redirect_uri must match configuration")
    if code.code_challenge:
        expected = (pkce_s256(verifier) if verifier and code.code_challenge_method != "plain"
                    else verifier)
        if not verifier or not hmac.compare_digest(expected or "", code.code_challenge):
            raise OAuthError("invalid_grant", "invalid code verifier")
    usable_user(call, code.user_id, INACTIVE_USER)
    return token_success(call, code.user_id, refresh=True, scope="refresh_token api web full")


GRANTS = {
    "password": grant_password,
    "refresh_token": grant_refresh,
    "client_credentials": grant_client_credentials,
    JWT_GRANT: grant_jwt,
    "authorization_code": grant_code,
}


def token(call: Call) -> Response:
    form = call.request.form()
    if not form and call.request.query:
        form = {k: v[0] for k, v in call.request.query.items()}
    grant = GRANTS.get(form.get("grant_type", ""))
    if grant is None:
        return oauth_error("unsupported_grant_type", "grant type not supported")
    try:
        return grant(call, form)
    except OAuthError as exc:
        return oauth_error(exc.error, exc.description, exc.status)


def revoke(call: Call) -> Response:
    """200 with an empty body; an unknown token: 400 unsupported_token_type (wire text UNCONF)."""
    value = call.request.form().get("token") or call.request.arg("token") or ""
    if not call.app.auth.revoke(value):
        return oauth_error("unsupported_token_type", "this token type is not supported")
    return empty_response(200)


def register(router: Router) -> None:
    router.add("oauth_token", r"/services/oauth2/token", token, ("POST",), auth="none", api=False)
    router.add("oauth_revoke", r"/services/oauth2/revoke", revoke, ("POST", "GET"), auth="none",
               api=False)
