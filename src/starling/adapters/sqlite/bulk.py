"""SQLite implementation of the ``BulkStore`` port, used by ``starling load``.

Rows skip SQLAlchemy: tuples go straight to the stdlib ``sqlite3`` cursor's
``executemany`` on the engine's raw connection, one transaction per call, in one pass
over the rows given (so a lazily built sequence is built once). Measured on the real
data set (2 cores, other jobs running, so figures vary by ~30%): the whole load took
44 s with Core ``executemany`` and a dict per row; the 1.43M follows alone took 12.5 s
as tuples in 50k-row transactions and 6.5-9 s in one transaction with a 256 MiB page
cache. Committing in batches costs that much because the follows index on
``(followee_id, follower_id)`` is written in random order, so every commit copies most
of its pages into the WAL again: callers should pass a whole phase per call.

The SQL is SQLite's own; :mod:`starling.adapters.postgres.bulk` is the PostgreSQL
counterpart (COPY), with the same semantics.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Engine

from starling.adapters.sql import statements as q
from starling.domain.model import NewUser, Tweet

BULK_CACHE_KIB = 256 * 1024
"""Page cache of the loading connection during a bulk call (KiB; the store's default is
64 MiB): the follows table and both its indexes of the real graph fit, so pages are
written once per transaction instead of being spilled and rewritten."""

MIN_SQLITE_VERSION = (3, 33, 0)
"""First SQLite with ``UPDATE ... FROM``, which :meth:`SqliteBulkStore.recount` uses."""

# ON CONFLICT DO NOTHING rather than INSERT OR IGNORE: only uniqueness conflicts (an id,
# a username, an edge that exists) are skipped; a NOT NULL violation still raises.
_INSERT_USER = """
INSERT INTO users (id, username, username_lower, email, password_hash, display_name, bio,
                   verified, created_at_ms, followers_count, following_count, tweets_count)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 0, 0, 0)
ON CONFLICT DO NOTHING
"""

_INSERT_FOLLOW = """
INSERT INTO follows (follower_id, followee_id, created_at_ms) VALUES (?, ?, ?)
ON CONFLICT DO NOTHING
"""

_INSERT_TWEET = """
INSERT INTO tweets (id, author_id, text, created_at_ms, reply_to_tweet_id, quote_tweet_id,
                    likes_count, retweets_count, replies_count)
