"""Request budgets: moving windows over the ``limits`` library's storages.

A budget (``limits.RateLimitItem``: N hits per window of W seconds) is drawn from per
key (an account id, a client IP, an account name). The window is a *moving* one: a hit
is allowed while fewer than N hits fall in the last W seconds, so there is no burst of
2N at a fixed window's edge.

Each draw is ONE storage operation that both takes the hit and reports the window
(hits in it, its oldest hit): what the ``X-RateLimit-*`` and ``Retry-After`` headers
need. The ``limits`` strategy API would spend two (``hit`` then ``get_window_stats``),
which on Redis is two round trips on every read. Both storages below keep the data
layout of ``limits``' moving window, so its ``MovingWindowRateLimiter`` (``test``,
``get_window_stats``, ``clear``) works on the same keys:

- :class:`MemoryWindows` (embedded default): ``limits``' ``MemoryStorage`` with its
  moving window kept in a deque per key, trimmed on every hit. (The parent's sweep runs
  a task, and a thread hop per key, after every hit: too dear on the hot read path.)
- :class:`RedisWindows` (scale-out, ``STARLING_REDIS_URL`` set): ``limits``'
  ``RedisStorage`` plus one Lua script, so every API process draws from one budget.

Time comes from the injected :class:`~starling.ports.Clock` (milliseconds), so tests
move windows with the clock they already have.
"""

from __future__ import annotations

import logging
import math
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

import redis.asyncio
from limits import RateLimitItem
from limits.aio.storage import MemoryStorage, RedisStorage

from starling.adapters.redis import UNREACHABLE, connect
from starling.config import Settings
from starling.ports import Clock

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Window:
    """One key's moving window just after a draw: whether the hit was taken, how many
    hits the window now holds (at most the budget's amount), and the time (Unix
    seconds) of its oldest hit, which leaves the window first."""

    acquired: bool
    count: int
    oldest: float


class WindowStorage(Protocol):
    """A storage that draws one hit and reports the window in one operation."""

    async def draw(self, key: str, limit: int, expiry: int) -> Window | None:
        """Take one hit in ``key``'s window of ``expiry`` seconds unless it already
        holds ``limit`` hits; report the window after it. None: the storage cannot be
        reached (the caller then lets the request through: an outage of the limiter's
        store must not become an outage of the API)."""
        ...

    async def close(self) -> None:
        """Release connections (none for the in-process storage)."""
        ...


SWEEP_EVERY = 4_096
"""Draws between two sweeps of idle keys out of :class:`MemoryWindows`: the sweep is
O(keys), so it costs O(keys / 4,096) per draw, and an idle key lingers that long."""


class MemoryWindows(MemoryStorage):
    """``limits``' in-process storage, its moving window as a deque per key (oldest hit
    on the left) trimmed to the window on each draw; idle keys are swept every
    :data:`SWEEP_EVERY` draws. One process only: the embedded default."""

    def __init__(self, clock: Clock) -> None:
        super().__init__()
        self._clock = clock
        self._windows: dict[str, tuple[deque[float], int]] = {}
        """Key -> (hit times, window length in seconds)."""
        self._draws = 0

    def _now(self) -> float:
        return self._clock.now_ms() / 1000

    def _trimmed(self, key: str, expiry: int, now: float) -> deque[float]:
        entry = self._windows.get(key)
        if entry is None:
            hits: deque[float] = deque()
            self._windows[key] = (hits, expiry)
            return hits
        hits = entry[0]
        start = now - expiry
        while hits and hits[0] < start:
            hits.popleft()
        return hits

    def _sweep(self, now: float) -> None:
        idle = [
            k for k, (hits, expiry) in self._windows.items() if not hits or hits[-1] < now - expiry
        ]
        for key in idle:
            del self._windows[key]

    async def draw(self, key: str, limit: int, expiry: int) -> Window:
        """See :meth:`WindowStorage.draw`; no I/O, no await inside."""
        now = self._now()
        hits = self._trimmed(key, expiry, now)
        acquired = len(hits) < limit
        if acquired:
            hits.append(now)
        self._draws += 1
        if self._draws % SWEEP_EVERY == 0:
            self._sweep(now)
        return Window(acquired, len(hits), hits[0] if hits else now)

    async def acquire_entry(self, key: str, limit: int, expiry: int, amount: int = 1) -> bool:
        """``limits``' moving-window acquire, on the same deques as :meth:`draw`."""
        if amount > limit:
            return False
        now = self._now()
        hits = self._trimmed(key, expiry, now)
        if len(hits) + amount > limit:
            return False
        hits.extend([now] * amount)
        return True

    async def get_moving_window(self, key: str, limit: int, expiry: int) -> tuple[float, int]:
        """``limits``' moving-window report: (oldest hit in the window, hits in it)."""
        now = self._now()
        hits = self._trimmed(key, expiry, now)
        return (hits[0] if hits else now), len(hits)

    async def clear(self, key: str) -> None:
        self._windows.pop(key, None)
        await super().clear(key)

    async def reset(self) -> int | None:
        count = len(self._windows)
        self._windows.clear()
        await super().reset()
        return count

    async def close(self) -> None:
        """Nothing to release."""


