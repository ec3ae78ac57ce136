"""Timelines: the home timeline (hybrid push/pull) and a user's own tweets."""

from __future__ import annotations

from litestar import Controller, get
from litestar.params import FromPath, FromQuery

from starling.api.deps import Core, MaybeViewerId, ViewerId
from starling.api.params import decode_cursor, encode_cursor, parse_id, parse_limit
from starling.api.schemas import TweetsPage, tweet_out
from starling.bootstrap import App
from starling.domain.errors import UserNotFound
from starling.services.timelines import TimelinePage


async def _page(core: App, page: TimelinePage, *, viewer_id: int | None) -> TweetsPage:
    """The page's JSON, with counts and the viewer's flags added in two queries for the
    whole page (the timeline service hydrates tweets and authors only)."""
    views = await core.hydrator.annotate(page.items, viewer_id=viewer_id)
    return TweetsPage(
        [tweet_out(v, authenticated=viewer_id is not None) for v in views],
        encode_cursor(page.next_max_id),
        page.has_more,
    )


class TimelinesController(Controller):
    path = "/api/v1"
    tags = ["timelines"]

    @get("/timeline/home", summary="Home timeline: the viewer and everyone they follow")
    async def home(
        self,
        core: Core,
        viewer_id: ViewerId,
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[str | None] = None,
    ) -> TweetsPage:
        page = await core.timelines.home(
            viewer_id=viewer_id, max_id=decode_cursor(cursor), limit=parse_limit(limit)
        )
        return await _page(core, page, viewer_id=viewer_id)

    @get("/users/{user_id:str}/tweets", summary="User timeline: a user's tweets")
    async def user_tweets(
        self,
        user_id: FromPath[str],
        core: Core,
        maybe_viewer_id: MaybeViewerId,
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[str | None] = None,
    ) -> TweetsPage:
        page = await core.timelines.user_timeline(
            user_id=parse_id(user_id, UserNotFound),
            max_id=decode_cursor(cursor),
            limit=parse_limit(limit),
            viewer_id=maybe_viewer_id,
        )
        return await _page(core, page, viewer_id=maybe_viewer_id)
