"""Likes and bookmarks, and the engagement shown on hydrated tweets (issue 4)."""

from __future__ import annotations

from starling.domain.ids import SnowflakeGenerator
from starling.metrics import Metrics
from starling.ports import Clock, EventLog, Store


class EngagementService:
    """Like, unlike, bookmark; counts and viewer flags for a page of tweets."""

    def __init__(
        self,
        *,
        store: Store,
        event_log: EventLog,
        ids: SnowflakeGenerator,
        clock: Clock,
        metrics: Metrics,
    ) -> None:
        self._store = store
        self._event_log = event_log
        self._ids = ids
        self._clock = clock
        self._metrics = metrics