DRAW_SCRIPT = """
-- KEYS[1]: a moving window in limits' layout: hit times (Unix seconds), newest first,
-- at most `limit` of them. ARGV: now, limit, window length in seconds.
local now = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local expiry = tonumber(ARGV[3])
local start = now - expiry
local acquired = 0
local last = redis.call('lindex', KEYS[1], limit - 1)
if not last or tonumber(last) < start then
    redis.call('lpush', KEYS[1], ARGV[1])
    redis.call('ltrim', KEYS[1], 0, limit - 1)
    redis.call('expire', KEYS[1], expiry)
    acquired = 1
end
-- Newest first: binary search for the last hit still inside the window.
local low, high = 0, redis.call('llen', KEYS[1]) - 1
local count, oldest = 0, ARGV[1]
while low <= high do
    local mid = math.floor((low + high) / 2)
    local value = redis.call('lindex', KEYS[1], mid)
    if tonumber(value) >= start then
        count, oldest = mid + 1, value
        low = mid + 1
    else
        high = mid - 1
    end
end
-- A string, not a number: Redis would truncate a Lua number to an integer.
return {acquired, count, oldest}
"""


WARN_EVERY_S = 60.0
"""Seconds between two warnings that Redis is down: one per request would flood the log."""


class RedisWindows(RedisStorage):
    """``limits``' Redis storage (redis-py client, keys under ``NAMESPACE:ratelimit:``)
    with :meth:`draw` as one script call: one round trip per draw, atomic across every
    API process sharing the Redis."""

    def __init__(self, url: str, *, namespace: str, clock: Clock) -> None:
        # The adapters' client: short timeouts and one retry, so a Redis outage costs a
        # request half a second at most before it is let through.
        self._client: redis.asyncio.Redis = connect(url)
        super().__init__(
            "async+" + url,
            implementation="redispy",
            key_prefix=f"{namespace}:ratelimit",
            # limits types its options as scalars; redis-py takes the pool we close.
            connection_pool=self._client.connection_pool,  # type: ignore[arg-type]
        )
        self._clock = clock
        self._draw = self._client.register_script(DRAW_SCRIPT)
        self._warned_at = -WARN_EVERY_S

    async def draw(self, key: str, limit: int, expiry: int) -> Window | None:
        """See :meth:`WindowStorage.draw`."""
        now = repr(self._clock.now_ms() / 1000)
        try:
            acquired, count, oldest = await self._draw(
                keys=[self.bridge.prefixed_key(key)], args=[now, limit, expiry]
            )
        except UNREACHABLE as exc:
            now_s = time.monotonic()
            if now_s - self._warned_at >= WARN_EVERY_S:
                self._warned_at = now_s
                log.warning("rate limits not applied: Redis is not reachable (%s)", exc)
            return None
        return Window(bool(acquired), int(count), float(oldest))

    async def close(self) -> None:
        """Close the client and its connection pool."""
        await self._client.aclose()


@dataclass(frozen=True, slots=True)
class Verdict:
    """The outcome of one draw from a budget: allowed or not, the budget's amount, the
    hits left in the window, when the window frees its oldest hit (Unix seconds), and
    for a refused draw the seconds until then (whole, at least 1: ``Retry-After``)."""

    allowed: bool
    limit: int
    remaining: int
    reset_at: float
    retry_after: int


class RateLimiter:
    """Draws from named budgets (``reads``, ``posts``, ... see
    :meth:`Settings.rate_budgets`) per key. Raises ``KeyError`` for an unknown budget."""

    def __init__(
        self, budgets: Mapping[str, RateLimitItem], storage: WindowStorage, clock: Clock
    ) -> None:
        self.budgets = dict(budgets)
        self.storage = storage
        self._clock = clock

    async def draw(self, budget: str, who: str) -> Verdict | None:
        """One hit of ``who`` (an opaque key such as ``u:42`` or ``ip:203.0.113.7``)
        from ``budget``; None when the storage cannot be reached."""
        item = self.budgets[budget]
        expiry = item.get_expiry()
        window = await self.storage.draw(item.key_for(budget, who), item.amount, expiry)
        if window is None:
            return None
        reset_at = window.oldest + expiry
        retry_after = 0
        if not window.acquired:
            retry_after = max(1, math.ceil(reset_at - self._clock.now_ms() / 1000))
        return Verdict(
            window.acquired, item.amount, max(0, item.amount - window.count), reset_at, retry_after
        )

    async def close(self) -> None:
        await self.storage.close()


def rate_limiter_for(settings: Settings, clock: Clock) -> RateLimiter | None:
    """The limiter ``settings`` select: None with ``rate_limits=off``; Redis-backed
    (shared by every process) when ``redis_url`` is set; else in-process."""
    if settings.rate_limits == "off":
        return None
    storage: WindowStorage
    if settings.redis_url is None:
        storage = MemoryWindows(clock)
    else:
        storage = RedisWindows(settings.redis_url, namespace=settings.redis_namespace, clock=clock)
    return RateLimiter(settings.rate_budgets(), storage, clock)
