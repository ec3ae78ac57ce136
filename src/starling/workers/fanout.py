"""The fan-out consumer group: hands each event to :meth:`FeedManager.handle`."""

from __future__ import annotations

from starling.ports import EventLog
from starling.services.feed_manager import FeedManager

GROUP = "fanout"


def register(event_log: EventLog, feed: FeedManager) -> None:
    """Subscribe the feed manager to ``event_log`` as consumer group ``fanout``."""
    event_log.subscribe(GROUP, feed.handle)
