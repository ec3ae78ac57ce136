"""Posting, reading and deleting tweets. A tweet and its event commit together."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import msgspec

from starling.domain import ids as snowflake
from starling.domain.errors import Forbidden, TweetNotFound, UserNotFound
from starling.domain.events import TweetDeleted, TweetPosted
from starling.domain.ids import SnowflakeGenerator
from starling.domain.media import Media
from starling.domain.model import Tweet, User
from starling.domain.text import normalize_tweet_text
from starling.ports import (
    Clock,
    ConversationStore,
    EventLog,
    MediaRows,
    ModerationReads,
    TweetStore,
    UserReads,
)
from starling.services.media import attachable_media


class Posted(msgspec.Struct, frozen=True):
    """A tweet just stored, with what showing it needs: its author and attached media."""

    tweet: Tweet
    author: User
    media: tuple[Media, ...]


class _TweetRows(TweetStore, UserReads, ModerationReads, ConversationStore, MediaRows, Protocol):
    """Tweets and what posting one checks: the author, blocks, an existing retweet and the
    media to attach."""


class TweetService:
    """Create, read and delete tweets; fan-out happens downstream of the outbox."""

    def __init__(
        self,
        *,
        store: _TweetRows,
        event_log: EventLog,
        ids: SnowflakeGenerator,
        clock: Clock,
    ) -> None:
        self._store = store
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
    ) -> Posted:
        """Store a tweet and its ``TweetPosted`` event in one transaction.

        Raises ``TextEmpty`` / ``TextTooLong`` (1..280 code points after NFC),
        ``UserNotFound`` for an unknown author, ``TweetNotFound`` for an unknown
        replied-to or quoted tweet, ``Forbidden`` (code ``blocked``) for a reply to or a
        quote of a tweet whose author blocks the poster (replying to or quoting a retweet
        refers to its original: what the reader saw); for ``media_ids`` (attached in
        order), ``TooManyMedia`` (over 4), ``MediaNotFound``, ``MediaNotOwned``.
        """
        body = normalize_tweet_text(text)
        author = await self._store.get_user(author_id)
        if author is None:
            raise UserNotFound()
        refs: list[int | None] = []
        for ref, verb in ((reply_to_tweet_id, "reply to"), (quote_tweet_id, "quote")):
            if ref is None:
                refs.append(None)
                continue
            target = await self._original(ref)
            if await self._store.is_blocking(target.author_id, author_id):
                raise Forbidden(f"You cannot {verb} this user's tweets.", code="blocked")
            refs.append(target.id)
        reply_to_tweet_id, quote_tweet_id = refs
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
        await self._store.insert_tweet(tweet, [event], media_ids=[m.id for m in attached])
        self._event_log.notify()
        return Posted(tweet, author, tuple(attached))

    async def _original(self, tweet_id: int) -> Tweet:
        """The tweet, or the original if it is a retweet. Raises ``TweetNotFound``."""
        tweet = await self.get(tweet_id=tweet_id)
        if tweet.retweet_of_id is not None:
            tweet = await self.get(tweet_id=tweet.retweet_of_id)
        return tweet

    # --- retweets ----------------------------------------------------------------------
    async def retweet(self, *, user_id: int, tweet_id: int) -> Tweet:
        """Retweet ``tweet_id`` (a retweet of a retweet retweets the original, as on
        Twitter). Idempotent: a second call returns the existing retweet. The retweet is
        a tweet row of ``user_id`` that fans out like a tweet (``TweetPosted``).

        Raises ``TweetNotFound`` for an unknown or deleted tweet, and also when its author
        blocks ``user_id`` (to them it does not exist); ``Forbidden`` (code ``blocked``)
        when ``user_id`` blocks the author.
        """
        original = await self._original(tweet_id)
        if await self._store.is_blocking(original.author_id, user_id):
            raise TweetNotFound()
        if await self._store.is_blocking(user_id, original.author_id):
            raise Forbidden("You block this user; unblock them to retweet.", code="blocked")
        existing = await self._store.retweet_id_of(user_id, original.id)
        if existing is not None and (found := await self._store.get_tweet(existing)) is not None:
            return found
        retweet_id = self._ids.next_id()
        retweet = Tweet(
            id=retweet_id,
            author_id=user_id,
            text="",
            created_at_ms=snowflake.timestamp_ms(retweet_id),
            retweet_of_id=original.id,
        )
        event = TweetPosted(
            event_id=self._ids.next_id(),
            occurred_at_ms=retweet.created_at_ms,
            tweet_id=retweet_id,
            author_id=user_id,
        )
        if await self._store.insert_tweet(retweet, [event]):
            self._event_log.notify()
            return retweet
        # A concurrent identical retweet won the unique index: answer with it.
        winner = await self._store.retweet_id_of(user_id, original.id)
        if winner is None or (found := await self._store.get_tweet(winner)) is None:
            raise TweetNotFound()
        return found

    async def unretweet(self, *, user_id: int, tweet_id: int) -> None:
        """Undo ``user_id``'s retweet of ``tweet_id`` (or of its original, when
        ``tweet_id`` is a retweet); its ``TweetDeleted`` event takes it out of followers'
        timelines. Idempotent: a no-op when there is no retweet. Raises ``TweetNotFound``
        only when there is neither a retweet nor such a tweet."""
        tweet = await self._store.get_tweet(tweet_id)
        if tweet is None:
            raise TweetNotFound()
        original_id = tweet.retweet_of_id if tweet.retweet_of_id is not None else tweet.id
        retweet_id = await self._store.retweet_id_of(user_id, original_id)
        if retweet_id is not None:
            await self._delete(retweet_id, author_id=user_id)

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
        await self._delete(tweet_id, author_id=tweet.author_id)

    def _deleted_event(self, tweet_id: int, author_id: int) -> TweetDeleted:
        return TweetDeleted(
            event_id=self._ids.next_id(),
            occurred_at_ms=self._clock.now_ms(),
            tweet_id=tweet_id,
            author_id=author_id,
        )

    async def _delete(self, tweet_id: int, *, author_id: int) -> None:
        """Delete a tweet and, with it, every retweet of it: one ``TweetDeleted`` each, so
        fan-out takes them all out of timelines and the notifier drops their
        notifications."""
        event = self._deleted_event(tweet_id, author_id)
        if await self._store.delete_tweet(tweet_id, [event], retweet_deleted=self._deleted_event):
            self._event_log.notify()
