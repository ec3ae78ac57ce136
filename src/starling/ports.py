"""Ports: one ``typing.Protocol`` per external capability. Adapters implement them.

Every method is async so that one service layer drives both the embedded adapters
(SQLite, memory) and the scale-out ones (PostgreSQL, Redis, NATS JetStream).
Ids are snowflake ints; times are Unix milliseconds.

The database is one port, :class:`Store`, made of narrow protocols, one per group of
tables (users, tweets, follows, engagement, bookmarks, moderation, notifications,
conversations, media rows, accounts, the outbox, the meta table); most come as a
``*Reads`` protocol and a ``*Store`` that adds the writes. Adapters implement the whole
``Store``; each service and event log is typed with the narrow protocols it uses, so
mypy proves, for instance, that a read service never writes.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Protocol

from starling.domain.accounts import DeletedAccount, TokenState
from starling.domain.engagement import Counts, ViewerFlags
from starling.domain.events import AnyEvent, Event
from starling.domain.media import Media
from starling.domain.model import Credentials, NewUser, Tweet, User
from starling.domain.notifications import Notification
from starling.domain.oauth import AuthorizationCode, OAuthApp
from starling.domain.trends import TagCount


class BackendUnavailable(Exception):
    """An adapter could not reach its backend (connection refused, timed out). Services
    catch it where a degraded answer is better than none (e.g. pull from the store when
    the timeline cache is down)."""


class Clock(Protocol):
    """Wall-clock time in Unix milliseconds; tests inject a settable one."""

    def now_ms(self) -> int: ...


class OutboxRecord(Protocol):
    """One committed outbox row: ``position`` grows with commit order within a store."""

    @property
    def position(self) -> int: ...

    @property
    def payload(self) -> bytes: ...


class MetaStore(Protocol):
    """The ``meta`` key-value table: deployment-wide values every process shares (the
    token signing secret, the benchmark's dataset marker)."""

    async def get_meta(self, key: str) -> str | None:
        """A value of the ``meta`` key-value table (e.g. the token signing secret)."""

    async def set_meta_if_absent(self, key: str, value: str) -> str:
        """Store ``value`` under ``key`` unless one is there; return the stored value."""


class UserReads(Protocol):
    """User rows by id or username: what reads, hydration and the feed rules look up."""

    async def get_user(self, user_id: int) -> User | None: ...

    async def get_user_by_username(self, username: str) -> User | None:
        """Case-insensitive lookup."""

    async def get_users(self, user_ids: Iterable[int]) -> dict[int, User]:
        """Batch lookup in one query; missing ids are absent from the answer."""


class UserStore(UserReads, Protocol):
    """User rows: sign-up and profile changes, and the reads of :class:`UserReads`."""

    async def create_user(self, user: NewUser) -> User:
        """Insert a user. Raises ``UsernameTaken`` (case-insensitive uniqueness)."""

    async def update_profile(
        self, user_id: int, *, display_name: str | None, bio: str | None
    ) -> User | None:
        """Change the given fields; None leaves a field as it is. None if no such user."""


class TweetReads(Protocol):
    """Tweet rows by id, and the newest ids of a set of authors (the pull half of the home
    timeline and its rebuild)."""

    async def get_tweet(self, tweet_id: int) -> Tweet | None: ...

    async def get_tweets(self, tweet_ids: Iterable[int]) -> dict[int, Tweet]:
        """Batch lookup in one query; deleted or missing ids are absent."""

    async def tweet_ids_by_authors(
        self, author_ids: Sequence[int], *, max_id: int | None, limit: int
    ) -> list[int]:
        """Ids of tweets by any of ``author_ids`` below ``max_id``, newest first, at most
        ``limit``. The pull half of the home timeline and the rebuild query."""

    async def newest_tweet_ids(self, *, max_id: int | None, limit: int) -> list[int]:
        """Ids of every author's tweets and replies (not retweets) below ``max_id``,
        newest first, at most ``limit``: the public timeline (a backward walk of the
        primary key)."""


class TweetStore(TweetReads, Protocol):
    """Posting and deleting tweets (retweets and replies are tweets too), each with its
    counters and events in one transaction, and the reads of :class:`TweetReads`."""

    async def insert_tweet(
        self, tweet: Tweet, events: Sequence[Event], *, media_ids: Sequence[int] = ()
    ) -> bool:
        """Insert a tweet, bump the author's ``tweets_count``, the replied-to tweet's reply
        count and the retweeted tweet's retweet count, attach ``media_ids`` (in that
        order; the caller checked they exist and are the author's) and write ``events``,
        in one transaction. Returns False (nothing written) for a retweet the author
        already has. Raises ``TweetNotFound`` if a referenced tweet (retweeted, replied
        to, quoted) does not exist at commit."""

    async def delete_tweet(
        self,
        tweet_id: int,
        events: Sequence[Event],
        *,
        retweet_deleted: Callable[[int, int], Event] | None = None,
    ) -> bool:
        """Delete a tweet with its likes, bookmarks and counters, lower the counts it
        added to (author's tweets, parent's replies, original's retweets), delete every
        retweet of it, and write ``events`` plus ``retweet_deleted(retweet_id,
        retweeter_id)`` for each retweet deleted, in one transaction. False (and nothing
        written) if absent."""


class FollowReads(Protocol):
    """The follow graph as the feed reads it: who follows whom, the celebrities a reader
    pulls, followers in chunks for fan-out."""

    async def is_following(self, follower_id: int, followee_id: int) -> bool: ...

    async def followee_ids(self, user_id: int) -> list[int]:
        """Everyone ``user_id`` follows (unordered)."""

    async def celebrity_followee_ids(self, user_id: int, threshold: int) -> list[int]:
        """Followees of ``user_id`` with at least ``threshold`` followers: the pull set."""

    async def follower_ids_after(self, user_id: int, *, after_id: int, limit: int) -> list[int]:
        """Followers of ``user_id`` with id > ``after_id``, ascending, at most ``limit``:
        keyset pagination for fan-out in chunks."""

    async def followers_page(self, user_id: int, *, max_id: int | None, limit: int) -> list[int]:
        """Follower ids below ``max_id``, descending, at most ``limit``."""

    async def following_page(self, user_id: int, *, max_id: int | None, limit: int) -> list[int]:
        """Followee ids below ``max_id``, descending, at most ``limit``."""


class FollowStore(FollowReads, Protocol):
    """Following and unfollowing (each edge with both users' counts and its events in one
    transaction), and the reads of :class:`FollowReads`."""

    async def follow(self, follower_id: int, followee_id: int, events: Sequence[Event]) -> bool:
        """Create the edge and bump both counts; False (nothing written) if it exists."""

    async def unfollow(self, follower_id: int, followee_id: int, events: Sequence[Event]) -> bool:
        """Remove the edge and lower both counts; False (nothing written) if absent."""


class EngagementReads(Protocol):
    """Engagement counts and per-viewer flags of a page of tweets, one query each."""

    async def tweet_counts(self, tweet_ids: Iterable[int]) -> dict[int, Counts]:
        """Engagement counts of ``tweet_ids`` in one query; tweets nobody engaged with
        are absent (read them as zero counts)."""

    async def viewer_flags(
        self, viewer_id: int, tweet_ids: Iterable[int]
    ) -> dict[int, ViewerFlags]:
        """What ``viewer_id`` did to each of ``tweet_ids`` (liked, retweeted), in one
        query; tweets the viewer did nothing to are absent."""

    async def likes_page(
        self, user_id: int, *, before: tuple[int, int] | None, limit: int
    ) -> list[tuple[int, int]]:
        """``(liked_at_ms, tweet_id)`` of ``user_id``'s likes, most recent like first
        (ties: higher tweet id first), strictly after ``before`` in that order (None:
        from the newest), at most ``limit``."""

    async def liker_ids(self, tweet_id: int, *, max_id: int | None, limit: int) -> list[int]:
        """Ids of the users who like ``tweet_id`` below ``max_id``, highest first, at
        most ``limit``."""


class EngagementStore(EngagementReads, Protocol):
    """Likes, and the counts and flags of :class:`EngagementReads`.

    Likes and unlikes are idempotent and keep the tweet's like count exact in the same
    transaction.
    """

    async def like(self, user_id: int, tweet_id: int, events: Sequence[Event]) -> bool:
        """Record the like, add 1 to the tweet's like count and write ``events``, in one
        transaction. False (nothing written) if the user already likes the tweet. Does
        not check that the tweet exists (the service does)."""

    async def unlike(self, user_id: int, tweet_id: int, events: Sequence[Event]) -> bool:
        """Remove the like, subtract 1 and write ``events``; False (nothing written) if
        there was no like."""


class BookmarkStore(Protocol):
    """A user's private bookmarks, ordered by bookmark (not tweet) id."""

    async def bookmark(
        self, user_id: int, tweet_id: int, bookmark_id: int, created_at_ms: int
    ) -> bool:
        """Bookmark ``tweet_id`` under the snowflake ``bookmark_id`` (the list's order);
        False (nothing changed, the first bookmark's place kept) if already bookmarked."""

    async def unbookmark(self, user_id: int, tweet_id: int) -> bool:
        """Remove the bookmark; False if there was none."""

    async def bookmarked_ids(self, user_id: int, tweet_ids: Iterable[int]) -> set[int]:
        """Which of ``tweet_ids`` ``user_id`` has bookmarked, in one query (the
        ``bookmarked`` flag of a page of Mastodon statuses)."""

    async def bookmarks_page(
        self, user_id: int, *, max_id: int | None, limit: int
    ) -> list[tuple[int, int]]:
        """``(bookmark_id, tweet_id)`` pairs of ``user_id`` with bookmark_id below
        ``max_id``, newest bookmark first, at most ``limit``."""


class ModerationReads(Protocol):
    """Who hides whom: the blocks and mutes every read applies (the visibility rule's
    inputs) and the checks writes make before acting."""

    async def hidden_author_ids(self, viewer_id: int) -> set[int]:
        """Users whose tweets ``viewer_id`` must not see: those the viewer blocked, those
        who blocked the viewer, and those the viewer muted (one query)."""

    async def is_blocking(self, blocker_id: int, blocked_id: int) -> bool:
        """Whether ``blocker_id`` blocks ``blocked_id`` (one direction)."""

    async def is_blocked(self, a: int, b: int) -> bool:
        """Whether either of ``a`` and ``b`` blocks the other."""

    async def is_muting(self, muter_id: int, muted_id: int) -> bool: ...


class ModerationStore(ModerationReads, Protocol):
    """Blocking, unblocking, muting and unmuting, and the reads of
    :class:`ModerationReads`."""

    async def block(self, blocker_id: int, blocked_id: int, events: Sequence[Event]) -> bool:
        """Record the block and, in the same transaction, remove the follows between the
        two users both ways (adjusting both users' counts). ``Unfollowed`` events in
        ``events`` are written only for edges that were removed; other events always.
        True if the block is new (a repeated block still removes follows that raced it).
        """

    async def unblock(self, blocker_id: int, blocked_id: int) -> bool:
        """Remove the block; False if there was none. Follows are not restored."""

    async def mute(self, muter_id: int, muted_id: int, created_at_ms: int) -> bool:
        """Record the mute; False if it existed."""

    async def unmute(self, muter_id: int, muted_id: int) -> bool:
        """Remove the mute; False if there was none."""


class NotificationReads(Protocol):
    """A user's notification inbox as it is read: pages, the read mark, the unread count."""

    async def notifications_page(
        self, user_id: int, *, max_id: int | None, limit: int
    ) -> list[Notification]:
        """``user_id``'s notifications with id below ``max_id``, newest first, at most
        ``limit``; those whose actor the user blocked, is blocked by or muted are left out."""

    async def unread_count(self, user_id: int) -> int:
        """Notifications newer than the user's read mark (same exclusions as the page)."""

    async def read_mark(self, user_id: int) -> int:
        """The user's read mark: notifications with id <= it are read (0: none)."""

    async def newest_notification_id(self, user_id: int) -> int | None:
        """The largest notification id of ``user_id`` (None when the inbox is empty)."""


class NotificationStore(NotificationReads, Protocol):
    """Writing the notification inbox (the notifier's inserts, the read mark, removals
    with a deleted tweet), and the reads of :class:`NotificationReads`."""

    async def add_notifications(self, rows: Sequence[Notification]) -> int:
        """Insert notifications, ignoring any whose ``(user_id, id)`` is stored (so a
        re-delivered event adds nothing); returns how many were inserted."""

    async def mark_notifications_read(self, user_id: int, max_id: int) -> None:
        """Move the read mark up to ``max_id``; never down (a stale client cannot
        un-read notifications)."""

    async def delete_notifications_for_tweet(self, tweet_id: int) -> int:
        """Delete every notification about ``tweet_id``; returns how many."""

    async def dismiss_notification(self, user_id: int, notification_id: int) -> bool:
        """Delete ``user_id``'s notification ``notification_id``; False if it has none
        by that id."""

    async def clear_notifications(self, user_id: int) -> int:
        """Delete every notification of ``user_id``; returns how many."""


class ConversationStore(Protocol):
    """Retweet and reply lookups. Retweets and replies are ``tweets`` rows, so
    they are written by ``Store.insert_tweet`` and removed by ``Store.delete_tweet``."""

    async def retweet_id_of(self, user_id: int, tweet_id: int) -> int | None:
        """The id of ``user_id``'s retweet of ``tweet_id`` (None if they have none)."""

    async def reply_ids(self, tweet_id: int, *, max_id: int | None, limit: int) -> list[int]:
        """Ids of direct replies to ``tweet_id`` below ``max_id``, newest first, at most
        ``limit`` (one index range)."""

    async def retweets_page(
        self, tweet_id: int, *, max_id: int | None, limit: int
    ) -> list[tuple[int, int]]:
        """``(retweet_id, retweeter_id)`` of the retweets of ``tweet_id`` with retweet id
        below ``max_id``, newest first, at most ``limit``."""

    async def ancestor_ids(self, tweet_id: int) -> list[int]:
        """The chain of tweets ``tweet_id`` replies to, oldest (the root) first, in one
        recursive query; it stops at a deleted ancestor and after 100 levels."""


class MediaRows(Protocol):
    """Metadata of uploaded media and which tweets carry them. The bytes live
    in a :class:`MediaStore`; an attachment is written with its tweet
    (``Store.insert_tweet(..., media_ids=...)``)."""

    async def add_media(self, media: Media) -> None:
        """Insert the metadata row of a new upload."""

    async def get_media(self, media_ids: Iterable[int]) -> dict[int, Media]:
        """Media rows by id, in one query; unknown ids are absent."""

    async def media_of_tweets(self, tweet_ids: Iterable[int]) -> dict[int, list[Media]]:
        """The media of each of ``tweet_ids`` in attachment order, in one query (the
        hydration of a page); tweets without media are absent."""


class AccountStore(Protocol):
    """Credentials, password changes, access-token revocation and account deletion."""

    async def get_credentials(self, username: str) -> Credentials | None: ...

    async def get_credentials_by_email(self, email: str) -> Credentials | None:
        """Login by e-mail address: case-insensitive lookup (addresses are unique in
        any case)."""

    async def get_credentials_by_id(self, user_id: int) -> Credentials | None: ...

    async def token_state(self, user_id: int, now_ms: int) -> TokenState | None:
        """Which of the user's access tokens are revoked (single tokens revoked by logout
        that expire after ``now_ms``, and the password-change watermark); None when no
        such user exists, so one read also answers "does the token name a user"."""

    async def revoke_token(self, user_id: int, jti: int, expires_at_ms: int, now_ms: int) -> bool:
        """Revoke the single token ``jti`` of ``user_id`` until ``expires_at_ms`` (its own
        expiry); idempotent. Forgets the user's revocations that expired by ``now_ms``.
        True when this call revoked it, False when it was revoked already: of concurrent
        calls for one ``jti``, exactly one sees True (one-time login links rely on it)."""

    async def set_password(
        self, user_id: int, password_hash: str, *, revoked_below: int, kept_jti: int | None
    ) -> bool:
        """Store a new password hash and, in the same transaction, revoke every token of
        the user whose id is below ``revoked_below`` except ``kept_jti``. False if no
        such user."""

    async def delete_user(
        self, user_id: int, events_for: Callable[[DeletedAccount], Sequence[Event]]
    ) -> DeletedAccount | None:
        """Delete the account in one transaction: its tweets (as ``delete_tweet`` does,
        retweets of them included), its likes and bookmarks (lowering like counts), its
        follow edges both ways (adjusting the other users' counts), its blocks, mutes,
        notifications (received, and caused as the actor), upload rows, token state and
        the user row; then write ``events_for(what was removed)`` in the same
        transaction. None (nothing written) if no such user."""


class OAuthStore(Protocol):
    """Client applications and authorization codes of the Mastodon-compatible API
    (access tokens are Starling's own, revoked through :class:`AccountStore`)."""

    async def add_oauth_app(self, app: OAuthApp) -> None:
        """Insert a registered application (its ``client_id`` is unique)."""

    async def get_oauth_app(self, client_id: str) -> OAuthApp | None:
        """The application with ``client_id``; None if none."""

    async def add_oauth_code(self, code: AuthorizationCode, now_ms: int) -> None:
        """Store a granted authorization code; forgets codes expired by ``now_ms``."""

    async def take_oauth_code(self, code_digest: str) -> AuthorizationCode | None:
        """Remove and return the code stored under ``code_digest``, in one transaction:
        of two concurrent calls for one code at most one gets it (codes are single use).
        None if absent (never granted, already taken or forgotten). Expiry is the
        caller's to check."""


class IdempotencyStore(Protocol):
    """The statuses created under clients' idempotency keys (Mastodon's
    ``Idempotency-Key`` header), shared by every API process."""

    async def idempotent_status(
        self, user_id: int, key_digest: str, *, since_ms: int
    ) -> int | None:
        """The status ``user_id`` created under ``key_digest`` at or after ``since_ms``
        (None: none, or only an expired one)."""

    async def remember_idempotent_status(
        self, user_id: int, key_digest: str, status_id: int, *, now_ms: int, expired_before_ms: int
    ) -> int:
        """Keep ``key_digest`` → ``status_id`` (created at ``now_ms``) unless a live
        entry exists, deleting entries created before ``expired_before_ms``; returns the
        status id now kept (the earlier one when two requests raced)."""


class OutboxStore(Protocol):
    """The transactional outbox as the event logs read it: committed events in order, each
    consumer group's position, and the events a group gave up on (dead letters)."""

    async def outbox_after(self, position: int, limit: int) -> Sequence[OutboxRecord]:
        """Committed outbox rows with position > ``position``, ascending."""

    async def outbox_head(self) -> int:
        """Largest outbox position written so far (0 when empty)."""

    async def consumer_position(self, group: str) -> int:
        """Last position ``group`` has processed (0 when new)."""

    async def set_consumer_position(self, group: str, position: int) -> None: ...

    async def add_dead_letter(
        self, group: str, position: int, payload: bytes, error: str, attempts: int
    ) -> None:
        """Park an event a consumer gave up on."""

    async def dead_letters(self, group: str | None = None) -> Sequence[DeadLetter]: ...

    async def remove_dead_letter(self, dead_letter_id: int) -> None: ...


class Store(
    MetaStore,
    UserStore,
    TweetStore,
    FollowStore,
    EngagementStore,
    BookmarkStore,
    ModerationStore,
    NotificationStore,
    ConversationStore,
    MediaRows,
    AccountStore,
    OAuthStore,
    IdempotencyStore,
    OutboxStore,
    Protocol,
):
    """The source of truth: every narrow store protocol above, on one database.

    Adapters (and the caching store around them) implement the whole of it, and the
    contract suites test it whole; each service is typed with the narrow protocols it
    uses, so its signature says which tables it reads and writes.

    Every write method that takes ``events`` writes them to the outbox in the same
    transaction as the change, so a change and its events commit together or not at all.
    """

    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise if the database does not answer."""


class DeadLetter(Protocol):
    @property
    def id(self) -> int: ...

    @property
    def group(self) -> str: ...

    @property
    def payload(self) -> bytes: ...

    @property
    def error(self) -> str: ...

    @property
    def attempts(self) -> int: ...


class BulkStore(Protocol):
    """Bulk import for ``starling load``: idempotent (existing rows are kept)."""

    async def bulk_insert_users(self, users: Sequence[NewUser]) -> int:
        """Insert users whose id and username are new; return how many were inserted."""

    async def bulk_insert_follows(self, edges: Sequence[tuple[int, int, int]]) -> int:
        """Insert ``(follower_id, followee_id, created_at_ms)`` edges that are new."""

    async def bulk_insert_tweets(self, tweets: Sequence[Tweet]) -> int:
        """Insert tweets whose id is new."""

    async def recount(self) -> None:
        """Recompute every user's followers, following and tweets counts from the rows."""


class TimelineCache(Protocol):
    """Cached home timelines: per user, the newest ``timeline_max`` tweet ids.

    A timeline is *present* once created and stays so while its owner reads it; one not
    read for the feed rules' inactive period is dropped (Redis: a TTL; memory: a clock
    check). Push writes only into present timelines: absent ones are rebuilt on read.
    All writes are idempotent (adding an id that is there is a no-op).
    """

    async def read(self, user_id: int, *, max_id: int | None, limit: int) -> list[int] | None:
        """Up to ``limit`` ids below ``max_id``, newest first; None if not present.
        Counts as activity: renews the timeline's lease."""

    async def create(self, user_id: int, ids: Sequence[int]) -> None:
        """Make the timeline present and merge ``ids`` into it (a rebuild). Entries pushed
        while a rebuild ran are kept: this is a union, not a replace."""

    async def push(self, user_ids: Sequence[int], tweet_id: int) -> int:
        """Add ``tweet_id`` to each present timeline of ``user_ids``, trimming to the cap.
        Returns how many timelines received it. One round trip per call (a batch)."""

    async def merge(self, user_id: int, ids: Sequence[int]) -> None:
        """Add ``ids`` to ``user_id``'s timeline if present (backfill after a follow)."""

    async def remove(self, user_ids: Sequence[int], tweet_ids: Sequence[int]) -> None:
        """Remove ``tweet_ids`` from each present timeline of ``user_ids``."""

    async def drop(self, user_id: int) -> None:
        """Forget a timeline (the next read rebuilds it)."""

    async def ping(self) -> None:
        """Raise if the cache does not answer."""

    async def close(self) -> None: ...


class TweetCache(Protocol):
    """Shared cache of tweets, so hydrating a page is one multi-get (Redis MGET) with the
    store answering only the misses. Entries are dropped on delete; absent is not an error."""

    async def get_many(self, tweet_ids: Sequence[int]) -> dict[int, Tweet]:
        """The cached tweets among ``tweet_ids`` (one round trip); misses are absent."""

    async def put_many(self, tweets: Sequence[Tweet]) -> None:
        """Cache ``tweets`` (one round trip), each with the adapter's time-to-live."""

    async def invalidate(self, tweet_ids: Sequence[int]) -> None:
        """Forget ``tweet_ids`` (after a delete or a change of the row)."""

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


EventHandler = Callable[[AnyEvent], Awaitable[None]]

BatchHandler = Callable[[Sequence[AnyEvent]], Awaitable[None]]
"""Handles several events of one group at once, in order (one store transaction for
the lot instead of one each)."""


class EventLog(Protocol):
    """Delivers committed outbox events to consumer groups, at least once, in order per
    group. Handlers must be idempotent; one that keeps failing is dead-lettered."""

    def subscribe(
        self, group: str, handler: EventHandler, *, batch: BatchHandler | None = None
    ) -> None:
        """Register ``handler`` for consumer group ``group`` (before :meth:`start`).

        With ``batch``, each fetch of several events is first handed to ``batch`` whole;
        if it raises, the same events go to ``handler`` one by one, with the retries and
        dead letters of single events, so a poison event is isolated and parked alone.
        """

    async def start(self) -> None:
        """Start consuming from each group's last acknowledged position."""

    async def stop(self) -> None:
        """Stop consuming; undelivered events stay in the log for the next start."""

    def notify(self) -> None:
        """Hint that new events were committed (wakes the consumers now, not at the next poll)."""

    async def drain(self, timeout_s: float = 10.0) -> None:
        """Wait until every event committed before the call is processed by every group.
        Raises ``TimeoutError`` after ``timeout_s`` seconds."""

    async def pending(self) -> int:
        """Events committed but not yet processed by the slowest group."""

    async def dead_letters(self) -> Sequence[DeadLetter]:
        """Events parked after ``max_deliver`` failed tries, oldest first."""

    async def replay_dead_letters(self, group: str | None = None) -> int:
        """Deliver parked events again to their group (after the cause was fixed); returns
        how many were delivered. Replayed ones leave the dead-letter store."""


class LiveSubscription(Protocol):
    """Messages of the channels subscribed to, in publish order per channel, from the
    moment :meth:`LiveBus.subscribe` returned; at most once (a subscriber that is not
    connected misses what is published meanwhile: resuming is the stream's job)."""

    def __aiter__(self) -> LiveSubscription: ...

    async def __anext__(self) -> bytes:
        """The next payload, waiting for it; ``StopAsyncIteration`` once closed. Cancelling
        a wait (a timeout) leaves the subscription usable."""

    async def update(self, channels: Iterable[str]) -> None:
        """Listen to exactly ``channels`` from now on (a reader followed a celebrity)."""

    async def close(self) -> None:
        """Stop listening; idempotent."""


class LiveBus(Protocol):
    """Publish/subscribe of live updates between processes (docs/architecture.md, "Live updates"):
    fan-out and notification workers publish, every API process serving a stream
    subscribes, so any API process can serve any user. Channel names are plain strings
    (see :mod:`starling.domain.live`); adapters namespace them."""

    async def publish(self, channel: str, payload: bytes) -> None:
        """Deliver ``payload`` to the current subscribers of ``channel`` (none: dropped)."""

    async def publish_to_readers(self, reader_ids: Sequence[int], payload: bytes) -> None:
        """:meth:`publish` on the user channel (:func:`starling.domain.live.user_channel`)
        of each of ``reader_ids`` that someone listens to, in one round trip (a fan-out
        chunk: 1,000 followers, of whom few are streaming)."""

    async def subscribe(self, channels: Iterable[str]) -> LiveSubscription:
        """A subscription that receives everything published to ``channels`` after this
        returns. Raises ``BackendUnavailable`` when the bus cannot be reached."""

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


class MediaStore(Protocol):
    """Bytes of uploaded media under string keys (``<media_id>.<format>``). Embedded: a
    local directory; scale-out: the same port on an object store. Objects are immutable:
    a key is written once."""

    async def put(self, key: str, data: bytes) -> None:
        """Store ``data`` under ``key`` (replacing a partial earlier attempt)."""

    async def get(self, key: str) -> bytes | None:
        """The bytes under ``key``; None when absent."""

    async def delete(self, key: str) -> None:
        """Forget ``key``; absent is not an error."""


class SearchIndex(Protocol):
    """Full-text index of tweets and prefix search of users.

    Maintained by the ``search`` consumer group (and by ``starling load`` in bulk): every
    write is idempotent, so a re-delivered event changes nothing. Words and hashtags are
    matched case- and diacritic-insensitively (``domain.search.fold``).
    """

    async def index_tweets(self, tweets: Sequence[Tweet]) -> None:
        """Add ``tweets`` to the index, replacing any entry of the same id."""

    async def remove_tweets(self, tweet_ids: Sequence[int]) -> None:
        """Remove ``tweet_ids`` from the index; ids not indexed are ignored."""

    async def search_tweets(
        self,
        *,
        words: Sequence[str],
        hashtags: Sequence[str],
        author_id: int | None,
        max_id: int | None,
        limit: int,
    ) -> list[int]:
        """Ids of indexed tweets that contain every one of ``words`` and ``hashtags``
        (folded, without '#'), by ``author_id`` when given, below ``max_id``, newest
        first, at most ``limit``. ``words`` and ``hashtags`` must not both be empty
        (``ValueError``): an author alone is a user timeline."""

    async def search_users(self, prefix: str, *, offset: int, limit: int) -> list[int]:
        """Ids of users whose username or display name starts with ``prefix`` (case-
        insensitive): the exact username first, then username matches in username
        order, then display-name matches in display-name order; ``limit`` of them from
        ``offset``."""


class TrendCounter(Protocol):
    """Bounded-memory hashtag counts over time for trends: a sliding window of
    1-minute buckets and a longer-term baseline rate per tag.

    Times are the tweets' own (from their snowflake ids), so replaying old tweets with
    their original timestamps counts them when they happened.
    """

    async def add(self, tweet_id: int, tags: Sequence[str], at_ms: int) -> None:
        """Count one tweet's distinct folded ``tags`` at Unix time ``at_ms``."""

    async def top(self, *, now_ms: int, limit: int) -> Sequence[TagCount]:
        """The ``limit`` tags most used in the window ending at ``now_ms`` (the heaviest
        hitters, most first), with their window counts and baseline rates."""

    async def close(self) -> None: ...
