"""In-process ``TweetCache`` adapters for the embedded default.

:class:`MemoryTweetCache` keeps the most recently read tweets of this process (an LRU):
on the embedded default there is one process, so its copy is the only one and a delete
invalidates it (``TweetService.delete``). Hydrating a page of hot tweets then costs no
SQLite query at all. :class:`NullTweetCache` caches nothing (every lookup misses), for
callers that want every read to go to the store.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

from starling.domain.model import Tweet

DEFAULT_MAX_TWEETS = 100_000
"""Entries kept before the least recently used is dropped. A cached tweet is a small
struct plus its text (~300-400 bytes in CPython), so 100,000 cost ~40 MB: the real data
set's 102,655 tweets nearly all fit, and a home page of 20-50 ids hits far more often
than it misses."""


class MemoryTweetCache:
    """A bounded LRU ``TweetCache`` in this process (not shared between processes, so
    only for the embedded default, where the API and the workers share one process)."""

    def __init__(self, max_tweets: int = DEFAULT_MAX_TWEETS) -> None:
        if max_tweets < 1:
            raise ValueError("max_tweets must be at least 1")
        self._max = max_tweets
        self._tweets: OrderedDict[int, Tweet] = OrderedDict()

    def __len__(self) -> int:
        return len(self._tweets)

    async def get_many(self, tweet_ids: Sequence[int]) -> dict[int, Tweet]:
        """The cached tweets among ``tweet_ids``; each hit becomes most recently used."""
        found: dict[int, Tweet] = {}
        cached = self._tweets
        for tweet_id in tweet_ids:
            tweet = cached.get(tweet_id)
            if tweet is not None:
                cached.move_to_end(tweet_id)
                found[tweet_id] = tweet
        return found

    async def put_many(self, tweets: Sequence[Tweet]) -> None:
        """Cache ``tweets``, dropping the least recently used beyond the bound."""
        cached = self._tweets
        for tweet in tweets:
            cached[tweet.id] = tweet
            cached.move_to_end(tweet.id)
        while len(cached) > self._max:
            cached.popitem(last=False)

    async def invalidate(self, tweet_ids: Sequence[int]) -> None:
        for tweet_id in tweet_ids:
            self._tweets.pop(tweet_id, None)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        self._tweets.clear()


class NullTweetCache:
    """A ``TweetCache`` that holds nothing: every lookup misses, so the store answers all.

    Writes and invalidations are accepted and forgotten; ``ping`` always answers.
    """

    async def get_many(self, tweet_ids: Sequence[int]) -> dict[int, Tweet]:
        """Always ``{}``: every id is a miss."""
        return {}

    async def put_many(self, tweets: Sequence[Tweet]) -> None:
        return None

    async def invalidate(self, tweet_ids: Sequence[int]) -> None:
        return None

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        return None
