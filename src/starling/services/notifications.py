"""The notification inbox: produced from events by a worker, read and marked read.

Idempotence (docs/decisions/0003): a notification's id is the ``event_id`` of the event that
caused it, and the store's key is ``(user_id, id)``. One event notifies each recipient at
most once (a reply to a user who is also @mentioned is one "reply"), so a re-delivered
event inserts rows that are all there already: nothing changes. Ids stay time-ordered
(events are snowflakes), which newest-first paging and the read mark rely on.
"""

from __future__ import annotations

from typing import Protocol

from starling.domain import ids as snowflake
from starling.domain.events import AnyEvent, Followed, Liked, TweetDeleted, TweetPosted
from starling.domain.ids import SnowflakeGenerator
from starling.domain.notifications import Notification, NotificationType
from starling.domain.text import mentions
from starling.ports import Clock, ModerationReads, NotificationStore, TweetReads, UserReads
from starling.services.live import LivePublisher
from starling.services.read_pipeline import NotificationPage, ReadPipeline


class _NotificationRows(NotificationStore, TweetReads, UserReads, ModerationReads, Protocol):
    """The inbox, and the tweets, mentioned users and blocks a notification is made from."""


class NotificationService:
    """Turns events into notifications (mention, reply, like, retweet, follow) and serves
    a user's inbox.

    Events handled: ``TweetPosted`` (mentions of existing users, a reply to the parent
    tweet's author, a retweet to the original's author), ``Followed`` (the followee),
    ``Liked`` (the tweet's author), ``TweetDeleted`` (the tweet's notifications are
    deleted).
    Nobody is notified of their own action, nor of one by a user they block.
    """

    def __init__(
        self,
        *,
        store: _NotificationRows,
        ids: SnowflakeGenerator,
        clock: Clock,
        reads: ReadPipeline,
        live: LivePublisher | None = None,
    ) -> None:
        self._store = store
        self._reads = reads
        self._live = live
        self._ids = ids
        self._clock = clock

    async def handle(self, event: AnyEvent) -> None:
        """Apply one event (the notifications consumer group's handler)."""
        if isinstance(event, TweetPosted):
            await self._tweet_posted(event)
        elif isinstance(event, Followed):
            await self._notify(
                event, [(event.followee_id, "follow")], actor_id=event.follower_id, tweet_id=None
            )
        elif isinstance(event, TweetDeleted):
            await self._store.delete_notifications_for_tweet(event.tweet_id)
        elif isinstance(event, Liked):
            await self._notify(
                event, [(event.author_id, "like")], actor_id=event.user_id, tweet_id=event.tweet_id
            )

    async def _tweet_posted(self, event: TweetPosted) -> None:
        tweet = await self._store.get_tweet(event.tweet_id)
        if tweet is None:
            return  # deleted before we got here: its notifications would be deleted too
        recipients: list[tuple[int, NotificationType]] = []
        if tweet.retweet_of_id is not None:
            # About the retweet (not the original), so undoing it deletes the notification.
            original = await self._store.get_tweet(tweet.retweet_of_id)
            if original is not None:
                recipients.append((original.author_id, "retweet"))
        if tweet.reply_to_tweet_id is not None:
            parent = await self._store.get_tweet(tweet.reply_to_tweet_id)
            if parent is not None:
                recipients.append((parent.author_id, "reply"))
        for username in mentions(tweet.text):
            user = await self._store.get_user_by_username(username)
            if user is not None:
                recipients.append((user.id, "mention"))
        await self._notify(event, recipients, actor_id=tweet.author_id, tweet_id=tweet.id)

    async def _notify(
        self,
        event: AnyEvent,
        recipients: list[tuple[int, NotificationType]],
        *,
        actor_id: int,
        tweet_id: int | None,
    ) -> None:
        """Store one notification per distinct recipient (the first type listed wins),
        skipping the actor and recipients who block the actor."""
        rows: list[Notification] = []
        seen: set[int] = {actor_id}
        for user_id, kind in recipients:
            if user_id in seen:
                continue
            seen.add(user_id)
            if await self._store.is_blocking(user_id, actor_id):
                continue
            rows.append(
                Notification(
                    id=event.event_id,
                    user_id=user_id,
                    type=kind,
                    actor_id=actor_id,
                    tweet_id=tweet_id,
                    created_at_ms=snowflake.timestamp_ms(event.event_id),
                )
            )
        # Published only when new: a re-delivered event stores nothing and tells nobody.
        if rows and await self._store.add_notifications(rows) and self._live is not None:
            await self._live.notifications(rows)

    # --- reads -------------------------------------------------------------------------
    async def inbox(self, *, user_id: int, max_id: int | None, limit: int) -> NotificationPage:
        """``user_id``'s notifications below ``max_id``, newest first, at most ``limit``,
        with their actors, tweets and engagement, the unread count and the next cursor,
        as :meth:`ReadPipeline.notifications` assembles them (what the stream sends too):
        notifications by users hidden from the reader (blocked either way, muted) are
        left out."""
        return await self._reads.notifications(viewer_id=user_id, max_id=max_id, limit=limit)

    async def unread_count(self, *, user_id: int) -> int:
        """How many of ``user_id``'s notifications are above their read mark (the web
        navigation's badge)."""
        return await self._store.unread_count(user_id)

    async def mark_read(self, *, user_id: int, max_id: int | None) -> int:
        """Mark every notification with id <= ``max_id`` read (all of them when None);
        the mark never moves back. Returns the unread count after."""
        if max_id is None:
            max_id = await self._store.newest_notification_id(user_id)
        if max_id is not None:
            await self._store.mark_notifications_read(user_id, max_id)
        return await self._store.unread_count(user_id)

    async def dismiss(self, *, user_id: int, notification_id: int) -> bool:
        """Delete one of ``user_id``'s notifications (Mastodon's dismiss); False when they
        have none by that id. A re-delivery of the event behind it (at least once, after
        a crash) may bring it back: dismissing is not a tombstone."""
        return await self._store.dismiss_notification(user_id, notification_id)

    async def clear(self, *, user_id: int) -> int:
        """Delete every notification of ``user_id`` (Mastodon's clear); returns how many."""
        return await self._store.clear_notifications(user_id)
