"""The ``ConversationStore`` half of the ``Store`` contract (retweet rows, replies,
ancestors, and the counts and cascades of ``insert_tweet``/``delete_tweet`` for them), on
SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from store_fixtures import CACHING_THRESHOLDS, NOW_MS, StoreFixtures, caching

import pg
from starling.adapters.postgres.store import PostgresStore
from starling.adapters.sql.store import SqlStore
from starling.adapters.sqlite.store import SqliteStore
from starling.domain.errors import TweetNotFound
from starling.domain.events import Event, TweetDeleted, decode_event
from starling.domain.ids import SnowflakeGenerator
from starling.domain.model import Tweet, User
from starling.ports import Store


class ConversationStoreContract(StoreFixtures):
    @pytest.fixture
    async def store(self, tmp_path: Path) -> SqlStore:
        raise NotImplementedError

    WORKER_ID = 5

    @staticmethod
    def row(ids: SnowflakeGenerator, author: User, **refs: int) -> Tweet:
        text = "" if "retweet_of_id" in refs else "hi"
        return StoreFixtures.tweet_row(ids, author, text, **refs)

    async def add(
        self, store: SqlStore, ids: SnowflakeGenerator, author: User, **refs: int
    ) -> Tweet:
        tweet = self.row(ids, author, **refs)
        assert await store.insert_tweet(tweet, [])
        return tweet

    async def test_one_retweet_per_user_and_tweet(
        self, store: SqlStore, ids: SnowflakeGenerator
    ) -> None:
        alice, bob = await self.user(store, ids), await self.user(store, ids)
        original = await self.add(store, ids, alice)
        retweet = await self.add(store, ids, bob, retweet_of_id=original.id)

        assert not await store.insert_tweet(self.row(ids, bob, retweet_of_id=original.id), [])
        assert await store.retweet_id_of(bob.id, original.id) == retweet.id
        assert await store.retweet_id_of(alice.id, original.id) is None
        assert (await store.tweet_counts([original.id]))[original.id].retweets == 1
        flags = await store.viewer_flags(bob.id, [original.id])
        assert flags[original.id].retweeted
        assert not flags[original.id].liked
        assert (await store.get_tweet(retweet.id)) == retweet

    async def test_referencing_a_missing_tweet_raises_and_writes_nothing(
        self, store: SqlStore, ids: SnowflakeGenerator
    ) -> None:
        alice = await self.user(store, ids)
        for ref in ("retweet_of_id", "reply_to_tweet_id", "quote_tweet_id"):
            with pytest.raises(TweetNotFound):
                await store.insert_tweet(self.row(ids, alice, **{ref: 42}), [])
        assert (await store.get_user(alice.id)) == alice  # tweets_count still 0

    async def test_replies_page_newest_first_and_ancestors_root_first(
        self, store: SqlStore, ids: SnowflakeGenerator
    ) -> None:
        alice = await self.user(store, ids)
        root = await self.add(store, ids, alice)
        replies = [await self.add(store, ids, alice, reply_to_tweet_id=root.id) for _ in range(3)]
        leaf = await self.add(store, ids, alice, reply_to_tweet_id=replies[1].id)

        assert await store.reply_ids(root.id, max_id=None, limit=2) == [
            replies[2].id,
            replies[1].id,
        ]
        assert await store.reply_ids(root.id, max_id=replies[1].id, limit=2) == [replies[0].id]
        assert await store.ancestor_ids(leaf.id) == [root.id, replies[1].id]
        assert await store.ancestor_ids(root.id) == []
        assert (await store.tweet_counts([root.id]))[root.id].replies == 3

        assert await store.delete_tweet(replies[1].id, [])
        assert (await store.tweet_counts([root.id]))[root.id].replies == 2
        assert await store.ancestor_ids(leaf.id) == []  # the chain breaks at the deleted one

    async def test_deleting_a_tweet_deletes_its_retweets_with_their_events(
        self, store: SqlStore, ids: SnowflakeGenerator
    ) -> None:
        alice, bob, carol = [await self.user(store, ids) for _ in range(3)]
        original = await self.add(store, ids, alice)
        retweets = [await self.add(store, ids, u, retweet_of_id=original.id) for u in (bob, carol)]
        await store.like(carol.id, original.id, [])
        head = await store.outbox_head()

        def deleted(tweet_id: int, author_id: int) -> Event:
            return TweetDeleted(
                event_id=ids.next_id(),
                occurred_at_ms=NOW_MS,
                tweet_id=tweet_id,
                author_id=author_id,
            )

        assert await store.delete_tweet(
            original.id, [deleted(original.id, alice.id)], retweet_deleted=deleted
        )

        written = [decode_event(r.payload) for r in await store.outbox_after(head, 10)]
        assert {(e.tweet_id, e.author_id) for e in written if isinstance(e, TweetDeleted)} == {
            (original.id, alice.id),
            (retweets[0].id, bob.id),
            (retweets[1].id, carol.id),
        }
        assert await store.get_tweets([original.id, *(r.id for r in retweets)]) == {}
        assert await store.tweet_counts([original.id]) == {}
        assert await store.viewer_flags(carol.id, [original.id]) == {}
        users = await store.get_users([bob.id, carol.id])
        assert [u.tweets_count for u in users.values()] == [0, 0]

    async def test_deleting_a_retweet_lowers_the_originals_count(
        self, store: SqlStore, ids: SnowflakeGenerator
    ) -> None:
        alice, bob = await self.user(store, ids), await self.user(store, ids)
        original = await self.add(store, ids, alice)
        retweet = await self.add(store, ids, bob, retweet_of_id=original.id)

        assert await store.delete_tweet(retweet.id, [])

        assert (await store.tweet_counts([original.id]))[original.id].retweets == 0
        assert await store.retweet_id_of(bob.id, original.id) is None
        assert await store.insert_tweet(self.row(ids, bob, retweet_of_id=original.id), [])


class TestSqliteConversationStore(ConversationStoreContract):
    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[SqliteStore]:
        store = SqliteStore(f"sqlite:///{tmp_path}/conversations.db")
        yield store
        await store.close()


class TestCachingSqliteConversationStore(ConversationStoreContract):
    """Through the caching layer (counts and tweets are kept; retweets, replies and
    deletes drop them)."""

    @pytest.fixture(params=CACHING_THRESHOLDS)
    async def store(self, tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Store]:
        store = caching(
            SqliteStore(f"sqlite:///{tmp_path}/conversations.db"), threshold=request.param
        )
        yield store
        await store.close()


class TestPostgresConversationStore(ConversationStoreContract):
    @pytest.fixture
    async def store(self) -> AsyncIterator[PostgresStore]:
        async with pg.fresh_database_url() as url:
            store = await PostgresStore.open(url, migrate=False)
            yield store
            await store.close()
