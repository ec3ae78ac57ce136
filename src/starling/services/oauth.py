"""OAuth 2 for the Mastodon-compatible client API: client registration, the
authorization-code grant with PKCE (RFC 7636), the password and client-credentials
grants, revocation (RFC 7009).

Access tokens are Starling's own signed tokens (:class:`~starling.services.credentials.Tokens`)
carrying the granted scopes and the client's id: revoked like any Starling token (the
``jti`` revocation list every process checks), so one token mechanism serves both APIs.
Applications and authorization codes are rows (:class:`~starling.ports.OAuthStore`);
a code is taken from the store when it is exchanged, so it works once, in any process.

Errors are :class:`OAuthError` with RFC 6749 section 5.2's codes (``invalid_request``,
``invalid_client``, ``invalid_grant``, ``unauthorized_client``,
``unsupported_grant_type``, ``invalid_scope``).
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Final

import msgspec

from starling.domain.errors import DomainError, Unauthorized
from starling.domain.ids import SnowflakeGenerator
from starling.domain.model import User
from starling.domain.oauth import (
    CODE_TTL_MS,
    OOB_REDIRECT,
    AuthorizationCode,
    OAuthApp,
    digest,
    parse_scopes,
    pkce_matches,
    same_secret,
    within,
)
from starling.ports import Clock, Store
from starling.services.accounts import AccountService

MAX_APP_NAME: Final = 200
MAX_REDIRECT_URI: Final = 2000
MAX_REDIRECT_URIS: Final = 10


class OAuthError(DomainError):
    """An OAuth failure (RFC 6749 section 5.2): ``code`` is the ``error`` value,
    ``status`` the HTTP status (400, or 401 for ``invalid_client``)."""

    def __init__(self, code: str, message: str, *, status: int = 400) -> None:
        super().__init__(message, code=code)
        self.status = status


class Grant(msgspec.Struct, frozen=True):
    """An issued access token: the token, its scopes, and when it was created (Unix s)."""

    access_token: str
    scopes: tuple[str, ...]
    created_at_s: int


class AuthorizeRequest(msgspec.Struct, frozen=True):
    """A checked authorization request: the app, the redirect URI and scopes asked for,
    and the PKCE challenge."""

    app: OAuthApp
    redirect_uri: str
    scopes: tuple[str, ...]
    challenge: str | None
    challenge_method: str | None


class OAuthService:
    """Applications, grants and revocation (see the module docstring)."""

    def __init__(
        self, *, store: Store, accounts: AccountService, ids: SnowflakeGenerator, clock: Clock
    ) -> None:
        self._store = store
        self._accounts = accounts
        self._ids = ids
        self._clock = clock

    # --- applications ------------------------------------------------------------------
    async def register_app(
        self, *, name: str, redirect_uris: str, scopes: str | None, website: str | None
    ) -> tuple[OAuthApp, str]:
        """Register a client; returns it and its secret (shown once, stored digested).
        ``redirect_uris``: one or more URIs separated by white space (or the out-of-band
        URI). Raises ``OAuthError`` (``invalid_request``, ``invalid_scope``)."""
        name = name.strip()
        if not name or len(name) > MAX_APP_NAME:
            raise OAuthError(
                "invalid_request", f"client_name must be 1 to {MAX_APP_NAME} characters."
            )
        uris = tuple(redirect_uris.split())
        if not uris or len(uris) > MAX_REDIRECT_URIS:
            raise OAuthError("invalid_request", "redirect_uris must name 1 to 10 URIs.")
        for uri in uris:
            if len(uri) > MAX_REDIRECT_URI or (uri != OOB_REDIRECT and ":" not in uri):
                raise OAuthError("invalid_request", f"Not a redirect URI: {uri[:100]}")
        app = OAuthApp(
            id=self._ids.next_id(),
            client_id=secrets.token_urlsafe(32),
            secret_digest="",
            name=name,
            website=website or None,
            redirect_uris=uris,
            scopes=self._scopes(scopes),
            created_at_ms=self._clock.now_ms(),
        )
        secret = secrets.token_urlsafe(32)
        app = msgspec.structs.replace(app, secret_digest=digest(secret))
        await self._store.add_oauth_app(app)
        return app, secret

    async def app(self, client_id: str | None) -> OAuthApp:
        """The registered app ``client_id``. Raises ``OAuthError`` ``invalid_client``."""
        found = await self._store.get_oauth_app(client_id) if client_id else None
        if found is None:
            raise OAuthError("invalid_client", "Unknown client.", status=401)
        return found

    async def authenticated_app(self, client_id: str | None, client_secret: str | None) -> OAuthApp:
        """The app whose id and secret these are. Raises ``OAuthError`` ``invalid_client``."""
        app = await self.app(client_id)
        if not client_secret or not same_secret(client_secret, app.secret_digest):
            raise OAuthError("invalid_client", "Client authentication failed.", status=401)
        return app

    # --- the authorization-code grant --------------------------------------------------
    async def check_authorize(
        self,
        *,
        client_id: str | None,
        redirect_uri: str | None,
        response_type: str | None,
        scope: str | None,
        code_challenge: str | None,
        code_challenge_method: str | None,
    ) -> AuthorizeRequest:
        """Check an authorization request (the query of ``GET /oauth/authorize``).
        Raises ``OAuthError``: an unknown client, a redirect URI the app did not
        register, a response type other than ``code``, scopes beyond the app's, a PKCE
        method other than ``S256`` or ``plain``."""
        app = await self.app(client_id)
        uri = redirect_uri or (app.redirect_uris[0] if len(app.redirect_uris) == 1 else "")
        if uri not in app.redirect_uris:
            raise OAuthError("invalid_request", "redirect_uri is not one the app registered.")
        if response_type != "code":
            raise OAuthError("unsupported_response_type", "response_type must be code.")
        scopes = parse_scopes(scope, default=app.scopes) if scope else app.scopes
        if not within(scopes, app.scopes):
            raise OAuthError("invalid_scope", "The app did not register these scopes.")
        method = code_challenge_method or ("plain" if code_challenge else None)
        if code_challenge and method not in ("S256", "plain"):
            raise OAuthError("invalid_request", "code_challenge_method must be S256 or plain.")
        if code_challenge is not None and not 43 <= len(code_challenge) <= 128:
            raise OAuthError("invalid_request", "code_challenge must be 43 to 128 characters.")
        return AuthorizeRequest(app, uri, scopes, code_challenge or None, method)

    async def grant_code(self, request: AuthorizeRequest, *, user_id: int) -> str:
        """``user_id`` approves ``request``: a new single-use code (RFC 6749 4.1.2)."""
        code = secrets.token_urlsafe(32)
        await self._store.add_oauth_code(
            AuthorizationCode(
                code_digest=digest(code),
                client_id=request.app.client_id,
                user_id=user_id,
                redirect_uri=request.redirect_uri,
                scopes=request.scopes,
                challenge=request.challenge,
                challenge_method=request.challenge_method,
                expires_at_ms=self._clock.now_ms() + CODE_TTL_MS,
            ),
            self._clock.now_ms(),
        )
        return code

    async def login(self, *, username: str, password: str) -> User:
        """The user signing in on the authorization page. Raises like
        :meth:`AccountService.login`."""
        return await self._accounts.check_login(username=username, password=password)

    # --- the token endpoint ------------------------------------------------------------
    async def token(
        self,
        *,
        grant_type: str | None,
        client_id: str | None,
        client_secret: str | None,
        code: str | None = None,
        redirect_uri: str | None = None,
        code_verifier: str | None = None,
        username: str | None = None,
        password: str | None = None,
        scope: str | None = None,
    ) -> Grant:
        """``POST /oauth/token``. Raises ``OAuthError``; a wrong password in the password
        grant is ``invalid_grant``; ``TooManyAttempts`` and ``Busy`` pass through."""
        if grant_type == "authorization_code":
            return await self._exchange_code(
                client_id, client_secret, code, redirect_uri, code_verifier
            )
        if grant_type == "password":
            app = await self.authenticated_app(client_id, client_secret)
            scopes = self._requested(scope, app)
            try:
                token, _ = await self._accounts.login(
                    username=username or "",
                    password=password or "",
                    scopes=scopes,
                    client_id=app.client_id,
                )
            except Unauthorized as exc:
                raise OAuthError("invalid_grant", "Wrong username or password.") from exc
            return self._grant(token, scopes)
        if grant_type == "client_credentials":
            app = await self.authenticated_app(client_id, client_secret)
            scopes = self._requested(scope, app)
            return self._grant(
                self._accounts.issue_app_token(client_id=app.client_id, scopes=scopes), scopes
            )
        raise OAuthError(
            "unsupported_grant_type",
            "grant_type must be authorization_code, password or client_credentials.",
        )

    async def _exchange_code(
        self,
        client_id: str | None,
        client_secret: str | None,
        code: str | None,
        redirect_uri: str | None,
        code_verifier: str | None,
    ) -> Grant:
        app = await self.app(client_id)
        if client_secret and not same_secret(client_secret, app.secret_digest):
            raise OAuthError("invalid_client", "Client authentication failed.", status=401)
        if not code:
            raise OAuthError("invalid_request", "code is missing.")
        # Taken before any check: a code presented with a wrong redirect URI or verifier
        # is spent (RFC 6749 section 10.5: codes are single use; a failed attempt must
        # not leave a guessable code standing).
        granted = await self._store.take_oauth_code(digest(code))
        if granted is None or granted.client_id != app.client_id:
            raise OAuthError("invalid_grant", "The code is invalid, expired or already used.")
        if self._clock.now_ms() >= granted.expires_at_ms:
            raise OAuthError("invalid_grant", "The code is invalid, expired or already used.")
        if (redirect_uri or granted.redirect_uri) != granted.redirect_uri:
            raise OAuthError("invalid_grant", "redirect_uri differs from the authorization's.")
        if not client_secret and granted.challenge is None:
            raise OAuthError(
                "invalid_client", "A public client must use PKCE or send its secret.", status=401
            )
        if not pkce_matches(code_verifier, granted.challenge, granted.challenge_method):
            raise OAuthError("invalid_grant", "code_verifier does not match the challenge.")
        token = self._accounts.issue_token(
            user_id=granted.user_id, scopes=granted.scopes, client_id=app.client_id
        )
        return self._grant(token, granted.scopes)

    # --- revocation --------------------------------------------------------------------
    async def revoke(
        self, *, token: str | None, client_id: str | None, client_secret: str | None
    ) -> None:
        """RFC 7009: revoke ``token`` (an access token the client holds). An unknown or
        already invalid token is no error (section 2.2). Raises ``OAuthError``
        ``invalid_client`` for a bad client, and when the token is another client's."""
        app = await self.authenticated_app(client_id, client_secret)
        if not token:
            raise OAuthError("invalid_request", "token is missing.")
        try:
            claims = await self._accounts.authorize(token=token)
        except Unauthorized:
            return
        if claims.client_id is not None and claims.client_id != app.client_id:
            raise OAuthError(
                "unauthorized_client", "The token was issued to another client.", status=403
            )
        await self._accounts.logout(token=token)

    # --- helpers -----------------------------------------------------------------------
    def _scopes(self, raw: str | None) -> tuple[str, ...]:
        try:
            return parse_scopes(raw)
        except DomainError as exc:
            raise OAuthError("invalid_scope", exc.message) from exc

    def _requested(self, raw: str | None, app: OAuthApp) -> tuple[str, ...]:
        """The scopes a token request asks for (default: the app's); within the app's."""
        try:
            scopes = parse_scopes(raw, default=app.scopes) if raw else app.scopes
        except DomainError as exc:
            raise OAuthError("invalid_scope", exc.message) from exc
        if not within(scopes, app.scopes):
            raise OAuthError("invalid_scope", "The app did not register these scopes.")
        return scopes

    def _grant(self, token: str, scopes: Sequence[str]) -> Grant:
        return Grant(token, tuple(scopes), self._clock.now_ms() // 1000)
