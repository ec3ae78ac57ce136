"""Hydration: tweet ids → tweets with their authors, engagement counts and the viewer's
flags, in as few round trips as a page allows (DESIGN.md: "batch hydrate tweets +
authors + viewer flags").

Two steps, so that timelines can page with the cheap one and annotate only the final
page: :meth:`Hydrator.hydrate` (tweets and authors) and :meth:`Hydrator.annotate`
(counts and viewer flags). Whatever a page holds, hydrating it costs a fixed number of
store queries: tweets (cache misses only), authors, media, counts, viewer flags.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import msgspec

from starling.domain.engagement import NO_COUNTS, NO_FLAGS, Counts, ViewerFlags
from starling.domain.media import Media
from starling.domain.model import Tweet, User
from starling.ports import BackendUnavailable, Store, TweetCache


class TweetView(msgspec.Struct, frozen=True):
    """A hydrated tweet: the row, its author, and (after :meth:`Hydrator.annotate`) its
    engagement counts and what the viewer did to it (``viewer`` None: no viewer).
    ``media``: the attached images in order (filled by :meth:`Hydrator.hydrate`)."""

    tweet: Tweet
    author: User
    counts: Counts = NO_COUNTS
    viewer: ViewerFlags | None = None
    media: tuple[Media, ...] = ()


class Hydrator:
    """Turns a page of tweet ids into :class:`TweetView` objects."""

    def __init__(self, *, store: Store, tweet_cache: TweetCache) -> None:
        self._store = store
        self._tweet_cache = tweet_cache

    async def hydrate(
        self, tweet_ids: Sequence[int], *, viewer_id: int | None = None, engagement: bool = False
    ) -> list[TweetView]:
        """Tweets and their authors for ``tweet_ids``, in the given order: one multi-get
        from the tweet cache, one store query for its misses, one for the authors, one
        for the attached media. Ids that no longer exist are dropped.

        With ``engagement`` (or a ``viewer_id``), also :meth:`annotate` the views: one
        query for the counts and, given ``viewer_id``, one for the viewer's flags.
        Without, counts are zero and ``viewer`` is None (the timelines annotate once per
        page instead of once per fill round).
        """
        tweets = await self._cached_tweets(tweet_ids)
        authors = await self._store.get_users({t.author_id for t in tweets.values()})
        media = await self._store.media_of_tweets(tweets)
        out: list[TweetView] = []
        for tweet_id in tweet_ids:
            tweet = tweets.get(tweet_id)
            if tweet is not None and (author := authors.get(tweet.author_id)) is not None:
                out.append(TweetView(tweet, author, media=tuple(media.get(tweet_id, ()))))
        if engagement or viewer_id is not None:
            return await self.annotate(out, viewer_id=viewer_id)
        return out

    async def annotate(
        self, views: Sequence[TweetView], *, viewer_id: int | None
    ) -> list[TweetView]:
        """``views`` with their engagement counts (one query for the whole page) and, given
        ``viewer_id``, the viewer's liked/retweeted flags (one more query). Counts are read
        from the store, never from a cached tweet, so they are never stale."""
        if not views:
            return []
        ids = [v.tweet.id for v in views]
        counts = await self._store.tweet_counts(ids)
        flags = await self._store.viewer_flags(viewer_id, ids) if viewer_id is not None else {}
        return [
            msgspec.structs.replace(
                v,
                counts=counts.get(v.tweet.id, NO_COUNTS),
                viewer=None if viewer_id is None else flags.get(v.tweet.id, NO_FLAGS),
            )
            for v in views
        ]

    async def _cached_tweets(self, tweet_ids: Sequence[int]) -> dict[int, Tweet]:
        try:
            found = await self._tweet_cache.get_many(tweet_ids)
        except BackendUnavailable:
            found = {}
        missing = [i for i in tweet_ids if i not in found]
        if missing:
            loaded = await self._store.get_tweets(missing)
            found.update(loaded)
            if loaded:
                with contextlib.suppress(BackendUnavailable):
                    await self._tweet_cache.put_many(list(loaded.values()))
        return found
