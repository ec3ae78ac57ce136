"""``CachingStore``: the per-process caches of the read path, as a ``Store`` that wraps
the real one (SQLite or PostgreSQL) and forwards every call.

It answers the hot reads from :class:`~starling.adapters.caching.ttl_map.TTLMap` maps and
the shared :class:`~starling.ports.TweetCache`, and invalidates them on the writes it
forwards, so use cases neither know caches exist nor remember to invalidate them. It is
an adapter, not a service: it implements a port by decorating another adapter of it
(Stream-Framework treats caches as storage), and it holds no use-case rule; only the
celebrity threshold, to know which authors' tweets readers pull.

What it keeps, and why (profiling of home-timeline reads):

- **Followed celebrities and hidden authors** per viewer (``celebrity_followee_ids``,
  ``hidden_author_ids``): every home read needs both, and the two store queries were
  about a third of the request, while the answers change only when the viewer follows,
  unfollows, blocks, mutes (or is blocked), or a followee crosses the celebrity threshold.
- **Author rows** (``get_users``): a page shows up to 50 authors, and re-reading them
  cost a store query per page; a profile change or a follow drops the row everywhere, a
  tweet or a delete drops its author's row here (the counts in it). ``get_user`` and
  ``get_tweet`` are not cached: write services read them to check a user or tweet
  exists and to see a threshold crossing, and profiles show exact counts.
- **Celebrities' newest tweet ids** (``tweet_ids_by_authors`` for reads pulling from at
  most :data:`AUTHORED_MAX_AUTHORS` authors who are all celebrities, no deeper than
  :data:`AUTHORED_DEPTH`): every reader of a celebrity pulls the same ids, and the store
  query to find them was most of a hybrid read's PostgreSQL work (0.67 of the 1.67
  queries per read measured on the benchmark's readers). A celebrity's new tweet or
  retweet drops their ids; other authors' tweets are pushed, and nothing is kept for
  them, so an ordinary post costs no bus message.
- **Engagement counts** (``tweet_counts``): summing counter shards for a 50-tweet page
  was a quarter of a cached home read in the store, while a tweet's counts change only
  when someone engages with it. Own TTL (``STARLING_COUNTS_CACHE_TTL_S``): the API
  allows counts "eventually consistent within seconds"; likes, retweets, replies and
  deletes made here drop them here only (no bus message per like).
- **Media of tweets** (``media_of_tweets``): attachments are written with the tweet and
  never change, so the entries never go stale (bounded only).
- **Tweets** (``get_tweets``) through the ``TweetCache`` port: the process's memory when
  embedded, Redis on scale-out (shared, so a delete invalidates it for every process).

Invalidation:

- **Local**: a write forwarded here drops what it changed, in this process, once it
  committed, so a user's next read after their own change is exact. A follow that makes
  the followee a celebrity drops every shared entry (their followers must start pulling
  them).
- **Cross-process**: the drops of a profile change, a follow or unfollow, a block,
  unblock, mute or unmute, and a celebrity's tweet or delete are published on the live
  bus (:mod:`~starling.adapters.caching.invalidations`) and every process applies what
  others publish. Counts, rows changed by an ordinary tweet, and media are not
  published (see :data:`SHARED_KINDS`). The bus is at most once, and a bus failure never
  fails a request: it is logged.
- **TTL** (``STARLING_READER_CACHE_TTL_S``, measured on the injected clock): bounds the
  staleness of what no message reported: a lost message, a change written outside this
  layer (``starling load``), a race of concurrent follows across the threshold.
- A load that raced an invalidation (its query ran while a change committed) is
  returned but not kept: it may predate the change.
"""

from __future__ import annotations

import bisect
import contextlib
import operator
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, Final, Literal

from starling.adapters.caching.forwarding import ForwardingStore
from starling.adapters.caching.invalidations import InvalidationBus
from starling.adapters.caching.ttl_map import TTLMap
from starling.domain.accounts import DeletedAccount, TokenState
from starling.domain.engagement import NO_COUNTS, Counts
from starling.domain.events import Event
from starling.domain.feed import FanoutPolicy, follow_makes_pulled, merge_newest_first
from starling.domain.media import Media
from starling.domain.model import Tweet, User
from starling.metrics import Metrics
from starling.ports import (
    BackendUnavailable,
    Clock,
    LiveBus,
    Store,
    TweetCache,
)

