"""What happens to home timelines: the one owner of the timeline cache.

Every change of a cached home timeline is a named verb of :class:`FeedManager`, in the
shape of Mastodon's ``app/lib/feed_manager.rb``: :meth:`~FeedManager.push` (a new tweet),
:meth:`~FeedManager.retract` (a deleted one), :meth:`~FeedManager.merge_into_home` (a
follow, an unmute), :meth:`~FeedManager.unmerge_from_home` (an unfollow, a block, a
mute), :meth:`~FeedManager.rebuild` (a missing timeline), the follower-count crossings
of the celebrity threshold, and the read of a home timeline's ids
(:meth:`~FeedManager.home_ids`). Graph, moderation, fan-out and the read path call these
verbs; nothing else touches :class:`~starling.ports.TimelineCache`.

Hybrid fan-out (docs/architecture.md): an author below the celebrity threshold is pushed,
in chunks of ``fanout_chunk_size`` followers, one cache call per chunk; a pulled author's
(a celebrity's) tweet is not pushed at all, readers merge it in at read time. Only present
timelines are written: followers who have not read for ``inactive_days`` have none and
get a rebuild on their next read. Every write is idempotent, so a re-delivered event is
harmless.

Trimming is the cache's part of the contract (every ``TimelineCache`` write keeps the
newest ``timeline_max`` ids); the manager's part is never reading more of an author
than the configured ``timeline_max`` to write (:meth:`FeedManager._recent_ids`).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Protocol

from starling.domain import ids as snowflake
from starling.domain.events import AnyEvent, TweetDeleted, TweetPosted, Unfollowed
from starling.domain.feed import (
    FanoutPolicy,
    FeedRules,
    follow_makes_pulled,
    merge_newest_first,
    unfollow_makes_pushed,
)
from starling.metrics import Metrics
from starling.ports import (
    BackendUnavailable,
    Clock,
    FollowReads,
    TimelineCache,
    TweetReads,
    UserReads,
)
from starling.services.live import LivePublisher
from starling.services.read_pipeline import ids_above

log = logging.getLogger(__name__)

LATE_WINDOW = 100
"""Newest ids re-read after a rebuild's write: tweets committed in the milliseconds the
rebuild took (far fewer than 100 on one machine)."""


class _FeedReads(FollowReads, TweetReads, UserReads, Protocol):
    """What the feed verbs read: the follow graph, tweets, authors (never a write: the
    timeline cache is the only thing the feed manager changes)."""


class FeedManager:
    """The verbs of cached home timelines (see the module docstring).

    ``rules`` gives the configured constants (``STARLING_TIMELINE_MAX``,
    ``STARLING_FANOUT_CHUNK_SIZE``, ...), ``policy`` who is pushed and who is pulled.
    ``live`` (optional) publishes pushed tweets to connected readers.
    """

    def __init__(
        self,
        *,
        store: _FeedReads,
        cache: TimelineCache,
        rules: FeedRules,
        policy: FanoutPolicy,
        metrics: Metrics,
        clock: Clock,
        live: LivePublisher | None = None,
    ) -> None:
        self._store = store
        self._cache = cache
        self._rules = rules
        self._policy = policy
        self._metrics = metrics
        self._clock = clock
        self._live = live
        self._reads = {
            source: metrics.timeline_reads.labels(source=source) for source in ("cache", "rebuild")
        }
        self._rebuilds: dict[int, asyncio.Future[None]] = {}

    # --- the fan-out consumer group ------------------------------------------------------
    async def handle(self, event: AnyEvent) -> None:
        """Apply one event (the ``fanout`` consumer group's handler): a posted tweet is
        pushed, a deleted one retracted, an unfollow that makes its followee pushed
        again merges their recent tweets into the followers' timelines."""
        if isinstance(event, TweetPosted):
            await self.push(tweet_id=event.tweet_id, author_id=event.author_id)
        elif isinstance(event, TweetDeleted):
            await self.retract(tweet_id=event.tweet_id, author_id=event.author_id)
        elif isinstance(event, Unfollowed) and unfollow_makes_pushed(
            self._policy, event.followers_before
        ):
            # The crossing is read off the event (``followers_before``), so it is seen
            # even when several unfollows are processed late, after the count moved on.
            await self.author_became_pushed(author_id=event.followee_id)

    # --- verbs ---------------------------------------------------------------------------
    async def push(self, *, tweet_id: int, author_id: int) -> int:
        """Fan a new tweet out: into the author's own timeline and, unless the author is
        pulled, every present follower timeline. Returns the timelines written. Each
        chunk is published live once written; a pulled author's tweet is published once,
        on the author's channel (its readers pull it). Nothing happens for a tweet or
        author deleted before fan-out."""
        author = await self._store.get_user(author_id)
        if author is None or await self._store.get_tweet(tweet_id) is None:
            return 0
        written = await self._cache.push([author_id], tweet_id)
        self._metrics.fanout_writes.inc(written)
        if self._live is not None:
            await self._live.tweet_pushed(
                tweet_id=tweet_id, author_id=author_id, reader_ids=[author_id]
            )
        if not self._policy.is_pulled(author.followers_count):
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
        (whether it was pushed or not: the author may have been pushed back then), and
        tell connected readers, as :meth:`push` told them of the tweet: a ``deleted``
        live message to the author and to each chunk of followers once retracted from
        it, or, for a pulled author, one on the author's channel."""
        await self._cache.remove([author_id], [tweet_id])
        author = await self._store.get_user(author_id)
        pulled = author is not None and self._policy.is_pulled(author.followers_count)
        if self._live is not None:
            await self._live.tweet_retracted(
                tweet_id=tweet_id, author_id=author_id, reader_ids=[author_id]
            )
            if pulled:
                await self._live.celebrity_deleted(tweet_id=tweet_id, author_id=author_id)
        async for chunk in self._follower_chunks(author_id):
            await self._cache.remove(chunk, [tweet_id])
            if self._live is not None and not pulled:
                await self._live.tweet_retracted(
                    tweet_id=tweet_id, author_id=author_id, reader_ids=chunk
                )

    async def merge_into_home(self, *, owner_id: int, author_id: int) -> None:
        """``owner_id`` now sees ``author_id`` (a follow, an unmute of a followee): merge
        the author's newest ``timeline_max`` tweets into the owner's cached timeline,
        if present. Nothing for a pulled author (read time merges them). Best effort:
        an unreachable cache is logged, the change that asked for it stays committed."""
        author = await self._store.get_user(author_id)
        if author is None or self._policy.is_pulled(author.followers_count):
            return
        ids = await self._recent_ids([author_id])
        try:
            await self._cache.merge(owner_id, ids)
        except BackendUnavailable:
            log.warning("timeline cache unavailable: nothing merged into %d", owner_id)

    async def unmerge_from_home(self, *, owner_id: int, author_id: int) -> None:
        """``owner_id`` no longer sees ``author_id`` (an unfollow, a block either way, a
        mute): remove every tweet and retweet of the author from the owner's cached
        timeline, if present. Exact whatever the author's history: the author's ids are
        read down to the oldest cached entry, so an entry pushed before a spell as a
        pulled author (who wrote more than ``timeline_max`` tweets since) goes too, as
        Mastodon's ``unmerge_from_home`` removes whatever of the author the feed holds.
        Reading the timeline renews its lease (the owner, or the other side of a block,
        keeps it as if they read it). Best effort like :meth:`merge_into_home`."""
        try:
            cached = await self._cache.read(owner_id, max_id=None, limit=self._rules.timeline_max)
            if not cached:
                return
            doomed = await self._authored_since(author_id, oldest=cached[-1])
            if doomed:
                await self._cache.remove([owner_id], doomed)
        except BackendUnavailable:
            log.warning("timeline cache unavailable: nothing unmerged from %d", owner_id)

    async def unmerge_from_followers(self, *, author_id: int) -> None:
        """``author_id`` is about to be deleted with their follows: remove their newest
        ``timeline_max`` tweets from every present follower timeline now, while the
        follows still say who the followers are (the ``TweetDeleted`` events that follow
        find no followers to retract from). Nothing for a pulled author, whose tweets
        were not pushed; an id left behind is of a deleted tweet, which reads drop.
        Best effort like :meth:`merge_into_home`."""
        author = await self._store.get_user(author_id)
        if author is None or self._policy.is_pulled(author.followers_count):
            return
        doomed = await self._recent_ids([author_id])
        if not doomed:
            return
        try:
            async for chunk in self._follower_chunks(author_id):
                await self._cache.remove(chunk, doomed)
        except BackendUnavailable:
            log.warning("timeline cache unavailable: %d's tweets left to reads", author_id)

    async def author_became_pushed(self, *, author_id: int) -> None:
        """An unfollow took ``author_id`` below the celebrity threshold: readers no
        longer pull them, so their recent tweets are merged into every present follower
        timeline once. Nothing when the author is pulled again meanwhile."""
        author = await self._store.get_user(author_id)
        if author is None or self._policy.is_pulled(author.followers_count):
            return
        recent = await self._recent_ids([author_id])
        async for chunk in self._follower_chunks(author_id):
            for follower_id in chunk:
                await self._cache.merge(follower_id, recent)

    def follow_makes_pulled(self, followers_before: int) -> bool:
        """Whether a follow of an author who had ``followers_before`` followers makes
        them pulled: from then on fan-out pushes nothing of theirs, and every follower's
        read must pull them (their followed celebrities change). The cached timelines
        need nothing: what was pushed stays, and the read merge drops duplicates."""
        return follow_makes_pulled(self._policy, followers_before)

    async def rebuild(self, *, viewer_id: int) -> None:
        """Recreate a missing home timeline from the store: the newest ``timeline_max``
        tweets of the viewer and their pushed (non-celebrity) followees.

        Single-flight within a process: concurrent callers for one viewer share one
        rebuild, and readers wait for it. The timeline only becomes present with its
        ids (never half-built), and the cache merges rather than replaces, so ids
        pushed meanwhile survive.
        """
        running = self._rebuilds.get(viewer_id)
        if running is not None:
            await asyncio.shield(running)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._rebuilds[viewer_id] = future
        try:
            authors = await self._pushed_authors(viewer_id)
            ids = await self._recent_ids(authors)
            await self._cache.create(viewer_id, ids)
            # A tweet committed after the query above but fanned out before create() found
            # no timeline to push into; one more query for newer ids catches it. Later
            # ones are pushed, since the timeline is present from create() on.
            newest = ids[0] if ids else 0
            late = await self._store.tweet_ids_by_authors(authors, max_id=None, limit=LATE_WINDOW)
            await self._cache.merge(viewer_id, [i for i in late if i > newest])
            self._metrics.timeline_rebuilds.inc()
            future.set_result(None)
        except BaseException as exc:
            future.set_exception(exc)
            raise
        finally:
            del self._rebuilds[viewer_id]
            if future.done() and not future.cancelled():
                future.exception()  # mark retrieved: waiters re-raise it themselves

    # --- the read ------------------------------------------------------------------------
    async def home_ids(self, viewer_id: int, *, max_id: int | None, limit: int) -> list[int]:
        """Up to ``limit`` ids of ``viewer_id``'s home timeline below ``max_id``, newest
        first, distinct: the cached (pushed) ids, rebuilt first when the timeline is
        missing, k-way merged with the newest ids of the pulled authors the viewer
        follows. Ids of deleted tweets and of hidden authors may be among them (the read
        path filters). Raises ``BackendUnavailable`` when the timeline cache cannot be
        reached, so the caller can compute the timeline from the store instead."""
        running = self._rebuilds.get(viewer_id)
        if running is not None:
            # The timeline is present but still filling: wait rather than read it half-built.
            await asyncio.shield(running)
        source = "cache"
        cached = await self._cache.read(viewer_id, max_id=max_id, limit=limit)
        if cached is None:
            await self.rebuild(viewer_id=viewer_id)
            source = "rebuild"
            cached = await self._cache.read(viewer_id, max_id=max_id, limit=limit) or []
        celebrities = await self._followed_celebrities(viewer_id)
        pulled = await self._celebrity_ids(celebrities, max_id=max_id, limit=limit)
        self._reads[source].inc()
        return merge_newest_first((cached, pulled), limit)

    async def home_ids_above(self, viewer_id: int, *, min_id: int, limit: int) -> list[int]:
        """Up to ``limit`` ids of ``viewer_id``'s home timeline just above ``min_id``,
        oldest first: the ids :meth:`home_ids` gives (cached ⊕ pulled), read newest
        first down to ``min_id`` (:func:`~starling.services.read_pipeline.ids_above`).
        For clients paging forward in time; raises like :meth:`home_ids`."""

        async def fetch(cursor: int | None, want: int) -> list[int]:
            return await self.home_ids(viewer_id, max_id=cursor, limit=want)

        return await ids_above(fetch, min_id=min_id, limit=limit)

    # --- where the pulled authors and their ids come from --------------------------------
    async def _followed_celebrities(self, viewer_id: int) -> Sequence[int]:
        """The pulled authors ``viewer_id`` follows (the store keeps them per process)."""
        return await self._store.celebrity_followee_ids(viewer_id, self._policy.threshold)

    async def _celebrity_ids(
        self, celebrities: Sequence[int], *, max_id: int | None, limit: int
    ) -> list[int]:
        """The newest ids of ``celebrities`` below ``max_id`` (the store keeps the newest
        ids of pulled authors per process)."""
        return await self._store.tweet_ids_by_authors(celebrities, max_id=max_id, limit=limit)

    # --- helpers -------------------------------------------------------------------------
    async def _recent_ids(self, author_ids: Sequence[int]) -> list[int]:
        """The newest ``timeline_max`` (configured) ids by ``author_ids``: the most a
        timeline can keep, so the most worth writing into one."""
        return await self._store.tweet_ids_by_authors(
            author_ids, max_id=None, limit=self._rules.timeline_max
        )

    async def _authored_since(self, author_id: int, *, oldest: int) -> list[int]:
        """Every id of ``author_id``'s tweets and retweets from ``oldest`` up, newest
        first, read ``timeline_max`` at a time (usually one page)."""
        page = self._rules.timeline_max
        found: list[int] = []
        cursor: int | None = None
        while True:
            ids = await self._store.tweet_ids_by_authors([author_id], max_id=cursor, limit=page)
            found.extend(i for i in ids if i >= oldest)
            if len(ids) < page or ids[-1] <= oldest:
                return found
            cursor = ids[-1]

    async def _pushed_authors(self, viewer_id: int) -> list[int]:
        """The viewer and the followees whose tweets are pushed to them (not pulled)."""
        followees = await self._store.followee_ids(viewer_id)
        pulled = set(await self._store.celebrity_followee_ids(viewer_id, self._policy.threshold))
        return [viewer_id, *(f for f in followees if f not in pulled)]

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
