"""Tables of moderation and notifications: blocks, mutes, notifications.

Times are Unix milliseconds (BIGINT), as in :mod:`schema`.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, PrimaryKeyConstraint, String, Table

from starling.adapters.sql.schema import metadata

blocks = Table(
    "blocks",
    metadata,
    Column("blocker_id", BigInteger, nullable=False),
    Column("blocked_id", BigInteger, nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    PrimaryKeyConstraint("blocker_id", "blocked_id"),
    # "Who blocked me": the other half of every visibility check.
    Index(None, "blocked_id"),
)

mutes = Table(
    "mutes",
    metadata,
    Column("muter_id", BigInteger, nullable=False),
    Column("muted_id", BigInteger, nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    PrimaryKeyConstraint("muter_id", "muted_id"),
)

notifications = Table(
    "notifications",
    metadata,
    # The id is the snowflake of the event that caused the notification, so it is unique
    # per recipient only: the key is (user_id, id), which also serves the inbox query
    # (a user's newest first) and makes a re-delivered event's insert a no-op.
    Column("user_id", BigInteger, nullable=False),
    Column("id", BigInteger, nullable=False),
    Column("type", String(16), nullable=False),
    Column("actor_id", BigInteger, nullable=False),
    Column("tweet_id", BigInteger, nullable=True),
    Column("created_at_ms", BigInteger, nullable=False),
    PrimaryKeyConstraint("user_id", "id"),
    # Deleting a tweet deletes its notifications.
    Index(None, "tweet_id"),
)

notification_marks = Table(
    "notification_marks",
    metadata,
    Column("user_id", BigInteger, primary_key=True, autoincrement=False),
    # Every notification with id <= read_max_id is read; newer ones are unread.
    Column("read_max_id", BigInteger, nullable=False),
)

__all__ = ["blocks", "metadata", "mutes", "notification_marks", "notifications"]
