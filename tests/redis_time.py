"""Letting time pass for Redis keys in tests, without sleeping."""

from __future__ import annotations

import redis.asyncio


async def let_time_pass(client: redis.asyncio.Redis, namespace: str, ms: int) -> None:
    """Do to the namespace's keys what ``ms`` milliseconds of wall time would: shorten
    every TTL by ``ms``, deleting the keys whose TTL runs out. Redis's own clock cannot
    be moved, and sleeping for days is not an option; the adapter keeps no time of its
    own, so the TTL is the whole of its notion of inactivity."""
    async for key in client.scan_iter(match=f"{namespace}:*", count=1000):
        left = await client.pttl(key)
        if left < 0:  # -1: no TTL, -2: expired meanwhile
            continue
        if left <= ms:
            await client.delete(key)
        else:
            await client.pexpire(key, left - ms)
