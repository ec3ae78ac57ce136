"""Settings: every ``STARLING_*`` environment variable, read and validated once."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated

import msgspec

from starling.domain import feed


class SettingsError(ValueError):
    """A ``STARLING_*`` variable has a value that cannot be used; the message names it."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Configuration of one Starling process.

    Unset ``redis_url`` / ``nats_url`` select the embedded adapters (in-process timeline
    cache and outbox event log); the database URL picks SQLite or PostgreSQL.
    """

    database_url: str = "sqlite:///./starling.db"
    redis_url: str | None = None
    nats_url: str | None = None
    nats_stream: str = "STARLING"
    """JetStream stream name; several deployments can share one NATS with distinct names."""
    nats_ack_wait_s: float = 30.0
    """Seconds a fetched event may stay unacknowledged before JetStream hands it to
    another worker (a crashed worker's in-flight events come back after this)."""
    redis_namespace: str = "starling"
    """Prefix of every Redis key, so deployments (and test runs) can share one Redis."""
    tweet_cache_ttl_s: int = 3_600
    reader_cache_ttl_s: Annotated[float, msgspec.Meta(ge=0)] | None = None
    """Seconds a process keeps a reader's celebrity followees, hidden authors and author
    rows (:mod:`starling.services.reader_context`): the staleness bound of changes made
    in other processes whose invalidation message was lost (a bus reconnect drops every
    entry anyway). 0 disables that cache. Unset: 60 s with a broker; 600 s on the
    embedded default, whose single process sees (and invalidates on) every change."""
    counts_cache_ttl_s: Annotated[float, msgspec.Meta(ge=0)] | None = None
    """Seconds a process keeps tweets' engagement counts
    (:mod:`starling.services.counts_cache`): how stale another process's like or
    retweet may show (docs/decisions/0005: "within seconds"). 0 disables.
    Unset: 5 s with a broker; 600 s on the embedded default (every change is local)."""
    celebrity_threshold: int = feed.CELEBRITY_THRESHOLD
    timeline_max: int = feed.TIMELINE_MAX
    inactive_days: float = feed.INACTIVE_DAYS
    fanout_chunk_size: int = feed.FANOUT_CHUNK_SIZE
    fanout_strategy: feed.FanoutStrategy = "hybrid"
    """``hybrid`` (the design), or the ``push`` / ``pull`` baselines of ``starling bench``."""
    secret_key: str | None = None
    """HS256 signing key of access tokens; unset: one is generated and kept in the database."""
    token_ttl_s: int = 30 * 86_400
    worker_id: int | None = None
    """Snowflake worker id (0..1023) of this process; distinct per concurrent process.
    Unset: handed out by Redis per process when Redis is configured (see
    ``adapters/redis/worker_ids.py``), else 0 (the embedded default runs one process)."""
    argon2_time_cost: int = 3
    argon2_memory_kib: int = 65_536
    """argon2-cffi's defaults (RFC 9106 second recommended option, lowered memory)."""
    max_deliver: int = 5
    """Tries of one event before it is dead-lettered."""
    log_level: str = "info"
    media_dir: str = "./media"
    """Directory of uploaded media on the embedded default (``LocalMediaStore``)."""
    stream_heartbeat_s: float = 15.0
    """Seconds between SSE heartbeat comments of an idle stream, under the usual 30-60 s
    idle timeouts of proxies and load balancers."""

    def feed_rules(self) -> feed.FeedRules:
        """The feed constants these settings select."""
        return feed.FeedRules(
            timeline_max=self.timeline_max,
            celebrity_threshold=self.celebrity_threshold,
            inactive_days=self.inactive_days,
            fanout_chunk_size=self.fanout_chunk_size,
        )

    def fanout_policy(self) -> feed.ThresholdPolicy:
        """The push/pull policy ``fanout_strategy`` selects (see :func:`feed.policy_for`)."""
        return feed.policy_for(self.fanout_strategy, self.celebrity_threshold)

    @property
    def is_embedded(self) -> bool:
        """True when no broker is configured: workers run inside the API process."""
        return self.nats_url is None

    @property
    def reader_cache_ttl(self) -> float:
        """``reader_cache_ttl_s``, or its default for this configuration (see there)."""
        if self.reader_cache_ttl_s is not None:
            return self.reader_cache_ttl_s
        return 600.0 if self.is_embedded else 60.0

    @property
    def counts_cache_ttl(self) -> float:
        """``counts_cache_ttl_s``, or its default for this configuration (see there)."""
        if self.counts_cache_ttl_s is not None:
            return self.counts_cache_ttl_s
        return 600.0 if self.is_embedded else 5.0

    @property
    def uses_postgres(self) -> bool:
        return self.database_url.startswith(
            ("postgresql://", "postgres://", "postgresql+asyncpg://")
        )


def load_settings(environ: Mapping[str, str] | None = None, **overrides: object) -> Settings:
    """Build :class:`Settings` from ``STARLING_<FIELD>`` variables, then ``overrides``.

    Raises :class:`SettingsError` naming the variable whose value has the wrong type.
    """
    env = os.environ if environ is None else environ
    raw: dict[str, object] = {}
    for field in msgspec.structs.fields(Settings):
        value = env.get(f"STARLING_{field.name.upper()}")
        if value is not None and value != "":
            raw[field.name] = value
    raw.update(overrides)
    try:
        return msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise SettingsError(f"invalid STARLING_* setting: {exc}") from exc
