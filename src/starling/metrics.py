"""Prometheus metrics of one Starling process (names per docs/api.md, "Operations").

Each process (and each test app) owns its own ``CollectorRegistry``, so two apps in one
test session never share counters.
"""

from __future__ import annotations

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
)

# The *_created samples double the exposition size and no dashboard here reads them.
disable_created_metrics()  # type: ignore[no-untyped-call]

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
_LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


class Metrics:
    """The metric families of docs/api.md, registered in a private registry."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.http_duration = Histogram(
            "starling_http_request_duration_seconds",
            "HTTP request latency in seconds.",
            ("route", "method", "status"),
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.fanout_writes = Counter(
            "starling_fanout_timeline_writes",
            "Timeline entries written by push fan-out.",
            registry=r,
        )
        self.fanout_lag = Histogram(
            "starling_fanout_lag_seconds",
            "Seconds from a post's commit to its id being in every pushed timeline.",
            buckets=_LAG_BUCKETS,
            registry=r,
        )
        self.timeline_reads = Counter(
            "starling_timeline_reads",
            "Home-timeline reads by where the ids came from (store: cache down, pulled).",
            ("source",),
            registry=r,
        )
        self.timeline_rebuilds = Counter(
            "starling_timeline_rebuilds",
            "Home timelines rebuilt from the store (single-flight: one per user at a time).",
            registry=r,
        )
        self.events_pending = Gauge(
            "starling_events_pending",
            "Events committed but not yet processed by the slowest consumer group.",
            registry=r,
        )
        self.events_dead_letter = Counter(
            "starling_events_dead_letter",
            "Events parked in the dead-letter store after max_deliver tries.",
            registry=r,
        )
        self.reader_cache_lookups = Counter(
            "starling_reader_cache_lookups",
            "Caching-store lookups by kind (celebrities, hidden, users, authored, counts,"
            " media, tweets) and by hit or miss.",
            ("kind", "result"),
            registry=r,
        )
        self.reader_cache_invalidations = Counter(
            "starling_reader_cache_invalidations",
            "Caching-store invalidations applied, made here (local) or received (remote).",
            ("source",),
            registry=r,
        )
        for source in ("cache", "rebuild", "store"):
            self.timeline_reads.labels(source=source)

    def render(self) -> bytes:
        """The Prometheus text exposition of every metric."""
        return generate_latest(self.registry)
