"""Every table of the relational schema (SQLAlchemy Core), portable between SQLite and
PostgreSQL, and the names of the search objects that exist outside it.

The Alembic migrations (``migrations/versions``) create these tables; the contract test
``tests/contract/test_migrations_match_schema.py`` checks that both agree.

Conventions:

- Times are Unix milliseconds in BIGINT columns (``*_at_ms``): one type on both engines,
  no time-zone conversions on the hot path.
- Tweet ids are snowflakes, so ``ORDER BY id`` is ``ORDER BY time``.
- The users' and tweets' own counters live on their rows; a tweet's engagement counts
  live in the sharded ``tweet_counters`` (see there).

Sections: accounts and tweets; the follow graph; the outbox and its consumers;
engagement; moderation and notifications; media; search objects by engine.
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
    SmallInteger,
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
"""Every table below, for Alembic and for the schema test."""

# BIGINT autoincrement on PostgreSQL; SQLite only auto-increments INTEGER PRIMARY KEY.
_Serial = BigInteger().with_variant(Integer(), "sqlite")


# --- accounts and tweets -----------------------------------------------------------
users = Table(
    "users",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("username", String(15), nullable=False),
    # Lower-cased copy: case-insensitive uniqueness without engine-specific collations.
    Column("username_lower", String(15), nullable=False, unique=True),
    Column("email", String(254), nullable=True),
    # Lower-cased copy: one account per address whatever its case (migration 0007).
    # NULL for imported accounts (``starling load`` brings no addresses): never unique.
    Column("email_lower", String(254), nullable=True),
    Column("password_hash", Text, nullable=True),
    Column("display_name", String(50), nullable=False),
    Column("bio", String(160), nullable=False, server_default=""),
    Column("verified", Boolean, nullable=False, server_default="0"),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("followers_count", Integer, nullable=False, server_default="0"),
    Column("following_count", Integer, nullable=False, server_default="0"),
    Column("tweets_count", Integer, nullable=False, server_default="0"),
    Index(None, "email_lower", unique=True),
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
    # The retweets of a tweet, newest first (deleted with it; Mastodon's
    # ``reblogged_by``), and the replies of a tweet, newest first.
    Index(None, "retweet_of_id", "id"),
    Index(None, "reply_to_tweet_id", "id"),
)


# --- the follow graph --------------------------------------------------------------
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


# --- the outbox, its consumers, dead letters, meta ---------------------------------
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

token_watermarks = Table(
    "token_watermarks",
    metadata,
    # Per user: access tokens whose id (jti, a snowflake) is below ``revoked_below`` are
    # revoked, except ``kept_jti`` (set by a password change; see domain.accounts).
    Column("user_id", BigInteger, primary_key=True, autoincrement=False),
    Column("revoked_below", BigInteger, nullable=False),
    Column("kept_jti", BigInteger, nullable=True),
)

revoked_tokens = Table(
    "revoked_tokens",
    metadata,
    # Single tokens revoked by logout, kept until the token would have expired anyway.
    Column("jti", BigInteger, primary_key=True, autoincrement=False),
    Column("user_id", BigInteger, nullable=False),
    Column("expires_at_ms", BigInteger, nullable=False),
    Index(None, "user_id", "expires_at_ms"),
)

oauth_apps = Table(
    "oauth_apps",
    metadata,
    # Client applications of the Mastodon-compatible API (POST /api/v1/apps). The
    # secret is stored as its SHA-256 (domain.oauth.digest); redirect URIs and scopes
    # as space-separated strings, as OAuth writes them.
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("client_id", String(64), nullable=False, unique=True),
    Column("secret_digest", String(64), nullable=False),
    Column("name", String(200), nullable=False),
    Column("website", String(2000), nullable=True),
    Column("redirect_uris", Text, nullable=False),
    Column("scopes", String(1000), nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
)

oauth_codes = Table(
    "oauth_codes",
    metadata,
    # Authorization codes, by their SHA-256; a code is deleted when it is exchanged
    # (single use), expired ones when the next code is granted.
    Column("code_digest", String(64), primary_key=True),
    Column("client_id", String(64), nullable=False),
    Column("user_id", BigInteger, nullable=False),
    Column("redirect_uri", String(2000), nullable=False),
    Column("scopes", String(1000), nullable=False),
    Column("challenge", String(128), nullable=True),
    Column("challenge_method", String(8), nullable=True),
    Column("expires_at_ms", BigInteger, nullable=False),
    Index(None, "expires_at_ms"),
)

idempotency_keys = Table(
    "idempotency_keys",
    metadata,
    # ``Idempotency-Key`` of Mastodon's ``POST /api/v1/statuses``: a retry with the key
    # answers the status the first request created, from any API process, for an hour
    # (``created_at_ms`` tells expired keys; they are deleted as new ones are written).
    # The key is stored as its SHA-256 (hex): any length a client sends fits.
    Column("user_id", BigInteger, nullable=False),
    Column("key_digest", String(64), nullable=False),
    Column("status_id", BigInteger, nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    PrimaryKeyConstraint("user_id", "key_digest"),
    Index(None, "created_at_ms"),
)

meta = Table(
    "meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)


# --- engagement --------------------------------------------------------------------
# A tweet's engagement counts are *sharded counters* (the "sharding counters" pattern of
# Google App Engine): a tweet's like count is the sum of up to ``COUNTER_SHARDS`` rows of
# ``tweet_counters``, and each like adds 1 to one row chosen at random. A viral tweet's
# likes then spread over 16 rows instead of queueing on one row lock (PostgreSQL
# serialises UPDATEs of one row: every like would wait for the previous commit). Reads
# sum the shards of a page's tweets in one grouped query. The count stays exact and
# immediate: it commits with the like row.

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
    # Who liked a tweet, highest user id first (Mastodon's ``favourited_by``), and
    # dropping a deleted tweet's likes.
    Index(None, "tweet_id", "user_id"),
    # A user's likes, most recent first (Mastodon's ``GET /api/v1/favourites``), paged
    # by (liked at, tweet id).
    Index(None, "user_id", "created_at_ms", "tweet_id"),
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


# --- moderation and notifications --------------------------------------------------
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


# --- media -------------------------------------------------------------------------
# The bytes live in the ``MediaStore`` (a directory or an object store), never in the
# database; a row here is what hydration needs to describe an image without reading it.

media = Table(
    "media",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("owner_id", BigInteger, nullable=False),
    Column("format", String(8), nullable=False),
    Column("width", Integer, nullable=False),
    Column("height", Integer, nullable=False),
    Column("size_bytes", Integer, nullable=False),
    Column("thumb_width", Integer, nullable=False),
    Column("thumb_height", Integer, nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
)

tweet_media = Table(
    "tweet_media",
    metadata,
    # Keyed by tweet first: hydration reads the media of a page's tweets, a range per
    # tweet in this key, in attachment order.
    Column("tweet_id", BigInteger, nullable=False),
    Column("position", SmallInteger, nullable=False),
    Column("media_id", BigInteger, nullable=False),
    PrimaryKeyConstraint("tweet_id", "position"),
)


# --- search objects by engine ------------------------------------------------------
# Created by migration 0005, which holds their DDL, and not in ``metadata``: an FTS5
# virtual table and a ``tsvector`` column have no portable SQLAlchemy type.
#
# - SQLite: ``search_tweets``, an FTS5 table (rowid = tweet id; columns ``body``, the
#   tweet's text, and ``tags``, its folded hashtags separated by spaces, both indexed;
#   ``author_id`` stored, not indexed) with the ``unicode61 remove_diacritics 2``
#   tokenizer, so that case and diacritics never matter (Spanish "inundación" matches
#   "inundacion"). FTS5 keeps its own copy of the text: SQLite 3.40 has no contentless
#   table that can delete rows (``contentless_delete`` arrived in 3.43), and an
#   external-content table needs the old text to delete, which a deleted tweet no longer has.
# - PostgreSQL: ``search_tweets`` table (``tweet_id``, ``author_id``, ``document``: the
#   ``simple`` configuration's ``tsvector`` of the folded text, ``hashtags``: text[] of
#   folded hashtags), with GIN indexes on ``document`` and ``hashtags``. The ``simple``
#   configuration lower-cases and never stems, right for a multilingual corpus; folding in
#   Python (``domain.search.fold``) replaces the ``unaccent`` extension.
# - Users (both): prefix indexes on ``lower(display_name)`` (and, on PostgreSQL, on
#   ``username_lower``), in byte order (``COLLATE "C"`` on PostgreSQL, SQLite's BINARY), so
#   a prefix is one range scan whatever the database's collation.

SEARCH_TABLE = "search_tweets"

ENGINE_SPECIFIC_INDEXES = frozenset(
    {"ix_users_display_name_lower", "ix_users_username_prefix", "ix_users_display_name_prefix"}
)


def is_engine_specific(name: str | None) -> bool:
    """Whether a database object named ``name`` is one of this module's (Alembic's
    autogenerate must not propose dropping them: they are not in ``metadata``)."""
    return name is not None and (name.startswith(SEARCH_TABLE) or name in ENGINE_SPECIFIC_INDEXES)
