"""Retweets, replies and their cascades in SQL (a mixin of
:class:`~starling.adapters.sql.store.SqlStore`, which provides ``self.db``).

A retweet is a ``tweets`` row with ``retweet_of_id`` set; the unique index on
``(author_id, retweet_of_id)`` makes "one retweet per user and tweet" a property of the
schema, so two concurrent retweets of one tweet by one user cannot both be stored.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Select, literal, select

from starling.adapters.sql.database import Database
from starling.adapters.sql.tables import tweets

ANCESTORS_MAX = 100
"""Deepest reply chain walked for a conversation's context. Twitter's own threads stop
being readable long before; the bound keeps a pathological chain from costing more."""


def select_retweet_id(user_id: int, tweet_id: int) -> Select[Any]:
    return select(tweets.c.id).where(
        tweets.c.author_id == user_id, tweets.c.retweet_of_id == tweet_id
    )


def select_retweets_of(tweet_id: int) -> Select[Any]:
    return select(tweets.c.id, tweets.c.author_id).where(tweets.c.retweet_of_id == tweet_id)


def select_reply_ids(tweet_id: int, max_id: int | None, limit: int) -> Select[Any]:
    stmt = select(tweets.c.id).where(tweets.c.reply_to_tweet_id == tweet_id)
    if max_id is not None:
        stmt = stmt.where(tweets.c.id < max_id)
    return stmt.order_by(tweets.c.id.desc()).limit(limit)


def select_ancestor_ids(tweet_id: int, limit: int) -> Select[Any]:
    """Recursive CTE up the ``reply_to_tweet_id`` chain from ``tweet_id``'s parent:
    ``(id, depth)`` rows, depth 1 = the parent. Stops at a deleted tweet (the chain is
    broken there) and after ``limit`` levels."""
    start = (
        select(tweets.c.id, tweets.c.reply_to_tweet_id, literal(1).label("depth"))
        .where(
            tweets.c.id
            == select(tweets.c.reply_to_tweet_id).where(tweets.c.id == tweet_id).scalar_subquery()
        )
        .cte("ancestors", recursive=True)
    )
    parent = tweets.alias("parent")
    chain = start.union_all(
        select(parent.c.id, parent.c.reply_to_tweet_id, start.c.depth + 1).where(
            parent.c.id == start.c.reply_to_tweet_id, start.c.depth < limit
        )
    )
    return select(chain.c.id, chain.c.depth)


class ConversationSql:
    """Mixin: the retweet and reply queries of the SQL store."""

    db: Database

    async def retweet_id_of(self, user_id: int, tweet_id: int) -> int | None:
        async with self.db.connect() as conn:
            found: int | None = (
                await conn.execute(select_retweet_id(user_id, tweet_id))
            ).scalar_one_or_none()
        return found

    async def reply_ids(self, tweet_id: int, *, max_id: int | None, limit: int) -> list[int]:
        if limit <= 0:
            return []
        async with self.db.connect() as conn:
            return list((await conn.execute(select_reply_ids(tweet_id, max_id, limit))).scalars())

    async def retweets_page(
        self, tweet_id: int, *, max_id: int | None, limit: int
    ) -> list[tuple[int, int]]:
        if limit <= 0:
            return []
        stmt = select_retweets_of(tweet_id)
        if max_id is not None:
            stmt = stmt.where(tweets.c.id < max_id)
        async with self.db.connect() as conn:
            rows = (await conn.execute(stmt.order_by(tweets.c.id.desc()).limit(limit))).all()
        return [(row[0], row[1]) for row in rows]

    async def ancestor_ids(self, tweet_id: int) -> list[int]:
        async with self.db.connect() as conn:
            rows = (await conn.execute(select_ancestor_ids(tweet_id, ANCESTORS_MAX))).all()
        return [row[0] for row in sorted(rows, key=lambda r: r[1], reverse=True)]
