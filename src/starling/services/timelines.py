"""Home and user timelines: cached ids (push) merged with celebrities' ids (pull).

Read path (DESIGN.md "Data flow"): the home ids below the cursor from
:meth:`FeedManager.home_ids` (cached ids ⊕ recent ids of the celebrities the viewer
follows, k-way merged newest-first) → hydrate tweets and authors
in one batch each → drop what no longer exists and what the viewer must not see
(authors blocked either way or muted) → page + cursor. The hidden authors come from the
per-process :class:`ReaderContextCache`, so a read usually runs no query for them.
"""

from __future__ import annotations

import itertools
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from collections.abc import Set as AbstractSet

import msgspec

from starling.domain.errors import Forbidden, TweetNotFound, UserNotFound
from starling.domain.feed import REPEAT_WINDOW, is_repeat
from starling.metrics import Metrics
from starling.ports import BackendUnavailable, Store
from starling.services.feed_manager import FeedManager
from starling.services.hydration import Hydrator, TweetView
from starling.services.reader_context import ReaderContextCache

log = logging.getLogger(__name__)

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
        feed: FeedManager,
        hydrator: Hydrator,
        metrics: Metrics,
        reader_context: ReaderContextCache,
    ) -> None:
        self._store = store
        self._feed = feed
        self._reader_context = reader_context
        self._hydrator = hydrator
        self._pulled_reads = metrics.timeline_reads.labels(source="store")

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
            self._pulled_reads.inc()
            return await self.pulled_home(viewer_id=viewer_id, max_id=max_id, limit=limit)

    async def _hybrid_home(self, viewer_id: int, max_id: int | None, limit: int) -> TimelinePage:
        async def fetch(cursor: int | None, want: int) -> list[int]:
            return await self._feed.home_ids(viewer_id, max_id=cursor, limit=want)

        hidden = await self._reader_context.hidden_author_ids(viewer_id)
        return await self._fill(fetch, max_id, limit, hidden)

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
