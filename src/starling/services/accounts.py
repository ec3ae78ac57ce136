"""Accounts: registration, login, logout, password change, deletion, profiles,
operator tokens."""

from __future__ import annotations

import logging
import re
from collections.abc import Sequence
from typing import Protocol

from starling.domain.accounts import DeletedAccount
from starling.domain.errors import (
    EmailTaken,
    Forbidden,
    InvalidInput,
    Unauthorized,
    UsernameTaken,
    UserNotFound,
)
from starling.domain.events import Event, TweetDeleted, Unfollowed, Unliked
from starling.domain.ids import SnowflakeGenerator
from starling.domain.model import Credentials, NewUser, User
from starling.domain.text import USERNAME_PATTERN, check_storable, is_storable
from starling.ports import AccountStore, Clock, EventLog, MediaStore, UserStore
from starling.services.credentials import AppClaims, Claims, LoginGuard, Passwords, Tokens
from starling.services.feed_manager import FeedManager

log = logging.getLogger(__name__)

EMAIL_PATTERN = re.compile(r"\A[^@\s]{1,64}@[^@\s]+\.[^@\s]+\Z")
MIN_PASSWORD = 8
"""NIST SP 800-63B: at least 8 characters for user-chosen secrets."""
MAX_PASSWORD = 256
MAX_EMAIL = 254
"""RFC 5321's limit on a forward path; no longer login name can exist."""
LOGIN_LINK_TTL_S = 15 * 60
"""Seconds a one-time login link (``starling login-link``) stays usable."""
LOGIN_LINK_PURPOSE = "login-link"
MAX_DISPLAY_NAME = 50
MAX_BIO = 160
"""Twitter's profile limits: 50-character name, 160-character bio."""


def _check_password(password: str) -> None:
    if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
        raise InvalidInput(
            f"Password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters.",
            code="invalid_password",
        )


def _check_length(value: str, limit: int, code: str, what: str) -> None:
    if len(value) > limit:
        raise InvalidInput(f"{what} is longer than {limit} characters.", code=code)


class _AccountRows(UserStore, AccountStore, Protocol):
    """Users and their credentials: what sign-up, login, profile and account changes touch."""


