"""THE read pipeline: every read of tweets or notifications goes through it.

    ids → hydrate → visible (:mod:`starling.domain.visibility`) → page → engagement

- **ids**: each surface gives a ``fetch(below, want)`` of ids, newest first (a home
  timeline's cached and pulled ids, a user's tweets, search matches, replies, bookmarks),
  or asks for one tweet by id; notifications come from the inbox.
- **hydrate**: :meth:`Hydrator.hydrate` (tweets, authors, media; deleted ones dropped).
- **visible**: the viewer's :class:`~starling.domain.visibility.Visibility`, loaded in
  one place (:meth:`ReadPipeline.viewer_context`), decides what is left out, what is
  shown without its quoted tweet, and what is not found.
- **page**: one paging loop (:func:`collect`) fetches again when entries drop out, at
  most :data:`MAX_FILL_ROUNDS` rounds, and returns the cursor of the last entry
  examined: pages neither skip nor repeat entries. The home timeline also leaves out
  repeated retweets (:func:`~starling.domain.feed.is_repeat`).
- **engagement**: counts and the viewer's flags of the final page only
  (:meth:`Hydrator.engagement`).

What a surface returns is what its route renders: views with their engagement and the
next cursor. A new surface adds a fetch and a row to the visibility matrix test
(``tests/api/test_visibility_matrix.py``), never a filter of its own.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Awaitable, Callable, Collection, Sequence
from typing import Final, Generic, Protocol, TypeVar

import msgspec

from starling.domain.errors import TweetNotFound
from starling.domain.feed import REPEAT_WINDOW, FanoutPolicy, is_repeat
from starling.domain.model import User
from starling.domain.notifications import Notification
from starling.domain.visibility import EVERYONE, Visibility
from starling.ports import FollowReads, ModerationReads, NotificationReads, UserReads
from starling.services.hydration import NO_ENGAGEMENT, Engagement, Hydrator, TweetView
from starling.services.tweets import Posted

MAX_FILL_ROUNDS = 4
"""Fetches per page when entries drop out (deleted, hidden, repeated), before a short
page is returned (its cursor lets the next page go on from the last entry examined)."""

Fetch = Callable[[int | None, int], Awaitable[Sequence[int]]]
"""``fetch(below, want)``: at most ``want`` tweet ids of a surface with a position below
the cursor ``below`` (None: from the newest), newest first."""

_R = TypeVar("_R")
_T = TypeVar("_T")


# --- what reads return ------------------------------------------------------------------
class TweetPage(msgspec.Struct, frozen=True):
    """Tweets as the viewer sees them, newest first, with their engagement;
    ``next_max_id`` is the exclusive cursor of the next page (None on the last page)."""

    items: list[TweetView]
    engagement: Engagement
    next_max_id: int | None

    @property
    def has_more(self) -> bool:
        return self.next_max_id is not None


NO_TWEETS: Final = TweetPage([], Engagement({}, None), None)
"""An empty last page (e.g. a search from a user who does not exist)."""


class TweetRead(msgspec.Struct, frozen=True):
    """One tweet as the viewer sees it, with its engagement."""

    view: TweetView
    engagement: Engagement


class NotificationEntry(msgspec.Struct, frozen=True):
    """A notification as the reader sees it: its actor, its tweet (None for a follow)
    and whether it is read (its id at or below the reader's read mark)."""

    notification: Notification
    actor: User
    tweet: TweetView | None
    read: bool

    @property
    def id(self) -> int:
        return self.notification.id


class NotificationPage(msgspec.Struct, frozen=True):
    """One page of the inbox, newest first, with the engagement of its tweets, the
    unread count, and the exclusive cursor of the next page (None on the last)."""

    items: list[NotificationEntry]
    engagement: Engagement
    unread_count: int
    next_max_id: int | None

    @property
    def has_more(self) -> bool:
        return self.next_max_id is not None


class ViewerContext(msgspec.Struct, frozen=True):
    """What a read knows of its viewer: the visibility rule's relations and, when asked,
    the celebrities they follow (pulled at read, not pushed)."""

    visibility: Visibility
    celebrity_ids: Sequence[int] = ()


# --- the one paging loop ----------------------------------------------------------------
class _Entries(Generic[_R, _T]):
    """A surface as a lazy stream of admitted entries: fetched in rounds of what the
    caller says it will want, admitted (hydrated, visible), at most ``MAX_FILL_ROUNDS``
    rounds per page (then the stream ends early: ``truncated``)."""

    def __init__(
        self,
        fetch: Callable[[int | None, int], Awaitable[Sequence[_R]]],
        admit: Callable[[Sequence[_R]], Awaitable[list[_T]]],
        position: Callable[[_R], int],
        max_id: int | None,
    ) -> None:
        self._fetch = fetch
        self._admit = admit
        self._position = position
        self.cursor = max_id
        """The position of the last entry fetched so far."""
        self._buffer: deque[_T] = deque()
        self._exhausted = False
        self._rounds = 0
        self.truncated = False
        """True when the stream ended for want of rounds, not for want of entries."""

    async def peek(self, index: int, *, want: int) -> _T | None:
        """The entry ``index`` places ahead (None past the end), fetching ``want`` more
        entries per round while the buffer is too short."""
        while len(self._buffer) <= index and not self._exhausted:
            if self._rounds == MAX_FILL_ROUNDS:
                self.truncated = True
                break
            self._rounds += 1
            raw = await self._fetch(self.cursor, want + 1)
            self._buffer.extend(await self._admit(raw))
            self.cursor = self._position(raw[-1]) if raw else self.cursor
            self._exhausted = len(raw) <= want
        return self._buffer[index] if index < len(self._buffer) else None

    def pop(self) -> _T:
        return self._buffer.popleft()

    def pop_run(self, most: int, stop: Callable[[_T], bool] | None) -> list[_T]:
        """Up to ``most`` leading buffered entries, ending before one ``stop`` says is
        to be looked at alone (at least the head, which the caller peeked)."""
        buffer = self._buffer
        taken = [buffer.popleft()]
        while buffer and len(taken) < most and (stop is None or not stop(buffer[0])):
            taken.append(buffer.popleft())
        return taken

    def ahead(self, window: int) -> list[_T]:
        """The next ``window`` buffered entries."""
        return list(itertools.islice(self._buffer, window))


class Repeats(Generic[_T]):
    """The repeat window of a home timeline: which entries are retweets, and what they
    show (see :func:`~starling.domain.feed.is_repeat`)."""

    def __init__(self, is_retweet: Callable[[_T], bool], content_id: Callable[[_T], int]) -> None:
        self.is_retweet = is_retweet
        self.content_id = content_id


async def collect(
    fetch: Callable[[int | None, int], Awaitable[Sequence[_R]]],
    admit: Callable[[Sequence[_R]], Awaitable[list[_T]]],
    *,
    fetched_position: Callable[[_R], int],
    position: Callable[[_T], int],
    max_id: int | None,
    limit: int,
    repeats: Repeats[_T] | None = None,
    min_id: int | None = None,
) -> tuple[list[_T], int | None]:
    """Page through ``fetch(cursor, want)`` (entries below the cursor, newest first)
    until ``limit`` entries pass ``admit`` (which hydrates a batch and leaves out what
    the viewer must not see); with ``repeats``, retweets whose content shows among the
    ``REPEAT_WINDOW`` entries after them are left out too. Returns the entries and the
    next cursor: the position of the last entry examined, None when nothing is left.
    Every decision depends only on an entry and the ``REPEAT_WINDOW`` entries after it,
    so pages neither skip nor repeat entries. ``min_id``: a floor, the page ends at the
    first entry at or below it (the entries below still serve as the repeat window, so
    a bounded page decides exactly as an unbounded one); the cursor is then None."""
    stream = _Entries(fetch, admit, fetched_position, max_id)
    is_retweet = repeats.is_retweet if repeats is not None else None

    def at_floor(entry: _T) -> bool:
        return min_id is not None and position(entry) <= min_id

    def stop(entry: _T) -> bool:
        return at_floor(entry) or (is_retweet is not None and is_retweet(entry))

    items: list[_T] = []
    last: int | None = None
    while len(items) < limit:
        head = await stream.peek(0, want=limit - len(items))
        if head is not None and at_floor(head):
            return items, None
        if head is None:
            # Out of fill rounds: go on next time after what was examined (entries
            # fetched but left out were all examined, so the fetch cursor is safe).
            return items, (last or stream.cursor) if stream.truncated else None
        if repeats is None or not repeats.is_retweet(head):
            # An original is older than all its retweets, so only a retweet can repeat
            # an older entry: the run of originals ahead goes in as it is.
            run = stream.pop_run(limit - len(items), stop)
            items.extend(run)
            last = position(run[-1])
            continue
        # Look behind the retweet in the timeline for its original or another retweet.
        await stream.peek(REPEAT_WINDOW, want=REPEAT_WINDOW + 1)
        stream.pop()
        last = position(head)
        window = [repeats.content_id(e) for e in stream.ahead(REPEAT_WINDOW)]
        if not is_repeat(repeats.content_id(head), window):
            items.append(head)
    # A full page: there is more when an entry is ahead, or when the rounds ran out
    # before one could be found (the next page looks on from the last entry).
    ahead = await stream.peek(0, want=1)
    more = (ahead is not None and not at_floor(ahead)) or stream.truncated
    return items, last if more else None


_HOME_REPEATS: Repeats[TweetView] = Repeats(
    lambda v: v.retweeted is not None, lambda v: v.content_id
)


def _tweet_id(view: TweetView) -> int:
    return view.tweet.id


def _itself(tweet_id: int) -> int:
    return tweet_id


ABOVE_PAGE: Final = 200
"""Ids read per round when walking a surface down to a floor (:func:`ids_above`)."""


async def ids_above(
    fetch: Callable[[int | None, int], Awaitable[Sequence[int]]], *, min_id: int, limit: int
) -> list[int]:
    """The ``limit`` positions of a surface just above ``min_id``, oldest first: the
    surface read newest first (``fetch(below, want)``) down to the floor,
    :data:`ABOVE_PAGE` a round. The "page just above a cursor" of clients that read
    forward in time (Mastodon's ``min_id``); its cost grows with how far the floor is
    below the newest entry."""
    found: list[int] = []
    cursor: int | None = None
    while True:
        ids = await fetch(cursor, ABOVE_PAGE)
        found.extend(i for i in ids if i > min_id)
        if len(ids) < ABOVE_PAGE or ids[-1] <= min_id:
            break
        cursor = ids[-1]
    return found[::-1][:limit]


# --- the pipeline -----------------------------------------------------------------------
class _PipelineReads(FollowReads, UserReads, ModerationReads, NotificationReads, Protocol):
    """What the read pipeline reads besides hydration: the viewer's context (hidden
    authors, followed celebrities), users and the notification inbox. Reads only."""


class ReadPipeline:
    """Every read of tweets and notifications (see the module docstring). Surfaces
    (timelines, search, conversations, bookmarks, notifications, the stream) give it
    their ids; it hydrates, applies the visibility rule, pages and adds engagement."""

    def __init__(self, *, store: _PipelineReads, hydrator: Hydrator, policy: FanoutPolicy) -> None:
        self._store = store
        self._hydrator = hydrator
        self._policy = policy

    # --- viewer context: the one place it is loaded ------------------------------------
    async def viewer_context(
        self,
        viewer_id: int | None,
        *,
        naming: Collection[int] = (),
        celebrities: bool = False,
    ) -> ViewerContext:
        """What reads know of ``viewer_id`` (None: anonymous, nothing hidden): the
        authors hidden from them (blocked either way, muted), which of the authors
        ``naming`` (those a read asks for by name) block them, and, with
        ``celebrities``, the celebrities they follow. Hidden authors and celebrities
        come from the store (which keeps them per process); a block is looked up
        only for a named author who is hidden at all (one store query each)."""
        if viewer_id is None:
            return ViewerContext(EVERYONE)
        hidden = frozenset(await self._store.hidden_author_ids(viewer_id))
        blockers = frozenset(
            [a for a in set(naming) if a in hidden and await self._store.is_blocking(a, viewer_id)]
        )
        followed = (
            await self._store.celebrity_followee_ids(viewer_id, self._policy.threshold)
            if celebrities
            else ()
        )
        return ViewerContext(Visibility(viewer_id, hidden, blockers), followed)

    async def visibility(
        self, viewer_id: int | None, *, naming: Collection[int] = ()
    ) -> Visibility:
        """The viewer's :class:`Visibility` (see :meth:`viewer_context`)."""
        return (await self.viewer_context(viewer_id, naming=naming)).visibility

    async def followed_celebrities(self, viewer_id: int) -> Sequence[int]:
        """The celebrities ``viewer_id`` follows (see :meth:`viewer_context`)."""
        return (await self.viewer_context(viewer_id, celebrities=True)).celebrity_ids

    # --- tweets ------------------------------------------------------------------------
    async def page(
        self,
        fetch: Fetch,
        *,
        visibility: Visibility,
        max_id: int | None,
        limit: int,
        repeats: bool = False,
        cursor_of: Callable[[int], int] | None = None,
        min_id: int | None = None,
        keep: Callable[[TweetView], bool] | None = None,
    ) -> TweetPage:
        """A page of at most ``limit`` tweets from ``fetch`` below the cursor ``max_id``
        as the viewer of ``visibility`` sees them (see :func:`collect`), with their
        engagement. ``repeats``: leave out repeated retweets (the home timeline).
        ``cursor_of``: the position of a fetched tweet id when a surface pages by
        something else (bookmarks page by bookmark id); default, the id itself.
        ``min_id``: only entries above this position (see :func:`collect`); ``keep``: a
        surface's own selection (e.g. no replies), applied after the visibility rule
        (what it leaves out counts as examined, like a hidden entry)."""
        of = cursor_of or _itself

        async def admit(ids: Sequence[int]) -> list[TweetView]:
            listed = await self.listed(ids, visibility=visibility)
            return listed if keep is None else [v for v in listed if keep(v)]

        items, cursor = await collect(
            fetch,
            admit,
            fetched_position=of,
            position=lambda v: of(v.tweet.id),
            max_id=max_id,
            limit=limit,
            repeats=_HOME_REPEATS if repeats else None,
            min_id=min_id,
        )
        engagement = await self._hydrator.engagement(items, viewer_id=visibility.viewer_id)
        return TweetPage(items, engagement, cursor)

    async def listed(self, tweet_ids: Sequence[int], *, visibility: Visibility) -> list[TweetView]:
        """Hydrated ``tweet_ids`` as shown in a list (no engagement): deleted and hidden
        ones left out, quotes of hidden authors without the quoted tweet."""
        views = await self._hydrator.hydrate(tweet_ids)
        if not visibility.hidden:
            return views
        return [shown for v in views if (shown := visibility.shown(v)) is not None]

    async def readable(
        self, tweet_id: int, *, viewer_id: int | None
    ) -> tuple[TweetView, Visibility]:
        """``tweet_id`` as the viewer sees it when asking for it by id, and their
        :class:`Visibility` (for what the read lists next, e.g. its replies). Raises
        ``TweetNotFound`` for an unknown or deleted tweet, and for one whose author, or
        whose retweeted original's author, blocks the viewer."""
        views = await self._hydrator.hydrate([tweet_id])
        if not views:
            raise TweetNotFound()
        view = views[0]
        named = [view.author.id] + ([view.retweeted.author.id] if view.retweeted else [])
        visibility = await self.visibility(viewer_id, naming=named)
        shown = visibility.read_directly(view)
        if shown is None:
            raise TweetNotFound()
        return shown, visibility

    async def read(self, tweet_id: int, *, viewer_id: int | None) -> TweetRead:
        """One tweet by id, with engagement (see :meth:`readable` for the errors)."""
        view, _ = await self.readable(tweet_id, viewer_id=viewer_id)
        return TweetRead(view, await self.engagement([view], viewer_id=viewer_id))

    async def posted(self, posted: Posted, *, viewer_id: int) -> TweetRead:
        """A tweet ``viewer_id`` just posted, as they see it: nothing to read back but a
        quoted tweet (shown by the rule), and no engagement lookup (nobody, the author
        included, has engaged with it yet)."""
        view = TweetView(posted.tweet, posted.author, posted.media)
        if posted.tweet.quote_tweet_id is not None:
            view, _ = await self.readable(posted.tweet.id, viewer_id=viewer_id)
        return TweetRead(view, NO_ENGAGEMENT)

    async def live_tweet(self, tweet_id: int, *, viewer_id: int) -> TweetRead | None:
        """A tweet arriving on ``viewer_id``'s live stream as a list shows it; None when
        it is gone or hidden."""
        visibility = await self.visibility(viewer_id)
        views = await self.listed([tweet_id], visibility=visibility)
        if not views:
            return None
        return TweetRead(views[0], await self.engagement(views, viewer_id=viewer_id))

    async def engagement(self, views: Sequence[TweetView], *, viewer_id: int | None) -> Engagement:
        """Counts of ``views`` and the viewer's flags (see :meth:`Hydrator.engagement`)."""
        return await self._hydrator.engagement(views, viewer_id=viewer_id)

    # --- notifications -----------------------------------------------------------------
    async def notifications(
        self,
        *,
        viewer_id: int,
        max_id: int | None,
        limit: int,
        min_id: int | None = None,
        types: Collection[str] | None = None,
    ) -> NotificationPage:
        """``viewer_id``'s notifications below ``max_id``, newest first, at most
        ``limit``, paged like tweets (:func:`collect`): left out are those whose actor
        is gone or hidden from the viewer, and those whose tweet is gone or hidden (a
        reply, mention or retweet by a hidden author; the worker removes a deleted
        tweet's); a tweet quoting a hidden author is shown without the quoted tweet.
        ``min_id``: only notifications above it; ``types``: only these types."""
        visibility = await self.visibility(viewer_id)
        read_mark = await self._store.read_mark(viewer_id)

        async def fetch(cursor: int | None, want: int) -> Sequence[Notification]:
            return await self._store.notifications_page(viewer_id, max_id=cursor, limit=want)

        async def admit(rows: Sequence[Notification]) -> list[NotificationEntry]:
            if types is not None:
                rows = [n for n in rows if n.type in types]
            return await self._notification_entries(rows, visibility, read_mark)

        items, cursor = await collect(
            fetch,
            admit,
            fetched_position=lambda n: n.id,
            position=lambda e: e.id,
            max_id=max_id,
            limit=limit,
            min_id=min_id,
        )
        return NotificationPage(
            items,
            await self._notification_engagement(items, viewer_id),
            await self._store.unread_count(viewer_id),
            cursor,
        )

    async def notification(
        self, notification_id: int, *, viewer_id: int
    ) -> tuple[NotificationEntry, Engagement] | None:
        """One notification of ``viewer_id`` (arriving live) as :meth:`notifications`
        shows it, with its tweet's engagement; None when gone or left out."""
        rows = await self._store.notifications_page(viewer_id, max_id=notification_id + 1, limit=1)
        if not rows or rows[0].id != notification_id:
            return None
        visibility = await self.visibility(viewer_id)
        read_mark = await self._store.read_mark(viewer_id)
        entries = await self._notification_entries(rows, visibility, read_mark)
        if not entries:
            return None
        return entries[0], await self._notification_engagement(entries, viewer_id)

    async def _notification_entries(
        self, rows: Sequence[Notification], visibility: Visibility, read_mark: int
    ) -> list[NotificationEntry]:
        rows = [n for n in rows if not visibility.hides(n.actor_id)]
        actors = await self._store.get_users({n.actor_id for n in rows})
        tweet_ids = [n.tweet_id for n in rows if n.tweet_id is not None]
        tweets = {v.tweet.id: v for v in await self.listed(tweet_ids, visibility=visibility)}
        entries: list[NotificationEntry] = []
        for n in rows:
            actor = actors.get(n.actor_id)
            tweet = tweets.get(n.tweet_id) if n.tweet_id is not None else None
            if actor is None or (n.tweet_id is not None and tweet is None):
                continue
            entries.append(NotificationEntry(n, actor, tweet, n.id <= read_mark))
        return entries

    async def _notification_engagement(
        self, entries: Sequence[NotificationEntry], viewer_id: int
    ) -> Engagement:
        views = [e.tweet for e in entries if e.tweet is not None]
        return await self.engagement(views, viewer_id=viewer_id)
