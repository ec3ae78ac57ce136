"""``TrendCounter`` on Redis: hashtag counts every API node and worker shares.

The worker processes count (the ``trends`` consumer group); any API process answers
``GET /api/starling/v1/trends`` from the same keys. Layout, under ``<namespace>:trends:{trends}:``:

- ``m:<minute>``: sorted set tag → tweets in that 1-minute bucket (minute = Unix ms //
  bucket_ms), expiring ``window + 2 buckets`` after its last write;
- ``h:<hour>``: the same per hour, for the baseline, expiring after ``baseline + window``;
- ``seen:<tweet_id>``: a tweet already counted (``SET NX``), so a re-delivered event is
  not counted twice.

Bounded memory: every bucket keeps only its :data:`BUCKET_TOP` heaviest tags (after
each increment ``ZREMRANGEBYRANK`` drops the lightest beyond that): a top-k summary per
bucket, where the memory adapter keeps a count-min sketch. A tag outside a minute's
top 2,000 cannot trend; the tail it drops is what the sketch would blur. The window is
``ZUNIONSTORE`` of the window's minute buckets (summed server-side) read with
``ZREVRANGE``; the baseline rate of each candidate is its mean per-minute count over the
hour buckets of the ``baseline_ms`` before the window that hold any data.

Redis Cluster: every key carries the hash tag ``{trends}`` so that ``ZUNIONSTORE`` over
many buckets stays on one slot.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Final, Self, cast

import redis.asyncio

from starling.adapters.redis import check_bytes_replies, connect, unavailable_as
from starling.domain.trends import TagCount, TrendConfig

BUCKET_TOP: Final = 2_000
"""Tags kept per time bucket (the heaviest)."""

HOUR_MS: Final = 3_600_000


class RedisTrendCounter:
    """The ``TrendCounter`` port on Redis (module docstring). ``client`` must return
    bytes; it is closed by :meth:`close` only when ``owns_client``. Every method raises
    :class:`~starling.ports.BackendUnavailable` when Redis cannot be reached."""

    def __init__(
        self,
        client: redis.asyncio.Redis,
        *,
        namespace: str = "starling",
        config: TrendConfig | None = None,
        owns_client: bool = False,
    ) -> None:
        check_bytes_replies(client)
        self._client = client
        self._owns_client = owns_client
        self._prefix = f"{namespace}:trends:{{trends}}:"
        self.config = config or TrendConfig()

    @classmethod
    def from_url(
        cls, url: str, *, namespace: str = "starling", config: TrendConfig | None = None
    ) -> Self:
        """A counter on its own client for ``url``, closed by :meth:`close`."""
        return cls(connect(url), namespace=namespace, config=config, owns_client=True)

    def _minute_key(self, minute: int) -> str:
        return f"{self._prefix}m:{minute}"

    def _hour_key(self, hour: int) -> str:
        return f"{self._prefix}h:{hour}"

    async def add(self, tweet_id: int, tags: Sequence[str], at_ms: int) -> None:
        if not tags:
            return
        cfg = self.config
        with unavailable_as("trends"):
            first = await self._client.set(
                f"{self._prefix}seen:{tweet_id}", b"1", nx=True, px=cfg.window_ms + cfg.baseline_ms
            )
            if not first:
                return
            pipe = self._client.pipeline(transaction=False)
            for key, ttl_ms in (
                (self._minute_key(at_ms // cfg.bucket_ms), cfg.window_ms + 2 * cfg.bucket_ms),
                (self._hour_key(at_ms // HOUR_MS), cfg.baseline_ms + cfg.window_ms + HOUR_MS),
            ):
                for tag in dict.fromkeys(tags):
                    pipe.zincrby(key, 1, tag)
                pipe.zremrangebyrank(key, 0, -(BUCKET_TOP + 1))
                pipe.pexpire(key, ttl_ms)
            await pipe.execute()

    async def top(self, *, now_ms: int, limit: int) -> list[TagCount]:
        cfg = self.config
        now_minute = now_ms // cfg.bucket_ms
        minutes = [
            self._minute_key(m) for m in range(now_minute - cfg.window_buckets + 1, now_minute + 1)
        ]
        scratch = f"{self._prefix}tmp:{uuid.uuid4().hex}"
        with unavailable_as("trends"):
            pipe = self._client.pipeline(transaction=True)
            pipe.zunionstore(scratch, minutes)
            pipe.zrevrange(scratch, 0, limit - 1, withscores=True)
            pipe.delete(scratch)
            replies = await pipe.execute()
            window = cast(list[tuple[bytes, float]], replies[1])
            if not window:
                return []
            tags = [tag.decode() for tag, _ in window]
            window_start_hour = (now_minute - cfg.window_buckets + 1) * cfg.bucket_ms // HOUR_MS
            hours = [
                self._hour_key(h)
                for h in range(
                    window_start_hour - max(1, cfg.baseline_ms // HOUR_MS), window_start_hour
                )
            ]
            pipe = self._client.pipeline(transaction=False)
            for key in hours:
                pipe.exists(key)
                pipe.zmscore(key, tags)
            replies = await pipe.execute()
        present = sum(1 for exists in replies[0::2] if exists)
        totals = [0.0] * len(tags)
        for scores in replies[1::2]:
            for i, value in enumerate(cast(list[float | None], scores)):
                totals[i] += value or 0.0
        minutes_seen = present * HOUR_MS / 60_000
        return [
            TagCount(tags[i], int(count), totals[i] / minutes_seen if minutes_seen else 0.0)
            for i, (tag, count) in enumerate(window)
        ]

    async def close(self) -> None:
        """Close the client's connections if this counter owns it."""
        if self._owns_client:
            await self._client.aclose()
