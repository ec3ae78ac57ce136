"""The ``SearchIndex`` port in SQL: what SQLite (FTS5) and PostgreSQL (tsvector) share.

User search and bulk re-indexing are the same on both engines; the tweet index is each
engine's own (:mod:`starling.adapters.sqlite.search`,
:mod:`starling.adapters.postgres.search`; objects of migration 0005, see
:mod:`starling.adapters.sql.tables`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, func, literal, select

from starling.adapters.sql.database import Database
from starling.adapters.sql.tables import tweets, users
from starling.domain.model import Tweet

REINDEX_BATCH = 5_000
"""Tweets read and indexed per round by :meth:`SqlSearchIndex.reindex`."""

_TOP_CHAR = "\U0010ffff"
"""The largest code point: every string that starts with ``p`` sorts (by UTF-8 bytes, as
SQLite's BINARY and PostgreSQL's "C" collations do) at or above ``p`` and below
``p + _TOP_CHAR``, so a prefix search is one index range scan."""


class SqlSearchIndex:
    """Base of the SQL search adapters: user prefix search and full re-indexing.

    Subclasses implement ``index_tweets``, ``remove_tweets`` and ``search_tweets`` and set
    :attr:`collation` (None, or the collation whose order the prefix indexes keep).
    """

    collation: str | None = None

    def __init__(self, db: Database) -> None:
        self.db = db

    async def index_tweets(self, tweets: Sequence[Tweet]) -> None:
        raise NotImplementedError

    def _sortable(self, expr: ColumnElement[str]) -> ColumnElement[str]:
        return expr.collate(self.collation) if self.collation else expr

    def _prefix_matches(self, key: ColumnElement[str], prefix: str, limit: int) -> Select[Any]:
        # Both bounds go through the engine's lower() as the indexed column did, so the
        # comparison agrees with the index (SQLite lower-cases ASCII only).
        low = self._sortable(func.lower(literal(prefix)))
        high = self._sortable(func.lower(literal(prefix + _TOP_CHAR)))
        sortable = self._sortable(key)
        return (
            select(users.c.id)
            .where(and_(sortable >= low, sortable < high))
            .order_by(sortable, users.c.id)
            .limit(limit)
        )

    async def search_users(self, prefix: str, *, offset: int, limit: int) -> list[int]:
        """See :meth:`starling.ports.SearchIndex.search_users`: two index range scans
        (``username_lower``, ``lower(display_name)``) of ``offset + limit`` rows each,
        merged username matches first. Cost grows with ``offset``: callers cap it."""
        if limit <= 0 or not prefix:
            return []
        want = offset + limit
        async with self.db.connect() as conn:
            by_name = (
                await conn.execute(self._prefix_matches(users.c.username_lower, prefix, want))
            ).scalars()
            by_display = (
                await conn.execute(
                    self._prefix_matches(func.lower(users.c.display_name), prefix, want)
                )
            ).scalars()
            merged = list(dict.fromkeys([*by_name, *by_display]))
        return merged[offset:want]

    async def reindex(
        self, *, batch: int = REINDEX_BATCH, on_batch: Callable[[int], None] | None = None
    ) -> int:
        """Index every stored tweet (after a bulk load; idempotent), ``batch`` at a time
        in id order, calling ``on_batch(n)`` after each, then the dialect's upkeep
        (:meth:`_after_bulk_index`). Returns how many were indexed."""
        done, after = 0, -1
        while True:
            stmt = (
                select(tweets.c.id, tweets.c.author_id, tweets.c.text, tweets.c.created_at_ms)
                .where(tweets.c.id > after, tweets.c.retweet_of_id.is_(None))
                .order_by(tweets.c.id)
                .limit(batch)
            )
            async with self.db.connect() as conn:
                rows = (await conn.execute(stmt)).all()
            if not rows:
                await self._after_bulk_index()
                return done
            await self.index_tweets(
                [Tweet(id=r[0], author_id=r[1], text=r[2], created_at_ms=r[3]) for r in rows]
            )
            done += len(rows)
            after = rows[-1][0]
            if on_batch is not None:
                on_batch(len(rows))

    async def _after_bulk_index(self) -> None:
        """Upkeep after :meth:`reindex` filled the index in bulk; nothing by default."""
