"""Tables of engagement: likes, bookmarks, sharded tweet counters.

Counters are *sharded* (Google App Engine's "sharding counters" article; Instagram's like
counts are kept the same way in spirit): a tweet's like count is the sum of up to
``COUNTER_SHARDS`` rows of ``tweet_counters``, and each like adds 1 to one row chosen at
random. A viral tweet's likes then spread over 16 rows instead of queueing on one row lock
(PostgreSQL serialises UPDATEs of one row: every like would wait for the previous commit).
Reads sum the shards of a page's tweets in one grouped query. The count stays exact and
immediate (it commits with the like row), which is stronger than the "eventually
consistent within seconds" the API allows.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Index,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    Table,
)

from starling.adapters.sql.schema import metadata

COUNTER_SHARDS = 16
"""Rows per tweet in ``tweet_counters``. 16 concurrent likers of one tweet rarely collide
on a row; more shards make reads (a sum over up to this many rows) slower."""

likes = Table(
    "likes",
    metadata,
    Column("user_id", BigInteger, nullable=False),
    Column("tweet_id", BigInteger, nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    # (user_id, tweet_id) first: the viewer-flags query is "which of these tweets did the
    # viewer like", a range of the primary key.
    PrimaryKeyConstraint("user_id", "tweet_id"),
    # Who liked a tweet (and dropping a deleted tweet's likes).
    Index(None, "tweet_id"),
)

bookmarks = Table(
    "bookmarks",
    metadata,
    Column("user_id", BigInteger, nullable=False),
    Column("tweet_id", BigInteger, nullable=False),
    # A snowflake taken when bookmarking: the list is ordered by when a tweet was
    # bookmarked (newest first), not by the tweet's own id, and paginated on it.
    Column("bookmark_id", BigInteger, nullable=False, unique=True),
    Column("created_at_ms", BigInteger, nullable=False),
    PrimaryKeyConstraint("user_id", "tweet_id"),
    Index(None, "user_id", "bookmark_id"),
)

tweet_counters = Table(
    "tweet_counters",
    metadata,
    Column("tweet_id", BigInteger, nullable=False),
    Column("shard", SmallInteger, nullable=False),
    Column("likes", Integer, nullable=False, server_default="0"),
    Column("retweets", Integer, nullable=False, server_default="0"),
    Column("replies", Integer, nullable=False, server_default="0"),
    PrimaryKeyConstraint("tweet_id", "shard"),
)

__all__ = ["COUNTER_SHARDS", "bookmarks", "likes", "metadata", "tweet_counters"]
