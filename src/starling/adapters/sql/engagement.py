"""``EngagementStore`` in SQL: likes, bookmarks, counters and viewer flags (a mixin of
:class:`~starling.adapters.sql.store.SqlStore`, which provides ``self.db``,
``self._insert_ignoring`` and ``self._write_events``).

Like counts are *sharded counters* (see :mod:`schema_engagement`): a new like inserts its
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
    CompoundSelect,
    Delete,
    Insert,
    Integer,
    Select,
    SmallInteger,
    Table,
    bindparam,
    delete,
    func,
    insert,
    literal,
    select,
    union_all,
    update,
)

from starling.adapters.sql.database import Conn, Database
from starling.adapters.sql.schema import tweets
from starling.adapters.sql.schema_engagement import (
    COUNTER_SHARDS,
    bookmarks,
    likes,
    tweet_counters,
)
from starling.adapters.sql.statements import Bound
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


_c = tweet_counters.c
_SELECT_COUNTS = (
    select(_c.tweet_id, func.sum(_c.likes), func.sum(_c.retweets), func.sum(_c.replies))
    .where(_c.tweet_id.in_(bindparam("ids", expanding=True)))
    .group_by(_c.tweet_id)
)


def select_counts(tweet_ids: Sequence[int]) -> Bound:
    """One row per tweet with counter rows: ``(tweet_id, likes, retweets, replies)``,
    each the sum over the tweet's shards."""
    return _SELECT_COUNTS, {"ids": list(tweet_ids)}


def _viewer_flags() -> CompoundSelect[Any]:
    """``(tweet_id, kind)`` rows: one per thing ``viewer_id`` did to one of ``tweet_ids``.

    One branch per engagement, joined by ``UNION ALL``, each a range of an index that
    starts with the viewer: ``likes``' ``(user_id, tweet_id)`` primary key, and the
    ``tweets`` ``(author_id, retweet_of_id)`` unique index for the viewer's retweets.
    """
    viewer: Any = bindparam("viewer_id")
    ids: Any = bindparam("ids", expanding=True)
    return union_all(
        select(likes.c.tweet_id, literal(LIKED, SmallInteger).label("kind")).where(
            likes.c.user_id == viewer, likes.c.tweet_id.in_(ids)
        ),
        select(tweets.c.retweet_of_id, literal(RETWEETED, SmallInteger).label("kind")).where(
            tweets.c.author_id == viewer, tweets.c.retweet_of_id.in_(ids)
        ),
    )


_SELECT_VIEWER_FLAGS = _viewer_flags()


def select_viewer_flags(viewer_id: int, tweet_ids: Sequence[int]) -> Bound:
    return _SELECT_VIEWER_FLAGS, {"viewer_id": viewer_id, "ids": list(tweet_ids)}


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
        async with self.db.connect() as conn:
            rows = (await conn.execute(*select_counts(ids))).all()
        # sum() is NUMERIC on PostgreSQL for BIGINT and BIGINT for INT: int() either way.
        return {row[0]: Counts(int(row[1]), int(row[2]), int(row[3])) for row in rows}

    async def viewer_flags(
        self, viewer_id: int, tweet_ids: Iterable[int]
    ) -> dict[int, ViewerFlags]:
        ids = list(set(tweet_ids))
        if not ids:
            return {}
        async with self.db.connect() as conn:
            rows = (await conn.execute(*select_viewer_flags(viewer_id, ids))).all()
        kinds: dict[int, set[int]] = {}
        for tweet_id, kind in rows:
            kinds.setdefault(tweet_id, set()).add(kind)
        return {
            tweet_id: ViewerFlags(liked=LIKED in found, retweeted=RETWEETED in found)
            for tweet_id, found in kinds.items()
        }

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

    async def bookmarks_page(
        self, user_id: int, *, max_id: int | None, limit: int
    ) -> list[tuple[int, int]]:
        if limit <= 0:
            return []
        async with self.db.connect() as conn:
            rows = (await conn.execute(select_bookmarks_page(user_id, max_id, limit))).all()
        return [(row[0], row[1]) for row in rows]
