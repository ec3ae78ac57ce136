"""The ``TimelineCache`` contract, run against every adapter (one contract suite per port).

A subclass provides the ``cache`` fixture, built with :attr:`TimelineCacheContract.rules`
and the ``clock`` fixture. Inactivity tests let time pass through :meth:`advance`; an
adapter that keeps time elsewhere (Redis TTLs) overrides it.
"""

from __future__ import annotations

import tracemalloc

import pytest

from starling.adapters.clock import ManualClock
from starling.adapters.memory.timeline_cache import MemoryTimelineCache
from starling.domain.feed import FeedRules
from starling.domain.ids import compose
from starling.ports import TimelineCache

ALICE, BOB, CAROL = 101, 102, 103


class TimelineCacheContract:
    rules = FeedRules(timeline_max=5, inactive_days=7)
    inactive_ms = rules.inactive_ms

    @pytest.fixture
    def cache(self, clock: ManualClock) -> TimelineCache:
        raise NotImplementedError

    async def advance(self, cache: TimelineCache, clock: ManualClock, ms: int) -> None:
        """Let ``ms`` milliseconds pass as far as ``cache`` can tell."""
        clock.advance(ms)

    async def all_ids(self, cache: TimelineCache, user_id: int) -> list[int] | None:
        return await cache.read(user_id, max_id=None, limit=1000)

    # --- presence ------------------------------------------------------------------------
    async def test_a_timeline_never_created_reads_as_absent(self, cache: TimelineCache) -> None:
        assert await cache.read(ALICE, max_id=None, limit=10) is None

    async def test_create_makes_a_timeline_present_even_without_ids(
        self, cache: TimelineCache
    ) -> None:
        await cache.create(ALICE, [])
        assert await cache.read(ALICE, max_id=None, limit=10) == []
        assert await cache.read(BOB, max_id=None, limit=10) is None

    # --- reads -----------------------------------------------------------------------
    async def test_reads_are_newest_first_whatever_the_insertion_order(
        self, cache: TimelineCache
    ) -> None:
        await cache.create(ALICE, [30, 10, 50, 20, 40])
        assert await cache.read(ALICE, max_id=None, limit=10) == [50, 40, 30, 20, 10]
        assert await cache.read(ALICE, max_id=None, limit=2) == [50, 40]

    async def test_max_id_is_exclusive_and_pages_cover_everything_once(
        self, cache: TimelineCache
    ) -> None:
        await cache.create(ALICE, [10, 20, 30, 40, 50])
        assert await cache.read(ALICE, max_id=40, limit=10) == [30, 20, 10]
        assert await cache.read(ALICE, max_id=41, limit=2) == [40, 30]
        assert await cache.read(ALICE, max_id=10, limit=10) == []
        pages: list[int] = []
        max_id: int | None = None
        while True:
            page = await cache.read(ALICE, max_id=max_id, limit=2)
            assert page is not None
            if not page:
                break
            pages.extend(page)
            max_id = page[-1]
        assert pages == [50, 40, 30, 20, 10]

    async def test_real_snowflake_ids_round_trip(self, cache: TimelineCache) -> None:
        ids = [compose(1_700_000_000_000 + i, 1023, 4095) for i in range(3)]
        await cache.create(ALICE, ids)
        assert await cache.read(ALICE, max_id=None, limit=10) == ids[::-1]

    # --- the cap ---------------------------------------------------------------------
    async def test_create_keeps_only_the_newest_timeline_max_ids(
        self, cache: TimelineCache
    ) -> None:
        await cache.create(ALICE, list(range(1, 9)))
        assert await self.all_ids(cache, ALICE) == [8, 7, 6, 5, 4]

    async def test_push_beyond_the_cap_drops_the_oldest(self, cache: TimelineCache) -> None:
        await cache.create(ALICE, [1, 2, 3, 4, 5])
        assert await cache.push([ALICE], 6) == 1
        assert await cache.push([ALICE], 7) == 1
        assert await self.all_ids(cache, ALICE) == [7, 6, 5, 4, 3]

    async def test_an_id_older_than_a_full_timeline_is_not_kept(self, cache: TimelineCache) -> None:
        await cache.create(ALICE, [10, 20, 30, 40, 50])
        await cache.push([ALICE], 5)
        await cache.merge(ALICE, [1, 2])
        assert await self.all_ids(cache, ALICE) == [50, 40, 30, 20, 10]

    async def test_merge_beyond_the_cap_keeps_the_newest(self, cache: TimelineCache) -> None:
        await cache.create(ALICE, [10, 30, 50])
        await cache.merge(ALICE, [20, 40, 60, 5])
        assert await self.all_ids(cache, ALICE) == [60, 50, 40, 30, 20]

    # --- push ------------------------------------------------------------------------
    async def test_push_writes_only_into_present_timelines_and_counts_them(
        self, cache: TimelineCache
    ) -> None:
        await cache.create(ALICE, [])
        await cache.create(CAROL, [1])
        assert await cache.push([ALICE, BOB, CAROL], 7) == 2
        assert await self.all_ids(cache, ALICE) == [7]
        assert await self.all_ids(cache, BOB) is None
        assert await self.all_ids(cache, CAROL) == [7, 1]
        assert await cache.push([], 8) == 0

    async def test_push_is_idempotent(self, cache: TimelineCache) -> None:
        await cache.create(ALICE, [1])
        assert await cache.push([ALICE], 7) == 1
        assert await cache.push([ALICE], 7) == 0
        assert await cache.push([ALICE], 1) == 0
        assert await self.all_ids(cache, ALICE) == [7, 1]

    async def test_an_out_of_order_push_lands_in_its_place(self, cache: TimelineCache) -> None:
        await cache.create(ALICE, [10, 30])
        assert await cache.push([ALICE], 20) == 1
        assert await cache.push([ALICE], 5) == 1
        assert await self.all_ids(cache, ALICE) == [30, 20, 10, 5]
        assert await cache.read(ALICE, max_id=30, limit=1) == [20]

    # --- merge, remove, drop ---------------------------------------------------------
    async def test_merge_into_an_absent_timeline_does_nothing(self, cache: TimelineCache) -> None:
        await cache.merge(ALICE, [1, 2, 3])
        assert await self.all_ids(cache, ALICE) is None

    async def test_merge_is_a_union_with_what_is_there(self, cache: TimelineCache) -> None:
        await cache.create(ALICE, [10, 30])
        await cache.merge(ALICE, [20, 30])
        await cache.merge(ALICE, [])
        assert await self.all_ids(cache, ALICE) == [30, 20, 10]

    async def test_remove_takes_ids_out_of_every_given_timeline(self, cache: TimelineCache) -> None:
        await cache.create(ALICE, [1, 2, 3])
        await cache.create(BOB, [2, 3, 4])
        await cache.create(CAROL, [2, 3])
        await cache.remove([ALICE, BOB, 999], [2, 4, 77])
        assert await self.all_ids(cache, ALICE) == [3, 1]
        assert await self.all_ids(cache, BOB) == [3]
        assert await self.all_ids(cache, CAROL) == [3, 2]  # not named: untouched
        assert await self.all_ids(cache, 999) is None  # removing creates nothing
        await cache.remove([ALICE], [])
        assert await self.all_ids(cache, ALICE) == [3, 1]

    async def test_a_removed_id_can_come_back(self, cache: TimelineCache) -> None:
        await cache.create(ALICE, [1, 2])
        await cache.remove([ALICE], [2])
        assert await cache.push([ALICE], 2) == 1
        assert await self.all_ids(cache, ALICE) == [2, 1]

    async def test_drop_forgets_a_timeline_and_push_skips_it(self, cache: TimelineCache) -> None:
        await cache.create(ALICE, [1, 2])
        await cache.create(BOB, [1])
        await cache.drop(ALICE)
        await cache.drop(CAROL)  # absent: no error
        assert await self.all_ids(cache, ALICE) is None
        assert await cache.push([ALICE, BOB], 3) == 1
        assert await self.all_ids(cache, ALICE) is None
        assert await self.all_ids(cache, BOB) == [3, 1]

    async def test_create_merges_with_ids_pushed_during_a_rebuild(
        self, cache: TimelineCache
    ) -> None:
        # The rebuild protocol: create empty (present: pushes land), query, create again.
        await cache.create(ALICE, [])
        assert await cache.push([ALICE], 90) == 1
        await cache.create(ALICE, [10, 20, 30])
        assert await self.all_ids(cache, ALICE) == [90, 30, 20, 10]
        await cache.create(ALICE, [20, 40])
        assert await self.all_ids(cache, ALICE) == [90, 40, 30, 20, 10]

    # --- inactivity ------------------------------------------------------------------
    async def test_a_timeline_not_read_for_the_inactive_period_is_absent(
        self, cache: TimelineCache, clock: ManualClock
    ) -> None:
        await cache.create(ALICE, [1, 2])
        await cache.create(BOB, [1, 2])
        await self.advance(cache, clock, self.inactive_ms + 1000)
        assert await cache.push([ALICE, BOB], 3) == 0
        assert await self.all_ids(cache, ALICE) is None
        await cache.merge(BOB, [4])
        assert await self.all_ids(cache, BOB) is None

    async def test_reading_renews_the_lease(self, cache: TimelineCache, clock: ManualClock) -> None:
        await cache.create(ALICE, [1])
        for _ in range(3):
            await self.advance(cache, clock, self.inactive_ms - 1000)
            assert await cache.read(ALICE, max_id=None, limit=1) == [1]
        assert await cache.push([ALICE], 2) == 1
        assert await self.all_ids(cache, ALICE) == [2, 1]

    async def test_being_pushed_to_is_not_activity(
        self, cache: TimelineCache, clock: ManualClock
    ) -> None:
        await cache.create(ALICE, [1])
        await self.advance(cache, clock, self.inactive_ms // 2)
        assert await cache.push([ALICE], 2) == 1
        await self.advance(cache, clock, self.inactive_ms // 2 + 1000)
        assert await cache.push([ALICE], 3) == 0
        assert await self.all_ids(cache, ALICE) is None

    async def test_an_expired_timeline_can_be_rebuilt(
        self, cache: TimelineCache, clock: ManualClock
    ) -> None:
        await cache.create(ALICE, [1, 2])
        await self.advance(cache, clock, self.inactive_ms + 1000)
        await cache.create(ALICE, [5])
        assert await self.all_ids(cache, ALICE) == [5]  # the stale entries are gone
        assert await cache.push([ALICE], 6) == 1

    async def test_ping_answers(self, cache: TimelineCache) -> None:
        await cache.ping()


class TestMemoryTimelineCache(TimelineCacheContract):
    @pytest.fixture
    def cache(self, clock: ManualClock) -> MemoryTimelineCache:
        return MemoryTimelineCache(self.rules, clock)

    async def test_800_entries_for_1000_users_take_at_most_16_bytes_an_entry(
        self, clock: ManualClock
    ) -> None:
        users, entries = 1000, 800
        cache = MemoryTimelineCache(FeedRules(timeline_max=entries), clock)
        base = compose(1_700_000_000_000)
        ids = [base + 4096 * i for i in range(entries)]
        tracemalloc.start()
        try:
            before = tracemalloc.get_traced_memory()[0]
            for user_id in range(users):
                await cache.create(user_id, ids)
            held = tracemalloc.get_traced_memory()[0] - before
        finally:
            tracemalloc.stop()
        assert len(cache) == users
        assert await cache.read(999, max_id=None, limit=1) == [ids[-1]]
        assert 8 * users * entries <= cache.memory_bytes() <= 16 * users * entries
        assert held <= 16 * users * entries  # everything: arrays, dict, per-user objects

    async def test_close_forgets_every_timeline(self, cache: MemoryTimelineCache) -> None:
        await cache.create(ALICE, [1])
        await cache.close()
        assert len(cache) == 0
        assert await cache.read(ALICE, max_id=None, limit=1) is None
