"""Hydration: tweet ids → tweets with their authors and media, and a page's engagement
(counts and the viewer's flags), in as few round trips as a page allows (the design:
"batch hydrate tweets + authors + viewer flags").

Two steps, so that timelines can page with the cheap one and look up engagement for the
final page only: :meth:`Hydrator.hydrate` (tweets, authors, media: what every reader
sees alike, mostly from caches) and :meth:`Hydrator.engagement` (counts and, for a
viewer, their flags: two store queries for the whole page). Whatever a page holds,
hydrating it costs a fixed number of store queries, and none for the parts cached.
"""

from __future__ import annotations

import contextlib
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from collections.abc import Set as AbstractSet
from typing import Final

import msgspec

from starling.domain.engagement import NO_FLAGS, Counts, ViewerFlags
from starling.domain.media import Media
from starling.domain.model import Tweet, User
from starling.ports import BackendUnavailable, Store, TweetCache
from starling.services.counts_cache import CountsCache
from starling.services.reader_context import ReaderContextCache


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

    def without_authors(self, hidden: AbstractSet[int]) -> TweetView | None:
        """This view as a reader who must not see ``hidden`` authors sees it: None when
        the tweet or the retweeted original is by one of them; a quote of their tweet
        stays, without the quoted tweet (Twitter shows "This post is unavailable")."""
        if not hidden:
            return self
        if self.author.id in hidden:
            return None
        if self.retweeted is not None:
            inner = self.retweeted.without_authors(hidden)
            return None if inner is None else msgspec.structs.replace(self, retweeted=inner)
        if self.quoted is not None and self.quoted.author.id in hidden:
            return msgspec.structs.replace(self, quoted=None)
        return self


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

MAX_CACHED_MEDIA = 200_000
"""Tweets whose attached media (mostly none) this process remembers. Attachments are
written with the tweet and never change, so the entries never go stale; ~100 bytes
each (an int key and, for most tweets, the shared empty tuple): ~20 MB at most."""

_NO_MEDIA: Final[tuple[Media, ...]] = ()


class Hydrator:
    """Turns a page of tweet ids into :class:`TweetView` objects, and looks up their
    :class:`Engagement`. Authors come from ``users`` (the per-process user cache), tweets
    from ``tweet_cache``, media from a per-process memo; the store answers the misses."""

    def __init__(
        self,
        *,
        store: Store,
        tweet_cache: TweetCache,
        users: ReaderContextCache,
        counts: CountsCache,
    ) -> None:
        self._store = store
        self._tweet_cache = tweet_cache
        self._users = users
        self._counts = counts
        self._media: OrderedDict[int, tuple[Media, ...]] = OrderedDict()

    async def hydrate(self, tweet_ids: Sequence[int]) -> list[TweetView]:
        """Tweets and their authors for ``tweet_ids``, in the given order, with retweeted
        originals and quoted tweets nested: one multi-get from the tweet cache and one
        store query for its misses per round (the page, then at most
        :data:`REFERENCE_ROUNDS` rounds of referenced tweets), then one query for the
        authors not cached and one for the media of tweets not seen before. Ids that no
        longer exist are dropped, and so are retweets whose original no longer exists."""
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
        authors = await self._users.users({t.author_id for t in tweets.values()})
        media = self._media
        await self._remember_media(tweets)

        def view(tweet_id: int, *, expand_quote: bool) -> TweetView | None:
            tweet = tweets.get(tweet_id)
            author = authors.get(tweet.author_id) if tweet is not None else None
            if tweet is None or author is None:
                return None
            if tweet.retweet_of_id is None and tweet.quote_tweet_id is None:
                return TweetView(tweet, author, media[tweet_id])
            retweeted = quoted = None
            if tweet.retweet_of_id is not None:
                retweeted = view(tweet.retweet_of_id, expand_quote=True)
                if retweeted is None:
                    return None  # a retweet of a deleted tweet shows nothing
            if tweet.quote_tweet_id is not None and expand_quote:
                quoted = view(tweet.quote_tweet_id, expand_quote=False)
            return TweetView(tweet, author, media[tweet_id], retweeted, quoted)

        return [v for i in tweet_ids if (v := view(i, expand_quote=True)) is not None]

    async def engagement(self, views: Sequence[TweetView], *, viewer_id: int | None) -> Engagement:
        """Counts of ``views`` and of the originals and quoted tweets inside them (from
        the :class:`CountsCache`, one query for those not cached) and, given
        ``viewer_id``, the viewer's liked/retweeted flags (one query, never cached)."""
        if not views:
            return Engagement({}, None if viewer_id is None else {})
        ids = [inner.tweet.id for v in views for inner in v.nested()]
        counts = await self._counts.counts(ids)
        flags = None if viewer_id is None else await self._store.viewer_flags(viewer_id, ids)
        return Engagement(counts, flags)

    async def _remember_media(self, tweets: dict[int, Tweet]) -> None:
        """Make sure the media memo holds every tweet of ``tweets`` (one query for those
        it did not)."""
        memo = self._media
        missing = [tweet_id for tweet_id in tweets if tweet_id not in memo]
        if not missing:
            return
        loaded = await self._store.media_of_tweets(missing)
        for tweet_id in missing:
            memo[tweet_id] = tuple(loaded[tweet_id]) if tweet_id in loaded else _NO_MEDIA
        while len(memo) > MAX_CACHED_MEDIA:
            memo.popitem(last=False)

    async def _cached_tweets(self, tweet_ids: Sequence[int]) -> dict[int, Tweet]:
        try:
            found = await self._tweet_cache.get_many(tweet_ids)
        except BackendUnavailable:
            found = {}
        if len(found) < len(tweet_ids):
            missing = [i for i in tweet_ids if i not in found]
            loaded = await self._store.get_tweets(missing)
            found.update(loaded)
            if loaded:
                with contextlib.suppress(BackendUnavailable):
                    await self._tweet_cache.put_many(list(loaded.values()))
        return found
