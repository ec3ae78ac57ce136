"""The ``EngagementStore`` half of the ``Store`` contract (likes, sharded counters,
viewer flags, bookmarks), on SQLite and PostgreSQL, plus PostgreSQL under concurrent
likers of one tweet: no deadlock, and an exact count.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from sqlalchemy import func, select
from store_fixtures import CACHING_THRESHOLDS, NOW_MS, StoreFixtures, caching

import pg
from starling.adapters.caching import CachingStore
from starling.adapters.postgres.store import PostgresStore
from starling.adapters.sql.store import SqlStore
from starling.adapters.sql.tables import COUNTER_SHARDS, tweet_counters
from starling.adapters.sqlite.store import SqliteStore
from starling.domain.engagement import Counts, ViewerFlags
from starling.domain.events import Liked, Unliked, decode_event
from starling.domain.ids import SnowflakeGenerator
from starling.domain.model import Tweet, User
from starling.ports import Store


class EngagementStoreContract(StoreFixtures):
    WORKER_ID = 3

    @pytest.fixture
    async def store(self, tmp_path: Path) -> SqlStore:
        raise NotImplementedError

    async def tweet(self, store: SqlStore, ids: SnowflakeGenerator, author: User) -> Tweet:
        tweet = self.tweet_row(ids, author)
        await store.insert_tweet(tweet, [])
        return tweet

    @staticmethod
    def liked(ids: SnowflakeGenerator, user: User, tweet: Tweet) -> Liked:
        return Liked(
            event_id=ids.next_id(),
            occurred_at_ms=NOW_MS,
            user_id=user.id,
            tweet_id=tweet.id,
            author_id=tweet.author_id,
        )

    @staticmethod
    def unliked(ids: SnowflakeGenerator, user: User, tweet: Tweet) -> Unliked:
        return Unliked(
            event_id=ids.next_id(),
            occurred_at_ms=NOW_MS,
            user_id=user.id,
            tweet_id=tweet.id,
            author_id=tweet.author_id,
        )

    # --- likes and counts ------------------------------------------------------------
    async def test_a_like_counts_once_and_writes_its_event_once(
        self, store: SqlStore, ids: SnowflakeGenerator
    ) -> None:
        alice, bob = await self.user(store, ids), await self.user(store, ids)
        tweet = await self.tweet(store, ids, alice)
        first = self.liked(ids, bob, tweet)
        assert await store.like(bob.id, tweet.id, [first])
        assert not await store.like(bob.id, tweet.id, [self.liked(ids, bob, tweet)])
        assert await store.tweet_counts([tweet.id]) == {tweet.id: Counts(likes=1)}
        events = [decode_event(r.payload) for r in await store.outbox_after(0, 100)]
        assert events == [first]

    async def test_an_unlike_takes_the_like_back_once(
        self, store: SqlStore, ids: SnowflakeGenerator
    ) -> None:
        alice, bob = await self.user(store, ids), await self.user(store, ids)
        tweet = await self.tweet(store, ids, alice)
        assert not await store.unlike(bob.id, tweet.id, [self.unliked(ids, bob, tweet)])
        await store.like(bob.id, tweet.id, [self.liked(ids, bob, tweet)])
        await store.like(alice.id, tweet.id, [self.liked(ids, alice, tweet)])
        assert await store.unlike(bob.id, tweet.id, [self.unliked(ids, bob, tweet)])
        assert not await store.unlike(bob.id, tweet.id, [self.unliked(ids, bob, tweet)])
        assert (await store.tweet_counts([tweet.id]))[tweet.id].likes == 1
        assert await store.viewer_flags(bob.id, [tweet.id]) == {}
        assert await store.viewer_flags(alice.id, [tweet.id]) == {tweet.id: ViewerFlags(liked=True)}

    async def test_counts_of_a_page_come_from_one_grouped_read(
        self, store: SqlStore, ids: SnowflakeGenerator
    ) -> None:
        users = [await self.user(store, ids) for _ in range(5)]
        t1, t2, t3 = [await self.tweet(store, ids, users[0]) for _ in range(3)]
        for u in users:
            await store.like(u.id, t1.id, [])
        await store.like(users[1].id, t2.id, [])
        counts = await store.tweet_counts([t1.id, t2.id, t3.id, 999])
        assert counts == {t1.id: Counts(likes=5), t2.id: Counts(likes=1)}
        assert await store.tweet_counts([]) == {}

    async def test_likes_of_one_tweet_spread_over_several_counter_shards(
        self, store: SqlStore, ids: SnowflakeGenerator
    ) -> None:
        author = await self.user(store, ids)
        tweet = await self.tweet(store, ids, author)
        for _ in range(40):
            await store.like((await self.user(store, ids)).id, tweet.id, [])
        async with store.db.connect() as conn:
            shards = (
                await conn.execute(
                    select(func.count()).where(tweet_counters.c.tweet_id == tweet.id)
                )
            ).scalar_one()
        # 40 likes over 16 random shards: all on one row has probability 16**-39.
        assert 1 < shards <= COUNTER_SHARDS
        assert (await store.tweet_counts([tweet.id]))[tweet.id].likes == 40

    async def test_viewer_flags_are_per_viewer_for_a_whole_page(
        self, store: SqlStore, ids: SnowflakeGenerator
    ) -> None:
        alice, bob = await self.user(store, ids), await self.user(store, ids)
        t1, t2, t3 = [await self.tweet(store, ids, alice) for _ in range(3)]
        await store.like(bob.id, t1.id, [])
        await store.like(bob.id, t3.id, [])
        await store.like(alice.id, t2.id, [])
        page = [t1.id, t2.id, t3.id]
        assert await store.viewer_flags(bob.id, page) == {
            t1.id: ViewerFlags(liked=True, retweeted=False),
            t3.id: ViewerFlags(liked=True, retweeted=False),
        }
        assert await store.viewer_flags(alice.id, page) == {t2.id: ViewerFlags(liked=True)}
        assert await store.viewer_flags(alice.id, []) == {}

    # --- bookmarks -------------------------------------------------------------------
    async def test_bookmarks_are_idempotent_and_listed_newest_bookmark_first(
        self, store: SqlStore, ids: SnowflakeGenerator
    ) -> None:
        alice = await self.user(store, ids)
        t1, t2, t3 = [await self.tweet(store, ids, alice) for _ in range(3)]
        # Bookmarked in the order t2, t1, t3: the list follows bookmark time, not tweet id.
        marks = {t.id: ids.next_id() for t in (t2, t1, t3)}
        for tweet_id, bookmark_id in marks.items():
            assert await store.bookmark(alice.id, tweet_id, bookmark_id, NOW_MS)
        assert not await store.bookmark(alice.id, t2.id, ids.next_id(), NOW_MS)
        expected = [(marks[t.id], t.id) for t in (t3, t1, t2)]
        assert await store.bookmarks_page(alice.id, max_id=None, limit=10) == expected
        assert await store.bookmarks_page(alice.id, max_id=None, limit=2) == expected[:2]
        assert await store.bookmarks_page(alice.id, max_id=expected[1][0], limit=10) == expected[2:]
        assert await store.unbookmark(alice.id, t1.id)
        assert not await store.unbookmark(alice.id, t1.id)
        assert await store.bookmarks_page(alice.id, max_id=None, limit=10) == [
            expected[0],
            expected[2],
        ]
        other = await self.user(store, ids)
        assert await store.bookmarks_page(other.id, max_id=None, limit=10) == []


class TestSqliteEngagementStore(EngagementStoreContract):
    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[SqliteStore]:
        store = SqliteStore(f"sqlite:///{tmp_path}/engagement.db")
        yield store
        await store.close()


class TestCachingSqliteEngagementStore(EngagementStoreContract):
    """Through the caching layer (counts are kept; likes and unlikes drop them)."""

    @pytest.fixture(params=CACHING_THRESHOLDS)
    async def store(self, tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Store]:
        store = caching(SqliteStore(f"sqlite:///{tmp_path}/engagement.db"), threshold=request.param)
        yield store
        await store.close()

    async def test_likes_of_one_tweet_spread_over_several_counter_shards(
        self, store: SqlStore, ids: SnowflakeGenerator
    ) -> None:
        """The shards are the database's: looked at behind the caching layer."""
        assert isinstance(store, CachingStore)
        inner = store.inner
        assert isinstance(inner, SqlStore)
        await super().test_likes_of_one_tweet_spread_over_several_counter_shards(inner, ids)


