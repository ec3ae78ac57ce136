"""The ``AccountStore`` part of the ``Store`` port (credentials by e-mail, token
revocation, password change, account deletion), on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from store_fixtures import NOW_MS, StoreFixtures

import pg
from starling.adapters.postgres.store import PostgresStore
from starling.adapters.sqlite.store import SqliteStore
from starling.domain.accounts import DeletedAccount, TokenState
from starling.domain.engagement import NO_COUNTS
from starling.domain.errors import EmailTaken, UsernameTaken
from starling.domain.events import (
    Event,
    Liked,
    TweetDeleted,
    TweetPosted,
    Unfollowed,
    decode_event,
)
from starling.domain.ids import SnowflakeGenerator
from starling.ports import Store


class AccountStoreContract(StoreFixtures):
    @pytest.fixture
    async def store(self, tmp_path: Path) -> Store:
        raise NotImplementedError

    async def test_email_addresses_are_unique_in_any_case(
        self, store: Store, ids: SnowflakeGenerator
    ) -> None:
        owner = await self.user(store, ids, "owner", email="Owner@Example.org")
        with pytest.raises(EmailTaken):
            await self.user(store, ids, "copycat", email="owner@EXAMPLE.org")
        with pytest.raises(UsernameTaken):  # both taken: the username is reported
            await self.user(store, ids, "OWNER", email="owner@example.org")
        found = await store.get_credentials_by_email("OWNER@example.ORG")
        assert found is not None
        assert found.user_id == owner.id
        assert await store.get_credentials_by_email("nobody@example.org") is None
        # Imported accounts have no address: any number of them.
        await self.user(store, ids, "imp1", email=None)
        await self.user(store, ids, "imp2", email=None)

    async def test_token_state_is_none_for_nobody_and_empty_for_a_new_user(
        self, store: Store, ids: SnowflakeGenerator
    ) -> None:
        alice = await self.user(store, ids)
        assert await store.token_state(alice.id + 1, NOW_MS) is None
        assert await store.token_state(alice.id, NOW_MS) == TokenState()

    async def test_revoked_tokens_are_listed_until_they_expire(
        self, store: Store, ids: SnowflakeGenerator
    ) -> None:
        alice = await self.user(store, ids)
        assert await store.revoke_token(alice.id, 11, NOW_MS + 1_000, NOW_MS)
        # Idempotent, and the second call tells it was revoked already.
        assert not await store.revoke_token(alice.id, 11, NOW_MS + 1_000, NOW_MS)
        await store.revoke_token(alice.id, 12, NOW_MS + 5_000, NOW_MS)
        state = await store.token_state(alice.id, NOW_MS)
        assert state is not None
        assert state.revoked == {11, 12}
        later = await store.token_state(alice.id, NOW_MS + 2_000)
        assert later is not None
        assert later.revoked == {12}

    async def test_a_password_change_moves_the_watermark_and_keeps_one_token(
        self, store: Store, ids: SnowflakeGenerator
    ) -> None:
        alice = await self.user(store, ids)
        assert await store.set_password(alice.id, "$new", revoked_below=500, kept_jti=42)
        state = await store.token_state(alice.id, NOW_MS)
        assert state == TokenState(revoked_below=500, kept_jti=42)
        assert state.allows(42)
        assert state.allows(500)
        assert not state.allows(499)
        assert await store.set_password(alice.id, "$newer", revoked_below=900, kept_jti=None)
        assert await store.token_state(alice.id, NOW_MS) == TokenState(revoked_below=900)
        found = await store.get_credentials_by_id(alice.id)
        assert found is not None
        assert found.password_hash == "$newer"
        assert not await store.set_password(alice.id + 1, "$x", revoked_below=1, kept_jti=None)

    async def test_deleting_a_user_removes_everything_and_writes_the_events(
        self, store: Store, ids: SnowflakeGenerator
    ) -> None:
        alice, bob, carol = [await self.user(store, ids) for _ in range(3)]
        for follower, followee in ((alice, bob), (carol, alice)):
            await store.follow(follower.id, followee.id, [])
        own = self.tweet_row(ids, alice)
        await store.insert_tweet(own, [])
        bobs = self.tweet_row(ids, bob)
        await store.insert_tweet(bobs, [])
        alices_retweet = self.tweet_row(ids, alice, "", retweet_of_id=bobs.id)
        await store.insert_tweet(alices_retweet, [])
        carols_retweet = self.tweet_row(ids, carol, "", retweet_of_id=own.id)
        await store.insert_tweet(carols_retweet, [])
        like = Liked(
            event_id=ids.next_id(),
            occurred_at_ms=NOW_MS,
            user_id=alice.id,
            tweet_id=bobs.id,
            author_id=bob.id,
        )
        await store.like(alice.id, bobs.id, [like])
        await store.revoke_token(alice.id, 7, NOW_MS + 1_000, NOW_MS)
        head = await store.outbox_head()
        seen: list[DeletedAccount] = []

        def events_for(deleted: DeletedAccount) -> Sequence[Event]:
            seen.append(deleted)
            return [
                TweetDeleted(event_id=ids.next_id(), occurred_at_ms=NOW_MS, tweet_id=t, author_id=a)
                for t, a in deleted.tweets
            ]

        deleted = await store.delete_user(alice.id, events_for)
        assert deleted is not None
        assert seen == [deleted]
        assert sorted(deleted.tweets) == sorted(
            [(own.id, alice.id), (alices_retweet.id, alice.id), (carols_retweet.id, carol.id)]
        )
        assert sorted(deleted.follows) == sorted([(alice.id, bob.id, 1), (carol.id, alice.id, 1)])
        assert deleted.likes == [(bobs.id, bob.id)]
        assert bobs.id in deleted.counted_tweet_ids

        assert await store.get_user(alice.id) is None
        assert await store.token_state(alice.id, NOW_MS) is None
        assert await store.get_tweets([own.id, alices_retweet.id, carols_retweet.id]) == {}
        assert (await store.tweet_counts([bobs.id])).get(bobs.id) in (None, NO_COUNTS)
        b, c = await store.get_user(bob.id), await store.get_user(carol.id)
        assert b is not None
        assert (b.followers_count, b.tweets_count) == (0, 1)
        assert c is not None
        assert (c.following_count, c.tweets_count) == (0, 0)
        written = [decode_event(r.payload) for r in await store.outbox_after(head, 100)]
        assert sorted(e.tweet_id for e in written if isinstance(e, TweetDeleted)) == sorted(
            t for t, _ in deleted.tweets
        )
        assert not any(isinstance(e, TweetPosted | Unfollowed) for e in written)
        assert await store.delete_user(alice.id, events_for) is None


class TestSqliteAccountStore(AccountStoreContract):
    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[SqliteStore]:
        store = SqliteStore(f"sqlite:///{tmp_path}/a.db")
        yield store
        await store.close()


@pytest.mark.services
class TestPostgresAccountStore(AccountStoreContract):
    WORKER_ID = 8

    @pytest.fixture
    async def store(self) -> AsyncIterator[PostgresStore]:
        async with pg.fresh_database_url() as url:
            store = await PostgresStore.open(url, migrate=False)
            yield store
            await store.close()
