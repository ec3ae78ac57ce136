"""Tweets: post, read, delete; retweets; the conversation around a tweet."""

from __future__ import annotations

from litestar import Controller, Response, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody
from msgspec import Raw

from starling.api.deps import Core, MaybeViewerId, ViewerId
from starling.api.pages import (
    TWEET_DOC,
    TWEETS_PAGE_DOC,
    documented,
    json_response,
    rendered_tweets,
    timeline_page,
)
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
from starling.services.hydration import NO_ENGAGEMENT, TweetView


class TweetsController(Controller):
    path = "/api/v1/tweets"
    tags = ["tweets"]

    @post(
        "/",
        status_code=201,
        summary="Post a tweet",
        responses=documented(TweetOut, status=201, description="The tweet"),
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
        if posted.tweet.quote_tweet_id is None:
            # All of it is at hand: no need to read back what was just written.
            view = TweetView(posted.tweet, posted.author, posted.media)
        else:
            (view,) = await core.hydrator.hydrate([posted.tweet.id])  # with the quoted tweet
        # No engagement lookup: a tweet just posted has no likes, nor its author's.
        return json_response(renderer.tweet(view, NO_ENGAGEMENT), status_code=201)

    @get("/{tweet_id:str}", summary="A tweet by id", responses=TWEET_DOC)
    async def read(
        self, tweet_id: FromPath[str], core: Core, maybe_viewer_id: MaybeViewerId
    ) -> Response[bytes]:
        views = await core.hydrator.hydrate([parse_id(tweet_id, TweetNotFound)])
        if not views:
            raise TweetNotFound()
        await core.timelines.check_readable(views[0], viewer_id=maybe_viewer_id)
        (body,) = await rendered_tweets(core, views, viewer_id=maybe_viewer_id)
        return json_response(body)

    @delete("/{tweet_id:str}", status_code=204, summary="Delete one's own tweet")
    async def remove(self, tweet_id: FromPath[str], core: Core, viewer_id: ViewerId) -> None:
        await core.tweets.delete(tweet_id=parse_id(tweet_id, TweetNotFound), requester_id=viewer_id)

    @post(
        "/{tweet_id:str}/retweet",
        status_code=201,
        summary="Retweet (idempotent)",
        responses=documented(TweetOut, status=201, description="The retweet"),
    )
    async def retweet(
        self, tweet_id: FromPath[str], core: Core, viewer_id: ViewerId
    ) -> Response[bytes]:
        retweet = await core.tweets.retweet(
            user_id=viewer_id, tweet_id=parse_id(tweet_id, TweetNotFound)
        )
        views = await core.hydrator.hydrate([retweet.id])
        if not views:
            raise TweetNotFound()  # the original was deleted in between
        (body,) = await rendered_tweets(core, views, viewer_id=viewer_id)
        return json_response(body, status_code=201)

    @delete("/{tweet_id:str}/retweet", status_code=204, summary="Undo a retweet (idempotent)")
    async def unretweet(self, tweet_id: FromPath[str], core: Core, viewer_id: ViewerId) -> None:
        await core.tweets.unretweet(user_id=viewer_id, tweet_id=parse_id(tweet_id, TweetNotFound))

    @get(
        "/{tweet_id:str}/replies",
        summary="Direct replies to a tweet, newest first",
        responses=TWEETS_PAGE_DOC,
    )
    async def replies(
        self,
        tweet_id: FromPath[str],
        core: Core,
        maybe_viewer_id: MaybeViewerId,
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[str | None] = None,
    ) -> Response[bytes]:
        page = await core.conversations.replies(
            tweet_id=parse_id(tweet_id, TweetNotFound),
            viewer_id=maybe_viewer_id,
            max_id=decode_cursor(cursor),
            limit=parse_limit(limit),
        )
        return await timeline_page(core, page, viewer_id=maybe_viewer_id)

    @get(
        "/{tweet_id:str}/context",
        summary="A tweet with the tweets it replies to, root first",
        responses=documented(ContextOut, description="The tweet and its ancestors"),
    )
    async def context(
        self, tweet_id: FromPath[str], core: Core, maybe_viewer_id: MaybeViewerId
    ) -> ContextJson:
        found = await core.conversations.context(
            tweet_id=parse_id(tweet_id, TweetNotFound), viewer_id=maybe_viewer_id
        )
        out = await rendered_tweets(
            core, [*found.ancestors, found.tweet], viewer_id=maybe_viewer_id
        )
        return ContextJson(ancestors=[Raw(b) for b in out[:-1]], tweet=Raw(out[-1]))
