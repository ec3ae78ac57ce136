"""``MemoryLiveBus``: the embedded ``LiveBus``, for one process (workers and API together).

Each subscription owns an unbounded ``asyncio.Queue``: publishing never waits for a slow
reader. A reader's queue grows only while its stream is not being read, and a stream
whose client is gone is closed by the server, which closes the subscription.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Self

from starling.domain import live

_CLOSED = object()


class MemorySubscription:
    """One subscriber's queue of payloads (see :class:`starling.ports.LiveSubscription`)."""

    def __init__(self, bus: MemoryLiveBus, channels: Iterable[str]) -> None:
        self._bus = bus
        self._queue: asyncio.Queue[bytes | object] = asyncio.Queue()
        self._channels: set[str] = set()
        self._closed = False
        self._bus._attach(self, set(channels))

    def _deliver(self, payload: bytes) -> None:
        self._queue.put_nowait(payload)

    def __aiter__(self) -> Self:
        return self

    async def __anext__(self) -> bytes:
        # A plain coroutine, not an async generator: a reader may cancel a wait (for a
        # heartbeat) and go on reading the same subscription.
        item = await self._queue.get()
        if item is _CLOSED:
            self._queue.put_nowait(_CLOSED)
            raise StopAsyncIteration
        assert isinstance(item, bytes)
        return item

    async def update(self, channels: Iterable[str]) -> None:
        if not self._closed:
            self._bus._attach(self, set(channels))

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._bus._attach(self, set())
            self._queue.put_nowait(_CLOSED)


class MemoryLiveBus:
    """In-process publish/subscribe (see :class:`starling.ports.LiveBus`)."""

    def __init__(self) -> None:
        self._subscribers: defaultdict[str, set[MemorySubscription]] = defaultdict(set)

    def _attach(self, subscription: MemorySubscription, channels: set[str]) -> None:
        for channel in subscription._channels - channels:
            members = self._subscribers[channel]
            members.discard(subscription)
            if not members:
                del self._subscribers[channel]
        for channel in channels - subscription._channels:
            self._subscribers[channel].add(subscription)
        subscription._channels = channels

    async def publish(self, channel: str, payload: bytes) -> None:
        for subscription in self._subscribers.get(channel, ()):
            subscription._deliver(payload)

    async def publish_to_readers(self, reader_ids: Sequence[int], payload: bytes) -> None:
        subscribers = self._subscribers
        if len(subscribers) < len(reader_ids):
            # Fewer channels listened to than readers named: look at those channels.
            wanted = set(reader_ids)
            targets = [
                members
                for channel, members in subscribers.items()
                if live.reader_of(channel) in wanted
            ]
        else:
            found = (subscribers.get(live.user_channel(r)) for r in reader_ids)
            targets = [members for members in found if members]
        for members in targets:
            for subscription in members:
                subscription._deliver(payload)

    async def subscribe(self, channels: Iterable[str]) -> MemorySubscription:
        return MemorySubscription(self, channels)

    async def ping(self) -> None:
        return None

    async def close(self) -> None:
        for members in list(self._subscribers.values()):
            for subscription in list(members):
                await subscription.close()
