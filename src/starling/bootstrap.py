"""Composition root: builds the adapters the settings select and wires the services.

Nothing connects at import time. ``build()`` opens the store (and migrates an embedded
database); ``App.start()`` starts the workers; ``App.stop()`` closes everything.
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass, field

from starling.adapters.clock import SystemClock
from starling.adapters.local_media import LocalMediaStore
from starling.adapters.memory.live_bus import MemoryLiveBus
from starling.adapters.memory.timeline_cache import MemoryTimelineCache
from starling.adapters.memory.tweet_cache import MemoryTweetCache
from starling.adapters.outbox_event_log import OutboxEventLog
from starling.adapters.sqlite.store import SqliteStore
from starling.config import Settings, SettingsError
from starling.domain.feed import FeedRules
from starling.domain.ids import MAX_WORKER_ID, SnowflakeGenerator
from starling.domain.trends import TrendConfig
from starling.metrics import Metrics
from starling.ports import (
    BackendUnavailable,
    Clock,
    EventLog,
    LiveBus,
    MediaStore,
    SearchIndex,
    Store,
    TimelineCache,
    TrendCounter,
    TweetCache,
)
from starling.services.accounts import AccountService
from starling.services.conversations import ConversationService
from starling.services.counts_cache import CountsCache
from starling.services.credentials import Passwords, Tokens, TokenStates
from starling.services.engagement import EngagementService
from starling.services.fanout import FanoutService
from starling.services.graph import GraphService
from starling.services.hydration import Hydrator
from starling.services.live import LivePublisher
from starling.services.media import MediaService
from starling.services.moderation import ModerationService
from starling.services.notifications import NotificationService
from starling.services.reader_context import ReaderContextCache
from starling.services.search import SearchService
from starling.services.stream import StreamService
from starling.services.timelines import TimelineService
from starling.services.trends import TrendService
from starling.services.tweets import TweetService
from starling.workers import fanout as fanout_worker
from starling.workers import notifications as notifications_worker
from starling.workers import search as search_worker
from starling.workers import trends as trends_worker

log = logging.getLogger(__name__)

SECRET_META_KEY = "token_secret"


@dataclass
class App:
    """Everything one Starling process runs: adapters, services, metrics."""

    settings: Settings
    rules: FeedRules
    clock: Clock
    metrics: Metrics
    store: Store
    cache: TimelineCache
    tweet_cache: TweetCache
    event_log: EventLog
    ids: SnowflakeGenerator
    """This process's snowflake generator (its worker id is distinct per process)."""
    accounts: AccountService
    tweets: TweetService
    graph: GraphService
    timelines: TimelineService
    reader_context: ReaderContextCache
    conversations: ConversationService
    fanout: FanoutService
    hydrator: Hydrator
    engagement: EngagementService
    moderation: ModerationService
    notifications: NotificationService
    live_bus: LiveBus
    stream: StreamService
    media: MediaService
    search_index: SearchIndex
    search: SearchService
    trend_counter: TrendCounter
    trends: TrendService
    run_workers: bool
    _started: bool = field(default=False, repr=False)

    async def start(self) -> None:
        """Start the consumers (when this process runs workers) and the reader cache's
        subscription to other processes' invalidations."""
        if not self._started:
            await self.reader_context.start()
            if self.run_workers or not self.settings.is_embedded:
                await self.event_log.start()
        self._started = True

    async def stop(self) -> None:
        """Stop the consumers and close every connection."""
        if self._started and (self.run_workers or not self.settings.is_embedded):
            await self.event_log.stop()
        await self.reader_context.stop()
        self.accounts.close()
        self.media.close()
        await self.live_bus.close()
        await self.cache.close()
        await self.tweet_cache.close()
        await self.trend_counter.close()
        await self.store.close()
        self._started = False

    async def readiness(self) -> dict[str, str]:
        """Each backend's state: ``"ok"`` or the error it gave."""
        checks: dict[str, str] = {}
        pings = [
            ("database", self.store.ping),
            ("timeline_cache", self.cache.ping),
            ("tweet_cache", self.tweet_cache.ping),
            ("live_bus", self.live_bus.ping),
        ]
        event_log_ping = getattr(self.event_log, "ping", None)
        if event_log_ping is not None:
            pings.append(("event_log", event_log_ping))
        for name, ping in pings:
            try:
                await ping()
                checks[name] = "ok"
            except Exception as exc:
                checks[name] = f"unavailable: {type(exc).__name__}"
        return checks