VALUES (?, ?, ?, ?, ?, ?, 0, 0, 0)
ON CONFLICT DO NOTHING
"""

# Each count is one grouped scan of a covering index, upserted into a temp table keyed by
# user id; then one UPDATE ... FROM writes only the users whose counters change (none
# after a no-op load). Measured on the real data: ~1 s, against ~3 s for three correlated
# counts per user (``statements.recount_statements``) or one GROUP BY over a UNION ALL
# (which sorts 800k rows). The "WHERE true" keeps SQLite from reading the upsert's ON
# as a join constraint (documented parsing ambiguity of INSERT ... SELECT ... ON CONFLICT).
_RECOUNT = (
    "DROP TABLE IF EXISTS temp.starling_recount",
    """
    CREATE TEMP TABLE starling_recount (
        id INTEGER PRIMARY KEY,
        followers INTEGER NOT NULL DEFAULT 0,
        following INTEGER NOT NULL DEFAULT 0,
        tweets INTEGER NOT NULL DEFAULT 0
    )
    """,
    """
    INSERT INTO temp.starling_recount (id, followers)
    SELECT followee_id, count(*) FROM follows WHERE true GROUP BY followee_id
    ON CONFLICT (id) DO UPDATE SET followers = excluded.followers
    """,
    """
    INSERT INTO temp.starling_recount (id, following)
    SELECT follower_id, count(*) FROM follows WHERE true GROUP BY follower_id
    ON CONFLICT (id) DO UPDATE SET following = excluded.following
    """,
    """
    INSERT INTO temp.starling_recount (id, tweets)
    SELECT author_id, count(*) FROM tweets WHERE true GROUP BY author_id
    ON CONFLICT (id) DO UPDATE SET tweets = excluded.tweets
    """,
    """
    UPDATE users
       SET followers_count = c.followers, following_count = c.following, tweets_count = c.tweets
      FROM temp.starling_recount AS c
     WHERE users.id = c.id
       AND (users.followers_count != c.followers OR users.following_count != c.following
            OR users.tweets_count != c.tweets)
    """,
    """
    UPDATE users SET followers_count = 0, following_count = 0, tweets_count = 0
     WHERE (followers_count != 0 OR following_count != 0 OR tweets_count != 0)
       AND id NOT IN (SELECT id FROM temp.starling_recount)
    """,
    "DROP TABLE temp.starling_recount",
)


class SqliteBulkStore:
    """Idempotent bulk inserts into the SQLite database behind ``engine``.

    Each call is one transaction (``BEGIN IMMEDIATE``: a concurrent writer makes it wait
    for the busy timeout instead of failing half-way) and reads its rows once. Rows that
    exist (same id, username or edge) are kept as they are. Foreign keys are off in this
    schema (services check ids), so the bulk path checks them itself: follows and tweets
    that name a user who is not stored (e.g. a graph user refused because a registered
    account has its username) are skipped, and the returned counts are rows inserted.
    To do that each follows or tweets call reads every user id once: pass large batches.
    Raises ``RuntimeError`` when the SQLite library is older than 3.33.
    """

    def __init__(self, engine: Engine) -> None:
        if sqlite3.sqlite_version_info < MIN_SQLITE_VERSION:
            raise RuntimeError(
                f"SQLite {sqlite3.sqlite_version} is too old for the bulk loader (needs 3.33+)"
            )
        self.engine = engine

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A driver connection inside ``BEGIN IMMEDIATE``, with the bulk page cache;
        commits on success, rolls back on any error, restores the cache size."""
        pooled = self.engine.raw_connection()
        try:
            conn = pooled.driver_connection
            assert isinstance(conn, sqlite3.Connection)
            cache_size = conn.execute("PRAGMA cache_size").fetchone()[0]
            conn.execute(f"PRAGMA cache_size = -{BULK_CACHE_KIB}")
            try:
                conn.execute("BEGIN IMMEDIATE")
                try:
                    yield conn
                    conn.commit()
                except BaseException:
                    conn.rollback()
                    raise
            finally:
                conn.execute(f"PRAGMA cache_size = {int(cache_size)}")
        finally:
            pooled.close()

    @staticmethod
    def _user_ids(conn: sqlite3.Connection) -> set[int]:
        # One scan of the id index (~0.3 s for 400k users); an EXISTS lookup per row in
        # the INSERT added ~8 s to the 1.43M follows.
        return {row[0] for row in conn.execute("SELECT id FROM users")}

    @staticmethod
    def _insert(conn: sqlite3.Connection, sql: str, rows: Iterable[Sequence[Any]]) -> int:
        before = conn.total_changes
        conn.executemany(sql, rows)
        return conn.total_changes - before

    async def bulk_insert_users(self, users: Sequence[NewUser]) -> int:
        if not len(users):
            return 0
        rows = (q.user_record(u) for u in users)
        with self._transaction() as conn:
            return self._insert(conn, _INSERT_USER, rows)

    async def bulk_insert_follows(self, edges: Sequence[tuple[int, int, int]]) -> int:
        if not len(edges):
            return 0
        with self._transaction() as conn:
            known = self._user_ids(conn)
            rows = (e for e in edges if e[0] in known and e[1] in known)
            return self._insert(conn, _INSERT_FOLLOW, rows)

    async def bulk_insert_tweets(self, tweets: Sequence[Tweet]) -> int:
        if not len(tweets):
            return 0
        with self._transaction() as conn:
            known = self._user_ids(conn)
            rows = (
                (
                    t.id,
                    t.author_id,
                    t.text,
                    t.created_at_ms,
                    t.reply_to_tweet_id,
                    t.quote_tweet_id,
                )
                for t in tweets
                if t.author_id in known
            )
            return self._insert(conn, _INSERT_TWEET, rows)

    async def recount(self) -> None:
        """Recompute every user's counters from the follows and tweets rows, in one
        transaction: grouped counts into a temp table, then ``UPDATE ... FROM``."""
        with self._transaction() as conn:
            for sql in _RECOUNT:
                conn.execute(sql)
