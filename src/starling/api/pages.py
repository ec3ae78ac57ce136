"""Tweets as HTTP responses: look up a page's engagement for the viewer, render it
(:mod:`starling.api.render`) and answer the bytes, documented by the Structs of
:mod:`starling.api.schemas` (the OpenAPI description shows those shapes)."""

from __future__ import annotations

from collections.abc import Sequence

from litestar import MediaType, Response
from litestar.openapi.datastructures import ResponseSpec

from starling.api.render import renderer
from starling.api.schemas import TweetOut, TweetsPage
from starling.bootstrap import App
from starling.services.hydration import TweetView
from starling.services.timelines import TimelinePage


def documented(shape: type, *, status: int = 200, description: str = "") -> dict[int, ResponseSpec]:
    """``responses=`` of a route answering pre-rendered bytes of ``shape``."""
    return {
        status: ResponseSpec(
            data_container=shape, description=description or "OK", generate_examples=False
        )
    }


TWEET_DOC = documented(TweetOut, description="A Tweet")
TWEETS_PAGE_DOC = documented(TweetsPage, description="A page of tweets, newest first")


def json_response(body: bytes, *, status_code: int = 200) -> Response[bytes]:
    """``body`` (JSON already encoded) as the response."""
    return Response(body, media_type=MediaType.JSON, status_code=status_code)


async def tweets_page(
    core: App,
    views: list[TweetView],
    *,
    next_max_id: int | None,
    has_more: bool,
    viewer_id: int | None,
) -> Response[bytes]:
    """A page of tweets with their counts and the viewer's flags (two queries for the
    whole page: timelines, search and conversations hydrate tweets and authors only)."""
    engagement = await core.hydrator.engagement(views, viewer_id=viewer_id)
    return json_response(
        renderer.page(views, engagement, next_max_id=next_max_id, has_more=has_more)
    )


async def timeline_page(core: App, page: TimelinePage, *, viewer_id: int | None) -> Response[bytes]:
    """A :class:`TimelinePage` as the API's list answer (see :func:`tweets_page`)."""
    return await tweets_page(
        core, page.items, next_max_id=page.next_max_id, has_more=page.has_more, viewer_id=viewer_id
    )


async def rendered_tweets(
    core: App, views: Sequence[TweetView], *, viewer_id: int | None
) -> list[bytes]:
    """Each of ``views`` as Tweet JSON, with counts and the viewer's flags."""
    engagement = await core.hydrator.engagement(views, viewer_id=viewer_id)
    return [renderer.tweet(v, engagement) for v in views]