async def _make_store(settings: Settings) -> Store:
    if settings.database_url.startswith("sqlite:///"):
        return SqliteStore(settings.database_url)
    if settings.uses_postgres:
        from starling.adapters.postgres.store import PostgresStore

        return await PostgresStore.open(settings.database_url)
    raise SettingsError(
        f"STARLING_DATABASE_URL={settings.database_url!r}: use sqlite:///PATH or postgresql://..."
    )


def _make_caches(
    settings: Settings, rules: FeedRules, clock: Clock
) -> tuple[TimelineCache, TweetCache]:
    if settings.redis_url is None:
        return MemoryTimelineCache(rules, clock), MemoryTweetCache()
    from starling.adapters.redis.timeline_cache import RedisTimelineCache
    from starling.adapters.redis.tweet_cache import RedisTweetCache

    return (
        RedisTimelineCache.from_url(settings.redis_url, rules, namespace=settings.redis_namespace),
        RedisTweetCache.from_url(
            settings.redis_url,
            namespace=settings.redis_namespace,
            ttl_s=settings.tweet_cache_ttl_s,
        ),
    )


def _make_live_bus(settings: Settings) -> LiveBus:
    if settings.redis_url is None:
        return MemoryLiveBus()
    from starling.adapters.redis.live_bus import RedisLiveBus

    return RedisLiveBus.from_url(settings.redis_url, namespace=settings.redis_namespace)


def _make_media_store(settings: Settings) -> MediaStore:
    return LocalMediaStore(settings.media_dir)


def _make_search_index(store: Store) -> SearchIndex:
    """The search index in the store's own database: FTS5 beside an embedded store,
    PostgreSQL full-text beside a PostgreSQL one."""
    if isinstance(store, SqliteStore):
        from starling.adapters.sqlite.search import SqliteSearchIndex

        return SqliteSearchIndex(store.db)
    from starling.adapters.postgres.search import PostgresSearchIndex
    from starling.adapters.postgres.store import PostgresStore

    if isinstance(store, PostgresStore):
        return PostgresSearchIndex(store.db)
    raise SettingsError(f"no search index for a {type(store).__name__}")


def _make_trend_counter(settings: Settings, config: TrendConfig) -> TrendCounter:
    """Redis when configured (every API node answers the same trends), else this
    process's memory."""
    if settings.redis_url is None:
        from starling.adapters.memory.trends import MemoryTrendCounter

        return MemoryTrendCounter(config)
    from starling.adapters.redis.trends import RedisTrendCounter

    return RedisTrendCounter.from_url(
        settings.redis_url, namespace=settings.redis_namespace, config=config
    )


def _make_event_log(
    settings: Settings, store: Store, metrics: Metrics, *, run_workers: bool
) -> EventLog:
    if settings.nats_url is None:
        return OutboxEventLog(store, metrics, max_deliver=settings.max_deliver)
    from starling.adapters.nats_event_log import JetStreamEventLog

    # Every process relays (the API right after its commits, for low fan-out lag; workers
    # to catch up after an API crash): JetStream drops the duplicates by Nats-Msg-Id.
    return JetStreamEventLog(
        store,
        metrics,
        url=settings.nats_url,
        stream=settings.nats_stream,
        max_deliver=settings.max_deliver,
        ack_wait_s=settings.nats_ack_wait_s,
        relay=True,
        consume=run_workers,
    )


async def _worker_id(settings: Settings) -> int:
    """This process's snowflake worker id: the setting, else one handed out by Redis (every
    process of a scale-out deployment mints ids), else 0 (the embedded single process)."""
    if settings.worker_id is not None:
        return settings.worker_id
    if settings.redis_url is None:
        return 0
    from starling.adapters.redis.worker_ids import allocate_worker_id

    try:
        return await allocate_worker_id(settings.redis_url, namespace=settings.redis_namespace)
    except BackendUnavailable:
        # Degrade, don't fail: the process id tells this machine's processes apart.
        log.warning("Redis unreachable: snowflake worker id taken from the process id")
        return os.getpid() % (MAX_WORKER_ID + 1)


