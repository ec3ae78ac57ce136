"""Tweets as HTTP responses: render what the read pipeline returned (views with their
engagement, :mod:`starling.api.render`) and answer the bytes, documented by the Structs
of :mod:`starling.api.schemas` (the OpenAPI description shows those shapes)."""

from __future__ import annotations

from litestar import MediaType, Response
from litestar.openapi.datastructures import ResponseSpec

from starling.api.render import renderer
from starling.api.schemas import TweetOut, TweetsPage
from starling.services.read_pipeline import TweetPage, TweetRead


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


def tweets_page(page: TweetPage, *, status_code: int = 200) -> Response[bytes]:
    """A :class:`TweetPage` as the API's list answer (docs/api.md)."""
    body = renderer.page(
        page.items, page.engagement, next_max_id=page.next_max_id, has_more=page.has_more
    )
    return json_response(body, status_code=status_code)


def tweet_response(read: TweetRead, *, status_code: int = 200) -> Response[bytes]:
    """One tweet (a :class:`TweetRead`) as its Tweet JSON."""
    return json_response(renderer.tweet(read.view, read.engagement), status_code=status_code)
