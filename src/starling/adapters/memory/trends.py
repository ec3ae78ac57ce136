"""``TrendCounter`` in process memory: count-min sketches over 1-minute buckets.

Memory is bounded whatever the number of distinct hashtags: one running window sketch
(``width * depth`` ints), one baseline sketch (as many floats), at most one sparse
per-minute table per bucket of the window (each at most ``width * depth`` entries), and
a candidate set of at most ``2 * candidates`` tags. With the defaults (2048 x 4, 60
buckets, 200 candidates) that is under 10 MB in the worst case and far less in practice.

- Count-min sketch: Cormode & Muthukrishnan, "An improved data stream summary: the
  count-min sketch and its applications", J. Algorithms 55(1), 2005. An estimate never
  undercounts and overcounts by at most ``e / width`` of the window's total with
  probability ``1 - e**-depth`` (2048 x 4: 0.13 % of the total, 98 % of the time). The
  ``depth`` row hashes come from one BLAKE2b digest by double hashing (Kirsch &
  Mitzenmacher, "Less hashing, same performance", ESA 2006). The sketch is linear, so a
  minute that leaves the window is subtracted exactly.
- Heavy hitters ("top-k heap"): the tags seen in the window are kept as candidates; when
  they exceed ``2 * candidates`` the ``candidates`` heaviest (``heapq.nlargest`` by window
  estimate) are kept. A pruned tag comes back with its next use, its past counts intact
  in the sketch.
- Baseline: an exponentially weighted mean of each tag's per-minute count over the
  minutes that left the window, with half-life ``baseline_ms``, normalised by the sum of
  the weights (so a young counter is not biased towards zero). Decay is a global scale
  factor, so rolling a minute costs O(entries of that minute), not O(sketch).

Per process: the scale-out deployment uses the Redis adapter, which every API node
shares. Counts start empty when the process starts (see docs/scale-out.md).
"""

from __future__ import annotations

import heapq
from array import array
from collections.abc import Sequence
from hashlib import blake2b

from starling.domain.trends import TagCount, TrendConfig

SKETCH_WIDTH = 2048
SKETCH_DEPTH = 4

_RESCALE_BELOW = 1e-150
"""When the baseline's scale factor decays below this it is folded into the values."""


class CountMinSketch:
    """Hash positions of keys in a ``depth x width`` count-min table (module docstring).
    The tables themselves live with their owner; this class only maps keys to cells."""

    def __init__(self, width: int = SKETCH_WIDTH, depth: int = SKETCH_DEPTH) -> None:
        if width < 1 or depth < 1:
            raise ValueError("width and depth must be positive")
        self.width = width
        self.depth = depth

    @property
    def cells(self) -> int:
        return self.width * self.depth

    def cells_of(self, key: str) -> tuple[int, ...]:
        """The ``depth`` cell indexes of ``key`` in a flat table, one per row."""
        digest = blake2b(key.encode(), digest_size=16).digest()
        h1 = int.from_bytes(digest[:8], "little")
        h2 = int.from_bytes(digest[8:], "little") | 1
        w = self.width
        return tuple(row * w + (h1 + row * h2) % w for row in range(self.depth))


