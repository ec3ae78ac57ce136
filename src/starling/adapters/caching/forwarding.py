"""``ForwardingStore``: a ``Store`` that hands every call to another ``Store``.

The base of :class:`~starling.adapters.caching.store.CachingStore`, which overrides only
the reads it caches and the writes that invalidate them; everything else stays here,
one line each, so that the caching module reads as what it changes.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

from starling.domain.accounts import DeletedAccount, TokenState
from starling.domain.engagement import Counts, ViewerFlags
from starling.domain.events import Event
from starling.domain.media import Media
from starling.domain.model import Credentials, NewUser, Tweet, User
from starling.domain.notifications import Notification
from starling.domain.oauth import AuthorizationCode, OAuthApp
from starling.ports import DeadLetter, OutboxRecord, Store


class ForwardingStore:
    """Forwards every :class:`~starling.ports.Store` method to ``inner``."""

    def __init__(self, inner: Store) -> None:
        self.inner = inner
        """The wrapped store: writing to it directly bypasses whatever a subclass adds
        (as another process's write would)."""

    # --- lifecycle and users ----------------------------------------------------------
    async def close(self) -> None:
        await self.inner.close()

    async def ping(self) -> None:
        await self.inner.ping()

    async def get_meta(self, key: str) -> str | None:
        return await self.inner.get_meta(key)

    async def set_meta_if_absent(self, key: str, value: str) -> str:
        return await self.inner.set_meta_if_absent(key, value)

    async def create_user(self, user: NewUser) -> User:
        return await self.inner.create_user(user)

    async def get_user(self, user_id: int) -> User | None:
        return await self.inner.get_user(user_id)

    async def get_user_by_username(self, username: str) -> User | None:
        return await self.inner.get_user_by_username(username)

    async def get_users(self, user_ids: Iterable[int]) -> dict[int, User]:
        return await self.inner.get_users(user_ids)

    async def get_credentials(self, username: str) -> Credentials | None:
        return await self.inner.get_credentials(username)

    async def update_profile(
        self, user_id: int, *, display_name: str | None, bio: str | None
    ) -> User | None:
        return await self.inner.update_profile(user_id, display_name=display_name, bio=bio)

    # --- tweets -----------------------------------------------------------------------
    async def insert_tweet(
        self, tweet: Tweet, events: Sequence[Event], *, media_ids: Sequence[int] = ()
    ) -> bool:
        return await self.inner.insert_tweet(tweet, events, media_ids=media_ids)

    async def delete_tweet(
        self,
        tweet_id: int,
        events: Sequence[Event],
        *,
        retweet_deleted: Callable[[int, int], Event] | None = None,
    ) -> bool:
        return await self.inner.delete_tweet(tweet_id, events, retweet_deleted=retweet_deleted)

    async def get_tweet(self, tweet_id: int) -> Tweet | None:
        return await self.inner.get_tweet(tweet_id)

    async def get_tweets(self, tweet_ids: Iterable[int]) -> dict[int, Tweet]:
        return await self.inner.get_tweets(tweet_ids)

    async def tweet_ids_by_authors(
        self, author_ids: Sequence[int], *, max_id: int | None, limit: int
    ) -> list[int]:
        return await self.inner.tweet_ids_by_authors(author_ids, max_id=max_id, limit=limit)

    async def newest_tweet_ids(self, *, max_id: int | None, limit: int) -> list[int]:
        return await self.inner.newest_tweet_ids(max_id=max_id, limit=limit)

    # --- follow graph -----------------------------------------------------------------
    async def follow(self, follower_id: int, followee_id: int, events: Sequence[Event]) -> bool:
        return await self.inner.follow(follower_id, followee_id, events)

    async def unfollow(self, follower_id: int, followee_id: int, events: Sequence[Event]) -> bool:
        return await self.inner.unfollow(follower_id, followee_id, events)

    async def is_following(self, follower_id: int, followee_id: int) -> bool:
        return await self.inner.is_following(follower_id, followee_id)

    async def followee_ids(self, user_id: int) -> list[int]:
        return await self.inner.followee_ids(user_id)

    async def celebrity_followee_ids(self, user_id: int, threshold: int) -> list[int]:
        return await self.inner.celebrity_followee_ids(user_id, threshold)

    async def follower_ids_after(self, user_id: int, *, after_id: int, limit: int) -> list[int]:
        return await self.inner.follower_ids_after(user_id, after_id=after_id, limit=limit)

    async def followers_page(self, user_id: int, *, max_id: int | None, limit: int) -> list[int]:
        return await self.inner.followers_page(user_id, max_id=max_id, limit=limit)

    async def following_page(self, user_id: int, *, max_id: int | None, limit: int) -> list[int]:
        return await self.inner.following_page(user_id, max_id=max_id, limit=limit)

    # --- engagement -------------------------------------------------------------------
    async def like(self, user_id: int, tweet_id: int, events: Sequence[Event]) -> bool:
        return await self.inner.like(user_id, tweet_id, events)

    async def unlike(self, user_id: int, tweet_id: int, events: Sequence[Event]) -> bool:
        return await self.inner.unlike(user_id, tweet_id, events)

    async def tweet_counts(self, tweet_ids: Iterable[int]) -> dict[int, Counts]:
        return await self.inner.tweet_counts(tweet_ids)

    async def viewer_flags(
        self, viewer_id: int, tweet_ids: Iterable[int]
    ) -> dict[int, ViewerFlags]:
        return await self.inner.viewer_flags(viewer_id, tweet_ids)

    async def likes_page(
        self, user_id: int, *, before: tuple[int, int] | None, limit: int
    ) -> list[tuple[int, int]]:
        return await self.inner.likes_page(user_id, before=before, limit=limit)

    async def liker_ids(self, tweet_id: int, *, max_id: int | None, limit: int) -> list[int]:
        return await self.inner.liker_ids(tweet_id, max_id=max_id, limit=limit)

    async def bookmark(
        self, user_id: int, tweet_id: int, bookmark_id: int, created_at_ms: int
    ) -> bool:
        return await self.inner.bookmark(user_id, tweet_id, bookmark_id, created_at_ms)

    async def unbookmark(self, user_id: int, tweet_id: int) -> bool:
        return await self.inner.unbookmark(user_id, tweet_id)

    async def bookmarks_page(
        self, user_id: int, *, max_id: int | None, limit: int
    ) -> list[tuple[int, int]]:
        return await self.inner.bookmarks_page(user_id, max_id=max_id, limit=limit)

    # --- blocks, mutes and notifications ----------------------------------------------
    async def block(self, blocker_id: int, blocked_id: int, events: Sequence[Event]) -> bool:
        return await self.inner.block(blocker_id, blocked_id, events)

    async def unblock(self, blocker_id: int, blocked_id: int) -> bool:
        return await self.inner.unblock(blocker_id, blocked_id)

    async def mute(self, muter_id: int, muted_id: int, created_at_ms: int) -> bool:
        return await self.inner.mute(muter_id, muted_id, created_at_ms)

    async def unmute(self, muter_id: int, muted_id: int) -> bool:
        return await self.inner.unmute(muter_id, muted_id)

    async def hidden_author_ids(self, viewer_id: int) -> set[int]:
        return await self.inner.hidden_author_ids(viewer_id)

    async def is_blocking(self, blocker_id: int, blocked_id: int) -> bool:
        return await self.inner.is_blocking(blocker_id, blocked_id)

    async def is_blocked(self, a: int, b: int) -> bool:
        return await self.inner.is_blocked(a, b)

    async def is_muting(self, muter_id: int, muted_id: int) -> bool:
        return await self.inner.is_muting(muter_id, muted_id)

    async def add_notifications(self, rows: Sequence[Notification]) -> int:
        return await self.inner.add_notifications(rows)

    async def notifications_page(
        self, user_id: int, *, max_id: int | None, limit: int
    ) -> list[Notification]:
        return await self.inner.notifications_page(user_id, max_id=max_id, limit=limit)

    async def unread_count(self, user_id: int) -> int:
        return await self.inner.unread_count(user_id)

    async def read_mark(self, user_id: int) -> int:
        return await self.inner.read_mark(user_id)

    async def mark_notifications_read(self, user_id: int, max_id: int) -> None:
        await self.inner.mark_notifications_read(user_id, max_id)

    async def newest_notification_id(self, user_id: int) -> int | None:
        return await self.inner.newest_notification_id(user_id)

    async def delete_notifications_for_tweet(self, tweet_id: int) -> int:
        return await self.inner.delete_notifications_for_tweet(tweet_id)

    async def dismiss_notification(self, user_id: int, notification_id: int) -> bool:
        return await self.inner.dismiss_notification(user_id, notification_id)

    async def clear_notifications(self, user_id: int) -> int:
        return await self.inner.clear_notifications(user_id)

    # --- conversations ----------------------------------------------------------------
    async def retweet_id_of(self, user_id: int, tweet_id: int) -> int | None:
        return await self.inner.retweet_id_of(user_id, tweet_id)

    async def reply_ids(self, tweet_id: int, *, max_id: int | None, limit: int) -> list[int]:
        return await self.inner.reply_ids(tweet_id, max_id=max_id, limit=limit)

    async def retweets_page(
        self, tweet_id: int, *, max_id: int | None, limit: int
    ) -> list[tuple[int, int]]:
        return await self.inner.retweets_page(tweet_id, max_id=max_id, limit=limit)

    async def ancestor_ids(self, tweet_id: int) -> list[int]:
        return await self.inner.ancestor_ids(tweet_id)

    # --- media ------------------------------------------------------------------------
    async def add_media(self, media: Media) -> None:
        await self.inner.add_media(media)

    async def get_media(self, media_ids: Iterable[int]) -> dict[int, Media]:
        return await self.inner.get_media(media_ids)

    async def media_of_tweets(self, tweet_ids: Iterable[int]) -> dict[int, list[Media]]:
        return await self.inner.media_of_tweets(tweet_ids)

    # --- outbox -----------------------------------------------------------------------
    async def outbox_after(self, position: int, limit: int) -> Sequence[OutboxRecord]:
        return await self.inner.outbox_after(position, limit)

    async def outbox_head(self) -> int:
        return await self.inner.outbox_head()

    async def consumer_position(self, group: str) -> int:
        return await self.inner.consumer_position(group)

    async def set_consumer_position(self, group: str, position: int) -> None:
        await self.inner.set_consumer_position(group, position)

    async def add_dead_letter(
        self, group: str, position: int, payload: bytes, error: str, attempts: int
    ) -> None:
        await self.inner.add_dead_letter(group, position, payload, error, attempts)

    async def dead_letters(self, group: str | None = None) -> Sequence[DeadLetter]:
        return await self.inner.dead_letters(group)

    async def remove_dead_letter(self, dead_letter_id: int) -> None:
        await self.inner.remove_dead_letter(dead_letter_id)

    # --- accounts ---------------------------------------------------------------------
    async def get_credentials_by_email(self, email: str) -> Credentials | None:
        return await self.inner.get_credentials_by_email(email)

    async def get_credentials_by_id(self, user_id: int) -> Credentials | None:
        return await self.inner.get_credentials_by_id(user_id)

    async def token_state(self, user_id: int, now_ms: int) -> TokenState | None:
        return await self.inner.token_state(user_id, now_ms)

    async def revoke_token(self, user_id: int, jti: int, expires_at_ms: int, now_ms: int) -> bool:
        return await self.inner.revoke_token(user_id, jti, expires_at_ms, now_ms)

    async def set_password(
        self, user_id: int, password_hash: str, *, revoked_below: int, kept_jti: int | None
    ) -> bool:
        return await self.inner.set_password(
            user_id, password_hash, revoked_below=revoked_below, kept_jti=kept_jti
        )

    async def delete_user(
        self, user_id: int, events_for: Callable[[DeletedAccount], Sequence[Event]]
    ) -> DeletedAccount | None:
        return await self.inner.delete_user(user_id, events_for)

    async def bookmarked_ids(self, user_id: int, tweet_ids: Iterable[int]) -> set[int]:
        return await self.inner.bookmarked_ids(user_id, tweet_ids)

    # --- OAuth (the Mastodon-compatible API) ------------------------------------------
    async def add_oauth_app(self, app: OAuthApp) -> None:
        await self.inner.add_oauth_app(app)

    async def get_oauth_app(self, client_id: str) -> OAuthApp | None:
        return await self.inner.get_oauth_app(client_id)

    async def add_oauth_code(self, code: AuthorizationCode, now_ms: int) -> None:
        await self.inner.add_oauth_code(code, now_ms)

    async def take_oauth_code(self, code_digest: str) -> AuthorizationCode | None:
        return await self.inner.take_oauth_code(code_digest)

    # --- idempotency keys (the Mastodon-compatible API) -------------------------------
    async def idempotent_status(
        self, user_id: int, key_digest: str, *, since_ms: int
    ) -> int | None:
        return await self.inner.idempotent_status(user_id, key_digest, since_ms=since_ms)

    async def remember_idempotent_status(
        self, user_id: int, key_digest: str, status_id: int, *, now_ms: int, expired_before_ms: int
    ) -> int:
        return await self.inner.remember_idempotent_status(
            user_id, key_digest, status_id, now_ms=now_ms, expired_before_ms=expired_before_ms
        )
