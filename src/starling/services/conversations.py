"""Conversations: the replies to a tweet and the chain a reply belongs to."""

from __future__ import annotations

from collections.abc import Set as AbstractSet

import msgspec

from starling.domain.errors import TweetNotFound
from starling.ports import Store
from starling.services.hydration import TweetView
from starling.services.reader_context import ReaderContextCache
from starling.services.timelines import TimelinePage, TimelineService


class Context(msgspec.Struct, frozen=True):
    """A tweet and its ancestors (the tweets it replies to, root first)."""

    ancestors: list[TweetView]
    tweet: TweetView


class ConversationService:
    """Reads the reply tree. Tweets by users hidden from the viewer (blocked either way,
    muted) are left out of replies and ancestors; a tweet whose author blocks the
    viewer is, to them, not found."""

    def __init__(
        self, *, store: Store, timelines: TimelineService, reader_context: ReaderContextCache
    ) -> None:
        self._store = store
        self._timelines = timelines
        self._reader_context = reader_context

    async def _readable(self, tweet_id: int, viewer_id: int | None) -> TweetView:
        views = await self._timelines.hydrate([tweet_id])
        if not views:
            raise TweetNotFound()
        await self._timelines.check_readable(views[0], viewer_id=viewer_id)
        return views[0]

    async def _hidden(self, viewer_id: int | None) -> AbstractSet[int]:
        if viewer_id is None:
            return frozenset()
        return await self._reader_context.hidden_author_ids(viewer_id)

    async def replies(
        self, *, tweet_id: int, viewer_id: int | None, max_id: int | None, limit: int
    ) -> TimelinePage:
        """Direct replies to ``tweet_id`` below ``max_id``, newest first, at most
        ``limit`` (a page may come short when hidden authors' replies are left out; the
        cursor continues after the last reply examined). Replies to a retweet are the
        original's. Raises ``TweetNotFound`` for an unknown or deleted tweet, or one whose
        author blocks the viewer."""
        view = await self._readable(tweet_id, viewer_id)
        target = view.retweeted or view
        ids = await self._store.reply_ids(target.tweet.id, max_id=max_id, limit=limit + 1)
        page_ids = ids[:limit]
        items = await self._timelines.visible(page_ids, await self._hidden(viewer_id))
        return TimelinePage(items, page_ids[-1] if len(ids) > limit and page_ids else None)

    async def context(self, *, tweet_id: int, viewer_id: int | None) -> Context:
        """The tweet with the chain of tweets it replies to, root first (deleted ones
        end the chain). Raises ``TweetNotFound`` like :meth:`replies`."""
        view = await self._readable(tweet_id, viewer_id)
        target = view.retweeted or view
        ancestor_ids = await self._store.ancestor_ids(target.tweet.id)
        ancestors = await self._timelines.visible(ancestor_ids, await self._hidden(viewer_id))
        return Context(ancestors, view)
