"""``TTLMap``: expiry on the injected clock, bounded oldest-loaded-first eviction, the
race rule (a load that overlapped an invalidation is not kept) and hit/miss counts."""

from __future__ import annotations

import asyncio

from starling.adapters.caching.ttl_map import TTLMap
from starling.adapters.clock import ManualClock
from starling.metrics import Metrics


def make(
    clock: ManualClock, *, ttl_s: float | None = 5.0, max_entries: int = 100
) -> tuple[TTLMap[int, str], Metrics]:
    metrics = Metrics()
    kept: TTLMap[int, str] = TTLMap(
        clock=clock,
        ttl_s=ttl_s,
        max_entries=max_entries,
        lookups=metrics.reader_cache_lookups,
        kind="users",
    )
    return kept, metrics


def lookups(metrics: Metrics, result: str) -> float:
    value = metrics.registry.get_sample_value(
        "starling_reader_cache_lookups_total", {"kind": "users", "result": result}
    )
    return value or 0.0


async def load(key: int) -> str:
    return f"v{key}"


async def test_a_value_is_kept_for_the_ttl_from_the_start_of_its_load() -> None:
    clock = ManualClock(0)
    kept, metrics = make(clock)
    assert await kept.kept(1, load) == "v1"
    clock.advance(4_999)
    assert kept.get(1) == "v1"
    clock.advance(1)
    assert kept.get(1) is None
    assert len(kept) == 0  # the expired entry went on the lookup
    assert (lookups(metrics, "miss"), lookups(metrics, "hit")) == (1, 0)


async def test_the_oldest_loaded_entry_is_evicted_first_and_expired_ones_go_before() -> None:
    clock = ManualClock(0)
    kept, _ = make(clock, max_entries=3)
    for key in (1, 2, 3):
        await kept.kept(key, load)
    await kept.kept(1, load)  # a hit does not make 1 any younger
    await kept.kept(4, load)
    assert [kept.get(k) for k in (1, 2, 3, 4)] == [None, "v2", "v3", "v4"]

    clock.advance(5_000)  # all three expire; a new load reclaims them
    await kept.kept(5, load)
    assert len(kept) == 1


async def test_a_load_that_raced_an_invalidation_is_returned_but_not_kept() -> None:
    kept, _ = make(ManualClock(0))
    started, release = asyncio.Event(), asyncio.Event()

    async def slow(key: int) -> str:
        started.set()
        await release.wait()
        return "before the change"

    reading = asyncio.create_task(kept.kept(1, slow))
    await started.wait()
    kept.discard([1])  # the change commits while the load runs
    release.set()
    assert await reading == "before the change"
    assert kept.get(1) is None
    assert await kept.kept(1, load) == "v1"
    assert kept.get(1) == "v1"


async def test_kept_many_loads_only_the_misses_in_one_call_and_keeps_absent_answers() -> None:
    kept, metrics = make(ManualClock(0))
    calls: list[list[int]] = []

    async def load_many(keys: list[int]) -> dict[int, str]:
        calls.append(keys)
        return {k: f"v{k}" for k in keys if k % 2}

    assert await kept.kept_many([1, 2, 3], load_many, absent="") == {1: "v1", 3: "v3"}
    assert await kept.kept_many([3, 2, 4, 4], load_many, absent="") == {3: "v3"}
    assert calls == [[1, 2, 3], [4]]
    assert (lookups(metrics, "hit"), lookups(metrics, "miss")) == (2, 4)


async def test_without_a_ttl_entries_stay_until_evicted_and_a_ttl_of_zero_keeps_nothing() -> None:
    clock = ManualClock(0)
    forever, _ = make(clock, ttl_s=None, max_entries=2)
    for key in (1, 2):
        await forever.kept(key, load)
    clock.advance(10**12)
    assert forever.get(1) == "v1"
    await forever.kept(3, load)
    assert forever.get(1) is None

    never, _ = make(clock, ttl_s=0)
    assert not never.enabled
    await never.kept(1, load)
    assert len(never) == 0


async def test_clear_forgets_everything_and_voids_running_loads() -> None:
    kept, _ = make(ManualClock(0))
    await kept.kept(1, load)
    loading = kept.loading()
    kept.clear()
    kept.put(2, "stale", loading)
    assert (len(kept), kept.get(2)) == (0, None)
