"""Discovery: tweet search, user search and trends."""

from __future__ import annotations

import msgspec
from litestar import Controller, Response, get

from starling.api.deps import Core, MaybeViewerId
from starling.api.errors import ApiError
from starling.api.openapi import Cursor, Limit, Query, TrendsLimit, raises
from starling.api.pages import TWEETS_PAGE_DOC, tweets_page
from starling.api.params import decode_cursor, encode_cursor, parse_limit
from starling.api.schemas import UsersPage, user_out
from starling.domain.search import InvalidQuery
from starling.domain.trends import DEFAULT_TRENDS
from starling.services.trends import MAX_TRENDS


class TrendOut(msgspec.Struct):
    name: str
    tweet_volume: int


class TrendsOut(msgspec.Struct):
    trends: list[TrendOut]


def _query(q: str | None) -> str:
    if q is None or not q.strip():
        raise InvalidQuery("Give a search query in q.")
    return q


class SearchController(Controller):
    path = "/api/starling/v1"
    tags = ["discovery"]

    @get(
        "/search/tweets",
        summary="Search tweets: words, #hashtag and from:username, newest first",
        responses=TWEETS_PAGE_DOC,
        opt=raises("invalid_characters"),
    )
    async def search_tweets(
        self,
        core: Core,
        maybe_viewer_id: MaybeViewerId,
        q: Query = None,
        cursor: Cursor = None,
        limit: Limit = None,
    ) -> Response[bytes]:
        page = await core.search.tweets(
            query=_query(q),
            viewer_id=maybe_viewer_id,
            max_id=decode_cursor(cursor),
            limit=parse_limit(limit),
        )
        return tweets_page(page)

    @get(
        "/search/users",
        summary="Search users by prefix of username or display name",
        opt=raises("invalid_characters"),
    )
    async def search_users(
        self,
        core: Core,
        q: Query = None,
        cursor: Cursor = None,
        limit: Limit = None,
    ) -> UsersPage:
        # The cursor is the offset of the next page (user search ranks, it does not
        # follow ids); decode_cursor checks it is one this service issued.
        users, next_offset = await core.search.users(
            query=_query(q), offset=decode_cursor(cursor) or 0, limit=parse_limit(limit)
        )
        return UsersPage(
            [user_out(u) for u in users], encode_cursor(next_offset), next_offset is not None
        )

    @get("/trends", summary="Hashtags rising most in the last hour")
    async def trends(self, core: Core, limit: TrendsLimit = None) -> TrendsOut:
        count = DEFAULT_TRENDS
        if limit is not None:
            count = int(limit) if limit.isascii() and limit.isdigit() else 0
            if not 1 <= count <= MAX_TRENDS:
                raise ApiError(
                    422, "invalid_limit", f"limit must be an integer from 1 to {MAX_TRENDS}."
                )
        found = await core.trends.current(limit=count)
        return TrendsOut([TrendOut("#" + t.tag, t.tweet_volume) for t in found])
