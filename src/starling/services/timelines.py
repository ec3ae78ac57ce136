"""Home and user timelines: cached ids (push) merged with celebrities' ids (pull).

Read path (docs/architecture.md): cached ids below the cursor ⊕ recent ids of the
celebrities the viewer follows → k-way merge newest-first → hydrate tweets and authors
in one batch each → drop what no longer exists and what the viewer must not see
(authors blocked either way or muted) → page + cursor. The followed celebrities and the
hidden authors come from the per-process :class:`ReaderContextCache`, so a read usually
runs neither query.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from collections.abc import Set as AbstractSet

import msgspec

from starling.domain.errors import Forbidden, TweetNotFound, UserNotFound
from starling.domain.feed import (
    REPEAT_WINDOW,
    FeedRules,
    ThresholdPolicy,
    is_repeat,
    merge_newest_first,
)
from starling.metrics import Metrics
from starling.ports import BackendUnavailable, Store, TimelineCache
from starling.services.hydration import Hydrator, TweetView
from starling.services.reader_context import ReaderContextCache

log = logging.getLogger(__name__)

LATE_WINDOW = 100
"""Newest ids re-read after a rebuild's write: tweets committed in the milliseconds the
rebuild took (far fewer than 100 on one machine)."""

MAX_FILL_ROUNDS = 4
"""Extra reads when deleted tweets thin out a page, before returning a short page."""


class _VisibleEntries:
    """The timeline as a lazy stream of visible entries: fetched ids, hydrated, with
    deleted and hidden ones left out. Fetches in rounds of what the caller says it will
    want, at most ``MAX_FILL_ROUNDS`` rounds per page (after that the stream ends early;
    the page's cursor still lets the next page go on from the last entry examined)."""

    def __init__(
        self,
        timelines: TimelineService,
        fetch: Callable[[int | None, int], Awaitable[list[int]]],
        max_id: int | None,
        hidden_authors: AbstractSet[int],
    ) -> None:
        self._timelines = timelines
        self._fetch = fetch
        self._cursor = max_id
        self._hidden = hidden_authors
        self._buffer: deque[TweetView] = deque()
        self._exhausted = False
        self._rounds = 0
        self.truncated = False
        """True when the stream ended for want of rounds, not for want of entries."""

    @property
    def cursor(self) -> int | None:
        """The last id fetched so far."""
        return self._cursor

    async def peek(self, index: int, *, want: int) -> TweetView | None:
        """The entry ``index`` places ahead (None past the end), fetching ``want`` more
        entries per round while the buffer is too short."""
        while len(self._buffer) <= index and not self._exhausted:
            if self._rounds == MAX_FILL_ROUNDS:
                self.truncated = True
                break
            self._rounds += 1
            ids = await self._fetch(self._cursor, want + 1)
            self._buffer.extend(await self._timelines.visible(ids, self._hidden))
            self._cursor = ids[-1] if ids else self._cursor
            self._exhausted = len(ids) <= want
        return self._buffer[index] if index < len(self._buffer) else None

    def pop(self) -> TweetView:
        return self._buffer.popleft()

    def pop_originals(self, most: int) -> list[TweetView]:
        """Up to ``most`` leading buffered entries that are not retweets (at least the
        head, which the caller peeked and found not to be one)."""
        buffer = self._buffer
        taken = [buffer.popleft()]
        while buffer and len(taken) < most and buffer[0].retweeted is None:
            taken.append(buffer.popleft())
        return taken

    def content_ids(self, window: int) -> list[int]:
        """Content ids of the next ``window`` buffered entries."""
        return [v.content_id for v in itertools.islice(self._buffer, window)]


class TimelinePage(msgspec.Struct, frozen=True):
    """Hydrated tweets newest first; ``next_max_id`` is the exclusive cursor of the next
    page (None on the last page)."""

    items: list[TweetView]
    next_max_id: int | None

    @property
    def has_more(self) -> bool:
        return self.next_max_id is not None


class TimelineService:
    """Hybrid home timelines (push for ordinary authors, pull for celebrities)."""

    def __init__(
        self,
        *,
        store: Store,
        cache: TimelineCache,
        hydrator: Hydrator,
        rules: FeedRules,
        policy: ThresholdPolicy,
        metrics: Metrics,
        reader_context: ReaderContextCache,
    ) -> None:
        self._store = store
        self._cache = cache
        self._reader_context = reader_context
        self._hydrator = hydrator
        self._rules = rules
        self._policy = policy
        self._metrics = metrics
        self._reads = {
            source: metrics.timeline_reads.labels(source=source)
            for source in ("cache", "rebuild", "store")
        }
        self._rebuilds: dict[int, asyncio.Future[None]] = {}

    # --- reads -----------------------------------------------------------------------
    async def home(self, *, viewer_id: int, max_id: int | None, limit: int) -> TimelinePage:
        """The viewer's home timeline below ``max_id``: their own tweets and those of
        everyone they follow, newest first, at most ``limit``, no duplicates.

        Hybrid: cached ids (push) merged with the followed celebrities' ids (pull). When
        the timeline cache is unreachable, everything is pulled from the store instead:
        slower, still correct.
        """
        try:
            return await self._hybrid_home(viewer_id, max_id, limit)
        except BackendUnavailable:
            log.warning("timeline cache unavailable: home timeline of %d by pull", viewer_id)
            self._reads["store"].inc()
            return await self.pulled_home(viewer_id=viewer_id, max_id=max_id, limit=limit)

    async def _hybrid_home(self, viewer_id: int, max_id: int | None, limit: int) -> TimelinePage:
        source = "cache"
        celebrities = await self._reader_context.celebrity_followee_ids(viewer_id)

        async def fetch(cursor: int | None, want: int) -> list[int]:
            nonlocal source
            running = self._rebuilds.get(viewer_id)
            if running is not None:
                # The timeline is present but still filling: wait rather than read it half-built.
                await asyncio.shield(running)
            cached = await self._cache.read(viewer_id, max_id=cursor, limit=want)
            if cached is None:
                await self.rebuild(viewer_id=viewer_id)
                source = "rebuild"
                cached = await self._cache.read(viewer_id, max_id=cursor, limit=want) or []
            pulled = await self._reader_context.authored_ids(celebrities, max_id=cursor, limit=want)
            return merge_newest_first((cached, pulled), want)

        hidden = await self._reader_context.hidden_author_ids(viewer_id)
        page = await self._fill(fetch, max_id, limit, hidden)
        self._reads[source].inc()
        return page

    async def pulled_home(self, *, viewer_id: int, max_id: int | None, limit: int) -> TimelinePage:
        """The home timeline computed from the store alone (fan-out on read): the reference
        the hybrid timeline must equal, and the fallback when the cache is down."""
        authors = [viewer_id, *await self._store.followee_ids(viewer_id)]

        async def fetch(cursor: int | None, want: int) -> list[int]:
            return await self._store.tweet_ids_by_authors(authors, max_id=cursor, limit=want)

        hidden = await self._reader_context.hidden_author_ids(viewer_id)
        return await self._fill(fetch, max_id, limit, hidden)

    async def _fill(
        self,
        fetch: Callable[[int | None, int], Awaitable[list[int]]],
        max_id: int | None,
        limit: int,
        hidden_authors: AbstractSet[int],
    ) -> TimelinePage:
        """Page through ``fetch(cursor, want)`` (ids below cursor, newest first) until
        ``limit`` tweets are collected. Skipped: ids of deleted tweets, tweets and
        retweets involving ``hidden_authors``, and retweets whose content is already in
        the timeline (:func:`~starling.domain.feed.is_repeat`). The cursor is the last
        entry examined, and every decision depends only on the entry and the
        ``REPEAT_WINDOW`` entries after it, so pages neither skip nor repeat entries."""
        stream = _VisibleEntries(self, fetch, max_id, hidden_authors)
        items: list[TweetView] = []
        last: int | None = None
        while len(items) < limit:
            head = await stream.peek(0, want=limit - len(items))
            if head is None:
                # Out of fill rounds: go on next time after what was examined (entries
                # fetched but left out were all examined, so the fetch cursor is safe).
                return TimelinePage(items, (last or stream.cursor) if stream.truncated else None)
            if head.retweeted is None:
                # An original is older than all its retweets, so only a retweet can repeat
                # an older entry: the run of originals ahead goes in as it is.
                run = stream.pop_originals(limit - len(items))
                items.extend(run)
                last = run[-1].tweet.id
                continue
            # Look behind the retweet in the timeline for its original or another retweet.
            await stream.peek(REPEAT_WINDOW, want=REPEAT_WINDOW + 1)
            stream.pop()
            last = head.tweet.id
            if not is_repeat(head.content_id, stream.content_ids(REPEAT_WINDOW)):
                items.append(head)
        more = await stream.peek(0, want=1) is not None
        return TimelinePage(items, last if more else None)

    async def user_timeline(
        self, *, user_id: int, max_id: int | None, limit: int, viewer_id: int | None = None
    ) -> TimelinePage:
        """Tweets by ``user_id`` below ``max_id``, newest first. Raises ``UserNotFound``,
        and ``Forbidden`` when ``user_id`` blocks ``viewer_id`` (None: anonymous)."""
        if await self._store.get_user(user_id) is None:
            raise UserNotFound()
        if viewer_id is not None and await self._store.is_blocking(user_id, viewer_id):
            raise Forbidden("This user has blocked you.", code="blocked")
        ids = await self._store.tweet_ids_by_authors([user_id], max_id=max_id, limit=limit + 1)
        page_ids = ids[:limit]
        items = await self.hydrate(page_ids)
        return TimelinePage(items, page_ids[-1] if len(ids) > limit and page_ids else None)

    async def check_readable(self, view: TweetView, *, viewer_id: int | None) -> None:
        """Raise ``TweetNotFound`` when the tweet's author blocks ``viewer_id`` (None:
        anonymous): to a blocked user the blocker's tweets do not exist."""
        if viewer_id is None:
            return
        for author_id in {v.author.id for v in (view, view.retweeted) if v is not None}:
            if await self._store.is_blocking(author_id, viewer_id):
                raise TweetNotFound()

    async def visible(
        self, tweet_ids: Sequence[int], hidden_authors: AbstractSet[int]
    ) -> list[TweetView]:
        """Hydrated ``tweet_ids`` as seen by a reader who must not see ``hidden_authors``
        (see :meth:`TweetView.without_authors`); deleted ones dropped."""
        return [
            shown
            for v in await self.hydrate(tweet_ids)
            if (shown := v.without_authors(hidden_authors)) is not None
        ]

    async def hydrate(self, tweet_ids: Sequence[int]) -> list[TweetView]:
        """See :meth:`Hydrator.hydrate`."""
        return await self._hydrator.hydrate(tweet_ids)

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
