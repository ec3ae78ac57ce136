"""Every consumer group of a Starling process and the service method handling its events.

One table (:func:`consumer_groups`) used by the composition root: in a process that runs
workers (the embedded ``starling serve``, each ``starling worker``) every group is
subscribed to the event log; each group sees every event, in order.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Final

from starling.ports import EventLog
from starling.workers.delivery import ConsumerGroup

if TYPE_CHECKING:
    from starling.services.feed_manager import FeedManager
    from starling.services.notifications import NotificationService
    from starling.services.search import SearchService
    from starling.services.trends import TrendService

FANOUT: Final = "fanout"
"""Pushes new tweets into followers' cached timelines and takes deleted ones out."""
NOTIFICATIONS: Final = "notifications"
"""Writes mention, reply, like, retweet and follow notifications."""
SEARCH: Final = "search"
"""Indexes posted tweets and removes deleted ones (batch handler: one index write)."""
TRENDS: Final = "trends"
"""Counts posted tweets' hashtags (batch handler: one store read)."""


def consumer_groups(
    *,
    fanout: FeedManager,
    notifications: NotificationService,
    search: SearchService,
    trends: TrendService,
) -> tuple[ConsumerGroup, ...]:
    """The consumer groups of the given services: name, handler of one event, and the
    batch handler where the service has one."""
    return (
        ConsumerGroup(FANOUT, fanout.handle),
        ConsumerGroup(NOTIFICATIONS, notifications.handle),
        ConsumerGroup(SEARCH, search.handle, search.handle_many),
        ConsumerGroup(TRENDS, trends.handle, trends.handle_many),
    )


def subscribe(event_log: EventLog, groups: Iterable[ConsumerGroup]) -> None:
    """Subscribe each of ``groups`` to ``event_log`` (before it starts)."""
    for group in groups:
        event_log.subscribe(group.name, group.handler, batch=group.batch)
