"""``AccountStore`` in SQL: credentials by e-mail or id, password changes, token
revocation, and account deletion (a mixin of :class:`~starling.adapters.sql.store.SqlStore`,
which provides ``self.db``, ``self._insert_ignoring``, ``self._write_events``,
``self._delete_tweet_rows`` and ``self._bump_counter``).

None of this is on a hot path: the token state of a user is read once per cache period
(see :class:`~starling.adapters.caching.store.CachingStore`), the rest on rare writes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Insert, Table, delete, or_, select, update

from starling.adapters.sql import statements as q
from starling.adapters.sql.database import Conn, Database
from starling.adapters.sql.tables import (
    blocks,
    bookmarks,
    follows,
    likes,
    media,
    mutes,
    notification_marks,
    notifications,
    revoked_tokens,
    token_watermarks,
    tweet_media,
    tweets,
    users,
)
from starling.domain.accounts import DeletedAccount, TokenState
from starling.domain.events import Event
from starling.domain.media import media_keys
from starling.domain.model import Credentials


class AccountSql:
    """Credentials, token revocation and account deletion."""

    db: Database
    _insert_ignoring: Callable[[Table], Insert]
    _write_events: Callable[[Conn, Sequence[Event]], Any]
    _delete_tweet_rows: Callable[..., Any]
    _bump_counter: Callable[..., Any]

    async def get_credentials_by_email(self, email: str) -> Credentials | None:
        async with self.db.connect() as conn:
            row = (
                await conn.execute(
                    select(users.c.id, users.c.password_hash).where(
                        users.c.email_lower == email.lower()
                    )
                )
            ).first()
        return Credentials(row[0], row[1]) if row else None

    async def get_credentials_by_id(self, user_id: int) -> Credentials | None:
        async with self.db.connect() as conn:
            row = (
                await conn.execute(
                    select(users.c.id, users.c.password_hash).where(users.c.id == user_id)
                )
            ).first()
        return Credentials(row[0], row[1]) if row else None

    async def token_state(self, user_id: int, now_ms: int) -> TokenState | None:
        async with self.db.connect() as conn:
            row = (
                await conn.execute(
                    select(
                        users.c.id, token_watermarks.c.revoked_below, token_watermarks.c.kept_jti
                    )
                    .select_from(
                        users.outerjoin(token_watermarks, token_watermarks.c.user_id == users.c.id)
                    )
                    .where(users.c.id == user_id)
                )
            ).first()
            if row is None:
                return None
            revoked = (
                await conn.execute(
                    select(revoked_tokens.c.jti).where(
                        revoked_tokens.c.user_id == user_id,
                        revoked_tokens.c.expires_at_ms > now_ms,
                    )
                )
            ).scalars()
            return TokenState(
                revoked_below=row[1] or 0, kept_jti=row[2], revoked=frozenset(revoked)
            )

    async def revoke_token(self, user_id: int, jti: int, expires_at_ms: int, now_ms: int) -> bool:
        async with self.db.begin() as conn:
            inserted = await conn.execute(
                self._insert_ignoring(revoked_tokens),
                dict(jti=jti, user_id=user_id, expires_at_ms=expires_at_ms),
            )
            # Housekeeping of this user's rows only: an expired token is refused anyway.
            await conn.execute(
                delete(revoked_tokens).where(
                    revoked_tokens.c.user_id == user_id, revoked_tokens.c.expires_at_ms <= now_ms
                )
            )
            # The primary key (jti) decides between concurrent revocations of one token.
            return bool(inserted.rowcount)

    async def set_password(
        self, user_id: int, password_hash: str, *, revoked_below: int, kept_jti: int | None
    ) -> bool:
        async with self.db.begin() as conn:
            changed = await conn.execute(
                update(users).where(users.c.id == user_id).values(password_hash=password_hash)
            )
            if changed.rowcount == 0:
                return False
            values = {"revoked_below": revoked_below, "kept_jti": kept_jti}
            moved = await conn.execute(
                update(token_watermarks)
                .where(token_watermarks.c.user_id == user_id)
                .values(**values)
            )
            if moved.rowcount == 0:
                await conn.execute(
                    self._insert_ignoring(token_watermarks), dict(user_id=user_id, **values)
                )
        return True

    async def delete_user(
        self, user_id: int, events_for: Callable[[DeletedAccount], Sequence[Event]]
    ) -> DeletedAccount | None:
        async with self.db.begin() as conn:
            found = await conn.execute(
                select(users.c.id, users.c.followers_count)
                .where(users.c.id == user_id)
                .with_for_update()
            )
            row = found.first()
            if row is None:
                return None
            counted: set[int] = set()
            deleted_tweets = await self._delete_all_tweets(conn, user_id, counted)
            liked = await self._drop_likes_by(conn, user_id)
            uploads = (
                await conn.execute(
                    select(media.c.id, media.c.format).where(media.c.owner_id == user_id)
                )
            ).all()
            edges = await self._drop_follows_of(conn, user_id, followers=row[1])
            await self._drop_account_rows(conn, user_id)
            summary = DeletedAccount(
                user_id=user_id,
                tweets=deleted_tweets,
                follows=edges,
                likes=liked,
                counted_tweet_ids=sorted(counted.union(t for t, _ in liked)),
                media_keys=[key for i, fmt in uploads for key in media_keys(i, fmt)],
            )
            await self._write_events(conn, events_for(summary))
        return summary

    async def _delete_all_tweets(
        self, conn: Conn, user_id: int, counted: set[int]
    ) -> list[tuple[int, int]]:
        """Every tweet of the user, with what deleting each one cascades to (retweets of
        it, counters it added to, its likes and bookmarks and attachments). Adds the ids
        of the tweets whose counts it lowered to ``counted``."""
        own = (
            await conn.execute(
                select(*q.TWEET_COLUMNS).where(tweets.c.author_id == user_id).order_by(tweets.c.id)
            )
        ).all()
        deleted: list[tuple[int, int]] = []
        for row in own:
            tweet = q.tweet_from_row(row)
            cascade = await self._delete_tweet_rows(conn, tweet)
            if cascade is None:
                continue  # gone already: the user's retweet of their own deleted tweet
            deleted.append((tweet.id, user_id))
            counted.update(
                i for i in (tweet.retweet_of_id, tweet.reply_to_tweet_id) if i is not None
            )
            deleted.extend((retweet_id, retweeter) for retweet_id, retweeter in cascade)
        ids = [tweet_id for tweet_id, _ in deleted]
        if ids:
            await conn.execute(delete(tweet_media).where(tweet_media.c.tweet_id.in_(ids)))
        return deleted

    async def _drop_likes_by(self, conn: Conn, user_id: int) -> list[tuple[int, int]]:
        """Remove the user's likes, lowering each liked tweet's count."""
        liked = (
            await conn.execute(
                select(likes.c.tweet_id, tweets.c.author_id)
                .select_from(likes.join(tweets, tweets.c.id == likes.c.tweet_id))
                .where(likes.c.user_id == user_id)
            )
        ).all()
        for tweet_id, _author in liked:
            await self._bump_counter(conn, tweet_id, "likes", -1)
        await conn.execute(delete(likes).where(likes.c.user_id == user_id))
        await conn.execute(delete(bookmarks).where(bookmarks.c.user_id == user_id))
        return [(tweet_id, author) for tweet_id, author in liked]

    async def _drop_follows_of(
        self, conn: Conn, user_id: int, *, followers: int
    ) -> list[tuple[int, int, int]]:
        """Remove the follow edges both ways, adjusting the other users' counts."""
        edges: list[tuple[int, int, int]] = []
        followees = (
            await conn.execute(
                select(follows.c.followee_id, users.c.followers_count)
                .select_from(follows.join(users, users.c.id == follows.c.followee_id))
                .where(follows.c.follower_id == user_id)
            )
        ).all()
        for followee_id, count in followees:
            await conn.execute(*q.bump_user_count(followee_id, "followers_count", -1))
            edges.append((user_id, followee_id, count))
        follower_ids = (
            await conn.execute(
                select(follows.c.follower_id).where(follows.c.followee_id == user_id)
            )
        ).scalars()
        for follower_id in list(follower_ids):
            await conn.execute(*q.bump_user_count(follower_id, "following_count", -1))
            edges.append((follower_id, user_id, followers))
        await conn.execute(
            delete(follows).where(
                or_(follows.c.follower_id == user_id, follows.c.followee_id == user_id)
            )
        )
        return edges

    async def _drop_account_rows(self, conn: Conn, user_id: int) -> None:
        """Everything else that names the user, then the user row."""
        for stmt in (
            delete(blocks).where(
                or_(blocks.c.blocker_id == user_id, blocks.c.blocked_id == user_id)
            ),
            delete(mutes).where(or_(mutes.c.muter_id == user_id, mutes.c.muted_id == user_id)),
            delete(notifications).where(
                or_(notifications.c.user_id == user_id, notifications.c.actor_id == user_id)
            ),
            delete(notification_marks).where(notification_marks.c.user_id == user_id),
            delete(media).where(media.c.owner_id == user_id),
            delete(token_watermarks).where(token_watermarks.c.user_id == user_id),
            delete(revoked_tokens).where(revoked_tokens.c.user_id == user_id),
            delete(users).where(users.c.id == user_id),
        ):
            await conn.execute(stmt)
