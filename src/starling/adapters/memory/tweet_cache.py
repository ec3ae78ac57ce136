"""``NullTweetCache``: the embedded default ``TweetCache``, which caches nothing.

On the embedded default the store is an in-process SQLite file: hydrating a page from it
is already a local, batched read, so a second in-process copy of the tweets would only
cost memory and invalidation work. The shared cache of serialized tweets pays off when
the store is a PostgreSQL server a network hop away (see
:class:`starling.adapters.redis.tweet_cache.RedisTweetCache`).
"""

from __future__ import annotations

from collections.abc import Sequence

from starling.domain.model import Tweet


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
