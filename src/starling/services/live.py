"""Publishing live updates: new home-timeline items, notifications and deletions.

After fan-out wrote a pushed tweet into the followers' timelines, one message per
follower goes to ``user:<follower>`` (and to the author's own channel); a celebrity's
tweet is not pushed, so one message goes to ``author:<celebrity>``, which every connected
follower of that celebrity listens to. A stored notification goes to its recipient's
``user:`` channel. A deleted tweet goes, as it is retracted from home timelines, the
same ways as a new one: ``deleted`` messages to the readers whose timelines held it, or
one on the celebrity's channel. Messages carry ids
(:class:`~starling.domain.live.LiveMessage`).
Publishing is best effort: the home timeline and the inbox stay the truth, and a bus
that is down loses live messages, never data. Readers: :mod:`starling.services.stream`.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from starling.domain import live
from starling.domain.live import LiveMessage
from starling.domain.notifications import Notification
from starling.ports import BackendUnavailable, LiveBus

log = logging.getLogger(__name__)


# --- publishing ---------------------------------------------------------------------------
class LivePublisher:
    """Publishes tweets and notifications on the live bus; never raises for a bus that
    cannot be reached (logged: live updates are best effort)."""

    def __init__(self, bus: LiveBus) -> None:
        self._bus = bus

    async def tweet_pushed(
        self, *, tweet_id: int, author_id: int, reader_ids: Sequence[int]
    ) -> None:
        """``tweet_id`` was pushed into the home timelines of ``reader_ids``: one message
        per reader, in one bus round trip."""
        payload = live.encode(LiveMessage("tweet", tweet_id, author_id))
        try:
            await self._bus.publish_to_readers(reader_ids, payload)
        except BackendUnavailable as exc:
            log.warning("live bus unavailable: %d live messages dropped (%s)", len(reader_ids), exc)

    async def celebrity_tweet(self, *, tweet_id: int, author_id: int) -> None:
        """A celebrity's tweet (pulled, not pushed): one message on the author's channel."""
        payload = live.encode(LiveMessage("tweet", tweet_id, author_id))
        await self._publish(live.author_channel(author_id), payload)

    async def tweet_retracted(
        self, *, tweet_id: int, author_id: int, reader_ids: Sequence[int]
    ) -> None:
        """The deleted ``tweet_id`` was retracted from the home timelines of
        ``reader_ids``: one ``deleted`` message per reader, in one bus round trip."""
        payload = live.encode(LiveMessage("deleted", tweet_id, author_id))
        try:
            await self._bus.publish_to_readers(reader_ids, payload)
        except BackendUnavailable as exc:
            log.warning("live bus unavailable: %d live messages dropped (%s)", len(reader_ids), exc)

    async def celebrity_deleted(self, *, tweet_id: int, author_id: int) -> None:
        """A celebrity's tweet was deleted: one ``deleted`` message on the author's channel."""
        payload = live.encode(LiveMessage("deleted", tweet_id, author_id))
        await self._publish(live.author_channel(author_id), payload)

    async def notifications(self, rows: Sequence[Notification]) -> None:
        """Newly stored notifications: one message to each recipient."""
        for row in rows:
            payload = live.encode(LiveMessage("notification", row.id, row.actor_id))
            await self._publish(live.user_channel(row.user_id), payload)

    async def _publish(self, channel: str, payload: bytes) -> None:
        try:
            await self._bus.publish(channel, payload)
        except BackendUnavailable as exc:
            log.warning("live bus unavailable: a live message dropped (%s)", exc)
