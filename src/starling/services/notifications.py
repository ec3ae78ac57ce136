"""The notification inbox: produced from events by a worker, read and marked read (issue 4)."""

from __future__ import annotations

from starling.domain.events import AnyEvent
from starling.domain.ids import SnowflakeGenerator
from starling.ports import Clock, Store


class NotificationService:
    """Turns events into notifications (mention, reply, like, retweet, follow) and
    serves a user's inbox."""

    def __init__(self, *, store: Store, ids: SnowflakeGenerator, clock: Clock) -> None:
        self._store = store
        self._ids = ids
        self._clock = clock

    async def handle(self, event: AnyEvent) -> None:
        """Apply one event (the notifications consumer group's handler)."""
        return None
