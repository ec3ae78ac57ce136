"""The ``SearchIndex`` contract, run against SQLite FTS5 and PostgreSQL full-text, each
on a freshly migrated database of its store (the index lives in the store's database)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import text

import pg
from starling.adapters.postgres.search import PostgresSearchIndex
from starling.adapters.postgres.store import PostgresStore
from starling.adapters.sql.search import SqlSearchIndex
from starling.adapters.sqlite.search import SqliteSearchIndex
from starling.adapters.sqlite.store import SqliteStore
from starling.domain.ids import compose
from starling.domain.model import NewUser, Tweet
from starling.domain.search import parse_query
from starling.ports import Store

NOW = 1_700_000_000_000


def tweet(n: int, text: str, author_id: int = 1) -> Tweet:
    return Tweet(id=compose(NOW + n), author_id=author_id, text=text, created_at_ms=NOW + n)


TWEETS = [
    tweet(1, "Flood waters rising near the river #FloodWatch", author_id=1),
    tweet(2, "No flood here, only sun", author_id=2),
    tweet(3, "Inundación en Valencia: evacuación #México", author_id=1),
    tweet(4, "Baha sa Marikina! Tulong po #RescuePH", author_id=3),
    tweet(5, "river cleanup saturday #ny_flood", author_id=2),
]
T = {n + 1: t.id for n, t in enumerate(TWEETS)}


class SearchIndexContract:
    @pytest.fixture
    def index(self) -> SqlSearchIndex:
        raise NotImplementedError

    @pytest.fixture
    def store(self) -> Store:
        raise NotImplementedError

    async def find(
        self, index: SqlSearchIndex, q: str, *, max_id: int | None = None, limit: int = 50
    ) -> list[int]:
        parsed = parse_query(q)
        return await index.search_tweets(
            words=parsed.words,
            hashtags=parsed.hashtags,
            author_id=None,
            max_id=max_id,
            limit=limit,
        )

    async def test_words_match_newest_first_and_all_must_match(self, index: SqlSearchIndex) -> None:
        await index.index_tweets(TWEETS)
        assert await self.find(index, "flood") == [T[5], T[2], T[1]]
        assert await self.find(index, "FLOOD river") == [T[5], T[1]]
        assert await self.find(index, "flood nothinglikethis") == []

    async def test_case_and_diacritics_do_not_matter(self, index: SqlSearchIndex) -> None:
        await index.index_tweets(TWEETS)
        assert await self.find(index, "inundacion") == [T[3]]
        assert await self.find(index, "EVACUACIÓN valencia") == [T[3]]
        assert await self.find(index, "marikina baha") == [T[4]]
        assert await self.find(index, "#mexico") == [T[3]]

    async def test_hashtags_match_hashtags(self, index: SqlSearchIndex) -> None:
        await index.index_tweets(TWEETS)
        assert await self.find(index, "#floodwatch") == [T[1]]
        assert await self.find(index, "#FloodWatch flood") == [T[1]]
        assert await self.find(index, "#ny_flood") == [T[5]]
        assert await self.find(index, "#river") == []

    async def test_author_filter(self, index: SqlSearchIndex) -> None:
        await index.index_tweets(TWEETS)
        found = await index.search_tweets(
            words=["flood"], hashtags=[], author_id=2, max_id=None, limit=10
        )
        assert found == [T[5], T[2]]

    async def test_cursor_and_limit_page_without_gaps(self, index: SqlSearchIndex) -> None:
        await index.index_tweets(TWEETS)
        assert await self.find(index, "flood", limit=2) == [T[5], T[2]]
        assert await self.find(index, "flood", max_id=T[2], limit=2) == [T[1]]
        assert await self.find(index, "flood", limit=0) == []

    async def test_indexing_is_idempotent_and_removal_final(self, index: SqlSearchIndex) -> None:
        await index.index_tweets(TWEETS)
        await index.index_tweets(TWEETS[:2])
        assert await self.find(index, "flood") == [T[5], T[2], T[1]]
        await index.remove_tweets([T[2], T[2], compose(NOW + 999)])
        await index.remove_tweets([T[2]])
        assert await self.find(index, "flood") == [T[5], T[1]]
        # Re-indexing a changed text replaces the entry.
        await index.index_tweets([Tweet(id=T[1], author_id=1, text="dry", created_at_ms=NOW)])
        assert await self.find(index, "flood") == [T[5]]
        assert await self.find(index, "dry") == [T[1]]

    async def test_a_search_needs_a_word_or_a_hashtag(self, index: SqlSearchIndex) -> None:
        with pytest.raises(ValueError, match="needs a word or a hashtag"):
            await index.search_tweets(words=[], hashtags=[], author_id=1, max_id=None, limit=5)

    async def test_query_syntax_in_words_is_text(self, index: SqlSearchIndex) -> None:
        await index.index_tweets([tweet(9, 'said "NEAR" AND OR * : ^ river')])
        for word in ('"near"', "AND", "OR", "river*", "near:", "^river"):
            parsed = parse_query(word)
            await index.search_tweets(
                words=parsed.words, hashtags=[], author_id=None, max_id=None, limit=5
            )
        assert await self.find(index, 'NEAR" OR "x') == []

    async def test_reindex_indexes_every_stored_tweet(
        self, index: SqlSearchIndex, store: Store
    ) -> None:
        await self.store_tweets(store)
        assert await index.reindex(batch=2) == len(TWEETS)
        assert await self.find(index, "flood") == [T[5], T[2], T[1]]

    @classmethod
    async def store_tweets(cls, store: Store) -> None:
        """TWEETS and their authors in the store, not yet in the index."""
        await cls.users(store, (1, "alice", "Alice"), (2, "bob", "Bob"), (3, "carol", "C"))
        for t in TWEETS:
            await store.insert_tweet(t, [])

    @staticmethod
    async def users(store: Store, *rows: tuple[int, str, str]) -> None:
        for user_id, username, display in rows:
            await store.create_user(
                NewUser(
                    id=user_id,
                    username=username,
                    display_name=display,
                    email=None,
                    password_hash=None,
                    created_at_ms=NOW,
                )
            )

    async def test_users_by_prefix_of_username_then_display_name(
        self, index: SqlSearchIndex, store: Store
    ) -> None:
        await self.users(
            store,
            (1, "rescue_ph", "Rescue Philippines"),
            (2, "rescue", "Red Cross"),
            (3, "weather", "Rescue Weather Desk"),
            (4, "rescuers", "Volunteers"),
            (5, "other", "Nobody"),
            (6, "Percent_", "100% _under"),
        )
        assert await index.search_users("rescue", offset=0, limit=10) == [2, 1, 4, 3]
        assert await index.search_users("RESCUE_", offset=0, limit=10) == [1]
        assert await index.search_users("rescue", offset=1, limit=2) == [1, 4]
        assert await index.search_users("red c", offset=0, limit=10) == [2]
        assert await index.search_users("zzz", offset=0, limit=10) == []
        # LIKE wildcards are plain characters in a prefix.
        assert await index.search_users("100%", offset=0, limit=10) == [6]
        assert await index.search_users("_", offset=0, limit=10) == []
        assert await index.search_users("%", offset=0, limit=10) == []


class TestSqliteSearchIndex(SearchIndexContract):
    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[SqliteStore]:
        store = SqliteStore(f"sqlite:///{tmp_path}/search.db")
        yield store
        await store.close()

    @pytest.fixture
    def index(self, store: SqliteStore) -> SqliteSearchIndex:
        return SqliteSearchIndex(store.db)


@pytest.mark.services
class TestPostgresSearchIndex(SearchIndexContract):
    @pytest.fixture
    async def store(self) -> AsyncIterator[PostgresStore]:
        async with pg.fresh_database_url() as url:
            store = await PostgresStore.open(url)
            yield store
            await store.close()

    @pytest.fixture
    def index(self, store: PostgresStore) -> PostgresSearchIndex:
        return PostgresSearchIndex(store.db)

    async def test_reindex_leaves_the_index_vacuumed_and_analyzed(
        self, index: PostgresSearchIndex, store: PostgresStore
    ) -> None:
        # Bulk-inserted rows wait in the GIN pending lists and the table has no
        # statistics until a vacuum: rare words would be searched by a backward scan.
        await self.store_tweets(store)

        await index.reindex()

        async with store.db.connect() as conn:
            vacuums, analyzes = (
                await conn.execute(
                    text(
                        "SELECT vacuum_count, analyze_count FROM pg_stat_user_tables "
                        "WHERE relname = 'search_tweets'"
                    )
                )
            ).one()
        assert vacuums == 1
        assert analyzes == 1
