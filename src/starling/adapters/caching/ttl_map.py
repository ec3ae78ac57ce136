"""``TTLMap``: the one per-process cache type of the caching store.

A bounded map of loaded values that expire a TTL after their load began (on the injected
:class:`~starling.ports.Clock`, so tests move time by hand), with hit and miss counts per
``kind`` label and an epoch that keeps a load which raced an invalidation out of the map.
No library was taken for it: ``cachetools.TTLCache`` reads its own timer and evicts least
recently used, and neither it nor the others know the race rule; the feed workload needs
only what is below.

Eviction is oldest-loaded first. With one TTL for all entries the oldest-loaded entry is
the one nearest expiry, so this is what LRU would evict minus the entries LRU would keep
only to see them expire, and expired entries at the front are reclaimed in O(1) as new
ones come in.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Iterable, Mapping
from typing import Final, Generic, NamedTuple, TypeVar

from prometheus_client import Counter

from starling.ports import Clock

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_NEVER: Final = 2**63
"""Expiry of the entries of a map without a TTL."""


class Loading(NamedTuple):
    """When a load began, for :meth:`TTLMap.put`: the map's epoch and the clock (ms)."""

    epoch: int
    at_ms: int


class TTLMap(Generic[K, V]):
    """Values (never None) by key, each kept ``ttl_s`` seconds from the start of its load
    (None: until evicted; 0: nothing is kept, every lookup loads), at most
    ``max_entries`` of them.

    Lookups count in ``lookups`` (a counter labelled ``kind`` and ``result``, hit or
    miss). Every :meth:`discard` or :meth:`clear` bumps the epoch, and a value whose load
    began under an older epoch is returned to its caller but not kept: it may predate the
    change that was invalidated.
    """

    def __init__(
        self,
        *,
        clock: Clock,
        ttl_s: float | None,
        max_entries: int,
        lookups: Counter,
        kind: str,
    ) -> None:
        self._clock = clock
        self._ttl_ms = None if ttl_s is None else round(ttl_s * 1000)
        self._max = max_entries
        self._entries: OrderedDict[K, tuple[V, int]] = OrderedDict()
        self._epoch = 0
        self._hit = lookups.labels(kind=kind, result="hit")
        self._miss = lookups.labels(kind=kind, result="miss")

    @property
    def enabled(self) -> bool:
        """False when the TTL is 0 (nothing is kept)."""
        return self._ttl_ms != 0

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: K) -> V | None:
        """The value of ``key`` while it is fresh, else None (an expired entry is dropped).
        Not counted as a lookup."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[1] <= self._clock.now_ms():
            del self._entries[key]
            return None
        return entry[0]

    def loading(self) -> Loading:
        """Mark the start of a load whose result goes to :meth:`put`."""
        return Loading(self._epoch, self._clock.now_ms())

    def put(self, key: K, value: V, loading: Loading) -> None:
        """Keep ``value`` (loaded since ``loading``) under ``key``, unless the map is
        disabled or was invalidated since the load began."""
        if self._ttl_ms == 0 or loading.epoch != self._epoch:
            return
        entries = self._entries
        entries.pop(key, None)  # re-inserted last: the newest-loaded end
        now = self._clock.now_ms()
        while entries:
            oldest = next(iter(entries))
            if entries[oldest][1] > now and len(entries) < self._max:
                break
            del entries[oldest]
        expires = _NEVER if self._ttl_ms is None else loading.at_ms + self._ttl_ms
        entries[key] = (value, expires)

    def discard(self, keys: Iterable[K]) -> None:
        """Forget ``keys`` (absent ones are ignored); loads running now are not kept."""
        self._epoch += 1
        for key in keys:
            self._entries.pop(key, None)

    def clear(self) -> None:
        """Forget everything; loads running now are not kept."""
        self._epoch += 1
        self._entries.clear()

    async def kept(self, key: K, load: Callable[[K], Awaitable[V]]) -> V:
        """The fresh value of ``key``; else ``await load(key)``, kept (see :meth:`put`)."""
        value = self.get(key)
        if value is not None:
            self._hit.inc()
            return value
        self._miss.inc()
        loading = self.loading()
        value = await load(key)
        self.put(key, value, loading)
        return value

    async def kept_many(
        self,
        keys: Iterable[K],
        load: Callable[[list[K]], Awaitable[Mapping[K, V]]],
        *,
        absent: V | None = None,
    ) -> dict[K, V]:
        """The values of ``keys``: fresh ones from the map, the others from one
        ``await load(missing)`` and kept. Keys ``load`` does not answer are kept as
        ``absent`` when it is given (an answer such as "no counts" is worth keeping too)
        and are left out of the result either way."""
        found: dict[K, V] = {}
        missing: list[K] = []
        hits = 0
        entries, now = self._entries, self._clock.now_ms()
        for key in dict.fromkeys(keys):
            entry = entries.get(key)
            if entry is None or entry[1] <= now:
                missing.append(key)  # an expired entry is replaced by put()
                continue
            hits += 1
            if entry[0] is not absent:
                found[key] = entry[0]
        if hits:
            self._hit.inc(hits)
        if not missing:
            return found
        self._miss.inc(len(missing))
        loading = self.loading()
        loaded = await load(missing)
        for key in missing:
            value = loaded.get(key)
            if value is not None:
                found[key] = value
                self.put(key, value, loading)
            elif absent is not None:
                self.put(key, absent, loading)
        return found