class AccountService:
    """Registration, credentials, sessions (tokens) and profiles."""

    def __init__(
        self,
        *,
        store: _AccountRows,
        ids: SnowflakeGenerator,
        clock: Clock,
        passwords: Passwords,
        tokens: Tokens,
        feed: FeedManager,
        event_log: EventLog,
        media_store: MediaStore,
    ) -> None:
        self._store = store
        self._ids = ids
        self._clock = clock
        self._passwords = passwords
        self._tokens = tokens
        self._links = tokens.derived(LOGIN_LINK_PURPOSE, ttl_s=LOGIN_LINK_TTL_S)
        self._guard = LoginGuard(clock=clock)
        self._feed = feed
        self._event_log = event_log
        self._media_store = media_store

    def close(self) -> None:
        """Let the password-hashing threads end."""
        self._passwords.close()

    # --- registration and login ------------------------------------------------------
    async def register(
        self, *, username: str, email: str, password: str, display_name: str | None = None
    ) -> User:
        """Create an account. Raises ``InvalidInput`` (bad username, email, password or
        name), ``UsernameTaken`` or ``EmailTaken`` (both case-insensitive), ``Busy``
        (the password-hashing pool is full)."""
        check_storable(email, "Email")
        if display_name is not None:
            check_storable(display_name, "Display name")
        if not USERNAME_PATTERN.fullmatch(username):
            raise InvalidInput(
                "Username must be 1-15 letters, digits or underscores.", code="invalid_username"
            )
        if not EMAIL_PATTERN.fullmatch(email) or len(email) > MAX_EMAIL:
            raise InvalidInput("That is not an email address.", code="invalid_email")
        _check_password(password)
        name = display_name if display_name is not None else username
        _check_length(name, MAX_DISPLAY_NAME, "invalid_display_name", "Display name")
        # Checked before hashing, so a taken name costs no argon2 time; the unique
        # indexes still decide between two concurrent registrations.
        if await self._store.get_user_by_username(username) is not None:
            raise UsernameTaken()
        if await self._store.get_credentials_by_email(email) is not None:
            raise EmailTaken()
        password_hash = await self._passwords.hash(password)
        return await self._store.create_user(
            NewUser(
                id=self._ids.next_id(),
                username=username,
                display_name=name,
                email=email,
                password_hash=password_hash,
                created_at_ms=self._clock.now_ms(),
            )
        )

    async def login(
        self,
        *,
        username: str,
        password: str,
        scopes: Sequence[str] | None = None,
        client_id: str | None = None,
    ) -> tuple[str, User]:
        """An access token and the user, for a username or an e-mail address (anything
        with an ``@``) and its password.

        Raises ``Unauthorized`` for wrong credentials and for imported accounts, which
        have no password; ``TooManyAttempts`` (429) while another attempt for the same
        account is being checked or after repeated wrong passwords; ``Busy`` (503) when
        the hashing pool is full. An unknown name costs one argon2 check like a known
        one and is backed off the same way, so neither timing nor refusals tell which
        accounts exist. ``scopes`` and ``client_id``: an OAuth token (the
        Mastodon-compatible API's password grant), see :meth:`issue_token`."""
        user = await self.check_login(username=username, password=password)
        return self._tokens.issue(user.id, scopes=scopes, client_id=client_id), user

    async def check_login(self, *, username: str, password: str) -> User:
        """The user whose username or e-mail address and password these are, without
        issuing a token (an OAuth authorization page). Raises like :meth:`login`."""
        login = username[:MAX_EMAIL]
        if not is_storable(login):
            credentials = None  # no account has such a name (nor can a store look it up)
        elif "@" in login:
            credentials = await self._store.get_credentials_by_email(login)
        else:
            credentials = await self._store.get_credentials(login)
        key = f"id:{credentials.user_id}" if credentials else f"name:{login.lower()}"
        with self._guard.attempt(key) as outcome:
            ok = await self._check(credentials, password)
            outcome(ok)
        if not ok or credentials is None:
            raise Unauthorized("Wrong username or password.")
        user = await self._store.get_user(credentials.user_id)
        if user is None:
            raise Unauthorized("Wrong username or password.")
        return user

    def issue_token(self, *, user_id: int, scopes: Sequence[str], client_id: str) -> str:
        """An OAuth access token of ``user_id`` for the client ``client_id``, limited to
        ``scopes``; revocable like any token (:meth:`logout`)."""
        return self._tokens.issue(user_id, scopes=scopes, client_id=client_id)

    def issue_app_token(self, *, client_id: str, scopes: Sequence[str]) -> str:
        """An application token of ``client_id`` (no user; the client-credentials grant)."""
        return self._tokens.issue_app(client_id, scopes)

    def verify_app_token(self, *, token: str) -> AppClaims:
        """The claims of an application token. Raises ``Unauthorized``."""
        return self._tokens.verify_app(token)

    async def _check(self, credentials: Credentials | None, password: str) -> bool:
        if not password or len(password) > MAX_PASSWORD:
            return False  # no such password can be stored: no hash needed to say no
        stored = credentials.password_hash if credentials is not None else None
        return await self._passwords.verify(stored, password)

    async def _verify_own_password(self, user_id: int, password: str) -> None:
        """For changes an authenticated user makes: raises ``Forbidden`` (code
        ``wrong_password``) unless ``password`` is theirs; backed off like logins."""
        credentials = await self._store.get_credentials_by_id(user_id)
        if credentials is None:
            raise Unauthorized("The access token is invalid or expired.")
        with self._guard.attempt(f"id:{user_id}") as outcome:
            ok = await self._check(credentials, password)
            outcome(ok)
        if not ok:
            raise Forbidden("The current password is wrong.", code="wrong_password")

    async def token_for(self, *, username: str) -> str:
        """An access token for any user, no password asked: for operators and benchmarks.
        Raises ``UserNotFound``."""
        user = await self.get_by_username(username=username)
        return self._tokens.issue(user.id)

    async def login_link_token(self, *, username: str) -> str:
        """A one-time login token for any user, no password asked (``starling
        login-link``: imported accounts have no password): signed, valid for
        :data:`LOGIN_LINK_TTL_S` seconds, and never an access token itself. Raises
        ``UserNotFound``."""
        user = await self.get_by_username(username=username)
        return self._links.issue(user.id)

    async def redeem_login_link(self, *, token: str) -> tuple[str, User]:
        """An access token and the user for a login token of :meth:`login_link_token`,
        used up by this call: its id is stored as revoked (durably, in the revoked
        tokens' table, until the link would expire anyway), and of concurrent calls
        exactly one succeeds. Raises ``Unauthorized`` for a token that is badly signed,
        expired, used already, or whose user is gone."""
        claims = self._links.verify(token)
        now = self._clock.now_ms()
        state = await self._store.token_state(claims.user_id, now)
        used = "This login link has been used already or has expired."
        if state is None or not state.allows(claims.jti):
            raise Unauthorized(used)
        expires_ms = int(claims.expires_s * 1000)
        if not await self._store.revoke_token(claims.user_id, claims.jti, expires_ms, now):
            raise Unauthorized(used)
        user = await self._store.get_user(claims.user_id)
        if user is None:
            raise Unauthorized(used)
        return self._tokens.issue(user.id), user

    def signing_key(self, purpose: str) -> bytes:
        """A secret key for ``purpose`` (e.g. the web app's CSRF tokens), derived from
        the token-signing secret: the same in every process of the deployment."""
        return self._tokens.derived_key(purpose)

    # --- tokens ----------------------------------------------------------------------
    async def authenticate(self, *, token: str) -> int:
        """The user id of a bearer token. Raises ``Unauthorized`` for a token that is
        badly signed, expired, revoked, or names no existing user."""
        return (await self._claims(token)).user_id

    async def authorize(self, *, token: str) -> Claims:
        """The claims of a bearer token (user, scopes, client). Raises ``Unauthorized``
        like :meth:`authenticate`."""
        return await self._claims(token)

    async def _claims(self, token: str) -> Claims:
        claims = self._tokens.verify(token)
        state = await self._store.token_state(claims.user_id, self._clock.now_ms())
        if state is None or not state.allows(claims.jti):
            raise Unauthorized("The access token is invalid or expired.")
        return claims

    async def logout(self, *, token: str) -> None:
        """Revoke ``token`` (it is refused from now on: at once in this process, within
        the others as soon as the store's invalidation reaches them). Raises
        ``Unauthorized``."""
        claims = await self._claims(token)
        await self._store.revoke_token(
            claims.user_id,
            claims.jti,
            int(claims.expires_s * 1000),
            self._clock.now_ms(),
        )

    async def change_password(
        self, *, token: str, current_password: str, new_password: str
    ) -> None:
        """Set a new password and revoke every other token of the user issued before
        (the one presented keeps working). Raises ``Unauthorized``, ``Forbidden``
        (``wrong_password``), ``InvalidInput`` (``invalid_password``),
        ``TooManyAttempts``, ``Busy``."""
        claims = await self._claims(token)
        _check_password(new_password)
        await self._verify_own_password(claims.user_id, current_password)
        password_hash = await self._passwords.hash(new_password)
        changed = await self._store.set_password(
            claims.user_id,
            password_hash,
            revoked_below=self._ids.next_id(),
            kept_jti=claims.jti,
        )
        if not changed:
            raise Unauthorized("The access token is invalid or expired.")

    # --- deletion --------------------------------------------------------------------
    async def delete_account(self, *, user_id: int, password: str) -> None:
        """Delete the account for good: its tweets (out of every timeline, the search
        index and notifications, through one ``TweetDeleted`` event each), its likes,
        follows both ways, blocks, mutes, uploads, tokens. Counts of other users and
        tweets are adjusted in the same transaction. Raises ``Forbidden``
        (``wrong_password``), ``TooManyAttempts``, ``Busy``, ``Unauthorized``."""
        await self._verify_own_password(user_id, password)
        user = await self._store.get_user(user_id)
        if user is None:
            raise Unauthorized("The access token is invalid or expired.")
        # Fan-out retracts a deleted tweet from its author's followers' timelines, but the
        # follows go in the same transaction as the tweets: take the tweets out of the
        # followers' timelines now, while the follows still say who they are. Any id left
        # behind by a race is of a deleted tweet, which reads skip.
        await self._feed.unmerge_from_followers(author_id=user_id)
        deleted = await self._store.delete_user(user_id, self._deletion_events)
        if deleted is None:
            return
        self._event_log.notify()
        log.info(
            "account %d deleted: %d tweets, %d follows, %d likes",
            user_id,
            len(deleted.tweets),
            len(deleted.follows),
            len(deleted.likes),
        )
        for key in deleted.media_keys:
            await self._media_store.delete(key)

    def _deletion_events(self, deleted: DeletedAccount) -> Sequence[Event]:
        """The events of an account deletion, written in its transaction."""
        now = self._clock.now_ms()
        events: list[Event] = [
            TweetDeleted(event_id=self._ids.next_id(), occurred_at_ms=now, tweet_id=t, author_id=a)
            for t, a in deleted.tweets
        ]
        events.extend(
            Unfollowed(
                event_id=self._ids.next_id(),
                occurred_at_ms=now,
                follower_id=follower,
                followee_id=followee,
                followers_before=before,
            )
            for follower, followee, before in deleted.follows
        )
        events.extend(
            Unliked(
                event_id=self._ids.next_id(),
                occurred_at_ms=now,
                user_id=deleted.user_id,
                tweet_id=t,
                author_id=a,
            )
            for t, a in deleted.likes
        )
        return events

    # --- profiles --------------------------------------------------------------------
    async def get(self, *, user_id: int) -> User:
        user = await self._store.get_user(user_id)
        if user is None:
            raise UserNotFound()
        return user

    async def get_by_username(self, *, username: str) -> User:
        """The user named ``username`` (case-insensitive). Raises ``UserNotFound``."""
        # A name no store can hold names nobody (and PostgreSQL refuses to look it up).
        user = await self._store.get_user_by_username(username) if is_storable(username) else None
        if user is None:
            raise UserNotFound()
        return user

    async def update_profile(
        self, *, user_id: int, display_name: str | None, bio: str | None
    ) -> User:
        """Change the display name and/or bio. Raises ``InvalidInput``, ``UserNotFound``."""
        for value, field in ((display_name, "Display name"), (bio, "Bio")):
            if value is not None:
                check_storable(value, field)
        if display_name is not None:
            if not display_name.strip():
                raise InvalidInput("Display name is empty.", code="invalid_display_name")
            _check_length(display_name, MAX_DISPLAY_NAME, "invalid_display_name", "Display name")
        if bio is not None:
            _check_length(bio, MAX_BIO, "invalid_bio", "Bio")
        user = await self._store.update_profile(user_id, display_name=display_name, bio=bio)
        if user is None:
            raise UserNotFound()
        return user
