"""The search consumer group: hands each event to :class:`SearchService` (indexing)."""

from __future__ import annotations

from starling.ports import EventLog
from starling.services.search import SearchService

GROUP = "search"


def register(event_log: EventLog, search: SearchService) -> None:
    """Subscribe the search indexer to ``event_log`` as consumer group ``search``."""
    event_log.subscribe(GROUP, search.handle, batch=search.handle_many)
