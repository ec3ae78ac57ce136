"""OAuth 2 routes of the Mastodon-compatible API: ``POST /api/v1/apps``, the
authorization page (``GET``/``POST /oauth/authorize``), ``POST /oauth/token``,
``POST /oauth/revoke`` and the server metadata (RFC 8414).

The authorization page is a form with the user's username and password and an
"Authorize" button; approving redirects to the app's ``redirect_uri`` with ``code`` (and
``state``), or, for the out-of-band URI, shows the code. The form carries no session:
the password is typed on every approval, so a forged cross-site POST can grant nothing.
"""

from __future__ import annotations

from typing import Any, Final
from urllib.parse import urlencode

from jinja2 import Environment, PackageLoader, select_autoescape
from litestar import MediaType, Request, Response, get, post
from litestar.status_codes import HTTP_302_FOUND

from starling.api.deps import Core
from starling.domain import errors as domain
from starling.domain.oauth import GRANULAR, OOB_REDIRECT, TOP_SCOPES
from starling.mastodon.docs import APP_DOC, EMPTY_DOC, TOKEN_DOC, errors_doc
from starling.mastodon.entities import Application, Token
from starling.mastodon.http import MastoError, auth, base_url, json, params
from starling.services.oauth import AuthorizeRequest, OAuthError

_templates: Final = Environment(
    loader=PackageLoader("starling.mastodon", "templates"),
    autoescape=select_autoescape(["html"]),
)


def _html(template: str, *, status: int = 200, **values: Any) -> Response[str]:
    body = _templates.get_template(template).render(**values)
    return Response(
        body,
        media_type=MediaType.HTML,
        status_code=status,
        headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"},
    )


@post(
    "/api/v1/apps",
    status_code=200,
    summary="Register a client application",
    opt={"rate_limit": "registrations"},
    responses={**APP_DOC, **errors_doc(422)},
)
async def create_app(request: Request[Any, Any, Any], core: Core) -> Response[bytes]:
    p = await params(request)
    uris = p.texts("redirect_uris")
    app, secret = await core.oauth.register_app(
        name=p.text("client_name") or "",
        redirect_uris=" ".join(uris) or OOB_REDIRECT,
        scopes=p.text("scopes"),
        website=p.text("website"),
    )
    return json(
        Application(
            id=str(app.id),
            name=app.name,
            website=app.website,
            scopes=list(app.scopes),
            redirect_uri="\n".join(app.redirect_uris),
            redirect_uris=list(app.redirect_uris),
            client_id=app.client_id,
            client_secret=secret,
        )
    )


@get(
    "/api/v1/apps/verify_credentials",
    summary="The application of the token",
    responses={**APP_DOC, **errors_doc(401)},
)
async def verify_app(request: Request[Any, Any, Any], core: Core) -> Response[bytes]:
    who = await auth(request, core)
    if who.client_id is None:
        raise MastoError(401, "The access token is invalid")
    app = await core.oauth.app(who.client_id)
    return json(
        {
            "id": str(app.id),
            "name": app.name,
            "website": app.website,
            "scopes": list(app.scopes),
            "redirect_uri": "\n".join(app.redirect_uris),
            "redirect_uris": list(app.redirect_uris),
            "vapid_key": "",
        }
    )


async def _authorize_request(values: dict[str, str | None], core: Core) -> AuthorizeRequest:
    return await core.oauth.check_authorize(
        client_id=values.get("client_id"),
        redirect_uri=values.get("redirect_uri"),
        response_type=values.get("response_type"),
        scope=values.get("scope"),
        code_challenge=values.get("code_challenge") or None,
        code_challenge_method=values.get("code_challenge_method") or None,
    )


_FIELDS: Final = (
    "client_id",
    "redirect_uri",
    "response_type",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
)


def _page(checked: AuthorizeRequest, values: dict[str, str | None], **extra: Any) -> dict[str, Any]:
    return {
        "app_name": checked.app.name,
        "website": checked.app.website or "",
        "client_id": checked.app.client_id,
        "redirect_uri": checked.redirect_uri,
        "scopes": " ".join(checked.scopes),
        "state": values.get("state") or "",
        "code_challenge": checked.challenge or "",
        "code_challenge_method": checked.challenge_method or "",
        "username": "",
        "error": "",
        **extra,
    }


