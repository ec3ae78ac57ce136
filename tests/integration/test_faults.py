"""Fault tests on the real scale-out services: a worker killed mid fan-out, NATS
unreachable, Redis unreachable, and a poison event through the dead-letter stream.

Each test drives the real API (in this process) against PostgreSQL, Redis and NATS
JetStream, with the fan-out worker a separate OS process it can kill.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx
import pytest
import redis.asyncio

import scaleout
from conftest import FAST_ARGON2, Harness, start_harness
from starling.adapters.clock import ManualClock
from starling.adapters.postgres.bulk import PostgresBulkStore
from starling.adapters.postgres.store import PostgresStore
from starling.adapters.redis.timeline_cache import RedisTimelineCache
from starling.config import load_settings
from starling.domain.model import NewUser

FOLLOWERS = 20_000
"""Enough followers that a fan-out takes many chunks, so a kill can land in the middle."""

FAULT_SETTINGS: dict[str, Any] = {
    "celebrity_threshold": 10 * FOLLOWERS,  # everyone is pushed
    "fanout_chunk_size": 200,
    "nats_ack_wait_s": 2,  # a killed worker's message comes back after 2 s
    "max_deliver": 2,
    **FAST_ARGON2,
}


@pytest.fixture(scope="module")
def deployment() -> Iterator[scaleout.Deployment]:
    with scaleout.deployment(**FAULT_SETTINGS) as deployed:
        yield deployed


@pytest.fixture
async def api(deployment: scaleout.Deployment) -> AsyncIterator[Harness]:
    harness = await start_harness(
        load_settings(deployment.env),
        ManualClock(),
        run_workers=False,
        worker_metrics_urls=[deployment.worker_metrics_url],
    )
    try:
        yield harness
    finally:
        await harness.close()


async def _writes(metrics_url: str) -> float:
    async with httpx.AsyncClient() as client:
        text = (await client.get(metrics_url)).text
    for line in text.splitlines():
        if line.startswith("starling_fanout_timeline_writes_total "):
            return float(line.split()[-1])
    return 0.0


async def _bulk_followers(api: Harness, author_id: int, count: int) -> list[int]:
    """``count`` imported users who follow ``author_id`` and have a present (cached)
    home timeline: written with COPY, not through the API, to keep the test quick."""
    store = api.core.store.inner
    assert isinstance(store, PostgresStore)
    base = author_id + 1
    users = [
        NewUser(
            id=base + i,
            username=f"f{author_id % 10**6}_{i}",
            display_name=f"Follower {i}",
            email=None,
            password_hash=None,
            created_at_ms=0,
        )
        for i in range(count)
    ]
    bulk = PostgresBulkStore(store.engine)
    await bulk.bulk_insert_users(users)
    await bulk.bulk_insert_follows([(u.id, author_id, 0) for u in users])
    await bulk.recount()
    ids = [u.id for u in users]
    for start in range(0, count, 50):
        await asyncio.gather(*(api.core.cache.create(i, ()) for i in ids[start : start + 50]))
    return ids


async def _timelines_holding(api: Harness, user_ids: list[int], tweet_id: int) -> int:
    held = 0
    for start in range(0, len(user_ids), 50):
        pages = await asyncio.gather(
            *(api.core.cache.read(u, max_id=None, limit=5) for u in user_ids[start : start + 50])
        )
        held += sum(1 for page in pages if page is not None and page.count(tweet_id) == 1)
    return held


async def test_worker_killed_mid_fanout_delivers_exactly_once_after_restart(
    deployment: scaleout.Deployment, api: Harness
) -> None:
    author = await api.register()
    followers = await _bulk_followers(api, author.id, FOLLOWERS)
    metrics_url = deployment.worker_metrics_url
    before = await _writes(metrics_url)

    tweet_id = await api.post(author, "to twenty thousand timelines")
    async with asyncio.timeout(60):
        while (written := await _writes(metrics_url) - before) == 0:  # noqa: ASYNC110 - another process
            await asyncio.sleep(0.005)  # polling the worker's progress, to kill it mid-way
    deployment.kill_worker()
    assert 0 < written < FOLLOWERS, "the kill should land in the middle of the fan-out"

    deployment.start_worker()
    api.worker_metrics_urls = [deployment.worker_metrics_url]
    await api.core.event_log.drain(timeout_s=60)

    assert await _timelines_holding(api, followers, tweet_id) == FOLLOWERS


async def test_posts_commit_while_nats_is_unreachable_and_are_delivered_later(
    deployment: scaleout.Deployment, api: Harness
) -> None:
    author, reader = await api.register(), await api.register()
    await api.follow(reader, author)
    await api.home_ids(reader)  # a present cached timeline
    offline = await start_harness(
        load_settings({**deployment.env, "STARLING_NATS_URL": "nats://127.0.0.1:1"}),
        ManualClock(),
        run_workers=False,
    )
    try:
        r = await offline.client.post(
            "/api/starling/v1/tweets",
            json={"text": "posted while NATS is away"},
            headers=author.headers,
        )
        assert r.status_code == 201
        tweet_id = int(r.json()["id"])
        assert (await offline.client.get("/readyz")).json()["checks"]["event_log"] != "ok"
    finally:
        await offline.close()

    await api.core.event_log.drain(timeout_s=30)  # a process that reaches NATS relays it

    assert await api.core.cache.read(reader.id, max_id=None, limit=5) == [tweet_id]


async def test_home_timeline_is_served_by_pull_when_redis_is_unreachable(
    deployment: scaleout.Deployment, api: Harness
) -> None:
    author, reader = await api.register(), await api.register()
    await api.follow(reader, author)
    posted = [await api.post(author, f"tweet {i}") for i in range(3)]
    await api.core.event_log.drain(timeout_s=30)
    degraded = await start_harness(
        load_settings({**deployment.env, "STARLING_REDIS_URL": "redis://127.0.0.1:1/0"}),
        ManualClock(),
        run_workers=False,
    )
    try:
        assert await degraded.home_ids(reader, limit=2) == posted[::-1]
        ready = await degraded.client.get("/readyz")
        assert ready.status_code == 503
        assert ready.json()["checks"]["timeline_cache"] != "ok"
        assert ready.json()["checks"]["database"] == "ok"
        assert await degraded.metric("starling_timeline_reads_total", 'source="store"') >= 1
    finally:
        await degraded.close()


async def test_poison_event_is_dead_lettered_and_replayed_after_the_fix(
    deployment: scaleout.Deployment, api: Harness
) -> None:
    author, reader = await api.register(), await api.register()
    await api.follow(reader, author)
    await api.home_ids(reader)
    cache = api.core.cache
    assert isinstance(cache, RedisTimelineCache)
    client = redis.asyncio.Redis.from_url(scaleout.REDIS_URL)
    try:
        # Corrupt data: the reader's timeline key holds a string, so every push fails.
        await client.set(cache.key(reader.id), "not a sorted set")
        tweet_id = await api.post(author, "meets a corrupt timeline")
        await api.core.event_log.drain(timeout_s=30)
        letters = await api.core.event_log.dead_letters()
        assert [letter.group for letter in letters] == ["fanout"]

        await client.delete(cache.key(reader.id))  # the fix
        await cache.create(reader.id, ())
        replay = deployment.cli("dlq", "replay")
        assert replay.returncode == 0, replay.stderr
        assert "replayed 1" in replay.stdout

        assert await api.core.event_log.dead_letters() == []
        assert await cache.read(reader.id, max_id=None, limit=5) == [tweet_id]
    finally:
        await client.aclose()
