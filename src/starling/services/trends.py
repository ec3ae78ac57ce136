"""Trends: the hashtags rising most in the last hour (rules in ``domain.trends``).

The ``trends`` consumer group feeds a :class:`~starling.ports.TrendCounter` with the
hashtags of each posted tweet, at the time the tweet's snowflake id carries (a replay of
old tweets counts them when they were posted). Reading ranks the counter's heaviest
window tags by rise against their baseline, at the injectable clock's "now".
"""

from __future__ import annotations

from collections.abc import Sequence

from starling.domain.events import AnyEvent, TweetPosted
from starling.domain.ids import timestamp_ms
from starling.domain.search import folded_hashtags
from starling.domain.trends import DEFAULT_TRENDS, Trend, TrendConfig, rank
from starling.ports import Clock, TrendCounter, TweetReads

MAX_TRENDS = 50
"""Most trends one request may ask for."""


class TrendService:
    """Counts hashtags of posted tweets and answers the current trends."""

    def __init__(
        self, *, store: TweetReads, counter: TrendCounter, clock: Clock, config: TrendConfig
    ) -> None:
        self._store = store
        self._counter = counter
        self._clock = clock
        self._config = config

    async def current(self, *, limit: int = DEFAULT_TRENDS) -> list[Trend]:
        """The ``limit`` (1..:data:`MAX_TRENDS`) top trends at the clock's now, best first."""
        limit = max(1, min(limit, MAX_TRENDS))
        counts = await self._counter.top(now_ms=self._clock.now_ms(), limit=self._config.candidates)
        return rank(counts, self._config, limit)

    async def handle(self, event: AnyEvent) -> None:
        """The ``trends`` consumer group's handler: count a posted tweet's hashtags at
        the tweet's own time. Deleted tweets stay counted (they were said)."""
        await self.handle_many([event])

    async def handle_many(self, events: Sequence[AnyEvent]) -> None:
        """:meth:`handle` for a batch: one store read for the posted tweets."""
        posted = [e.tweet_id for e in events if isinstance(e, TweetPosted)]
        if not posted:
            return
        found = await self._store.get_tweets(posted)
        for tweet_id in posted:
            tweet = found.get(tweet_id)
            tags = folded_hashtags(tweet.text) if tweet is not None else []
            if tags:
                await self._counter.add(tweet_id, tags, timestamp_ms(tweet_id))
