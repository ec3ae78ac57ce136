"""``EventLog`` on NATS JetStream: the scale-out event log (docs/architecture.md).

Three parts, each optional per process (``relay=``, ``consume=``):

* **Relay.** Reads committed outbox rows after its saved position (the store's consumer
  position ``"relay"``), publishes them to the stream ``<stream>`` on subject
  ``<prefix>.<event type>`` (``prefix`` is the stream name in lower case, so
  ``STARLING`` → ``starling.tweet_posted``), with ``Nats-Msg-Id: <event_id>``, awaits every
  PubAck, then saves the position. Up to ``RELAY_BATCH`` publishes are in flight at once
  (docs/scale-out.md: 38k msgs/s with 1000 in flight). A relay that crashes between the
  PubAcks and saving the position publishes the rows again on restart and JetStream drops
  them as duplicates within the stream's ``duplicate_window``; several relay processes
  are safe for the same reason. While NATS is down the relay retries with backoff and the
  rows wait in the outbox: posts still commit.
* **Consumers.** One durable pull consumer per subscribed group, named
  ``<stream>_<group>``, filter ``<prefix>.>``, explicit ack; several worker processes with
  the same stream and group share its messages. Each message is handled in order; a
  failing handler is retried in place (``backoff_s`` between tries, ``max_deliver`` tries
  in all) so a retried event does not fall behind later ones (the ``EventLog`` contract:
  in order per group), then parked in the dead-letter stream and acknowledged. JetStream
  redelivery (after ``ack_wait_s`` without an ack: a crashed or hung worker) counts each
  earlier delivery as one try, and a message delivered more than ``max_deliver`` times is
  parked without running the handler again, so a poison event that kills its worker
  cannot loop forever. The consumer's own ``max_deliver`` is unlimited on purpose: the
  server would drop such a message silently. Long handlers keep their messages with
  "in progress" acks every ``ack_wait_s / 3``. (JetStream's consumer ``backoff`` is not
  used: it replaces ``ack_wait`` per delivery, so a first step of 0.1 s would hand any
  handler slower than that to a second worker; a ``nak`` with delay would put the retried
  event behind later ones.) Order holds per worker: workers sharing a group interleave.
* **Dead letters.** Stream ``<stream>_DLQ``, subjects ``<prefix>_dlq.>``; a parked message
  is published on ``<prefix>_dlq.<group>`` with its payload and the headers
  ``Starling-Subject``, ``Starling-Group``, ``Starling-Error``, ``Starling-Attempts`` and
  ``Starling-Event-Id``. :meth:`JetStreamEventLog.replay_dead_letters` runs the group's
  handler in this process when one is subscribed here (and keeps the letter if it fails
  again); otherwise (``starling dlq replay`` in its own process) it republishes the event
  to the main stream under a new ``Nats-Msg-Id`` with header ``Starling-Replay-Group``:
  every group's consumer receives it, and all but the named group acknowledge it without
  running their handler. (Per-group replay subjects would need a consumer with two filter
  subjects, which NATS 2.10 added; this server is 2.9.)

Deriving every subject from the stream name lets several deployments share one NATS
(``STARLING_NATS_STREAM``): JetStream rejects streams with overlapping subjects.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence

import msgspec
import nats.js.errors
from nats.aio.client import Client as NatsClient
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    PubAck,
    RawStreamMsg,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)

from starling.adapters.batch_delivery import try_batch
from starling.domain.events import decode_event
from starling.metrics import Metrics
from starling.ports import BackendUnavailable, BatchHandler, EventHandler, OutboxRecord, Store

log = logging.getLogger(__name__)

RELAY = "relay"
"""The store's consumer-position key of the relay (last outbox position published)."""
RELAY_BATCH = 1000
"""Outbox rows read and published per batch, all in flight at once (docs/scale-out.md: 38k msgs/s
publish with 1000 in flight)."""
POLL_INTERVAL_S = 0.5
"""Relay's fallback poll for rows committed by another process (``notify()`` wakes it)."""
RELAY_LINGER_S = 0.005
"""Pause of the woken relay before it reads the outbox: at most this much more fan-out
lag, for a batch of the posts committed meanwhile instead of one relay pass per post."""
PUBLISH_TIMEOUT_S = 5.0
"""How long a relay batch waits for its PubAcks before it is published again."""
FETCH_BATCH = 256
"""Messages per pull while a consumer has a backlog."""
FETCH_WAIT_S = 1.0
"""Long-poll of an idle consumer: a pull for one message that the server answers as soon
as one arrives (a pull for a batch would wait for the whole batch or this timeout)."""
FETCH_MORE_S = 0.05
"""Pull timeout while there is a backlog; the server answers at once with what it has."""
DRAIN_POLL_S = 0.015
"""Poll interval of :meth:`JetStreamEventLog.drain` (server-side consumer state)."""
METRICS_INTERVAL_S = 1.0
"""How often the ``starling_events_pending`` gauge is refreshed."""
DUPLICATE_WINDOW_S = 120.0
"""JetStream de-duplicates by ``Nats-Msg-Id`` within this window (2 minutes, the server's
default): long enough for a relay restart, short enough for the server's memory (one id
per message in the window)."""
STREAM_MAX_AGE_S = 7 * 86_400.0
"""Events older than this leave the main stream: a group down for longer misses them."""
CONNECT_WAIT_S = 2.0
"""How long :meth:`JetStreamEventLog.start` waits for NATS before carrying on in the
background."""
RECONNECT_WAIT_S = 0.5
STOP_RECANCEL_S = 0.05
RETRY_BACKOFF_S = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
"""Waits between retries of infrastructure errors (NATS or the store unreachable)."""
LOG_EVERY_S = 30.0
"""Repeated infrastructure errors are logged as warnings at most this often."""

