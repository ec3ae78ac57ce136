"""Per-reader context of a read, cached per process: which celebrities a viewer follows
(pulled at read, docs/decisions/0001), which authors are hidden from them (blocked
either way, muted), and the user rows that hydration shows as tweet authors.

Every home-timeline read needs both, and profiling showed the two store queries at
about a third of the request (docs/decisions/0004), while the answers change only when the viewer
follows, unfollows, blocks, mutes (or is blocked), or a followee crosses the celebrity
threshold. So :class:`ReaderContextCache` keeps them per viewer for a short TTL. It
keeps the user rows of authors the same way (a page shows up to 50 of them, and
re-reading them cost a store query per page): a profile change invalidates that user's
entry like a follow does. And it keeps the newest ids of the celebrities readers pull
(:meth:`ReaderContextCache.authored_ids`): every reader of a celebrity pulls the same
ids, and the store query to find them was most of a hybrid read's PostgreSQL work
(0.67 of the 1.67 queries per read measured on the benchmark's readers). A celebrity's
new tweet or retweet invalidates their entry (:meth:`ReaderContextCache.authored`).

- **Local invalidation**: the services that make those changes (follow, unfollow,
  block, unblock, mute, unmute) drop the affected viewers' entries in this process at
  once, so a reader's next read after their own change is exact. A follow that makes
  the followee a celebrity drops every entry (their followers must start pulling them).
- **Cross-process invalidation**: the same drop is published on the live bus
  (:data:`INVALIDATION_CHANNEL`) and every process applies what others publish. The bus
  is at most once (Redis pub/sub), and a bus failure never fails a request: it is logged.
- **TTL** (``STARLING_READER_CACHE_TTL_S``, measured on the injected clock): bounds the
  staleness of what no message reported: a lost message, a change written outside the
  services (``starling load``), a race of concurrent follows across the threshold.
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
import logging
import operator
import secrets
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Final, Literal, TypeVar, cast

import msgspec

from starling.domain.feed import merge_newest_first
from starling.domain.model import User
from starling.metrics import Metrics
from starling.ports import BackendUnavailable, Clock, LiveBus, LiveSubscription, Store

log = logging.getLogger(__name__)

INVALIDATION_CHANNEL: Final = "reader-context"
"""Live-bus channel of invalidations; distinct from the ``user:``/``author:`` channels of
:mod:`starling.domain.live`."""

MAX_VIEWERS: Final = 100_000
"""Most viewers cached per process. An entry lives one TTL (5 s by default), so the cache
holds the viewers who read in the last TTL: 100,000 is 20,000 home reads per second for
5 s, four times what one process serves (docs/scale-out.md: ~5k hydrated reads per second
over HTTP), so the bound is a memory cap that normal traffic does not reach. An entry
is ~0.3 KB (a few ints; empty sets are shared), so the cap is ~30 MB."""

AUTHORED_DEPTH: Final = 400
"""Newest tweet ids kept per pulled author: two of the API's largest pages (200 tweets);
a page reaching below them is read from the store. A tuple of 400 ids is ~16 KB."""

AUTHORED_MAX_AUTHORS: Final = 16
"""Most authors a read takes from kept ids. A hybrid reader pulls only the celebrities
they follow (at most 3 in the benchmark's overlay); a read pulling from more (the pull
baseline merges every followee, up to 626 on the real graph) is one store query that
merges them all, not one kept list per author: measured, per-author lists took the pull
baseline's home reads from 1,367 to 199 per second (cold lists, 626-way merges)."""

_T = TypeVar("_T")
_Kind = Literal["celebrities", "hidden", "authored"]
"""The per-user answers :meth:`ReaderContextCache._kept` keeps (``_Entry`` slots)."""

RESUBSCRIBE_DELAY_S: Final = 1.0
"""Pause before subscribing again after the bus could not be reached."""

_NO_ONE: Final[frozenset[int]] = frozenset()
"""The hidden set of most viewers, shared by their entries."""


