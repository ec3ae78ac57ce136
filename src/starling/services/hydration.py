"""Hydration: tweet ids → tweets with their authors and media, and a page's engagement
(counts and the viewer's flags), in as few round trips as a page allows (the design:
"batch hydrate tweets + authors + viewer flags").

Two steps, so that timelines can page with the cheap one and look up engagement for the
final page only: :meth:`Hydrator.hydrate` (tweets, authors, media: what every reader
sees alike, mostly from caches) and :meth:`Hydrator.engagement` (counts and, for a
viewer, their flags: two store queries for the whole page). Whatever a page holds,
hydrating it costs a fixed number of store queries, and none for the parts cached
(the store the services get caches them: :mod:`starling.adapters.caching`).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Final, Protocol

import msgspec

from starling.domain.engagement import NO_FLAGS, Counts, ViewerFlags
from starling.domain.media import Media
from starling.domain.model import Tweet, User
from starling.ports import EngagementReads, MediaRows, TweetReads, UserReads


class TweetView(msgspec.Struct, frozen=True, gc=False):
    """A hydrated tweet: the row, its author and its attached images in order.
    ``retweeted`` is the original of a retweet, ``quoted`` the tweet a quote quotes (None
    when it was deleted). Viewer-independent: engagement comes from :class:`Engagement`."""

    tweet: Tweet
    author: User
    media: tuple[Media, ...] = ()
    retweeted: TweetView | None = None
    quoted: TweetView | None = None

    @property
    def content_id(self) -> int:
        """The id of what is shown: the original for a retweet, else the tweet itself.
        Two entries with one content id are duplicates in a home timeline."""
        return self.tweet.retweet_of_id if self.tweet.retweet_of_id is not None else self.tweet.id

    def nested(self) -> Iterator[TweetView]:
        """This view and every view inside it (original, quoted), depth first."""
        yield self
        for inner in (self.retweeted, self.quoted):
            if inner is not None:
                yield from inner.nested()

    @property
    def author_id(self) -> int:
        """The author's id (what :mod:`starling.domain.visibility` decides by)."""
        return self.author.id

    def with_nested(self, *, retweeted: TweetView | None, quoted: TweetView | None) -> TweetView:
        """This view with ``retweeted`` and ``quoted`` in place of its own (the
        visibility rule leaves out what the viewer must not see)."""
        return msgspec.structs.replace(self, retweeted=retweeted, quoted=quoted)


class Engagement(msgspec.Struct, frozen=True, gc=False):
    """Engagement of a set of tweets: ``counts`` by tweet id (absent: none), and
    ``flags`` by tweet id for a viewer (absent: nothing done; ``flags`` None: no viewer,
    an anonymous read)."""

    counts: dict[int, Counts]
    flags: dict[int, ViewerFlags] | None

    def flags_of(self, tweet_id: int) -> ViewerFlags | None:
        """The viewer's flags on ``tweet_id``; None for an anonymous read."""
        return None if self.flags is None else self.flags.get(tweet_id, NO_FLAGS)


NO_ENGAGEMENT: Final = Engagement({}, {})
"""A viewer's engagement with tweets nobody engaged with (e.g. their own new tweet)."""


REFERENCE_ROUNDS = 2
"""Rounds of fetching referenced tweets: a retweet's original, then the tweet that
original quotes (Twitter shows a retweeted quote with its quoted tweet, and no deeper)."""

_NO_MEDIA: Final[tuple[Media, ...]] = ()


class _HydrationReads(TweetReads, UserReads, MediaRows, EngagementReads, Protocol):
    """What hydrating a page reads: tweets, authors, media, counts and viewer flags."""


class Hydrator:
    """Turns a page of tweet ids into :class:`TweetView` objects, and looks up their
    :class:`Engagement`, from ``store`` (tweets, author rows, media and counts are cached
    behind it)."""

    def __init__(self, *, store: _HydrationReads) -> None:
        self._store = store

    async def hydrate(self, tweet_ids: Sequence[int]) -> list[TweetView]:
        """Tweets and their authors for ``tweet_ids``, in the given order, with retweeted
        originals and quoted tweets nested: one multi-get from the tweet cache and one
        store query for its misses per round (the page, then at most
        :data:`REFERENCE_ROUNDS` rounds of referenced tweets), then one query for the
        authors not cached and one for the media of tweets not seen before. Ids that no
        longer exist are dropped, and so are retweets whose original no longer exists."""
        tweets = await self._store.get_tweets(tweet_ids)
        tried = set(tweet_ids)
        for _ in range(REFERENCE_ROUNDS):
            refs = {
                ref
                for t in tweets.values()
                for ref in (t.retweet_of_id, t.quote_tweet_id)
                if ref is not None and ref not in tried
            }
            if not refs:
                break
            tried |= refs
            tweets.update(await self._store.get_tweets(refs))
        authors = await self._store.get_users({t.author_id for t in tweets.values()})
        media = {i: tuple(m) for i, m in (await self._store.media_of_tweets(tweets)).items()}

        def view(tweet_id: int, *, expand_quote: bool) -> TweetView | None:
            tweet = tweets.get(tweet_id)
            author = authors.get(tweet.author_id) if tweet is not None else None
            if tweet is None or author is None:
                return None
            if tweet.retweet_of_id is None and tweet.quote_tweet_id is None:
                return TweetView(tweet, author, media.get(tweet_id, _NO_MEDIA))
            retweeted = quoted = None
            if tweet.retweet_of_id is not None:
                retweeted = view(tweet.retweet_of_id, expand_quote=True)
                if retweeted is None:
                    return None  # a retweet of a deleted tweet shows nothing
            if tweet.quote_tweet_id is not None and expand_quote:
                quoted = view(tweet.quote_tweet_id, expand_quote=False)
            return TweetView(tweet, author, media.get(tweet_id, _NO_MEDIA), retweeted, quoted)

        return [v for i in tweet_ids if (v := view(i, expand_quote=True)) is not None]

    async def engagement(self, views: Sequence[TweetView], *, viewer_id: int | None) -> Engagement:
        """Counts of ``views`` and of the originals and quoted tweets inside them (one
        query for those the store has not cached) and, given ``viewer_id``, the
        viewer's liked/retweeted flags (one query, never cached)."""
        if not views:
            return Engagement({}, None if viewer_id is None else {})
        ids = [inner.tweet.id for v in views for inner in v.nested()]
        counts = await self._store.tweet_counts(ids)
        flags = None if viewer_id is None else await self._store.viewer_flags(viewer_id, ids)
        return Engagement(counts, flags)
