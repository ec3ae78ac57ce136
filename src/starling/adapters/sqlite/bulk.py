"""SQLite implementation of the ``BulkStore`` port, used by ``starling load``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from starling.adapters.sql import statements as q
from starling.adapters.sql.schema import follows, tweets, users
from starling.domain.model import NewUser, Tweet

BULK_BATCH = 20_000
"""Rows per executemany: large enough to amortise the call, small enough to keep memory flat."""


class SqliteBulkStore:
    """Idempotent bulk inserts (``INSERT ... ON CONFLICT DO NOTHING``) into one SQLite file."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def _bulk(self, stmt: Any, rows: Sequence[dict[str, Any]]) -> int:
        inserted = 0
        with self.engine.begin() as conn:
            for start in range(0, len(rows), BULK_BATCH):
                result = conn.execute(stmt, list(rows[start : start + BULK_BATCH]))
                inserted += max(result.rowcount, 0)
        return inserted

    async def bulk_insert_users(self, new_users: Sequence[NewUser]) -> int:
        stmt = sqlite_insert(users).on_conflict_do_nothing()
        return self._bulk(stmt, [q.new_user_values(u) for u in new_users])

    async def bulk_insert_follows(self, edges: Sequence[tuple[int, int, int]]) -> int:
        stmt = sqlite_insert(follows).on_conflict_do_nothing()
        rows = [{"follower_id": a, "followee_id": b, "created_at_ms": t} for a, b, t in edges]
        return self._bulk(stmt, rows)

    async def bulk_insert_tweets(self, new_tweets: Sequence[Tweet]) -> int:
        stmt = sqlite_insert(tweets).on_conflict_do_nothing()
        return self._bulk(stmt, [q.tweet_values(t) for t in new_tweets])

    async def recount(self) -> None:
        with self.engine.begin() as conn:
            for stmt in q.recount_statements():
                conn.execute(stmt)
