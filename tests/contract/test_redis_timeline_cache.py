"""``RedisTimelineCache``: the shared ``TimelineCache`` contract, then what is specific to
Redis (exact ordering of 63-bit ids, key layout and TTLs, round trips, an unreachable
server).

Each test works in its own key namespace (a uuid) on the Redis of ``tests/services.py``
and deletes its keys afterwards, so runs can share one Redis with other users of it.
"""

from __future__ import annotations

import random
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, ClassVar

import pytest
import redis.asyncio
from test_timeline_cache_contract import ALICE, BOB, CAROL, TimelineCacheContract

import services
from redis_time import let_time_pass
from starling.adapters.clock import ManualClock
from starling.adapters.memory.timeline_cache import MemoryTimelineCache
from starling.adapters.redis import HiredisPackingConnection, connect
from starling.adapters.redis.timeline_cache import RedisTimelineCache
from starling.domain.feed import FeedRules
from starling.domain.ids import MAX_ID, compose
from starling.ports import BackendUnavailable, TimelineCache

pytestmark = pytest.mark.services

REDIS_URL = f"redis://{services.SERVICES['redis']}/0"
INACTIVE_MS = FeedRules().inactive_ms


class CountingConnection(redis.asyncio.Connection):
    """A connection that counts the writes it sends: a pipeline or a script call is one
    write followed by its replies, so writes == round trips."""

    sent: ClassVar[int] = 0

    async def send_packed_command(self, command: Any, check_health: bool = True) -> None:
        type(self).sent += 1
        await super().send_packed_command(command, check_health)


@pytest.fixture
async def redis_client() -> AsyncIterator[redis.asyncio.Redis]:
    services.require("redis")
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    yield client
    await client.aclose()


@pytest.fixture
async def namespace(redis_client: redis.asyncio.Redis) -> AsyncIterator[str]:
    """A fresh key namespace; its keys are deleted after the test."""
    ns = f"starling-test-{uuid.uuid4().hex}"
    yield ns
    keys = [key async for key in redis_client.scan_iter(match=f"{ns}:*", count=1000)]
    if keys:
        await redis_client.delete(*keys)


class TestRedisTimelineCache(TimelineCacheContract):
    @pytest.fixture
    async def cache(self, redis_client: redis.asyncio.Redis, namespace: str) -> RedisTimelineCache:
        self.redis, self.namespace = redis_client, namespace
        return RedisTimelineCache(redis_client, self.rules, namespace=namespace)

    async def advance(self, cache: TimelineCache, clock: ManualClock, ms: int) -> None:
        clock.advance(ms)
        await let_time_pass(self.redis, self.namespace, ms)


# --- Redis specifics ---------------------------------------------------------------------


@pytest.fixture
def rules() -> FeedRules:
    return FeedRules(timeline_max=5)


@pytest.fixture
def cache(
    redis_client: redis.asyncio.Redis, namespace: str, rules: FeedRules
) -> RedisTimelineCache:
    return RedisTimelineCache(redis_client, rules, namespace=namespace)


@pytest.fixture
async def counted(namespace: str, rules: FeedRules) -> AsyncIterator[RedisTimelineCache]:
    """A cache whose client counts round trips in ``CountingConnection.sent``."""
    services.require("redis")
    connection_class = type("Counting", (CountingConnection,), {"sent": 0})
    pool = redis.asyncio.ConnectionPool.from_url(REDIS_URL, connection_class=connection_class)
    client = redis.asyncio.Redis(connection_pool=pool)
    cache = RedisTimelineCache(client, rules, namespace=namespace)
    await cache.ping()  # connect (HELLO, CLIENT SETINFO) before anything is counted
    yield cache
    await client.aclose(close_connection_pool=True)


def round_trips(cache: RedisTimelineCache) -> int:
    client: Any = cache._client
    sent: int = client.connection_pool.connection_class.sent
    return sent


async def pages(cache: RedisTimelineCache, user_id: int, size: int) -> list[int]:
    """Every id of a timeline, read ``size`` at a time following the exclusive cursor."""
    out: list[int] = []
    max_id: int | None = None
    while (page := await cache.read(user_id, max_id=max_id, limit=size)) is not None and page:
        out.extend(page)
        max_id = page[-1]
    return out


