"""Hydration: tweet ids → tweets with their authors, in as few round trips as a page
allows (DESIGN.md: "batch hydrate tweets + authors + viewer flags")."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

import msgspec

from starling.domain.model import Tweet, User
from starling.ports import BackendUnavailable, Store, TweetCache


class TweetView(msgspec.Struct, frozen=True):
    """A hydrated tweet: the row and its author."""

    tweet: Tweet
    author: User


class Hydrator:
    """Turns a page of tweet ids into :class:`TweetView` objects."""

    def __init__(self, *, store: Store, tweet_cache: TweetCache) -> None:
        self._store = store
        self._tweet_cache = tweet_cache

    async def hydrate(self, tweet_ids: Sequence[int]) -> list[TweetView]:
        """Tweets and their authors for ``tweet_ids``, in the given order: one multi-get
        from the tweet cache, one store query for its misses, one for the authors. Ids
        that no longer exist are dropped."""
        tweets = await self._cached_tweets(tweet_ids)
        authors = await self._store.get_users({t.author_id for t in tweets.values()})
        out: list[TweetView] = []
        for tweet_id in tweet_ids:
            tweet = tweets.get(tweet_id)
            if tweet is not None and (author := authors.get(tweet.author_id)) is not None:
                out.append(TweetView(tweet, author))
        return out

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