MSG_ID = "Nats-Msg-Id"
H_SUBJECT = "Starling-Subject"
H_GROUP = "Starling-Group"
H_ERROR = "Starling-Error"
H_ATTEMPTS = "Starling-Attempts"
H_EVENT_ID = "Starling-Event-Id"
H_REPLAY_GROUP = "Starling-Replay-Group"
UNDECODABLE = "undecodable"
"""Subject token of outbox rows whose payload names no usable event type."""

_NAME = re.compile(r"[A-Za-z0-9_-]+")


class NatsUnavailable(BackendUnavailable, ConnectionError):
    """NATS is not connected, or the streams are not set up yet."""


class JetStreamDeadLetter(msgspec.Struct, frozen=True):
    """A message parked in the dead-letter stream (implements ``ports.DeadLetter``).

    ``id`` is its sequence in ``<stream>_DLQ``; ``subject`` the subject it had in the main
    stream; ``event_id`` the event's id as text ("" when the payload has none).
    """

    id: int
    group: str
    payload: bytes
    error: str
    attempts: int
    subject: str
    event_id: str


class _Envelope(msgspec.Struct):
    """The two fields the relay needs from any event payload (the rest is ignored)."""

    type: str
    event_id: int


_envelope = msgspec.json.Decoder(_Envelope)


class _Group:
    def __init__(
        self, name: str, consumer: str, handler: EventHandler, batch: BatchHandler | None
    ) -> None:
        self.name = name
        self.consumer = consumer
        self.handler = handler
        self.batch = batch
        self.inflight: Sequence[Msg] = ()
        self.done = 0


class _Throttle:
    """Says when a repeated message is worth a warning again (at most once per period)."""

    def __init__(self, period_s: float = LOG_EVERY_S) -> None:
        self._period_s = period_s
        self._next = 0.0

    def ready(self) -> bool:
        now = time.monotonic()
        if now < self._next:
            return False
        self._next = now + self._period_s
        return True


def _retry_wait(failures: int) -> float:
    return RETRY_BACKOFF_S[min(failures, len(RETRY_BACKOFF_S)) - 1]


