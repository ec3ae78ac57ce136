"""``JetStreamEventLog``: the ``EventLog`` port over the relay, the group consumers and
the dead letters of this package (see :mod:`starling.adapters.jetstream`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Coroutine, Sequence

import nats.js.errors
from nats.js import JetStreamContext

from starling.adapters.jetstream.connection import Connection, NatsUnavailable
from starling.adapters.jetstream.consumer import GroupConsumer
from starling.adapters.jetstream.dead_letters import DeadLetters, JetStreamDeadLetter
from starling.adapters.jetstream.relay import RELAY, Relay
from starling.adapters.jetstream.streams import StreamNames, ensure_streams, is_valid_name
from starling.metrics import Metrics
from starling.ports import BatchHandler, EventHandler, OutboxStore
from starling.workers.delivery import ConsumerGroup, RetryPolicy

log = logging.getLogger(__name__)

DRAIN_POLL_S = 0.015
"""Poll interval of :meth:`JetStreamEventLog.drain` (server-side consumer state)."""
METRICS_INTERVAL_S = 1.0
"""How often the ``starling_events_pending`` gauge is refreshed."""
CONNECT_WAIT_S = 2.0
"""How long :meth:`JetStreamEventLog.start` waits for NATS before carrying on in the
background."""
STOP_RECANCEL_S = 0.05
"""While stopping, how often a task that swallowed its cancellation is cancelled again."""


class JetStreamEventLog:
    """At-least-once delivery of outbox events through a NATS JetStream stream.

    ``url`` is a NATS URL (``nats://host:4222``); ``stream`` the main stream's name
    (letters, digits, ``_`` and ``-``; not ending in ``_DLQ``), from which the subject
    prefix (its lower case) and the dead-letter stream ``<stream>_DLQ`` are derived.
    ``max_deliver`` is the number of tries of one event per group before it is parked;
    ``backoff_s[i]`` the wait in seconds before try ``i + 2`` (the last value repeats).
    ``relay`` publishes this store's outbox to the stream; ``consume`` runs the subscribed
    groups' consumers; with neither, the log only observes (``drain``, ``pending``, the
    dead letters), as an API process does beside separate ``starling worker`` processes.
    ``ack_wait_s`` is how long a message may go unacknowledged (no "in progress" ack
    either: its worker died) before JetStream delivers it again.
    Raises ``ValueError`` for a stream name that is not a valid NATS name.
    """

    def __init__(
        self,
        store: OutboxStore,
        metrics: Metrics,
        *,
        url: str,
        stream: str = "STARLING",
        max_deliver: int = 5,
        backoff_s: Sequence[float] = (0.1, 0.5, 2.0, 5.0),
        relay: bool = True,
        consume: bool = True,
        ack_wait_s: float = 30.0,
        connect_wait_s: float = CONNECT_WAIT_S,
    ) -> None:
        self._names = StreamNames.of(stream)
        self._policy = RetryPolicy(max_deliver, tuple(backoff_s) or (0.0,))
        self._store = store
        self._metrics = metrics
        self.stream = self._names.stream
        self.dlq_stream = self._names.dlq_stream
        self.subject_prefix = self._names.subject_prefix
        self.dlq_subject_prefix = self._names.dlq_subject_prefix
        self._conn = Connection(url, name=f"starling-{stream}")
        self._relay = Relay(store, self._conn, self._names) if relay else None
        self._dead_letters = DeadLetters(
            self._conn, self._names, metrics, nak_delay_s=self._policy.waits_s[-1]
        )
        self._consume_enabled = consume
        self._ack_wait_s = ack_wait_s
        self._connect_wait_s = connect_wait_s
        self._groups: dict[str, GroupConsumer] = {}
        self._ready = asyncio.Event()
        self._tasks: list[asyncio.Task[None]] = []
        self._started = False

    # --- EventLog ----------------------------------------------------------------------
    def subscribe(
        self, group: str, handler: EventHandler, *, batch: BatchHandler | None = None
    ) -> None:
        """Register ``handler`` (and ``batch``, see the port) for consumer group
        ``group`` (letters, digits, ``_``, ``-``) before :meth:`start`. Raises
        ``RuntimeError`` after start, ``ValueError`` for a group name NATS cannot use in
        a consumer name."""
        if self._started:
            raise RuntimeError("subscribe before start()")
        if not is_valid_name(group):
            raise ValueError(f"invalid consumer group name {group!r}")
        self._groups[group] = GroupConsumer(
            self._conn,
            self._names,
            ConsumerGroup(group, handler, batch),
            policy=self._policy,
            dead_letters=self._dead_letters,
            ack_wait_s=self._ack_wait_s,
        )

    async def start(self) -> None:
        """Connect, create or update the streams and consumers, start the relay and the
        consumers. Waits up to ``connect_wait_s`` for NATS; if it is not reachable by then,
        logs a warning and keeps trying in the background (posts still commit to the
        outbox, and the relay catches up once NATS answers). Never raises for an
        unreachable NATS."""
        if self._started:
            return
        self._started = True
        self._ready.clear()
        self._spawn(self._setup(), self.stream)
        try:
            async with asyncio.timeout(self._connect_wait_s):
                await self._ready.wait()
        except TimeoutError:
            log.warning(
                "NATS JetStream at %s not ready after %.1f s; retrying in the background",
                self._conn.url,
                self._connect_wait_s,
            )

    async def stop(self) -> None:
        """Stop the relay and consumers and close the connection. Messages fetched but not
        handled are handed back at once (nak) for another worker; nothing is lost."""
        self._started = False
        tasks, self._tasks = self._tasks, []
        for task in tasks:
            task.cancel()
        for task in tasks:
            while not task.done():
                await asyncio.wait({task}, timeout=STOP_RECANCEL_S)
                if not task.done():
                    # Python 3.11's asyncio.wait_for (inside nats-py's requests) can swallow
                    # a cancellation that lands as its future completes: cancel again.
                    task.cancel()
            if not task.cancelled() and task.exception() is not None:
                log.error("event log task %s failed", task.get_name(), exc_info=task.exception())
        await self._conn.close()
        self._ready.clear()

    def notify(self) -> None:
        """Wake the relay: rows were just committed (otherwise it polls every 0.5 s)."""
        if self._relay is not None:
            self._relay.notify()

    async def drain(self, timeout_s: float = 10.0) -> None:
        """Wait until every event committed before the call is processed by every group:
        the relay (of any process) has published up to the outbox head taken now, and
        every Starling consumer on the stream (``<stream>_*``, plus this process's groups)
        has acknowledged it. Reads the consumers' state from the server, so it works in a
        process that neither relays nor consumes. Polls every ``DRAIN_POLL_S`` seconds.

        Raises ``TimeoutError`` after ``timeout_s`` seconds (also while NATS is down, or
        while no process relays), ``RuntimeError`` before :meth:`start`.
        """
        if not self._started:
            raise RuntimeError("the event log is not started; drain() would wait forever")
        head = await self._store.outbox_head()
        self.notify()
        target: int | None = None
        async with asyncio.timeout(timeout_s):
            while True:
                if target is None and await self._store.consumer_position(RELAY) >= head:
                    target = await self._last_sequence()
                if target is not None and await self._consumers_done(target):
                    return
                await asyncio.sleep(DRAIN_POLL_S)

    async def pending(self) -> int:
        """Outbox rows not yet relayed plus, for the slowest consumer on the stream, messages
        not yet delivered or not yet acknowledged. Without a connection (before
        :meth:`start`, NATS down) only the outbox part is counted. Sets the
        ``starling_events_pending`` gauge."""
        head = await self._store.outbox_head()
        unrelayed = max(0, head - await self._store.consumer_position(RELAY))
        slowest = 0
        js = self._conn.connected_js()
        if js is not None:
            with contextlib.suppress(Exception):
                for name in await self._consumer_names(js):
                    with contextlib.suppress(nats.js.errors.NotFoundError):
                        info = await js.consumer_info(self.stream, name)
                        slowest = max(slowest, info.num_pending + info.num_ack_pending)
        total = unrelayed + slowest
        self._metrics.events_pending.set(total)
        return total

    async def dead_letters(self) -> Sequence[JetStreamDeadLetter]:
        """The messages in ``<stream>_DLQ``, oldest first, read without consuming them.
        Raises :class:`NatsUnavailable` when NATS is not connected."""
        return await self._dead_letters.list()

    async def replay_dead_letters(self, group: str | None = None) -> int:
        """Deliver the dead letters of ``group`` (all groups when None) again; returns how
        many left the dead-letter stream: in this process for the groups subscribed here,
        through the main stream for the others (see
        :meth:`~starling.adapters.jetstream.dead_letters.DeadLetters.replay`). Raises
        :class:`NatsUnavailable` when NATS is not connected."""
        local = {name: consumer.group for name, consumer in self._groups.items()}
        return await self._dead_letters.replay(local, group)

    # --- beyond the port ---------------------------------------------------------------
    async def ping(self) -> None:
        """Raise :class:`NatsUnavailable` (a ``BackendUnavailable`` and ``ConnectionError``)
        unless NATS is connected and the streams are set up, or ``TimeoutError`` if the
        server does not answer a round trip within 1 s (for ``/readyz``)."""
        self._conn.require_js()
        if not self._ready.is_set():
            raise NatsUnavailable(f"JetStream streams of {self.stream} are not set up yet")
        await self._conn.flush(timeout_s=1)

    # --- setup -------------------------------------------------------------------------
    async def _setup(self) -> None:
        try:
            await self._connect_and_set_up()
        except asyncio.CancelledError:
            raise
        except Exception:
            # Not retryable (e.g. a malformed URL): the process keeps running without
            # JetStream, ping() says so.
            log.exception("NATS JetStream event log for %s cannot start", self._conn.url)

    async def _connect_and_set_up(self) -> None:
        await self._conn.connect()
        log.info("connected to NATS at %s (stream %s)", self._conn.url, self.stream)
        await self._conn.retrying(
            "stream setup", lambda: ensure_streams(self._conn.require_js(), self._names)
        )
        if self._consume_enabled:
            for consumer in self._groups.values():
                await self._conn.retrying(f"consumer {consumer.name}", consumer.ensure)
                self._spawn(consumer.run(), f"consume-{consumer.group.name}")
                self._spawn(consumer.keep_alive(), f"keepalive-{consumer.group.name}")
        if self._relay is not None:
            self._spawn(self._relay.run(), "relay")
        self._spawn(self._refresh_metrics(), "metrics")
        self._ready.set()

    def _spawn(self, coro: Coroutine[object, object, None], name: str) -> None:
        self._tasks.append(asyncio.create_task(coro, name=f"starling-nats-{name}"))

    # --- observation -------------------------------------------------------------------
    async def _consumer_names(self, js: JetStreamContext) -> list[str]:
        """This process's groups' consumers and every other Starling consumer of the stream."""
        names = [c.name for c in self._groups.values()] if self._consume_enabled else []
        prefix = self._names.consumer_prefix
        for info in await js.consumers_info(self.stream):
            if info.name.startswith(prefix) and info.name not in names:
                names.append(info.name)
        return names

    async def _last_sequence(self) -> int | None:
        js = self._conn.connected_js()
        if js is None:
            return None
        try:
            info = await js.stream_info(self.stream)
        except Exception:
            return None
        last: int = info.state.last_seq
        return last

    async def _consumers_done(self, target: int) -> bool:
        """Whether every consumer has acknowledged everything up to stream sequence
        ``target``: nothing pending or unacknowledged, or its ack floor at ``target``."""
        js = self._conn.connected_js()
        if js is None:
            return False
        try:
            for name in await self._consumer_names(js):
                info = await js.consumer_info(self.stream, name)
                idle = info.num_pending == 0 and info.num_ack_pending == 0
                if not idle and info.ack_floor.stream_seq < target:
                    return False
        except Exception:
            return False  # absent consumer, NATS unreachable: not done yet
        return True

    async def _refresh_metrics(self) -> None:
        while True:
            with contextlib.suppress(Exception):
                await self.pending()
            await asyncio.sleep(METRICS_INTERVAL_S)
