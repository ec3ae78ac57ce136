"""The notifications consumer group: hands each event to :class:`NotificationService`."""

from __future__ import annotations

from starling.ports import EventLog
from starling.services.notifications import NotificationService

GROUP = "notifications"


def register(event_log: EventLog, notifications: NotificationService) -> None:
    """Subscribe the notification service to ``event_log`` as group ``notifications``."""
    event_log.subscribe(GROUP, notifications.handle)
