"""The reads of every home-timeline page, in each dialect's own SQL (see
:class:`~starling.adapters.sql.database.RawQuery`).

A page hydration runs a handful of these on every request, so they skip SQLAlchemy's
execution machinery (docs/decisions/0009: ~290 us per query through it against ~10-30 us on the
driver). The tables are still SQLAlchemy's (:mod:`schema`, Alembic): only the statement
text is written out here, once per dialect, with the same columns and the same indexes
as the SQLAlchemy statements of :mod:`statements` that the rest of the store uses.

Conventions: ``?n`` (SQLite) and ``$n`` (PostgreSQL) number the same parameters; an id
list is one parameter (``json_each`` / ``bigint[]``).
"""

from __future__ import annotations

from typing import Final

from starling.adapters.sql.database import RawQuery

MAX_ID: Final = 2**63 - 1
"""``max_id`` meaning "no cursor": above every snowflake, so one statement serves both."""

_SQLITE_IDS = "(SELECT value FROM json_each(?{n}))"
_PG_IDS = "ANY(${n}::bigint[])"


def _query(sql: str, **lists: int) -> RawQuery:
    """``sql`` with ``{name}`` placeholders for id lists (``name=n``: parameter n) and
    ``?n`` for scalars; PostgreSQL's text gets ``$n`` and ``= ANY``."""
    sqlite = sql.format(**{k: f"IN {_SQLITE_IDS.format(n=n)}" for k, n in lists.items()})
    postgresql = sql.format(**{k: f"= {_PG_IDS.format(n=n)}" for k, n in lists.items()})
    for n in range(9, 0, -1):
        postgresql = postgresql.replace(f"?{n}", f"${n}")
    return RawQuery(sqlite, postgresql)


TWEETS: Final = _query(
    "SELECT id, author_id, text, created_at_ms, reply_to_tweet_id, quote_tweet_id,"
    " likes_count, retweets_count, replies_count, retweet_of_id"
    " FROM tweets WHERE id {ids}",
    ids=1,
)
"""Tweets by id, in ``statements.TWEET_COLUMNS`` order (``tweet_from_row``)."""

USERS: Final = _query(
    "SELECT id, username, display_name, bio, verified, created_at_ms,"
    " followers_count, following_count, tweets_count"
    " FROM users WHERE id {ids}",
    ids=1,
)
"""Users by id, in ``statements.USER_COLUMNS`` order (``user_from_row``)."""

TWEET_IDS_BY_AUTHOR: Final = _query(
    "SELECT id FROM tweets WHERE author_id = ?1 AND id < ?2 ORDER BY id DESC LIMIT ?3"
)
"""One author's tweet ids below a cursor, newest first: a backward walk of the
``(author_id, id)`` index, no sort."""

TWEET_IDS_BY_AUTHORS: Final = _query(
    "SELECT id FROM tweets WHERE author_id {ids} AND id < ?2 ORDER BY id DESC LIMIT ?3",
    ids=1,
)
"""Several authors' tweet ids below a cursor, newest first."""

FOLLOWEE_IDS: Final = _query("SELECT followee_id FROM follows WHERE follower_id = ?1")

CELEBRITY_FOLLOWEE_IDS: Final = _query(
    "SELECT f.followee_id FROM follows f JOIN users u ON u.id = f.followee_id"
    " WHERE f.follower_id = ?1 AND u.followers_count >= CAST(?2 AS BIGINT)"
)
"""The followees of a user at or above a follower count (the ones pulled at read). The
threshold is cast: PostgreSQL would type it as the INTEGER column, and the push-only
policy's threshold is above 2**31."""

MEDIA_OF_TWEETS: Final = _query(
    "SELECT tm.tweet_id, m.id, m.owner_id, m.format, m.width, m.height, m.size_bytes,"
    " m.thumb_width, m.thumb_height, m.created_at_ms"
    " FROM tweet_media tm JOIN media m ON m.id = tm.media_id"
    " WHERE tm.tweet_id {ids} ORDER BY tm.tweet_id, tm.position",
    ids=1,
)
"""Attached media of tweets, in attachment order per tweet."""

COUNTS: Final = _query(
    "SELECT tweet_id, CAST(SUM(likes) AS BIGINT), CAST(SUM(retweets) AS BIGINT),"
    " CAST(SUM(replies) AS BIGINT)"
    " FROM tweet_counters WHERE tweet_id {ids} GROUP BY tweet_id",
    ids=1,
)
"""Engagement counts of tweets: the sums of their counter shards (``schema_engagement``)."""

VIEWER_FLAGS: Final = _query(
    "SELECT tweet_id, 1 FROM likes WHERE user_id = ?1 AND tweet_id BETWEEN ?2 AND ?3"
    " UNION ALL"
    " SELECT retweet_of_id, 2 FROM tweets"
    " WHERE author_id = ?1 AND retweet_of_id BETWEEN ?2 AND ?3"
)
"""``(tweet_id, kind)``: kind 1 for a like by the viewer, 2 for the viewer's retweet, of
the tweets with ids in ``[?2, ?3]``; the caller keeps those of its page.

Ranges, not id lists: each branch is one range of an index that starts with the viewer
(``likes`` primary key, ``tweets (author_id, retweet_of_id)``), and what the viewer did
to tweets of a page's time span is usually nothing or a few rows, where probing 50-100
ids one by one measured 77 us on SQLite against 8 us for the ranges. The cost
grows with the viewer's likes and retweets in the span instead: a page quoting a
years-old tweet widens it."""

USER_BY_USERNAME: Final = _query(
    "SELECT id, username, display_name, bio, verified, created_at_ms,"
    " followers_count, following_count, tweets_count"
    " FROM users WHERE username_lower = ?1"
)
"""A user by lower-cased username (mentions, logins), ``user_from_row`` order."""

FOLLOWER_IDS_AFTER: Final = _query(
    "SELECT follower_id FROM follows WHERE followee_id = ?1 AND follower_id > ?2"
    " ORDER BY follower_id LIMIT ?3"
)
"""A chunk of a user's followers in id order (fan-out walks them chunk by chunk)."""

IS_BLOCKING: Final = _query("SELECT 1 FROM blocks WHERE blocker_id = ?1 AND blocked_id = ?2")

HIDDEN_AUTHOR_IDS: Final = _query(
    "SELECT blocked_id FROM blocks WHERE blocker_id = ?1"
    " UNION SELECT blocker_id FROM blocks WHERE blocked_id = ?1"
    " UNION SELECT muted_id FROM mutes WHERE muter_id = ?1"
)
"""Whom a viewer must not see: blocked by them, blocking them, muted by them."""
