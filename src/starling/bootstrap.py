"""Composition root: builds the adapters the settings select (:mod:`starling.backends`)
and wires the services.

Nothing connects at import time. ``build()`` opens the store (and migrates an embedded
database); ``App.start()`` starts the workers; ``App.stop()`` closes everything.

``build`` reads top to bottom as the wiring: :func:`_adapters` (what the process
opens), :func:`_read_services` (the read pipeline and the surfaces and consumers built on
it), :func:`_write_services` (the use cases that change rows), :func:`_subscribe` (the
consumer groups), :func:`_health` (what the ops routes report), then :class:`App`.
"""

from __future__ import annotations

import logging
import os
import secrets
from dataclasses import dataclass, field
from typing import TypedDict

from starling.adapters.caching import CachingStore
from starling.adapters.clock import SystemClock
from starling.backends import Backends, select_backends
from starling.config import Settings
from starling.domain.feed import FanoutPolicy, FeedRules
from starling.domain.ids import MAX_WORKER_ID, SnowflakeGenerator
from starling.domain.trends import TrendConfig
from starling.metrics import Metrics
from starling.ports import (
    BackendUnavailable,
    Clock,
    EventLog,
    LiveBus,
    MediaStore,
    MetaStore,
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
from starling.services.health import HealthService
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


@dataclass(frozen=True, slots=True)
class Adapters:
    """The adapters one process opened, as :mod:`starling.backends` selected them."""

    store: CachingStore
    """The store every service uses: the database behind this process's caches
    (``store.inner`` is the database itself, as another process writes to it)."""
    cache: TimelineCache
    tweet_cache: TweetCache
    event_log: EventLog
    """Reads the database's outbox (``store.inner``), not the caching layer."""
    live_bus: LiveBus
    media_store: MediaStore
    search_index: SearchIndex
    """In the database's own engine (FTS5 or PostgreSQL full-text)."""
    trend_counter: TrendCounter

    async def close(self) -> None:
        """Close every connection; the database last (the caching store closes it)."""
        await self.live_bus.close()
        await self.cache.close()
        await self.tweet_cache.close()
        await self.trend_counter.close()
        await self.store.close()


@dataclass
class App:
    """Everything one Starling process runs: its adapters, the services the routes and
    the consumers call (one field each), and whether it runs the consumers."""

    settings: Settings
    clock: Clock
    metrics: Metrics
    ids: SnowflakeGenerator
    """This process's snowflake generator (its worker id is distinct per process)."""
    adapters: Adapters
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
    stream: StreamService
    media: MediaService
    search: SearchService
    trends: TrendService
    health: HealthService
    """Readiness of the backends and the metrics text (the ops routes)."""
    oauth: OAuthService
    """OAuth applications, grants and revocation (the Mastodon-compatible API)."""
    run_workers: bool
    rate_limiter: RateLimiter | None = None
    """Request budgets of the HTTP surfaces; None with ``rate_limits=off``."""
    _started: bool = field(default=False, repr=False)

    # The adapters tests, the CLI and the benchmark reach for by name.
    @property
    def store(self) -> CachingStore:
        """:attr:`Adapters.store`: the caching store around the database."""
        return self.adapters.store

    @property
    def cache(self) -> TimelineCache:
        """:attr:`Adapters.cache`: the timeline cache."""
        return self.adapters.cache

    @property
    def event_log(self) -> EventLog:
        """:attr:`Adapters.event_log`."""
        return self.adapters.event_log

    @property
    def live_bus(self) -> LiveBus:
        """:attr:`Adapters.live_bus`."""
        return self.adapters.live_bus

    @property
    def search_index(self) -> SearchIndex:
        """:attr:`Adapters.search_index`."""
        return self.adapters.search_index

    @property
    def _consumes(self) -> bool:
        # An embedded process without workers (``starling token``) has no consumer to
        # run; a scale-out process always starts its event log, which relays its outbox.
        return self.run_workers or not self.settings.is_embedded

    async def start(self) -> None:
        """Start the consumers (when this process runs workers) and the caching store's
        subscription to other processes' invalidations."""
        if not self._started:
            await self.store.start()
            if self._consumes:
                await self.event_log.start()
        self._started = True

    async def stop(self) -> None:
        """Stop the consumers and close every connection."""
        if self._started and self._consumes:
            await self.event_log.stop()
        await self.store.stop()
        self.accounts.close()
        self.media.close()
        if self.rate_limiter is not None:
            await self.rate_limiter.close()
        await self.adapters.close()
        self._started = False


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


async def _token_secret(settings: Settings, store: MetaStore) -> str:
    """The key access tokens are signed with: the setting, else the one the database
    keeps (made once, by the first process that needs it, and shared by every process)."""
    return settings.secret_key or await store.set_meta_if_absent(
        SECRET_META_KEY, secrets.token_urlsafe(32)
    )


@dataclass(frozen=True, slots=True)
class _Context:
    """What every part of the wiring shares: the settings and what is made from them,
    the clock and the metrics."""

    settings: Settings
    rules: FeedRules
    policy: FanoutPolicy
    trend_config: TrendConfig
    clock: Clock
    metrics: Metrics


async def _adapters(
    ctx: _Context,
    backends: Backends,
    *,
    database: Store | None,
    cache: TimelineCache | None,
    run_workers: bool,
) -> Adapters:
    """Open the store and make the other adapters ``backends`` selects (``database`` and
    ``cache`` override theirs). Raises ``BackendUnavailable`` when PostgreSQL is down."""
    settings = ctx.settings
    database = database or await backends.open_store()
    tweet_cache = backends.make_tweet_cache()
    live_bus = backends.make_live_bus()
    # Every service goes through the caching layer; the event log and the search index
    # work on the database itself (the outbox, the engine's own full-text index).
    store = CachingStore(
        database,
        tweet_cache=tweet_cache,
        bus=live_bus,
        clock=ctx.clock,
        metrics=ctx.metrics,
        policy=ctx.policy,
        reader_ttl_s=settings.reader_cache_ttl,
        counts_ttl_s=settings.counts_cache_ttl,
        token_ttl_s=settings.token_state_ttl,
    )
    return Adapters(
        store=store,
        cache=cache or backends.make_timeline_cache(ctx.rules, ctx.clock),
        tweet_cache=tweet_cache,
        event_log=backends.make_event_log(database, ctx.metrics, run_workers=run_workers),
        live_bus=live_bus,
        media_store=backends.make_media_store(),
        search_index=backends.make_search_index(database),
        trend_counter=backends.make_trend_counter(ctx.trend_config),
    )


class _ReadServices(TypedDict):
    feed: FeedManager
    hydrator: Hydrator
    reads: ReadPipeline
    timelines: TimelineService
    conversations: ConversationService
    notifications: NotificationService
    search: SearchService
    trends: TrendService
    stream: StreamService


def _read_services(adapters: Adapters, ctx: _Context, ids: SnowflakeGenerator) -> _ReadServices:
    """The read pipeline, the feed manager (the one holder of the timeline cache: every
    service changes timelines through it) and the surfaces and consumers built on them."""
    store, clock, metrics = adapters.store, ctx.clock, ctx.metrics
    publisher = LivePublisher(adapters.live_bus)
    hydrator = Hydrator(store=store)
    reads = ReadPipeline(store=store, hydrator=hydrator, policy=ctx.policy)
    feed = FeedManager(
        store=store,
        cache=adapters.cache,
        rules=ctx.rules,
        policy=ctx.policy,
        metrics=metrics,
        clock=clock,
        live=publisher,
    )
    timelines = TimelineService(store=store, feed=feed, reads=reads, metrics=metrics)
    return _ReadServices(
        feed=feed,
        hydrator=hydrator,
        reads=reads,
        timelines=timelines,
        conversations=ConversationService(store=store, reads=reads),
        notifications=NotificationService(
            store=store, ids=ids, clock=clock, reads=reads, live=publisher
        ),
        search=SearchService(store=store, index=adapters.search_index, reads=reads),
        trends=TrendService(
            store=store, counter=adapters.trend_counter, clock=clock, config=ctx.trend_config
        ),
        stream=StreamService(
            bus=adapters.live_bus,
            reads=reads,
            timelines=timelines,
            heartbeat_s=ctx.settings.stream_heartbeat_s,
        ),
    )


class _WriteServices(TypedDict):
    accounts: AccountService
    tweets: TweetService
    graph: GraphService
    engagement: EngagementService
    moderation: ModerationService
    media: MediaService


def _write_services(
    adapters: Adapters,
    ctx: _Context,
    ids: SnowflakeGenerator,
    reading: _ReadServices,
    *,
    secret: str,
) -> _WriteServices:
    """The use cases that change rows; each writes its events to the outbox with them.
    ``secret`` signs access tokens."""
    store, event_log, clock, feed = adapters.store, adapters.event_log, ctx.clock, reading["feed"]
    return _WriteServices(
        accounts=_accounts(adapters, ctx, ids, feed, secret=secret),
        tweets=TweetService(store=store, event_log=event_log, ids=ids, clock=clock),
        graph=GraphService(store=store, event_log=event_log, feed=feed, ids=ids, clock=clock),
        engagement=EngagementService(
            store=store,
            event_log=event_log,
            ids=ids,
            clock=clock,
            metrics=ctx.metrics,
            reads=reading["reads"],
        ),
        moderation=ModerationService(
            store=store, event_log=event_log, feed=feed, ids=ids, clock=clock
        ),
        media=MediaService(
            store=store,
            media_store=adapters.media_store,
            ids=ids,
            clock=clock,
            max_pixels=ctx.settings.media_max_pixels,
            decoders=ctx.settings.media_decode_workers or os.cpu_count() or 1,
        ),
    )


def _accounts(
    adapters: Adapters, ctx: _Context, ids: SnowflakeGenerator, feed: FeedManager, *, secret: str
) -> AccountService:
    """Sign-up, login and account changes: Argon2id hashing with the settings' cost on a
    pool of threads, and access tokens signed with ``secret``."""
    settings = ctx.settings
    passwords = Passwords(
        time_cost=settings.argon2_time_cost,
        memory_kib=settings.argon2_memory_kib,
        workers=settings.password_hash_workers or os.cpu_count() or 1,
        queue=settings.password_hash_queue,
    )
    return AccountService(
        store=adapters.store,
        ids=ids,
        clock=ctx.clock,
        passwords=passwords,
        tokens=Tokens(secret, ttl_s=settings.token_ttl_s, clock=ctx.clock, ids=ids),
        feed=feed,
        event_log=adapters.event_log,
        media_store=adapters.media_store,
    )


def _subscribe(event_log: EventLog, reading: _ReadServices) -> None:
    """Register the consumer groups (fan-out, notifications, search, trends)."""
    consumers.subscribe(
        event_log,
        consumers.consumer_groups(
            fanout=reading["feed"],
            notifications=reading["notifications"],
            search=reading["search"],
            trends=reading["trends"],
        ),
    )


def _health(adapters: Adapters, metrics: Metrics) -> HealthService:
    """What ``/readyz`` checks, by the names it reports."""
    return HealthService(
        backends={
            "database": adapters.store,
            "timeline_cache": adapters.cache,
            "tweet_cache": adapters.tweet_cache,
            "live_bus": adapters.live_bus,
        },
        event_log=adapters.event_log,
        metrics=metrics,
    )


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
    ctx = _Context(
        settings=settings,
        rules=settings.feed_rules(),
        policy=settings.fanout_policy(),
        trend_config=trend_config or TrendConfig(),
        clock=clock or SystemClock(),
        metrics=Metrics(),
    )
    backends = select_backends(settings)
    adapters = await _adapters(ctx, backends, database=store, cache=cache, run_workers=run_workers)
    ids = SnowflakeGenerator(await _worker_id(settings), ctx.clock.now_ms)
    secret = await _token_secret(settings, adapters.store.inner)
    reading = _read_services(adapters, ctx, ids)
    writing = _write_services(adapters, ctx, ids, reading, secret=secret)
    if run_workers:
        _subscribe(adapters.event_log, reading)
    return App(
        settings=settings,
        clock=ctx.clock,
        metrics=ctx.metrics,
        ids=ids,
        adapters=adapters,
        health=_health(adapters, ctx.metrics),
        oauth=OAuthService(
            store=adapters.store, accounts=writing["accounts"], ids=ids, clock=ctx.clock
        ),
        run_workers=run_workers,
        rate_limiter=rate_limiter_for(settings, ctx.clock),
        **reading,
        **writing,
    )
