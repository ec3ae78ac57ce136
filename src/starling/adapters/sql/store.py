"""The ``Store`` port in SQL, written once for SQLite and PostgreSQL.

Statements come from :mod:`statements`; connections from a :class:`Database` (sync
SQLite run inline, or asyncpg through SQLAlchemy's async engine).
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable, Sequence

from sqlalchemy import Insert, Table, text
from sqlalchemy.exc import IntegrityError

from starling.adapters.sql import hot_reads as hot
from starling.adapters.sql import statements as q
from starling.adapters.sql.accounts import AccountSql
from starling.adapters.sql.conversations import ConversationSql, select_retweets_of
from starling.adapters.sql.database import Conn, Database
from starling.adapters.sql.engagement import EngagementSql
from starling.adapters.sql.media import MediaSql, attach_media
from starling.adapters.sql.moderation import ModerationSql
from starling.adapters.sql.oauth import OAuthSql
from starling.adapters.sql.tables import consumer_positions, follows, meta, tweets, users
from starling.domain.errors import EmailTaken, TweetNotFound, UsernameTaken
from starling.domain.events import Event
from starling.domain.model import Credentials, NewUser, Tweet, User


class SqlStore(EngagementSql, ModerationSql, ConversationSql, MediaSql, AccountSql, OAuthSql):
    """The ``Store`` port on any SQLAlchemy-supported engine behind a :class:`Database`.

    ``insert_ignoring`` builds the engine's ``INSERT ... ON CONFLICT DO NOTHING``.
    """

    def __init__(self, db: Database, insert_ignoring: Callable[[Table], Insert]) -> None:
        self.db = db
        # One INSERT ... ON CONFLICT DO NOTHING per table, built once: executed with a
        # dict of values, it reuses SQLAlchemy's compiled form (see statements.Bound).
        self._insert_ignoring = functools.cache(insert_ignoring)

    # --- lifecycle -------------------------------------------------------------------
    async def close(self) -> None:
        await self.db.dispose()

    async def ping(self) -> None:
        async with self.db.connect() as conn:
            await conn.execute(text("SELECT 1"))

    async def get_meta(self, key: str) -> str | None:
        async with self.db.connect() as conn:
            value: str | None = (await conn.execute(q.select_meta(key))).scalar_one_or_none()
            return value

    async def set_meta_if_absent(self, key: str, value: str) -> str:
        async with self.db.begin() as conn:
            await conn.execute(self._insert_ignoring(meta), dict(key=key, value=value))
            stored: str = (await conn.execute(q.select_meta(key))).scalar_one()
            return stored

    # --- users -----------------------------------------------------------------------
    async def create_user(self, user: NewUser) -> User:
        try:
            async with self.db.begin() as conn:
                await conn.execute(users.insert(), q.new_user_values(user))
        except IntegrityError as exc:
            # Two unique keys: say which one collided (the username when both did).
            if await self.get_user_by_username(user.username) is not None or user.email is None:
                raise UsernameTaken() from exc
            raise EmailTaken() from exc
        created = await self.get_user(user.id)
        assert created is not None
        return created

    async def get_user(self, user_id: int) -> User | None:
        found = await self.get_users((user_id,))
        return found.get(user_id)

    async def get_user_by_username(self, username: str) -> User | None:
        rows = await self.db.fetch(hot.USER_BY_USERNAME, username.lower())
        return q.user_from_row(rows[0]) if rows else None

    async def get_users(self, user_ids: Iterable[int]) -> dict[int, User]:
        ids = list(set(user_ids))
        if not ids:
            return {}
        rows = await self.db.fetch(hot.USERS, ids)
        return {row[0]: q.user_from_row(row) for row in rows}

    async def get_credentials(self, username: str) -> Credentials | None:
        async with self.db.connect() as conn:
            row = (await conn.execute(q.select_credentials(username))).first()
        return Credentials(row[0], row[1]) if row else None

    async def update_profile(
        self, user_id: int, *, display_name: str | None, bio: str | None
    ) -> User | None:
        stmt = q.update_profile(user_id, display_name, bio)
        if stmt is not None:
            async with self.db.begin() as conn:
                await conn.execute(stmt)
        return await self.get_user(user_id)

    # --- tweets ----------------------------------------------------------------------
    async def _write_events(self, conn: Conn, events: Sequence[Event]) -> None:
        """Append ``events`` to the outbox; always the last statement of a transaction
        (PostgreSQL's adapter serialises this step so positions commit in order)."""
        if events:
            await conn.execute(q.insert_outbox(), q.outbox_values(events))

    async def insert_tweet(
        self, tweet: Tweet, events: Sequence[Event], *, media_ids: Sequence[int] = ()
    ) -> bool:
        async with self.db.begin() as conn:
            for ref in (tweet.retweet_of_id, tweet.reply_to_tweet_id, tweet.quote_tweet_id):
                # FOR SHARE (PostgreSQL; SQLite writers are serialised anyway): a delete of
                # the referenced tweet waits for this commit, then sees this row and
                # cascades to it, instead of leaving a retweet of nothing behind.
                if ref is not None and not await self._lock_tweet(conn, ref):
                    raise TweetNotFound()
            if tweet.retweet_of_id is not None:
                inserted = await conn.execute(
                    self._insert_ignoring(tweets), dict(q.tweet_values(tweet))
                )
                if inserted.rowcount == 0:
                    return False  # the user's retweet of it exists (unique index)
                await self._bump_counter(conn, tweet.retweet_of_id, "retweets", 1)
            else:
                await conn.execute(q.insert_tweet(), q.tweet_values(tweet))
            await attach_media(conn, tweet.id, media_ids)
            if tweet.reply_to_tweet_id is not None:
                await self._bump_counter(conn, tweet.reply_to_tweet_id, "replies", 1)
            await conn.execute(*q.bump_user_count(tweet.author_id, "tweets_count", 1))
            await self._write_events(conn, events)
        return True

    async def _lock_tweet(self, conn: Conn, tweet_id: int) -> bool:
        found = await conn.execute(*q.lock_tweet(tweet_id))
        return found.first() is not None

    async def delete_tweet(
        self,
        tweet_id: int,
        events: Sequence[Event],
        *,
        retweet_deleted: Callable[[int, int], Event] | None = None,
    ) -> bool:
        async with self.db.begin() as conn:
            row = (await conn.execute(*q.select_tweets([tweet_id]))).first()
            if row is None:
                return False
            cascade = await self._delete_tweet_rows(conn, q.tweet_from_row(row))
            if cascade is None:
                return False  # a concurrent delete won: counts and events are its to write
            if retweet_deleted is not None:
                events = [*events, *(retweet_deleted(rid, uid) for rid, uid in cascade)]
            await self._write_events(conn, events)
        return True

    async def _delete_tweet_rows(self, conn: Conn, tweet: Tweet) -> list[tuple[int, int]] | None:
        """Delete ``tweet`` inside the caller's transaction with what it cascades to (see
        :meth:`delete_tweet`); returns the ``(retweet_id, retweeter_id)`` of the retweets
        deleted with it, or None when the row was gone already."""
        if (await conn.execute(*q.delete_tweet(tweet.id))).rowcount == 0:
            return None
        await conn.execute(*q.bump_user_count(tweet.author_id, "tweets_count", -1))
        await self._drop_engagement(conn, tweet.id)
        if tweet.retweet_of_id is not None:
            await self._bump_counter(conn, tweet.retweet_of_id, "retweets", -1)
        if tweet.reply_to_tweet_id is not None:
            await self._bump_counter(conn, tweet.reply_to_tweet_id, "replies", -1)
        # Read after the delete: a retweet that committed while this transaction waited
        # for its share lock on the row is seen here and goes too.
        cascade = [
            (retweet_id, retweeter_id)
            for retweet_id, retweeter_id in (await conn.execute(select_retweets_of(tweet.id))).all()
        ]
        for retweet_id, retweeter_id in cascade:
            await conn.execute(*q.delete_tweet(retweet_id))
            await conn.execute(*q.bump_user_count(retweeter_id, "tweets_count", -1))
            await self._drop_engagement(conn, retweet_id)
        return cascade

    async def get_tweet(self, tweet_id: int) -> Tweet | None:
        found = await self.get_tweets((tweet_id,))
        return found.get(tweet_id)

    async def get_tweets(self, tweet_ids: Iterable[int]) -> dict[int, Tweet]:
        ids = list(set(tweet_ids))
        if not ids:
            return {}
        rows = await self.db.fetch(hot.TWEETS, ids)
        return {row[0]: q.tweet_from_row(row) for row in rows}

    async def tweet_ids_by_authors(
        self, author_ids: Sequence[int], *, max_id: int | None, limit: int
    ) -> list[int]:
        if not author_ids or limit <= 0:
            return []
        below = hot.MAX_ID if max_id is None else max_id
        if len(author_ids) == 1:
            rows = await self.db.fetch(hot.TWEET_IDS_BY_AUTHOR, author_ids[0], below, limit)
        else:
            rows = await self.db.fetch(hot.TWEET_IDS_BY_AUTHORS, list(author_ids), below, limit)
        return [row[0] for row in rows]

    async def newest_tweet_ids(self, *, max_id: int | None, limit: int) -> list[int]:
        if limit <= 0:
            return []
        stmt = q.select_newest_tweet_ids(max_id, limit)
        async with self.db.connect() as conn:
            return list((await conn.execute(stmt)).scalars())

    # --- follow graph ----------------------------------------------------------------
    async def follow(self, follower_id: int, followee_id: int, events: Sequence[Event]) -> bool:
        async with self.db.begin() as conn:
            # INSERT ... ON CONFLICT DO NOTHING, not SELECT-then-INSERT: two identical
            # concurrent follows must not both pass the check and collide on the key.
            inserted = await conn.execute(
                self._insert_ignoring(follows),
                dict(
                    follower_id=follower_id,
                    followee_id=followee_id,
                    created_at_ms=events[0].occurred_at_ms if events else 0,
                ),
            )
            if inserted.rowcount == 0:
                return False
            await conn.execute(*q.bump_user_count(follower_id, "following_count", 1))
            await conn.execute(*q.bump_user_count(followee_id, "followers_count", 1))
            await self._write_events(conn, events)
        return True

    async def unfollow(self, follower_id: int, followee_id: int, events: Sequence[Event]) -> bool:
        async with self.db.begin() as conn:
            if (await conn.execute(q.delete_follow(follower_id, followee_id))).rowcount == 0:
                return False
            await conn.execute(*q.bump_user_count(follower_id, "following_count", -1))
            await conn.execute(*q.bump_user_count(followee_id, "followers_count", -1))
            await self._write_events(conn, events)
        return True

    async def is_following(self, follower_id: int, followee_id: int) -> bool:
        async with self.db.connect() as conn:
            return (
                await conn.execute(*q.select_is_following(follower_id, followee_id))
            ).first() is not None

    async def followee_ids(self, user_id: int) -> list[int]:
        return [row[0] for row in await self.db.fetch(hot.FOLLOWEE_IDS, user_id)]

    async def celebrity_followee_ids(self, user_id: int, threshold: int) -> list[int]:
        rows = await self.db.fetch(hot.CELEBRITY_FOLLOWEE_IDS, user_id, threshold)
        return [row[0] for row in rows]

    async def follower_ids_after(self, user_id: int, *, after_id: int, limit: int) -> list[int]:
        rows = await self.db.fetch(hot.FOLLOWER_IDS_AFTER, user_id, after_id, limit)
        return [row[0] for row in rows]

    async def followers_page(self, user_id: int, *, max_id: int | None, limit: int) -> list[int]:
        async with self.db.connect() as conn:
            return list(
                (await conn.execute(q.select_followers_page(user_id, max_id, limit))).scalars()
            )

    async def following_page(self, user_id: int, *, max_id: int | None, limit: int) -> list[int]:
        async with self.db.connect() as conn:
            return list(
                (await conn.execute(q.select_following_page(user_id, max_id, limit))).scalars()
            )

    # --- outbox ----------------------------------------------------------------------
    async def outbox_after(self, position: int, limit: int) -> list[q.OutboxRow]:
        async with self.db.connect() as conn:
            rows = (await conn.execute(*q.select_outbox_after(position, limit))).all()
        return [q.OutboxRow(row[0], bytes(row[1])) for row in rows]

    async def outbox_head(self) -> int:
        async with self.db.connect() as conn:
            head: int = (await conn.execute(q.select_outbox_head())).scalar_one()
            return head

    async def consumer_position(self, group: str) -> int:
        async with self.db.connect() as conn:
            value: int | None = (
                await conn.execute(q.select_consumer_position(group))
            ).scalar_one_or_none()
        return value or 0

    async def set_consumer_position(self, group: str, position: int) -> None:
        async with self.db.begin() as conn:
            if (await conn.execute(q.update_consumer_position(group, position))).rowcount:
                return
            # First write for the group; a concurrent first write may win the insert.
            values = {"group_name": group, "position": position}
            inserted = await conn.execute(self._insert_ignoring(consumer_positions), dict(**values))
            if inserted.rowcount == 0:
                await conn.execute(q.update_consumer_position(group, position))

    async def add_dead_letter(
        self, group: str, position: int, payload: bytes, error: str, attempts: int
    ) -> None:
        async with self.db.begin() as conn:
            await conn.execute(
                q.insert_dead_letter(),
                {
                    "group_name": group,
                    "position": position,
                    "payload": payload,
                    "error": error,
                    "attempts": attempts,
                    "created_at_ms": time.time_ns() // 1_000_000,
                },
            )

    async def dead_letters(self, group: str | None = None) -> list[q.DeadLetterRow]:
        async with self.db.connect() as conn:
            rows = (await conn.execute(q.select_dead_letters(group))).all()
        return [q.DeadLetterRow(r[0], r[1], r[2], bytes(r[3]), r[4], r[5]) for r in rows]

    async def remove_dead_letter(self, dead_letter_id: int) -> None:
        async with self.db.begin() as conn:
            await conn.execute(q.delete_dead_letter(dead_letter_id))
