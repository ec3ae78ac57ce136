"""Password hashing (argon2id) and bearer tokens (HS256 JWT)."""

from __future__ import annotations

import time

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from starling.domain.errors import Unauthorized

TOKEN_ALGORITHM = "HS256"


class Passwords:
    """argon2id hashing (RFC 9106) via argon2-cffi; costs come from settings."""

    def __init__(self, *, time_cost: int, memory_kib: int) -> None:
        self._hasher = PasswordHasher(time_cost=time_cost, memory_cost=memory_kib, parallelism=1)

    def hash(self, password: str) -> str:
        """The encoded argon2id hash (salt and parameters included)."""
        return self._hasher.hash(password)

    def verify(self, password_hash: str | None, password: str) -> bool:
        """True when ``password`` matches; False for a None hash (imported accounts)."""
        if password_hash is None:
            return False
        try:
            return self._hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False


class Tokens:
    """Signed access tokens: ``{"sub": "<user id>", "iat": s, "exp": s}`` (seconds)."""

    def __init__(self, secret: str, *, ttl_s: int) -> None:
        self._secret = secret
        self._ttl_s = ttl_s

    def issue(self, user_id: int) -> str:
        now = int(time.time())
        claims = {"sub": str(user_id), "iat": now, "exp": now + self._ttl_s}
        return jwt.encode(claims, self._secret, algorithm=TOKEN_ALGORITHM)

    def user_id(self, token: str) -> int:
        """The user id inside a valid token. Raises :class:`Unauthorized` otherwise."""
        try:
            claims = jwt.decode(token, self._secret, algorithms=[TOKEN_ALGORITHM])
            return int(claims["sub"])
        except (jwt.PyJWTError, KeyError, ValueError) as exc:
            raise Unauthorized("The access token is invalid or expired.") from exc
