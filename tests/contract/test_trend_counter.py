"""The ``TrendCounter`` contract, run against the in-memory count-min counter and Redis,
with time series replayed at chosen timestamps (the counters take time from the caller,
so nothing here waits or reads a clock)."""

from __future__ import annotations

import itertools
import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio

import services
from starling.adapters.memory.trends import MemoryTrendCounter
from starling.adapters.redis.trends import RedisTrendCounter
from starling.domain.ids import compose
from starling.domain.trends import TrendConfig, rank
from starling.ports import TrendCounter

REDIS_URL = f"redis://{services.SERVICES['redis']}/0"
MINUTE = 60_000
HOUR = 60 * MINUTE
T0 = 1_700_000_000_000 // HOUR * HOUR  # on an hour boundary: buckets line up with the series


class TrendCounterContract:
    _sequence = itertools.count()

    @pytest.fixture
    def counter(self) -> TrendCounter:
        raise NotImplementedError

    async def tweet(self, counter: TrendCounter, at_ms: int, *tags: str) -> int:
        tweet_id = compose(at_ms, 1, next(self._sequence) % 4096)
        await counter.add(tweet_id, list(tags), at_ms)
        return tweet_id

    async def test_a_rising_tag_beats_an_always_frequent_one(self, counter: TrendCounter) -> None:
        # Four hours of "always" at 2 tweets a minute; "rising" appears in the last 30
        # minutes at 1 a minute; "faded" was busy three hours ago and stopped.
        for minute in range(4 * 60):
            at = T0 + minute * MINUTE
            await self.tweet(counter, at, "always")
            await self.tweet(counter, at + 30_000, "always")
            if minute >= 4 * 60 - 30:
                await self.tweet(counter, at + 10_000, "rising")
            if 30 <= minute < 60:
                await self.tweet(counter, at + 20_000, "faded", "faded")
        now = T0 + 4 * HOUR - 1
        counts = {c.tag: c for c in await counter.top(now_ms=now, limit=50)}

        assert counts["always"].window_count == 120
        assert counts["rising"].window_count == 30
        assert "faded" not in counts
        assert 1.6 <= counts["always"].baseline_per_minute <= 2.4
        assert counts["rising"].baseline_per_minute == pytest.approx(0.0, abs=0.05)
        trends = rank(counts.values(), TrendConfig(), 10)
        assert [t.tag for t in trends] == ["rising", "always"]
        assert trends[0].tweet_volume == 30

    async def test_the_window_holds_the_last_hour_only(self, counter: TrendCounter) -> None:
        for i in range(5):
            await self.tweet(counter, T0 + i * MINUTE, "brief", "other")
        at_30 = {c.tag: c.window_count for c in await counter.top(now_ms=T0 + 30 * MINUTE, limit=5)}
        assert at_30 == {"brief": 5, "other": 5}
        assert await counter.top(now_ms=T0 + 2 * HOUR, limit=5) == []

    async def test_the_heaviest_tags_come_first_and_limit_applies(
        self, counter: TrendCounter
    ) -> None:
        for n, tag in enumerate(("one", "two", "three", "four"), start=1):
            for i in range(n):
                await self.tweet(counter, T0 + i * MINUTE, tag)
        top = await counter.top(now_ms=T0 + 10 * MINUTE, limit=2)
        assert [(c.tag, c.window_count) for c in top] == [("four", 4), ("three", 3)]

    async def test_old_timestamps_count_when_they_happened(self, counter: TrendCounter) -> None:
        october_2012 = 1_350_000_000_000
        for i in range(4):
            await self.tweet(counter, october_2012 + i * MINUTE, "sandy")
        top = await counter.top(now_ms=october_2012 + 10 * MINUTE, limit=5)
        assert [(c.tag, c.window_count) for c in top] == [("sandy", 4)]


class TestMemoryTrendCounter(TrendCounterContract):
    @pytest.fixture
    def counter(self) -> TrendCounter:
        return MemoryTrendCounter(TrendConfig())

    async def test_memory_stays_bounded_by_the_candidate_cap(self) -> None:
        counter = MemoryTrendCounter(TrendConfig(candidates=20))
        for i in range(1_000):
            await counter.add(i, [f"tag{i}", "steady"], T0 + (i % 50) * MINUTE)
        assert len(await counter.top(now_ms=T0 + 50 * MINUTE, limit=1_000)) <= 40
        top = await counter.top(now_ms=T0 + 50 * MINUTE, limit=1)
        assert [(c.tag, c.window_count) for c in top] == [("steady", 1_000)]

    async def test_a_gap_of_months_resets_the_baseline_without_error(self) -> None:
        counter = MemoryTrendCounter(TrendConfig())
        await counter.add(1, ["old"], T0)
        await counter.add(2, ["new"], T0 + 200 * 24 * HOUR)
        top = await counter.top(now_ms=T0 + 200 * 24 * HOUR + MINUTE, limit=5)
        assert [(c.tag, c.window_count) for c in top] == [("new", 1)]
        assert top[0].baseline_per_minute == pytest.approx(0.0, abs=1e-9)


@pytest.mark.services
class TestRedisTrendCounter(TrendCounterContract):
    @pytest.fixture
    async def redis_client(self) -> AsyncIterator[redis.asyncio.Redis]:
        services.require("redis")
        client = redis.asyncio.Redis.from_url(REDIS_URL)
        yield client
        await client.aclose()

    @pytest.fixture
    async def namespace(self, redis_client: redis.asyncio.Redis) -> AsyncIterator[str]:
        ns = f"test-trends-{uuid.uuid4().hex[:12]}"
        yield ns
        keys = [key async for key in redis_client.scan_iter(match=f"{ns}:*", count=1000)]
        if keys:
            await redis_client.delete(*keys)

    @pytest.fixture
    def counter(self, redis_client: redis.asyncio.Redis, namespace: str) -> TrendCounter:
        return RedisTrendCounter(redis_client, namespace=namespace, config=TrendConfig())

    async def test_a_redelivered_tweet_is_counted_once(self, counter: TrendCounter) -> None:
        tweet_id = compose(T0, 1, 1)
        for _ in range(3):
            await counter.add(tweet_id, ["again"], T0)
        top = await counter.top(now_ms=T0 + MINUTE, limit=5)
        assert [(c.tag, c.window_count) for c in top] == [("again", 1)]

    async def test_scratch_keys_do_not_outlive_a_read(
        self, counter: TrendCounter, redis_client: redis.asyncio.Redis, namespace: str
    ) -> None:
        await self.tweet(counter, T0, "x")
        await counter.top(now_ms=T0 + MINUTE, limit=5)
        keys = [k async for k in redis_client.scan_iter(match=f"{namespace}:*tmp*")]
        assert keys == []
