"""Tweet JSON (docs/api.md's Tweet object) written as bytes from cached pieces.

Every page of tweets is rendered here, and the read path is bound by serialization,
not by the stores (docs/scale-out.md, "Measured ceilings"): building one response struct per
tweet, then encoding it, measured ~5 us a tweet (a quarter of a 50-tweet home read).
So the JSON of a tweet is split by what changes:

- **static**: id, text, time, reply/quote ids, hashtags, mentions, media. A tweet never
  changes after it is posted, so these bytes are encoded once per process (msgspec)
  and kept by tweet id (:data:`MAX_STATIC`, oldest out first), followed by
- **author**: the user summary, re-encoded when the user row differs (a profile change);
- **engagement**: metrics and viewer flags, per request, from :class:`Engagement`.

A page is then one ``b"".join`` of those pieces. The documented shapes stay the Structs
of :mod:`starling.api.schemas` (``TweetOut``, ``TweetsPage``): the OpenAPI description is
generated from them and the tests decode every rendered body into them.
"""

from __future__ import annotations

from typing import Final

import msgspec

from starling.api.params import encode_cursor
from starling.api.schemas import MediaOut, media_out, rfc3339, user_summary
from starling.domain.engagement import Counts, ViewerFlags
from starling.domain.model import User
from starling.domain.text import hashtags, mentions
from starling.services.hydration import Engagement, TweetView

MAX_STATIC: Final = 100_000
"""Tweets whose static JSON is kept (~0.4 KB each: ~40 MB at most), about the real data
set's 102,655 tweets."""


class _Static(msgspec.Struct, gc=False):
    """The fields of the Tweet JSON that never change, in docs/api.md's order."""

    id: str
    text: str
    created_at: str
    reply_to_tweet_id: str | None
    quote_tweet_id: str | None
    hashtags: list[str]
    mentions: list[str]
    media: list[MediaOut]


_encode = msgspec.json.Encoder().encode

_USER: Final = b',"user":'
_RETWEETED: Final = b',"retweeted_tweet":'
_QUOTED: Final = b',"quoted_tweet":'
_NO_NESTED_END: Final = b',"retweeted_tweet":null,"quoted_tweet":null}'
_NULL: Final = b"null"
_NO_COUNTS_METRICS: Final = b',"metrics":{"likes":0,"retweets":0,"replies":0}'
_VIEWER_JSON: Final = {
    (liked, retweeted): b',"viewer":' + _encode({"liked": liked, "retweeted": retweeted})
    for liked in (False, True)
    for retweeted in (False, True)
}
_NO_FLAGS_VIEWER: Final = _VIEWER_JSON[False, False]


def _opt(value: int | None) -> str | None:
    return None if value is None else str(value)


