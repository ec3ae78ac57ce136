"""The one delivery loop of every event log: decode, run the group's handler, retry with
back-off, park as a dead letter.

The event logs (:class:`~starling.adapters.outbox_event_log.OutboxEventLog` on the
embedded default, :class:`~starling.adapters.jetstream.JetStreamEventLog` on scale-out)
only fetch events and say what acknowledging or parking one means in their medium; each
wraps what it fetched in a :class:`Delivery` and hands a batch of them, in log order, to
:func:`deliver`:

1. When the group has a batch handler, the batch holds two events or more, and every one
   of them is a plain first-time delivery, the whole batch goes to the batch handler in
   one call; if that returns, each delivery is done.
2. Otherwise (or when the batch handler raised, or a payload does not decode) the events
   go one by one to the single-event handler, so a poison event is parked alone: up to
   ``max_deliver`` tries in all (tries made by earlier deliveries of the same message
   count), with the policy's waits between them, then :meth:`Delivery.park`. A retried
   event is retried in place, so it never falls behind later ones (the ``EventLog``
   contract: in order per group).

Handlers are idempotent (an event may arrive twice); ``asyncio.CancelledError`` always
propagates, leaving the rest of the batch undelivered.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

import msgspec

from starling.domain.events import AnyEvent, decode_event
from starling.ports import BatchHandler, EventHandler

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ConsumerGroup:
    """A subscribed consumer group: its name, its handler of one event, and optionally
    its handler of a batch (see ``EventLog.subscribe``)."""

    name: str
    handler: EventHandler
    batch: BatchHandler | None = None


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How often an event is tried and how long to wait between tries.

    ``max_deliver`` is the number of tries in all (``STARLING_MAX_DELIVER``, at least 1);
    ``waits_s[i]`` the wait in seconds after failed try ``i + 1`` (the last value repeats;
    an empty tuple waits 0 s). Raises ``ValueError`` for ``max_deliver < 1``.
    """

    max_deliver: int
    waits_s: tuple[float, ...]

    def __post_init__(self) -> None:
        if self.max_deliver < 1:
            raise ValueError("max_deliver must be at least 1")

    @classmethod
    def exponential(cls, max_deliver: int, first_wait_s: float) -> RetryPolicy:
        """Waits doubling from ``first_wait_s``: ``first_wait_s * 2**i`` after try ``i + 1``."""
        waits = tuple(first_wait_s * 2**i for i in range(max(max_deliver - 1, 1)))
        return cls(max_deliver, waits)

    def wait_after(self, attempt: int) -> float:
        """Seconds to wait after failed try number ``attempt`` (1-based)."""
        if not self.waits_s:
            return 0.0
        return self.waits_s[min(attempt, len(self.waits_s)) - 1]


class Delivery(Protocol):
    """One fetched event, as the event log that fetched it knows it."""

    @property
    def payload(self) -> bytes:
        """The event's encoded bytes (``domain.events.encode_event``)."""
        ...

    @property
    def earlier_tries(self) -> int:
        """How many times earlier deliveries of this same message were tried (a
        redelivery after a worker died: JetStream counts them); 0 on a first delivery."""
        ...

    @property
    def addressed_to(self) -> str | None:
        """The only group that should handle it (a replayed dead letter), or None: every
        group. Other groups acknowledge it without running their handler."""
        ...

    async def done(self) -> None:
        """Acknowledge: handled, or not meant for this group."""
        ...

    async def park(self, error: str, attempts: int) -> None:
        """Park it as a dead letter of the group after ``attempts`` tries failing with
        ``error`` (and acknowledge it, so that the group moves on)."""
        ...


async def deliver(group: ConsumerGroup, batch: Sequence[Delivery], policy: RetryPolicy) -> None:
    """Hand ``batch`` (in log order) to ``group``: in one batch call when possible, else
    one by one with retries and dead letters (see the module docstring). Returns once
    each delivery is done or parked; raises only what ``done``/``park`` raise (the
    medium is unreachable) and ``asyncio.CancelledError``."""
    if await try_batch(group, batch, policy):
        return
    for delivery in batch:
        await deliver_one(group, delivery, policy)


async def try_batch(group: ConsumerGroup, batch: Sequence[Delivery], policy: RetryPolicy) -> bool:
    """The batch half of :func:`deliver`: decode every payload, call the group's batch
    handler once, then mark each delivery done. Returns False, having done nothing, when
    there is no batch handler, fewer than two deliveries, one that needs the single path
    (a replay, a redelivery past ``max_deliver``), a payload that does not decode, or
    when the handler raised (logged as a warning)."""
    if group.batch is None or len(batch) < 2:
        return False
    for delivery in batch:
        if delivery.addressed_to is not None or delivery.earlier_tries >= policy.max_deliver:
            return False
    try:
        events: list[AnyEvent] = [decode_event(delivery.payload) for delivery in batch]
    except msgspec.DecodeError:
        return False
    try:
        await group.batch(events)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.warning("%s: batch of %d failed (%r); one by one", group.name, len(events), exc)
        return False
    for delivery in batch:
        await delivery.done()
    return True


async def deliver_one(group: ConsumerGroup, delivery: Delivery, policy: RetryPolicy) -> None:
    """The single half of :func:`deliver`: run the group's handler on one event until it
    returns (then ``done``) or has failed ``max_deliver`` tries in all (then ``park``).
    An undecodable payload, or a message already tried ``max_deliver`` times by earlier
    deliveries, is parked without running the handler."""
    addressed_to = delivery.addressed_to
    if addressed_to is not None and addressed_to != group.name:
        await delivery.done()
        return
    earlier = delivery.earlier_tries
    if earlier >= policy.max_deliver:
        await delivery.park(f"delivered {earlier + 1} times without an ack", earlier)
        return
    try:
        event = decode_event(delivery.payload)
    except msgspec.DecodeError as exc:
        await delivery.park(f"undecodable: {exc}", earlier + 1)
        return
    attempt = earlier
    while True:
        attempt += 1
        try:
            await group.handler(event)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            if attempt >= policy.max_deliver:
                log.exception("%s: event %d failed %d times", group.name, event.event_id, attempt)
                await delivery.park(repr(exc), attempt)
                return
            log.warning(
                "%s: event %d failed (try %d): %r", group.name, event.event_id, attempt, exc
            )
            await asyncio.sleep(policy.wait_after(attempt))
            continue
        await delivery.done()
        return


async def replay(group: ConsumerGroup, payload: bytes, *, letter_id: int) -> bool:
    """Run ``group``'s handler once on a dead letter's payload (``starling dlq replay``):
    True when it returned; False when the payload is not an event or the handler raised
    again (logged), and the letter stays parked."""
    try:
        event = decode_event(payload)
    except msgspec.DecodeError:
        log.warning("dead letter %d is not an event; left parked", letter_id)
        return False
    try:
        await group.handler(event)
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("replay of dead letter %d failed", letter_id)
        return False
    return True
