"""The relational schema (SQLAlchemy Core), portable between SQLite and PostgreSQL.

Times are Unix milliseconds in BIGINT columns (``*_at_ms``): one type on both engines,
no time-zone conversions on the hot path. Tweet ids are snowflakes, so ``ORDER BY id``
is ``ORDER BY time``. Counters live on the owning row; the like counters of busy tweets
get their own scheme later.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# BIGINT autoincrement on PostgreSQL; SQLite only auto-increments INTEGER PRIMARY KEY.
_Serial = BigInteger().with_variant(Integer(), "sqlite")

users = Table(
    "users",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("username", String(15), nullable=False),
    # Lower-cased copy: case-insensitive uniqueness without engine-specific collations.
    Column("username_lower", String(15), nullable=False, unique=True),
    Column("email", String(254), nullable=True),
    Column("password_hash", Text, nullable=True),
    Column("display_name", String(50), nullable=False),
    Column("bio", String(160), nullable=False, server_default=""),
    Column("verified", Boolean, nullable=False, server_default="0"),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("followers_count", Integer, nullable=False, server_default="0"),
    Column("following_count", Integer, nullable=False, server_default="0"),
    Column("tweets_count", Integer, nullable=False, server_default="0"),
)

tweets = Table(
    "tweets",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("author_id", BigInteger, nullable=False),
    Column("text", Text, nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("reply_to_tweet_id", BigInteger, nullable=True),
    Column("quote_tweet_id", BigInteger, nullable=True),
    Column("likes_count", Integer, nullable=False, server_default="0"),
    Column("retweets_count", Integer, nullable=False, server_default="0"),
    Column("replies_count", Integer, nullable=False, server_default="0"),
    # Set on retweets: the original tweet. A retweet's text is empty.
    Column("retweet_of_id", BigInteger, nullable=True),
    # The user timeline and the pull half of the home timeline: newest ids of an author.
    Index(None, "author_id", "id"),
    # One retweet per user and original (NULLs are distinct: ordinary tweets never
    # collide), and "did the viewer retweet these?" as a range of this index.
    Index(None, "author_id", "retweet_of_id", unique=True),
    # The retweets of a tweet (deleted with it) and the replies of a tweet, newest first.
    Index(None, "retweet_of_id"),
    Index(None, "reply_to_tweet_id", "id"),
)

follows = Table(
    "follows",
    metadata,
    Column("follower_id", BigInteger, nullable=False),
    Column("followee_id", BigInteger, nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    PrimaryKeyConstraint("follower_id", "followee_id"),
    # Fan-out walks followers of an author in id order.
    Index(None, "followee_id", "follower_id"),
)

outbox = Table(
    "outbox",
    metadata,
    Column("position", _Serial, primary_key=True, autoincrement=True),
    Column("event_id", BigInteger, nullable=False, unique=True),
    Column("event_type", String(40), nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
)

consumer_positions = Table(
    "consumer_positions",
    metadata,
    Column("group_name", String(64), primary_key=True),
    Column("position", BigInteger, nullable=False),
)

dead_letters = Table(
    "dead_letters",
    metadata,
    Column("id", _Serial, primary_key=True, autoincrement=True),
    Column("group_name", String(64), nullable=False),
    Column("position", BigInteger, nullable=False),
    Column("payload", LargeBinary, nullable=False),
    Column("error", Text, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
)

meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# Tables defined in their own modules register on ``metadata`` when imported; importing
# them here makes ``metadata`` complete for Alembic and for anyone importing the schema.
from starling.adapters.sql import (  # noqa: E402, F401
    schema_engagement,
    schema_media,
    schema_moderation,
)
