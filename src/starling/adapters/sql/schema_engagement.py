"""Tables of engagement: likes, bookmarks, sharded tweet counters (issue 4)."""

from __future__ import annotations

from starling.adapters.sql.schema import metadata

__all__ = ["metadata"]
