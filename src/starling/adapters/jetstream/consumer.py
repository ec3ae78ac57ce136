"""One consumer group's worker on JetStream: fetch from the group's durable pull
consumer, hand the messages to the shared delivery loop, keep them alive meanwhile.

Several worker processes with the same stream and group share its messages. Each
fetched batch goes to :func:`starling.workers.delivery.deliver` (batch handler, else one
by one with retries in place and dead letters); a message is acknowledged once handled
or parked. JetStream redelivery (after ``ack_wait_s`` without an ack: a crashed or hung
worker) counts each earlier delivery as one try, so a poison event that kills its worker
is parked after ``max_deliver`` deliveries instead of looping forever. Long handlers
keep their messages with "in progress" acks every ``ack_wait_s / 3``. (JetStream's
consumer ``backoff`` is not used: it replaces ``ack_wait`` per delivery, so a first step
of 0.1 s would hand any handler slower than that to a second worker; a ``nak`` with delay
would put the retried event behind later ones.) Order holds per worker: workers sharing
a group interleave.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence

from nats.aio.msg import Msg
from nats.js import JetStreamContext

from starling.adapters.jetstream.connection import Connection, retry_wait
from starling.adapters.jetstream.dead_letters import DeadLetters
from starling.adapters.jetstream.streams import H_REPLAY_GROUP, StreamNames, ensure_consumer
from starling.workers.delivery import ConsumerGroup, RetryPolicy, deliver

FETCH_BATCH = 256
"""Messages per pull while a consumer has a backlog."""
FETCH_WAIT_S = 1.0
"""Long-poll of an idle consumer: a pull for one message that the server answers as soon
as one arrives (a pull for a batch would wait for the whole batch or this timeout)."""
FETCH_MORE_S = 0.05
"""Pull timeout while there is a backlog; the server answers at once with what it has."""


class _Message:
    """A fetched message as a ``workers.delivery.Delivery``: done acknowledges it,
    parking moves it to the dead-letter stream; both count it as finished."""

    __slots__ = ("_consumer", "_msg")

    def __init__(self, consumer: GroupConsumer, msg: Msg) -> None:
        self._consumer = consumer
        self._msg = msg

    @property
    def payload(self) -> bytes:
        return self._msg.data

    @property
    def earlier_tries(self) -> int:
        return self._msg.metadata.num_delivered - 1

    @property
    def addressed_to(self) -> str | None:
        return (self._msg.headers or {}).get(H_REPLAY_GROUP)

    async def done(self) -> None:
        await self._msg.ack()
        self._consumer.finished += 1

    async def park(self, error: str, attempts: int) -> None:
        await self._consumer.dead_letters.park(
            self._consumer.group.name, self._msg, error, attempts
        )
        self._consumer.finished += 1


class GroupConsumer:
    """Runs ``group`` on its durable consumer of the stream of ``names``.

    :meth:`ensure` creates the durable consumer; :meth:`run` and :meth:`keep_alive` are
    the two tasks of a running group.
    """

    def __init__(
        self,
        connection: Connection,
        names: StreamNames,
        group: ConsumerGroup,
        *,
        policy: RetryPolicy,
        dead_letters: DeadLetters,
        ack_wait_s: float,
    ) -> None:
        self._conn = connection
        self._names = names
        self.group = group
        self.name = names.consumer(group.name)
        self.dead_letters = dead_letters
        self._policy = policy
        self._ack_wait_s = ack_wait_s
        self._inflight: Sequence[Msg] = ()
        self.finished = 0
        """How many of the messages in flight are acknowledged or handed on."""

    async def ensure(self) -> None:
        """Create or update the durable consumer (raises when NATS is unreachable)."""
        await ensure_consumer(
            self._conn.require_js(), self._names, self.group.name, ack_wait_s=self._ack_wait_s
        )

    async def run(self) -> None:
        """Fetch and deliver until cancelled; failures are logged and retried."""
        js = self._conn.require_js()
        sub: JetStreamContext.PullSubscription | None = None
        backlog = False
        failures = 0
        while True:
            try:
                if sub is None:
                    sub = await js.pull_subscribe_bind(
                        consumer=self.name, stream=self._names.stream
                    )
                if backlog:
                    msgs = await sub.fetch(FETCH_BATCH, timeout=FETCH_MORE_S)
                else:
                    msgs = await sub.fetch(1, timeout=FETCH_WAIT_S)
                failures = 0
            except asyncio.CancelledError:
                raise
            except TimeoutError:
                backlog = False
                continue
            except Exception as exc:
                failures += 1
                self._conn.log_failure(f"consumer {self.name}: fetch failed: {exc!r}")
                if sub is not None:
                    with contextlib.suppress(Exception):
                        await sub.unsubscribe()
                    sub = None
                await asyncio.sleep(retry_wait(failures))
                # The consumer may be gone (deleted by hand, NATS lost its storage).
                with contextlib.suppress(Exception):
                    await self.ensure()
                continue
            backlog = True
            try:
                await self._process(msgs)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # An ack or a dead-letter publish failed (connection lost): the messages
                # not acknowledged come back after ack_wait, or at once after the nak.
                failures += 1
                self._conn.log_failure(f"consumer {self.name}: {exc!r}")
                await asyncio.sleep(retry_wait(failures))

    async def _process(self, msgs: Sequence[Msg]) -> None:
        self._inflight, self.finished = msgs, 0
        try:
            await deliver(self.group, [_Message(self, msg) for msg in msgs], self._policy)
        finally:
            rest = msgs[self.finished :]
            self._inflight, self.finished = (), 0
            # Stopped mid-batch: hand the rest back now rather than after ack_wait.
            for msg in rest:
                with contextlib.suppress(Exception):
                    await msg.nak()

    async def keep_alive(self) -> None:
        """Every ``ack_wait_s / 3``, tell JetStream the fetched, unacknowledged messages are
        being worked on, so a slow handler or a long retry back-off is not redelivered."""
        while True:
            await asyncio.sleep(self._ack_wait_s / 3)
            for msg in self._inflight[self.finished :]:
                with contextlib.suppress(Exception):
                    await msg.in_progress()
