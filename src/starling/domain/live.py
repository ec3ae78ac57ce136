"""Live updates: what is published on the live bus, and on which channel.

A message carries ids, never bodies (docs/decisions/0012): the stream that receives it
hydrates the tweet or notification for its own viewer, so block and mute are applied
per reader and nothing is serialized once per follower.

Channels (docs/decisions/0001: push for ordinary authors, pull for celebrities):
- ``user:<id>``: items for one reader: tweets pushed into their home timeline (their
  own included), their notifications, and deletions of tweets retracted from their
  home timeline;
- ``author:<id>``: tweets and deletions of a celebrity, whose tweets are not pushed;
  each connected reader subscribes to the author channels of the celebrities they
  follow.
"""

from __future__ import annotations

from typing import Literal

import msgspec

LiveKind = Literal["tweet", "notification", "deleted"]


class LiveMessage(msgspec.Struct, frozen=True, array_like=True):
    """``kind`` and the snowflake ``id`` of the tweet or notification (``deleted``: of
    the tweet that was deleted); ``actor_id`` is the tweet's author or the
    notification's actor (readers drop those hidden from them without a lookup).
    Encoded as a msgpack array: a few bytes per message. A process that does not know
    a kind reads the message as none (:func:`decode`) and skips it."""

    kind: LiveKind
    id: int
    actor_id: int


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(LiveMessage)


def encode(message: LiveMessage) -> bytes:
    """The wire form of ``message``."""
    return _encoder.encode(message)


def decode(payload: bytes) -> LiveMessage | None:
    """The message in ``payload``; None for bytes that are not one (a newer format)."""
    try:
        return _decoder.decode(payload)
    except msgspec.DecodeError:
        return None


def user_channel(user_id: int) -> str:
    """The channel of items for reader ``user_id``."""
    return f"user:{user_id}"


def reader_of(channel: str) -> int | None:
    """The reader of a :func:`user_channel`; None for any other channel."""
    kind, _, rest = channel.partition(":")
    return int(rest) if kind == "user" and rest.isdigit() else None


def author_channel(author_id: int) -> str:
    """The channel of a celebrity's (pulled, not pushed) tweets."""
    return f"author:{author_id}"
