"""Home and user timelines: cached ids (push) merged with celebrities' ids (pull).

Read path (DESIGN.md "Data flow"): cached ids below the cursor ⊕ recent ids of the
celebrities the viewer follows → k-way merge newest-first (:meth:`TimelineService.home_ids`)
→ the :class:`~starling.services.read_pipeline.ReadPipeline`: hydrate, leave out what no
longer exists and what the viewer must not see, page + cursor, engagement. The followed
celebrities and the hidden authors come from the per-process :class:`ReaderContextCache`,
so a read usually runs neither query.
"""

from __future__ import annotations

import asyncio
import logging

from starling.domain.errors import Forbidden, UserNotFound
from starling.domain.feed import FeedRules, ThresholdPolicy, merge_newest_first
from starling.metrics import Metrics
from starling.ports import BackendUnavailable, Store, TimelineCache
from starling.services.read_pipeline import ReadPipeline, TweetPage
from starling.services.reader_context import ReaderContextCache

log = logging.getLogger(__name__)

LATE_WINDOW = 100
"""Newest ids re-read after a rebuild's write: tweets committed in the milliseconds the
rebuild took (far fewer than 100 on one machine)."""


class TimelineService:
    """Hybrid home timelines (push for ordinary authors, pull for celebrities) and user
    timelines, read through the :class:`ReadPipeline`."""

    def __init__(
        self,
        *,
        store: Store,
        cache: TimelineCache,
        reads: ReadPipeline,
        rules: FeedRules,
        policy: ThresholdPolicy,
        metrics: Metrics,
        reader_context: ReaderContextCache,
    ) -> None:
        self._store = store
        self._cache = cache
        self._reader_context = reader_context
        self._pipeline = reads
        self._rules = rules
        self._policy = policy
        self._metrics = metrics
        self._reads = {
            source: metrics.timeline_reads.labels(source=source)
            for source in ("cache", "rebuild", "store")
        }
        self._rebuilds: dict[int, asyncio.Future[None]] = {}

    # --- reads -----------------------------------------------------------------------
    async def home(self, *, viewer_id: int, max_id: int | None, limit: int) -> TweetPage:
        """The viewer's home timeline below ``max_id``: their own tweets and those of
        everyone they follow, newest first, at most ``limit``, no duplicates, no
        repeated retweets, nothing hidden from them.

        Hybrid: cached ids (push) merged with the followed celebrities' ids (pull), see
        :meth:`home_ids`. When the timeline cache is unreachable, everything is pulled
        from the store instead: slower, still correct.
        """
        visibility = await self._pipeline.visibility(viewer_id)

        async def fetch(cursor: int | None, want: int) -> list[int]:
            return await self.home_ids(viewer_id, max_id=cursor, limit=want)

        try:
            return await self._pipeline.page(
                fetch, visibility=visibility, max_id=max_id, limit=limit, repeats=True
            )
        except BackendUnavailable:
            log.warning("timeline cache unavailable: home timeline of %d by pull", viewer_id)
            self._reads["store"].inc()
            return await self.pulled_home(viewer_id=viewer_id, max_id=max_id, limit=limit)

    async def home_ids(self, viewer_id: int, *, max_id: int | None, limit: int) -> list[int]:
        """At most ``limit`` ids of the viewer's home timeline below ``max_id``, newest
        first: the cached ids (the timeline rebuilt from the store when missing) k-way
        merged with the followed celebrities' newest ids. Raises ``BackendUnavailable``
        when the timeline cache is down. Counted in ``starling_timeline_reads_total`` by
        source (one per call: a page may take several)."""
        source = "cache"
        running = self._rebuilds.get(viewer_id)
        if running is not None:
            # The timeline is present but still filling: wait rather than read it half-built.
            await asyncio.shield(running)
        cached = await self._cache.read(viewer_id, max_id=max_id, limit=limit)
        if cached is None:
            await self.rebuild(viewer_id=viewer_id)
            source = "rebuild"
            cached = await self._cache.read(viewer_id, max_id=max_id, limit=limit) or []
        celebrities = await self._reader_context.celebrity_followee_ids(viewer_id)
        pulled = await self._reader_context.authored_ids(celebrities, max_id=max_id, limit=limit)
        self._reads[source].inc()
        return merge_newest_first((cached, pulled), limit)

    async def pulled_home(self, *, viewer_id: int, max_id: int | None, limit: int) -> TweetPage:
        """The home timeline computed from the store alone (fan-out on read): the reference
        the hybrid timeline must equal, and the fallback when the cache is down."""
        authors = [viewer_id, *await self._store.followee_ids(viewer_id)]

        async def fetch(cursor: int | None, want: int) -> list[int]:
            return await self._store.tweet_ids_by_authors(authors, max_id=cursor, limit=want)

        visibility = await self._pipeline.visibility(viewer_id)
        return await self._pipeline.page(
            fetch, visibility=visibility, max_id=max_id, limit=limit, repeats=True
        )

    async def user_timeline(
        self, *, user_id: int, max_id: int | None, limit: int, viewer_id: int | None = None
    ) -> TweetPage:
        """Tweets and retweets by ``user_id`` below ``max_id``, newest first, as
        ``viewer_id`` (None: anonymous) sees them: the user's own tweets although the
        viewer mutes or blocks them (they asked for this user), retweets and quotes by
        the visibility rule. Raises ``UserNotFound``, and ``Forbidden`` when ``user_id``
        blocks ``viewer_id``."""
        if await self._store.get_user(user_id) is None:
            raise UserNotFound()
        visibility = await self._pipeline.visibility(viewer_id, naming=[user_id])
        if visibility.is_blocked_by(user_id):
            raise Forbidden("This user has blocked you.", code="blocked")

        async def fetch(cursor: int | None, want: int) -> list[int]:
            return await self._store.tweet_ids_by_authors([user_id], max_id=cursor, limit=want)

        return await self._pipeline.page(
            fetch, visibility=visibility.asking_for([user_id]), max_id=max_id, limit=limit
        )

    # --- cache maintenance -----------------------------------------------------------
    async def _pushed_authors(self, user_id: int) -> list[int]:
        followees = await self._store.followee_ids(user_id)
        celebrities = set(await self._store.celebrity_followee_ids(user_id, self._policy.threshold))
        return [user_id, *(f for f in followees if f not in celebrities)]

    async def rebuild(self, *, viewer_id: int) -> None:
        """Recreate a missing home timeline from the store: the newest ``timeline_max``
        tweets of the viewer and their non-celebrity followees.

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
            ids = await self._store.tweet_ids_by_authors(
                authors, max_id=None, limit=self._rules.timeline_max
            )
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

    async def backfill(self, *, follower_id: int, followee_id: int) -> None:
        """After a follow: merge the followee's recent tweets into the follower's cached
        timeline (celebrities are pulled at read, so nothing to do for them)."""
        followee = await self._store.get_user(followee_id)
        if followee is None or not self._policy.should_push(followee.followers_count):
            return
        ids = await self._store.tweet_ids_by_authors(
            [followee_id], max_id=None, limit=self._rules.timeline_max
        )
        try:
            await self._cache.merge(follower_id, ids)
        except BackendUnavailable:
            # The follow itself is committed; the timeline is rebuilt when the cache is back.
            log.warning("timeline cache unavailable: no backfill for %d", follower_id)

    async def unmerge(self, *, follower_id: int, followee_id: int) -> None:
        """After an unfollow: remove the former followee's tweets from the cached timeline."""
        ids = await self._store.tweet_ids_by_authors(
            [followee_id], max_id=None, limit=self._rules.timeline_max
        )
        try:
            await self._cache.remove([follower_id], ids)
        except BackendUnavailable:
            log.warning("timeline cache unavailable: no unmerge for %d", follower_id)
