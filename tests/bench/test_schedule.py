"""Open-loop schedules: fixed arrival times, seeded kinds, sharding across drivers."""

from __future__ import annotations

import pytest

from starling.bench import schedule


def test_arrivals_are_evenly_spaced_at_the_rate() -> None:
    arrivals = schedule.open_loop(rate=50, duration_s=2, mix=schedule.READS_ONLY, seed=1)

    assert len(arrivals) == 100
    assert [a.at_s for a in arrivals[:3]] == pytest.approx([0.0, 0.02, 0.04])
    assert arrivals[-1].at_s == pytest.approx(1.98)
    assert all(0.0 <= a.draw < 1.0 for a in arrivals)


def test_kinds_follow_the_mix_and_the_seed() -> None:
    first = schedule.open_loop(rate=1_000, duration_s=20, mix=schedule.MIXED, seed=7)
    again = schedule.open_loop(rate=1_000, duration_s=20, mix=schedule.MIXED, seed=7)
    other = schedule.open_loop(rate=1_000, duration_s=20, mix=schedule.MIXED, seed=8)

    assert first == again
    assert first != other
    counts = schedule.counts(first)
    posts = counts["post"] + counts["post_10_followers"] + counts["post_celebrity"]
    assert 80 < counts["read"] / posts < 125  # about 100 reads per post


def test_shards_keep_the_global_timing() -> None:
    arrivals = schedule.open_loop(rate=10, duration_s=1, mix=schedule.POSTING, seed=3)

    parts = schedule.shard(arrivals, 3)

    assert [len(p) for p in parts] == [4, 3, 3]
    assert sorted(a for p in parts for a in p) == sorted(arrivals)
    assert [a.at_s for a in parts[1]] == pytest.approx([0.1, 0.4, 0.7])


@pytest.mark.parametrize(
    ("rate", "duration", "mix"),
    [(0, 1, schedule.READS_ONLY), (1, 0, schedule.READS_ONLY), (1, 1, {"read": 0.0})],
)
def test_unusable_schedules_are_refused(
    rate: float, duration: float, mix: dict[str, float]
) -> None:
    with pytest.raises(ValueError, match="positive"):
        schedule.open_loop(rate=rate, duration_s=duration, mix=mix, seed=0)
