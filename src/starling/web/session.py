"""Browser sessions of the web app: the session cookie, who the viewer is, CSRF tokens.

- **Session**: the cookie :data:`SESSION_COOKIE` holds a Starling access token (the
  same revocable token ``POST /api/starling/v1/auth/token`` issues, with its ``jti``),
  so every check the API makes of a bearer token (signature, expiry, revocation, the
  user still existing) applies to a browser too, and "Log out" revokes the token for
  good (:meth:`~starling.services.accounts.AccountService.logout`). The cookie is
  ``HttpOnly`` (no script reads it), ``SameSite=Lax`` (not sent on cross-site POSTs)
  and ``Secure`` with ``STARLING_SECURE_COOKIES``.
- **CSRF**: every state-changing request carries a token, as the form field
  :data:`CSRF_FIELD` or the header :data:`CSRF_HEADER` (``fetch``); without the right
  one it is refused with 403. The token is an HMAC, under a key derived from the
  deployment's signing secret, of the session token (logged in) or of a random nonce in
  the cookie :data:`NONCE_COOKIE` (the login and sign-up forms, against login CSRF):
  the synchronizer-token pattern without server-side state (OWASP CSRF Prevention
  Cheat Sheet, "signed double-submit cookie").
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import Any, Final

from litestar import Request
from litestar.datastructures import Cookie

from starling.bootstrap import App
from starling.domain.errors import DomainError, Forbidden
from starling.domain.model import User

SESSION_COOKIE: Final = "starling_session"
"""The cookie holding the session's access token."""
NONCE_COOKIE: Final = "starling_nonce"
"""A random value the anonymous forms' CSRF token is bound to."""
CSRF_FIELD: Final = "csrf_token"
CSRF_HEADER: Final = "x-csrf-token"
CSRF_PURPOSE: Final = "web-csrf"
"""Purpose of the derived key CSRF tokens are signed with."""


@dataclass(frozen=True, slots=True)
class Viewer:
    """Who is asking: the user (None: anonymous), their session token, and the CSRF
    token their forms carry."""

    user: User | None
    token: str | None
    csrf: str
    nonce: str | None
    """The anonymous nonce to set as a cookie (a new visitor's), else None."""

    @property
    def id(self) -> int | None:
        return None if self.user is None else self.user.id


def csrf_token(core: App, *, session: str | None, nonce: str | None) -> str:
    """The CSRF token of a session (or, anonymous, of a nonce): 32 hex digits."""
    key = core.accounts.signing_key(CSRF_PURPOSE)
    subject = f"s|{session}" if session is not None else f"a|{nonce or ''}"
    return hmac.new(key, subject.encode(), hashlib.sha256).hexdigest()[:32]


async def viewer_of(request: Request[Any, Any, Any], core: App) -> Viewer:
    """The viewer of ``request``: a session cookie whose token does not verify (expired,
    revoked, its user deleted) is an anonymous visitor."""
    token = request.cookies.get(SESSION_COOKIE)
    user: User | None = None
    if token:
        try:
            user_id = await core.accounts.authenticate(token=token)
            user = await core.accounts.get(user_id=user_id)
        except DomainError:
            user, token = None, None
    else:
        token = None
    if user is not None:
        return Viewer(user, token, csrf_token(core, session=token, nonce=None), None)
    nonce = request.cookies.get(NONCE_COOKIE)
    fresh = None
    if not nonce:
        nonce = fresh = secrets.token_urlsafe(24)
    return Viewer(None, None, csrf_token(core, session=None, nonce=nonce), fresh)


def check_csrf(
    core: App, request: Request[Any, Any, Any], viewer: Viewer, given: str | None
) -> None:
    """Refuse (``Forbidden``, 403) a state-changing request without the viewer's CSRF
    token in the form field (``given``) or the header."""
    presented = given or request.headers.get(CSRF_HEADER) or ""
    if viewer.user is None:
        # A login or sign-up form: the token is bound to the nonce cookie it was made for.
        expected = csrf_token(core, session=None, nonce=request.cookies.get(NONCE_COOKIE) or "")
    else:
        expected = viewer.csrf
    if not presented or not hmac.compare_digest(presented, expected):
        raise Forbidden(
            "This form has expired or did not come from this site; reload the page and try again.",
            code="csrf_failed",
        )


def cookie(core: App, name: str, value: str, *, max_age: int | None) -> Cookie:
    """A cookie of the web app: HttpOnly, SameSite=Lax, Secure per the settings."""
    return Cookie(
        key=name,
        value=value,
        path="/",
        max_age=max_age,
        httponly=True,
        samesite="lax",
        secure=core.settings.secure_cookies,
    )


def session_cookie(core: App, token: str) -> Cookie:
    """The session cookie for ``token``, kept as long as the token lives."""
    return cookie(core, SESSION_COOKIE, token, max_age=core.settings.token_ttl_s)


def cleared(core: App, name: str) -> Cookie:
    """An instruction to delete cookie ``name``."""
    return cookie(core, name, "", max_age=0)
