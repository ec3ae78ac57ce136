"""Latency recording in HDR histograms (Gil Tene's HdrHistogram, Python port ``hdrh``).

Values are microseconds from 1 µs to 60 s at 3 significant digits (0.1% error).
Histograms cross process boundaries in HdrHistogram's compressed base64 encoding.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import msgspec
from hdrh.histogram import HdrHistogram

LOWEST_US = 1
HIGHEST_US = 60_000_000
SIGNIFICANT_DIGITS = 3

CDF_PERCENTILES: tuple[float, ...] = (
    *(float(p) for p in range(0, 90, 5)),
    *(90.0 + p / 2 for p in range(0, 18)),
    99.0,
    99.5,
    99.9,
    99.99,
    100.0,
)
"""Percentiles sampled for a latency CDF: dense in the tail, where strategies differ."""


def new_histogram() -> HdrHistogram:
    """An empty histogram of microseconds (1 µs .. 60 s, 3 significant digits)."""
    return HdrHistogram(LOWEST_US, HIGHEST_US, SIGNIFICANT_DIGITS)


def record_seconds(histogram: HdrHistogram, seconds: float) -> None:
    """Record a latency in seconds, clamped to the histogram's range."""
    micros = int(seconds * 1_000_000)
    histogram.record_value(min(max(micros, LOWEST_US), HIGHEST_US))


def encode(histogram: HdrHistogram) -> str:
    """The compressed base64 form (HdrHistogram's V2 encoding), for another process."""
    raw: bytes = histogram.encode()
    return raw.decode("ascii")


def decode(encoded: str) -> HdrHistogram:
    """Inverse of :func:`encode`."""
    histogram: HdrHistogram = HdrHistogram.decode(encoded.encode("ascii"))
    return histogram


def merged(encoded: Iterable[str]) -> HdrHistogram:
    """One histogram adding up every encoded histogram of ``encoded`` (may be empty)."""
    total = new_histogram()
    for item in encoded:
        total.add(decode(item))
    return total


class LatencySummary(msgspec.Struct, frozen=True, kw_only=True):
    """Percentiles of one histogram, in milliseconds; ``cdf`` pairs (percentile, ms)."""

    count: int
    mean_ms: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float
    cdf: list[tuple[float, float]]


def summarize(histogram: HdrHistogram) -> LatencySummary:
    """Percentiles of ``histogram`` in milliseconds (all 0 when it is empty)."""
    count = int(histogram.get_total_count())

    def ms(percentile: float) -> float:
        return float(histogram.get_value_at_percentile(percentile)) / 1000 if count else 0.0

    return LatencySummary(
        count=count,
        mean_ms=float(histogram.get_mean_value()) / 1000 if count else 0.0,
        p50_ms=ms(50),
        p90_ms=ms(90),
        p99_ms=ms(99),
        p999_ms=ms(99.9),
        max_ms=float(histogram.get_max_value()) / 1000 if count else 0.0,
        cdf=[(p, ms(p)) for p in CDF_PERCENTILES] if count else [],
    )


def summarize_encoded(by_name: Mapping[str, list[str]]) -> dict[str, LatencySummary]:
    """Merge each name's encoded histograms (one per driver process) and summarize."""
    return {name: summarize(merged(items)) for name, items in sorted(by_name.items())}
