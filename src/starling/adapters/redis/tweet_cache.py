"""``TweetCache`` on Redis: serialized tweets shared by every API process.

Hydrating a page is then one ``MGET`` (docs/scale-out.md: ~7k pages/s hydrated from
Redis against ~5k from PostgreSQL), with the store answering only the misses.

Each tweet is a msgpack map (``msgspec.msgpack``: field names included, so a new field
with a default still decodes old entries, and removed fields are ignored) under
``<namespace>:tw:<tweet_id>`` with a time-to-live. An entry that does not decode (a
format change across a deploy) counts as a miss. Counts such as ``likes_count`` may lag
the store by up to the TTL unless the writer invalidates the entry.

Redis Cluster: these keys have no hash tag, so the tweets of one page live on many
slots, and Cluster rejects a multi-slot ``MGET``. On a cluster, ``get_many`` and
``invalidate`` would group ids by ``redis.cluster.key_slot(key)`` and send one command
per slot (in one pipeline per node); Starling targets a single Redis for now.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final, Self, cast

import msgspec
import redis.asyncio

from starling.adapters.redis import check_bytes_replies, connect, unavailable_as
from starling.domain.model import Tweet

TTL_S: Final = 3_600
"""Seconds a cached tweet lives (1 hour): long enough that a timeline's tweets are read
from the cache many times, short enough that a stale count heals by itself."""


class RedisTweetCache:
    """A shared cache of :class:`~starling.domain.model.Tweet` structs in Redis.

    ``client`` must return bytes (``decode_responses=False``; ``ValueError`` otherwise)
    and is closed by :meth:`close` only when ``owns_client``. ``ttl_s`` (seconds, > 0)
    is each entry's time-to-live. Every method raises
    :class:`~starling.ports.BackendUnavailable` when Redis cannot be reached.
    """

    def __init__(
        self,
        client: redis.asyncio.Redis,
        *,
        namespace: str = "starling",
        ttl_s: float = TTL_S,
        owns_client: bool = False,
    ) -> None:
        check_bytes_replies(client)
        ttl_ms = round(ttl_s * 1000)
        if ttl_ms < 1:
            raise ValueError("ttl_s must be at least 1 ms")
        self._client = client
        self._owns_client = owns_client
        self._prefix = f"{namespace}:tw:"
        self._ttl_ms = ttl_ms
        self._encoder = msgspec.msgpack.Encoder()
        self._decoder = msgspec.msgpack.Decoder(Tweet)

    @classmethod
    def from_url(cls, url: str, *, namespace: str = "starling", ttl_s: float = TTL_S) -> Self:
        """A cache on its own client for ``url`` (see :func:`starling.adapters.redis.connect`
        for its timeouts), closed by :meth:`close`. Connects on first use."""
        return cls(connect(url), namespace=namespace, ttl_s=ttl_s, owns_client=True)

    def key(self, tweet_id: int) -> str:
        """The Redis key of one cached tweet."""
        return f"{self._prefix}{tweet_id}"

    async def get_many(self, tweet_ids: Sequence[int]) -> dict[int, Tweet]:
        """The cached tweets among ``tweet_ids``, by id; misses are absent. One ``MGET``
        (none for an empty list)."""
        if not tweet_ids:
            return {}
        with unavailable_as("tweet cache"):
            # bytes, never str: check_bytes_replies() rejected decoding clients
            blobs = cast(list[bytes | None], await self._client.mget(map(self.key, tweet_ids)))
        found: dict[int, Tweet] = {}
        for tweet_id, blob in zip(tweet_ids, blobs, strict=True):
            if blob is None:
                continue
            try:
                found[tweet_id] = self._decoder.decode(blob)
            except msgspec.DecodeError:
                continue  # written by an incompatible version: a miss, the store answers
        return found

    async def put_many(self, tweets: Sequence[Tweet]) -> None:
        """Cache ``tweets``, each for ``ttl_s``: one pipeline of ``SET key value PX ttl``
        (one round trip, none for an empty list). Overwrites existing entries."""
        if not tweets:
            return
        pipe = self._client.pipeline(transaction=False)
        for tweet in tweets:
            pipe.set(self.key(tweet.id), self._encoder.encode(tweet), px=self._ttl_ms)
        with unavailable_as("tweet cache"):
            await pipe.execute()

    async def invalidate(self, tweet_ids: Sequence[int]) -> None:
        """Forget ``tweet_ids`` (after a delete or an edit): one ``DEL``."""
        if not tweet_ids:
            return
        with unavailable_as("tweet cache"):
            await self._client.delete(*(self.key(i) for i in tweet_ids))

    async def ping(self) -> None:
        """Raise :class:`~starling.ports.BackendUnavailable` if Redis does not answer."""
        with unavailable_as("tweet cache"):
            await self._client.ping()

    async def close(self) -> None:
        """Close the client's connections if this cache owns it."""
        if self._owns_client:
            await self._client.aclose()
