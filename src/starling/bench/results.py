"""The shape of ``results.json``: every figure of one ``starling bench`` run.

Latencies are milliseconds, rates per second, sizes bytes. A figure that a run did
not measure is ``None`` (for instance the Redis ceiling on the embedded config).
"""

from __future__ import annotations

import msgspec

from starling.bench.histograms import LatencySummary
from starling.bench.profiles import ProfileLine


class Machine(msgspec.Struct, frozen=True, kw_only=True):
    """Where the figures came from."""

    nproc: int
    cpu_model: str
    ram_gb: float
    python: str
    platform: str


class Phase(msgspec.Struct, kw_only=True):
    """One open- or closed-loop phase: offered and achieved rates, latency per request
    kind (and ``send_lag``: the client's own lateness), errors per kind."""

    name: str
    offered_rps: float | None
    achieved_rps: float
    duration_s: float
    latency: dict[str, LatencySummary]
    errors: dict[str, int]
    client_cpu_s: float
    client_processes: int
    error_samples: list[str] = []


class LagPoint(msgspec.Struct, frozen=True, kw_only=True):
    """Fan-out lag of the posts fanned out in one scrape interval (seconds)."""

    at_s: float
    phase: str
    count: float
    p50_s: float | None
    p99_s: float | None
    writes_per_s: float
    pending: float


class WriteCost(msgspec.Struct, frozen=True, kw_only=True):
    """Timeline writes per tweet for authors of one follower count (quiescent probe).
    Push writes only timelines that are present (read recently), so the figure depends
    on how many followers the warm-up made present."""

    bucket: str
    followers: int
    tweets: int
    writes_per_tweet: float
    unconfirmed: int = 0
    """Probe tweets whose fan-out the server's lag counter did not show in time."""


class FanoutThroughput(msgspec.Struct, frozen=True, kw_only=True):
    """One worker pushing an author's tweets into timelines that are all present: the
    followers made present beforehand, ``tweets`` posts, timed from the first post until
    the worker drained them."""

    author: str
    followers: int
    tweets: int
    writes: float
    seconds: float

    @property
    def writes_per_s(self) -> float:
        return self.writes / self.seconds if self.seconds > 0 else 0.0


class StrategyResult(msgspec.Struct, kw_only=True):
    """Everything measured for one fan-out strategy."""

    strategy: str
    warmup: Phase | None = None
    mixed: Phase | None = None
    posting: Phase | None = None
    fanout: Phase | None = None
    fanout_lag_p50_s: float | None = None
    fanout_lag_p99_s: float | None = None
    fanout_lag_count: float = 0
    fanout_writes_per_s: float | None = None
    """Timeline writes per second while a burst of posts drained (the worker's rate)."""
    fanout_throughput: FanoutThroughput | None = None
    """Scale-out, push: writes per second into present timelines only (see there)."""
    read_capacity: Phase | None = None
    read_half: Phase | None = None
    web_read_capacity: Phase | None = None
    """The web app's home page (HTML, 20 tweets), closed loop: its maximum rate."""
    web_read_half: Phase | None = None
    """The web home page, open loop at half its maximum rate: its latency."""
    write_costs: list[WriteCost] = []
    lag_series: list[LagPoint] = []
    page_bytes: int | None = None

    @property
    def max_read_rps(self) -> float | None:
        return self.read_capacity.achieved_rps if self.read_capacity else None

    @property
    def max_web_read_rps(self) -> float | None:
        return self.web_read_capacity.achieved_rps if self.web_read_capacity else None


class HttpCeiling(msgspec.Struct, kw_only=True):
    """The bare ASGI app: max rate (closed loop) and latency at half of it."""

    workers: int
    page_bytes: int
    capacity: Phase
    half: Phase | None = None


class RedisCeilingResult(msgspec.Struct, frozen=True, kw_only=True):
    zadd_per_s: float | None
    p99_ms: float | None
    command: str
    error: str | None = None


class CacheMemoryResult(msgspec.Struct, frozen=True, kw_only=True):
    users: int
    entries_per_user: int
    traced_bytes: int
    reported_bytes: int
    bytes_per_entry: float


class Target(msgspec.Struct, frozen=True, kw_only=True):
    """One benchmark target: the measured ``value`` against ``limit`` (``op`` is
    ``">="`` or ``"<="``); ``met`` is None when the run could not measure it."""

    name: str
    value: float | None
    limit: float
    op: str
    unit: str
    met: bool | None
    note: str = ""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """The options of the run (for reproducing it)."""

    config: str
    strategies: list[str]
    duration_s: float
    rate: float
    post_rate: float
    readers: int
    client_processes: int
    connections: int
    seed: int
    rate_limits: bool = True
    """Whether the server ran with its request budgets on (``--rate-limits``)."""


class Results(msgspec.Struct, kw_only=True):
    """``results.json``."""

    started_at: str
    machine: Machine
    settings: Settings
    strategies: dict[str, StrategyResult]
    http_ceiling: HttpCeiling | None = None
    redis_ceiling: RedisCeilingResult | None = None
    cache_memory: CacheMemoryResult | None = None
    targets: list[Target] = []
    profile_files: list[str] = []
    """py-spy raw stacks of the API process, beside results.json (``--profile``)."""
    profiles: dict[str, list[ProfileLine]] = {}
    """Per profile file: Starling's functions by inclusive share of busy samples."""
