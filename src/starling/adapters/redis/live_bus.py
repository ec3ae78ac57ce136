"""``LiveBus`` on Redis pub/sub: any API process can serve any user's stream.

Workers ``PUBLISH`` to ``<namespace>:live:{<channel>}``; every API process holds ONE
pub/sub connection, subscribed to the union of the channels its connected readers need,
and dispatches each message to the local subscriptions of its channel. So an API process
costs Redis one connection whatever the number of streams it serves, and a channel that
no process listens to costs a publish nothing but the command.

Cluster-safe names: the channel is a hash tag (``{user:42}``), so moving to Redis 7
sharded pub/sub (``SPUBLISH``/``SSUBSCRIBE``, routed to the slot's node instead of
broadcast to every node) changes the commands, not the names.

Delivery is at most once, as Redis pub/sub is: a message published while the
connection is down is lost (redis-py re-subscribes on reconnect). The stream's
``Last-Event-ID`` replay from the durable timeline covers such gaps.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Sequence
from typing import Any, Final, Self, cast

import redis.asyncio
import redis.exceptions
from redis.asyncio.client import PubSub

from starling.adapters.redis import (
    COMMAND_TIMEOUT_S,
    UNREACHABLE,
    check_bytes_replies,
    connect,
    unavailable_as,
)
from starling.domain import live
from starling.ports import BackendUnavailable

log = logging.getLogger(__name__)

SCAN_LISTENED_MAX: Final = 5_000
"""Listened channels up to which :meth:`RedisLiveBus.publish_to_readers` lists them all (a
reply about the size of a fan-out chunk's names); above, it asks per channel."""

RESCAN_EVERY: Final = 64
"""Calls after which a bus asking per channel lists the listened channels again."""

RECONNECT_DELAY_S: Final = 0.5
"""Pause of the reader after a lost connection before it reads (and so reconnects) again."""

_CLOSED = object()


class RedisSubscription:
    """One local subscriber (see :class:`starling.ports.LiveSubscription`)."""

    def __init__(self, bus: RedisLiveBus) -> None:
        self._bus = bus
        self._queue: asyncio.Queue[bytes | object] = asyncio.Queue()
        self.channels: set[bytes] = set()
        self._closed = False

    def deliver(self, payload: bytes) -> None:
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
            await self._bus.attach(self, {self._bus.name(c) for c in channels})

    async def close(self) -> None:
        if not self._closed:
            self._closed = True
            with contextlib.suppress(BackendUnavailable):
                await self._bus.attach(self, set())
            self._queue.put_nowait(_CLOSED)


class RedisLiveBus:
    """Redis pub/sub multiplexed over one connection per process.

    ``client`` must return bytes (``decode_responses=False``) and is closed by
    :meth:`close` only when ``owns_client``. Publishing and subscribing raise
    :class:`~starling.ports.BackendUnavailable` when Redis cannot be reached.
    """

    def __init__(
        self,
        client: redis.asyncio.Redis,
        *,
        namespace: str = "starling",
        owns_client: bool = False,
        confirm_timeout_s: float = COMMAND_TIMEOUT_S,
        scan_listened_max: int = SCAN_LISTENED_MAX,
    ) -> None:
        check_bytes_replies(client)
        self._client = client
        self._owns_client = owns_client
        self._prefix = f"{namespace}:live:"
        self._confirm_timeout_s = confirm_timeout_s
        self._pubsub: PubSub | None = None
        self._reader: asyncio.Task[None] | None = None
        self._local: dict[bytes, set[RedisSubscription]] = {}
        self._confirming: dict[bytes, asyncio.Future[None]] = {}
        self._lock = asyncio.Lock()
        self._scan_listened_max = scan_listened_max
        self._many_listened = False
        self._publishes = 0

    @classmethod
    def from_url(cls, url: str, *, namespace: str = "starling", **options: Any) -> Self:
        """A bus on its own client for ``url``, closed by :meth:`close` (``options``: as
        for the constructor)."""
        return cls(connect(url), namespace=namespace, owns_client=True, **options)

    def name(self, channel: str) -> bytes:
        """The Redis channel of ``channel``: namespaced, the channel as hash tag."""
        return f"{self._prefix}{{{channel}}}".encode()

    def channel_of(self, name: bytes) -> str:
        """The channel a Redis channel :meth:`name` made stands for."""
        return name[len(self._prefix) + 1 : -1].decode()

    # --- publishing ----------------------------------------------------------------------
    async def publish(self, channel: str, payload: bytes) -> None:
        with unavailable_as("live bus"):
            await self._client.publish(self.name(channel), payload)

    async def publish_to_readers(self, reader_ids: Sequence[int], payload: bytes) -> None:
        """Publish on the user channels of those of ``reader_ids`` that some process
        listens to: one ``PUBLISH`` each, in one pipeline.

        Publishing to every follower of a fan-out chunk (or asking ``PUBSUB NUMSUB`` of
        all 1,000 names, 40 KB a chunk) cost a fan-out worker more than the timeline
        writes themselves (docs/decisions/0012). So the bus first asks Redis which channels
        of this namespace have subscribers at all (``PUBSUB CHANNELS <prefix>*``, a
        short answer while few readers stream) and intersects their readers with the
        chunk's here; when more than ``scan_listened_max`` channels are listened to, it
        asks ``NUMSUB`` of the chunk's names instead, and lists again every
        :data:`RESCAN_EVERY` calls. A reader subscribing meanwhile misses the message,
        as with any message published before a subscription: at most once."""
        if not reader_ids:
            return
        with unavailable_as("live bus"):
            self._publishes += 1
            if self._many_listened and self._publishes % RESCAN_EVERY:
                names = [self.name(live.user_channel(r)) for r in reader_ids]
                counts = await self._client.pubsub_numsub(*names)
                listened = [name for name, count in counts if count]
            else:
                # bytes: the client answers bytes (check_bytes_replies).
                active = cast(list[bytes], await self._client.pubsub_channels(self._prefix + "*"))
                self._many_listened = len(active) > self._scan_listened_max
                wanted = set(reader_ids)
                listened = [
                    name for name in active if live.reader_of(self.channel_of(name)) in wanted
                ]
            if not listened:
                return
            async with self._client.pipeline(transaction=False) as pipe:
                for name in listened:
                    pipe.publish(name, payload)
                await pipe.execute()

    # --- subscribing ---------------------------------------------------------------------
    async def subscribe(self, channels: Iterable[str]) -> RedisSubscription:
        subscription = RedisSubscription(self)
        await self.attach(subscription, {self.name(c) for c in channels})
        return subscription

    async def attach(self, subscription: RedisSubscription, names: set[bytes]) -> None:
        """Make ``subscription`` receive exactly the Redis channels ``names``; returns once
        Redis confirmed every channel that was new to this process."""
        async with self._lock:
            removed = subscription.channels - names
            added = names - subscription.channels
            subscription.channels = names
            drop: list[bytes] = []
            for name in removed:
                members = self._local.get(name)
                if members is not None:
                    members.discard(subscription)
                    if not members:
                        del self._local[name]
                        drop.append(name)
            new: list[bytes] = []
            for name in added:
                if name not in self._local:
                    self._local[name] = set()
                    new.append(name)
                self._local[name].add(subscription)
            pubsub = self._pubsub
            with unavailable_as("live bus"):
                if drop and pubsub is not None:
                    await pubsub.unsubscribe(*drop)
                if new:
                    await self._subscribe_confirmed(new)

    async def _subscribe_confirmed(self, names: list[bytes]) -> None:
        loop = asyncio.get_running_loop()
        waiting = [self._confirming.setdefault(n, loop.create_future()) for n in names]
        if self._pubsub is None:
            self._pubsub = self._client.pubsub()
        await self._pubsub.subscribe(*names)
        if self._reader is None or self._reader.done():
            self._reader = asyncio.create_task(self._read(self._pubsub), name="live-bus-reader")
        try:
            async with asyncio.timeout(self._confirm_timeout_s):
                await asyncio.gather(*(asyncio.shield(f) for f in waiting))
        except TimeoutError as exc:
            raise BackendUnavailable("live bus (Redis) did not confirm a subscription") from exc
        finally:
            for name in names:
                self._confirming.pop(name, None)

    async def _read(self, pubsub: PubSub) -> None:
        """The process's one reader: confirmations resolve waiting subscribes, messages go
        to the local subscriptions of their channel."""
        while True:
            try:
                message: dict[str, Any] | None = await pubsub.get_message(timeout=None)
            except asyncio.CancelledError:
                raise
            except (*UNREACHABLE, redis.exceptions.RedisError) as exc:
                log.warning("live bus: Redis pub/sub connection lost (%s); reconnecting", exc)
                await asyncio.sleep(RECONNECT_DELAY_S)
                continue
            if message is None:
                continue
            channel = message.get("channel")
            if not isinstance(channel, bytes):
                continue
            kind = message.get("type")
            if kind == "message":
                data = message.get("data")
                if isinstance(data, bytes):
                    for subscription in tuple(self._local.get(channel, ())):
                        subscription.deliver(data)
            elif kind == "subscribe":
                future = self._confirming.get(channel)
                if future is not None and not future.done():
                    future.set_result(None)

    async def ping(self) -> None:
        with unavailable_as("live bus"):
            await self._client.ping()

    async def close(self) -> None:
        for members in list(self._local.values()):
            for subscription in list(members):
                await subscription.close()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
        if self._pubsub is not None:
            with contextlib.suppress(*UNREACHABLE):
                await self._pubsub.aclose()  # type: ignore[no-untyped-call]
        if self._owns_client:
            await self._client.aclose()
