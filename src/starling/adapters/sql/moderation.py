"""``ModerationStore`` and ``NotificationStore`` in SQL: blocks, mutes and notifications
(a mixin of :class:`~starling.adapters.sql.store.SqlStore`, which provides ``self.db``,
``self._insert_ignoring`` and ``self._write_events``).

The statements live here rather than in :mod:`statements`: they touch only this
feature's tables, plus the follow edges and counts a block removes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from sqlalchemy import (
    Insert,
    Select,
    Subquery,
    Table,
    and_,
    delete,
    func,
    or_,
    select,
    union,
    update,
)
from sqlalchemy.sql.elements import ColumnElement

from starling.adapters.sql import hot_reads
from starling.adapters.sql import statements as q
from starling.adapters.sql.database import Conn, Database
from starling.adapters.sql.tables import (
    blocks,
    mutes,
    notification_marks,
    notifications,
)
from starling.domain.events import Event, Unfollowed
from starling.domain.notifications import Notification

_n = notifications.c


def _hidden_ids(viewer_id: int) -> Subquery:
    """Ids the viewer must not see: blocked by them, blocking them, muted by them."""
    return union(
        select(blocks.c.blocked_id).where(blocks.c.blocker_id == viewer_id),
        select(blocks.c.blocker_id).where(blocks.c.blocked_id == viewer_id),
        select(mutes.c.muted_id).where(mutes.c.muter_id == viewer_id),
    ).subquery()


def _visible_to(user_id: int) -> ColumnElement[bool]:
    """The user's own notifications whose actor is not hidden from them (a block or mute
    made after the notification was written hides it too)."""
    hidden = _hidden_ids(user_id)
    return and_(_n.user_id == user_id, _n.actor_id.not_in(select(hidden.c[0])))


def _read_mark(user_id: int) -> Select[Any]:
    return select(notification_marks.c.read_max_id).where(notification_marks.c.user_id == user_id)


class ModerationSql:
    """Mixin: the moderation and notification half of the SQL store."""

    db: Database
    _insert_ignoring: Callable[[Table], Insert]
    _write_events: Callable[[Conn, Sequence[Event]], Awaitable[None]]

    # --- blocks and mutes -----------------------------------------------------------
    async def block(self, blocker_id: int, blocked_id: int, events: Sequence[Event]) -> bool:
        created_at_ms = events[0].occurred_at_ms if events else 0
        async with self.db.begin() as conn:
            inserted = await conn.execute(
                self._insert_ignoring(blocks),
                dict(blocker_id=blocker_id, blocked_id=blocked_id, created_at_ms=created_at_ms),
            )
            removed: set[tuple[int, int]] = set()
            for follower, followee in ((blocker_id, blocked_id), (blocked_id, blocker_id)):
                if (await conn.execute(q.delete_follow(follower, followee))).rowcount:
                    await conn.execute(*q.bump_user_count(follower, "following_count", -1))
                    await conn.execute(*q.bump_user_count(followee, "followers_count", -1))
                    removed.add((follower, followee))
            # An Unfollowed event for an edge that did not exist would make consumers
            # act on a follow that never was; write only those this transaction removed.
            await self._write_events(
                conn,
                [
                    e
                    for e in events
                    if not isinstance(e, Unfollowed) or (e.follower_id, e.followee_id) in removed
                ],
            )
        return inserted.rowcount > 0

    async def unblock(self, blocker_id: int, blocked_id: int) -> bool:
        async with self.db.begin() as conn:
            result = await conn.execute(
                delete(blocks).where(
                    blocks.c.blocker_id == blocker_id, blocks.c.blocked_id == blocked_id
                )
            )
        return result.rowcount > 0

    async def mute(self, muter_id: int, muted_id: int, created_at_ms: int) -> bool:
        async with self.db.begin() as conn:
            result = await conn.execute(
                self._insert_ignoring(mutes),
                dict(muter_id=muter_id, muted_id=muted_id, created_at_ms=created_at_ms),
            )
        return result.rowcount > 0

    async def unmute(self, muter_id: int, muted_id: int) -> bool:
        async with self.db.begin() as conn:
            result = await conn.execute(
                delete(mutes).where(mutes.c.muter_id == muter_id, mutes.c.muted_id == muted_id)
            )
        return result.rowcount > 0

    async def hidden_author_ids(self, viewer_id: int) -> set[int]:
        return {row[0] for row in await self.db.fetch(hot_reads.HIDDEN_AUTHOR_IDS, viewer_id)}

    async def is_blocking(self, blocker_id: int, blocked_id: int) -> bool:
        return bool(await self.db.fetch(hot_reads.IS_BLOCKING, blocker_id, blocked_id))

    async def is_blocked(self, a: int, b: int) -> bool:
        stmt = (
            select(blocks.c.blocker_id)
            .where(
                or_(
                    and_(blocks.c.blocker_id == a, blocks.c.blocked_id == b),
                    and_(blocks.c.blocker_id == b, blocks.c.blocked_id == a),
                )
            )
            .limit(1)
        )
        async with self.db.connect() as conn:
            return (await conn.execute(stmt)).first() is not None

    async def is_muting(self, muter_id: int, muted_id: int) -> bool:
        stmt = select(mutes.c.muter_id).where(
            mutes.c.muter_id == muter_id, mutes.c.muted_id == muted_id
        )
        async with self.db.connect() as conn:
            return (await conn.execute(stmt)).first() is not None

    # --- notifications --------------------------------------------------------------
    async def add_notifications(self, rows: Sequence[Notification]) -> int:
        inserted = 0
        async with self.db.begin() as conn:
            for row in rows:
                # One statement per row: rowcount tells what a re-delivery skipped, and an
                # event notifies a handful of users at most (its mentions and a parent).
                result = await conn.execute(
                    self._insert_ignoring(notifications),
                    dict(
                        user_id=row.user_id,
                        id=row.id,
                        type=row.type,
                        actor_id=row.actor_id,
                        tweet_id=row.tweet_id,
                        created_at_ms=row.created_at_ms,
                    ),
                )
                inserted += result.rowcount
        return inserted

    async def notifications_page(
        self, user_id: int, *, max_id: int | None, limit: int
    ) -> list[Notification]:
        stmt = (
            select(_n.id, _n.user_id, _n.type, _n.actor_id, _n.tweet_id, _n.created_at_ms)
            .where(_visible_to(user_id))
            .order_by(_n.id.desc())
            .limit(limit)
        )
        if max_id is not None:
            stmt = stmt.where(_n.id < max_id)
        async with self.db.connect() as conn:
            rows = (await conn.execute(stmt)).all()
        return [
            Notification(
                id=r[0], user_id=r[1], type=r[2], actor_id=r[3], tweet_id=r[4], created_at_ms=r[5]
            )
            for r in rows
        ]

    async def unread_count(self, user_id: int) -> int:
        mark = func.coalesce(_read_mark(user_id).scalar_subquery(), 0)
        stmt = (
            select(func.count())
            .select_from(notifications)
            .where(_visible_to(user_id), _n.id > mark)
        )
        async with self.db.connect() as conn:
            count: int = (await conn.execute(stmt)).scalar_one()
        return count

    async def read_mark(self, user_id: int) -> int:
        async with self.db.connect() as conn:
            mark: int | None = (await conn.execute(_read_mark(user_id))).scalar_one_or_none()
        return mark or 0

    async def mark_notifications_read(self, user_id: int, max_id: int) -> None:
        marks = notification_marks.c
        async with self.db.begin() as conn:
            # Insert-if-absent, then a conditional raise: race-free without an upsert, and
            # the mark only moves forward.
            await conn.execute(
                self._insert_ignoring(notification_marks), dict(user_id=user_id, read_max_id=0)
            )
            await conn.execute(
                update(notification_marks)
                .where(marks.user_id == user_id, marks.read_max_id < max_id)
                .values(read_max_id=max_id)
            )

    async def newest_notification_id(self, user_id: int) -> int | None:
        stmt = select(func.max(_n.id)).where(_n.user_id == user_id)
        async with self.db.connect() as conn:
            newest: int | None = (await conn.execute(stmt)).scalar_one_or_none()
        return newest

    async def delete_notifications_for_tweet(self, tweet_id: int) -> int:
        async with self.db.begin() as conn:
            result = await conn.execute(delete(notifications).where(_n.tweet_id == tweet_id))
        return result.rowcount

    async def dismiss_notification(self, user_id: int, notification_id: int) -> bool:
        async with self.db.begin() as conn:
            result = await conn.execute(
                delete(notifications).where(_n.user_id == user_id, _n.id == notification_id)
            )
        return bool(result.rowcount)

    async def clear_notifications(self, user_id: int) -> int:
        async with self.db.begin() as conn:
            result = await conn.execute(delete(notifications).where(_n.user_id == user_id))
        return result.rowcount
