"""Tables of moderation and notifications: blocks, mutes, notifications (issue 4)."""

from __future__ import annotations

from starling.adapters.sql.schema import metadata

__all__ = ["metadata"]
