"""The follow graph: follow, unfollow, followers, following."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from litestar import Controller, delete, get, post

from starling.api.deps import Core, ViewerId
from starling.api.openapi import Cursor, Limit, UserId, raises
from starling.api.params import decode_cursor, encode_cursor, parse_id, parse_limit
from starling.api.schemas import FollowOut, UsersPage, user_out
from starling.domain.errors import UserNotFound
from starling.domain.model import Page, User


class GraphController(Controller):
    path = "/api/starling/v1/users/{user_id:str}"
    tags = ["graph"]

    @post(
        "/follow",
        status_code=200,
        summary="Follow a user (idempotent)",
        opt=raises("cannot_follow_self", "blocked"),
    )
    async def follow(self, user_id: UserId, core: Core, viewer_id: ViewerId) -> FollowOut:
        followee = parse_id(user_id, UserNotFound)
        await core.graph.follow(follower_id=viewer_id, followee_id=followee)
        return FollowOut(str(viewer_id), str(followee), following=True)

    @delete(
        "/follow",
        status_code=200,
        summary="Unfollow a user (idempotent)",
        opt=raises("cannot_follow_self"),
    )
    async def unfollow(self, user_id: UserId, core: Core, viewer_id: ViewerId) -> FollowOut:
        followee = parse_id(user_id, UserNotFound)
        await core.graph.unfollow(follower_id=viewer_id, followee_id=followee)
        return FollowOut(str(viewer_id), str(followee), following=False)

    @get("/followers", summary="Who follows the user")
    async def followers(
        self,
        user_id: UserId,
        core: Core,
        cursor: Cursor = None,
        limit: Limit = None,
    ) -> UsersPage:
        return await _users_page(core.graph.followers, user_id, cursor, limit)

    @get("/following", summary="Whom the user follows")
    async def following(
        self,
        user_id: UserId,
        core: Core,
        cursor: Cursor = None,
        limit: Limit = None,
    ) -> UsersPage:
        return await _users_page(core.graph.following, user_id, cursor, limit)


async def _users_page(
    lister: Callable[..., Awaitable[tuple[list[User], Page]]],
    user_id: str,
    cursor: str | None,
    limit: str | None,
) -> UsersPage:
    users, page = await lister(
        user_id=parse_id(user_id, UserNotFound),
        max_id=decode_cursor(cursor),
        limit=parse_limit(limit),
    )
    return UsersPage([user_out(u) for u in users], encode_cursor(page.next_max_id), page.has_more)
