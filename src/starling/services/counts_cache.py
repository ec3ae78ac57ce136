"""Engagement counts of tweets (likes, retweets, replies), cached per process.

Every page of tweets shows their counts, and summing counter shards for a 50-tweet page
was a quarter of a cached home-timeline read in the store (docs/decisions/0005), while a
given tweet's counts change only when someone engages with it. So a process keeps the
counts it read, for ``ttl_s`` at most (measured on the injected clock):

- **Local invalidation**: the services that change counts (like, unlike, reply,
  retweet, delete) call :meth:`CountsCache.forget` after their commit, so in the process
  that made a change the next read is exact. On the embedded default every change is
  made in the one process: counts are always exact there.
- **TTL**: bounds how stale another process's copy can be (scale-out: an API process
  that did not handle the like). The API allows counts "eventually consistent within
  seconds": ``STARLING_COUNTS_CACHE_TTL_S``, 5 s on the scale-out configuration.
- A read that raced an invalidation (its query ran while a change committed) is
  returned but not kept: it may predate the change.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

from starling.domain.engagement import NO_COUNTS, Counts
from starling.ports import Clock, Store

MAX_TWEETS: Final = 200_000
"""Tweets whose counts are kept (~150 bytes each, mostly the shared zero counts:
~30 MB at most). Oldest-loaded first out: with one TTL for all, those expire first."""


class CountsCache:
    """Counts by tweet id for ``ttl_s`` seconds (0: no caching, every read queries)."""

    def __init__(
        self, *, store: Store, clock: Clock, ttl_s: float, max_tweets: int = MAX_TWEETS
    ) -> None:
        self._store = store
        self._clock = clock
        self._ttl_ms = round(ttl_s * 1000)
        self._max = max_tweets
        self._entries: dict[int, tuple[Counts, int]] = {}
        self._epoch = 0

    async def counts(self, tweet_ids: Iterable[int]) -> dict[int, Counts]:
        """Counts of the tweets among ``tweet_ids`` that have any (absent: all zero), at
        most one TTL old; one store query for those not cached."""
        now = self._clock.now_ms()
        entries = self._entries
        found: dict[int, Counts] = {}
        missing: list[int] = []
        for tweet_id in tweet_ids:
            entry = entries.get(tweet_id)
            if entry is not None and entry[1] > now:
                if entry[0] is not NO_COUNTS:
                    found[tweet_id] = entry[0]
            else:
                missing.append(tweet_id)
        if not missing:
            return found
        epoch = self._epoch
        loaded = await self._store.tweet_counts(missing)
        found.update(loaded)
        if self._ttl_ms > 0 and epoch == self._epoch:
            expires = now + self._ttl_ms
            for tweet_id in missing:
                entries.pop(tweet_id, None)  # re-inserted last: the newest-loaded end
                entries[tweet_id] = (loaded.get(tweet_id, NO_COUNTS), expires)
            while len(entries) > self._max:
                del entries[next(iter(entries))]
        return found

    def forget(self, tweet_ids: Iterable[int | None]) -> None:
        """The counts of ``tweet_ids`` changed (Nones are skipped): the next read of them
        here asks the store."""
        self._epoch += 1
        for tweet_id in tweet_ids:
            if tweet_id is not None:
                self._entries.pop(tweet_id, None)
