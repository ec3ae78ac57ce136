"""Events written to the outbox with the change that caused them.

Events carry ids, never objects (Stream-Framework's habit): consumers reload what they
need, so a re-delivered or late event never acts on stale copies.
"""

from __future__ import annotations

import msgspec


class Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="type"):
    """Base event. ``event_id`` is a snowflake and the de-duplication key downstream."""

    event_id: int
    occurred_at_ms: int


class TweetPosted(Event, frozen=True, kw_only=True, tag="tweet_posted"):
    tweet_id: int
    author_id: int


class TweetDeleted(Event, frozen=True, kw_only=True, tag="tweet_deleted"):
    tweet_id: int
    author_id: int


class Followed(Event, frozen=True, kw_only=True, tag="followed"):
    follower_id: int
    followee_id: int


class Unfollowed(Event, frozen=True, kw_only=True, tag="unfollowed"):
    follower_id: int
    followee_id: int
    followers_before: int = 0
    """The followee's follower count just before this unfollow: whether it crossed the
    celebrity threshold downwards is then known however late the event is processed."""


class Liked(Event, frozen=True, kw_only=True, tag="liked"):
    """``user_id`` liked ``tweet_id`` (by ``author_id``); written only for a new like."""

    user_id: int
    tweet_id: int
    author_id: int


class Unliked(Event, frozen=True, kw_only=True, tag="unliked"):
    """``user_id`` took back a like of ``tweet_id``; written only when one was removed."""

    user_id: int
    tweet_id: int
    author_id: int


AnyEvent = TweetPosted | TweetDeleted | Followed | Unfollowed | Liked | Unliked

_encoder = msgspec.json.Encoder()
_decoder = msgspec.json.Decoder(AnyEvent)


def event_type(event: Event) -> str:
    """The event's tag, e.g. ``"tweet_posted"`` (also the NATS subject suffix)."""
    tag = type(event).__struct_config__.tag
    assert isinstance(tag, str)
    return tag


def encode_event(event: Event) -> bytes:
    """JSON bytes with a ``type`` field; inverse of :func:`decode_event`."""
    return _encoder.encode(event)


def decode_event(payload: bytes | str) -> AnyEvent:
    """Parse what :func:`encode_event` wrote. Raises ``msgspec.DecodeError`` on garbage."""
    event: AnyEvent = _decoder.decode(payload)
    return event