class Invalidation(msgspec.Struct, frozen=True, array_like=True):
    """What a process publishes: drop ``viewer_ids`` (or every entry, ``everyone``).
    ``origin`` identifies the publishing cache, which ignores its own messages."""

    origin: str
    viewer_ids: list[int]
    everyone: bool = False


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Invalidation)


class _Entry:
    """One viewer's cached answers; a field is None until first asked for."""

    __slots__ = ("authored", "celebrities", "expires_at_ms", "hidden", "user")

    def __init__(self, expires_at_ms: int) -> None:
        self.expires_at_ms = expires_at_ms
        self.authored: tuple[int, ...] | None = None
        self.celebrities: tuple[int, ...] | None = None
        self.hidden: frozenset[int] | None = None
        self.user: User | None = None


class ReaderContextCache:
    """Celebrity followees and hidden authors per viewer (see the module docstring).

    ``ttl_s`` is in seconds on ``clock``; 0 disables caching (every call queries the
    store; invalidations are still published for processes that cache). At most
    ``max_viewers`` entries are kept. Entries are evicted oldest-loaded first: with one
    TTL for all, the oldest-loaded entry is the one nearest expiry, so this is what LRU
    would evict minus the entries it would keep only to see them expire, and expired
    entries at the front are reclaimed in O(1) as new ones come in.
    """

    def __init__(
        self,
        *,
        store: Store,
        clock: Clock,
        bus: LiveBus,
        metrics: Metrics,
        threshold: int,
        ttl_s: float,
        max_viewers: int = MAX_VIEWERS,
    ) -> None:
        self._store = store
        self._clock = clock
        self._bus = bus
        self._threshold = threshold
        self._ttl_ms = round(ttl_s * 1000)
        self._max_viewers = max_viewers
        self._entries: OrderedDict[int, _Entry] = OrderedDict()
        self._epoch = 0
        """Bumped by every invalidation: a load that raced one is not stored."""
        self._origin = secrets.token_hex(8)
        self._listener: asyncio.Task[None] | None = None
        self._subscription: LiveSubscription | None = None
        lookups = metrics.reader_cache_lookups
        kinds = ("celebrities", "hidden", "users", "authored")
        self._hit = {k: lookups.labels(kind=k, result="hit") for k in kinds}
        self._miss = {k: lookups.labels(kind=k, result="miss") for k in kinds}
        invalidations = metrics.reader_cache_invalidations
        self._local = invalidations.labels(source="local")
        self._remote = invalidations.labels(source="remote")

    @property
    def enabled(self) -> bool:
        """False when the TTL is 0."""
        return self._ttl_ms > 0

    def __len__(self) -> int:
        return len(self._entries)

    # --- reads ---------------------------------------------------------------------------
    async def celebrity_followee_ids(self, viewer_id: int) -> Sequence[int]:
        """Ids of the users ``viewer_id`` follows who have at least the celebrity
        threshold of followers (``Store.celebrity_followee_ids``), at most one TTL old."""
        return await self._kept("celebrities", viewer_id, self._load_celebrities)

    async def hidden_author_ids(self, viewer_id: int) -> frozenset[int]:
        """Ids of the authors hidden from ``viewer_id`` (blocked either way, muted;
        ``Store.hidden_author_ids``), at most one TTL old."""
        return await self._kept("hidden", viewer_id, self._load_hidden)

    async def _load_celebrities(self, viewer_id: int) -> tuple[int, ...]:
        return tuple(await self._store.celebrity_followee_ids(viewer_id, self._threshold))

    async def _load_hidden(self, viewer_id: int) -> frozenset[int]:
        found = await self._store.hidden_author_ids(viewer_id)
        return frozenset(found) if found else _NO_ONE

    async def _load_authored(self, author_id: int) -> tuple[int, ...]:
        found = await self._store.tweet_ids_by_authors(
            [author_id], max_id=None, limit=AUTHORED_DEPTH
        )
        return tuple(found)

    async def _kept(self, kind: _Kind, user_id: int, load: Callable[[int], Awaitable[_T]]) -> _T:
        """The ``kind`` field of ``user_id``'s entry while it is fresh; else
        ``load(user_id)``, kept unless an invalidation raced the load. ``kind`` names
        both the :class:`_Entry` slot and the lookups metric's label."""
        entry = self._fresh(user_id)
        if entry is not None:
            value = getattr(entry, kind)
            if value is not None:
                self._hit[kind].inc()
                return cast(_T, value)
        self._miss[kind].inc()
        epoch, loaded_at = self._epoch, self._clock.now_ms()
        loaded = await load(user_id)
        entry = self._storable(user_id, epoch, loaded_at)
        if entry is not None:
            setattr(entry, kind, loaded)
        return loaded

    async def users(self, user_ids: Iterable[int]) -> dict[int, User]:
        """The users among ``user_ids`` that exist (``Store.get_users``), each row at
        most one TTL old; one store query for those not cached. For what hydration shows
        of an author (username, display name, verified), which only a profile change
        alters, and that invalidates the user's entry."""
        now = self._clock.now_ms()
        entries = self._entries
        found: dict[int, User] = {}
        missing: list[int] = []
        for user_id in set(user_ids):
            entry = entries.get(user_id)
            if entry is not None and entry.user is not None and entry.expires_at_ms > now:
                found[user_id] = entry.user
            else:
                missing.append(user_id)  # expired entries are replaced by _storable
        self._hit["users"].inc(len(found))
        if missing:
            self._miss["users"].inc(len(missing))
            epoch = self._epoch
            loaded = await self._store.get_users(missing)
            for user_id, user in loaded.items():
                entry = self._storable(user_id, epoch, now)
                if entry is not None:
                    entry.user = user
            found.update(loaded)
        return found

    async def authored_ids(
        self, author_ids: Sequence[int], *, max_id: int | None, limit: int
    ) -> list[int]:
        """``Store.tweet_ids_by_authors``: ids of the tweets and retweets of
        ``author_ids`` below ``max_id``, newest first, at most ``limit``; for the
        celebrities a reader pulls. Answered from each author's newest
        :data:`AUTHORED_DEPTH` ids, kept per author at most one TTL (one store query per
        author and TTL, not per read); from the store when the page reaches below them
        or there are more than :data:`AUTHORED_MAX_AUTHORS` authors.
        Ids of tweets deleted since may remain: hydration drops them."""
        if not author_ids:
            return []
        if not self.enabled or limit > AUTHORED_DEPTH or len(author_ids) > AUTHORED_MAX_AUTHORS:
            return await self._store.tweet_ids_by_authors(author_ids, max_id=max_id, limit=limit)
        runs: list[Sequence[int]] = []
        for author_id in author_ids:
            newest = await self._kept("authored", author_id, self._load_authored)
            # newest is descending: the ids below max_id start where -id passes -max_id.
            start = 0 if max_id is None else bisect.bisect_right(newest, -max_id, key=operator.neg)
            below = newest[start : start + limit]
            if len(below) < limit and len(newest) == AUTHORED_DEPTH:
                # The page reaches past what is kept, and the author has more.
                return await self._store.tweet_ids_by_authors(
                    author_ids, max_id=max_id, limit=limit
                )
            runs.append(below)
        return merge_newest_first(runs, limit)

    async def authored(self, author_id: int, *, followers_count: int) -> None:
        """``author_id`` (with ``followers_count`` followers) stored a tweet or a retweet.
        When that makes them pulled (a celebrity), their kept newest ids are dropped here
        and in the other processes, so readers see it on their next read; other authors'
        tweets are pushed, and nothing is kept for them. Best effort: never raises."""
        if followers_count >= self._threshold:
            await self.invalidate([author_id])

    def _fresh(self, viewer_id: int) -> _Entry | None:
        entry = self._entries.get(viewer_id)
        if entry is None:
            return None
        if entry.expires_at_ms <= self._clock.now_ms():
            del self._entries[viewer_id]
            return None
        return entry

    def _storable(self, viewer_id: int, epoch: int, loaded_at_ms: int) -> _Entry | None:
        """The entry to store a value loaded at ``loaded_at_ms`` in, created if need be;
        None when caching is off or an invalidation happened while the value loaded (it
        may predate the change)."""
        if not self.enabled or epoch != self._epoch:
            return None
        entry = self._fresh(viewer_id)
        if entry is not None:
            return entry
        now = self._clock.now_ms()
        while self._entries:
            _, oldest = next(iter(self._entries.items()))
            if oldest.expires_at_ms > now and len(self._entries) < self._max_viewers:
                break
            self._entries.popitem(last=False)
        entry = _Entry(loaded_at_ms + self._ttl_ms)
        self._entries[viewer_id] = entry
        return entry

    # --- invalidation --------------------------------------------------------------------
    async def invalidate(self, viewer_ids: Iterable[int]) -> None:
        """The follows, blocks or mutes of ``viewer_ids`` changed: drop their entries here
        and tell the other processes (best effort: never raises)."""
        ids = list(dict.fromkeys(viewer_ids))
        self._drop(ids, everyone=False)
        self._local.inc()
        await self._publish(Invalidation(self._origin, ids))

    async def invalidate_everyone(self) -> None:
        """A user became a celebrity: every follower's celebrity set changed. Drops every
        entry here and in the other processes (best effort: never raises)."""
        self._drop((), everyone=True)
        self._local.inc()
        await self._publish(Invalidation(self._origin, [], everyone=True))

    def _drop(self, viewer_ids: Iterable[int], *, everyone: bool) -> None:
        self._epoch += 1
        if everyone:
            self._entries.clear()
            return
        for viewer_id in viewer_ids:
            self._entries.pop(viewer_id, None)

    async def _publish(self, message: Invalidation) -> None:
        try:
            await self._bus.publish(INVALIDATION_CHANNEL, _encoder.encode(message))
        except Exception as exc:
            # Other processes catch up within a TTL; the change itself is committed.
            log.warning("reader cache: invalidation not published (%r)", exc)

    def apply(self, payload: bytes) -> None:
        """Apply an invalidation received from the bus; ignores this cache's own messages
        and payloads that are not an :class:`Invalidation`."""
        try:
            message = _decoder.decode(payload)
        except msgspec.DecodeError:
            log.warning("reader cache: undecodable invalidation ignored")
            return
        if message.origin == self._origin:
            return
        self._drop(message.viewer_ids, everyone=message.everyone)
        self._remote.inc()

    # --- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        """Subscribe to the other processes' invalidations (no-op when caching is off).
        Does not raise for an unreachable bus: it keeps trying in the background."""
        if not self.enabled or self._listener is not None:
            return
        subscription = await self._subscribe()
        self._listener = asyncio.create_task(self._listen(subscription), name="reader-cache")

    async def _subscribe(self) -> LiveSubscription | None:
        try:
            subscription = await self._bus.subscribe([INVALIDATION_CHANNEL])
        except BackendUnavailable as exc:
            log.warning("reader cache: cannot subscribe to invalidations (%s); retrying", exc)
            return None
        # Whatever was published while not subscribed is lost: start from nothing.
        self._drop((), everyone=True)
        self._subscription = subscription
        return subscription

    async def _listen(self, subscription: LiveSubscription | None) -> None:
        while subscription is None:
            await asyncio.sleep(RESUBSCRIBE_DELAY_S)
            subscription = await self._subscribe()
        async for payload in subscription:
            self.apply(payload)

    async def stop(self) -> None:
        """Unsubscribe; idempotent."""
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        if self._subscription is not None:
            with contextlib.suppress(BackendUnavailable):
                await self._subscription.close()
            self._subscription = None
