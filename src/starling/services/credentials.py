"""Password hashing (argon2id) in a bounded pool, the login back-off, bearer tokens
(HS256 JWT with an id) and the per-process cache of which tokens are revoked."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Final, TypeVar

import jwt
import msgspec
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from starling.domain.accounts import (
    LOGIN_FAILURE_MEMORY_MS,
    login_backoff_ms,
    parse_subject,
)
from starling.domain.errors import Busy, TooManyAttempts, Unauthorized
from starling.domain.ids import SnowflakeGenerator
from starling.ports import Clock

TOKEN_ALGORITHM = "HS256"

T = TypeVar("T")


class Passwords:
    """argon2id hashing (RFC 9106) via argon2-cffi, costs from settings, run in a pool of
    at most ``workers`` threads with at most ``queue`` more calls waiting.

    Each hash holds ``memory_kib`` of memory (64 MiB by default) while it runs, so the
    pool size bounds memory: 80 concurrent logins once took a worker from 172 MB to
    2.7 GB when every one of them got a thread. A call beyond the queue is refused at
    once with :class:`Busy` (HTTP 503) rather than waiting: under a flood, an answer now
    beats a login that times out anyway.
    """

    def __init__(self, *, time_cost: int, memory_kib: int, workers: int, queue: int) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)
        self._executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="argon2")
        self._limit = workers + queue
        self._pending = 0
        self._lock = threading.Lock()
        self._dummy: str | None = None

    def close(self) -> None:
        """Let the pool's threads end (calls under way finish)."""
        self._executor.shutdown(wait=False, cancel_futures=True)

    async def _run(self, fn: Callable[..., T], *args: object) -> T:
        with self._lock:
            if self._pending >= self._limit:
                raise Busy(
                    "Too many logins are being checked right now; try again shortly.",
                    retry_after_s=1,
                )
            self._pending += 1
        try:
            future = self._executor.submit(fn, *args)
        except BaseException:
            self._release(None)
            raise
        # Released when the hash ends, not when the caller stops waiting: a cancelled
        # request does not free its slot while its thread still holds the memory.
        future.add_done_callback(self._release)
        return await asyncio.wrap_future(future)

    def _release(self, _future: object) -> None:
        with self._lock:
            self._pending -= 1

    async def hash(self, password: str) -> str:
        """The encoded argon2id hash (salt and parameters included). Raises ``Busy``."""
        return await self._run(self._hasher.hash, password)

    async def verify(self, password_hash: str | None, password: str) -> bool:
        """True when ``password`` matches. A None hash (an unknown user, an imported
        account) is checked against a dummy hash of the same costs, so that it takes as
        long as a wrong password and the timing does not tell which accounts exist.
        Raises ``Busy``."""
        if password_hash is None:
            if self._dummy is None:
                self._dummy = await self.hash(secrets.token_urlsafe(16))
            await self._run(self._check, self._dummy, password)
            return False
        return await self._run(self._check, password_hash, password)

    def _check(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False


MAX_TRACKED_LOGINS: Final = 100_000
"""Account names whose recent failures are remembered per process (~150 bytes each)."""


class _Failures:
    __slots__ = ("count", "last_ms", "locked_until_ms")

    def __init__(self) -> None:
        self.count = 0
        self.last_ms = 0
        self.locked_until_ms = 0


class LoginGuard:
    """Per account name (lower-cased username or e-mail, existing or not): at most one
    password check at a time, and a growing refusal after repeated failures
    (:func:`~starling.domain.accounts.login_backoff_ms`, on the injected clock).

    One check at a time per name means a flood of guesses for one account takes one
    slot of the hashing pool, never the whole of it, so other accounts' logins are not
    queued behind it. Both rules are per process: with N API processes a guesser gets
    at most N checks in flight and N times the attempts.
    """

    def __init__(self, *, clock: Clock) -> None:
        self._clock = clock
        self._in_flight: set[str] = set()
        self._failures: dict[str, _Failures] = {}

    @contextmanager
    def attempt(self, name: str) -> Iterator[Callable[[bool], None]]:
        """Admit one attempt for ``name``; the body reports its outcome through the
        callable yielded (True: right password). Raises :class:`TooManyAttempts` (429)
        while another attempt for ``name`` runs or while ``name`` is backed off. An
        attempt that ends without an outcome (the server was busy) counts for nothing."""
        key = name.lower()
        now = self._clock.now_ms()
        entry = self._failures.get(key)
        if entry is not None and now - entry.last_ms > LOGIN_FAILURE_MEMORY_MS:
            del self._failures[key]
            entry = None
        if entry is not None and now < entry.locked_until_ms:
            raise TooManyAttempts(
                "Too many wrong passwords for this account; try again later.",
                retry_after_s=-(-(entry.locked_until_ms - now) // 1000),
            )
        if key in self._in_flight:
            raise TooManyAttempts(
                "Another login for this account is being checked; try again shortly.",
                retry_after_s=1,
            )
        self._in_flight.add(key)

        def outcome(ok: bool) -> None:
            if ok:
                self._failures.pop(key, None)
            else:
                self._failed(key)

        try:
            yield outcome
        finally:
            self._in_flight.discard(key)

    def _failed(self, key: str) -> None:
        now = self._clock.now_ms()
        entry = self._failures.pop(key, None) or _Failures()
        entry.count += 1
        entry.last_ms = now
        entry.locked_until_ms = now + login_backoff_ms(entry.count)
        if len(self._failures) >= MAX_TRACKED_LOGINS:
            del self._failures[next(iter(self._failures))]  # the longest quiet
        self._failures[key] = entry  # re-inserted: the dict stays in order of activity


class Claims(msgspec.Struct, frozen=True, gc=False):
    """What a valid token says: the user, the token's id, its expiry (Unix seconds) and,
    for a token issued through OAuth (the Mastodon-compatible API), its scopes and the
    client application's id. ``scopes`` None: a token of Starling's own login, which
    may do everything."""

    user_id: int
    jti: int
    expires_s: float
    scopes: tuple[str, ...] | None = None
    client_id: str | None = None


class AppClaims(msgspec.Struct, frozen=True, gc=False):
    """What a valid application token (OAuth client-credentials grant) says: the client
    application, the token's id, its expiry (Unix seconds) and scopes. It acts for no
    user."""

    client_id: str
    jti: int
    expires_s: float
    scopes: tuple[str, ...]


MAX_VERIFIED_TOKENS: Final = 100_000
"""Verified tokens remembered per process (~250 bytes each: ~25 MB at most)."""

_INVALID = "The access token is invalid or expired."


class Tokens:
    """Signed access tokens: ``{"sub": "<user id>", "jti": "<token id>", "iat": s,
    "exp": s}`` (Unix seconds on ``clock``, so tests can let a token expire). The token
    id is a snowflake, so ids grow with issue time: a password change revokes "every
    token below this id".

    Verifying a token (HMAC and claims, PyJWT) measured 69 us here, a fifth of a cached
    home-timeline read, for the same answer on every request of a session. So a token
    verified once is remembered with its claims (up to :data:`MAX_VERIFIED_TOKENS`,
    oldest first out) until it expires. Whether it was revoked is asked separately
    (``Store.token_state``, which the caching store keeps), since that can change
    before expiry.
    """

    def __init__(self, secret: str, *, ttl_s: int, clock: Clock, ids: SnowflakeGenerator) -> None:
        self._secret = secret
        self._ttl_s = ttl_s
        self._clock = clock
        self._ids = ids
        self._verified: dict[str, Claims] = {}

    def derived(self, purpose: str, *, ttl_s: int) -> Tokens:
        """Tokens of another kind (one-time login links) that live ``ttl_s`` seconds,
        signed with :meth:`derived_key` of ``purpose``: neither kind verifies as the
        other, so a login link is never an access token."""
        return Tokens(
            self.derived_key(purpose).hex(), ttl_s=ttl_s, clock=self._clock, ids=self._ids
        )

    def derived_key(self, purpose: str) -> bytes:
        """A key for ``purpose`` derived from the signing secret (HMAC-SHA256 of the
        purpose under the secret, as HKDF-Expand does): the same in every process of a
        deployment, and telling nothing of the secret."""
        return hmac.new(self._secret.encode(), purpose.encode(), hashlib.sha256).digest()

    def issue(
        self,
        user_id: int,
        *,
        scopes: Sequence[str] | None = None,
        client_id: str | None = None,
    ) -> str:
        """A token for ``user_id``; with ``scopes`` (OAuth) it carries ``"scope"``
        (space-separated, RFC 6749 section 3.3) and ``"cid"`` (the client's id)."""
        now = self._clock.now_ms() // 1000
        claims: dict[str, object] = {
            "sub": str(user_id),
            "jti": str(self._ids.next_id()),
            "iat": now,
            "exp": now + self._ttl_s,
        }
        if scopes is not None:
            claims["scope"] = " ".join(scopes)
        if client_id is not None:
            claims["cid"] = client_id
        return jwt.encode(claims, self._secret, algorithm=TOKEN_ALGORITHM)

    def issue_app(self, client_id: str, scopes: Sequence[str]) -> str:
        """An application token (no user): ``{"cid", "jti", "scope", "iat", "exp"}``."""
        now = self._clock.now_ms() // 1000
        claims = {
            "cid": client_id,
            "jti": str(self._ids.next_id()),
            "scope": " ".join(scopes),
            "iat": now,
            "exp": now + self._ttl_s,
        }
        return jwt.encode(claims, self._secret, algorithm=TOKEN_ALGORITHM)

    def verify_app(self, token: str) -> AppClaims:
        """The claims of a well-signed, unexpired application token. Raises
        :class:`Unauthorized` otherwise (a user's token included)."""
        now_s = self._clock.now_ms() / 1000
        try:
            raw = jwt.decode(
                token,
                self._secret,
                algorithms=[TOKEN_ALGORITHM],
                options={
                    "require": ["cid", "exp", "jti"],
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
            expires = float(raw["exp"])
            client_id = raw["cid"]
            scope = raw.get("scope", "")
        except (jwt.PyJWTError, KeyError, ValueError, TypeError, OverflowError) as exc:
            raise Unauthorized(_INVALID) from exc
        jti = parse_subject(raw["jti"])
        if (
            "sub" in raw
            or jti is None
            or not isinstance(client_id, str)
            or not isinstance(scope, str)
            or not now_s < expires
        ):
            raise Unauthorized(_INVALID)
        return AppClaims(client_id, jti, expires, tuple(scope.split()))

    def verify(self, token: str) -> Claims:
        """The claims of a well-signed, unexpired token whose subject and id are decimal
        ids in int64 range. Raises :class:`Unauthorized` otherwise (never a 500)."""
        now_s = self._clock.now_ms() / 1000
        known = self._verified.get(token)
        if known is not None:
            if now_s < known.expires_s:
                return known
            del self._verified[token]
            raise Unauthorized(_INVALID)
        try:
            # Expiry is checked here against the injected clock, not PyJWT's wall clock.
            raw = jwt.decode(
                token,
                self._secret,
                algorithms=[TOKEN_ALGORITHM],
                options={
                    "require": ["sub", "exp", "jti"],
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
            expires = float(raw["exp"])
        except (jwt.PyJWTError, KeyError, ValueError, TypeError, OverflowError) as exc:
            raise Unauthorized(_INVALID) from exc
        user_id, jti = parse_subject(raw["sub"]), parse_subject(raw["jti"])
        if user_id is None or jti is None or not now_s < expires:
            raise Unauthorized(_INVALID)
        scope, client_id = raw.get("scope"), raw.get("cid")
        if not isinstance(scope, str | None) or not isinstance(client_id, str | None):
            raise Unauthorized(_INVALID)
        scopes = None if scope is None else tuple(scope.split())
        claims = Claims(user_id, jti, expires, scopes, client_id)
        if len(self._verified) >= MAX_VERIFIED_TOKENS:
            del self._verified[next(iter(self._verified))]
        self._verified[token] = claims
        return claims