async def test_ids_of_one_millisecond_are_ordered_exactly_though_their_scores_would_tie(
    redis_client: redis.asyncio.Redis, namespace: str
) -> None:
    ms = 1_700_000_000_000
    ids = sorted(
        {compose(ms, worker, seq) for worker in (0, 1, 512, 1023) for seq in (0, 1, 2, 4095)}
        | {compose(ms - 1, 1023, 4095), compose(ms + 1, 0, 0)}
    )
    assert len({float(i) for i in ids}) < len(ids)  # as double scores, these would tie
    cache = RedisTimelineCache(redis_client, FeedRules(timeline_max=100), namespace=namespace)
    await cache.create(ALICE, ids[::2])
    for tweet_id in ids[1::2]:
        assert await cache.push([ALICE], tweet_id) == 1
    newest_first = ids[::-1]
    assert await cache.read(ALICE, max_id=None, limit=100) == newest_first
    for i, max_id in enumerate(ids):
        below = await cache.read(ALICE, max_id=max_id, limit=100)
        assert below == ids[:i][::-1], f"below {max_id}"
        assert await cache.read(ALICE, max_id=max_id + 1, limit=1) == [max_id]
    assert await pages(cache, ALICE, 3) == newest_first


async def test_ids_of_every_width_sort_numerically(
    redis_client: redis.asyncio.Redis, namespace: str
) -> None:
    ids = [0, 1, 9, 10, 99, 100, 2**53, 2**53 + 1, 10**18 - 1, 10**18, MAX_ID - 1, MAX_ID]
    assert float(10**18 - 1) == float(10**18)  # one score; "999..." > "1000..." as bytes
    cache = RedisTimelineCache(redis_client, FeedRules(timeline_max=100), namespace=namespace)
    await cache.create(ALICE, ids[::-1])
    assert await cache.read(ALICE, max_id=None, limit=100) == ids[::-1]
    assert await cache.read(ALICE, max_id=10**18, limit=2) == [10**18 - 1, 2**53 + 1]
    assert await cache.read(ALICE, max_id=2**53 + 1, limit=1) == [2**53]
    assert await cache.read(ALICE, max_id=MAX_ID + 1, limit=1) == [MAX_ID]
    assert await cache.read(ALICE, max_id=2**64, limit=1) == [MAX_ID]
    assert await cache.read(ALICE, max_id=1, limit=5) == [0]
    assert await cache.read(ALICE, max_id=0, limit=5) == []
    assert await cache.read(ALICE, max_id=-5, limit=5) == []
    assert await cache.read(ALICE, max_id=None, limit=0) == []


async def test_ids_outside_63_bits_are_refused(cache: RedisTimelineCache) -> None:
    await cache.create(ALICE, [1])
    for bad in (-1, MAX_ID + 1):
        with pytest.raises(ValueError, match="outside"):
            await cache.push([ALICE], bad)
        with pytest.raises(ValueError, match="outside"):
            await cache.create(ALICE, [5, bad])
        with pytest.raises(ValueError, match="outside"):
            await cache.merge(ALICE, [bad])
    assert await cache.read(ALICE, max_id=None, limit=10) == [1]


async def test_a_push_counts_the_timelines_that_did_not_hold_the_id(
    cache: RedisTimelineCache,
) -> None:
    await cache.create(ALICE, [10, 20, 30, 40, 50])
    await cache.create(BOB, [10, 20, 30])
    assert await cache.push([ALICE, BOB, CAROL], 25) == 2
    assert await cache.push([ALICE, ALICE, BOB], 60) == 2  # a repeat is already there
    assert await cache.push([ALICE, BOB], 5) == 2  # stored, though too old for ALICE to show
    assert await cache.read(ALICE, max_id=None, limit=10) == [60, 50, 40, 30, 25]
    assert await cache.read(BOB, max_id=None, limit=10) == [60, 30, 25, 20, 10]


async def test_pushes_trim_once_past_the_slack_and_reads_never_show_more_than_the_cap(
    redis_client: redis.asyncio.Redis, namespace: str
) -> None:
    rules = FeedRules(timeline_max=32)  # slack: 32 // 16 = 2
    cache = RedisTimelineCache(redis_client, rules, namespace=namespace)
    await cache.create(ALICE, [])
    await cache.create(BOB, [])
    sizes = []
    for tweet_id in range(1, 101):
        assert await cache.push([ALICE, BOB], tweet_id) == 2
        sizes.append(await redis_client.zcard(cache.key(ALICE)) - 1)  # minus the sentinel
        assert sizes[-1] <= 32 + 2
    assert max(sizes) == 34
    await cache.remove([BOB], [100, 99])  # must not uncover the ids past the cap
    assert await cache.read(BOB, max_id=None, limit=100) == list(range(98, 68, -1))
    assert await cache.read(ALICE, max_id=None, limit=100) == list(range(100, 68, -1))
    assert await redis_client.zcard(cache.key(ALICE)) == 33  # the read trimmed to the cap


