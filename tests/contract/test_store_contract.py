"""The ``Store`` contract, run against every adapter (one contract suite per port).

A subclass provides the ``store`` fixture: an empty, migrated store.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from pathlib import Path

import pytest
from store_fixtures import CACHING_THRESHOLDS, NOW_MS, StoreFixtures, caching

from starling.adapters.sqlite.store import SqliteStore
from starling.domain.errors import UsernameTaken
from starling.domain.events import (
    Event,
    Followed,
    TweetDeleted,
    TweetPosted,
    Unfollowed,
    decode_event,
)
from starling.domain.feed import PUSH_ALL_THRESHOLD
from starling.domain.ids import SnowflakeGenerator, timestamp_ms
from starling.domain.model import Tweet, User
from starling.ports import Store


class StoreContract(StoreFixtures):
    @pytest.fixture
    async def store(self, tmp_path: Path) -> Store:
        raise NotImplementedError

    # --- helpers ---------------------------------------------------------------------
    async def tweet(
        self, store: Store, ids: SnowflakeGenerator, author: User, text: str = "hello"
    ) -> tuple[Tweet, TweetPosted]:
        tweet_id = ids.next_id()
        tweet = Tweet(
            id=tweet_id, author_id=author.id, text=text, created_at_ms=timestamp_ms(tweet_id)
        )
        event = TweetPosted(
            event_id=ids.next_id(),
            occurred_at_ms=tweet.created_at_ms,
            tweet_id=tweet_id,
            author_id=author.id,
        )
        await store.insert_tweet(tweet, [event])
        return tweet, event

    async def follow(
        self, store: Store, ids: SnowflakeGenerator, follower: User, followee: User
    ) -> bool:
        event = Followed(
            event_id=ids.next_id(),
            occurred_at_ms=NOW_MS,
            follower_id=follower.id,
            followee_id=followee.id,
        )
        return await store.follow(follower.id, followee.id, [event])

    async def events(self, store: Store, after: int = 0) -> list[Event]:
        return [decode_event(r.payload) for r in await store.outbox_after(after, 10_000)]

    async def fresh(self, store: Store, user: User) -> User:
        found = await store.get_user(user.id)
        assert found is not None
        return found

    # --- lifecycle and meta ------------------------------------------------------------
    async def test_ping_answers(self, store: Store) -> None:
        await store.ping()

    async def test_meta_keeps_the_first_value_set(self, store: Store) -> None:
        assert await store.get_meta("token_secret") is None
        assert await store.set_meta_if_absent("token_secret", "first") == "first"
        assert await store.set_meta_if_absent("token_secret", "second") == "first"
        assert await store.get_meta("token_secret") == "first"
        assert await store.set_meta_if_absent("other", "x") == "x"

    # --- users -----------------------------------------------------------------------
    async def test_a_created_user_reads_back_with_zero_counts(
        self, store: Store, ids: SnowflakeGenerator
    ) -> None:
        alice = await self.user(store, ids, "Alice", bio="hi", verified=True)
        assert alice.username == "Alice"
        assert (alice.display_name, alice.bio, alice.verified) == ("Alice", "hi", True)
        assert alice.created_at_ms == NOW_MS
        assert (alice.followers_count, alice.following_count, alice.tweets_count) == (0, 0, 0)
        assert await store.get_user(alice.id) == alice
        assert await store.get_user(alice.id + 1) is None

    async def test_usernames_are_unique_case_insensitively(
        self, store: Store, ids: SnowflakeGenerator
    ) -> None:
        alice = await self.user(store, ids, "Alice")
        for variant in ("Alice", "alice", "ALICE", "aLiCe"):
            with pytest.raises(UsernameTaken):
                await self.user(store, ids, variant)
        assert await store.get_user_by_username("Alice") == alice
        assert await self.user(store, ids, "Alice_")  # a different name is fine

    async def test_lookup_by_username_ignores_case(
        self, store: Store, ids: SnowflakeGenerator
    ) -> None:
        alice = await self.user(store, ids, "Alice")
        assert await store.get_user_by_username("aLICE") == alice
        assert await store.get_user_by_username("alic") is None
        credentials = await store.get_credentials("ALICE")
        assert credentials is not None
        assert (credentials.user_id, credentials.password_hash) == (alice.id, "$argon2id$fake")
        assert await store.get_credentials("bob") is None

    async def test_imported_users_have_no_password_hash(
        self, store: Store, ids: SnowflakeGenerator
    ) -> None:
        imported = await self.user(store, ids, "imported", password_hash=None, email=None)
        credentials = await store.get_credentials("imported")
        assert credentials is not None
        assert (credentials.user_id, credentials.password_hash) == (imported.id, None)

    async def test_get_users_is_a_batch_lookup_that_skips_missing_ids(
        self, store: Store, ids: SnowflakeGenerator
    ) -> None:
        a, b = await self.user(store, ids), await self.user(store, ids)
        found = await store.get_users([a.id, b.id, a.id, 12345])
        assert found == {a.id: a, b.id: b}
        assert await store.get_users([]) == {}
        assert await store.get_users(iter([b.id])) == {b.id: b}

    async def test_update_profile_changes_only_the_given_fields(
        self, store: Store, ids: SnowflakeGenerator
    ) -> None:
        alice = await self.user(store, ids, "alice")
        updated = await store.update_profile(alice.id, display_name="Alice A.", bio=None)
        assert updated is not None
        assert (updated.display_name, updated.bio) == ("Alice A.", "")
        updated = await store.update_profile(alice.id, display_name=None, bio="Bio ✨")
        assert updated is not None
        assert (updated.display_name, updated.bio) == ("Alice A.", "Bio ✨")
        assert await store.update_profile(alice.id, display_name=None, bio=None) == updated
        assert await store.get_user(alice.id) == updated
        assert await store.update_profile(999, display_name="x", bio="y") is None
        assert await store.update_profile(999, display_name=None, bio=None) is None

    # --- tweets ----------------------------------------------------------------------
    async def test_insert_tweet_stores_it_bumps_the_count_and_writes_its_event(
        self, store: Store, ids: SnowflakeGenerator
    ) -> None:
        alice = await self.user(store, ids)
        assert await store.outbox_head() == 0
        tweet, event = await self.tweet(store, ids, alice, "héllo #world")
        assert await store.get_tweet(tweet.id) == tweet
        assert (await self.fresh(store, alice)).tweets_count == 1
        assert await self.events(store) == [event]
        assert await store.outbox_head() > 0

    async def test_a_reply_keeps_its_references(
        self, store: Store, ids: SnowflakeGenerator
    ) -> None:
        alice = await self.user(store, ids)
        original, _ = await self.tweet(store, ids, alice)
        reply_id = ids.next_id()
        reply = Tweet(
            id=reply_id,
            author_id=alice.id,
            text="re",
            created_at_ms=timestamp_ms(reply_id),
            reply_to_tweet_id=original.id,
            quote_tweet_id=original.id,
        )
        await store.insert_tweet(reply, [])
        assert await store.get_tweet(reply_id) == reply
        assert (await self.fresh(store, alice)).tweets_count == 2

    async def test_outbox_positions_grow_in_commit_order(
        self, store: Store, ids: SnowflakeGenerator
    ) -> None:
        alice, bob = await self.user(store, ids), await self.user(store, ids)
        written: list[Event] = []
        for author in (alice, bob, alice):
            written.append((await self.tweet(store, ids, author))[1])
        assert await self.follow(store, ids, alice, bob)
        records = await store.outbox_after(0, 100)
        positions = [r.position for r in records]
        assert positions == sorted(set(positions))
        assert [decode_event(r.payload) for r in records][:3] == written
        assert isinstance(decode_event(records[3].payload), Followed)
        assert await store.outbox_head() == positions[-1]
        # Paging by position: limit, and strictly after.
        assert [r.position for r in await store.outbox_after(0, 2)] == positions[:2]
        assert [r.position for r in await store.outbox_after(positions[1], 100)] == positions[2:]
        assert await store.outbox_after(positions[-1], 100) == []

    async def test_a_tweet_with_several_events_writes_them_all_in_order(
        self, store: Store, ids: SnowflakeGenerator
    ) -> None:
        alice = await self.user(store, ids)
        tweet_id = ids.next_id()
        tweet = Tweet(id=tweet_id, author_id=alice.id, text="x", created_at_ms=NOW_MS)
        events: Sequence[Event] = [
            TweetPosted(
                event_id=ids.next_id(), occurred_at_ms=NOW_MS, tweet_id=tweet_id, author_id=alice.id
            )
            for _ in range(3)
        ]
        await store.insert_tweet(tweet, events)
        assert await self.events(store) == list(events)

    async def test_delete_tweet_removes_it_lowers_the_count_and_writes_its_event(
        self, store: Store, ids: SnowflakeGenerator
    ) -> None:
        alice = await self.user(store, ids)
        keep, _ = await self.tweet(store, ids, alice)
        doomed, _ = await self.tweet(store, ids, alice)
        head = await store.outbox_head()
        event = TweetDeleted(
            event_id=ids.next_id(), occurred_at_ms=NOW_MS, tweet_id=doomed.id, author_id=alice.id
        )
        assert await store.delete_tweet(doomed.id, [event]) is True
        assert await store.get_tweet(doomed.id) is None
        assert await store.get_tweets([keep.id, doomed.id]) == {keep.id: keep}
        assert (await self.fresh(store, alice)).tweets_count == 1
        assert await self.events(store, head) == [event]
        assert await store.tweet_ids_by_authors([alice.id], max_id=None, limit=10) == [keep.id]

    async def test_deleting_an_absent_tweet_returns_false_and_writes_nothing(
        self, store: Store, ids: SnowflakeGenerator
    ) -> None:
        alice = await self.user(store, ids)
        tweet, _ = await self.tweet(store, ids, alice)
        event = TweetDeleted(
            event_id=ids.next_id(), occurred_at_ms=NOW_MS, tweet_id=tweet.id, author_id=alice.id
        )
        assert await store.delete_tweet(tweet.id, [event])
        head = await store.outbox_head()
        again = TweetDeleted(
            event_id=ids.next_id(), occurred_at_ms=NOW_MS, tweet_id=tweet.id, author_id=alice.id
        )
        assert await store.delete_tweet(tweet.id, [again]) is False
        assert await store.delete_tweet(424242, [again]) is False
        assert await store.outbox_head() == head
        assert (await self.fresh(store, alice)).tweets_count == 0

    async def test_get_tweets_is_a_batch_lookup_that_skips_missing_ids(
        self, store: Store, ids: SnowflakeGenerator
    ) -> None:
        alice = await self.user(store, ids)
        t1, _ = await self.tweet(store, ids, alice, "one")
        t2, _ = await self.tweet(store, ids, alice, "two")
        assert await store.get_tweets([t2.id, t1.id, 5]) == {t1.id: t1, t2.id: t2}
        assert await store.get_tweets([]) == {}
        assert await store.get_tweet(5) is None

    async def test_tweet_ids_by_authors_are_newest_first_below_max_id_and_limited(
        self, store: Store, ids: SnowflakeGenerator
    ) -> None:
        alice, bob, carol = [await self.user(store, ids) for _ in range(3)]
        by: dict[int, list[int]] = {alice.id: [], bob.id: [], carol.id: []}
        for author in (alice, bob, alice, carol, bob, alice, carol):
            by[author.id].append((await self.tweet(store, ids, author))[0].id)
        both = sorted(by[alice.id] + by[bob.id], reverse=True)
        assert await store.tweet_ids_by_authors([alice.id, bob.id], max_id=None, limit=10) == both
        assert (
            await store.tweet_ids_by_authors([bob.id, alice.id], max_id=None, limit=2) == (both[:2])
        )
        assert (
            await store.tweet_ids_by_authors([alice.id, bob.id], max_id=both[1], limit=10)
            == both[2:]
        )
        assert await store.tweet_ids_by_authors([carol.id], max_id=None, limit=10) == sorted(
            by[carol.id], reverse=True
        )
        assert await store.tweet_ids_by_authors([], max_id=None, limit=10) == []
        assert await store.tweet_ids_by_authors([alice.id], max_id=None, limit=0) == []
        assert await store.tweet_ids_by_authors([424242], max_id=None, limit=10) == []

    # --- follow graph ----------------------------------------------------------------
    async def test_follow_creates_the_edge_once_and_counts_it_once(
        self, store: Store, ids: SnowflakeGenerator
    ) -> None:
        alice, bob = await self.user(store, ids), await self.user(store, ids)
        assert await self.follow(store, ids, alice, bob) is True
        head = await store.outbox_head()
        assert await self.follow(store, ids, alice, bob) is False
        assert await store.outbox_head() == head  # nothing written the second time
        assert await store.is_following(alice.id, bob.id)
        assert not await store.is_following(bob.id, alice.id)
        alice, bob = await self.fresh(store, alice), await self.fresh(store, bob)
        assert (alice.following_count, alice.followers_count) == (1, 0)
        assert (bob.following_count, bob.followers_count) == (0, 1)
        events = await self.events(store)
        assert len(events) == 1
        assert isinstance(events[0], Followed)
        assert (events[0].follower_id, events[0].followee_id) == (alice.id, bob.id)

    async def test_unfollow_removes_the_edge_once(
        self, store: Store, ids: SnowflakeGenerator
    ) -> None:
        alice, bob = await self.user(store, ids), await self.user(store, ids)
        await self.follow(store, ids, alice, bob)
        await self.follow(store, ids, bob, alice)

        def unfollowed() -> Unfollowed:
            return Unfollowed(
                event_id=ids.next_id(),
                occurred_at_ms=NOW_MS,
                follower_id=alice.id,
                followee_id=bob.id,
            )

        head = await store.outbox_head()
        first = unfollowed()
        assert await store.unfollow(alice.id, bob.id, [first]) is True
        assert await self.events(store, head) == [first]
        head = await store.outbox_head()
        assert await store.unfollow(alice.id, bob.id, [unfollowed()]) is False
        assert await store.outbox_head() == head
        assert not await store.is_following(alice.id, bob.id)
        assert await store.is_following(bob.id, alice.id)
        alice, bob = await self.fresh(store, alice), await self.fresh(store, bob)
        assert (alice.following_count, alice.followers_count) == (0, 1)
        assert (bob.following_count, bob.followers_count) == (1, 0)
        assert await store.followee_ids(alice.id) == []
        assert await store.followee_ids(bob.id) == [alice.id]

    async def test_followee_ids_are_everyone_followed(
        self, store: Store, ids: SnowflakeGenerator
    ) -> None:
        alice = await self.user(store, ids)
        others = [await self.user(store, ids) for _ in range(4)]
        for other in others[:3]:
            await self.follow(store, ids, alice, other)
        assert sorted(await store.followee_ids(alice.id)) == sorted(o.id for o in others[:3])
        assert await store.followee_ids(others[3].id) == []

    async def test_celebrity_followees_have_at_least_threshold_followers(
        self, store: Store, ids: SnowflakeGenerator
    ) -> None:
        reader = await self.user(store, ids)
        star, rising, nobody = [await self.user(store, ids) for _ in range(3)]
        fans = [await self.user(store, ids) for _ in range(3)]
        for fan in fans:
            await self.follow(store, ids, fan, star)  # star: 3 fans + reader = 4
        for fan in fans[:2]:
            await self.follow(store, ids, fan, rising)  # rising: 2 fans + reader = 3
        for followee in (star, rising, nobody):
            await self.follow(store, ids, reader, followee)
        assert sorted(await store.celebrity_followee_ids(reader.id, 3)) == sorted(
            [star.id, rising.id]
        )
        assert await store.celebrity_followee_ids(reader.id, 4) == [star.id]
        assert await store.celebrity_followee_ids(reader.id, 5) == []
        assert len(await store.celebrity_followee_ids(reader.id, 1)) == 3
        # The push-only policy's threshold: above any count, beyond 32 bits.
        assert await store.celebrity_followee_ids(reader.id, PUSH_ALL_THRESHOLD) == []
        # A celebrity someone does not follow is not in their pull set.
        assert await store.celebrity_followee_ids(fans[2].id, 3) == [star.id]

    async def test_follower_ids_after_pages_through_every_follower_once(
        self, store: Store, ids: SnowflakeGenerator
    ) -> None:
        author = await self.user(store, ids)
        followers = [await self.user(store, ids) for _ in range(10)]
        for follower in reversed(followers):
            await self.follow(store, ids, follower, author)
        seen: list[int] = []
        after = 0
        while True:
            chunk = await store.follower_ids_after(author.id, after_id=after, limit=3)
            assert len(chunk) <= 3
            if not chunk:
                break
            seen.extend(chunk)
            after = chunk[-1]
        assert seen == sorted(f.id for f in followers)
        assert await store.follower_ids_after(followers[0].id, after_id=0, limit=3) == []

    async def test_followers_and_following_pages_are_descending_below_max_id(
        self, store: Store, ids: SnowflakeGenerator
    ) -> None:
        hub = await self.user(store, ids)
        spokes = [await self.user(store, ids) for _ in range(5)]
        for spoke in spokes:
            await self.follow(store, ids, spoke, hub)
            await self.follow(store, ids, hub, spoke)
        desc = sorted((s.id for s in spokes), reverse=True)
        for page in (store.followers_page, store.following_page):
            assert await page(hub.id, max_id=None, limit=10) == desc
            assert await page(hub.id, max_id=None, limit=2) == desc[:2]
            assert await page(hub.id, max_id=desc[1], limit=2) == desc[2:4]
            assert await page(hub.id, max_id=desc[-1], limit=2) == []
        assert await store.followers_page(spokes[0].id, max_id=None, limit=10) == [hub.id]
        assert await store.following_page(spokes[0].id, max_id=None, limit=10) == [hub.id]

    # --- consumers and dead letters ----------------------------------------------------
    async def test_consumer_positions_start_at_zero_and_are_kept_per_group(
        self, store: Store
    ) -> None:
        assert await store.consumer_position("fanout") == 0
        await store.set_consumer_position("fanout", 5)
        await store.set_consumer_position("search", 2)
        await store.set_consumer_position("fanout", 9)
        assert await store.consumer_position("fanout") == 9
        assert await store.consumer_position("search") == 2
        assert await store.consumer_position("trends") == 0

    async def test_dead_letters_are_parked_listed_by_group_and_removed(self, store: Store) -> None:
        assert await store.dead_letters() == []
        await store.add_dead_letter("fanout", 3, b'{"x":1}', "ValueError('boom')", 5)
        await store.add_dead_letter("search", 4, b"garbage", "undecodable", 1)
        await store.add_dead_letter("fanout", 7, b"\x00\xff", "KeyError()", 2)
        letters = await store.dead_letters()
        assert [(d.group, d.payload, d.error, d.attempts) for d in letters] == [
            ("fanout", b'{"x":1}', "ValueError('boom')", 5),
            ("search", b"garbage", "undecodable", 1),
            ("fanout", b"\x00\xff", "KeyError()", 2),
        ]
        assert len({d.id for d in letters}) == 3
        fanout = await store.dead_letters("fanout")
        assert [d.payload for d in fanout] == [b'{"x":1}', b"\x00\xff"]
        assert await store.dead_letters("trends") == []
        await store.remove_dead_letter(fanout[0].id)
        assert [d.payload for d in await store.dead_letters()] == [b"garbage", b"\x00\xff"]
        await store.remove_dead_letter(fanout[0].id)  # already gone: no error
        assert len(await store.dead_letters()) == 2


class TestSqliteStore(StoreContract):
    @pytest.fixture
    async def store(self, tmp_path: Path) -> AsyncIterator[SqliteStore]:
        store = SqliteStore(f"sqlite:///{tmp_path}/s.db")
        yield store
        await store.close()

    async def test_the_data_survives_reopening_the_file(
        self, tmp_path: Path, ids: SnowflakeGenerator
    ) -> None:
        url = f"sqlite:///{tmp_path}/reopen.db"
        first = SqliteStore(url)
        alice = await self.user(first, ids, "alice")
        tweet, event = await self.tweet(first, ids, alice)
        await first.set_consumer_position("fanout", 1)
        await first.close()
        second = SqliteStore(url)
        try:
            reopened = await self.fresh(second, alice)
            assert (reopened.username, reopened.tweets_count) == ("alice", 1)
            assert await second.get_tweet(tweet.id) == tweet
            assert await self.events(second) == [event]
            assert await second.consumer_position("fanout") == 1
        finally:
            await second.close()


class TestCachingSqliteStore(StoreContract):
    """The contract through the caching layer: what it keeps never contradicts a write
    made through it."""

    @pytest.fixture(params=CACHING_THRESHOLDS)
    async def store(self, tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[Store]:
        store = caching(SqliteStore(f"sqlite:///{tmp_path}/s.db"), threshold=request.param)
        yield store
        await store.close()
