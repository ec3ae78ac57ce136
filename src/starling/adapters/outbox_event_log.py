"""``EventLog`` on the embedded default: consumers read the store's outbox table directly.

The outbox is the log. Each consumer group keeps its last processed position in the
store (``consumer_positions``), written after every batch, so a process that dies
between a commit and its fan-out resumes from there on the next start: nothing
acknowledged is lost, and a re-delivered event is harmless because handlers are
idempotent. Delivery itself (batch or one by one, retries with exponential back-off,
dead letters after ``max_deliver`` tries) is :mod:`starling.workers.delivery`'s; here a
dead letter is a row of the store's ``dead_letters`` table.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from starling.metrics import Metrics
from starling.ports import BatchHandler, DeadLetter, EventHandler, OutboxRecord, OutboxStore
from starling.workers.delivery import ConsumerGroup, RetryPolicy, deliver, replay

BATCH_SIZE = 256
POLL_INTERVAL_S = 0.5
"""Fallback poll for events committed by another process (a notify() wakes at once)."""
LINGER_S = 0.005
"""Pause of a woken consumer before it reads, so that the events committed meanwhile
join its batch: under a steady stream of posts, each wake-up otherwise handles one or
two events and pays a batch's fixed costs (a position commit, the pending count) for
them. Adds at most this to the fan-out lag."""


class _Consumer:
    def __init__(self, group: ConsumerGroup) -> None:
        self.group = group
        self.position = 0
        self.wake = asyncio.Event()
        self.task: asyncio.Task[None] | None = None


class _Row:
    """An outbox row handed to one consumer group (a ``workers.delivery.Delivery``):
    done moves the group's position past it; parking writes a dead-letter row."""

    __slots__ = ("_consumer", "_metrics", "_row", "_store")

    earlier_tries: int = 0  # the outbox keeps no delivery count: a restart tries afresh
    addressed_to: str | None = None  # replays run in-process (``replay_dead_letters``), never here

    def __init__(
        self, consumer: _Consumer, row: OutboxRecord, store: OutboxStore, metrics: Metrics
    ) -> None:
        self._consumer = consumer
        self._row = row
        self._store = store
        self._metrics = metrics

    @property
    def payload(self) -> bytes:
        return self._row.payload

    async def done(self) -> None:
        self._consumer.position = self._row.position

    async def park(self, error: str, attempts: int) -> None:
        await self._store.add_dead_letter(
            self._consumer.group.name, self._row.position, self._row.payload, error, attempts
        )
        self._metrics.events_dead_letter.inc()
        self._consumer.position = self._row.position


class OutboxEventLog:
    """At-least-once delivery of outbox rows to in-process consumer groups, in order.

    ``max_deliver`` tries per event (backoff ``backoff_s * 2**n``), then a dead letter.
    """

    def __init__(
        self,
        store: OutboxStore,
        metrics: Metrics,
        *,
        max_deliver: int = 5,
        backoff_s: float = 0.05,
        poll_interval_s: float = POLL_INTERVAL_S,
        linger_s: float = LINGER_S,
    ) -> None:
        self._store = store
        self._metrics = metrics
        self._policy = RetryPolicy.exponential(max_deliver, backoff_s)
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
        self._consumers[group] = _Consumer(ConsumerGroup(group, handler, batch))

    async def start(self) -> None:
        if self._running:
            return
        self._running = True
        for consumer in self._consumers.values():
            consumer.position = await self._store.consumer_position(consumer.group.name)
            consumer.task = asyncio.create_task(
                self._run(consumer), name=f"starling-consumer-{consumer.group.name}"
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
            if consumer is None or not await replay(
                consumer.group, letter.payload, letter_id=letter.id
            ):
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
            batch = [_Row(consumer, row, self._store, self._metrics) for row in rows]
            await deliver(consumer.group, batch, self._policy)
            consumer.position = rows[-1].position
            await self._store.set_consumer_position(consumer.group.name, consumer.position)
            self._metrics.events_pending.set(await self.pending())
            async with self._progress:
                self._progress.notify_all()
