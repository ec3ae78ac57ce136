"""Block, mute and notifications."""

from __future__ import annotations

import msgspec
from litestar import Controller, delete, get, post
from litestar.params import JSONBody

from starling.api.deps import Core, ViewerId
from starling.api.openapi import Cursor, Limit, UserId, raises
from starling.api.pages import documented
from starling.api.params import decode_cursor, encode_cursor, parse_body_id, parse_id, parse_limit
from starling.api.render import renderer
from starling.api.schemas import BodyId, TweetOut, UserSummary, rfc3339, user_summary
from starling.domain.errors import UserNotFound
from starling.services.hydration import Engagement
from starling.services.read_pipeline import NotificationEntry


# --- bodies --------------------------------------------------------------------------------
class BlockOut(msgspec.Struct):
    blocking: bool


class MuteOut(msgspec.Struct):
    muting: bool


class MarkRead(msgspec.Struct, forbid_unknown_fields=True):
    """``max_id``: the newest notification id read (decimal string); absent: all."""

    max_id: BodyId = None


class UnreadOut(msgspec.Struct):
    unread_count: int


class NotificationOut(msgspec.Struct):
    id: str
    type: str
    actor: UserSummary
    tweet: TweetOut | None
    created_at: str
    read: bool


class NotificationsPage(msgspec.Struct):
    notifications: list[NotificationOut]
    next_cursor: str | None
    has_more: bool
    unread_count: int


class NotificationJson(msgspec.Struct):
    """What :class:`NotificationOut` documents, with its tweet already rendered."""

    id: str
    type: str
    actor: UserSummary
    tweet: msgspec.Raw | None
    created_at: str
    read: bool


class NotificationsPageJson(msgspec.Struct):
    """What :class:`NotificationsPage` documents, with the tweets already rendered."""

    notifications: list[NotificationJson]
    next_cursor: str | None
    has_more: bool
    unread_count: int


def notification_json(entry: NotificationEntry, engagement: Engagement) -> NotificationJson:
    """One notification as docs/api.md shows it, its tweet rendered (with ``engagement``)."""
    n = entry.notification
    return NotificationJson(
        id=str(n.id),
        type=n.type,
        actor=user_summary(entry.actor),
        tweet=None if entry.tweet is None else msgspec.Raw(renderer.tweet(entry.tweet, engagement)),
        created_at=rfc3339(n.created_at_ms),
        read=entry.read,
    )


# --- routes --------------------------------------------------------------------------------
class ModerationController(Controller):
    path = "/api/starling/v1"
    tags = ["moderation"]

    @post(
        "/users/{user_id:str}/block",
        status_code=200,
        summary="Block a user (idempotent)",
        opt=raises("cannot_block_self"),
    )
    async def block(self, user_id: UserId, core: Core, viewer_id: ViewerId) -> BlockOut:
        target = parse_id(user_id, UserNotFound)
        await core.moderation.block(blocker_id=viewer_id, blocked_id=target)
        return BlockOut(blocking=True)

    @delete(
        "/users/{user_id:str}/block",
        status_code=200,
        summary="Unblock a user (idempotent)",
        opt=raises("cannot_block_self"),
    )
    async def unblock(self, user_id: UserId, core: Core, viewer_id: ViewerId) -> BlockOut:
        target = parse_id(user_id, UserNotFound)
        await core.moderation.unblock(blocker_id=viewer_id, blocked_id=target)
        return BlockOut(blocking=False)

    @post(
        "/users/{user_id:str}/mute",
        status_code=200,
        summary="Mute a user (idempotent)",
        opt=raises("cannot_mute_self"),
    )
    async def mute(self, user_id: UserId, core: Core, viewer_id: ViewerId) -> MuteOut:
        target = parse_id(user_id, UserNotFound)
        await core.moderation.mute(muter_id=viewer_id, muted_id=target)
        return MuteOut(muting=True)

    @delete(
        "/users/{user_id:str}/mute",
        status_code=200,
        summary="Unmute a user (idempotent)",
        opt=raises("cannot_mute_self"),
    )
    async def unmute(self, user_id: UserId, core: Core, viewer_id: ViewerId) -> MuteOut:
        target = parse_id(user_id, UserNotFound)
        await core.moderation.unmute(muter_id=viewer_id, muted_id=target)
        return MuteOut(muting=False)

    @get(
        "/notifications",
        summary="The viewer's notifications, newest first",
        responses=documented(NotificationsPage, description="A page of notifications"),
    )
    async def notifications(
        self,
        core: Core,
        viewer_id: ViewerId,
        cursor: Cursor = None,
        limit: Limit = None,
    ) -> NotificationsPageJson:
        page = await core.notifications.inbox(
            user_id=viewer_id, max_id=decode_cursor(cursor), limit=parse_limit(limit)
        )
        return NotificationsPageJson(
            [notification_json(e, page.engagement) for e in page.items],
            encode_cursor(page.next_max_id),
            page.has_more,
            page.unread_count,
        )

    @post(
        "/notifications/read",
        status_code=200,
        summary="Mark notifications read",
        opt=raises("invalid_id"),
    )
    async def mark_read(
        self, data: JSONBody[MarkRead], core: Core, viewer_id: ViewerId
    ) -> UnreadOut:
        unread = await core.notifications.mark_read(
            user_id=viewer_id, max_id=parse_body_id(data.max_id, "max_id")
        )
        return UnreadOut(unread)
