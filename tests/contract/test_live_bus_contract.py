"""The ``LiveBus`` contract, run against the in-process bus and Redis pub/sub.

What a stream relies on: a subscription receives, in publish order, everything published
to its channels after ``subscribe`` returned, and nothing else; several subscriptions of
one channel each receive it; ``update`` switches channels; a wait can time out without
spoiling the subscription; ``close`` ends the iteration.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest

import services
from starling.adapters.memory.live_bus import MemoryLiveBus
from starling.adapters.redis.live_bus import RedisLiveBus
from starling.ports import BackendUnavailable, LiveBus, LiveSubscription

REDIS_URL = f"redis://{services.SERVICES['redis']}/0"
GUARD_S = 5.0
"""Failure guard for a message that should arrive (never a wait for one)."""


async def receive(subscription: LiveSubscription) -> bytes:
    async with asyncio.timeout(GUARD_S):
        return await anext(subscription)


async def receive_n(subscription: LiveSubscription, n: int) -> list[bytes]:
    return [await receive(subscription) for _ in range(n)]


class LiveBusContract:
    @pytest.fixture
    def bus(self) -> LiveBus:
        raise NotImplementedError

    async def test_a_subscriber_receives_what_is_published_after_subscribing_in_order(
        self, bus: LiveBus
    ) -> None:
        await bus.publish("user:1", b"before")  # nobody listens yet: dropped
        sub = await bus.subscribe(["user:1"])
        for i in range(20):
            await bus.publish("user:1", f"m{i}".encode())
        assert await receive_n(sub, 20) == [f"m{i}".encode() for i in range(20)]
        await sub.close()

    async def test_only_the_channels_subscribed_to_are_received(self, bus: LiveBus) -> None:
        sub = await bus.subscribe(["user:1", "author:9"])
        await bus.publish("user:2", b"not mine")
        await bus.publish("author:9", b"celebrity")
        await bus.publish("user:1", b"mine")
        # The unrelated message, published first, would arrive first: it never does.
        assert await receive_n(sub, 2) == [b"celebrity", b"mine"]
        await sub.close()

    async def test_publish_to_readers_reaches_each_listening_reader_once(
        self, bus: LiveBus
    ) -> None:
        a1 = await bus.subscribe(["user:1"])
        a2 = await bus.subscribe(["user:1", "author:3"])
        b = await bus.subscribe(["user:2"])
        other = await bus.subscribe(["user:9"])
        await bus.publish_to_readers([1, 2, 3, 4], b"tweet")
        await bus.publish("user:9", b"mine")
        assert await receive(a1) == b"tweet"
        assert await receive(a2) == b"tweet"
        assert await receive(b) == b"tweet"
        assert await receive(other) == b"mine"  # not named: nothing before its own
        # Named readers outnumbering the channels listened to, and the other way round.
        await bus.publish_to_readers(list(range(100)), b"many")
        await bus.publish_to_readers([2], b"one")
        assert await receive_n(b, 2) == [b"many", b"one"]
        assert await receive(a1) == b"many"
        for sub in (a1, a2, b, other):
            await sub.close()

    async def test_closing_one_subscription_leaves_the_others_of_its_channel(
        self, bus: LiveBus
    ) -> None:
        gone = await bus.subscribe(["user:1"])
        stays = await bus.subscribe(["user:1"])
        await gone.close()
        await bus.publish("user:1", b"still here")
        assert await receive(stays) == b"still here"
        with pytest.raises(StopAsyncIteration):
            await receive(gone)
        await stays.close()

    async def test_update_switches_channels(self, bus: LiveBus) -> None:
        sub = await bus.subscribe(["user:1"])
        await sub.update(["user:1", "author:7"])
        await bus.publish("author:7", b"followed a celebrity")
        assert await receive(sub) == b"followed a celebrity"
        await sub.update(["author:7"])
        await bus.publish("user:1", b"dropped")
        await bus.publish("author:7", b"kept")
        assert await receive(sub) == b"kept"
        await sub.close()

    async def test_a_wait_that_times_out_leaves_the_subscription_usable(self, bus: LiveBus) -> None:
        sub = await bus.subscribe(["user:1"])
        with pytest.raises(TimeoutError):
            async with asyncio.timeout(0.01):
                await anext(sub)
        await bus.publish("user:1", b"after the timeout")
        assert await receive(sub) == b"after the timeout"
        await sub.close()

    async def test_close_ends_the_iteration(self, bus: LiveBus) -> None:
        sub = await bus.subscribe(["user:1"])
        await sub.close()
        await sub.close()  # idempotent
        assert [m async for m in sub] == []


class TestMemoryLiveBus(LiveBusContract):
    @pytest.fixture
    async def bus(self) -> AsyncIterator[LiveBus]:
        bus = MemoryLiveBus()
        yield bus
        await bus.close()


@pytest.mark.services
class TestRedisLiveBus(LiveBusContract):
    @pytest.fixture
    async def bus(self) -> AsyncIterator[LiveBus]:
        services.require("redis")
        bus = RedisLiveBus.from_url(REDIS_URL, namespace=f"t{uuid.uuid4().hex[:8]}")
        yield bus
        await bus.close()

    async def test_namespaces_keep_deployments_apart(self, bus: LiveBus) -> None:
        other = RedisLiveBus.from_url(REDIS_URL, namespace=f"t{uuid.uuid4().hex[:8]}")
        try:
            sub = await bus.subscribe(["user:1"])
            await other.publish("user:1", b"other deployment")
            await bus.publish("user:1", b"ours")
            assert await receive(sub) == b"ours"
            await sub.close()
        finally:
            await other.close()

    async def test_publish_to_readers_asks_per_channel_once_many_are_listened_to(self) -> None:
        bus = RedisLiveBus.from_url(
            REDIS_URL, namespace=f"t{uuid.uuid4().hex[:8]}", scan_listened_max=1
        )
        try:
            subs = [await bus.subscribe([f"user:{i}"]) for i in range(3)]
            readers = list(range(5))
            await bus.publish_to_readers(readers, b"listed")  # lists 3 listened: more than 1
            await bus.publish_to_readers(readers, b"asked")  # so asks NUMSUB of the five
            for sub in subs:
                assert await receive_n(sub, 2) == [b"listed", b"asked"]
                await sub.close()
        finally:
            await bus.close()

    async def test_channel_names_are_namespaced_hash_tags(self) -> None:
        bus = RedisLiveBus.from_url(REDIS_URL, namespace="ns")
        assert bus.name("user:42") == b"ns:live:{user:42}"
        await bus.close()

    async def test_an_unreachable_redis_is_backend_unavailable(self) -> None:
        bus = RedisLiveBus.from_url("redis://127.0.0.1:1/0", namespace="nowhere")
        with pytest.raises(BackendUnavailable):
            await bus.publish("user:1", b"x")
        with pytest.raises(BackendUnavailable):
            await bus.subscribe(["user:1"])
        await bus.close()
