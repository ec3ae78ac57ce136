"""The store reads and writes the Mastodon-compatible API's lists add to the ``Store``
port: the newest tweets overall (the public timeline), a user's likes most recent first,
the likers and retweeters of a tweet, dismissing and clearing notifications, and the
statuses kept under idempotency keys; on SQLite, PostgreSQL and through the caching
store that every service uses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from store_fixtures import NOW_MS, StoreFixtures, caching

import pg
from starling.adapters.postgres.store import PostgresStore
from starling.adapters.sqlite.store import SqliteStore
from starling.domain.events import Liked
from starling.domain.ids import SnowflakeGenerator
from starling.domain.model import Tweet, User
from starling.domain.notifications import Notification
from starling.ports import Store

HOUR_MS = 3_600_000


class MastodonStoreContract(StoreFixtures):
    WORKER_ID = 11

    @pytest.fixture
    async def store(self, tmp_path: Path) -> Store:
        raise NotImplementedError

    async def tweet(
        self, store: Store, ids: SnowflakeGenerator, author: User, **refs: int
    ) -> Tweet:
        tweet = self.tweet_row(ids, author, **refs)
        assert await store.insert_tweet(tweet, [])
        return tweet

    async def like(
        self, store: Store, ids: SnowflakeGenerator, user: User, tweet: Tweet, at_ms: int
    ) -> None:
        event = Liked(
            event_id=ids.next_id(),
            occurred_at_ms=at_ms,
            user_id=user.id,
            tweet_id=tweet.id,
            author_id=tweet.author_id,
        )
        assert await store.like(user.id, tweet.id, [event])

    # --- the public timeline -------------------------------------------------------------
    async def test_newest_tweet_ids_are_every_authors_newest_first_without_retweets(
        self, store: Store, ids: SnowflakeGenerator
    ) -> None:
        alice, bob = await self.user(store, ids), await self.user(store, ids)
        first = await self.tweet(store, ids, alice)
        reply = await self.tweet(store, ids, bob, reply_to_tweet_id=first.id)
        await self.tweet(store, ids, bob, retweet_of_id=first.id)
        quote = await self.tweet(store, ids, alice, quote_tweet_id=reply.id)
        assert await store.newest_tweet_ids(max_id=None, limit=10) == [quote.id, reply.id, first.id]
        assert await store.newest_tweet_ids(max_id=quote.id, limit=1) == [reply.id]
        assert await store.newest_tweet_ids(max_id=first.id, limit=10) == []
        assert await store.newest_tweet_ids(max_id=None, limit=0) == []

    # --- likes, likers, retweeters -------------------------------------------------------
    async def test_a_users_likes_come_most_recent_like_first_and_page_by_keyset(
        self, store: Store, ids: SnowflakeGenerator
    ) -> None:
        alice, bob = await self.user(store, ids), await self.user(store, ids)
        old, mid, new = [await self.tweet(store, ids, alice) for _ in range(3)]
        # Liked in another order than posted; two likes in the same millisecond.
        await self.like(store, ids, bob, new, NOW_MS + 1)
        await self.like(store, ids, bob, old, NOW_MS + 2)
        await self.like(store, ids, bob, mid, NOW_MS + 2)
        await self.like(store, ids, alice, new, NOW_MS + 9)  # someone else's
        rows = await store.likes_page(bob.id, before=None, limit=10)
        assert rows == [(NOW_MS + 2, mid.id), (NOW_MS + 2, old.id), (NOW_MS + 1, new.id)]
        assert await store.likes_page(bob.id, before=rows[0], limit=1) == [rows[1]]
        assert await store.likes_page(bob.id, before=rows[1], limit=5) == [rows[2]]
        assert await store.likes_page(bob.id, before=rows[2], limit=5) == []
        await store.unlike(bob.id, old.id, [])
        assert await store.likes_page(bob.id, before=None, limit=10) == [rows[0], rows[2]]

    async def test_likers_come_highest_user_id_first(
        self, store: Store, ids: SnowflakeGenerator
    ) -> None:
        author = await self.user(store, ids)
        tweet = await self.tweet(store, ids, author)
        other = await self.tweet(store, ids, author)
        fans = [await self.user(store, ids) for _ in range(3)]
        for fan in fans:
            await self.like(store, ids, fan, tweet, NOW_MS)
        await self.like(store, ids, fans[0], other, NOW_MS)
        expected = sorted((f.id for f in fans), reverse=True)
        assert await store.liker_ids(tweet.id, max_id=None, limit=10) == expected
        assert await store.liker_ids(tweet.id, max_id=expected[0], limit=1) == expected[1:2]
        assert await store.liker_ids(other.id, max_id=None, limit=10) == [fans[0].id]

    async def test_retweets_of_a_tweet_come_newest_first_with_their_authors(
        self, store: Store, ids: SnowflakeGenerator
    ) -> None:
        author = await self.user(store, ids)
        tweet = await self.tweet(store, ids, author)
        fans = [await self.user(store, ids) for _ in range(3)]
        retweets = [await self.tweet(store, ids, f, retweet_of_id=tweet.id) for f in fans]
        newest_first = [(r.id, r.author_id) for r in reversed(retweets)]
        assert await store.retweets_page(tweet.id, max_id=None, limit=10) == newest_first
        below = retweets[2].id
        assert await store.retweets_page(tweet.id, max_id=below, limit=1) == newest_first[1:2]
        assert await store.retweets_page(retweets[0].id, max_id=None, limit=10) == []

    # --- notifications -------------------------------------------------------------------
    async def test_a_dismissed_notification_is_gone_and_clear_empties_one_inbox(
        self, store: Store, ids: SnowflakeGenerator
    ) -> None:
        alice, bob, carol = [await self.user(store, ids) for _ in range(3)]

        def note(user: User) -> Notification:
            return Notification(
                id=ids.next_id(),
                user_id=user.id,
                type="follow",
                actor_id=carol.id,
                tweet_id=None,
                created_at_ms=NOW_MS,
            )

        a1, a2, b1 = note(alice), note(alice), note(bob)
        await store.add_notifications([a1, a2, b1])
        assert not await store.dismiss_notification(bob.id, a1.id)  # not bob's
        assert await store.dismiss_notification(alice.id, a1.id)
        assert not await store.dismiss_notification(alice.id, a1.id)
        assert await store.notifications_page(alice.id, max_id=None, limit=10) == [a2]
        assert await store.clear_notifications(alice.id) == 1
        assert await store.notifications_page(alice.id, max_id=None, limit=10) == []
        assert await store.notifications_page(bob.id, max_id=None, limit=10) == [b1]

    # --- idempotency keys ----------------------------------------------------------------
    async def test_an_idempotency_key_keeps_the_first_status_for_an_hour(
        self, store: Store, ids: SnowflakeGenerator
    ) -> None:
        alice, bob = await self.user(store, ids), await self.user(store, ids)
        key = "a" * 64
        assert await store.idempotent_status(alice.id, key, since_ms=NOW_MS - HOUR_MS) is None
        kept = await store.remember_idempotent_status(
            alice.id, key, 1, now_ms=NOW_MS, expired_before_ms=NOW_MS - HOUR_MS
        )
        assert kept == 1
        # A racing second request keeps the first answer; another user's key is apart.
        again = await store.remember_idempotent_status(
            alice.id, key, 2, now_ms=NOW_MS, expired_before_ms=NOW_MS - HOUR_MS
        )
        assert again == 1
        assert await store.idempotent_status(alice.id, key, since_ms=NOW_MS - HOUR_MS) == 1
        assert await store.idempotent_status(bob.id, key, since_ms=NOW_MS - HOUR_MS) is None
        # An hour later the key is expired, then reusable.
        later = NOW_MS + HOUR_MS + 1
        assert await store.idempotent_status(alice.id, key, since_ms=later - HOUR_MS) is None
        reused = await store.remember_idempotent_status(
            alice.id, key, 3, now_ms=later, expired_before_ms=later - HOUR_MS
        )
        assert reused == 3


class TestSqliteMastodonStore(MastodonStoreContract):
    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[SqliteStore]:
        store = SqliteStore(f"sqlite:///{tmp_path}/m.db")
        yield store
        await store.close()


class TestCachingMastodonStore(MastodonStoreContract):
    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[Store]:
        inner = SqliteStore(f"sqlite:///{tmp_path}/c.db")
        yield caching(inner, threshold=3)
        await inner.close()


@pytest.mark.services
class TestPostgresMastodonStore(MastodonStoreContract):
    WORKER_ID = 12

    @pytest.fixture
    async def store(self) -> AsyncIterator[PostgresStore]:
        async with pg.fresh_database_url() as url:
            store = await PostgresStore.open(url, migrate=False)
            yield store
            await store.close()
