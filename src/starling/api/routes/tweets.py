"""Tweets: post, read, delete."""

from __future__ import annotations

from litestar import Controller, delete, get, post
from litestar.params import FromPath, JSONBody

from starling.api.deps import Core, MaybeViewerId, ViewerId
from starling.api.params import parse_body_id, parse_id, parse_media_ids
from starling.api.schemas import CreateTweet, TweetOut, tweet_out
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
