"""The trends consumer group: hands each event to :class:`TrendService` (counting)."""

from __future__ import annotations

from starling.ports import EventLog
from starling.services.trends import TrendService

GROUP = "trends"


def register(event_log: EventLog, trends: TrendService) -> None:
    """Subscribe the trend counter to ``event_log`` as consumer group ``trends``."""
    event_log.subscribe(GROUP, trends.handle, batch=trends.handle_many)
