"""Fan-out on write: put a new tweet's id into its followers' cached home timelines.

Hybrid (docs/decisions/0001): an author below the celebrity threshold is pushed, in chunks of
``fanout_chunk_size`` followers, one cache call per chunk; a celebrity's tweet is not
pushed at all (readers pull it). Only present timelines are written: followers who
have not read for ``inactive_days`` have none and get a rebuild on their next read.
Every step is idempotent, so a re-delivered event is harmless. Once a tweet is in the
timelines, it is published to the connected readers (:class:`LivePublisher`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from starling.domain import ids as snowflake
from starling.domain.events import AnyEvent, TweetDeleted, TweetPosted, Unfollowed
from starling.domain.feed import FeedRules, ThresholdPolicy
from starling.metrics import Metrics
from starling.ports import Clock, Store, TimelineCache
from starling.services.live import LivePublisher


class FanoutService:
    """Consumes tweet and graph events and keeps cached home timelines up to date."""

    def __init__(
        self,
        *,
        store: Store,
        cache: TimelineCache,
        rules: FeedRules,
        policy: ThresholdPolicy,
        metrics: Metrics,
        clock: Clock,
        live: LivePublisher | None = None,
    ) -> None:
        self._store = store
        self._live = live
        self._cache = cache
        self._rules = rules
        self._policy = policy
        self._metrics = metrics
        self._clock = clock

    async def handle(self, event: AnyEvent) -> None:
        """Apply one event (the fan-out consumer group's handler)."""
        if isinstance(event, TweetPosted):
            await self.deliver(tweet_id=event.tweet_id, author_id=event.author_id)
        elif isinstance(event, TweetDeleted):
            await self.retract(tweet_id=event.tweet_id, author_id=event.author_id)
        elif isinstance(event, Unfollowed):
            await self._after_unfollow(event)

    async def _follower_chunks(self, author_id: int) -> AsyncIterator[list[int]]:
        """The author's followers, ``fanout_chunk_size`` at a time. After a full chunk,
        the next one is read from the store while the caller writes this one (a round
        trip hidden behind the cache's on the scale-out configuration). The first chunk
        is read inline: most authors have one chunk, and a task would cost a turn of the
        event loop behind every request waiting there (seen starving the embedded
        fan-out under load)."""
        size = self._rules.fanout_chunk_size
        chunk = await self._store.follower_ids_after(author_id, after_id=0, limit=size)
        upcoming: asyncio.Future[list[int]] | None = None
        try:
            while True:
                if len(chunk) == size:
                    upcoming = asyncio.ensure_future(
                        self._store.follower_ids_after(author_id, after_id=chunk[-1], limit=size)
                    )
                if chunk:
                    yield chunk
                if upcoming is None:
                    return
                chunk, upcoming = await upcoming, None
        finally:
            if upcoming is not None:
                upcoming.cancel()

    async def deliver(self, *, tweet_id: int, author_id: int) -> int:
        """Push ``tweet_id`` to the author's own timeline and, unless the author is a
        celebrity, to every present follower timeline. Returns the timelines written.
        Each chunk is published live once written; a celebrity's tweet is published once,
        on the author's channel (its readers pull it)."""
        author = await self._store.get_user(author_id)
        if author is None or await self._store.get_tweet(tweet_id) is None:
            return 0  # deleted before fan-out: nothing to deliver
        written = await self._cache.push([author_id], tweet_id)
        self._metrics.fanout_writes.inc(written)
        if self._live is not None:
            await self._live.tweet_pushed(
                tweet_id=tweet_id, author_id=author_id, reader_ids=[author_id]
            )
        if self._policy.should_push(author.followers_count):
            async for chunk in self._follower_chunks(author_id):
                count = await self._cache.push(chunk, tweet_id)
                self._metrics.fanout_writes.inc(count)  # per chunk: progress is visible
                written += count
                if self._live is not None:
                    await self._live.tweet_pushed(
                        tweet_id=tweet_id, author_id=author_id, reader_ids=chunk
                    )
        elif self._live is not None:
            await self._live.celebrity_tweet(tweet_id=tweet_id, author_id=author_id)
        lag_ms = self._clock.now_ms() - snowflake.timestamp_ms(tweet_id)
        self._metrics.fanout_lag.observe(max(lag_ms, 0) / 1000)
        return written

    async def retract(self, *, tweet_id: int, author_id: int) -> None:
        """Remove a deleted tweet from the author's and every follower's timeline
        (whether it was pushed or not: the author may have been ordinary back then)."""
        await self._cache.remove([author_id], [tweet_id])
        async for chunk in self._follower_chunks(author_id):
            await self._cache.remove(chunk, [tweet_id])

    async def _after_unfollow(self, event: Unfollowed) -> None:
        """An author whom this unfollow took below the celebrity threshold is no longer
        pulled by readers: push their recent tweets once so followers' timelines keep
        them. The crossing is read off the event (``followers_before``), so it is seen
        even when several unfollows are processed late, after the count moved on."""
        if event.followers_before != self._policy.threshold:
            return
        followee = await self._store.get_user(event.followee_id)
        if followee is None or not self._policy.should_push(followee.followers_count):
            return  # back above the threshold meanwhile: still pulled
        recent = await self._store.tweet_ids_by_authors(
            [event.followee_id], max_id=None, limit=self._rules.timeline_max
        )
        async for chunk in self._follower_chunks(event.followee_id):
            for follower_id in chunk:
                await self._cache.merge(follower_id, recent)
