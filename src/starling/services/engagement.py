"""Likes and bookmarks, and the engagement shown on hydrated tweets."""

from __future__ import annotations

from collections.abc import Callable
from typing import Final, Protocol

import msgspec

from starling.domain.engagement import NO_COUNTS
from starling.domain.errors import TweetNotFound
from starling.domain.events import Liked, Unliked
from starling.domain.ids import SnowflakeGenerator
from starling.domain.model import Tweet, User
from starling.metrics import Metrics
from starling.ports import (
    BookmarkStore,
    Clock,
    ConversationStore,
    EngagementStore,
    EventLog,
    ModerationReads,
    TweetReads,
    UserReads,
)
from starling.services.read_pipeline import ReadPipeline, TweetPage


class LikeState(msgspec.Struct, frozen=True):
    """The answer to a like or unlike: whether the user now likes the tweet, and the
    tweet's like count right after the change (exact: counters commit with the like)."""

    tweet_id: int
    liked: bool
    likes_count: int


class _EngagementRows(
    EngagementStore,
    BookmarkStore,
    TweetReads,
    ModerationReads,
    ConversationStore,
    UserReads,
    Protocol,
):
    """Likes and bookmarks, the tweet and block checks made before writing them, and
    who liked or retweeted a tweet (their retweets and user rows)."""


LIKE_CURSOR_BASE: Final = 10**19
"""A like's position in a user's likes as one integer (the cursor of
``GET /api/v1/favourites``): ``liked_at_ms * LIKE_CURSOR_BASE + tweet_id``. Every tweet
id is below it (snowflakes are below 2**63 < 10**19), so the decimal text is the time
followed by the zero-padded tweet id: ordered as the likes are, opaque to clients."""


def like_cursor(liked_at_ms: int, tweet_id: int) -> int:
    """The position of a like (see :data:`LIKE_CURSOR_BASE`)."""
    return liked_at_ms * LIKE_CURSOR_BASE + tweet_id


def like_position(cursor: int) -> tuple[int, int]:
    """``(liked_at_ms, tweet_id)`` of a :func:`like_cursor`."""
    return divmod(cursor, LIKE_CURSOR_BASE)


class UserPage(msgspec.Struct, frozen=True):
    """Users as a list shows them, and the exclusive cursor of the next page (None on
    the last page); the cursor is the position of the last entry examined."""

    users: list[User]
    next_max_id: int | None


