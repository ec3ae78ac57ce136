"""``EventLog`` on the embedded default: consumers read the store's outbox table directly.

The outbox is the log. Each consumer group keeps its last processed position in the
store (``consumer_positions``), written after every batch, so a process that dies
between a commit and its fan-out resumes from there on the next start: nothing
acknowledged is lost, and a re-delivered event is harmless because handlers are
idempotent. Failed events are retried with exponential backoff and, after
``max_deliver`` tries, parked as dead letters.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence

import msgspec

from starling.adapters.batch_delivery import try_batch
from starling.domain.events import decode_event
from starling.metrics import Metrics
from starling.ports import BatchHandler, DeadLetter, EventHandler, OutboxRecord, Store

log = logging.getLogger(__name__)

BATCH_SIZE = 256
POLL_INTERVAL_S = 0.5
"""Fallback poll for events committed by another process (a notify() wakes at once)."""
LINGER_S = 0.005
"""Pause of a woken consumer before it reads, so that the events committed meanwhile
join its batch: under a steady stream of posts, each wake-up otherwise handles one or
two events and pays a batch's fixed costs (a position commit, the pending count) for
them. Adds at most this to the fan-out lag."""


class _Consumer:
    def __init__(self, group: str, handler: EventHandler, batch: BatchHandler | None) -> None:
        self.group = group
        self.handler = handler
        self.batch = batch
        self.position = 0
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None


class OutboxEventLog:
    """At-least-once delivery of outbox rows to in-process consumer groups, in order.

    ``max_deliver`` tries per event (backoff ``backoff_s * 2**n``), then a dead letter.
    """

    def __init__(
        self,
        store: Store,
        metrics: Metrics,
        *,
        max_deliver: int = 5,
        backoff_s: float = 0.05,
        poll_interval_s: float = POLL_INTERVAL_S,
        linger_s: float = LINGER_S,
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._max_deliver = max_deliver
        self._backoff_s = backoff_s
        self._poll_interval_s = poll_interval_s
        self._linger_s = linger_s
        self._consumers: dict[str, _Consumer] = {}
        self._progress = asyncio.Condition()
        self._running = False

    def subscribe(
        self, group: str, handler: EventHandler, *, batch: BatchHandler | None = None
    ) -> None:
        if self._running:
            raise RuntimeError("subscribe before start()")
        self._consumers[group] = _Consumer(group, handler, batch)

    async def start(self) -> None:
        if self._running:
            return
        self._running = True
        for consumer in self._consumers.values():
            consumer.position = await self._store.consumer_position(consumer.group)
            consumer.task = asyncio.create_task(
                self._run(consumer), name=f"starling-consumer-{consumer.group}"
            )

    async def stop(self) -> None:
        self._running = False
        tasks = [c.task for c in self._consumers.values() if c.task is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for consumer in self._consumers.values():
            consumer.task = None

    def notify(self) -> None:
        for consumer in self._consumers.values():
            consumer.wake.set()

    async def pending(self) -> int:
        head = await self._store.outbox_head()
        if not self._consumers:
            return 0
        if self._running:
            slowest = min(c.position for c in self._consumers.values())
        else:  # not started: the saved positions are the truth
            slowest = min([await self._store.consumer_position(g) for g in self._consumers])
        return max(0, head - slowest)

    async def drain(self, timeout_s: float = 10.0) -> None:
        head = await self._store.outbox_head()
        if not self._running:
            raise RuntimeError("the event log is not running; drain() would wait forever")
        self.notify()

        def done() -> bool:
            return all(c.position >= head for c in self._consumers.values())

        async with asyncio.timeout(timeout_s), self._progress:
            await self._progress.wait_for(done)

    async def dead_letters(self) -> Sequence[DeadLetter]:
        return await self._store.dead_letters()

    async def replay_dead_letters(self, group: str | None = None) -> int:
        delivered = 0
        for letter in await self._store.dead_letters(group):
            consumer = self._consumers.get(letter.group)
            if consumer is None:
                continue
            try:
                await consumer.handler(decode_event(letter.payload))
            except Exception:
                log.exception("replay of dead letter %s failed", letter.id)
                continue
            await self._store.remove_dead_letter(letter.id)
            delivered += 1
        return delivered

    async def _run(self, consumer: _Consumer) -> None:
        while self._running:
            rows = await self._store.outbox_after(consumer.position, BATCH_SIZE)
            if not rows:
                consumer.wake.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(self._poll_interval_s):
                        await consumer.wake.wait()
                        await asyncio.sleep(self._linger_s)
                continue
            if not await self._deliver_batch(consumer, rows):
                for row in rows:
                    await self._deliver(consumer, row.position, row.payload)
                    consumer.position = row.position
            consumer.position = rows[-1].position
            await self._store.set_consumer_position(consumer.group, consumer.position)
            self._metrics.events_pending.set(await self.pending())
            async with self._progress:
                self._progress.notify_all()

    async def _deliver_batch(self, consumer: _Consumer, rows: Sequence[OutboxRecord]) -> bool:
        """Hand ``rows`` to the group's batch handler in one call; False when there is
        none, a row does not decode, or the handler raised (the caller then delivers
        them one by one, with retries and dead letters)."""
        if consumer.batch is None or len(rows) < 2:
            return False
        return await try_batch(consumer.batch, (row.payload for row in rows), group=consumer.group)

    async def _deliver(self, consumer: _Consumer, position: int, payload: bytes) -> None:
        try:
            event = decode_event(payload)
        except msgspec.DecodeError as exc:
            await self._dead_letter(consumer, position, payload, f"undecodable: {exc}", 1)
            return
        for attempt in range(1, self._max_deliver + 1):
            try:
                await consumer.handler(event)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if attempt == self._max_deliver:
                    log.exception(
                        "%s: event at %d failed %d times", consumer.group, position, attempt
                    )
                    await self._dead_letter(consumer, position, payload, repr(exc), attempt)
                    return
                await asyncio.sleep(self._backoff_s * 2 ** (attempt - 1))

    async def _dead_letter(
        self, consumer: _Consumer, position: int, payload: bytes, error: str, attempts: int
    ) -> None:
        await self._store.add_dead_letter(consumer.group, position, payload, error, attempts)
        self._metrics.events_dead_letter.inc()
