"""Ports: one ``typing.Protocol`` per external capability. Adapters implement them.

Every method is async so that one service layer drives both the embedded adapters
(SQLite, memory) and the scale-out ones (PostgreSQL, Redis, NATS JetStream).
Ids are snowflake ints; times are Unix milliseconds.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Sequence
from typing import Protocol

from starling.domain.events import AnyEvent, Event
from starling.domain.model import Credentials, NewUser, Tweet, User


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


class EngagementStore(Protocol):
    """Likes, bookmarks, engagement counters and per-viewer flags (issue 4)."""


class ModerationStore(Protocol):
    """Blocks, mutes and the notification inbox (issue 4)."""


class Store(EngagementStore, ModerationStore, Protocol):
    """The source of truth: users, tweets, follows and the transactional outbox.

    Every write method that takes ``events`` writes them to the outbox in the same
    transaction as the change, so a change and its events commit together or not at all.
    """

    # --- lifecycle -------------------------------------------------------------------
    async def close(self) -> None: ...

    async def ping(self) -> None:
        """Raise if the database does not answer."""

    async def get_meta(self, key: str) -> str | None:
        """A value of the ``meta`` key-value table (e.g. the token signing secret)."""

    async def set_meta_if_absent(self, key: str, value: str) -> str:
        """Store ``value`` under ``key`` unless one is there; return the stored value."""

    # --- users -----------------------------------------------------------------------
    async def create_user(self, user: NewUser) -> User:
        """Insert a user. Raises ``UsernameTaken`` (case-insensitive uniqueness)."""

    async def get_user(self, user_id: int) -> User | None: ...

    async def get_user_by_username(self, username: str) -> User | None:
        """Case-insensitive lookup."""

    async def get_users(self, user_ids: Iterable[int]) -> dict[int, User]:
        """Batch lookup in one query; missing ids are absent from the answer."""

    async def get_credentials(self, username: str) -> Credentials | None: ...

    async def update_profile(
        self, user_id: int, *, display_name: str | None, bio: str | None
    ) -> User | None:
        """Change the given fields; None leaves a field as it is. None if no such user."""

    # --- tweets ----------------------------------------------------------------------
    async def insert_tweet(self, tweet: Tweet, events: Sequence[Event]) -> None:
        """Insert a tweet, bump the author's ``tweets_count`` and write ``events``."""

    async def delete_tweet(self, tweet_id: int, events: Sequence[Event]) -> bool:
        """Delete a tweet and write ``events``; False (and nothing written) if absent."""

    async def get_tweet(self, tweet_id: int) -> Tweet | None: ...

    async def get_tweets(self, tweet_ids: Iterable[int]) -> dict[int, Tweet]:
        """Batch lookup in one query; deleted or missing ids are absent."""

    async def tweet_ids_by_authors(
        self, author_ids: Sequence[int], *, max_id: int | None, limit: int
    ) -> list[int]:
        """Ids of tweets by any of ``author_ids`` below ``max_id``, newest first, at most
        ``limit``. The pull half of the home timeline and the rebuild query."""

    # --- follow graph ----------------------------------------------------------------
    async def follow(self, follower_id: int, followee_id: int, events: Sequence[Event]) -> bool:
        """Create the edge and bump both counts; False (nothing written) if it exists."""

    async def unfollow(self, follower_id: int, followee_id: int, events: Sequence[Event]) -> bool:
        """Remove the edge and lower both counts; False (nothing written) if absent."""

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

    # --- outbox (read by the event log) ----------------------------------------------
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


class EventLog(Protocol):
    """Delivers committed outbox events to consumer groups, at least once, in order per
    group. Handlers must be idempotent; one that keeps failing is dead-lettered."""

    def subscribe(self, group: str, handler: EventHandler) -> None:
        """Register ``handler`` for consumer group ``group`` (before :meth:`start`)."""

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
