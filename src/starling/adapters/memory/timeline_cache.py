"""In-process ``TimelineCache``: the embedded default.

Each timeline is an ``array('q')`` of ids in ascending order (8 bytes an entry plus a
small header), not a list of Python ints (~36 bytes an entry). New tweets usually carry
the largest id, so a push is an append; the rare out-of-order id is placed by bisection.
Trimming drops the oldest ids from the front.
"""

from __future__ import annotations

from array import array
from bisect import bisect_left
from collections.abc import Sequence

from starling.domain.feed import FeedRules
from starling.ports import Clock


class _Timeline:
    __slots__ = ("ids", "last_read_ms")

    def __init__(self, now_ms: int) -> None:
        self.ids = array("q")
        self.last_read_ms = now_ms


class MemoryTimelineCache:
    """Home timelines in a dict of compact id arrays, capped at ``rules.timeline_max``.

    A timeline not read for ``rules.inactive_ms`` counts as absent: push skips it and
    the next read finds nothing (and rebuilds). Not shared between processes: the
    embedded server runs API and workers in one process.
    """

    def __init__(self, rules: FeedRules, clock: Clock) -> None:
        self._rules = rules
        self._clock = clock
        self._timelines: dict[int, _Timeline] = {}

    def _present(self, user_id: int) -> _Timeline | None:
        timeline = self._timelines.get(user_id)
        if timeline is None:
            return None
        if self._clock.now_ms() - timeline.last_read_ms > self._rules.inactive_ms:
            del self._timelines[user_id]
            return None
        return timeline

    def _insert(self, ids: array[int], tweet_id: int) -> bool:
        if not ids or tweet_id > ids[-1]:
            ids.append(tweet_id)
        else:
            pos = bisect_left(ids, tweet_id)
            if pos < len(ids) and ids[pos] == tweet_id:
                return False
            if pos == 0 and len(ids) >= self._rules.timeline_max:
                return False  # older than everything in a full timeline: would be trimmed
            ids.insert(pos, tweet_id)
        overflow = len(ids) - self._rules.timeline_max
        if overflow > 0:
            del ids[:overflow]
        return True

    async def read(self, user_id: int, *, max_id: int | None, limit: int) -> list[int] | None:
        timeline = self._present(user_id)
        if timeline is None:
            return None
        timeline.last_read_ms = self._clock.now_ms()
        ids = timeline.ids
        end = len(ids) if max_id is None else bisect_left(ids, max_id)
        start = max(0, end - limit)
        page = ids[start:end].tolist()
        page.reverse()
        return page

    async def create(self, user_id: int, ids: Sequence[int]) -> None:
        timeline = self._present(user_id)
        if timeline is None:
            timeline = self._timelines[user_id] = _Timeline(self._clock.now_ms())
        await self._merge_into(timeline, ids)

    async def _merge_into(self, timeline: _Timeline, ids: Sequence[int]) -> None:
        if not ids:
            return
        merged = sorted(set(timeline.ids).union(ids))
        timeline.ids = array("q", merged[-self._rules.timeline_max :])

    async def push(self, user_ids: Sequence[int], tweet_id: int) -> int:
        written = 0
        for user_id in user_ids:
            timeline = self._present(user_id)
            if timeline is not None and self._insert(timeline.ids, tweet_id):
                written += 1
        return written

    async def merge(self, user_id: int, ids: Sequence[int]) -> None:
        timeline = self._present(user_id)
        if timeline is not None:
            await self._merge_into(timeline, ids)

    async def remove(self, user_ids: Sequence[int], tweet_ids: Sequence[int]) -> None:
        doomed = set(tweet_ids)
        for user_id in user_ids:
            timeline = self._timelines.get(user_id)
            if timeline is not None and doomed:
                timeline.ids = array("q", (i for i in timeline.ids if i not in doomed))

    async def drop(self, user_id: int) -> None:
        self._timelines.pop(user_id, None)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._timelines.clear()

    def memory_bytes(self) -> int:
        """Bytes held by the id arrays (excluding the dict): for the benchmark's report."""
        return sum(t.ids.buffer_info()[1] * t.ids.itemsize for t in self._timelines.values())

    def __len__(self) -> int:
        return len(self._timelines)