class EngagementService:
    """Like, unlike, bookmark; counts and viewer flags for a page of tweets."""

    def __init__(
        self,
        *,
        store: _EngagementRows,
        event_log: EventLog,
        ids: SnowflakeGenerator,
        clock: Clock,
        metrics: Metrics,
        reads: ReadPipeline,
    ) -> None:
        self._store = store
        self._reads = reads
        self._event_log = event_log
        self._ids = ids
        self._clock = clock
        self._metrics = metrics

    async def _tweet(self, tweet_id: int, user_id: int) -> Tweet:
        """What a like or bookmark of ``tweet_id`` by ``user_id`` acts on: the tweet, or
        the original of a retweet (as on Twitter). Raises ``TweetNotFound`` for an unknown
        or deleted tweet and for one whose author blocks the user."""
        tweet = await self._store.get_tweet(tweet_id)
        if tweet is not None and tweet.retweet_of_id is not None:
            tweet = await self._store.get_tweet(tweet.retweet_of_id)
        if tweet is None or await self._store.is_blocking(tweet.author_id, user_id):
            raise TweetNotFound()
        return tweet

    async def _likes_count(self, tweet_id: int) -> int:
        return (await self._store.tweet_counts([tweet_id])).get(tweet_id, NO_COUNTS).likes

    # --- likes -----------------------------------------------------------------------
    async def like(self, *, user_id: int, tweet_id: int) -> LikeState:
        """Like a tweet (idempotent: liking twice is one like). A new like commits with
        its ``Liked`` event (the notifier's input). Raises ``TweetNotFound`` for an
        unknown or deleted tweet."""
        tweet = await self._tweet(tweet_id, user_id)
        event = Liked(
            event_id=self._ids.next_id(),
            occurred_at_ms=self._clock.now_ms(),
            user_id=user_id,
            tweet_id=tweet.id,
            author_id=tweet.author_id,
        )
        if await self._store.like(user_id, tweet.id, [event]):
            self._event_log.notify()
        return LikeState(tweet.id, True, await self._likes_count(tweet.id))

    async def unlike(self, *, user_id: int, tweet_id: int) -> LikeState:
        """Take back a like (idempotent: a no-op when there is none). Raises
        ``TweetNotFound`` for an unknown or deleted tweet."""
        tweet = await self._tweet(tweet_id, user_id)
        event = Unliked(
            event_id=self._ids.next_id(),
            occurred_at_ms=self._clock.now_ms(),
            user_id=user_id,
            tweet_id=tweet.id,
            author_id=tweet.author_id,
        )
        if await self._store.unlike(user_id, tweet.id, [event]):
            self._event_log.notify()
        return LikeState(tweet.id, False, await self._likes_count(tweet.id))

    # --- bookmarks -------------------------------------------------------------------
    async def bookmark(self, *, user_id: int, tweet_id: int) -> bool:
        """Bookmark a tweet (idempotent: a repeat keeps the first bookmark's place in the
        list). Private to the user, so no event. Returns True if it was new. Raises
        ``TweetNotFound`` for an unknown or deleted tweet."""
        tweet = await self._tweet(tweet_id, user_id)
        return await self._store.bookmark(
            user_id, tweet.id, self._ids.next_id(), self._clock.now_ms()
        )

    async def unbookmark(self, *, user_id: int, tweet_id: int) -> bool:
        """Remove a bookmark (idempotent). Raises ``TweetNotFound`` when there was none and
        there is no such tweet (deleting a tweet deletes its bookmarks)."""
        if await self._store.unbookmark(user_id, tweet_id):
            return True
        tweet = await self._tweet(tweet_id, user_id)
        return tweet.id != tweet_id and await self._store.unbookmark(user_id, tweet.id)

    async def bookmarks(self, *, user_id: int, max_id: int | None, limit: int) -> TweetPage:
        """The user's bookmarked tweets with bookmark id below ``max_id`` (a cursor from a
        previous page: bookmark ids, not tweet ids), most recently bookmarked first, at
        most ``limit``, through the :class:`ReadPipeline`: since-deleted tweets and those
        hidden from the user (their author blocked either way or muted) are left out."""
        positions: dict[int, int] = {}

        async def fetch(cursor: int | None, want: int) -> list[int]:
            rows = await self._store.bookmarks_page(user_id, max_id=cursor, limit=want)
            positions.update((tweet_id, bookmark_id) for bookmark_id, tweet_id in rows)
            return [tweet_id for _, tweet_id in rows]

        visibility = await self._reads.visibility(user_id)
        return await self._reads.page(
            fetch,
            visibility=visibility,
            max_id=max_id,
            limit=limit,
            cursor_of=positions.__getitem__,
        )

    async def favourites(self, *, user_id: int, max_id: int | None, limit: int) -> TweetPage:
        """The tweets ``user_id`` likes, most recent like first, at most ``limit``, below
        the cursor ``max_id`` (a :func:`like_cursor` from a previous page: likes, not
        tweet ids), through the :class:`ReadPipeline`: tweets since deleted or hidden
        from the user are left out."""
        positions: dict[int, int] = {}

        async def fetch(cursor: int | None, want: int) -> list[int]:
            before = like_position(cursor) if cursor is not None else None
            rows = await self._store.likes_page(user_id, before=before, limit=want)
            positions.update((tweet_id, like_cursor(at, tweet_id)) for at, tweet_id in rows)
            return [tweet_id for _, tweet_id in rows]

        visibility = await self._reads.visibility(user_id)
        return await self._reads.page(
            fetch,
            visibility=visibility,
            max_id=max_id,
            limit=limit,
            cursor_of=positions.__getitem__,
        )

    async def likers(
        self, *, tweet_id: int, viewer_id: int | None, max_id: int | None, limit: int
    ) -> UserPage:
        """Who likes ``tweet_id`` (a retweet's: the original's), highest user id first,
        below ``max_id``: users hidden from the viewer are left out (a page may come
        short; its cursor goes on). Raises ``TweetNotFound`` where reading the tweet by
        id would (:meth:`ReadPipeline.readable`)."""
        view, visibility = await self._reads.readable(tweet_id, viewer_id=viewer_id)
        ids = await self._store.liker_ids(view.content_id, max_id=max_id, limit=limit)
        return await self._users(ids, ids, visibility.hides, limit)

    async def retweeters(
        self, *, tweet_id: int, viewer_id: int | None, max_id: int | None, limit: int
    ) -> UserPage:
        """Who retweeted ``tweet_id`` (a retweet's: the original's), most recent retweet
        first, below the retweet id ``max_id``; users hidden from the viewer are left out.
        Raises ``TweetNotFound`` as :meth:`likers`."""
        view, visibility = await self._reads.readable(tweet_id, viewer_id=viewer_id)
        rows = await self._store.retweets_page(view.content_id, max_id=max_id, limit=limit)
        return await self._users(
            [retweet for retweet, _ in rows], [user for _, user in rows], visibility.hides, limit
        )

    async def _users(
        self,
        positions: list[int],
        user_ids: list[int],
        hidden: Callable[[int], bool],
        limit: int,
    ) -> UserPage:
        shown = [u for u in user_ids if not hidden(u)]
        found = await self._store.get_users(shown)
        users = [found[u] for u in shown if u in found]
        return UserPage(users, positions[-1] if len(positions) >= limit else None)
