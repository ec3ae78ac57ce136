"""Memory of the embedded timeline cache per entry, measured with ``tracemalloc``.

Fills a :class:`~starling.adapters.memory.timeline_cache.MemoryTimelineCache` with
``users`` timelines of ``entries`` ids each (8-byte snowflakes, ascending) and divides
the bytes Python allocated meanwhile (arrays, their headers, the per-user objects and
the dict) by the entries held. The benchmark's target is ≤ 16 bytes per entry.
"""

from __future__ import annotations

import asyncio
import tracemalloc

import msgspec

from starling.adapters.memory.timeline_cache import MemoryTimelineCache
from starling.domain.feed import TIMELINE_MAX, FeedRules


class _FrozenClock:
    def now_ms(self) -> int:
        return 1_700_000_000_000


class CacheMemory(msgspec.Struct, frozen=True, kw_only=True):
    """Bytes per cached entry: ``traced`` counts every allocation (the honest figure),
    ``reported`` the cache's own ``memory_bytes()`` (id arrays only)."""

    users: int
    entries_per_user: int
    traced_bytes: int
    reported_bytes: int

    @property
    def entries(self) -> int:
        return self.users * self.entries_per_user

    @property
    def bytes_per_entry(self) -> float:
        return self.traced_bytes / self.entries if self.entries else 0.0


def measure_cache_memory(
    *, users: int = 2_000, entries_per_user: int = TIMELINE_MAX
) -> CacheMemory:
    """Fill a fresh memory cache through its public port (``create`` then ``push``,
    as a rebuild and fan-out do) and measure. Deterministic ids."""

    async def fill(cache: MemoryTimelineCache) -> None:
        base = 1 << 40
        half = entries_per_user // 2
        for user in range(1, users + 1):
            await cache.create(user, [base + i * 4_096 for i in range(half, 0, -1)])
        # The newer half arrives by push, one tweet to every user at a time (fan-out).
        for i in range(half + 1, entries_per_user + 1):
            await cache.push(range(1, users + 1), base + i * 4_096)

    rules = FeedRules(timeline_max=max(entries_per_user, 1))
    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        cache = MemoryTimelineCache(rules, _FrozenClock())
        asyncio.run(fill(cache))
        after = tracemalloc.take_snapshot()
    finally:
        tracemalloc.stop()
    traced = sum(stat.size_diff for stat in after.compare_to(before, "filename"))
    return CacheMemory(
        users=users,
        entries_per_user=entries_per_user,
        traced_bytes=max(traced, 0),
        reported_bytes=cache.memory_bytes(),
    )
