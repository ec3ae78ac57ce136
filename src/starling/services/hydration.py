"""Hydration: tweet ids → tweets with their authors, engagement counts and the viewer's
flags, in as few round trips as a page allows (DESIGN.md: "batch hydrate tweets +
authors + viewer flags").

Two steps, so that timelines can page with the cheap one and annotate only the final
page: :meth:`Hydrator.hydrate` (tweets and authors) and :meth:`Hydrator.annotate`
(counts and viewer flags). Whatever a page holds, hydrating it costs a fixed number of
store queries: tweets (cache misses only), authors, media, counts, viewer flags.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from collections.abc import Set as AbstractSet

import msgspec

from starling.domain.engagement import NO_COUNTS, NO_FLAGS, Counts, ViewerFlags
from starling.domain.media import Media
from starling.domain.model import Tweet, User
from starling.ports import BackendUnavailable, Store, TweetCache


class TweetView(msgspec.Struct, frozen=True, gc=False):
    """A hydrated tweet: the row, its author, and (after :meth:`Hydrator.annotate`) its
    engagement counts and what the viewer did to it (``viewer`` None: no viewer).
    ``retweeted`` is the original of a retweet, ``quoted`` the tweet a quote quotes (None
    when it was deleted). ``media``: the attached images in order."""

    tweet: Tweet
    author: User
    counts: Counts = NO_COUNTS
    viewer: ViewerFlags | None = None
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

    def without_authors(self, hidden: AbstractSet[int]) -> TweetView | None:
        """This view as a reader who must not see ``hidden`` authors sees it: None when
        the tweet or the retweeted original is by one of them; a quote of their tweet
        stays, without the quoted tweet (Twitter shows "This post is unavailable")."""
        if self.author.id in hidden:
            return None
        if self.retweeted is not None:
            inner = self.retweeted.without_authors(hidden)
            return None if inner is None else msgspec.structs.replace(self, retweeted=inner)
        if self.quoted is not None and self.quoted.author.id in hidden:
            return msgspec.structs.replace(self, quoted=None)
        return self


REFERENCE_ROUNDS = 2
"""Rounds of fetching referenced tweets: a retweet's original, then the tweet that
original quotes (Twitter shows a retweeted quote with its quoted tweet, and no deeper)."""


class Hydrator:
    """Turns a page of tweet ids into :class:`TweetView` objects."""

    def __init__(self, *, store: Store, tweet_cache: TweetCache) -> None:
        self._store = store
        self._tweet_cache = tweet_cache

    async def hydrate(
        self, tweet_ids: Sequence[int], *, viewer_id: int | None = None, engagement: bool = False
    ) -> list[TweetView]:
        """Tweets and their authors for ``tweet_ids``, in the given order, with retweeted
        originals and quoted tweets nested: one multi-get from the tweet cache and one
        store query for its misses per round (the page, then at most
        :data:`REFERENCE_ROUNDS` rounds of referenced tweets), then one query for every
        author and one for every attached medium. Ids that no longer exist are dropped,
        and so are retweets whose original no longer exists.

        With ``engagement`` (or a ``viewer_id``), also :meth:`annotate` the views: one
        query for the counts and, given ``viewer_id``, one for the viewer's flags.
        Without, counts are zero and ``viewer`` is None (the timelines annotate once per
        page instead of once per fill round).
        """
        tweets = await self._cached_tweets(tweet_ids)
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
            tweets.update(await self._cached_tweets(list(refs)))
        authors = await self._store.get_users({t.author_id for t in tweets.values()})
        media = await self._store.media_of_tweets(tweets)

        def view(tweet_id: int, *, expand_quote: bool) -> TweetView | None:
            tweet = tweets.get(tweet_id)
            author = authors.get(tweet.author_id) if tweet is not None else None
            if tweet is None or author is None:
                return None
            retweeted = quoted = None
            if tweet.retweet_of_id is not None:
                retweeted = view(tweet.retweet_of_id, expand_quote=True)
                if retweeted is None:
                    return None  # a retweet of a deleted tweet shows nothing
            if tweet.quote_tweet_id is not None and expand_quote:
                quoted = view(tweet.quote_tweet_id, expand_quote=False)
            return TweetView(
                tweet,
                author,
                retweeted=retweeted,
                quoted=quoted,
                media=tuple(media.get(tweet_id, ())),
            )

        out = [v for i in tweet_ids if (v := view(i, expand_quote=True)) is not None]
        if engagement or viewer_id is not None:
            return await self.annotate(out, viewer_id=viewer_id)
        return out

    async def annotate(
        self, views: Sequence[TweetView], *, viewer_id: int | None
    ) -> list[TweetView]:
        """``views`` (and the originals and quoted tweets inside them) with their
        engagement counts (one query for the whole page) and, given ``viewer_id``, the
        viewer's liked/retweeted flags (one more query). Counts are read from the store,
        never from a cached tweet, so they are never stale."""
        if not views:
            return []
        ids = [inner.tweet.id for v in views for inner in v.nested()]
        counts = await self._store.tweet_counts(ids)
        flags = await self._store.viewer_flags(viewer_id, ids) if viewer_id is not None else {}

        def annotated(v: TweetView) -> TweetView:
            return msgspec.structs.replace(
                v,
                counts=counts.get(v.tweet.id, NO_COUNTS),
                viewer=None if viewer_id is None else flags.get(v.tweet.id, NO_FLAGS),
                retweeted=None if v.retweeted is None else annotated(v.retweeted),
                quoted=None if v.quoted is None else annotated(v.quoted),
            )

        return [annotated(v) for v in views]

    async def _cached_tweets(self, tweet_ids: Sequence[int]) -> dict[int, Tweet]:
        try:
            found = await self._tweet_cache.get_many(tweet_ids)
        except BackendUnavailable:
            found = {}
        missing = [i for i in tweet_ids if i not in found]
        if missing:
            loaded = await self._store.get_tweets(missing)
            found.update(loaded)
            if loaded:
                with contextlib.suppress(BackendUnavailable):
                    await self._tweet_cache.put_many(list(loaded.values()))
        return found
