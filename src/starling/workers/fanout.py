"""The fan-out consumer group: hands each event to :class:`FanoutService`."""

from __future__ import annotations

from starling.ports import EventLog
from starling.services.fanout import FanoutService

GROUP = "fanout"


def register(event_log: EventLog, fanout: FanoutService) -> None:
    """Subscribe the fan-out service to ``event_log`` as consumer group ``fanout``."""
    event_log.subscribe(GROUP, fanout.handle)
