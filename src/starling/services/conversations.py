"""Conversations: the replies to a tweet and the chain a reply belongs to."""

from __future__ import annotations

import msgspec

from starling.ports import ConversationStore
from starling.services.hydration import Engagement, TweetView
from starling.services.read_pipeline import ReadPipeline, TweetPage


class Context(msgspec.Struct, frozen=True):
    """A tweet and its ancestors (the tweets it replies to, root first), with the
    engagement of all of them."""

    ancestors: list[TweetView]
    tweet: TweetView
    engagement: Engagement


class ConversationService:
    """Reads the reply tree through the :class:`ReadPipeline`: the tweet asked for is a
    read by id (not found when its author blocks the viewer); replies and ancestors are
    lists (tweets by authors hidden from the viewer left out, quotes of them without the
    quoted tweet)."""

    def __init__(self, *, store: ConversationStore, reads: ReadPipeline) -> None:
        self._store = store
        self._reads = reads

    async def replies(
        self, *, tweet_id: int, viewer_id: int | None, max_id: int | None, limit: int
    ) -> TweetPage:
        """Direct replies to ``tweet_id`` below ``max_id``, newest first, at most
        ``limit``, with their engagement; the cursor continues after the last reply
        examined. Replies to a retweet are the original's. Raises ``TweetNotFound`` for
        an unknown or deleted tweet, or one whose author blocks the viewer."""
        view, visibility = await self._reads.readable(tweet_id, viewer_id=viewer_id)
        target = (view.retweeted or view).tweet.id

        async def fetch(cursor: int | None, want: int) -> list[int]:
            return await self._store.reply_ids(target, max_id=cursor, limit=want)

        return await self._reads.page(fetch, visibility=visibility, max_id=max_id, limit=limit)

    async def context(self, *, tweet_id: int, viewer_id: int | None) -> Context:
        """The tweet with the chain of tweets it replies to, root first (deleted ones
        end the chain; hidden ones are left out). Raises ``TweetNotFound`` like
        :meth:`replies`."""
        view, visibility = await self._reads.readable(tweet_id, viewer_id=viewer_id)
        target = view.retweeted or view
        ancestor_ids = await self._store.ancestor_ids(target.tweet.id)
        ancestors = await self._reads.listed(ancestor_ids, visibility=visibility)
        engagement = await self._reads.engagement([*ancestors, view], viewer_id=viewer_id)
        return Context(ancestors, view, engagement)
