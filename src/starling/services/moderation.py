"""Block and mute.

A block is mutual in effect: neither user can follow the other, the follows between
them are removed, and neither sees the other's tweets in their home timeline; the
blocked user also cannot reply to, or read, the blocker's tweets. A mute is one-way and
silent: the muted user's tweets leave the muter's home timeline, nothing else changes.
Both are enforced at read time (``hidden_author_ids``, cached per process by
:class:`~starling.services.reader_context.ReaderContextCache`, which every change here
invalidates for both sides), so cached timeline entries need no rewrite for a mute, and
unmuting brings the tweets back at once.
"""

from __future__ import annotations

import logging

from starling.domain.errors import InvalidInput, UserNotFound
from starling.domain.events import Event, Unfollowed
from starling.domain.feed import TIMELINE_MAX
from starling.domain.ids import SnowflakeGenerator
from starling.ports import BackendUnavailable, Clock, EventLog, Store, TimelineCache
from starling.services.reader_context import ReaderContextCache

log = logging.getLogger(__name__)


class ModerationService:
    """Block, unblock, mute, unmute; who a viewer must not see."""

    def __init__(
        self,
        *,
        store: Store,
        event_log: EventLog,
        cache: TimelineCache,
        reader_context: ReaderContextCache,
        ids: SnowflakeGenerator,
        clock: Clock,
    ) -> None:
        self._store = store
        self._event_log = event_log
        self._cache = cache
        self._reader_context = reader_context
        self._ids = ids
        self._clock = clock

    async def _check(self, actor_id: int, target_id: int, verb: str) -> None:
        if actor_id == target_id:
            raise InvalidInput(f"You cannot {verb} yourself.", code=f"cannot_{verb}_self")
        if await self._store.get_user(target_id) is None:
            raise UserNotFound()

    async def block(self, *, blocker_id: int, blocked_id: int) -> bool:
        """Block ``blocked_id``; True if the block is new. Idempotent.

        In one transaction: the block, removal of the follows between the two both ways
        (with their counts) and an ``Unfollowed`` event per removed follow, so consumers
        treat them as ordinary unfollows. Then each side's recent tweets are removed
        from the other's cached home timeline (reads filter them anyway; this keeps the
        cache honest). Raises ``UserNotFound``, ``InvalidInput`` (code
        ``cannot_block_self``).
        """
        await self._check(blocker_id, blocked_id, "block")
        users = await self._store.get_users([blocker_id, blocked_id])
        now = self._clock.now_ms()
        events: list[Event] = [
            Unfollowed(
                event_id=self._ids.next_id(),
                occurred_at_ms=now,
                follower_id=follower,
                followee_id=followee,
                followers_before=users[followee].followers_count if followee in users else 0,
            )
            for follower, followee in ((blocker_id, blocked_id), (blocked_id, blocker_id))
        ]
        created = await self._store.block(blocker_id, blocked_id, events)
        self._event_log.notify()
        # Both sides: each one's follows and hidden authors changed.
        await self._reader_context.invalidate([blocker_id, blocked_id])
        await self._unmerge(blocker_id, blocked_id)
        await self._unmerge(blocked_id, blocker_id)
        return created

    async def _unmerge(self, owner_id: int, author_id: int) -> None:
        """Remove ``author_id``'s recent tweets from ``owner_id``'s cached timeline."""
        ids = await self._store.tweet_ids_by_authors([author_id], max_id=None, limit=TIMELINE_MAX)
        try:
            await self._cache.remove([owner_id], ids)
        except BackendUnavailable:
            # Reads filter blocked authors anyway; the cache is only tidied.
            log.warning("timeline cache unavailable: no unmerge after block for %d", owner_id)

    async def unblock(self, *, blocker_id: int, blocked_id: int) -> bool:
        """Lift a block; True if there was one. Follows are not restored. Raises
        ``UserNotFound``, ``InvalidInput``."""
        await self._check(blocker_id, blocked_id, "block")
        removed = await self._store.unblock(blocker_id, blocked_id)
        if removed:
            await self._reader_context.invalidate([blocker_id, blocked_id])
        return removed

    async def mute(self, *, muter_id: int, muted_id: int) -> bool:
        """Mute ``muted_id``; True if new. Idempotent. Raises ``UserNotFound``,
        ``InvalidInput`` (code ``cannot_mute_self``)."""
        await self._check(muter_id, muted_id, "mute")
        created = await self._store.mute(muter_id, muted_id, self._clock.now_ms())
        if created:
            await self._reader_context.invalidate([muter_id])
        return created

    async def unmute(self, *, muter_id: int, muted_id: int) -> bool:
        """Lift a mute; True if there was one. Raises ``UserNotFound``, ``InvalidInput``."""
        await self._check(muter_id, muted_id, "mute")
        removed = await self._store.unmute(muter_id, muted_id)
        if removed:
            await self._reader_context.invalidate([muter_id])
        return removed
