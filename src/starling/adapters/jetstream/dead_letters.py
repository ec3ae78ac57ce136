"""Dead letters on JetStream: the stream ``<stream>_DLQ``.

A parked message is published on ``<prefix>_dlq.<group>`` with its payload and the
headers ``Starling-Subject``, ``Starling-Group``, ``Starling-Error``,
``Starling-Attempts`` and ``Starling-Event-Id``, then acknowledged in the main stream.

Replaying runs the group's handler in this process when the group is subscribed here
(and keeps the letter if it fails again); otherwise (``starling dlq replay`` in its own
process) it republishes the event to the main stream under a new ``Nats-Msg-Id`` with
header ``Starling-Replay-Group``: every group's consumer receives it, and all but the
named group acknowledge it without running their handler. (Per-group replay subjects
would need a consumer with two filter subjects, which NATS 2.10 added; this server is
2.9.)
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Mapping

import msgspec
import nats.js.errors
from nats.aio.msg import Msg
from nats.js.api import RawStreamMsg

from starling.adapters.jetstream.connection import Connection
from starling.adapters.jetstream.streams import (
    H_REPLAY_GROUP,
    MSG_ID,
    UNDECODABLE,
    StreamNames,
    envelope,
)
from starling.domain.events import decode_event
from starling.metrics import Metrics
from starling.workers.delivery import ConsumerGroup, replay

log = logging.getLogger(__name__)

H_SUBJECT = "Starling-Subject"
H_GROUP = "Starling-Group"
H_ERROR = "Starling-Error"
H_ATTEMPTS = "Starling-Attempts"
H_EVENT_ID = "Starling-Event-Id"


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


def _header_text(text: str, limit: int = 2000) -> str:
    # Header values are one line; an exception's repr may span several.
    return " ".join(text.split())[:limit]


class DeadLetters:
    """Parks, lists and replays the dead letters of the stream of ``names``.

    A park whose publish fails hands the message back with a delay of ``nak_delay_s``
    seconds (it is parked on a later delivery).
    """

    def __init__(
        self, connection: Connection, names: StreamNames, metrics: Metrics, *, nak_delay_s: float
    ) -> None:
        self._conn = connection
        self._names = names
        self._metrics = metrics
        self._nak_delay_s = nak_delay_s

    async def park(self, group: str, msg: Msg, error: str, attempts: int) -> None:
        """Publish ``msg`` to the dead-letter stream as ``group``'s, then acknowledge it.
        If the publish fails, the message is handed back (nak with delay) instead.
        Raises :class:`~.connection.NatsUnavailable` when NATS is not connected, and what
        the ack raises."""
        js = self._conn.require_js()
        event_id = ""
        with contextlib.suppress(msgspec.DecodeError):
            event_id = str(envelope.decode(msg.data).event_id)
        headers = {
            # Two deliveries of the same message park it once.
            MSG_ID: f"{group}-{msg.metadata.sequence.stream}",
            H_SUBJECT: msg.subject,
            H_GROUP: group,
            H_ERROR: _header_text(error) or "error",
            H_ATTEMPTS: str(attempts),
            H_EVENT_ID: event_id or "-",
        }
        try:
            await js.publish(
                self._names.dead_letter_subject(group),
                msg.data,
                headers=headers,
                stream=self._names.dlq_stream,
            )
        except Exception as exc:
            self._conn.log_failure(f"{group}: dead-lettering failed: {exc!r}")
            await msg.nak(delay=self._nak_delay_s)
            return
        await msg.ack()
        self._metrics.events_dead_letter.inc()
        log.warning("%s: parked event %s after %d tries: %s", group, event_id, attempts, error)

    async def list(self) -> list[JetStreamDeadLetter]:
        """The messages in ``<stream>_DLQ``, oldest first, read without consuming them.
        Raises :class:`~.connection.NatsUnavailable` when NATS is not connected."""
        js = self._conn.require_js()
        info = await js.stream_info(self._names.dlq_stream)
        letters: list[JetStreamDeadLetter] = []
        seq, last = info.state.first_seq, info.state.last_seq
        while info.state.messages and seq <= last:
            try:
                raw = await js.get_msg(
                    self._names.dlq_stream, seq, subject=self._names.dead_letters, next=True
                )
            except nats.js.errors.NotFoundError:
                break
            assert raw.seq is not None
            letters.append(self._letter(raw))
            seq = raw.seq + 1
        return letters

    async def replay(self, local: Mapping[str, ConsumerGroup], group: str | None) -> int:
        """Deliver the dead letters of ``group`` (all groups when None) again; returns how
        many left the dead-letter stream.

        A group in ``local`` (subscribed in this process): its handler runs here, once per
        letter, and a letter whose handler fails again stays parked. Any other group:
        the event is republished to the main stream for that group's workers, under
        ``Nats-Msg-Id: <event_id>-replay-<dlq seq>`` (a new id, so de-duplication keeps
        it) with header ``Starling-Replay-Group``; letters of groups without a consumer on
        the server stay parked. Payloads that are not events stay parked either way.
        Raises :class:`~.connection.NatsUnavailable` when NATS is not connected.
        """
        js = self._conn.require_js()
        delivered = 0
        for letter in await self.list():
            if group is not None and letter.group != group:
                continue
            subscribed = local.get(letter.group)
            if subscribed is not None:
                if not await replay(subscribed, letter.payload, letter_id=letter.id):
                    continue
            else:
                try:
                    decode_event(letter.payload)
                except msgspec.DecodeError:
                    log.warning("dead letter %d is not an event; left parked", letter.id)
                    continue
                consumer = self._names.consumer(letter.group)
                try:
                    await js.consumer_info(self._names.stream, consumer)
                except nats.js.errors.NotFoundError:
                    log.warning("dead letter %d: no consumer %s; left parked", letter.id, consumer)
                    continue
                headers = {
                    MSG_ID: f"{letter.event_id or 'x'}-replay-{letter.id}",
                    H_REPLAY_GROUP: letter.group,
                }
                await js.publish(
                    letter.subject, letter.payload, headers=headers, stream=self._names.stream
                )
            await js.delete_msg(self._names.dlq_stream, letter.id)
            delivered += 1
        return delivered

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
            subject=headers.get(H_SUBJECT) or self._names.event_subject(UNDECODABLE),
            event_id="" if event_id == "-" else event_id,
        )
