"""Every process of a scale-out deployment mints snowflakes under its own worker id."""

from __future__ import annotations

import uuid

import redis.asyncio

import services
from starling.adapters.redis.worker_ids import allocate_worker_id, counter_key
from starling.bootstrap import build
from starling.config import load_settings
from starling.domain.ids import SEQUENCE_BITS, WORKER_BITS

REDIS_URL = f"redis://{services.SERVICES['redis']}/0"


async def test_processes_of_one_deployment_get_distinct_worker_ids() -> None:
    namespace = f"wid{uuid.uuid4().hex[:8]}"
    client = redis.asyncio.Redis.from_url(REDIS_URL)
    try:
        ids = [await allocate_worker_id(REDIS_URL, namespace=namespace) for _ in range(3)]
        assert ids == [0, 1, 2]
        # After 1,024 processes the ids come round again, within 0..1023.
        await client.set(counter_key(namespace), 1023)
        assert await allocate_worker_id(REDIS_URL, namespace=namespace) == 1023
        assert await allocate_worker_id(REDIS_URL, namespace=namespace) == 0
    finally:
        await client.delete(counter_key(namespace))
        await client.aclose()


async def test_two_apps_on_one_redis_mint_ids_under_different_workers(tmp_path: object) -> None:
    namespace = f"wid{uuid.uuid4().hex[:8]}"
    apps = []
    try:
        for n in range(2):
            settings = load_settings(
                {},
                database_url=f"sqlite:///{tmp_path}/app{n}.db",
                redis_url=REDIS_URL,
                redis_namespace=namespace,
            )
            apps.append(await build(settings, run_workers=False))
        workers = {(app.ids.next_id() >> SEQUENCE_BITS) & ((1 << WORKER_BITS) - 1) for app in apps}
        assert len(workers) == 2
    finally:
        for app in apps:
            await app.stop()
        client = redis.asyncio.Redis.from_url(REDIS_URL)
        await client.delete(counter_key(namespace))
        await client.aclose()