@pytest.mark.parametrize("seed", range(12))
async def test_behaves_like_the_in_memory_cache_under_random_operations(
    redis_client: redis.asyncio.Redis, namespace: str, seed: int
) -> None:
    """A differential test: the in-memory adapter is the reference model."""
    rng = random.Random(seed)
    rules = FeedRules(timeline_max=rng.choice([1, 3, 8, 20]))
    redis_cache = RedisTimelineCache(redis_client, rules, namespace=namespace)
    memory_cache = MemoryTimelineCache(rules, ManualClock())
    users = [1, 2, 3, 4]
    ms = 1_700_000_000_000

    def some_ids(k: int) -> list[int]:
        return [
            compose(ms + rng.randrange(40), rng.randrange(2), rng.randrange(3)) for _ in range(k)
        ]

    for step in range(300):
        op = rng.choice(["create", "push", "push", "push", "merge", "remove", "drop", "read"])
        user = rng.choice(users)
        if op == "create":
            ids = some_ids(rng.randrange(0, 2 * rules.timeline_max + 2))
            await redis_cache.create(user, ids)
            await memory_cache.create(user, ids)
        elif op == "push":
            batch = rng.sample(users, rng.randrange(0, len(users) + 1))
            (tweet_id,) = some_ids(1)
            got = await redis_cache.push(batch, tweet_id)
            expected = await memory_cache.push(batch, tweet_id)
            assert got >= expected, step  # Redis also counts ids too old to be shown
        elif op == "merge":
            ids = some_ids(rng.randrange(0, rules.timeline_max + 2))
            await redis_cache.merge(user, ids)
            await memory_cache.merge(user, ids)
        elif op == "remove":
            batch = rng.sample(users, rng.randrange(0, len(users) + 1))
            ids = some_ids(rng.randrange(0, 4))
            present = await memory_cache.read(user, max_id=None, limit=1000) or []
            ids += rng.sample(present, min(len(present), rng.randrange(0, 3)))
            await redis_cache.remove(batch, ids)
            await memory_cache.remove(batch, ids)
        elif op == "drop":
            await redis_cache.drop(user)
            await memory_cache.drop(user)
        else:
            max_id = rng.choice([None, *some_ids(2)])
            limit = rng.randrange(0, rules.timeline_max + 3)
            got_page = await redis_cache.read(user, max_id=max_id, limit=limit)
            expected_page = await memory_cache.read(user, max_id=max_id, limit=limit)
            assert got_page == expected_page, step
    for user in users:
        got_all = await redis_cache.read(user, max_id=None, limit=1000)
        assert got_all == await memory_cache.read(user, max_id=None, limit=1000)


async def test_keys_are_per_user_with_the_user_id_as_hash_tag_and_expire_when_inactive(
    cache: RedisTimelineCache, redis_client: redis.asyncio.Redis, namespace: str
) -> None:
    await cache.create(ALICE, [])
    assert cache.key(ALICE) == f"{namespace}:tl:{{{ALICE}}}"
    keys = {key async for key in redis_client.scan_iter(match=f"{namespace}:*")}
    assert keys == {cache.key(ALICE).encode()}
    assert INACTIVE_MS - 60_000 < await redis_client.pttl(cache.key(ALICE)) <= INACTIVE_MS


async def test_push_merge_and_remove_create_no_keys(
    cache: RedisTimelineCache, redis_client: redis.asyncio.Redis, namespace: str
) -> None:
    assert await cache.push([ALICE, BOB], 7) == 0
    await cache.merge(ALICE, [1, 2])
    await cache.remove([ALICE, BOB], [7])
    assert await cache.read(ALICE, max_id=None, limit=1) is None
    assert [key async for key in redis_client.scan_iter(match=f"{namespace}:*")] == []


async def test_reads_renew_the_ttl_and_writes_do_not(
    cache: RedisTimelineCache, redis_client: redis.asyncio.Redis
) -> None:
    key = cache.key(ALICE)
    await cache.create(ALICE, [1])
    await redis_client.pexpire(key, 60_000)
    await cache.push([ALICE], 2)
    await cache.merge(ALICE, [3])
    await cache.remove([ALICE], [1])
    await cache.create(ALICE, [4])  # present already: a rebuild's second step, not a read
    assert 0 < await redis_client.pttl(key) <= 60_000
    assert await cache.read(ALICE, max_id=None, limit=10) == [4, 3, 2]
    assert await redis_client.pttl(key) > INACTIVE_MS - 60_000


async def test_a_timeline_emptied_by_remove_stays_present(cache: RedisTimelineCache) -> None:
    await cache.create(ALICE, [1, 2])
    await cache.remove([ALICE], [1, 2])
    assert await cache.read(ALICE, max_id=None, limit=10) == []
    assert await cache.push([ALICE], 3) == 1