class TestPostgresEngagementStore(EngagementStoreContract):
    @pytest.fixture
    async def store(self) -> AsyncIterator[PostgresStore]:
        async with pg.fresh_database_url() as url:
            store = await PostgresStore.open(url, migrate=False, pool_size=20)
            yield store
            await store.close()

    async def test_concurrent_likes_of_one_tweet_neither_deadlock_nor_miscount(
        self, store: SqlStore, ids: SnowflakeGenerator
    ) -> None:
        """50 users like one tweet 4 times each, all at once on 20+ connections (each
        like: likes row, counter shard, outbox event): exactly 50 likes, 50 events."""
        author = await self.user(store, ids)
        tweet = await self.tweet(store, ids, author)
        likers = [await self.user(store, ids) for _ in range(50)]
        results = await asyncio.wait_for(
            asyncio.gather(
                *(
                    store.like(u.id, tweet.id, [self.liked(ids, u, tweet)])
                    for _ in range(4)
                    for u in likers
                )
            ),
            timeout=30,
        )
        assert sum(results) == 50
        assert (await store.tweet_counts([tweet.id]))[tweet.id].likes == 50
        assert len(await store.outbox_after(0, 1000)) == 50
        # And back: concurrent unlikes, each counted once.
        await asyncio.gather(
            *(store.unlike(u.id, tweet.id, []) for _ in range(2) for u in likers[:20])
        )
        assert (await store.tweet_counts([tweet.id]))[tweet.id].likes == 30
