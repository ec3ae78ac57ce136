"""Home and user timelines: cached ids (push) merged with celebrities' ids (pull).

Read path (docs/architecture.md): cached ids below the cursor ⊕ recent ids of the
celebrities the viewer follows → k-way merge newest-first (:meth:`FeedManager.home_ids`)
→ the :class:`~starling.services.read_pipeline.ReadPipeline`: hydrate, leave out what no
longer exists and what the viewer must not see, page + cursor, engagement. The followed
celebrities and the hidden authors come from the store's per-process cache, so a read
usually runs neither query.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Protocol

from starling.domain.errors import Forbidden, UserNotFound
from starling.metrics import Metrics
from starling.ports import BackendUnavailable, FollowReads, TweetReads, UserReads
from starling.services.feed_manager import FeedManager
from starling.services.hydration import TweetView
from starling.services.read_pipeline import ReadPipeline, TweetPage, ids_above

log = logging.getLogger(__name__)


class _TimelineReads(FollowReads, TweetReads, UserReads, Protocol):
    """What the timelines read from the store: the follow graph, tweets by author, users."""


class TimelineService:
    """Hybrid home timelines (push for ordinary authors, pull for celebrities) and user
    timelines, read through the :class:`ReadPipeline`."""

    def __init__(
        self,
        *,
        store: _TimelineReads,
        feed: FeedManager,
        reads: ReadPipeline,
        metrics: Metrics,
    ) -> None:
        self._store = store
        self._feed = feed
        self._pipeline = reads
        self._pulled_reads = metrics.timeline_reads.labels(source="store")

    # --- reads -----------------------------------------------------------------------
    async def home(
        self, *, viewer_id: int, max_id: int | None, limit: int, min_id: int | None = None
    ) -> TweetPage:
        """The viewer's home timeline below ``max_id``: their own tweets and those of
        everyone they follow, newest first, at most ``limit``, no duplicates, no
        repeated retweets, nothing hidden from them.

        Hybrid: cached ids (push) merged with the followed celebrities' ids (pull), see
        :meth:`FeedManager.home_ids`. When the timeline cache is unreachable, everything is pulled
        from the store instead: slower, still correct. ``min_id``: only entries above it
        (the newest ``limit`` of them: Mastodon's ``since_id``).
        """
        visibility = await self._pipeline.visibility(viewer_id)

        async def fetch(cursor: int | None, want: int) -> list[int]:
            return await self._feed.home_ids(viewer_id, max_id=cursor, limit=want)

        try:
            return await self._pipeline.page(
                fetch,
                visibility=visibility,
                max_id=max_id,
                limit=limit,
                repeats=True,
                min_id=min_id,
            )
        except BackendUnavailable:
            log.warning("timeline cache unavailable: home timeline of %d by pull", viewer_id)
            self._pulled_reads.inc()
            return await self.pulled_home(
                viewer_id=viewer_id, max_id=max_id, limit=limit, min_id=min_id
            )

    async def home_ids_above(self, *, viewer_id: int, min_id: int, limit: int) -> list[int]:
        """Up to ``limit`` raw ids of the home timeline just above ``min_id``, oldest
        first (before the visibility rule: :meth:`FeedManager.home_ids_above`); from the
        store when the timeline cache is unreachable. With :meth:`home` bounded by them,
        the page just above a cursor (Mastodon's ``min_id``)."""
        try:
            return await self._feed.home_ids_above(viewer_id, min_id=min_id, limit=limit)
        except BackendUnavailable:
            authors = [viewer_id, *await self._store.followee_ids(viewer_id)]

            async def fetch(cursor: int | None, want: int) -> list[int]:
                return await self._store.tweet_ids_by_authors(authors, max_id=cursor, limit=want)

            return await ids_above(fetch, min_id=min_id, limit=limit)

    async def pulled_home(
        self, *, viewer_id: int, max_id: int | None, limit: int, min_id: int | None = None
    ) -> TweetPage:
        """The home timeline computed from the store alone (fan-out on read): the reference
        the hybrid timeline must equal, and the fallback when the cache is down."""
        authors = [viewer_id, *await self._store.followee_ids(viewer_id)]

        async def fetch(cursor: int | None, want: int) -> list[int]:
            return await self._store.tweet_ids_by_authors(authors, max_id=cursor, limit=want)

        visibility = await self._pipeline.visibility(viewer_id)
        return await self._pipeline.page(
            fetch, visibility=visibility, max_id=max_id, limit=limit, repeats=True, min_id=min_id
        )

    async def user_timeline(
        self,
        *,
        user_id: int,
        max_id: int | None,
        limit: int,
        viewer_id: int | None = None,
        min_id: int | None = None,
        keep: Callable[[TweetView], bool] | None = None,
    ) -> TweetPage:
        """Tweets and retweets by ``user_id`` below ``max_id``, newest first, as
        ``viewer_id`` (None: anonymous) sees them: the user's own tweets although the
        viewer mutes or blocks them (they asked for this user), retweets and quotes by
        the visibility rule. Raises ``UserNotFound``, and ``Forbidden`` when ``user_id``
        blocks ``viewer_id``. ``min_id`` and ``keep``: see :meth:`ReadPipeline.page`."""
        if await self._store.get_user(user_id) is None:
            raise UserNotFound()
        visibility = await self._pipeline.visibility(viewer_id, naming=[user_id])
        if visibility.is_blocked_by(user_id):
            raise Forbidden("This user has blocked you.", code="blocked")

        async def fetch(cursor: int | None, want: int) -> list[int]:
            return await self._store.tweet_ids_by_authors([user_id], max_id=cursor, limit=want)

        return await self._pipeline.page(
            fetch,
            visibility=visibility.asking_for([user_id]),
            max_id=max_id,
            limit=limit,
            min_id=min_id,
            keep=keep,
        )

    async def public(
        self,
        *,
        max_id: int | None,
        limit: int,
        viewer_id: int | None = None,
        min_id: int | None = None,
        keep: Callable[[TweetView], bool] | None = None,
    ) -> TweetPage:
        """Everyone's tweets and replies (not retweets) below ``max_id``, newest first, as
        ``viewer_id`` (None: anonymous) sees them: a list, so authors hidden from the
        viewer are left out and quotes of them lose the quoted tweet (Mastodon's public
        timeline). ``min_id`` and ``keep``: see :meth:`ReadPipeline.page`."""
        visibility = await self._pipeline.visibility(viewer_id)

        async def fetch(cursor: int | None, want: int) -> list[int]:
            return await self._store.newest_tweet_ids(max_id=cursor, limit=want)

        return await self._pipeline.page(
            fetch, visibility=visibility, max_id=max_id, limit=limit, min_id=min_id, keep=keep
        )
