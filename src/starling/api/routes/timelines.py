"""Timelines: the home timeline (hybrid push/pull) and a user's own tweets."""

from __future__ import annotations

from litestar import Controller, Response, get

from starling.api.deps import Core, MaybeViewerId, ViewerId
from starling.api.openapi import Cursor, Limit, UserId, raises
from starling.api.pages import TWEETS_PAGE_DOC, tweets_page
from starling.api.params import decode_cursor, parse_id, parse_limit
from starling.domain.errors import UserNotFound


class TimelinesController(Controller):
    path = "/api/starling/v1"
    tags = ["timelines"]

    @get(
        "/timeline/home",
        summary="Home timeline: the viewer and everyone they follow",
        responses=TWEETS_PAGE_DOC,
    )
    async def home(
        self,
        core: Core,
        viewer_id: ViewerId,
        cursor: Cursor = None,
        limit: Limit = None,
    ) -> Response[bytes]:
        page = await core.timelines.home(
            viewer_id=viewer_id, max_id=decode_cursor(cursor), limit=parse_limit(limit)
        )
        return tweets_page(page)

    @get(
        "/users/{user_id:str}/tweets",
        summary="User timeline: a user's tweets",
        responses=TWEETS_PAGE_DOC,
        opt=raises("blocked"),
    )
    async def user_tweets(
        self,
        user_id: UserId,
        core: Core,
        maybe_viewer_id: MaybeViewerId,
        cursor: Cursor = None,
        limit: Limit = None,
    ) -> Response[bytes]:
        page = await core.timelines.user_timeline(
            user_id=parse_id(user_id, UserNotFound),
            max_id=decode_cursor(cursor),
            limit=parse_limit(limit),
            viewer_id=maybe_viewer_id,
        )
        return tweets_page(page)