@get(
    ["/oauth/authorize", "/oauth/authorize/"],
    summary="The authorization page (HTML: sign in and approve)",
    media_type=MediaType.HTML,
    opt={"rate_limit": "reads"},
)
async def authorize_page(request: Request[Any, Any, Any], core: Core) -> Response[str]:
    p = await params(request)
    values = {name: p.text(name) for name in _FIELDS}
    try:
        checked = await _authorize_request(values, core)
    except OAuthError as exc:
        # Never redirected: the redirect URI is not known to be the app's.
        return _html("error.html", status=400, error=exc.code, description=exc.message)
    return _html("authorize.html", **_page(checked, values))


@post(
    ["/oauth/authorize", "/oauth/authorize/"],
    summary="Approve an authorization request (HTML form post)",
    media_type=MediaType.HTML,
    status_code=200,
    opt={"rate_limit": "logins"},
)
async def authorize_approve(request: Request[Any, Any, Any], core: Core) -> Response[str]:
    p = await params(request)
    values = {name: p.text(name) for name in _FIELDS}
    try:
        checked = await _authorize_request(values, core)
    except OAuthError as exc:
        return _html("error.html", status=400, error=exc.code, description=exc.message)
    username = p.text("username") or ""
    try:
        user = await core.oauth.login(username=username, password=p.text("password") or "")
    except domain.Unauthorized:
        return _html(
            "authorize.html",
            status=401,
            **_page(checked, values, username=username, error="Wrong username or password."),
        )
    except domain.RetryLater as exc:
        return _html(
            "authorize.html",
            status=429 if isinstance(exc, domain.TooManyAttempts) else 503,
            **_page(checked, values, username=username, error=exc.message),
        )
    code = await core.oauth.grant_code(checked, user_id=user.id)
    if checked.redirect_uri == OOB_REDIRECT:
        return _html("code.html", app_name=checked.app.name, code=code)
    query = {"code": code}
    if values.get("state"):
        query["state"] = values["state"] or ""
    separator = "&" if "?" in checked.redirect_uri else "?"
    return Response(
        "",
        status_code=HTTP_302_FOUND,
        headers={"Location": f"{checked.redirect_uri}{separator}{urlencode(query)}"},
        media_type=MediaType.HTML,
    )


@post(
    "/oauth/token",
    status_code=200,
    summary="Obtain an access token (authorization_code, password, client_credentials)",
    opt={"rate_limit": "logins"},
    responses={**TOKEN_DOC, **errors_doc(400, 401, 429)},
)
async def token(request: Request[Any, Any, Any], core: Core) -> Response[bytes]:
    p = await params(request)
    grant = await core.oauth.token(
        grant_type=p.text("grant_type"),
        client_id=p.text("client_id"),
        client_secret=p.text("client_secret"),
        code=p.text("code"),
        redirect_uri=p.text("redirect_uri"),
        code_verifier=p.text("code_verifier"),
        username=p.text("username"),
        password=p.text("password"),
        scope=p.text("scope"),
    )
    return json(
        Token(grant.access_token, "Bearer", " ".join(grant.scopes), grant.created_at_s),
        headers={"Cache-Control": "no-store"},
    )


@post(
    "/oauth/revoke",
    status_code=200,
    summary="Revoke an access token (RFC 7009)",
    opt={"rate_limit": "engagement"},
    responses={**EMPTY_DOC, **errors_doc(400, 401, 403)},
)
async def revoke(request: Request[Any, Any, Any], core: Core) -> Response[bytes]:
    p = await params(request)
    await core.oauth.revoke(
        token=p.text("token"), client_id=p.text("client_id"), client_secret=p.text("client_secret")
    )
    return json({})


@get(
    "/.well-known/oauth-authorization-server",
    summary="OAuth 2 authorization server metadata (RFC 8414)",
    opt={"rate_limit": "reads"},
)
async def metadata(request: Request[Any, Any, Any]) -> dict[str, Any]:
    base = base_url(request)
    return {
        "issuer": f"{base}/",
        "service_documentation": "https://docs.joinmastodon.org/",
        "authorization_endpoint": f"{base}/oauth/authorize",
        "token_endpoint": f"{base}/oauth/token",
        "revocation_endpoint": f"{base}/oauth/revoke",
        "app_registration_endpoint": f"{base}/api/v1/apps",
        "scopes_supported": sorted(TOP_SCOPES) + sorted(GRANULAR),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": ["authorization_code", "password", "client_credentials"],
        "token_endpoint_auth_methods_supported": ["client_secret_post", "none"],
        "code_challenge_methods_supported": ["S256", "plain"],
    }


HANDLERS: Final = [
    create_app,
    verify_app,
    authorize_page,
    authorize_approve,
    token,
    revoke,
    metadata,
]
