"""Likes and bookmarks."""

from __future__ import annotations

from litestar import Controller, Response, delete, get, post

from starling.api.deps import Core, ViewerId
from starling.api.openapi import Cursor, Limit, TweetId
from starling.api.pages import TWEETS_PAGE_DOC, tweets_page
from starling.api.params import decode_cursor, parse_id, parse_limit
from starling.api.schemas import BookmarkOut, LikeOut
from starling.domain.errors import TweetNotFound
from starling.services.engagement import LikeState


def _like_out(state: LikeState) -> LikeOut:
    return LikeOut(str(state.tweet_id), state.liked, state.likes_count)


class EngagementController(Controller):
    path = "/api/starling/v1"
    tags = ["engagement"]

    @post("/tweets/{tweet_id:str}/like", status_code=200, summary="Like a tweet (idempotent)")
    async def like(self, tweet_id: TweetId, core: Core, viewer_id: ViewerId) -> LikeOut:
        state = await core.engagement.like(
            user_id=viewer_id, tweet_id=parse_id(tweet_id, TweetNotFound)
        )
        return _like_out(state)

    @delete("/tweets/{tweet_id:str}/like", status_code=200, summary="Unlike a tweet (idempotent)")
    async def unlike(self, tweet_id: TweetId, core: Core, viewer_id: ViewerId) -> LikeOut:
        state = await core.engagement.unlike(
            user_id=viewer_id, tweet_id=parse_id(tweet_id, TweetNotFound)
        )
        return _like_out(state)

    @post(
        "/tweets/{tweet_id:str}/bookmark", status_code=200, summary="Bookmark a tweet (idempotent)"
    )
    async def bookmark(self, tweet_id: TweetId, core: Core, viewer_id: ViewerId) -> BookmarkOut:
        tid = parse_id(tweet_id, TweetNotFound)
        await core.engagement.bookmark(user_id=viewer_id, tweet_id=tid)
        return BookmarkOut(str(tid), bookmarked=True)

    @delete(
        "/tweets/{tweet_id:str}/bookmark",
        status_code=200,
        summary="Remove a bookmark (idempotent)",
    )
    async def unbookmark(self, tweet_id: TweetId, core: Core, viewer_id: ViewerId) -> BookmarkOut:
        tid = parse_id(tweet_id, TweetNotFound)
        await core.engagement.unbookmark(user_id=viewer_id, tweet_id=tid)
        return BookmarkOut(str(tid), bookmarked=False)

    @get(
        "/bookmarks",
        summary="The viewer's bookmarks, most recently bookmarked first",
        responses=TWEETS_PAGE_DOC,
    )
    async def bookmarks(
        self,
        core: Core,
        viewer_id: ViewerId,
        cursor: Cursor = None,
        limit: Limit = None,
    ) -> Response[bytes]:
        page = await core.engagement.bookmarks(
            user_id=viewer_id, max_id=decode_cursor(cursor), limit=parse_limit(limit)
        )
        return tweets_page(page)