MAX_VIEWERS: Final = 100_000
"""Most viewers whose celebrities (and, separately, hidden authors) a process keeps.
An entry lives one TTL, so a map holds the viewers who read in the last TTL: 100,000 is
20,000 home reads per second for 5 s, four times what one process serves (docs/scale-out.md
measures ~5k hydrated reads per second over HTTP), so the bound is a memory cap that
normal traffic does not reach. An entry is ~0.3 KB (a few ints; empty sets are shared),
so the cap is ~30 MB per map."""

MAX_USERS: Final = 100_000
"""Most author rows kept: the authors shown in the last TTL, bounded like
:data:`MAX_VIEWERS`; a row is ~0.5 KB (its strings), so ~50 MB at most."""

MAX_PULLED_AUTHORS: Final = 10_000
"""Most celebrities whose newest ids are kept (~16 KB each: ~160 MB at most). Only
authors at or above the celebrity threshold are kept, far fewer than this."""

AUTHORED_DEPTH: Final = 400
"""Newest tweet ids kept per pulled author: two of the API's largest pages (200 tweets);
a page reaching below them is read from the store. A tuple of 400 ids is ~16 KB."""

AUTHORED_MAX_AUTHORS: Final = 16
"""Most authors a read takes from kept ids. A hybrid reader pulls only the celebrities
they follow (at most 3 in the benchmark's overlay); a read pulling from more (the pull
baseline merges every followee, up to 626 on the real graph) is one store query that
merges them all, not one kept list per author: measured, per-author lists took the pull
baseline's home reads from 1,367 to 199 per second (cold lists, 626-way merges)."""

MAX_TWEETS: Final = 200_000
"""Tweets whose counts are kept (~150 bytes each, mostly the shared zero counts:
~30 MB at most). Oldest-loaded first out: with one TTL for all, those expire first."""

MAX_CACHED_MEDIA: Final = 200_000
"""Tweets whose attached media (mostly none) are kept. Attachments never change, so the
entries never go stale; ~100 bytes each (an int key and, for most tweets, the shared
empty tuple): ~20 MB at most."""

Kind = Literal["celebrities", "hidden", "users", "authored", "counts", "media", "tokens"]
"""The caches of :class:`CachingStore`, by the label of their lookups metric."""

SHARED_KINDS: Final[tuple[Kind, ...]] = ("celebrities", "hidden", "users", "authored", "tokens")
"""Kinds whose drops are published to the other processes (all of them when a followee
becomes a celebrity or the bus subscription starts over). Counts are not (their TTL is
seconds, and a bus message per like would cost more than it saves); media never
change."""

_NO_ONE: Final[frozenset[int]] = frozenset()
"""The hidden set of most viewers, shared by their entries."""

_NO_MEDIA: Final[tuple[Media, ...]] = ()


