"""One call of a consumer group's batch handler, shared by the event-log adapters.

Both the outbox consumer and the JetStream consumer first try a fetched batch in one
call and, when that fails, fall back to delivering the events one by one (with their
retries and dead letters). This is the "try the batch" half.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

import msgspec

from starling.domain.events import AnyEvent, decode_event
from starling.ports import BatchHandler

log = logging.getLogger(__name__)


async def try_batch(batch: BatchHandler, payloads: Iterable[bytes], *, group: str) -> bool:
    """Decode every payload and hand the events to ``batch`` in one call.

    Returns True when the handler returned; False when a payload does not decode or the
    handler raised (logged as a warning): the caller then delivers one by one, so a
    poison event is parked alone. ``asyncio.CancelledError`` propagates.
    """
    try:
        events: list[AnyEvent] = [decode_event(payload) for payload in payloads]
    except msgspec.DecodeError:
        return False
    try:
        await batch(events)
    except asyncio.CancelledError:
        raise
    except Exception as exc:
        log.warning("%s: batch of %d failed (%r); one by one", group, len(events), exc)
        return False
    return True
