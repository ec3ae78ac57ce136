"""``ModerationStore`` in SQL: blocks, mutes and notifications (a mixin of
:class:`~starling.adapters.sql.store.SqlStore`, which provides ``self.db`` and
``self._insert_ignoring``)."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import Insert, Table

from starling.adapters.sql.database import Database


class ModerationSql:
    """Mixin: the moderation and notification half of the SQL store."""

    db: Database
    _insert_ignoring: Callable[[Table], Insert]
