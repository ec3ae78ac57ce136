"""``EngagementStore`` and ``BookmarkStore`` in SQL: likes, bookmarks, counters and viewer
flags (a mixin of :class:`~starling.adapters.sql.store.SqlStore`, which provides ``self.db``,
``self._insert_ignoring`` and ``self._write_events``).

Like counts are *sharded counters* (see :mod:`tables`): a new like inserts its
``likes`` row and adds 1 to one of ``COUNTER_SHARDS`` rows of the tweet, picked at random,
in the same transaction. Concurrent likers of one viral tweet thus wait on a row lock
only when they pick the same shard, instead of all queueing on one hot row. The count is
exact as soon as the like commits.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Sequence
from typing import Any, Literal

from sqlalchemy import (
    Delete,
    Insert,
    Integer,
    Select,
    Table,
    and_,
    bindparam,
    delete,
    insert,
    or_,
    select,
    update,
)

from starling.adapters.sql import hot_reads
from starling.adapters.sql.database import Conn, Database
from starling.adapters.sql.statements import Bound
from starling.adapters.sql.tables import (
    COUNTER_SHARDS,
    bookmarks,
    likes,
    tweet_counters,
)
from starling.domain.engagement import Counts, ViewerFlags
from starling.domain.events import Event

LIKED = 1
"""``kind`` of a viewer-flags row that comes from ``likes``."""

RETWEETED = 2
"""``kind`` of a viewer-flags row that comes from the viewer's retweet rows in ``tweets``."""

CounterName = Literal["likes", "retweets", "replies"]


# --- statements -------------------------------------------------------------------------
def delete_like(user_id: int, tweet_id: int) -> Delete:
    return delete(likes).where(likes.c.user_id == user_id, likes.c.tweet_id == tweet_id)


_BUMP_SHARD = {
    counter: update(tweet_counters)
    .where(
        # Not named after columns: an UPDATE reserves those names for its SET clause.
        tweet_counters.c.tweet_id == bindparam("b_tweet_id"),
        tweet_counters.c.shard == bindparam("b_shard"),
    )
    .values({counter: tweet_counters.c[counter] + bindparam("delta", type_=Integer)})
    for counter in ("likes", "retweets", "replies")
}


def bump_shard(tweet_id: int, shard: int, counter: CounterName, delta: int) -> Bound:
    return _BUMP_SHARD[counter], {"b_tweet_id": tweet_id, "b_shard": shard, "delta": delta}


def delete_counters(tweet_id: int) -> Delete:
    return delete(tweet_counters).where(tweet_counters.c.tweet_id == tweet_id)


def delete_likes_of(tweet_id: int) -> Delete:
    return delete(likes).where(likes.c.tweet_id == tweet_id)


def delete_bookmarks_of(tweet_id: int) -> Delete:
    return delete(bookmarks).where(bookmarks.c.tweet_id == tweet_id)


def insert_bookmark() -> Insert:
    return insert(bookmarks)


def delete_bookmark(user_id: int, tweet_id: int) -> Delete:
    return delete(bookmarks).where(bookmarks.c.user_id == user_id, bookmarks.c.tweet_id == tweet_id)


def select_bookmarks_page(user_id: int, max_id: int | None, limit: int) -> Select[Any]:
    stmt = select(bookmarks.c.bookmark_id, bookmarks.c.tweet_id).where(
        bookmarks.c.user_id == user_id
    )
    if max_id is not None:
        stmt = stmt.where(bookmarks.c.bookmark_id < max_id)
    return stmt.order_by(bookmarks.c.bookmark_id.desc()).limit(limit)


def select_likes_page(user_id: int, before: tuple[int, int] | None, limit: int) -> Select[Any]:
    """A user's likes, most recent first, after the keyset ``before`` (liked at, tweet
    id): a backward walk of the ``(user_id, created_at_ms, tweet_id)`` index."""
    c = likes.c
    stmt = select(c.created_at_ms, c.tweet_id).where(c.user_id == user_id)
    if before is not None:
        at_ms, tweet_id = before
        stmt = stmt.where(
            or_(c.created_at_ms < at_ms, and_(c.created_at_ms == at_ms, c.tweet_id < tweet_id))
        )
    return stmt.order_by(c.created_at_ms.desc(), c.tweet_id.desc()).limit(limit)


def select_liker_ids(tweet_id: int, max_id: int | None, limit: int) -> Select[Any]:
    stmt = select(likes.c.user_id).where(likes.c.tweet_id == tweet_id)
    if max_id is not None:
        stmt = stmt.where(likes.c.user_id < max_id)
    return stmt.order_by(likes.c.user_id.desc()).limit(limit)


