"""Settings: every ``STARLING_*`` environment variable, read and validated once."""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from typing import Annotated, Literal

import limits
import msgspec

from starling.domain import feed


class SettingsError(ValueError):
    """A ``STARLING_*`` variable has a value that cannot be used; the message names it."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """Configuration of one Starling process.

    Unset ``redis_url`` / ``nats_url`` select the embedded adapters (in-process timeline
    cache and outbox event log); the database URL picks SQLite or PostgreSQL (the rule is
    :func:`starling.backends.select_backends`).
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
    """Seconds a process keeps a reader's celebrity followees, hidden authors, author
    rows and celebrities' newest tweet ids (:mod:`starling.adapters.caching.store`): the
    staleness bound of changes made in other processes whose invalidation message was
    lost (a bus reconnect drops every entry anyway). 0 disables that cache. Unset: 60 s
    with a broker; 600 s on the embedded default, whose single process sees (and
    invalidates on) every change."""
    counts_cache_ttl_s: Annotated[float, msgspec.Meta(ge=0)] | None = None
    """Seconds a process keeps tweets' engagement counts
    (:mod:`starling.adapters.caching.store`): how stale another process's like or
    retweet may show (counts are "eventually consistent within seconds":
    docs/decisions/0005). 0 disables. Unset: 5 s with a broker; 600 s on the embedded
    default (every change is local)."""
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
    password_hash_workers: Annotated[int, msgspec.Meta(ge=1)] | None = None
    """Password hashes (argon2) run at once, each holding ``argon2_memory_kib`` of
    memory. Unset: the number of CPU cores (more threads only add memory, not speed)."""
    password_hash_queue: Annotated[int, msgspec.Meta(ge=0)] = 16
    """Password checks that may wait for a hashing thread; beyond that, logins and
    registrations are answered 503 ``busy`` at once."""
    token_state_ttl_s: Annotated[float, msgspec.Meta(ge=0)] | None = None
    """Seconds a process keeps a user's token state (revoked tokens, and whether the
    user exists). A logout, password change or account deletion drops it at once here
    and, over the live bus, in the other processes; the TTL bounds how long one whose
    bus message was lost may take to be seen (a re-subscription drops every kept state,
    so a message is lost only while a process is subscribed). Unset: 600 s. Measured:
    with 5 s, a scale-out reader reading every ~16 s (the benchmark's 5,000 readers at
    300 reads/s) cost an extra PostgreSQL query on nearly every request, and home reads
    fell from 448 to 306 per second."""
    max_deliver: int = 5
    """Tries of one event before it is dead-lettered."""
    log_level: str = "info"
    media_dir: str = "./media"
    """Directory of uploaded media on the embedded default (``LocalMediaStore``)."""
    media_max_pixels: Annotated[int, msgspec.Meta(ge=1)] = 40_000_000
    """Largest accepted image, in pixels (width x height, read from the header before
    any decoding). 40 megapixels: a 24-bit bitmap of ~120 MB at most while its
    thumbnail is made."""
    media_decode_workers: Annotated[int, msgspec.Meta(ge=1)] | None = None
    """Images decoded at once (uploads beyond wait their turn). Unset: CPU cores."""
    stream_heartbeat_s: float = 15.0
    """Seconds between SSE heartbeat comments of an idle stream, under the usual 30-60 s
    idle timeouts of proxies and load balancers."""
    rate_limits: Literal["on", "off"] = "on"
    """``off`` turns every request budget below off (benchmarks); no address is exempt
    otherwise, loopback included. See docs/rate-limits.md."""
    rate_reads: str = "1500/5 minutes"
    """Budget of an authenticated account's reads (and its requests of no other class).
    Mastodon's ``throttle_authenticated_api``: 1,500 API requests / 5 min per account
    (``config/initializers/rack_attack.rb``). Every ``rate_*`` value is in the notation
    of the ``limits`` library: ``AMOUNT/[N] second|minute|hour|day``."""
    rate_reads_anonymous: str = "300/5 minutes"
    """Budget of a client IP (IPv6: its /64) without a valid token, on every limited
    route. Mastodon's ``throttle_unauthenticated_api``: 300 / 5 min per IP."""
    rate_posts: str = "300/3 hours"
    """Tweets posted or deleted per account. Mastodon's ``RateLimiter`` statuses family:
    300 / 3 h (``app/lib/rate_limiter.rb``)."""
    rate_follows: str = "400/24 hours"
    """Follows and unfollows per account. Mastodon's ``RateLimiter`` follows family:
    400 / 24 h."""
    rate_engagement: str = "300/3 hours"
    """Likes, retweets and their undoing per account. Mastodon counts a reblog as a
    status (statuses family, 300 / 3 h); one budget of that size here for both."""
    rate_media: str = "30/30 minutes"
    """Media uploads per account. Mastodon's ``throttle_api_media``: 30 / 30 min."""
    rate_registrations: str = "5/30 minutes"
    """Registrations per client IP. Mastodon's ``throttle_api_sign_up``: 5 / 30 min."""
    rate_logins_ip: str = "25/5 minutes"
    """Login attempts per client IP. Mastodon's ``throttle_login_attempts/ip``:
    25 / 5 min."""
    rate_logins_account: str = "25/1 hour"
    """Login attempts per account name, from any address. Mastodon's
    ``throttle_login_attempts/email``: 25 / 1 h."""
    secure_cookies: bool = False
    """Mark the web app's cookies ``Secure`` (sent over HTTPS only): set it when the
    site is served over HTTPS (behind a TLS-terminating proxy). Off by default so that
    ``http://127.0.0.1:8000/`` works for a developer."""
    trusted_proxies: str = ""
    """Comma-separated CIDR networks of reverse proxies whose ``X-Forwarded-For`` names
    the client (e.g. ``10.0.0.0/8,127.0.0.1/32``). Empty: the socket's peer is the
    client and ``X-Forwarded-For`` is ignored."""

    def __post_init__(self) -> None:
        # msgspec turns a ValueError here into a ValidationError, which load_settings
        # reports as a SettingsError naming the field.
        for name in RATE_SETTINGS:
            rate = getattr(self, name)
            try:
                item = limits.parse(rate)
            except ValueError as exc:
                raise ValueError(f"{name}={rate!r} is not a rate like '300/5 minutes'") from exc
            if item.amount < 1:
                raise ValueError(f"{name}={rate!r} allows no request at all")
        self.trusted_proxy_networks()

    def rate_budgets(self) -> dict[str, limits.RateLimitItem]:
        """Each ``rate_*`` budget by its name without the prefix (``reads``, ``posts``,
        ...), parsed: amount and window length in seconds (``get_expiry()``)."""
        return {
            name.removeprefix("rate_"): limits.parse(getattr(self, name)) for name in RATE_SETTINGS
        }

    def trusted_proxy_networks(self) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
        """``trusted_proxies`` parsed. Raises ``ValueError`` on a malformed network."""
        networks = []
        for part in self.trusted_proxies.split(","):
            if part.strip():
                try:
                    networks.append(ipaddress.ip_network(part.strip(), strict=False))
                except ValueError as exc:
                    raise ValueError(f"trusted_proxies: {part.strip()!r} is not a network") from exc
        return tuple(networks)

    def feed_rules(self) -> feed.FeedRules:
        """The feed constants these settings select."""
        return feed.FeedRules(
            timeline_max=self.timeline_max,
            celebrity_threshold=self.celebrity_threshold,
            inactive_days=self.inactive_days,
            fanout_chunk_size=self.fanout_chunk_size,
        )

    def fanout_policy(self) -> feed.FanoutPolicy:
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
    def token_state_ttl(self) -> float:
        """``token_state_ttl_s``, or its default for this configuration (see there)."""
        if self.token_state_ttl_s is not None:
            return self.token_state_ttl_s
        return 600.0


RATE_SETTINGS = (
    "rate_reads",
    "rate_reads_anonymous",
    "rate_posts",
    "rate_follows",
    "rate_engagement",
    "rate_media",
    "rate_registrations",
    "rate_logins_ip",
    "rate_logins_account",
)
"""The request budgets among the settings (see :class:`Settings`)."""


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
