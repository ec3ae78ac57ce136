"""Block and mute.

A block is mutual in effect: neither user can follow the other, the follows between
them are removed, and neither sees the other's tweets in their home timeline; the
blocked user also cannot reply to, or read, the blocker's tweets. A mute is one-way and
silent: the muted user's tweets leave the muter's home timeline, nothing else changes.
Both are enforced at read time (``hidden_author_ids``, which the store caches per
process and drops on every change here, for both sides). The cached home timelines
follow suit through the :class:`~starling.services.feed_manager.FeedManager`, as
Mastodon's BlockService, MuteService and UnmuteService do: a block or a mute unmerges
the author, so pages are not thinned by entries the read drops; an unmute merges a
followee back at once.
"""

from __future__ import annotations

from typing import Protocol

from starling.domain.errors import InvalidInput, UserNotFound
from starling.domain.events import Event, Unfollowed
from starling.domain.ids import SnowflakeGenerator
from starling.ports import Clock, EventLog, FollowReads, ModerationStore, UserReads
from starling.services.feed_manager import FeedManager


class _ModerationRows(ModerationStore, UserReads, FollowReads, Protocol):
    """Blocks and mutes, the users they name and whether a follow edge is there."""


class ModerationService:
    """Block, unblock, mute, unmute; who a viewer must not see."""

    def __init__(
        self,
        *,
        store: _ModerationRows,
        event_log: EventLog,
        feed: FeedManager,
        ids: SnowflakeGenerator,
        clock: Clock,
    ) -> None:
        self._store = store
        self._event_log = event_log
        self._feed = feed
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
        treat them as ordinary unfollows. Then each side's tweets are removed from the
        other's cached home timeline (reads filter them anyway; this keeps the cache
        honest). Raises ``UserNotFound``, ``InvalidInput`` (code
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
        await self._feed.unmerge_from_home(owner_id=blocker_id, author_id=blocked_id)
        await self._feed.unmerge_from_home(owner_id=blocked_id, author_id=blocker_id)
        return created

    async def unblock(self, *, blocker_id: int, blocked_id: int) -> bool:
        """Lift a block; True if there was one. Follows are not restored. Raises
        ``UserNotFound``, ``InvalidInput``."""
        await self._check(blocker_id, blocked_id, "block")
        return await self._store.unblock(blocker_id, blocked_id)

    async def mute(self, *, muter_id: int, muted_id: int) -> bool:
        """Mute ``muted_id``; True if new. Idempotent. Raises ``UserNotFound``,
        ``InvalidInput`` (code ``cannot_mute_self``)."""
        await self._check(muter_id, muted_id, "mute")
        created = await self._store.mute(muter_id, muted_id, self._clock.now_ms())
        if created:
            await self._feed.unmerge_from_home(owner_id=muter_id, author_id=muted_id)
        return created

    async def unmute(self, *, muter_id: int, muted_id: int) -> bool:
        """Lift a mute; True if there was one. A followee's tweets are merged back into
        the muter's cached home timeline before this returns, so the next read shows
        them. Raises ``UserNotFound``, ``InvalidInput``."""
        await self._check(muter_id, muted_id, "mute")
        removed = await self._store.unmute(muter_id, muted_id)
        if removed and await self._store.is_following(muter_id, muted_id):
            await self._feed.merge_into_home(owner_id=muter_id, author_id=muted_id)
        return removed