async def build(
    settings: Settings,
    *,
    clock: Clock | None = None,
    store: Store | None = None,
    cache: TimelineCache | None = None,
    trend_config: TrendConfig | None = None,
    run_workers: bool = True,
) -> App:
    """Wire a Starling process. Pass adapters to override the ones the settings pick
    (tests pass a manual clock). Raises ``SettingsError`` for unusable settings."""
    clock = clock or SystemClock()
    rules = settings.feed_rules()
    policy = settings.fanout_policy()
    metrics = Metrics()
    store = store or await _make_store(settings)
    default_cache, tweet_cache = _make_caches(settings, rules, clock)
    cache = cache or default_cache
    event_log = _make_event_log(settings, store, metrics, run_workers=run_workers)
    ids = SnowflakeGenerator(await _worker_id(settings), clock.now_ms)
    secret = settings.secret_key or await store.set_meta_if_absent(
        SECRET_META_KEY, secrets.token_urlsafe(32)
    )
    live_bus = _make_live_bus(settings)
    media_store = _make_media_store(settings)
    publisher = LivePublisher(live_bus)
    reader_context = ReaderContextCache(
        store=store,
        clock=clock,
        bus=live_bus,
        metrics=metrics,
        threshold=policy.threshold,
        ttl_s=settings.reader_cache_ttl,
    )
    counts = CountsCache(store=store, clock=clock, ttl_s=settings.counts_cache_ttl)
    hydrator = Hydrator(store=store, tweet_cache=tweet_cache, users=reader_context, counts=counts)
    timelines = TimelineService(
        store=store,
        cache=cache,
        hydrator=hydrator,
        rules=rules,
        policy=policy,
        metrics=metrics,
        reader_context=reader_context,
    )
    fanout = FanoutService(
        store=store,
        cache=cache,
        rules=rules,
        policy=policy,
        metrics=metrics,
        clock=clock,
        live=publisher,
    )
    notifications = NotificationService(store=store, ids=ids, clock=clock, live=publisher)
    search_index = _make_search_index(store)
    search = SearchService(
        store=store, index=search_index, hydrator=hydrator, reader_context=reader_context
    )
    trend_config = trend_config or TrendConfig()
    trend_counter = _make_trend_counter(settings, trend_config)
    trends = TrendService(store=store, counter=trend_counter, clock=clock, config=trend_config)
    if run_workers:
        fanout_worker.register(event_log, fanout)
        notifications_worker.register(event_log, notifications)
        search_worker.register(event_log, search)
        trends_worker.register(event_log, trends)
    return App(
        settings=settings,
        rules=rules,
        clock=clock,
        metrics=metrics,
        store=store,
        cache=cache,
        tweet_cache=tweet_cache,
        event_log=event_log,
        ids=ids,
        accounts=AccountService(
            store=store,
            ids=ids,
            clock=clock,
            passwords=Passwords(
                time_cost=settings.argon2_time_cost,
                memory_kib=settings.argon2_memory_kib,
                workers=settings.password_hash_workers or os.cpu_count() or 1,
                queue=settings.password_hash_queue,
            ),
            tokens=Tokens(secret, ttl_s=settings.token_ttl_s, clock=clock, ids=ids),
            token_states=TokenStates(store=store, clock=clock, ttl_s=settings.token_state_ttl),
            reader_context=reader_context,
            counts=counts,
            tweet_cache=tweet_cache,
            timelines=timelines,
            policy=policy,
            event_log=event_log,
            media_store=media_store,
        ),
        tweets=TweetService(
            store=store,
            event_log=event_log,
            tweet_cache=tweet_cache,
            counts=counts,
            reader_context=reader_context,
            ids=ids,
            clock=clock,
        ),
        graph=GraphService(
            store=store,
            event_log=event_log,
            timelines=timelines,
            reader_context=reader_context,
            policy=policy,
            ids=ids,
            clock=clock,
        ),
        timelines=timelines,
        reader_context=reader_context,
        conversations=ConversationService(
            store=store, timelines=timelines, reader_context=reader_context
        ),
        fanout=fanout,
        hydrator=hydrator,
        engagement=EngagementService(
            store=store, event_log=event_log, ids=ids, clock=clock, metrics=metrics, counts=counts
        ),
        moderation=ModerationService(
            store=store,
            event_log=event_log,
            cache=cache,
            reader_context=reader_context,
            ids=ids,
            clock=clock,
        ),
        notifications=notifications,
        live_bus=live_bus,
        stream=StreamService(
            store=store,
            bus=live_bus,
            hydrator=hydrator,
            timelines=timelines,
            notifications=notifications,
            reader_context=reader_context,
        ),
        media=MediaService(
            store=store,
            media_store=media_store,
            ids=ids,
            clock=clock,
            max_pixels=settings.media_max_pixels,
            decoders=settings.media_decode_workers or os.cpu_count() or 1,
        ),
        search_index=search_index,
        search=search,
        trend_counter=trend_counter,
        trends=trends,
        run_workers=run_workers,
    )
