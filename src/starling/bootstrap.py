"""Composition root: builds the adapters the settings select (:mod:`starling.backends`)
and wires the services.

Nothing connects at import time. ``build()`` opens the store (and migrates an embedded
database); ``App.start()`` starts the workers; ``App.stop()`` closes everything.
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass, field

from starling.adapters.caching import CachingStore
from starling.adapters.clock import SystemClock
from starling.backends import select_backends
from starling.config import Settings
from starling.domain.feed import FeedRules
from starling.domain.ids import MAX_WORKER_ID, SnowflakeGenerator
from starling.domain.trends import TrendConfig
from starling.metrics import Metrics
from starling.ports import (
    BackendUnavailable,
    Clock,
    EventLog,
    LiveBus,
    SearchIndex,
    Store,
    TimelineCache,
    TrendCounter,
    TweetCache,
)
from starling.services.accounts import AccountService
from starling.services.conversations import ConversationService
from starling.services.credentials import Passwords, Tokens
from starling.services.engagement import EngagementService
from starling.services.feed_manager import FeedManager
from starling.services.graph import GraphService
from starling.services.hydration import Hydrator
from starling.services.live import LivePublisher
from starling.services.media import MediaService
from starling.services.moderation import ModerationService
from starling.services.notifications import NotificationService
from starling.services.oauth import OAuthService
from starling.services.rate_limits import RateLimiter, rate_limiter_for
from starling.services.read_pipeline import ReadPipeline
from starling.services.search import SearchService
from starling.services.stream import StreamService
from starling.services.timelines import TimelineService
from starling.services.trends import TrendService
from starling.services.tweets import TweetService
from starling.workers import consumers

log = logging.getLogger(__name__)

SECRET_META_KEY = "token_secret"


@dataclass
class App:
    """Everything one Starling process runs: adapters, services, metrics."""

    settings: Settings
    rules: FeedRules
    clock: Clock
    metrics: Metrics
    store: CachingStore
    """The store every service uses: the database behind this process's caches
    (``store.inner`` is the database itself, as another process writes to it)."""
    cache: TimelineCache
    tweet_cache: TweetCache
    event_log: EventLog
    ids: SnowflakeGenerator
    """This process's snowflake generator (its worker id is distinct per process)."""
    accounts: AccountService
    tweets: TweetService
    graph: GraphService
    timelines: TimelineService
    conversations: ConversationService
    feed: FeedManager
    hydrator: Hydrator
    reads: ReadPipeline
    """Every read of tweets and notifications (hydrate, visibility, page, engagement)."""
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
    oauth: OAuthService
    """OAuth applications, grants and revocation (the Mastodon-compatible API)."""
    run_workers: bool
    rate_limiter: RateLimiter | None = None
    """Request budgets of the HTTP surfaces; None with ``rate_limits=off``."""
    _started: bool = field(default=False, repr=False)

    async def start(self) -> None:
        """Start the consumers (when this process runs workers) and the caching store's
        subscription to other processes' invalidations."""
        if not self._started:
            await self.store.start()
            if self.run_workers or not self.settings.is_embedded:
                await self.event_log.start()
        self._started = True

    async def stop(self) -> None:
        """Stop the consumers and close every connection."""
        if self._started and (self.run_workers or not self.settings.is_embedded):
            await self.event_log.stop()
        await self.store.stop()
        self.accounts.close()
        self.media.close()
        await self.live_bus.close()
        await self.cache.close()
        await self.tweet_cache.close()
        await self.trend_counter.close()
        if self.rate_limiter is not None:
            await self.rate_limiter.close()
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
    backends = select_backends(settings)
    database = store or await backends.open_store()
    cache = cache or backends.make_timeline_cache(rules, clock)
    tweet_cache = backends.make_tweet_cache()
    event_log = backends.make_event_log(database, metrics, run_workers=run_workers)
    ids = SnowflakeGenerator(await _worker_id(settings), clock.now_ms)
    secret = settings.secret_key or await database.set_meta_if_absent(
        SECRET_META_KEY, secrets.token_urlsafe(32)
    )
    live_bus = backends.make_live_bus()
    media_store = backends.make_media_store()
    publisher = LivePublisher(live_bus)
    # Every service goes through the caching layer; the event log and the search index
    # work on the database itself (the outbox, the engine's own full-text index).
    store = caching = CachingStore(
        database,
        tweet_cache=tweet_cache,
        bus=live_bus,
        clock=clock,
        metrics=metrics,
        policy=policy,
        reader_ttl_s=settings.reader_cache_ttl,
        counts_ttl_s=settings.counts_cache_ttl,
        token_ttl_s=settings.token_state_ttl,
    )
    hydrator = Hydrator(store=store)
    reads = ReadPipeline(store=store, hydrator=hydrator, policy=policy)
    # The one holder of the timeline cache: every service changes timelines through it.
    feed = FeedManager(
        store=store,
        cache=cache,
        rules=rules,
        policy=policy,
        metrics=metrics,
        clock=clock,
        live=publisher,
    )
    timelines = TimelineService(store=store, feed=feed, reads=reads, metrics=metrics)
    notifications = NotificationService(
        store=store, ids=ids, clock=clock, reads=reads, live=publisher
    )
    search_index = backends.make_search_index(database)
    search = SearchService(store=store, index=search_index, reads=reads)
    trend_config = trend_config or TrendConfig()
    trend_counter = backends.make_trend_counter(trend_config)
    trends = TrendService(store=store, counter=trend_counter, clock=clock, config=trend_config)
    if run_workers:
        consumers.subscribe(
            event_log,
            consumers.consumer_groups(
                fanout=feed, notifications=notifications, search=search, trends=trends
            ),
        )
    accounts = AccountService(
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
        feed=feed,
        event_log=event_log,
        media_store=media_store,
    )
    return App(
        settings=settings,
        rules=rules,
        clock=clock,
        metrics=metrics,
        store=caching,
        cache=cache,
        tweet_cache=tweet_cache,
        event_log=event_log,
        ids=ids,
        accounts=accounts,
        tweets=TweetService(
            store=store,
            event_log=event_log,
            ids=ids,
            clock=clock,
        ),
        graph=GraphService(
            store=store,
            event_log=event_log,
            feed=feed,
            ids=ids,
            clock=clock,
        ),
        timelines=timelines,
        conversations=ConversationService(store=store, reads=reads),
        feed=feed,
        hydrator=hydrator,
        reads=reads,
        engagement=EngagementService(
            store=store,
            event_log=event_log,
            ids=ids,
            clock=clock,
            metrics=metrics,
            reads=reads,
        ),
        moderation=ModerationService(
            store=store,
            event_log=event_log,
            feed=feed,
            ids=ids,
            clock=clock,
        ),
        notifications=notifications,
        live_bus=live_bus,
        stream=StreamService(bus=live_bus, reads=reads, timelines=timelines),
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
        oauth=OAuthService(store=store, accounts=accounts, ids=ids, clock=clock),
        run_workers=run_workers,
        rate_limiter=rate_limiter_for(settings, clock),
    )
