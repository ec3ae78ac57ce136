"""Posting, reading and deleting tweets. A tweet and its event commit together."""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from starling.domain import ids as snowflake
from starling.domain.errors import Forbidden, TweetNotFound, UserNotFound
from starling.domain.events import TweetDeleted, TweetPosted
from starling.domain.ids import SnowflakeGenerator
from starling.domain.model import Tweet
from starling.domain.text import normalize_tweet_text
from starling.ports import BackendUnavailable, Clock, EventLog, Store, TweetCache
from starling.services.media import attachable_media


class TweetService:
    """Create, read and delete tweets; fan-out happens downstream of the outbox."""

    def __init__(
        self,
        *,
        store: Store,
        event_log: EventLog,
        tweet_cache: TweetCache,
        ids: SnowflakeGenerator,
        clock: Clock,
    ) -> None:
        self._store = store
        self._tweet_cache = tweet_cache
        self._event_log = event_log
        self._ids = ids
        self._clock = clock

    async def post(
        self,
        *,
        author_id: int,
        text: str,
        reply_to_tweet_id: int | None = None,
        quote_tweet_id: int | None = None,
        media_ids: Sequence[int] = (),
    ) -> Tweet:
        """Store a tweet and its ``TweetPosted`` event in one transaction.

        Raises ``TextEmpty`` / ``TextTooLong`` (1..280 code points after NFC),
        ``UserNotFound`` for an unknown author, ``TweetNotFound`` for an unknown
        replied-to or quoted tweet, ``Forbidden`` (code ``blocked``) for a reply to a
        tweet whose author blocks the poster; for ``media_ids`` (attached in order),
        ``TooManyMedia`` (over 4), ``MediaNotFound``, ``MediaNotOwned``.
        """
        body = normalize_tweet_text(text)
        if await self._store.get_user(author_id) is None:
            raise UserNotFound()
        for ref in (reply_to_tweet_id, quote_tweet_id):
            if ref is not None and await self._store.get_tweet(ref) is None:
                raise TweetNotFound()
        if reply_to_tweet_id is not None:
            parent = await self._store.get_tweet(reply_to_tweet_id)
            if parent is not None and await self._store.is_blocking(parent.author_id, author_id):
                raise Forbidden("You cannot reply to this user.", code="blocked")
        tweet_id = self._ids.next_id()
        tweet = Tweet(
            id=tweet_id,
            author_id=author_id,
            text=body,
            created_at_ms=snowflake.timestamp_ms(tweet_id),
            reply_to_tweet_id=reply_to_tweet_id,
            quote_tweet_id=quote_tweet_id,
        )
        event = TweetPosted(
            event_id=self._ids.next_id(),
            occurred_at_ms=tweet.created_at_ms,
            tweet_id=tweet_id,
            author_id=author_id,
        )
        attached = await attachable_media(self._store, owner_id=author_id, media_ids=media_ids)
        await self._store.insert_tweet(tweet, [event], media_ids=attached)
        self._event_log.notify()
        return tweet

    async def get(self, *, tweet_id: int) -> Tweet:
        """Raises ``TweetNotFound`` (also for deleted tweets)."""
        tweet = await self._store.get_tweet(tweet_id)
        if tweet is None:
            raise TweetNotFound()
        return tweet

    async def delete(self, *, tweet_id: int, requester_id: int) -> None:
        """Delete a tweet; its ``TweetDeleted`` event removes it from timelines.

        Raises ``TweetNotFound``, or ``Forbidden`` when ``requester_id`` is not the author.
        """
        tweet = await self.get(tweet_id=tweet_id)
        if tweet.author_id != requester_id:
            raise Forbidden("Only the author can delete a tweet.")
        event = TweetDeleted(
            event_id=self._ids.next_id(),
            occurred_at_ms=self._clock.now_ms(),
            tweet_id=tweet_id,
            author_id=tweet.author_id,
        )
        if await self._store.delete_tweet(tweet_id, [event]):
            self._event_log.notify()
            with contextlib.suppress(BackendUnavailable):
                # Readers filter ids the store no longer has; a cached copy would hide that.
                await self._tweet_cache.invalidate([tweet_id])