class TweetRenderer:
    """Renders :class:`TweetView` objects as Tweet JSON bytes (see the module docstring).

    ``viewer`` is present exactly when the engagement has flags (an authenticated read);
    a retweet shows its original's metrics and flags (what a like or retweet of it acts
    on, as in Twitter's v1.1 API) and the original in ``retweeted_tweet``; a quote shows
    the quoted tweet in ``quoted_tweet`` (null when it was deleted or is hidden).
    """

    def __init__(self, max_static: int = MAX_STATIC) -> None:
        self._max_static = max_static
        self._authors: dict[int, tuple[User, bytes]] = {}
        self._heads: dict[int, tuple[User, bytes]] = {}
        """Per tweet id: its static bytes followed by its author's, for that author row
        (re-encoded when the row differs: after a profile change)."""

    def tweet(self, view: TweetView, engagement: Engagement) -> bytes:
        """One Tweet object."""
        parts: list[bytes] = []
        self._write(view, engagement, parts)
        return b"".join(parts)

    def page(
        self,
        views: list[TweetView],
        engagement: Engagement,
        *,
        next_max_id: int | None,
        has_more: bool,
    ) -> bytes:
        """``{"tweets": [...], "next_cursor": ..., "has_more": ...}`` (the API's list shape)."""
        parts: list[bytes] = [b'{"tweets":[']
        append = parts.append
        heads = self._heads
        counts = engagement.counts
        flags = engagement.flags
        for view in views:
            if view.retweeted is not None or view.quoted is not None:
                self._write(view, engagement, parts)
                append(b",")
                continue
            # The common case, inline: an original tweet with nothing nested.
            tweet_id = view.tweet.id
            head = heads.get(tweet_id)
            if head is None or (head[0] is not view.author and head[0] != view.author):
                head = self._head_of(view)
            append(head[1])
            count = counts.get(tweet_id)
            append(_NO_COUNTS_METRICS if count is None else _metrics(count))
            if flags is not None:
                flag = flags.get(tweet_id)
                append(_NO_FLAGS_VIEWER if flag is None else _viewer(flag))
            append(_NO_NESTED_END)
            append(b",")
        if views:
            parts.pop()  # the separator after the last tweet
        append(b'],"next_cursor":')
        append(_encode(encode_cursor(next_max_id)))
        append(b',"has_more":true}' if has_more else b',"has_more":false}')
        return b"".join(parts)

    def _write(self, view: TweetView, engagement: Engagement, parts: list[bytes]) -> None:
        tweet_id = view.tweet.id
        author = view.author
        head = self._heads.get(tweet_id)
        if head is None or (head[0] is not author and head[0] != author):
            head = self._head_of(view)
        parts.append(head[1])
        shown = tweet_id if view.retweeted is None else view.retweeted.tweet.id
        counts = engagement.counts.get(shown)
        parts.append(_NO_COUNTS_METRICS if counts is None else _metrics(counts))
        if engagement.flags is not None:
            flags = engagement.flags.get(shown)
            parts.append(_NO_FLAGS_VIEWER if flags is None else _viewer(flags))
        if view.retweeted is None and view.quoted is None:
            parts.append(_NO_NESTED_END)
            return
        parts.append(_RETWEETED)
        if view.retweeted is None:
            parts.append(_NULL)
        else:
            self._write(view.retweeted, engagement, parts)
        parts.append(_QUOTED)
        if view.quoted is None:
            parts.append(_NULL)
        else:
            self._write(view.quoted, engagement, parts)
        parts.append(b"}")

    def _head_of(self, view: TweetView) -> tuple[User, bytes]:
        """Static bytes + author bytes of ``view``, for its author row."""
        tweet_id = view.tweet.id
        head = (view.author, self._static_of(view) + self._author(view.author))
        if len(self._heads) >= self._max_static:
            del self._heads[next(iter(self._heads))]
        self._heads[tweet_id] = head
        return head

    def _static_of(self, view: TweetView) -> bytes:
        tweet = view.tweet
        encoded = _encode(
            _Static(
                id=str(tweet.id),
                text=tweet.text,
                created_at=rfc3339(tweet.created_at_ms),
                reply_to_tweet_id=_opt(tweet.reply_to_tweet_id),
                quote_tweet_id=_opt(tweet.quote_tweet_id),
                hashtags=hashtags(tweet.text),
                mentions=mentions(tweet.text),
                media=[media_out(m) for m in view.media],
            )
        )
        return encoded[:-1] + _USER  # left open: the author and the rest follow

    def _author(self, user: User) -> bytes:
        known = self._authors.get(user.id)
        if known is not None and (known[0] is user or known[0] == user):
            return known[1]
        encoded = _encode(user_summary(user))
        if len(self._authors) >= self._max_static:
            del self._authors[next(iter(self._authors))]
        self._authors[user.id] = (user, encoded)
        return encoded


def _metrics(counts: Counts) -> bytes:
    return b',"metrics":{"likes":%d,"retweets":%d,"replies":%d}' % (
        counts.likes,
        counts.retweets,
        counts.replies,
    )


def _viewer(flags: ViewerFlags) -> bytes:
    return _VIEWER_JSON[flags.liked, flags.retweeted]


renderer: Final = TweetRenderer()
"""This process's renderer (its caches hold only derived, never-stale bytes)."""
