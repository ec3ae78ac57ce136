"""The ``ModerationStore`` half of the store contract, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from store_fixtures import CACHING_THRESHOLDS, NOW_MS, StoreFixtures, caching

import pg
from starling.adapters.postgres.store import PostgresStore
from starling.adapters.sqlite.store import SqliteStore
from starling.domain.events import Followed, Unfollowed, decode_event
from starling.domain.ids import SnowflakeGenerator
from starling.domain.model import Tweet, User
from starling.domain.notifications import Notification
from starling.ports import Store


class ModerationStoreContract(StoreFixtures):
    WORKER_ID = 9

    @pytest.fixture
    async def store(self, tmp_path: Path) -> Store:
        raise NotImplementedError

    def unfollowed(self, ids: SnowflakeGenerator, follower: User, followee: User) -> Unfollowed:
        return Unfollowed(
            event_id=ids.next_id(),
            occurred_at_ms=NOW_MS,
            follower_id=follower.id,
            followee_id=followee.id,
        )

    async def test_block_removes_follows_both_ways_with_counts_and_events(
        self, store: Store, ids: SnowflakeGenerator
    ) -> None:
        a, b = await self.user(store, ids), await self.user(store, ids)
        follow = Followed(
            event_id=ids.next_id(), occurred_at_ms=NOW_MS, follower_id=a.id, followee_id=b.id
        )
        await store.follow(a.id, b.id, [follow])
        head = await store.outbox_head()

        events = [self.unfollowed(ids, a, b), self.unfollowed(ids, b, a)]
        assert await store.block(a.id, b.id, events) is True
        assert await store.block(a.id, b.id, events) is False

        assert not await store.is_following(a.id, b.id)
        users = await store.get_users([a.id, b.id])
        assert (users[a.id].following_count, users[b.id].followers_count) == (0, 0)
        written = [decode_event(r.payload) for r in await store.outbox_after(head, 10)]
        assert written == [events[0]]  # only the edge that existed, and only once
        assert await store.is_blocking(a.id, b.id)
        assert not await store.is_blocking(b.id, a.id)
        assert await store.is_blocked(a.id, b.id)
        assert await store.is_blocked(b.id, a.id)

        assert await store.unblock(a.id, b.id) is True
        assert await store.unblock(a.id, b.id) is False
        assert not await store.is_blocked(b.id, a.id)

    async def test_hidden_author_ids_unites_blocks_both_ways_and_mutes(
        self, store: Store, ids: SnowflakeGenerator
    ) -> None:
        me, blocked, blocker, muted, other = [await self.user(store, ids) for _ in range(5)]
        await store.block(me.id, blocked.id, [])
        await store.block(blocker.id, me.id, [])
        assert await store.mute(me.id, muted.id, NOW_MS) is True
        assert await store.mute(me.id, muted.id, NOW_MS) is False
        await store.mute(other.id, me.id, NOW_MS)  # being muted hides nothing from me

        assert await store.hidden_author_ids(me.id) == {blocked.id, blocker.id, muted.id}
        assert await store.is_muting(me.id, muted.id)
        assert await store.unmute(me.id, muted.id) is True
        assert await store.unmute(me.id, muted.id) is False
        assert await store.hidden_author_ids(me.id) == {blocked.id, blocker.id}

    async def test_notifications_are_idempotent_paged_counted_and_deleted_by_tweet(
        self, store: Store, ids: SnowflakeGenerator
    ) -> None:
        me, actor = await self.user(store, ids), await self.user(store, ids)
        tweet = Tweet(id=ids.next_id(), author_id=actor.id, text="hi", created_at_ms=NOW_MS)
        await store.insert_tweet(tweet, [])
        rows = [
            Notification(
                id=ids.next_id(),
                user_id=me.id,
                type="mention" if i else "follow",
                actor_id=actor.id,
                tweet_id=tweet.id if i else None,
                created_at_ms=NOW_MS,
            )
            for i in range(3)
        ]
        assert await store.add_notifications(rows) == 3
        assert await store.add_notifications(rows) == 0  # a re-delivered event

        page = await store.notifications_page(me.id, max_id=None, limit=2)
        assert page == rows[:0:-1]
        assert await store.notifications_page(me.id, max_id=page[-1].id, limit=2) == rows[:1]
        assert await store.unread_count(me.id) == 3
        await store.mark_notifications_read(me.id, rows[1].id)
        await store.mark_notifications_read(me.id, rows[0].id)  # never backwards
        assert (await store.read_mark(me.id), await store.unread_count(me.id)) == (rows[1].id, 1)
        assert await store.newest_notification_id(me.id) == rows[2].id

        assert await store.delete_notifications_for_tweet(tweet.id) == 2
        assert await store.notifications_page(me.id, max_id=None, limit=5) == rows[:1]
        await store.mute(me.id, actor.id, NOW_MS)
        assert await store.notifications_page(me.id, max_id=None, limit=5) == []
        assert await store.unread_count(me.id) == 0


class TestSqliteModerationStore(ModerationStoreContract):
    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[SqliteStore]:
        store = SqliteStore(f"sqlite:///{tmp_path}/m.db")
        yield store
        await store.close()


class TestCachingSqliteModerationStore(ModerationStoreContract):
    """Through the caching layer (hidden authors are kept per viewer)."""

    @pytest.fixture(params=CACHING_THRESHOLDS)
    async def store(self, tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Store]:
        store = caching(SqliteStore(f"sqlite:///{tmp_path}/m.db"), threshold=request.param)
        yield store
        await store.close()


class TestPostgresModerationStore(ModerationStoreContract):
    @pytest.fixture
    async def store(self) -> AsyncIterator[PostgresStore]:
        async with pg.fresh_database_url() as url:
            store = await PostgresStore.open(url, migrate=False)
            yield store
            await store.close()
