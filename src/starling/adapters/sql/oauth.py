"""``OAuthStore`` and ``IdempotencyStore`` in SQL: client applications, single-use
authorization codes and idempotency keys of the Mastodon-compatible API (a mixin of
:class:`~starling.adapters.sql.store.SqlStore`, which provides ``self.db`` and
``self._insert_ignoring``). Rare writes only: an app registration, a grant, an
exchange, a post with an ``Idempotency-Key``.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Insert, Table, delete, select

from starling.adapters.sql.database import Database
from starling.adapters.sql.tables import idempotency_keys, oauth_apps, oauth_codes
from starling.domain.oauth import AuthorizationCode, OAuthApp


class OAuthSql:
    """Client applications, authorization codes and idempotency keys."""

    db: Database
    _insert_ignoring: Callable[[Table], Insert]

    async def idempotent_status(
        self, user_id: int, key_digest: str, *, since_ms: int
    ) -> int | None:
        k = idempotency_keys.c
        async with self.db.connect() as conn:
            found: int | None = (
                await conn.execute(
                    select(k.status_id).where(
                        k.user_id == user_id,
                        k.key_digest == key_digest,
                        k.created_at_ms >= since_ms,
                    )
                )
            ).scalar_one_or_none()
        return found

    async def remember_idempotent_status(
        self, user_id: int, key_digest: str, status_id: int, *, now_ms: int, expired_before_ms: int
    ) -> int:
        k = idempotency_keys.c
        async with self.db.begin() as conn:
            # Housekeeping first (an expired entry of this key too, so it can be reused).
            await conn.execute(delete(idempotency_keys).where(k.created_at_ms < expired_before_ms))
            await conn.execute(
                self._insert_ignoring(idempotency_keys),
                dict(
                    user_id=user_id,
                    key_digest=key_digest,
                    status_id=status_id,
                    created_at_ms=now_ms,
                ),
            )
            kept: int = (
                await conn.execute(
                    select(k.status_id).where(k.user_id == user_id, k.key_digest == key_digest)
                )
            ).scalar_one()
        return kept

    async def add_oauth_app(self, app: OAuthApp) -> None:
        async with self.db.begin() as conn:
            await conn.execute(
                oauth_apps.insert(),
                dict(
                    id=app.id,
                    client_id=app.client_id,
                    secret_digest=app.secret_digest,
                    name=app.name,
                    website=app.website,
                    redirect_uris=" ".join(app.redirect_uris),
                    scopes=" ".join(app.scopes),
                    created_at_ms=app.created_at_ms,
                ),
            )

    async def get_oauth_app(self, client_id: str) -> OAuthApp | None:
        async with self.db.connect() as conn:
            row = (
                await conn.execute(select(oauth_apps).where(oauth_apps.c.client_id == client_id))
            ).first()
        if row is None:
            return None
        return OAuthApp(
            id=row.id,
            client_id=row.client_id,
            secret_digest=row.secret_digest,
            name=row.name,
            website=row.website,
            redirect_uris=tuple(row.redirect_uris.split()),
            scopes=tuple(row.scopes.split()),
            created_at_ms=row.created_at_ms,
        )

    async def add_oauth_code(self, code: AuthorizationCode, now_ms: int) -> None:
        async with self.db.begin() as conn:
            # Housekeeping: expired codes can never be exchanged.
            await conn.execute(delete(oauth_codes).where(oauth_codes.c.expires_at_ms <= now_ms))
            await conn.execute(
                oauth_codes.insert(),
                dict(
                    code_digest=code.code_digest,
                    client_id=code.client_id,
                    user_id=code.user_id,
                    redirect_uri=code.redirect_uri,
                    scopes=" ".join(code.scopes),
                    challenge=code.challenge,
                    challenge_method=code.challenge_method,
                    expires_at_ms=code.expires_at_ms,
                ),
            )

    async def take_oauth_code(self, code_digest: str) -> AuthorizationCode | None:
        async with self.db.begin() as conn:
            row = (
                await conn.execute(
                    select(oauth_codes).where(oauth_codes.c.code_digest == code_digest)
                )
            ).first()
            if row is None:
                return None
            # The delete decides between two concurrent exchanges of one code: the
            # second waits for the first's commit (PostgreSQL row lock; SQLite writers
            # are serialised) and then deletes nothing.
            taken = await conn.execute(
                delete(oauth_codes).where(oauth_codes.c.code_digest == code_digest)
            )
            if taken.rowcount != 1:
                return None
        return AuthorizationCode(
            code_digest=row.code_digest,
            client_id=row.client_id,
            user_id=row.user_id,
            redirect_uri=row.redirect_uri,
            scopes=tuple(row.scopes.split()),
            challenge=row.challenge,
            challenge_method=row.challenge_method,
            expires_at_ms=row.expires_at_ms,
        )