# --- the mixin --------------------------------------------------------------------------
class EngagementSql:
    """Mixin: the engagement half of the SQL store."""

    db: Database
    _insert_ignoring: Callable[[Table], Insert]

    async def _write_events(self, conn: Conn, events: Sequence[Event]) -> None:
        raise NotImplementedError  # SqlStore's (PostgresStore's) wins in the MRO

    async def _bump_counter(
        self, conn: Conn, tweet_id: int, counter: CounterName, delta: int
    ) -> None:
        """Add ``delta`` to ``counter`` in one random shard of the tweet's counters
        (creating the shard row at 0 first). A shard may go negative after unlikes; only
        sums are read."""
        shard = random.randrange(COUNTER_SHARDS)
        await conn.execute(
            self._insert_ignoring(tweet_counters), dict(tweet_id=tweet_id, shard=shard)
        )
        await conn.execute(*bump_shard(tweet_id, shard, counter, delta))

    async def _drop_engagement(self, conn: Conn, tweet_id: int) -> None:
        """Delete a deleted tweet's likes, bookmarks and counters (same transaction)."""
        for stmt in (delete_likes_of(tweet_id), delete_bookmarks_of(tweet_id)):
            await conn.execute(stmt)
        await conn.execute(delete_counters(tweet_id))

    async def like(self, user_id: int, tweet_id: int, events: Sequence[Event]) -> bool:
        async with self.db.begin() as conn:
            # INSERT ... ON CONFLICT DO NOTHING: of two identical concurrent likes, exactly
            # one inserts (rowcount 1) and counts; the other sees rowcount 0.
            inserted = await conn.execute(
                self._insert_ignoring(likes),
                dict(
                    user_id=user_id,
                    tweet_id=tweet_id,
                    created_at_ms=events[0].occurred_at_ms if events else 0,
                ),
            )
            if inserted.rowcount == 0:
                return False
            await self._bump_counter(conn, tweet_id, "likes", 1)
            await self._write_events(conn, events)
        return True

    async def unlike(self, user_id: int, tweet_id: int, events: Sequence[Event]) -> bool:
        async with self.db.begin() as conn:
            if (await conn.execute(delete_like(user_id, tweet_id))).rowcount == 0:
                return False
            await self._bump_counter(conn, tweet_id, "likes", -1)
            await self._write_events(conn, events)
        return True

    async def tweet_counts(self, tweet_ids: Iterable[int]) -> dict[int, Counts]:
        ids = list(set(tweet_ids))
        if not ids:
            return {}
        rows = await self.db.fetch(hot_reads.COUNTS, ids)
        return {row[0]: Counts(row[1], row[2], row[3]) for row in rows}

    async def viewer_flags(
        self, viewer_id: int, tweet_ids: Iterable[int]
    ) -> dict[int, ViewerFlags]:
        ids = list(set(tweet_ids))
        if not ids:
            return {}
        rows = await self.db.fetch(hot_reads.VIEWER_FLAGS, viewer_id, min(ids), max(ids))
        wanted = set(ids)
        kinds: dict[int, set[int]] = {}
        for tweet_id, kind in rows:
            if tweet_id in wanted:
                kinds.setdefault(tweet_id, set()).add(kind)
        return {
            tweet_id: ViewerFlags(liked=LIKED in found, retweeted=RETWEETED in found)
            for tweet_id, found in kinds.items()
        }

    async def likes_page(
        self, user_id: int, *, before: tuple[int, int] | None, limit: int
    ) -> list[tuple[int, int]]:
        if limit <= 0:
            return []
        async with self.db.connect() as conn:
            rows = (await conn.execute(select_likes_page(user_id, before, limit))).all()
        return [(row[0], row[1]) for row in rows]

    async def liker_ids(self, tweet_id: int, *, max_id: int | None, limit: int) -> list[int]:
        if limit <= 0:
            return []
        async with self.db.connect() as conn:
            return list((await conn.execute(select_liker_ids(tweet_id, max_id, limit))).scalars())

    async def bookmark(
        self, user_id: int, tweet_id: int, bookmark_id: int, created_at_ms: int
    ) -> bool:
        async with self.db.begin() as conn:
            inserted = await conn.execute(
                self._insert_ignoring(bookmarks),
                dict(
                    user_id=user_id,
                    tweet_id=tweet_id,
                    bookmark_id=bookmark_id,
                    created_at_ms=created_at_ms,
                ),
            )
        return bool(inserted.rowcount)

    async def unbookmark(self, user_id: int, tweet_id: int) -> bool:
        async with self.db.begin() as conn:
            removed = await conn.execute(delete_bookmark(user_id, tweet_id))
        return bool(removed.rowcount)

    async def bookmarked_ids(self, user_id: int, tweet_ids: Iterable[int]) -> set[int]:
        ids = list(set(tweet_ids))
        if not ids:
            return set()
        async with self.db.connect() as conn:
            rows = await conn.execute(
                select(bookmarks.c.tweet_id).where(
                    bookmarks.c.user_id == user_id, bookmarks.c.tweet_id.in_(ids)
                )
            )
            return set(rows.scalars())

    async def bookmarks_page(
        self, user_id: int, *, max_id: int | None, limit: int
    ) -> list[tuple[int, int]]:
        if limit <= 0:
            return []
        async with self.db.connect() as conn:
            rows = (await conn.execute(select_bookmarks_page(user_id, max_id, limit))).all()
        return [(row[0], row[1]) for row in rows]
