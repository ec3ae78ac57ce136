"""Tweets: post, read, delete; retweets; the conversation around a tweet."""

from __future__ import annotations

from litestar import Controller, delete, get, post
from litestar.params import FromPath, FromQuery, JSONBody

from starling.api.deps import Core, MaybeViewerId, ViewerId
from starling.api.pages import tweets_page
from starling.api.params import (
    decode_cursor,
    parse_body_id,
    parse_id,
    parse_limit,
    parse_media_ids,
)
from starling.api.schemas import ContextOut, CreateTweet, TweetOut, TweetsPage, tweet_out
from starling.domain.errors import TweetNotFound


class TweetsController(Controller):
    path = "/api/v1/tweets"
    tags = ["tweets"]

    @post("/", status_code=201, summary="Post a tweet")
    async def create(
        self, data: JSONBody[CreateTweet], core: Core, viewer_id: ViewerId
    ) -> TweetOut:
        tweet = await core.tweets.post(
            author_id=viewer_id,
            text=data.text,
            reply_to_tweet_id=parse_body_id(data.reply_to_tweet_id, "reply_to_tweet_id"),
            quote_tweet_id=parse_body_id(data.quote_tweet_id, "quote_tweet_id"),
            media_ids=parse_media_ids(data.media_ids),
        )
        # No annotate: a tweet just posted has no likes, and its author has not liked it.
        (view,) = await core.hydrator.hydrate([tweet.id])
        return tweet_out(view, authenticated=True)

    @get("/{tweet_id:str}", summary="A tweet by id")
    async def read(
        self, tweet_id: FromPath[str], core: Core, maybe_viewer_id: MaybeViewerId
    ) -> TweetOut:
        views = await core.hydrator.hydrate(
            [parse_id(tweet_id, TweetNotFound)], viewer_id=maybe_viewer_id, engagement=True
        )
        if not views:
            raise TweetNotFound()
        await core.timelines.check_readable(views[0], viewer_id=maybe_viewer_id)
        return tweet_out(views[0], authenticated=maybe_viewer_id is not None)

    @delete("/{tweet_id:str}", status_code=204, summary="Delete one's own tweet")
    async def remove(self, tweet_id: FromPath[str], core: Core, viewer_id: ViewerId) -> None:
        await core.tweets.delete(tweet_id=parse_id(tweet_id, TweetNotFound), requester_id=viewer_id)

    @post("/{tweet_id:str}/retweet", status_code=201, summary="Retweet (idempotent)")
    async def retweet(self, tweet_id: FromPath[str], core: Core, viewer_id: ViewerId) -> TweetOut:
        retweet = await core.tweets.retweet(
            user_id=viewer_id, tweet_id=parse_id(tweet_id, TweetNotFound)
        )
        views = await core.hydrator.hydrate([retweet.id], viewer_id=viewer_id)
        if not views:
            raise TweetNotFound()  # the original was deleted in between
        return tweet_out(views[0], authenticated=True)

    @delete("/{tweet_id:str}/retweet", status_code=204, summary="Undo a retweet (idempotent)")
    async def unretweet(self, tweet_id: FromPath[str], core: Core, viewer_id: ViewerId) -> None:
        await core.tweets.unretweet(user_id=viewer_id, tweet_id=parse_id(tweet_id, TweetNotFound))

    @get("/{tweet_id:str}/replies", summary="Direct replies to a tweet, newest first")
    async def replies(
        self,
        tweet_id: FromPath[str],
        core: Core,
        maybe_viewer_id: MaybeViewerId,
        cursor: FromQuery[str | None] = None,
        limit: FromQuery[str | None] = None,
    ) -> TweetsPage:
        page = await core.conversations.replies(
            tweet_id=parse_id(tweet_id, TweetNotFound),
            viewer_id=maybe_viewer_id,
            max_id=decode_cursor(cursor),
            limit=parse_limit(limit),
        )
        return await tweets_page(core, page, viewer_id=maybe_viewer_id)

    @get("/{tweet_id:str}/context", summary="A tweet with the tweets it replies to, root first")
    async def context(
        self, tweet_id: FromPath[str], core: Core, maybe_viewer_id: MaybeViewerId
    ) -> ContextOut:
        found = await core.conversations.context(
            tweet_id=parse_id(tweet_id, TweetNotFound), viewer_id=maybe_viewer_id
        )
        views = await core.hydrator.annotate(
            [*found.ancestors, found.tweet], viewer_id=maybe_viewer_id
        )
        authenticated = maybe_viewer_id is not None
        out = [tweet_out(v, authenticated=authenticated) for v in views]
        return ContextOut(ancestors=out[:-1], tweet=out[-1])
