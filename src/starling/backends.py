"""Which adapter backs each port: the one rule, from the :class:`~starling.config.Settings`.

- **Database** (store, search index, bulk loader): ``STARLING_DATABASE_URL``.
  ``sqlite:///PATH`` is the embedded SQLite file (FTS5 search beside it);
  ``postgresql://``, ``postgres://`` or ``postgresql+asyncpg://`` is PostgreSQL
  (full-text search in the same database). Anything else is a :class:`SettingsError`.
- **Shared state** (timeline cache, tweet cache, live bus, trend counter):
  ``STARLING_REDIS_URL`` set selects Redis, shared by every process; unset, each lives in
  the process's memory.
- **Media**: the directory ``STARLING_MEDIA_DIR``.
- **Event log**: ``STARLING_NATS_URL`` set selects NATS JetStream (workers run as
  ``starling worker`` processes); unset, the store's outbox table is the log and the
  workers run inside the API process (the embedded default).

:func:`select_backends` applies the rule once; the :class:`Backends` it returns makes
each adapter. ``starling serve``, ``worker``, ``load``, ``db`` (and so ``bench``, which
runs them) and :func:`starling.bootstrap.build` all go through it. Adapters are imported
when made, so an embedded process never imports redis or nats.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from starling.config import Settings, SettingsError

if TYPE_CHECKING:
    from starling.adapters.postgres.search import PostgresSearchIndex
    from starling.adapters.sql.store import SqlStore
    from starling.adapters.sqlite.search import SqliteSearchIndex
    from starling.domain.feed import FeedRules
    from starling.domain.trends import TrendConfig
    from starling.metrics import Metrics
    from starling.ports import (
        BulkStore,
        Clock,
        EventLog,
        LiveBus,
        MediaStore,
        OutboxStore,
        Store,
        TimelineCache,
        TrendCounter,
        TweetCache,
    )

Database = Literal["sqlite", "postgresql"]
SharedState = Literal["memory", "redis"]
EventLogKind = Literal["outbox", "jetstream"]

SQLITE_PREFIX = "sqlite:///"


def is_postgres_url(url: str) -> bool:
    """Whether ``url`` names a PostgreSQL database (``postgresql://``, ``postgres://``
    or ``postgresql+asyncpg://``; see
    :func:`~starling.adapters.postgres.store.asyncpg_url`)."""
    from starling.adapters.postgres.store import asyncpg_url

    try:
        asyncpg_url(url)
    except ValueError:
        return False
    return True


def database_of(url: str) -> Database:
    """The database a ``STARLING_DATABASE_URL`` selects. Raises :class:`SettingsError`
    for a URL that is neither SQLite nor PostgreSQL."""
    if url.startswith(SQLITE_PREFIX):
        return "sqlite"
    if is_postgres_url(url):
        return "postgresql"
    raise SettingsError(
        f"STARLING_DATABASE_URL={url!r}: use sqlite:///PATH or postgresql://USER@HOST/DB"
    )


def select_backends(settings: Settings) -> Backends:
    """Apply the rule of this module to ``settings``. Raises :class:`SettingsError` for
    an unusable database URL. Connects to nothing."""
    return Backends(
        settings=settings,
        database=database_of(settings.database_url),
        shared_state="memory" if settings.redis_url is None else "redis",
        event_log="outbox" if settings.nats_url is None else "jetstream",
    )


@dataclass(frozen=True, slots=True)
class Backends:
    """The backends :func:`select_backends` chose, and the factories of their adapters.

    ``database``: ``"sqlite"`` or ``"postgresql"``; ``shared_state``: ``"memory"`` or
    ``"redis"``; ``event_log``: ``"outbox"`` or ``"jetstream"``.
    """

    settings: Settings
    database: Database
    shared_state: SharedState
    event_log: EventLogKind

    @property
    def scale_out(self) -> bool:
        """Whether workers run in processes of their own (``starling worker``): JetStream
        carries the events and Redis holds the state every process shares."""
        return self.event_log == "jetstream" and self.shared_state == "redis"

    # --- the database ------------------------------------------------------------------
    async def open_store(self, *, migrate: bool = True) -> SqlStore:
        """Open the store and, when ``migrate``, bring its schema to the newest migration.
        Raises :class:`~starling.ports.BackendUnavailable` when PostgreSQL cannot be
        reached."""
        url = self.settings.database_url
        if self.database == "sqlite":
            from starling.adapters.sqlite.store import SqliteStore

            return SqliteStore(url, migrate=migrate)
        from starling.adapters.postgres.store import PostgresStore

        return await PostgresStore.open(url, migrate=migrate)

    def make_search_index(self, store: Store) -> SqliteSearchIndex | PostgresSearchIndex:
        """The search index in ``store``'s own database (``store`` as :meth:`open_store`
        made it): FTS5 beside SQLite, full-text search beside PostgreSQL. Raises
        :class:`SettingsError` for a store of another database."""
        if self.database == "sqlite":
            from starling.adapters.sqlite.search import SqliteSearchIndex
            from starling.adapters.sqlite.store import SqliteStore

            if isinstance(store, SqliteStore):
                return SqliteSearchIndex(store.db)
        else:
            from starling.adapters.postgres.search import PostgresSearchIndex
            from starling.adapters.postgres.store import PostgresStore

            if isinstance(store, PostgresStore):
                return PostgresSearchIndex(store.db)
        raise SettingsError(f"no {self.database} search index for a {type(store).__name__}")

    def make_bulk_store(self, store: Store) -> BulkStore:
        """The bulk loader (``starling load``) writing into ``store``'s database through
        its connections. Raises :class:`SettingsError` for a store of another database."""
        if self.database == "sqlite":
            from starling.adapters.sqlite.bulk import SqliteBulkStore
            from starling.adapters.sqlite.store import SqliteStore

            if isinstance(store, SqliteStore):
                return SqliteBulkStore(store.engine)
        else:
            from starling.adapters.postgres.bulk import PostgresBulkStore
            from starling.adapters.postgres.store import PostgresStore

            if isinstance(store, PostgresStore):
                return PostgresBulkStore(store.engine)
        raise SettingsError(f"no {self.database} bulk loader for a {type(store).__name__}")

    # --- shared state ------------------------------------------------------------------
    def _redis_url(self) -> str | None:
        return self.settings.redis_url if self.shared_state == "redis" else None

    def make_timeline_cache(self, rules: FeedRules, clock: Clock) -> TimelineCache:
        """Cached home timelines: Redis (namespace ``STARLING_REDIS_NAMESPACE``) or this
        process's memory."""
        redis_url = self._redis_url()
        if redis_url is None:
            from starling.adapters.memory.timeline_cache import MemoryTimelineCache

            return MemoryTimelineCache(rules, clock)
        from starling.adapters.redis.timeline_cache import RedisTimelineCache

        return RedisTimelineCache.from_url(
            redis_url, rules, namespace=self.settings.redis_namespace
        )

    def make_tweet_cache(self) -> TweetCache:
        """Cached tweet rows: Redis (entries kept ``STARLING_TWEET_CACHE_TTL_S`` seconds)
        or this process's memory."""
        redis_url = self._redis_url()
        if redis_url is None:
            from starling.adapters.memory.tweet_cache import MemoryTweetCache

            return MemoryTweetCache()
        from starling.adapters.redis.tweet_cache import RedisTweetCache

        return RedisTweetCache.from_url(
            redis_url,
            namespace=self.settings.redis_namespace,
            ttl_s=self.settings.tweet_cache_ttl_s,
        )

    def make_live_bus(self) -> LiveBus:
        """Live events between processes: Redis pub/sub, or this process's memory."""
        redis_url = self._redis_url()
        if redis_url is None:
            from starling.adapters.memory.live_bus import MemoryLiveBus

            return MemoryLiveBus()
        from starling.adapters.redis.live_bus import RedisLiveBus

        return RedisLiveBus.from_url(redis_url, namespace=self.settings.redis_namespace)

    def make_trend_counter(self, config: TrendConfig) -> TrendCounter:
        """Hashtag counts: Redis (every API node answers the same trends) or this
        process's memory."""
        redis_url = self._redis_url()
        if redis_url is None:
            from starling.adapters.memory.trends import MemoryTrendCounter

            return MemoryTrendCounter(config)
        from starling.adapters.redis.trends import RedisTrendCounter

        return RedisTrendCounter.from_url(
            redis_url, namespace=self.settings.redis_namespace, config=config
        )

    def make_media_store(self) -> MediaStore:
        """Uploaded media: the directory ``STARLING_MEDIA_DIR`` (on every deployment)."""
        from starling.adapters.local_media import LocalMediaStore

        return LocalMediaStore(self.settings.media_dir)

    # --- the event log -----------------------------------------------------------------
    def make_event_log(
        self, store: OutboxStore, metrics: Metrics, *, run_workers: bool
    ) -> EventLog:
        """The event log over ``store``'s outbox. On JetStream every process relays (the
        API right after its commits, for low fan-out lag; workers to catch up after an
        API crash; JetStream drops the duplicates by ``Nats-Msg-Id``) and consumes only
        when ``run_workers``."""
        settings = self.settings
        nats_url = settings.nats_url if self.event_log == "jetstream" else None
        if nats_url is None:
            from starling.adapters.outbox_event_log import OutboxEventLog

            return OutboxEventLog(store, metrics, max_deliver=settings.max_deliver)
        from starling.adapters.jetstream import JetStreamEventLog

        return JetStreamEventLog(
            store,
            metrics,
            url=nats_url,
            stream=settings.nats_stream,
            max_deliver=settings.max_deliver,
            ack_wait_s=settings.nats_ack_wait_s,
            relay=True,
            consume=run_workers,
        )
