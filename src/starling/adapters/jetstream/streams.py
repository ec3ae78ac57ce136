"""Names, subjects and the setup of the JetStream streams and durable consumers.

Every name derives from the main stream's name, so that several deployments can share
one NATS (``STARLING_NATS_STREAM``; JetStream rejects streams with overlapping subjects):

- the main stream ``<stream>``, subjects ``<prefix>.<event type>`` where ``prefix`` is the
  stream name in lower case (``STARLING`` -> ``starling.tweet_posted``);
- the dead-letter stream ``<stream>_DLQ``, subjects ``<prefix>_dlq.<group>``;
- one durable pull consumer per group, ``<stream>_<group>``, filter ``<prefix>.>``.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

import msgspec
import nats.js.errors
from nats.js import JetStreamContext
from nats.js.api import (
    AckPolicy,
    ConsumerConfig,
    DeliverPolicy,
    DiscardPolicy,
    RetentionPolicy,
    StorageType,
    StreamConfig,
)

log = logging.getLogger(__name__)

DUPLICATE_WINDOW_S = 120.0
"""JetStream de-duplicates by ``Nats-Msg-Id`` within this window (2 minutes, the server's
default): long enough for a relay restart, short enough for the server's memory (one id
per message in the window)."""
STREAM_MAX_AGE_S = 7 * 86_400.0
"""Events older than this leave the main stream: a group down for longer misses them."""

MSG_ID = "Nats-Msg-Id"
"""JetStream's de-duplication header."""
H_REPLAY_GROUP = "Starling-Replay-Group"
"""Header of a replayed dead letter: the only group that runs its handler on it."""
UNDECODABLE = "undecodable"
"""Subject token of outbox rows whose payload names no usable event type."""

_NAME = re.compile(r"[A-Za-z0-9_-]+")


class Envelope(msgspec.Struct):
    """The two fields of any event payload that its subject and message ids are made
    of (the rest is ignored)."""

    type: str
    event_id: int


envelope = msgspec.json.Decoder(Envelope)
"""Decoder of :class:`Envelope`; raises ``msgspec.DecodeError`` for other payloads."""


def is_valid_name(name: str) -> bool:
    """Whether ``name`` can be part of a NATS stream, consumer or subject token:
    letters, digits, ``_`` and ``-``."""
    return _NAME.fullmatch(name) is not None


@dataclass(frozen=True, slots=True)
class StreamNames:
    """The names derived from one main stream's name (see the module docstring)."""

    stream: str
    dlq_stream: str
    subject_prefix: str
    dlq_subject_prefix: str

    @classmethod
    def of(cls, stream: str) -> StreamNames:
        """The names of main stream ``stream``. Raises ``ValueError`` when it is not a
        valid NATS name or ends in ``_DLQ``."""
        if not is_valid_name(stream) or stream.upper().endswith("_DLQ"):
            raise ValueError(f"invalid JetStream stream name {stream!r}")
        prefix = stream.lower()
        return cls(stream, f"{stream}_DLQ", prefix, f"{prefix}_dlq")

    def consumer(self, group: str) -> str:
        """The durable consumer of consumer group ``group``."""
        return f"{self.stream}_{group}"

    @property
    def consumer_prefix(self) -> str:
        """What the names of every Starling consumer of the stream start with."""
        return f"{self.stream}_"

    @property
    def events(self) -> str:
        """The subject filter of every event of the main stream."""
        return f"{self.subject_prefix}.>"

    def event_subject(self, token: str) -> str:
        """The main stream's subject of an event type (or :data:`UNDECODABLE`)."""
        return f"{self.subject_prefix}.{token}"

    @property
    def dead_letters(self) -> str:
        """The subject filter of every dead letter."""
        return f"{self.dlq_subject_prefix}.>"

    def dead_letter_subject(self, group: str) -> str:
        """The dead-letter stream's subject of ``group``'s parked messages."""
        return f"{self.dlq_subject_prefix}.{group}"


async def ensure_streams(js: JetStreamContext, names: StreamNames) -> None:
    """Create the main and dead-letter streams, or bring their subjects, duplicate window
    and age limit to these settings. Raises what NATS raises when it is unreachable."""
    await _ensure_stream(
        js,
        StreamConfig(
            name=names.stream,
            description="Starling events (outbox relay)",
            subjects=[names.events],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            discard=DiscardPolicy.OLD,
            max_age=STREAM_MAX_AGE_S,
            duplicate_window=DUPLICATE_WINDOW_S,
        ),
    )
    await _ensure_stream(
        js,
        StreamConfig(
            name=names.dlq_stream,
            description="Starling dead letters (kept until replayed)",
            subjects=[names.dead_letters],
            retention=RetentionPolicy.LIMITS,
            storage=StorageType.FILE,
            discard=DiscardPolicy.OLD,
            duplicate_window=DUPLICATE_WINDOW_S,
        ),
    )


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


async def ensure_consumer(
    js: JetStreamContext, names: StreamNames, group: str, *, ack_wait_s: float
) -> None:
    """Create group ``group``'s durable pull consumer (explicit ack, every event from the
    start of the stream), or update the fields a server allows to change (``ack_wait``).

    Its ``max_deliver`` is unlimited on purpose: the server would drop a message
    delivered that often silently, where the delivery loop parks it as a dead letter.
    Raises when NATS is unreachable or the consumer exists and cannot be read.
    """
    consumer = names.consumer(group)
    config = ConsumerConfig(
        name=consumer,
        durable_name=consumer,
        description=f"Starling consumer group {group}",
        deliver_policy=DeliverPolicy.ALL,
        ack_policy=AckPolicy.EXPLICIT,
        ack_wait=ack_wait_s,
        max_deliver=-1,
        filter_subject=names.events,
    )
    try:
        await js.add_consumer(names.stream, config)
    except nats.js.errors.APIError as exc:
        await js.consumer_info(names.stream, consumer)  # raises if it is absent
        log.error("cannot update JetStream consumer %s: %s", consumer, exc)
