"""``SearchIndex`` on SQLite FTS5 (the embedded default).

One FTS5 table, ``search_tweets`` (migration 0005): rowid = tweet id, ``body`` = the text,
``tags`` = folded hashtags, ``author_id`` stored unindexed. The ``unicode61
remove_diacritics 2`` tokenizer folds case and diacritics of both documents and queries.
Newest first is ``ORDER BY rowid DESC``, which FTS5 answers by walking its doclists
backwards, so a page costs O(page) after the first match, not O(matches).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import text

from starling.adapters.sql.search import SqlSearchIndex
from starling.adapters.sql.tables import SEARCH_TABLE
from starling.domain.model import Tweet
from starling.domain.search import folded_hashtags

_UPSERT = text(
    f"INSERT OR REPLACE INTO {SEARCH_TABLE} (rowid, body, tags, author_id) "
    "VALUES (:id, :body, :tags, :author_id)"
)
_DELETE = text(f"DELETE FROM {SEARCH_TABLE} WHERE rowid = :id")


def fts5_string(term: str) -> str:
    """``term`` as an FTS5 string literal: double-quoted, inner quotes doubled. Inside
    one, FTS5 operators (AND, NEAR, *, :) are plain text, so user input cannot change
    the query's structure; the tokenizer splits it into a phrase."""
    return '"' + term.replace('"', '""') + '"'


def match_expression(words: Sequence[str], hashtags: Sequence[str]) -> str:
    """The FTS5 MATCH expression: every word in ``body`` and every hashtag (a phrase,
    for tags the tokenizer splits at '_') in ``tags``, ANDed."""
    terms = [f"body : {fts5_string(w)}" for w in words]
    terms += [f"tags : {fts5_string(t)}" for t in hashtags]
    return " AND ".join(terms)


class SqliteSearchIndex(SqlSearchIndex):
    """The ``SearchIndex`` port on the embedded store's SQLite database (``db``)."""

    async def index_tweets(self, tweets: Sequence[Tweet]) -> None:
        if not tweets:
            return
        rows = [
            {
                "id": t.id,
                "body": t.text,
                "tags": " ".join(folded_hashtags(t.text)),
                "author_id": t.author_id,
            }
            for t in tweets
        ]
        async with self.db.begin() as conn:
            await conn.execute(_UPSERT, rows)

    async def remove_tweets(self, tweet_ids: Sequence[int]) -> None:
        if not tweet_ids:
            return
        async with self.db.begin() as conn:
            await conn.execute(_DELETE, [{"id": i} for i in tweet_ids])

    async def search_tweets(
        self,
        *,
        words: Sequence[str],
        hashtags: Sequence[str],
        author_id: int | None,
        max_id: int | None,
        limit: int,
    ) -> list[int]:
        if not words and not hashtags:
            raise ValueError("a tweet search needs a word or a hashtag")
        if limit <= 0:
            return []
        sql = f"SELECT rowid FROM {SEARCH_TABLE} WHERE {SEARCH_TABLE} MATCH :match"
        params: dict[str, Any] = {"match": match_expression(words, hashtags), "limit": limit}
        if author_id is not None:
            sql += " AND author_id = :author_id"
            params["author_id"] = author_id
        if max_id is not None:
            sql += " AND rowid < :max_id"
            params["max_id"] = max_id
        sql += " ORDER BY rowid DESC LIMIT :limit"
        async with self.db.connect() as conn:
            return list((await conn.execute(text(sql), params)).scalars())