def _header_text(text: str, limit: int = 2000) -> str:
    # Header values are one line; an exception's repr may span several.
    return " ".join(text.split())[:limit]


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
        store: Store,
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
        if not _NAME.fullmatch(stream) or stream.upper().endswith("_DLQ"):
            raise ValueError(f"invalid JetStream stream name {stream!r}")
        if max_deliver < 1:
            raise ValueError("max_deliver must be at least 1")
        self._store = store
        self._metrics = metrics
        self._url = url
        self.stream = stream
        self.dlq_stream = f"{stream}_DLQ"
        self.subject_prefix = stream.lower()
        self.dlq_subject_prefix = f"{self.subject_prefix}_dlq"
        self._max_deliver = max_deliver
        self._backoff_s = tuple(backoff_s) or (0.0,)
        self._relay_enabled = relay
        self._consume_enabled = consume
        self._ack_wait_s = ack_wait_s
        self._connect_wait_s = connect_wait_s
        self._groups: dict[str, _Group] = {}
        self._nc: NatsClient | None = None
        self._js: JetStreamContext | None = None
        self._ready = asyncio.Event()
        self._wake = asyncio.Event()
        self._reconnected = asyncio.Event()
        self._publishing: list[asyncio.Future[PubAck]] = []
        self._tasks: list[asyncio.Task[None]] = []
        self._started = False
        self._error_log = _Throttle()

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
        if not _NAME.fullmatch(group):
            raise ValueError(f"invalid consumer group name {group!r}")
        self._groups[group] = _Group(group, f"{self.stream}_{group}", handler, batch)

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
        self._tasks.append(asyncio.create_task(self._setup(), name=f"starling-nats-{self.stream}"))
        try:
            async with asyncio.timeout(self._connect_wait_s):
                await self._ready.wait()
        except TimeoutError:
            log.warning(
                "NATS JetStream at %s not ready after %.1f s; retrying in the background",
                self._url,
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
        nc, self._nc, self._js = self._nc, None, None
        if nc is not None:
            try:
                await nc.close()
            except Exception:
                log.debug("closing the NATS connection failed", exc_info=True)
        self._ready.clear()

    def notify(self) -> None:
        """Wake the relay: rows were just committed (otherwise it polls every 0.5 s)."""
        self._wake.set()

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
        js = self._connected_js()
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
        js = self._require_js()
        info = await js.stream_info(self.dlq_stream)
        letters: list[JetStreamDeadLetter] = []
        seq, last = info.state.first_seq, info.state.last_seq
        while info.state.messages and seq <= last:
            try:
                raw = await js.get_msg(
                    self.dlq_stream, seq, subject=f"{self.dlq_subject_prefix}.>", next=True
                )
            except nats.js.errors.NotFoundError:
                break
            assert raw.seq is not None
            letters.append(self._letter(raw))
            seq = raw.seq + 1
        return letters

    async def replay_dead_letters(self, group: str | None = None) -> int:
        """Deliver the dead letters of ``group`` (all groups when None) again; returns how
        many left the dead-letter stream.

        A group subscribed in this process: its handler runs here, once per letter, and a
        letter whose handler fails again stays parked. Any other group (``starling dlq
        replay`` runs in its own process): the event is republished to the main stream
        for that group's workers, under ``Nats-Msg-Id: <event_id>-replay-<dlq seq>`` (a new
        id, so de-duplication keeps it) with header ``Starling-Replay-Group``; letters of
        groups without a consumer on the server stay parked. Payloads that are not events
        stay parked either way. Raises :class:`NatsUnavailable` when NATS is not connected.
        """
        js = self._require_js()
        delivered = 0
        for letter in await self.dead_letters():
            if group is not None and letter.group != group:
                continue
            try:
                event = decode_event(letter.payload)
            except msgspec.DecodeError:
                log.warning("dead letter %d is not an event; left parked", letter.id)
                continue
            local = self._groups.get(letter.group)
            if local is not None:
                try:
                    await local.handler(event)
                except Exception:
                    log.exception("replay of dead letter %d failed", letter.id)
                    continue
            else:
                consumer = f"{self.stream}_{letter.group}"
                try:
                    await js.consumer_info(self.stream, consumer)
                except nats.js.errors.NotFoundError:
                    log.warning("dead letter %d: no consumer %s; left parked", letter.id, consumer)
                    continue
                headers = {
                    MSG_ID: f"{letter.event_id or 'x'}-replay-{letter.id}",
                    H_REPLAY_GROUP: letter.group,
                }
                await js.publish(
                    letter.subject, letter.payload, headers=headers, stream=self.stream
                )
            await js.delete_msg(self.dlq_stream, letter.id)
            delivered += 1
        return delivered

    # --- beyond the port ---------------------------------------------------------------
    async def ping(self) -> None:
        """Raise :class:`NatsUnavailable` (a ``BackendUnavailable`` and ``ConnectionError``)
        unless NATS is connected and the streams are set up, or ``TimeoutError`` if the
        server does not answer a round trip within 1 s (for ``/readyz``)."""
        nc = self._nc
        if nc is None or not nc.is_connected:
            raise NatsUnavailable(f"NATS at {self._url} is not connected")
        if not self._ready.is_set():
            raise NatsUnavailable(f"JetStream streams of {self.stream} are not set up yet")
        await nc.flush(timeout=1)

    # --- connection and setup ----------------------------------------------------------
    async def _setup(self) -> None:
        try:
            await self._connect_and_set_up()
        except asyncio.CancelledError:
            raise
        except Exception:
            # Not retryable (e.g. a malformed URL): the process keeps running without
            # JetStream, ping() says so.
            log.exception("NATS JetStream event log for %s cannot start", self._url)

    async def _connect_and_set_up(self) -> None:
        nc = NatsClient()
        self._nc = nc
        # max_reconnect_attempts=-1: the first connect and every reconnect retry forever,
        # so a NATS that is down at start or restarts later heals without a process restart.
        await nc.connect(
            servers=[self._url],
            name=f"starling-{self.stream}",
            allow_reconnect=True,
            max_reconnect_attempts=-1,
            # nats-py annotates this int but only sleeps on it: a float works.
            reconnect_time_wait=RECONNECT_WAIT_S,  # type: ignore[arg-type]
            connect_timeout=2,
            ping_interval=20,
            error_cb=self._on_error,
            disconnected_cb=self._on_disconnected,
            reconnected_cb=self._on_reconnected,
        )
        self._js = nc.jetstream()
        log.info("connected to NATS at %s (stream %s)", self._url, self.stream)
        await self._retrying("stream setup", self._ensure_streams)
        if self._consume_enabled:
            for group in self._groups.values():
                await self._retrying(
                    f"consumer {group.consumer}", functools.partial(self._ensure_consumer, group)
                )
                self._spawn(self._consume(group), f"consume-{group.name}")
                self._spawn(self._keep_alive(group), f"keepalive-{group.name}")
        if self._relay_enabled:
            self._spawn(self._relay(), "relay")
        self._spawn(self._refresh_metrics(), "metrics")
        self._ready.set()

    def _spawn(self, coro: Coroutine[object, object, None], name: str) -> None:
        self._tasks.append(asyncio.create_task(coro, name=f"starling-nats-{name}"))

    async def _retrying(self, what: str, step: Callable[[], Awaitable[None]]) -> None:
        failures = 0
        while True:
            try:
                await step()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                self._log_failure(f"{what} failed (try {failures}): {exc!r}")
                await asyncio.sleep(_retry_wait(failures))

    async def _ensure_streams(self) -> None:
        js = self._require_js()
        await self._ensure_stream(
            js,
            StreamConfig(
                name=self.stream,
                description="Starling events (outbox relay)",
                subjects=[f"{self.subject_prefix}.>"],
                retention=RetentionPolicy.LIMITS,
                storage=StorageType.FILE,
                discard=DiscardPolicy.OLD,
                max_age=STREAM_MAX_AGE_S,
                duplicate_window=DUPLICATE_WINDOW_S,
            ),
        )
        await self._ensure_stream(
            js,
            StreamConfig(
                name=self.dlq_stream,
                description="Starling dead letters (kept until replayed)",
                subjects=[f"{self.dlq_subject_prefix}.>"],
                retention=RetentionPolicy.LIMITS,
                storage=StorageType.FILE,
                discard=DiscardPolicy.OLD,
                duplicate_window=DUPLICATE_WINDOW_S,
            ),
        )

    @staticmethod
    async def _ensure_stream(js: JetStreamContext, config: StreamConfig) -> None:
        assert config.name is not None
        try:
            info = await js.stream_info(config.name)
        except nats.js.errors.NotFoundError:
            await js.add_stream(config)
            return
        current = info.config
        if (
            sorted(current.subjects or []) != sorted(config.subjects or [])
            or current.duplicate_window != config.duplicate_window
            or (current.max_age or 0) != (config.max_age or 0)
        ):
            try:
                await js.update_stream(config)
            except nats.js.errors.APIError as exc:
                # A stream edited by hand may not be updatable (e.g. storage type); it
                # still works as it is.
                log.error("cannot update JetStream stream %s: %s", config.name, exc)

    async def _ensure_consumer(self, group: _Group) -> None:
        js = self._require_js()
        config = ConsumerConfig(
            name=group.consumer,
            durable_name=group.consumer,
            description=f"Starling consumer group {group.name}",
            deliver_policy=DeliverPolicy.ALL,
            ack_policy=AckPolicy.EXPLICIT,
            ack_wait=self._ack_wait_s,
            max_deliver=-1,
            filter_subject=f"{self.subject_prefix}.>",
        )
        try:
            # Create, or update the fields a server allows to change (e.g. ack_wait).
            await js.add_consumer(self.stream, config)
        except nats.js.errors.APIError as exc:
            await js.consumer_info(self.stream, group.consumer)  # raises if it is absent
            log.error("cannot update JetStream consumer %s: %s", group.consumer, exc)

    def _require_js(self) -> JetStreamContext:
        js = self._connected_js()
        if js is None:
            raise NatsUnavailable(f"NATS at {self._url} is not connected")
        return js

    def _connected_js(self) -> JetStreamContext | None:
        nc = self._nc
        if nc is None or not nc.is_connected:
            return None
        return self._js

    def _log_failure(self, message: str) -> None:
        if self._error_log.ready():
            log.warning("%s (NATS %s)", message, self._url)
        else:
            log.debug("%s (NATS %s)", message, self._url)

    async def _on_error(self, exc: Exception) -> None:
        self._log_failure(f"NATS error: {exc!r}")

    async def _on_disconnected(self) -> None:
        if self._started:  # not while stop() closes the connection
            log.warning("disconnected from NATS at %s", self._url)
        # Publishes written to the dead socket will never be acknowledged: fail the batch
        # now (the relay publishes it again after the reconnect) rather than time out.
        for future in self._publishing:
            if not future.done():
                future.set_exception(NatsUnavailable("disconnected while publishing"))

    async def _on_reconnected(self) -> None:
        log.info("reconnected to NATS at %s", self._url)
        self._reconnected.set()  # the relay retries now rather than after its backoff

    # --- relay -------------------------------------------------------------------------
    async def _relay(self) -> None:
        position = 0
        failures = 0
        while True:
            self._wake.clear()
            try:
                self._require_js()  # no use reading rows while NATS is away
                # Another relay (another process) may be ahead: never publish behind it.
                position = max(position, await self._store.consumer_position(RELAY))
                rows = await self._store.outbox_after(position, RELAY_BATCH)
                if rows:
                    await self._publish(rows)
                    position = rows[-1].position
                    await self._store.set_consumer_position(RELAY, position)
                failures = 0
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                self._log_failure(f"relay: publishing after outbox position {position}: {exc!r}")
                if isinstance(exc, nats.js.errors.NoStreamResponseError):
                    # The stream is gone (a NATS restarted without its storage).
                    with contextlib.suppress(Exception):
                        await self._ensure_streams()
                self._reconnected.clear()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(_retry_wait(failures)):
                        await self._reconnected.wait()
                continue
            if len(rows) < RELAY_BATCH:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(POLL_INTERVAL_S):
                        await self._wake.wait()
                        # Let the posts committing meanwhile join the batch: a relay pass
                        # costs four round trips whether it carries one event or many.
                        await asyncio.sleep(RELAY_LINGER_S)

    async def _publish(self, rows: Sequence[OutboxRecord]) -> None:
        """Publish ``rows`` with all of them in flight; return once each has its PubAck.
        Raises on any failure (the caller publishes the whole batch again; JetStream
        drops the ones it already has)."""
        js = self._require_js()
        futures: list[asyncio.Future[PubAck]] = []
        self._publishing = futures
        try:
            for row in rows:
                subject, msg_id = self._route(row)
                futures.append(
                    await js.publish_async(
                        subject, row.payload, headers={MSG_ID: msg_id}, stream=self.stream
                    )
                )
            async with asyncio.timeout(PUBLISH_TIMEOUT_S):
                results = await asyncio.gather(*futures, return_exceptions=True)
        finally:
            self._publishing = []
            for future in futures:
                future.cancel()
        for result in results:
            if isinstance(result, BaseException):
                raise result

    def _route(self, row: OutboxRecord) -> tuple[str, str]:
        """The subject and ``Nats-Msg-Id`` of an outbox row."""
        try:
            envelope = _envelope.decode(row.payload)
        except msgspec.DecodeError:
            return f"{self.subject_prefix}.{UNDECODABLE}", f"outbox-{row.position}"
        token = envelope.type if _NAME.fullmatch(envelope.type) else UNDECODABLE
        return f"{self.subject_prefix}.{token}", str(envelope.event_id)

    # --- consumers ---------------------------------------------------------------------
    async def _consume(self, group: _Group) -> None:
        js = self._require_js()
        sub: JetStreamContext.PullSubscription | None = None
        backlog = False
        failures = 0
        while True:
            try:
                if sub is None:
                    sub = await js.pull_subscribe_bind(consumer=group.consumer, stream=self.stream)
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
                self._log_failure(f"consumer {group.consumer}: fetch failed: {exc!r}")
                if sub is not None:
                    with contextlib.suppress(Exception):
                        await sub.unsubscribe()
                    sub = None
                await asyncio.sleep(_retry_wait(failures))
                # The consumer may be gone (deleted by hand, NATS lost its storage).
                with contextlib.suppress(Exception):
                    await self._ensure_consumer(group)
                continue
            backlog = True
            try:
                await self._process(group, msgs)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # An ack or a dead-letter publish failed (connection lost): the messages
                # not acknowledged come back after ack_wait, or at once after the nak.
                failures += 1
                self._log_failure(f"consumer {group.consumer}: {exc!r}")
                await asyncio.sleep(_retry_wait(failures))

    async def _process(self, group: _Group, msgs: Sequence[Msg]) -> None:
        group.inflight, group.done = msgs, 0
        try:
            if await self._handle_batch(group, msgs):
                return
            for msg in msgs:
                await self._handle(group, msg)
                group.done += 1
        finally:
            rest = msgs[group.done :]
            group.inflight, group.done = (), 0
            # Stopped mid-batch: hand the rest back now rather than after ack_wait.
            for msg in rest:
                with contextlib.suppress(Exception):
                    await msg.nak()

    async def _keep_alive(self, group: _Group) -> None:
        """Every ``ack_wait_s / 3``, tell JetStream the fetched, unacknowledged messages are
        being worked on, so a slow handler or a long retry backoff is not redelivered."""
        while True:
            await asyncio.sleep(self._ack_wait_s / 3)
            for msg in group.inflight[group.done :]:
                with contextlib.suppress(Exception):
                    await msg.in_progress()

    async def _handle_batch(self, group: _Group, msgs: Sequence[Msg]) -> bool:
        """Run the group's batch handler on ``msgs`` and acknowledge them all; False
        (nothing acknowledged) when there is none, a message needs the single path (a
        replay, a redelivery past ``max_deliver``, undecodable) or the handler raised."""
        if group.batch is None or len(msgs) < 2:
            return False
        for msg in msgs:
            if (msg.headers or {}).get(H_REPLAY_GROUP) is not None:
                return False
            if msg.metadata.num_delivered > self._max_deliver:
                return False
        if not await try_batch(group.batch, (msg.data for msg in msgs), group=group.name):
            return False
        for msg in msgs:
            await msg.ack()
            group.done += 1
        return True

    async def _handle(self, group: _Group, msg: Msg) -> None:
        headers = msg.headers or {}
        replay_for = headers.get(H_REPLAY_GROUP)
        if replay_for is not None and replay_for != group.name:
            await msg.ack()  # a replay meant for another group
            return
        earlier = msg.metadata.num_delivered - 1
        if earlier >= self._max_deliver:
            await self._dead_letter(
                group, msg, f"delivered {earlier + 1} times without an ack", earlier
            )
            return
        try:
            event = decode_event(msg.data)
        except msgspec.DecodeError as exc:
            await self._dead_letter(group, msg, f"undecodable: {exc}", earlier + 1)
            return
        attempt = earlier
        while True:
            attempt += 1
            try:
                await group.handler(event)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if attempt >= self._max_deliver:
                    log.exception(
                        "%s: event %d failed %d times", group.name, event.event_id, attempt
                    )
                    await self._dead_letter(group, msg, repr(exc), attempt)
                    return
                log.warning(
                    "%s: event %d failed (try %d): %r", group.name, event.event_id, attempt, exc
                )
                await asyncio.sleep(self._backoff_s[min(attempt, len(self._backoff_s)) - 1])
                continue
            await msg.ack()
            return

    async def _dead_letter(self, group: _Group, msg: Msg, error: str, attempts: int) -> None:
        """Publish ``msg`` to the dead-letter stream, then acknowledge it. If the publish
        fails, the message is handed back (nak with the longest backoff) and parked on a
        later delivery."""
        js = self._require_js()
        event_id = ""
        with contextlib.suppress(msgspec.DecodeError):
            event_id = str(_envelope.decode(msg.data).event_id)
        headers = {
            # Two deliveries of the same message park it once.
            MSG_ID: f"{group.name}-{msg.metadata.sequence.stream}",
            H_SUBJECT: msg.subject,
            H_GROUP: group.name,
            H_ERROR: _header_text(error) or "error",
            H_ATTEMPTS: str(attempts),
            H_EVENT_ID: event_id or "-",
        }
        try:
            await js.publish(
                f"{self.dlq_subject_prefix}.{group.name}",
                msg.data,
                headers=headers,
                stream=self.dlq_stream,
            )
        except Exception as exc:
            self._log_failure(f"{group.name}: dead-lettering failed: {exc!r}")
            await msg.nak(delay=self._backoff_s[-1])
            return
        await msg.ack()
        self._metrics.events_dead_letter.inc()
        log.warning("%s: parked event %s after %d tries: %s", group.name, event_id, attempts, error)

    def _letter(self, raw: RawStreamMsg) -> JetStreamDeadLetter:
        headers = raw.headers or {}
        group = headers.get(H_GROUP) or (raw.subject or "").rpartition(".")[2]
        try:
            attempts = int(headers.get(H_ATTEMPTS, "0"))
        except ValueError:
            attempts = 0
        event_id = headers.get(H_EVENT_ID, "")
        assert raw.seq is not None
        return JetStreamDeadLetter(
            id=raw.seq,
            group=group,
            payload=raw.data or b"",
            error=headers.get(H_ERROR, ""),
            attempts=attempts,
            subject=headers.get(H_SUBJECT) or f"{self.subject_prefix}.{UNDECODABLE}",
            event_id="" if event_id == "-" else event_id,
        )

    # --- observation -------------------------------------------------------------------
    async def _consumer_names(self, js: JetStreamContext) -> list[str]:
        """This process's groups' consumers and every other Starling consumer of the stream."""
        names = [g.consumer for g in self._groups.values()] if self._consume_enabled else []
        prefix = f"{self.stream}_"
        for info in await js.consumers_info(self.stream):
            if info.name.startswith(prefix) and info.name not in names:
                names.append(info.name)
        return names

    async def _last_sequence(self) -> int | None:
        js = self._connected_js()
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
        js = self._connected_js()
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
