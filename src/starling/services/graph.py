"""Follow and unfollow, and the follower / following lists."""

from __future__ import annotations

from typing import Protocol

from starling.domain.errors import CannotFollowSelf, Forbidden, UserNotFound
from starling.domain.events import Followed, Unfollowed
from starling.domain.ids import SnowflakeGenerator
from starling.domain.model import Page, User
from starling.ports import Clock, EventLog, FollowStore, ModerationReads, UserReads
from starling.services.feed_manager import FeedManager


class _GraphRows(FollowStore, UserReads, ModerationReads, Protocol):
    """Follow edges, the users they join and the block check made before a follow."""


class GraphService:
    """The follow graph. Follow and unfollow are idempotent and adjust the follower's
    cached home timeline at once (through the :class:`FeedManager`: merge into /
    unmerge from home), so the next read is right (the store drops what it cached of
    the two users)."""

    def __init__(
        self,
        *,
        store: _GraphRows,
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

    async def _check(self, follower_id: int, followee_id: int) -> User:
        if follower_id == followee_id:
            raise CannotFollowSelf()
        followee = await self._store.get_user(followee_id)
        if followee is None:
            raise UserNotFound()
        return followee

    async def follow(self, *, follower_id: int, followee_id: int) -> bool:
        """Follow; True if the edge is new. Raises ``CannotFollowSelf``, ``UserNotFound``,
        and ``Forbidden`` (code ``blocked``) when either user blocks the other."""
        await self._check(follower_id, followee_id)
        if await self._store.is_blocked(follower_id, followee_id):
            raise Forbidden("You cannot follow this user.", code="blocked")
        event = Followed(
            event_id=self._ids.next_id(),
            occurred_at_ms=self._clock.now_ms(),
            follower_id=follower_id,
            followee_id=followee_id,
        )
        created = await self._store.follow(follower_id, followee_id, [event])
        if created:
            self._event_log.notify()
            await self._feed.merge_into_home(owner_id=follower_id, author_id=followee_id)
        return created

    async def unfollow(self, *, follower_id: int, followee_id: int) -> bool:
        """Unfollow; True if an edge was removed. Raises ``CannotFollowSelf``, ``UserNotFound``."""
        followee = await self._check(follower_id, followee_id)
        event = Unfollowed(
            event_id=self._ids.next_id(),
            occurred_at_ms=self._clock.now_ms(),
            follower_id=follower_id,
            followee_id=followee_id,
            followers_before=followee.followers_count,
        )
        removed = await self._store.unfollow(follower_id, followee_id, [event])
        if removed:
            self._event_log.notify()
            await self._feed.unmerge_from_home(owner_id=follower_id, author_id=followee_id)
        return removed

    async def _page(self, ids: list[int], limit: int) -> tuple[list[User], Page]:
        page_ids = ids[:limit]
        found = await self._store.get_users(page_ids)
        users = [found[i] for i in page_ids if i in found]
        next_max = page_ids[-1] if len(ids) > limit and page_ids else None
        return users, Page(page_ids, next_max)

    async def followers(
        self, *, user_id: int, max_id: int | None, limit: int
    ) -> tuple[list[User], Page]:
        """Followers, highest user id first. Raises ``UserNotFound``."""
        if await self._store.get_user(user_id) is None:
            raise UserNotFound()
        ids = await self._store.followers_page(user_id, max_id=max_id, limit=limit + 1)
        return await self._page(ids, limit)

    async def following(
        self, *, user_id: int, max_id: int | None, limit: int
    ) -> tuple[list[User], Page]:
        """Followees, highest user id first. Raises ``UserNotFound``."""
        if await self._store.get_user(user_id) is None:
            raise UserNotFound()
        ids = await self._store.following_page(user_id, max_id=max_id, limit=limit + 1)
        return await self._page(ids, limit)
