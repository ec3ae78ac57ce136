"""Reading the server's Prometheus metrics (docs/api.md, "Operations") during a run.

Fan-out lag comes from ``starling_fanout_lag_seconds`` (a histogram: post committed →
in every pushed timeline), timeline writes from ``starling_fanout_timeline_writes_total``
and the backlog from ``starling_events_pending``. Quantiles of a histogram delta are
estimated as PromQL's ``histogram_quantile`` does: linear within the bucket.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import httpx
import msgspec
from prometheus_client.parser import text_string_to_metric_families

LAG = "starling_fanout_lag_seconds"
WRITES = "starling_fanout_timeline_writes_total"
PENDING = "starling_events_pending"


class Snapshot(msgspec.Struct, frozen=True, kw_only=True):
    """Values of one scrape: ``lag_buckets`` are (upper bound s, cumulative count),
    ascending, ending with +inf."""

    at_s: float
    writes: float
    pending: float
    lag_buckets: list[tuple[float, float]]
    lag_count: float
    lag_sum: float


def parse(text: str, at_s: float = 0.0) -> Snapshot:
    """A :class:`Snapshot` of a Prometheus text exposition (missing metrics read as 0)."""
    writes = pending = lag_count = lag_sum = 0.0
    buckets: list[tuple[float, float]] = []
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == WRITES:
                writes += sample.value
            elif sample.name == PENDING:
                pending += sample.value
            elif sample.name == f"{LAG}_bucket":
                buckets.append((float(sample.labels["le"]), sample.value))
            elif sample.name == f"{LAG}_count":
                lag_count += sample.value
            elif sample.name == f"{LAG}_sum":
                lag_sum += sample.value
    buckets.sort()
    return Snapshot(
        at_s=at_s,
        writes=writes,
        pending=pending,
        lag_buckets=buckets,
        lag_count=lag_count,
        lag_sum=lag_sum,
    )


def lag_delta(before: Snapshot, after: Snapshot) -> list[tuple[float, float]]:
    """Cumulative lag buckets of the observations made between two scrapes."""
    old = dict(before.lag_buckets)
    return [(le, count - old.get(le, 0.0)) for le, count in after.lag_buckets]


def quantile(buckets: Sequence[tuple[float, float]], q: float) -> float | None:
    """The ``q`` quantile (0..1) of cumulative ``buckets`` (upper bound, count),
    interpolated linearly inside its bucket like PromQL's ``histogram_quantile``; the
    +inf bucket answers with the largest finite bound. None when there is no
    observation."""
    if not buckets or buckets[-1][1] <= 0:
        return None
    total = buckets[-1][1]
    rank = q * total
    lower_bound, lower_count = 0.0, 0.0
    for bound, count in buckets:
        if count >= rank:
            if math.isinf(bound):
                return lower_bound
            if count == lower_count:
                return bound
            return lower_bound + (bound - lower_bound) * (rank - lower_count) / (
                count - lower_count
            )
        lower_bound, lower_count = bound, count
    return lower_bound


def fetch(url: str, at_s: float = 0.0, timeout_s: float = 5.0) -> Snapshot:
    """Scrape ``url`` (a /metrics endpoint). Raises ``httpx.HTTPError``."""
    response = httpx.get(url, timeout=timeout_s)
    response.raise_for_status()
    return parse(response.text, at_s)
