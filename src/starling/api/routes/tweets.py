"""Tweets: post, read, delete; retweets; the conversation around a tweet."""

from __future__ import annotations

from litestar import Controller, Response, delete, get, post
from litestar.params import JSONBody
from msgspec import Raw

from starling.api.deps import Core, MaybeViewerId, ViewerId
from starling.api.openapi import Cursor, Limit, TweetId, raises
from starling.api.pages import TWEET_DOC, TWEETS_PAGE_DOC, documented, tweet_response, tweets_page
from starling.api.params import (
    decode_cursor,
    parse_body_id,
    parse_id,
    parse_limit,
    parse_media_ids,
)
from starling.api.render import renderer
from starling.api.schemas import ContextJson, ContextOut, CreateTweet, TweetOut
from starling.domain.errors import TweetNotFound


class TweetsController(Controller):
    path = "/api/starling/v1/tweets"
    tags = ["tweets"]

    @post(
        "/",
        status_code=201,
        summary="Post a tweet",
        responses=documented(TweetOut, status=201, description="The tweet"),
        opt=raises(
            "text_empty",
            "text_too_long",
            "invalid_characters",
            "invalid_id",
            "tweet_not_found",
            "blocked",
            "too_many_media",
            "media_not_found",
            "media_not_owned",
        ),
    )
    async def create(
        self, data: JSONBody[CreateTweet], core: Core, viewer_id: ViewerId
    ) -> Response[bytes]:
        posted = await core.tweets.post(
            author_id=viewer_id,
            text=data.text,
            reply_to_tweet_id=parse_body_id(data.reply_to_tweet_id, "reply_to_tweet_id"),
            quote_tweet_id=parse_body_id(data.quote_tweet_id, "quote_tweet_id"),
            media_ids=parse_media_ids(data.media_ids),
        )
        # Shown as the author sees it: read back only for a quoted tweet.
        return tweet_response(await core.reads.posted(posted, viewer_id=viewer_id), status_code=201)

    @get("/{tweet_id:str}", summary="A tweet by id", responses=TWEET_DOC)
    async def read(
        self, tweet_id: TweetId, core: Core, maybe_viewer_id: MaybeViewerId
    ) -> Response[bytes]:
        read = await core.reads.read(parse_id(tweet_id, TweetNotFound), viewer_id=maybe_viewer_id)
        return tweet_response(read)

    @delete(
        "/{tweet_id:str}",
        status_code=204,
        summary="Delete one's own tweet",
        opt=raises("forbidden"),
    )
    async def remove(self, tweet_id: TweetId, core: Core, viewer_id: ViewerId) -> None:
        await core.tweets.delete(tweet_id=parse_id(tweet_id, TweetNotFound), requester_id=viewer_id)

    @post(
        "/{tweet_id:str}/retweet",
        status_code=201,
        summary="Retweet (idempotent)",
        responses=documented(TweetOut, status=201, description="The retweet"),
        opt=raises("blocked"),
    )
    async def retweet(self, tweet_id: TweetId, core: Core, viewer_id: ViewerId) -> Response[bytes]:
        retweet = await core.tweets.retweet(
            user_id=viewer_id, tweet_id=parse_id(tweet_id, TweetNotFound)
        )
        # Not found when the original was deleted in between.
        return tweet_response(
            await core.reads.read(retweet.id, viewer_id=viewer_id), status_code=201
        )

    @delete("/{tweet_id:str}/retweet", status_code=204, summary="Undo a retweet (idempotent)")
    async def unretweet(self, tweet_id: TweetId, core: Core, viewer_id: ViewerId) -> None:
        await core.tweets.unretweet(user_id=viewer_id, tweet_id=parse_id(tweet_id, TweetNotFound))

    @get(
        "/{tweet_id:str}/replies",
        summary="Direct replies to a tweet, newest first",
        responses=TWEETS_PAGE_DOC,
    )
    async def replies(
        self,
        tweet_id: TweetId,
        core: Core,
        maybe_viewer_id: MaybeViewerId,
        cursor: Cursor = None,
        limit: Limit = None,
    ) -> Response[bytes]:
        page = await core.conversations.replies(
            tweet_id=parse_id(tweet_id, TweetNotFound),
            viewer_id=maybe_viewer_id,
            max_id=decode_cursor(cursor),
            limit=parse_limit(limit),
        )
        return tweets_page(page)

    @get(
        "/{tweet_id:str}/context",
        summary="A tweet with the tweets it replies to, root first",
        responses=documented(ContextOut, description="The tweet and its ancestors"),
    )
    async def context(
        self, tweet_id: TweetId, core: Core, maybe_viewer_id: MaybeViewerId
    ) -> ContextJson:
        found = await core.conversations.context(
            tweet_id=parse_id(tweet_id, TweetNotFound), viewer_id=maybe_viewer_id
        )
        return ContextJson(
            ancestors=[Raw(renderer.tweet(v, found.engagement)) for v in found.ancestors],
            tweet=Raw(renderer.tweet(found.tweet, found.engagement)),
        )
