"""Composition root: builds the adapters the settings select and wires the services.

Nothing connects at import time. ``build()`` opens the store (and migrates an embedded
database); ``App.start()`` starts the workers; ``App.stop()`` closes everything.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field

from starling.adapters.clock import SystemClock
from starling.adapters.memory.timeline_cache import MemoryTimelineCache
from starling.adapters.outbox_event_log import OutboxEventLog
from starling.adapters.sqlite.store import SqliteStore
from starling.config import Settings, SettingsError
from starling.domain.feed import FeedRules, ThresholdPolicy
from starling.domain.ids import SnowflakeGenerator
from starling.metrics import Metrics
from starling.ports import Clock, EventLog, Store, TimelineCache
from starling.services.accounts import AccountService
from starling.services.credentials import Passwords, Tokens
from starling.services.fanout import FanoutService
from starling.services.graph import GraphService
from starling.services.timelines import TimelineService
from starling.services.tweets import TweetService
from starling.workers import fanout as fanout_worker

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
    event_log: EventLog
    accounts: AccountService
    tweets: TweetService
    graph: GraphService
    timelines: TimelineService
    fanout: FanoutService
    run_workers: bool
    _started: bool = field(default=False, repr=False)

    async def start(self) -> None:
        """Start the consumers (when this process runs workers)."""
        if self.run_workers and not self._started:
            await self.event_log.start()
        self._started = True

    async def stop(self) -> None:
        """Stop the consumers and close every connection."""
        if self.run_workers:
            await self.event_log.stop()
        await self.cache.close()
        await self.store.close()
        self._started = False

    async def readiness(self) -> dict[str, str]:
        """Each backend's state: ``"ok"`` or the error it gave."""
        checks: dict[str, str] = {}
        for name, ping in (("database", self.store.ping), ("timeline_cache", self.cache.ping)):
            try:
                await ping()
                checks[name] = "ok"
            except Exception as exc:
                checks[name] = f"unavailable: {type(exc).__name__}"
        return checks


def _make_store(settings: Settings) -> Store:
    if settings.database_url.startswith("sqlite"):
        return SqliteStore(settings.database_url)
    raise SettingsError(
        f"STARLING_DATABASE_URL={settings.database_url!r}: only sqlite:/// URLs are supported"
    )


async def build(
    settings: Settings,
    *,
    clock: Clock | None = None,
    store: Store | None = None,
    cache: TimelineCache | None = None,
    run_workers: bool = True,
) -> App:
    """Wire a Starling process. Pass adapters to override the ones the settings pick
    (tests pass a manual clock). Raises ``SettingsError`` for unusable settings."""
    clock = clock or SystemClock()
    rules = settings.feed_rules()
    policy = ThresholdPolicy(rules.celebrity_threshold)
    metrics = Metrics()
    store = store or _make_store(settings)
    cache = cache or MemoryTimelineCache(rules, clock)
    event_log: EventLog = OutboxEventLog(store, metrics, max_deliver=settings.max_deliver)
    ids = SnowflakeGenerator(settings.worker_id, clock.now_ms)
    secret = settings.secret_key or await store.set_meta_if_absent(
        SECRET_META_KEY, secrets.token_urlsafe(32)
    )
    timelines = TimelineService(
        store=store, cache=cache, rules=rules, policy=policy, metrics=metrics
    )
    fanout = FanoutService(
        store=store, cache=cache, rules=rules, policy=policy, metrics=metrics, clock=clock
    )
    if run_workers:
        fanout_worker.register(event_log, fanout)
    return App(
        settings=settings,
        rules=rules,
        clock=clock,
        metrics=metrics,
        store=store,
        cache=cache,
        event_log=event_log,
        accounts=AccountService(
            store=store,
            ids=ids,
            clock=clock,
            passwords=Passwords(
                time_cost=settings.argon2_time_cost, memory_kib=settings.argon2_memory_kib
            ),
            tokens=Tokens(secret, ttl_s=settings.token_ttl_s),
        ),
        tweets=TweetService(store=store, event_log=event_log, ids=ids, clock=clock),
        graph=GraphService(
            store=store, event_log=event_log, timelines=timelines, ids=ids, clock=clock
        ),
        timelines=timelines,
        fanout=fanout,
        run_workers=run_workers,
    )