class MemoryTrendCounter:
    """The ``TrendCounter`` port in this process's memory (see the module docstring).

    Not thread-safe; every call runs on the event loop. A re-delivered event is counted
    again (the in-process event log re-delivers only after a failed handler).
    """

    def __init__(
        self, config: TrendConfig | None = None, sketch: CountMinSketch | None = None
    ) -> None:
        self.config = config or TrendConfig()
        self.sketch = sketch or CountMinSketch()
        self._window = array("q", bytes(8 * self.sketch.cells))
        # Baseline and weight are stored divided by _scale (true value = stored * _scale):
        # decaying everything is then one multiplication of _scale.
        self._baseline = array("d", bytes(8 * self.sketch.cells))
        self._weight = 0.0
        self._scale = 1.0
        self._minutes: dict[int, dict[int, int]] = {}
        self._head: int | None = None  # newest minute of the window
        self._first = 0  # first minute counted: nothing before it leaves the window
        self._candidates: dict[str, tuple[int, ...]] = {}
        steps = max(1.0, self.config.baseline_ms / self.config.bucket_ms)
        self._decay = 0.5 ** (1.0 / steps)

    # --- the port --------------------------------------------------------------------
    async def add(self, tweet_id: int, tags: Sequence[str], at_ms: int) -> None:
        minute = at_ms // self.config.bucket_ms
        self._advance(minute)
        assert self._head is not None
        late = minute <= self._head - self.config.window_buckets
        bucket = None if late else self._minutes.setdefault(minute, {})
        for tag in dict.fromkeys(tags):
            cells = self.sketch.cells_of(tag)
            for cell in cells:
                if bucket is None:
                    # Older than the window: part of the past, i.e. of the baseline.
                    self._baseline[cell] += 1.0 / self._scale
                else:
                    bucket[cell] = bucket.get(cell, 0) + 1
                    self._window[cell] += 1
            if bucket is not None and tag not in self._candidates:
                self._candidates[tag] = cells
                if len(self._candidates) > 2 * self.config.candidates:
                    self._prune()

    async def top(self, *, now_ms: int, limit: int) -> list[TagCount]:
        self._advance(now_ms // self.config.bucket_ms)
        counts = (
            TagCount(tag, self._window_count(cells), self._baseline_rate(cells))
            for tag, cells in self._candidates.items()
        )
        return heapq.nlargest(
            limit, (c for c in counts if c.window_count > 0), key=lambda c: c.window_count
        )

    async def close(self) -> None:
        return None

    # --- internals -------------------------------------------------------------------
    def _window_count(self, cells: tuple[int, ...]) -> int:
        return min(self._window[c] for c in cells)

    def _baseline_rate(self, cells: tuple[int, ...]) -> float:
        # Both stored values carry the same 1/_scale factor: it cancels.
        if self._weight <= 0.0:
            return 0.0
        return min(self._baseline[c] for c in cells) / self._weight

    def _prune(self) -> None:
        keep = heapq.nlargest(
            self.config.candidates,
            self._candidates.items(),
            key=lambda item: self._window_count(item[1]),
        )
        self._candidates = dict(keep)

    def _advance(self, minute: int) -> None:
        """Move the window's newest minute forward to ``minute``: each minute leaving the
        window is subtracted from the window sketch and folded into the baseline."""
        if self._head is None:
            self._head = self._first = minute
            return
        steps = minute - self._head
        if steps <= 0:
            return
        size = self.config.window_buckets
        rolled = min(steps, size)
        for step in range(1, rolled + 1):
            expired = self._head + step - size
            if expired >= self._first:  # minutes before the first were never observed
                self._roll(self._minutes.pop(expired, None))
        empty = steps - rolled
        if empty:
            # Minutes after everything counted so far: empty rolls, in closed form.
            factor = self._decay**empty  # may underflow to 0.0 after months
            added = (1.0 - factor) / (1.0 - self._decay)
            if self._scale * factor < _RESCALE_BELOW:
                # The past has decayed to nothing measurable: start the average afresh.
                self._baseline = array("d", bytes(8 * self.sketch.cells))
                self._scale, self._weight = 1.0, added
            else:
                self._scale *= factor
                self._weight += added / self._scale
        self._head = minute
        if not self._minutes:
            self._candidates.clear()

    def _roll(self, expired: dict[int, int] | None) -> None:
        """One minute passes: the baseline decays by one step, then takes in ``expired``
        (the counts of the minute leaving the window) as its newest observation."""
        self._scale *= self._decay
        if self._scale < _RESCALE_BELOW:
            scale = self._scale
            self._baseline = array("d", (v * scale for v in self._baseline))
            self._weight *= scale
            self._scale = 1.0
        self._weight += 1.0 / self._scale
        if expired:
            for cell, count in expired.items():
                self._window[cell] -= count
                self._baseline[cell] += count / self._scale