async def test_long_id_lists_are_written_in_chunks(
    redis_client: redis.asyncio.Redis, namespace: str
) -> None:
    cap = 2_500  # more members than one Lua unpack() takes at once
    cache = RedisTimelineCache(redis_client, FeedRules(timeline_max=cap), namespace=namespace)
    ids = list(range(1, 3 * cap + 1))
    await cache.create(ALICE, ids)
    assert await cache.read(ALICE, max_id=None, limit=10 * cap) == ids[-cap:][::-1]
    await cache.remove([ALICE], ids[:-1])
    assert await cache.read(ALICE, max_id=None, limit=10) == [ids[-1]]


async def test_a_push_to_1000_followers_is_one_round_trip(counted: RedisTimelineCache) -> None:
    followers = list(range(1, 1001))
    present = followers[::3]
    for user_id in present:
        await counted.create(user_id, [1])
    await counted.push([followers[0]], 2)  # loads the script: EVALSHA, SCRIPT LOAD, EVALSHA
    before = round_trips(counted)
    assert await counted.push(followers, 3) == len(present)
    assert round_trips(counted) - before == 1
    assert await counted.push(followers, 3) == 0  # idempotent
    assert await counted.read(followers[1], max_id=None, limit=5) is None
    assert await counted.read(followers[3], max_id=None, limit=5) == [3, 1]


async def test_every_call_is_one_round_trip(counted: RedisTimelineCache) -> None:
    calls: list[Callable[[], Awaitable[object]]] = [
        lambda: counted.create(ALICE, list(range(1, 20))),
        lambda: counted.read(ALICE, max_id=None, limit=3),
        lambda: counted.merge(ALICE, [30, 40]),
        lambda: counted.remove(list(range(1000)), [30, 40]),
        lambda: counted.drop(ALICE),
        lambda: counted.ping(),
    ]
    for call in calls * 2:
        before = round_trips(counted)
        await call()
        # A script's first use on this Redis may cost two more (NOSCRIPT, SCRIPT LOAD).
        assert round_trips(counted) - before in (1, 3)
    for call in calls:
        before = round_trips(counted)
        await call()
        assert round_trips(counted) - before == 1


async def test_empty_batches_cost_no_round_trip(counted: RedisTimelineCache) -> None:
    before = round_trips(counted)
    assert await counted.push([], 1) == 0
    await counted.remove([], [1])
    await counted.remove([ALICE], [])
    await counted.merge(ALICE, [])
    assert round_trips(counted) == before


async def test_a_client_that_decodes_replies_is_refused() -> None:
    client = redis.asyncio.Redis.from_url(REDIS_URL, decode_responses=True)
    try:
        with pytest.raises(ValueError, match="decode_responses"):
            RedisTimelineCache(client, FeedRules())
    finally:
        await client.aclose()


async def test_an_unreachable_redis_raises_backend_unavailable_quickly() -> None:
    cache = RedisTimelineCache.from_url("redis://127.0.0.1:1/0", FeedRules())  # nothing there
    started = time.monotonic()
    try:
        with pytest.raises(BackendUnavailable):
            await cache.ping()
        with pytest.raises(BackendUnavailable):
            await cache.read(ALICE, max_id=None, limit=10)
        with pytest.raises(BackendUnavailable):
            await cache.push([ALICE, BOB], 1)
        with pytest.raises(BackendUnavailable):
            await cache.create(ALICE, [1])
    finally:
        await cache.close()
    assert time.monotonic() - started < 5  # not redis-py's default 10 retries with backoff


async def test_close_closes_only_a_client_the_cache_owns(
    redis_client: redis.asyncio.Redis, namespace: str
) -> None:
    borrowed = RedisTimelineCache(redis_client, FeedRules(), namespace=namespace)
    await borrowed.close()
    assert await redis_client.ping()
    owned = RedisTimelineCache.from_url(REDIS_URL, FeedRules(), namespace=namespace)
    await owned.create(ALICE, [1])
    assert await owned.read(ALICE, max_id=None, limit=1) == [1]
    await owned.close()


@pytest.mark.parametrize(
    "command",
    [
        ("EVALSHA", "ab" * 20, 2, "ns:tl:{1}", "ns:tl:{2}", "0000000000000000001", 800),
        ("CLIENT SETINFO", "LIB-NAME", "redis-py"),
        ("SET", b"k", bytearray(b"v"), memoryview(b"m"), 2.5, 10**20, "é"),
    ],
)
def test_the_hiredis_packer_sends_the_bytes_redis_py_would(command: tuple[Any, ...]) -> None:
    ours = HiredisPackingConnection().pack_command(*command)
    theirs = redis.asyncio.Connection().pack_command(*command)
    assert b"".join(ours) == b"".join(theirs)
    client = connect("redis://127.0.0.1:6379/0")  # connects lazily: nothing to close
    assert client.connection_pool.connection_class is HiredisPackingConnection
