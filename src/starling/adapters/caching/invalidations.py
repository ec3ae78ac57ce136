"""Invalidations between processes: what one process's caching store dropped after a
write, published on the live bus so every other process drops it too.

The bus is at most once (Redis pub/sub) and best effort here: a publish that fails is
logged, never raised (the write is committed; other processes catch up within a TTL),
and a subscription that cannot be made is retried in the background. Whatever was
published while a process was not subscribed is lost, so (re)subscribing drops
everything that other processes' messages would have dropped.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Callable, Mapping, Sequence
from typing import Final

import msgspec

from starling.metrics import Metrics
from starling.ports import BackendUnavailable, LiveBus, LiveSubscription

log = logging.getLogger(__name__)

INVALIDATION_CHANNEL: Final = "store-cache"
"""Live-bus channel of invalidations; distinct from the ``user:``/``author:`` channels of
:mod:`starling.domain.live`."""

RESUBSCRIBE_DELAY_S: Final = 1.0
"""Pause before subscribing again after the bus could not be reached."""


class Invalidation(msgspec.Struct, frozen=True, array_like=True):
    """What a process publishes: drop ``keys`` (cache kind -> keys of that kind), or
    every entry of the shared kinds (``everyone``). ``origin`` identifies the publishing
    process, which ignores its own messages."""

    origin: str
    keys: dict[str, list[int]]
    everyone: bool = False


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(Invalidation)

Apply = Callable[[Mapping[str, Sequence[int]], bool], None]
"""Drops ``keys`` by kind (or, when the flag is set, every shared entry) in this process."""


class InvalidationBus:
    """Publishes this process's invalidations and hands the other processes' to
    ``apply``. ``metrics.reader_cache_invalidations`` counts them by ``source``:
    ``local`` (made here, counted by the caller) and ``remote`` (applied from the bus)."""

    def __init__(self, bus: LiveBus, *, apply: Apply, metrics: Metrics) -> None:
        self._bus = bus
        self._apply = apply
        self._origin = secrets.token_hex(8)
        self._remote = metrics.reader_cache_invalidations.labels(source="remote")
        self._listener: asyncio.Task[None] | None = None
        self._subscription: LiveSubscription | None = None

    async def publish(self, keys: Mapping[str, Sequence[int]], *, everyone: bool = False) -> None:
        """Tell the other processes to drop ``keys`` (or everything shared). Best effort:
        never raises."""
        message = Invalidation(self._origin, {k: list(v) for k, v in keys.items()}, everyone)
        try:
            await self._bus.publish(INVALIDATION_CHANNEL, _encoder.encode(message))
        except Exception as exc:
            # Other processes catch up within a TTL; the change itself is committed.
            log.warning("store cache: invalidation not published (%r)", exc)

    def receive(self, payload: bytes) -> None:
        """Apply an invalidation received from the bus; ignores this process's own
        messages and payloads that are not an :class:`Invalidation`."""
        try:
            message = _decoder.decode(payload)
        except msgspec.DecodeError:
            log.warning("store cache: undecodable invalidation ignored")
            return
        if message.origin == self._origin:
            return
        self._apply(message.keys, message.everyone)
        self._remote.inc()

    # --- lifecycle -----------------------------------------------------------------------
    async def start(self) -> None:
        """Subscribe to the other processes' invalidations. Does not raise for an
        unreachable bus: it keeps trying in the background."""
        if self._listener is not None:
            return
        subscription = await self._subscribe()
        self._listener = asyncio.create_task(self._listen(subscription), name="store-cache")

    async def _subscribe(self) -> LiveSubscription | None:
        try:
            subscription = await self._bus.subscribe([INVALIDATION_CHANNEL])
        except BackendUnavailable as exc:
            log.warning("store cache: cannot subscribe to invalidations (%s); retrying", exc)
            return None
        # Whatever was published while not subscribed is lost: start from nothing.
        self._apply({}, True)
        self._subscription = subscription
        return subscription

    async def _listen(self, subscription: LiveSubscription | None) -> None:
        while subscription is None:
            await asyncio.sleep(RESUBSCRIBE_DELAY_S)
            subscription = await self._subscribe()
        async for payload in subscription:
            self.receive(payload)

    async def stop(self) -> None:
        """Unsubscribe; idempotent."""
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._listener
            self._listener = None
        if self._subscription is not None:
            with contextlib.suppress(BackendUnavailable):
                await self._subscription.close()
            self._subscription = None
