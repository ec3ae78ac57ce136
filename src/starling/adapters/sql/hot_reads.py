"""The reads of every home-timeline page, in each dialect's own SQL (see
:class:`~starling.adapters.sql.database.RawQuery`).

A page hydration runs a handful of these on every request, so they skip SQLAlchemy's
execution machinery (~290 us per query through it against ~10-30 us on the driver,
measured on a 50-id page). They are still written against the tables of
:mod:`~starling.adapters.sql.tables`: every table and column name below comes from its
``Table`` (a renamed or missing column fails at import), and the rows mapped to entities
select the column lists of :mod:`~starling.adapters.sql.statements` (``TWEET_COLUMNS``,
``USER_COLUMNS``, ``MEDIA_COLUMNS``), the same ones its SQLAlchemy statements select, so
``tweet_from_row`` and its kin read both. The text of each dialect is generated once, at
import.

Conventions: ``?n`` (SQLite) and ``$n`` (PostgreSQL) number the same parameters; an id
list is one parameter (``json_each`` / ``bigint[]``).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Final

from sqlalchemy import Column, Table

from starling.adapters.sql import tables
from starling.adapters.sql.database import RawQuery
from starling.adapters.sql.statements import MEDIA_COLUMNS, TWEET_COLUMNS, USER_COLUMNS

MAX_ID: Final = 2**63 - 1
"""``max_id`` meaning "no cursor": above every snowflake, so one statement serves both."""

_SQLITE_IDS = "(SELECT value FROM json_each(?{n}))"
_PG_IDS = "ANY(${n}::bigint[])"


class _Names:
    """A table's name (``str()``) and its columns' names (attributes), checked against
    the ``Table``; ``alias`` qualifies the column names (``f.followee_id``)."""

    def __init__(self, table: Table, alias: str = "") -> None:
        self._table = table
        self._alias = alias

    def __str__(self) -> str:
        return f"{self._table.name} {self._alias}" if self._alias else self._table.name

    def __getattr__(self, name: str) -> str:
        column: Column[Any] = self._table.c[name]  # KeyError: no such column
        return f"{self._alias}.{column.name}" if self._alias else column.name


def _list(columns: Iterable[Column[Any]], alias: str = "") -> str:
    """``columns`` as a select list, each qualified with ``alias`` when given."""
    return ", ".join(f"{alias}.{c.name}" if alias else c.name for c in columns)


def _query(sql: str, **lists: int) -> RawQuery:
    """``sql`` with ``{name}`` placeholders for id lists (``name=n``: parameter n) and
    ``?n`` for scalars; PostgreSQL's text gets ``$n`` and ``= ANY``."""
    sqlite = sql.format(**{k: f"IN {_SQLITE_IDS.format(n=n)}" for k, n in lists.items()})
    postgresql = sql.format(**{k: f"= {_PG_IDS.format(n=n)}" for k, n in lists.items()})
    for n in range(9, 0, -1):
        postgresql = postgresql.replace(f"?{n}", f"${n}")
    return RawQuery(sqlite, postgresql)


_tweets = _Names(tables.tweets)
_users = _Names(tables.users)
_follows = _Names(tables.follows)
_blocks = _Names(tables.blocks)
_mutes = _Names(tables.mutes)
_likes = _Names(tables.likes)
_counters = _Names(tables.tweet_counters)

TWEETS: Final = _query(
    f"SELECT {_list(TWEET_COLUMNS)} FROM {_tweets} WHERE {_tweets.id} {{ids}}", ids=1
)
"""Tweets by id, in ``TWEET_COLUMNS`` order (``tweet_from_row``)."""

USERS: Final = _query(
    f"SELECT {_list(USER_COLUMNS)} FROM {_users} WHERE {_users.id} {{ids}}", ids=1
)
"""Users by id, in ``USER_COLUMNS`` order (``user_from_row``)."""

USER_BY_USERNAME: Final = _query(
    f"SELECT {_list(USER_COLUMNS)} FROM {_users} WHERE {_users.username_lower} = ?1"
)
"""A user by lower-cased username (mentions, logins), ``user_from_row`` order."""

TWEET_IDS_BY_AUTHOR: Final = _query(
    f"SELECT {_tweets.id} FROM {_tweets} WHERE {_tweets.author_id} = ?1 AND {_tweets.id} < ?2"
    f" ORDER BY {_tweets.id} DESC LIMIT ?3"
)
"""One author's tweet ids below a cursor, newest first: a backward walk of the
``(author_id, id)`` index, no sort."""