class CachingStore(ForwardingStore):
    """A :class:`~starling.ports.Store` answering hot reads from per-process caches (see
    the module docstring), forwarding everything else to ``inner`` (writing to
    ``inner`` directly bypasses every invalidation, as another process's write would).

    ``policy`` is the fan-out policy (who is pulled: followers at or above its
    threshold); ``celebrity_followee_ids`` with another threshold is not cached.
    ``reader_ttl_s`` (seconds on ``clock``; 0 disables) bounds celebrities, hidden
    authors, author rows and kept ids; ``counts_ttl_s`` the counts. Invalidations are
    published on ``bus`` even when caching is off here, for processes that cache.
    Call :meth:`start` to apply other processes' invalidations, :meth:`stop` to end that.
    """

    def __init__(
        self,
        inner: Store,
        *,
        tweet_cache: TweetCache,
        bus: LiveBus,
        clock: Clock,
        metrics: Metrics,
        policy: FanoutPolicy,
        reader_ttl_s: float,
        counts_ttl_s: float,
        token_ttl_s: float = 0,
        max_viewers: int = MAX_VIEWERS,
    ) -> None:
        super().__init__(inner)
        self._tweet_cache = tweet_cache
        self._policy = policy
        lookups = metrics.reader_cache_lookups

        def ttl_map(kind: Kind, ttl_s: float | None, max_entries: int) -> TTLMap[int, Any]:
            return TTLMap(
                clock=clock, ttl_s=ttl_s, max_entries=max_entries, lookups=lookups, kind=kind
            )

        self._celebrities: TTLMap[int, tuple[int, ...]] = ttl_map(
            "celebrities", reader_ttl_s, max_viewers
        )
        self._hidden: TTLMap[int, frozenset[int]] = ttl_map("hidden", reader_ttl_s, max_viewers)
        self._users: TTLMap[int, User] = ttl_map("users", reader_ttl_s, MAX_USERS)
        self._authored: TTLMap[int, tuple[int, ...]] = ttl_map(
            "authored", reader_ttl_s, MAX_PULLED_AUTHORS
        )
        self._counts: TTLMap[int, Counts] = ttl_map("counts", counts_ttl_s, MAX_TWEETS)
        self._media: TTLMap[int, tuple[Media, ...]] = ttl_map("media", None, MAX_CACHED_MEDIA)
        self._tokens: TTLMap[int, TokenState | None] = ttl_map("tokens", token_ttl_s, MAX_USERS)
        self._maps: dict[str, TTLMap[int, Any]] = {
            "celebrities": self._celebrities,
            "hidden": self._hidden,
            "users": self._users,
            "authored": self._authored,
            "counts": self._counts,
            "media": self._media,
            "tokens": self._tokens,
        }
        self._tweets_epoch = 0
        """Bumped by every delete: a tweet load that raced one is not put in the cache."""
        self._tweet_hit = lookups.labels(kind="tweets", result="hit")
        self._tweet_miss = lookups.labels(kind="tweets", result="miss")
        self._local = metrics.reader_cache_invalidations.labels(source="local")
        self._bus = InvalidationBus(bus, apply=self._drop, metrics=metrics)

    @property
    def enabled(self) -> bool:
        """False when the reader TTL is 0 (celebrities, hidden authors, rows, ids)."""
        return self._celebrities.enabled

    def kept(self, *kinds: Kind) -> int:
        """How many entries of ``kinds`` this process keeps (for tests and operators)."""
        return sum(len(self._maps[kind]) for kind in kinds)

    # --- lifecycle -------------------------------------------------------------------
    async def start(self) -> None:
        """Subscribe to the other processes' invalidations (no-op when caching is off).
        Does not raise for an unreachable bus: it keeps trying in the background."""
        if self.enabled:
            await self._bus.start()

    async def stop(self) -> None:
        """Unsubscribe; idempotent."""
        await self._bus.stop()

    async def close(self) -> None:
        await self._bus.stop()
        await self.inner.close()

    # --- invalidation ----------------------------------------------------------------
    def _drop(self, keys: Mapping[str, Sequence[int]], everyone: bool) -> None:
        """Forget ``keys`` by kind (unknown kinds are ignored); with ``everyone``, every
        entry of the shared kinds."""
        if everyone:
            for shared in SHARED_KINDS:
                self._maps[shared].clear()
        for kind, ids in keys.items():
            found = self._maps.get(kind)
            if found is not None and ids:
                found.discard(ids)

    async def _changed(
        self,
        shared: Mapping[Kind, Iterable[int | None]],
        *,
        local: Mapping[Kind, Iterable[int | None]] | None = None,
        everyone: bool = False,
    ) -> None:
        """A forwarded write committed and changed ``shared`` and ``local`` keys (Nones
        skipped): drop both here, and tell the other processes to drop ``shared`` (and,
        with ``everyone``, every shared entry). Best effort: never raises."""
        published = _present(shared)
        self._drop(published, everyone)
        if local:
            self._drop(_present(local), False)
        self._local.inc()
        if any(published.values()) or everyone:
            await self._bus.publish(published, everyone=everyone)

    async def _pulled(self, author_ids: Sequence[int]) -> bool:
        """Whether every one of ``author_ids`` is a celebrity (their tweets are pulled at
        read, and each of their tweets drops their kept ids), by their kept rows."""
        rows = await self.get_users(author_ids)
        return all(
            (row := rows.get(a)) is not None and self._policy.is_pulled(row.followers_count)
            for a in author_ids
        )

    # --- accounts --------------------------------------------------------------------
    async def token_state(self, user_id: int, now_ms: int) -> TokenState | None:
        """``Store.token_state``, at most one token-state TTL old (every request with a
        bearer token asks it). A revocation or deletion drops it here and, over the bus,
        in the other processes; the TTL bounds only a lost message."""
        found = self._tokens.get(user_id)
        if found is not None:
            return found
        loading = self._tokens.loading()
        state = await self.inner.token_state(user_id, now_ms)
        if state is not None:
            # "No such user" is not kept: a user registered a moment later must not wait.
            self._tokens.put(user_id, state, loading)
        return state

    async def revoke_token(self, user_id: int, jti: int, expires_at_ms: int, now_ms: int) -> bool:
        """Forwarded; drops the user's token state here and in the other processes."""
        revoked = await self.inner.revoke_token(user_id, jti, expires_at_ms, now_ms)
        await self._changed({"tokens": (user_id,)})
        return revoked

    async def set_password(
        self, user_id: int, password_hash: str, *, revoked_below: int, kept_jti: int | None
    ) -> bool:
        """Forwarded; drops the user's token state here and in the other processes."""
        changed = await self.inner.set_password(
            user_id, password_hash, revoked_below=revoked_below, kept_jti=kept_jti
        )
        await self._changed({"tokens": (user_id,)})
        return changed

    async def delete_user(
        self, user_id: int, events_for: Callable[[DeletedAccount], Sequence[Event]]
    ) -> DeletedAccount | None:
        """Forwarded; the follows, tweets and likes of many users changed at once, so
        every shared entry is dropped here and in the other processes, with the counts
        this process kept of the touched tweets and the deleted tweets in the tweet
        cache."""
        deleted = await self.inner.delete_user(user_id, events_for)
        if deleted is not None:
            self._tweets_epoch += 1
            with contextlib.suppress(BackendUnavailable):
                await self._tweet_cache.invalidate([tweet_id for tweet_id, _ in deleted.tweets])
            await self._changed(
                {"tokens": (user_id,)},
                local={"counts": deleted.counted_tweet_ids},
                everyone=True,
            )
        return deleted

    # --- users -----------------------------------------------------------------------
    async def get_users(self, user_ids: Iterable[int]) -> dict[int, User]:
        """``Store.get_users``, each row at most one reader TTL old; one store query for
        those not kept. The counts in a row may lag by a TTL (a follow drops both rows;
        a tweet does not)."""
        return await self._users.kept_many(user_ids, self.inner.get_users)

    async def update_profile(
        self, user_id: int, *, display_name: str | None, bio: str | None
    ) -> User | None:
        """Forwarded; drops the user's row here and in the other processes."""
        user = await self.inner.update_profile(user_id, display_name=display_name, bio=bio)
        if user is not None:
            await self._changed({"users": [user_id]})
        return user

    # --- tweets ----------------------------------------------------------------------
    async def insert_tweet(
        self, tweet: Tweet, events: Sequence[Event], *, media_ids: Sequence[int] = ()
    ) -> bool:
        """Forwarded; drops the counts of the replied-to and retweeted tweets and the
        author's row (its tweet count) here, and, when the author is a celebrity, their
        kept ids and row here and in the other processes (an ordinary post sends no
        message: nothing is kept of their tweets, and a row's counts may lag a TTL)."""
        inserted = await self.inner.insert_tweet(tweet, events, media_ids=media_ids)
        if inserted:
            author = (tweet.author_id,)
            pulled = await self._pulled(author)
            await self._changed(
                {"authored": author, "users": author} if pulled else {},
                local={"counts": (tweet.reply_to_tweet_id, tweet.retweet_of_id), "users": author},
            )
        return inserted

    async def delete_tweet(
        self,
        tweet_id: int,
        events: Sequence[Event],
        *,
        retweet_deleted: Callable[[int, int], Event] | None = None,
    ) -> bool:
        """Forwarded; drops the tweet and the retweets deleted with it from the tweet
        cache; here, the counts of the tweet and of what it counted on (a retweet's
        original, a reply's parent) and the rows of its author and of the retweeters
        (their tweet counts); and a celebrity author's kept ids and row everywhere."""
        tweet = (await self.get_tweets([tweet_id])).get(tweet_id)
        gone = [tweet_id]
        retweeters: list[int] = []
        recorded = retweet_deleted
        if retweet_deleted is not None:
            forward = retweet_deleted

            def record(retweet_id: int, retweeter_id: int) -> Event:
                gone.append(retweet_id)
                retweeters.append(retweeter_id)
                return forward(retweet_id, retweeter_id)

            recorded = record
        deleted = await self.inner.delete_tweet(tweet_id, events, retweet_deleted=recorded)
        if deleted:
            self._tweets_epoch += 1
            with contextlib.suppress(BackendUnavailable):
                # Readers drop ids the store no longer has; a cached copy would hide that.
                await self._tweet_cache.invalidate(gone)
            author = () if tweet is None else (tweet.author_id,)
            counted_on = () if tweet is None else (tweet.retweet_of_id, tweet.reply_to_tweet_id)
            pulled = bool(author) and await self._pulled(author)
            await self._changed(
                {"authored": author, "users": author} if pulled else {},
                local={"counts": (tweet_id, *counted_on), "users": (*author, *retweeters)},
            )
        return deleted

    async def get_tweets(self, tweet_ids: Iterable[int]) -> dict[int, Tweet]:
        """``Store.get_tweets`` through the tweet cache: one multi-get, then one store
        query for the misses, which are put in the cache (unless a delete raced the
        load). A cache that cannot be reached counts as all misses."""
        ids = list(dict.fromkeys(tweet_ids))
        if not ids:
            return {}
        try:
            found = await self._tweet_cache.get_many(ids)
        except BackendUnavailable:
            found = {}
        self._tweet_hit.inc(len(found))
        if len(found) < len(ids):
            missing = [i for i in ids if i not in found]
            self._tweet_miss.inc(len(missing))
            epoch = self._tweets_epoch
            loaded = await self.inner.get_tweets(missing)
            found.update(loaded)
            if loaded and epoch == self._tweets_epoch:
                with contextlib.suppress(BackendUnavailable):
                    await self._tweet_cache.put_many(list(loaded.values()))
        return found

    async def tweet_ids_by_authors(
        self, author_ids: Sequence[int], *, max_id: int | None, limit: int
    ) -> list[int]:
        """``Store.tweet_ids_by_authors``. For the celebrities a reader pulls (at most
        :data:`AUTHORED_MAX_AUTHORS` authors, all celebrities, ``limit`` at most
        :data:`AUTHORED_DEPTH`), answered from each author's newest
        :data:`AUTHORED_DEPTH` ids, kept per author at most one TTL (one store query per
        author and TTL, not per read); from the store when the page reaches below them
        or the read is not such a pull. Ids of tweets deleted since may remain:
        hydration drops them."""
        if not author_ids:
            return []
        if (
            not self.enabled
            or limit > AUTHORED_DEPTH
            or len(author_ids) > AUTHORED_MAX_AUTHORS
            or not await self._pulled(author_ids)
        ):
            return await self.inner.tweet_ids_by_authors(author_ids, max_id=max_id, limit=limit)
        runs: list[Sequence[int]] = []
        for author_id in author_ids:
            newest = await self._authored.kept(author_id, self._load_authored)
            # newest is descending: the ids below max_id start where -id passes -max_id.
            start = 0 if max_id is None else bisect.bisect_right(newest, -max_id, key=operator.neg)
            below = newest[start : start + limit]
            if len(below) < limit and len(newest) == AUTHORED_DEPTH:
                # The page reaches past what is kept, and the author has more.
                return await self.inner.tweet_ids_by_authors(author_ids, max_id=max_id, limit=limit)
            runs.append(below)
        return merge_newest_first(runs, limit)

    async def _load_authored(self, author_id: int) -> tuple[int, ...]:
        found = await self.inner.tweet_ids_by_authors(
            [author_id], max_id=None, limit=AUTHORED_DEPTH
        )
        return tuple(found)

    # --- follow graph ----------------------------------------------------------------
    async def follow(self, follower_id: int, followee_id: int, events: Sequence[Event]) -> bool:
        """Forwarded; drops the follower's celebrities and both users' rows here and in
        the other processes, or every shared entry when the followee just became a
        celebrity (every follower must pull them from now on; concurrent follows may
        both miss the crossing: the TTL bounds that)."""
        followee = await self.inner.get_user(followee_id)
        created = await self.inner.follow(follower_id, followee_id, events)
        if created:
            before = followee.followers_count if followee is not None else 0
            crossed = follow_makes_pulled(self._policy, before)
            await self._changed(
                {"celebrities": (follower_id,), "users": (follower_id, followee_id)},
                everyone=crossed,
            )
        return created

    async def unfollow(self, follower_id: int, followee_id: int, events: Sequence[Event]) -> bool:
        """Forwarded; drops the follower's celebrities and both users' rows here and in
        the other processes. A followee falling below the threshold needs no wider drop:
        until the followers' entries expire they also pull what is now pushed, and the
        merge drops the duplicates; their kept ids are no longer served (their row says
        they are not pulled)."""
        removed = await self.inner.unfollow(follower_id, followee_id, events)
        if removed:
            await self._changed(
                {"celebrities": (follower_id,), "users": (follower_id, followee_id)}
            )
        return removed

    async def celebrity_followee_ids(self, user_id: int, threshold: int) -> list[int]:
        """``Store.celebrity_followee_ids``, at most one reader TTL old (for this store's
        threshold; another threshold is read from the store)."""
        if threshold != self._policy.threshold:
            return await self.inner.celebrity_followee_ids(user_id, threshold)
        return list(await self._celebrities.kept(user_id, self._load_celebrities))

    async def _load_celebrities(self, user_id: int) -> tuple[int, ...]:
        return tuple(await self.inner.celebrity_followee_ids(user_id, self._policy.threshold))

    # --- engagement ------------------------------------------------------------------
    async def like(self, user_id: int, tweet_id: int, events: Sequence[Event]) -> bool:
        """Forwarded; drops the tweet's counts here."""
        liked = await self.inner.like(user_id, tweet_id, events)
        if liked:
            await self._changed({}, local={"counts": (tweet_id,)})
        return liked

    async def unlike(self, user_id: int, tweet_id: int, events: Sequence[Event]) -> bool:
        """Forwarded; drops the tweet's counts here."""
        unliked = await self.inner.unlike(user_id, tweet_id, events)
        if unliked:
            await self._changed({}, local={"counts": (tweet_id,)})
        return unliked

    async def tweet_counts(self, tweet_ids: Iterable[int]) -> dict[int, Counts]:
        """``Store.tweet_counts``, each at most one counts TTL old; one store query for
        those not kept."""
        return await self._counts.kept_many(tweet_ids, self.inner.tweet_counts, absent=NO_COUNTS)

    # --- blocks and mutes ------------------------------------------------------------
    async def block(self, blocker_id: int, blocked_id: int, events: Sequence[Event]) -> bool:
        """Forwarded; drops both users' celebrities, hidden authors and rows (the follows
        between them are gone) here and in the other processes, also for a repeated
        block, which still removes follows that raced it."""
        created = await self.inner.block(blocker_id, blocked_id, events)
        both = (blocker_id, blocked_id)
        await self._changed({"celebrities": both, "hidden": both, "users": both})
        return created

    async def unblock(self, blocker_id: int, blocked_id: int) -> bool:
        """Forwarded; drops both users' hidden authors here and in the other processes."""
        removed = await self.inner.unblock(blocker_id, blocked_id)
        if removed:
            await self._changed({"hidden": (blocker_id, blocked_id)})
        return removed

    async def mute(self, muter_id: int, muted_id: int, created_at_ms: int) -> bool:
        """Forwarded; drops the muter's hidden authors here and in the other processes."""
        created = await self.inner.mute(muter_id, muted_id, created_at_ms)
        if created:
            await self._changed({"hidden": (muter_id,)})
        return created

    async def unmute(self, muter_id: int, muted_id: int) -> bool:
        """Forwarded; drops the muter's hidden authors here and in the other processes."""
        removed = await self.inner.unmute(muter_id, muted_id)
        if removed:
            await self._changed({"hidden": (muter_id,)})
        return removed

    async def hidden_author_ids(self, viewer_id: int) -> set[int]:
        """``Store.hidden_author_ids``, at most one reader TTL old (a new set per call:
        the kept one is shared)."""
        return set(await self._hidden.kept(viewer_id, self._load_hidden))

    async def _load_hidden(self, viewer_id: int) -> frozenset[int]:
        found = await self.inner.hidden_author_ids(viewer_id)
        return frozenset(found) if found else _NO_ONE

    # --- media -----------------------------------------------------------------------
    async def media_of_tweets(self, tweet_ids: Iterable[int]) -> dict[int, list[Media]]:
        """``Store.media_of_tweets``, kept until evicted (attachments never change); one
        store query for the tweets not kept."""
        kept = await self._media.kept_many(tweet_ids, self._load_media, absent=_NO_MEDIA)
        return {tweet_id: list(media) for tweet_id, media in kept.items()}

    async def _load_media(self, tweet_ids: list[int]) -> dict[int, tuple[Media, ...]]:
        loaded = await self.inner.media_of_tweets(tweet_ids)
        return {tweet_id: tuple(media) for tweet_id, media in loaded.items()}


def _present(keys: Mapping[Kind, Iterable[int | None]]) -> dict[str, list[int]]:
    """``keys`` without the Nones (absent references: no reply parent, no original)."""
    return {kind: [i for i in ids if i is not None] for kind, ids in keys.items()}
