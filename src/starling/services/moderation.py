"""Block and mute (issue 4)."""

from __future__ import annotations

from starling.domain.ids import SnowflakeGenerator
from starling.ports import Clock, EventLog, Store, TimelineCache


class ModerationService:
    """Block, unblock, mute, unmute; who a viewer must not see."""

    def __init__(
        self,
        *,
        store: Store,
        event_log: EventLog,
        cache: TimelineCache,
        ids: SnowflakeGenerator,
        clock: Clock,
    ) -> None:
        self._store = store
        self._event_log = event_log
        self._cache = cache
        self._ids = ids
        self._clock = clock
