"""Trend rules: what "trending" means, independent of where the counts are kept.

A hashtag trends when its count in the sliding window is high *against its own usual
rate*, not merely high: an always-frequent tag scores about 1, a tag rising from
nothing scores far above. The score is the ratio of observed to expected counts with
additive smoothing::

    expected = baseline_per_minute * window_minutes
    score    = (window_count + SMOOTHING) / (expected + SMOOTHING)

The ratio of the counts in the current bucket to a background model of the same topic
is the basic detector of the Twitter/Gnip white paper "Trend Detection in Social Data"
(Hendrickson, Kolb, Lehman, Montague, 2015); the pseudo-count ``SMOOTHING`` (Lidstone's
additive smoothing) keeps a tag seen twice for the first time from outranking an event
seen a thousand times against a baseline of a hundred: (2+5)/(0+5) = 1.4 against
(1000+5)/(100+5) ≈ 9.6.
"""

from __future__ import annotations

from collections.abc import Iterable

import msgspec

BUCKET_MS = 60_000
"""Width of one time bucket: 1 minute."""

WINDOW_MS = 3_600_000
"""The sliding window trends are measured over: 1 hour."""

BASELINE_MS = 6 * 3_600_000
"""How far back the baseline looks (the Redis adapter) or its half-life (the memory
adapter's exponential average): 6 hours, long enough that a tag rising for an hour has
not yet become its own baseline, short enough to follow the day's rhythm."""

SMOOTHING = 5.0
"""Pseudo-count added to observed and expected window counts (see the module docstring)."""

MIN_VOLUME = 3
"""Fewest tweets in the window for a tag to trend at all: one person's tag is not a trend."""

CANDIDATES = 200
"""Heaviest window tags that are scored: a tag must be among them to trend."""

DEFAULT_TRENDS = 10
"""Trends returned by default (Twitter showed ten)."""


class TagCount(msgspec.Struct, frozen=True):
    """A hashtag's counts as a trend counter saw them: ``tag`` folded, without '#';
    ``window_count`` tweets in the sliding window (an estimate that never undercounts
    what the counter kept); ``baseline_per_minute`` its usual rate before the window."""

    tag: str
    window_count: int
    baseline_per_minute: float


class Trend(msgspec.Struct, frozen=True):
    """A trending hashtag (folded, without '#'), its window count and its score."""

    tag: str
    tweet_volume: int
    score: float


class TrendConfig(msgspec.Struct, frozen=True, kw_only=True):
    """The constants above, overridable per deployment and in tests."""

    bucket_ms: int = BUCKET_MS
    window_ms: int = WINDOW_MS
    baseline_ms: int = BASELINE_MS
    smoothing: float = SMOOTHING
    min_volume: int = MIN_VOLUME
    candidates: int = CANDIDATES

    @property
    def window_buckets(self) -> int:
        return max(1, self.window_ms // self.bucket_ms)


def score(
    window_count: int, baseline_per_minute: float, window_minutes: float, smoothing: float
) -> float:
    """Smoothed ratio of observed to expected window counts (module docstring)."""
    expected = max(0.0, baseline_per_minute) * window_minutes
    return (window_count + smoothing) / (expected + smoothing)


def rank(counts: Iterable[TagCount], config: TrendConfig, limit: int) -> list[Trend]:
    """The ``limit`` best trends among ``counts``: tags with at least ``min_volume``
    window tweets, by score, then window count, then tag (a stable order)."""
    minutes = config.window_ms / 60_000
    trends = [
        Trend(
            c.tag,
            c.window_count,
            score(c.window_count, c.baseline_per_minute, minutes, config.smoothing),
        )
        for c in counts
        if c.window_count >= config.min_volume
    ]
    trends.sort(key=lambda t: (-t.score, -t.tweet_volume, t.tag))
    return trends[:limit]