TWEET_IDS_BY_AUTHORS: Final = _query(
    f"SELECT {_tweets.id} FROM {_tweets} WHERE {_tweets.author_id} {{ids}} AND {_tweets.id} < ?2"
    f" ORDER BY {_tweets.id} DESC LIMIT ?3",
    ids=1,
)
"""Several authors' tweet ids below a cursor, newest first."""

FOLLOWEE_IDS: Final = _query(
    f"SELECT {_follows.followee_id} FROM {_follows} WHERE {_follows.follower_id} = ?1"
)

_f, _u = _Names(tables.follows, "f"), _Names(tables.users, "u")
CELEBRITY_FOLLOWEE_IDS: Final = _query(
    f"SELECT {_f.followee_id} FROM {_f} JOIN {_u} ON {_u.id} = {_f.followee_id}"
    f" WHERE {_f.follower_id} = ?1 AND {_u.followers_count} >= CAST(?2 AS BIGINT)"
)
"""The followees of a user at or above a follower count (the ones pulled at read). The
threshold is cast: PostgreSQL would type it as the INTEGER column, and the push-only
policy's threshold is above 2**31."""

FOLLOWER_IDS_AFTER: Final = _query(
    f"SELECT {_follows.follower_id} FROM {_follows}"
    f" WHERE {_follows.followee_id} = ?1 AND {_follows.follower_id} > ?2"
    f" ORDER BY {_follows.follower_id} LIMIT ?3"
)
"""A chunk of a user's followers in id order (fan-out walks them chunk by chunk)."""

_tm, _m = _Names(tables.tweet_media, "tm"), _Names(tables.media, "m")
MEDIA_OF_TWEETS: Final = _query(
    f"SELECT {_list(MEDIA_COLUMNS, 'm')}, {_tm.tweet_id}"
    f" FROM {_tm} JOIN {_m} ON {_m.id} = {_tm.media_id}"
    f" WHERE {_tm.tweet_id} {{ids}} ORDER BY {_tm.tweet_id}, {_tm.position}",
    ids=1,
)
"""Attached media of tweets, in attachment order per tweet: ``MEDIA_COLUMNS`` order
(``media_from_row``), then the tweet's id."""

COUNTS: Final = _query(
    f"SELECT {_counters.tweet_id}, CAST(SUM({_counters.likes}) AS BIGINT),"
    f" CAST(SUM({_counters.retweets}) AS BIGINT), CAST(SUM({_counters.replies}) AS BIGINT)"
    f" FROM {_counters} WHERE {_counters.tweet_id} {{ids}} GROUP BY {_counters.tweet_id}",
    ids=1,
)
"""Engagement counts of tweets: the sums of their counter shards (``tweet_counters``)."""

VIEWER_FLAGS: Final = _query(
    f"SELECT {_likes.tweet_id}, 1 FROM {_likes}"
    f" WHERE {_likes.user_id} = ?1 AND {_likes.tweet_id} BETWEEN ?2 AND ?3"
    " UNION ALL"
    f" SELECT {_tweets.retweet_of_id}, 2 FROM {_tweets}"
    f" WHERE {_tweets.author_id} = ?1 AND {_tweets.retweet_of_id} BETWEEN ?2 AND ?3"
)
"""``(tweet_id, kind)``: kind 1 for a like by the viewer, 2 for the viewer's retweet, of
the tweets with ids in ``[?2, ?3]``; the caller keeps those of its page.

Ranges, not id lists: each branch is one range of an index that starts with the viewer
(``likes`` primary key, ``tweets (author_id, retweet_of_id)``), and what the viewer did
to tweets of a page's time span is usually nothing or a few rows, where probing 50-100
ids one by one measured 77 us on SQLite against 8 us for the ranges. The cost grows with
the viewer's likes and retweets in the span instead: a page quoting a years-old tweet
widens it."""

IS_BLOCKING: Final = _query(
    f"SELECT 1 FROM {_blocks} WHERE {_blocks.blocker_id} = ?1 AND {_blocks.blocked_id} = ?2"
)

HIDDEN_AUTHOR_IDS: Final = _query(
    f"SELECT {_blocks.blocked_id} FROM {_blocks} WHERE {_blocks.blocker_id} = ?1"
    f" UNION SELECT {_blocks.blocker_id} FROM {_blocks} WHERE {_blocks.blocked_id} = ?1"
    f" UNION SELECT {_mutes.muted_id} FROM {_mutes} WHERE {_mutes.muter_id} = ?1"
)
"""Whom a viewer must not see: blocked by them, blocking them, muted by them."""
