"""The ``TweetCache`` contract, run against the in-process caches and Redis.

The contract is what a caller may rely on from any tweet cache: whatever comes back is
exactly what was put, under the id asked for, and invalidated tweets do not come back.
Whether anything comes back at all is the adapter's business (the null cache keeps
nothing), so the Redis class adds the round-trip guarantees.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
import redis.asyncio

import services
from starling.adapters.memory.tweet_cache import MemoryTweetCache, NullTweetCache
from starling.adapters.redis.tweet_cache import RedisTweetCache
from starling.domain.ids import MAX_ID, compose
from starling.domain.model import Tweet
from starling.ports import BackendUnavailable, TweetCache

REDIS_URL = f"redis://{services.SERVICES['redis']}/0"

FIRST = Tweet(id=compose(1_700_000_000_000, 3, 1), author_id=7, text="hello", created_at_ms=1)
SECOND = Tweet(
    id=compose(1_700_000_000_000, 3, 2),
    author_id=8,
    text="réponse 🐦 #starling @someone",
    created_at_ms=1_700_000_000_000,
    reply_to_tweet_id=compose(1_700_000_000_000, 3, 1),
    quote_tweet_id=MAX_ID,
    likes_count=3,
    retweets_count=2,
    replies_count=1,
)
NEVER_PUT = compose(1_700_000_000_001)


def tweet(tweet_id: int) -> Tweet:
    return Tweet(id=tweet_id, author_id=7, text=f"tweet {tweet_id}", created_at_ms=1)


class TweetCacheContract:
    @pytest.fixture
    def tweet_cache(self) -> TweetCache:
        raise NotImplementedError

    async def test_whatever_comes_back_is_what_was_put(self, tweet_cache: TweetCache) -> None:
        await tweet_cache.put_many([FIRST, SECOND])
        found = await tweet_cache.get_many([SECOND.id, NEVER_PUT, FIRST.id])
        assert set(found) <= {FIRST.id, SECOND.id}
        for tweet_id, tweet in found.items():
            assert tweet == {FIRST.id: FIRST, SECOND.id: SECOND}[tweet_id]

    async def test_only_the_ids_asked_for_come_back(self, tweet_cache: TweetCache) -> None:
        await tweet_cache.put_many([FIRST, SECOND])
        assert set(await tweet_cache.get_many([FIRST.id])) <= {FIRST.id}
        assert await tweet_cache.get_many([]) == {}
        assert await tweet_cache.get_many([NEVER_PUT]) == {}

    async def test_invalidated_tweets_do_not_come_back(self, tweet_cache: TweetCache) -> None:
        await tweet_cache.put_many([FIRST, SECOND])
        await tweet_cache.invalidate([FIRST.id, NEVER_PUT])
        await tweet_cache.invalidate([])
        found = await tweet_cache.get_many([FIRST.id, SECOND.id])
        assert FIRST.id not in found

    async def test_putting_nothing_and_putting_again_are_fine(
        self, tweet_cache: TweetCache
    ) -> None:
        await tweet_cache.put_many([])
        liked = Tweet(id=FIRST.id, author_id=7, text="hello", created_at_ms=1, likes_count=9)
        await tweet_cache.put_many([FIRST])
        await tweet_cache.put_many([liked])
        assert (await tweet_cache.get_many([FIRST.id])).get(FIRST.id, liked) == liked

    async def test_ping_answers(self, tweet_cache: TweetCache) -> None:
        await tweet_cache.ping()


class TestMemoryTweetCache(TweetCacheContract):
    @pytest.fixture
    def tweet_cache(self) -> MemoryTweetCache:
        return MemoryTweetCache()

    async def test_the_least_recently_used_tweet_goes_first(self) -> None:
        cache = MemoryTweetCache(max_tweets=2)
        a, b, c = tweet(1), tweet(2), tweet(3)
        await cache.put_many([a, b])
        assert await cache.get_many([1]) == {1: a}  # a is now the most recently used
        await cache.put_many([c])
        assert await cache.get_many([1, 2, 3]) == {1: a, 3: c}
        assert len(cache) == 2

    def test_a_bound_below_one_is_refused(self) -> None:
        with pytest.raises(ValueError, match="at least 1"):
            MemoryTweetCache(max_tweets=0)


class TestNullTweetCache(TweetCacheContract):
    @pytest.fixture
    def tweet_cache(self) -> NullTweetCache:
        return NullTweetCache()

    async def test_every_lookup_misses(self, tweet_cache: NullTweetCache) -> None:
        await tweet_cache.put_many([FIRST])
        assert await tweet_cache.get_many([FIRST.id]) == {}
        await tweet_cache.close()


@pytest.mark.services
class TestRedisTweetCache(TweetCacheContract):
    @pytest.fixture
    async def redis_client(self) -> AsyncIterator[redis.asyncio.Redis]:
        services.require("redis")
        client = redis.asyncio.Redis.from_url(REDIS_URL)
        yield client
        await client.aclose()

    @pytest.fixture
    async def namespace(self, redis_client: redis.asyncio.Redis) -> AsyncIterator[str]:
        ns = f"starling-test-{uuid.uuid4().hex}"
        yield ns
        keys = [key async for key in redis_client.scan_iter(match=f"{ns}:*", count=1000)]
        if keys:
            await redis_client.delete(*keys)

    @pytest.fixture
    def tweet_cache(self, redis_client: redis.asyncio.Redis, namespace: str) -> RedisTweetCache:
        return RedisTweetCache(redis_client, namespace=namespace, ttl_s=60)

    async def test_put_tweets_come_back_whole(self, tweet_cache: RedisTweetCache) -> None:
        await tweet_cache.put_many([FIRST, SECOND])
        found = await tweet_cache.get_many([SECOND.id, NEVER_PUT, FIRST.id, SECOND.id])
        assert found == {FIRST.id: FIRST, SECOND.id: SECOND}

    async def test_entries_live_for_the_ttl_under_plain_keys(
        self, tweet_cache: RedisTweetCache, redis_client: redis.asyncio.Redis, namespace: str
    ) -> None:
        await tweet_cache.put_many([FIRST])
        key = f"{namespace}:tw:{FIRST.id}"
        assert tweet_cache.key(FIRST.id) == key
        assert 55_000 < await redis_client.pttl(key) <= 60_000

    async def test_an_entry_that_does_not_decode_is_a_miss(
        self, tweet_cache: RedisTweetCache, redis_client: redis.asyncio.Redis
    ) -> None:
        await tweet_cache.put_many([SECOND])
        await redis_client.set(tweet_cache.key(FIRST.id), b"\xc1 not msgpack")
        assert await tweet_cache.get_many([FIRST.id, SECOND.id]) == {SECOND.id: SECOND}

    async def test_each_call_is_one_round_trip(
        self, redis_client: redis.asyncio.Redis, namespace: str
    ) -> None:
        sent = 0

        class Counting(redis.asyncio.Connection):
            async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
                nonlocal sent
                sent += 1
                await super().send_packed_command(command, check_health)

        pool = redis.asyncio.ConnectionPool.from_url(REDIS_URL, connection_class=Counting)
        client = redis.asyncio.Redis(connection_pool=pool)
        cache = RedisTweetCache(client, namespace=namespace)
        try:
            await cache.ping()
            tweets = [Tweet(id=i, author_id=1, text=f"t{i}", created_at_ms=i) for i in range(1, 51)]
            ids = [t.id for t in tweets]
            calls: list[tuple[Callable[[], Awaitable[object]], int]] = [
                (lambda: cache.put_many(tweets), 1),
                (lambda: cache.get_many(ids), 1),
                (lambda: cache.invalidate(ids), 1),
                (lambda: cache.get_many([]), 0),
                (lambda: cache.put_many([]), 0),
            ]
            for call, expected in calls:
                before = sent
                await call()
                assert sent - before == expected
            assert await cache.get_many([1, 2]) == {}
        finally:
            await client.aclose(close_connection_pool=True)

    async def test_a_ttl_under_a_millisecond_is_refused(
        self, redis_client: redis.asyncio.Redis
    ) -> None:
        with pytest.raises(ValueError, match="ttl"):
            RedisTweetCache(redis_client, ttl_s=0)

    async def test_an_unreachable_redis_raises_backend_unavailable(self) -> None:
        cache = RedisTweetCache.from_url("redis://127.0.0.1:1/0")  # nothing listens there
        try:
            with pytest.raises(BackendUnavailable):
                await cache.get_many([FIRST.id])
            with pytest.raises(BackendUnavailable):
                await cache.put_many([FIRST])
            with pytest.raises(BackendUnavailable):
                await cache.invalidate([FIRST.id])
            with pytest.raises(BackendUnavailable):
                await cache.ping()
        finally:
            await cache.close()
