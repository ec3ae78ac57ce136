"""Accounts: registration, login, profiles, operator tokens."""

from __future__ import annotations

import re

import anyio.to_thread

from starling.domain.errors import InvalidInput, Unauthorized, UserNotFound
from starling.domain.ids import SnowflakeGenerator
from starling.domain.model import NewUser, User
from starling.domain.text import USERNAME_PATTERN, check_storable
from starling.ports import Clock, Store
from starling.services.credentials import Passwords, Tokens

EMAIL_PATTERN = re.compile(r"\A[^@\s]{1,64}@[^@\s]+\.[^@\s]+\Z")
MIN_PASSWORD = 8
"""NIST SP 800-63B: at least 8 characters for user-chosen secrets."""
MAX_PASSWORD = 256
MAX_DISPLAY_NAME = 50
MAX_BIO = 160
"""Twitter's profile limits: 50-character name, 160-character bio."""


def _check_length(value: str, limit: int, code: str, what: str) -> None:
    if len(value) > limit:
        raise InvalidInput(f"{what} is longer than {limit} characters.", code=code)


class AccountService:
    """Registration, credentials and profiles."""

    def __init__(
        self,
        *,
        store: Store,
        ids: SnowflakeGenerator,
        clock: Clock,
        passwords: Passwords,
        tokens: Tokens,
    ) -> None:
        self._store = store
        self._ids = ids
        self._clock = clock
        self._passwords = passwords
        self._tokens = tokens

    async def register(
        self, *, username: str, email: str, password: str, display_name: str | None = None
    ) -> User:
        """Create an account. Raises ``InvalidInput`` (bad username, email, password or
        name) or ``UsernameTaken`` (case-insensitive)."""
        check_storable(email, "Email")
        if display_name is not None:
            check_storable(display_name, "Display name")
        if not USERNAME_PATTERN.fullmatch(username):
            raise InvalidInput(
                "Username must be 1-15 letters, digits or underscores.", code="invalid_username"
            )
        if not EMAIL_PATTERN.fullmatch(email) or len(email) > 254:
            raise InvalidInput("That is not an email address.", code="invalid_email")
        if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
            raise InvalidInput(
                f"Password must be {MIN_PASSWORD} to {MAX_PASSWORD} characters.",
                code="invalid_password",
            )
        name = display_name if display_name is not None else username
        _check_length(name, MAX_DISPLAY_NAME, "invalid_display_name", "Display name")
        # argon2 costs ~50 ms of CPU: keep the event loop free meanwhile.
        password_hash = await anyio.to_thread.run_sync(self._passwords.hash, password)
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

    async def login(self, *, username: str, password: str) -> tuple[str, User]:
        """An access token and the user. Raises ``Unauthorized`` for wrong credentials and
        for imported accounts, which have no password."""
        credentials = await self._store.get_credentials(username)
        ok = credentials is not None and await anyio.to_thread.run_sync(
            self._passwords.verify, credentials.password_hash, password
        )
        if not ok or credentials is None:
            raise Unauthorized("Wrong username or password.")
        user = await self._store.get_user(credentials.user_id)
        if user is None:
            raise Unauthorized("Wrong username or password.")
        return self._tokens.issue(user.id), user

    async def token_for(self, *, username: str) -> str:
        """An access token for any user, no password asked: for operators and benchmarks.
        Raises ``UserNotFound``."""
        user = await self.get_by_username(username=username)
        return self._tokens.issue(user.id)

    async def authenticate(self, *, token: str) -> int:
        """The user id of a bearer token. Raises ``Unauthorized``."""
        return self._tokens.user_id(token)

    async def get(self, *, user_id: int) -> User:
        user = await self._store.get_user(user_id)
        if user is None:
            raise UserNotFound()
        return user

    async def get_by_username(self, *, username: str) -> User:
        user = await self._store.get_user_by_username(username)
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
