"""Snowflake ids: layout, round trips, the generator's monotonicity, real Twitter ids."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from starling.domain.ids import (
    MAX_SEQUENCE,
    MAX_WORKER_ID,
    SEQUENCE_BITS,
    TWITTER_EPOCH_MS,
    SnowflakeGenerator,
    compose,
    lowest_id_at,
    timestamp_ms,
)

# 41 bits of milliseconds after the epoch: until 2080.
_TIMES = st.integers(min_value=TWITTER_EPOCH_MS, max_value=TWITTER_EPOCH_MS + (1 << 41) - 1)


def _ms(iso: str) -> int:
    return int(datetime.fromisoformat(iso).replace(tzinfo=UTC).timestamp() * 1000)


def _parts(snowflake: int) -> tuple[int, int, int]:
    return (
        timestamp_ms(snowflake),
        (snowflake >> SEQUENCE_BITS) & MAX_WORKER_ID,
        snowflake & MAX_SEQUENCE,
    )


class _StepClock:
    """A clock that returns the given times in turn, then repeats the last one."""

    def __init__(self, *times: int) -> None:
        self._times = list(times)

    def __call__(self) -> int:
        return self._times.pop(0) if len(self._times) > 1 else self._times[0]


@given(
    ms=_TIMES,
    worker=st.integers(0, MAX_WORKER_ID),
    sequence=st.integers(0, MAX_SEQUENCE),
)
def test_compose_round_trips_time_worker_and_sequence(ms: int, worker: int, sequence: int) -> None:
    snowflake = compose(ms, worker, sequence)
    assert 0 <= snowflake < 1 << 63
    assert _parts(snowflake) == (ms, worker, sequence)


@given(ms=_TIMES, later_by=st.integers(min_value=1, max_value=10**9))
def test_later_time_means_larger_id_whatever_the_worker(ms: int, later_by: int) -> None:
    earlier = ms - later_by if ms - later_by >= TWITTER_EPOCH_MS else ms
    later = earlier + later_by
    assert compose(earlier, MAX_WORKER_ID, MAX_SEQUENCE) < compose(later, 0, 0)
    assert timestamp_ms(compose(earlier, 5, 5)) < timestamp_ms(compose(later, 5, 5))


def test_epoch_is_id_zero_and_lowest_id_at_is_the_smallest_id_of_a_millisecond() -> None:
    assert compose(TWITTER_EPOCH_MS) == 0
    assert timestamp_ms(0) == TWITTER_EPOCH_MS
    at = _ms("2024-05-01T12:00:00")
    assert lowest_id_at(at) == compose(at, 0, 0)
    assert lowest_id_at(at) <= compose(at, 7, 99) < lowest_id_at(at + 1)
    assert lowest_id_at(0) == 0  # before the epoch: clamped


@pytest.mark.parametrize(
    ("ms", "worker", "sequence"),
    [
        (TWITTER_EPOCH_MS - 1, 0, 0),
        (TWITTER_EPOCH_MS, MAX_WORKER_ID + 1, 0),
        (TWITTER_EPOCH_MS, -1, 0),
        (TWITTER_EPOCH_MS, 0, MAX_SEQUENCE + 1),
        (TWITTER_EPOCH_MS, 0, -1),
    ],
)
def test_compose_rejects_parts_out_of_range(ms: int, worker: int, sequence: int) -> None:
    with pytest.raises(ValueError, match=r"worker_id|sequence|epoch"):
        compose(ms, worker, sequence)


@pytest.mark.parametrize("worker", [-1, MAX_WORKER_ID + 1])
def test_generator_rejects_a_worker_id_out_of_range(worker: int) -> None:
    with pytest.raises(ValueError, match="worker_id"):
        SnowflakeGenerator(worker, lambda: TWITTER_EPOCH_MS)


@pytest.mark.parametrize(
    ("tweet_id", "created_at"),
    [
        # CrisisLex T6, Hurricane Sandy: the first tweet of the file (posted 2012-10-28).
        (262596552399396864, "2012-10-28T16:47:51"),
        # Twitter US Airline Sentiment: tweet_created "2015-02-24 11:35:52 -0800".
        (570306133677760513, "2015-02-24T19:35:52"),
        # same data set: tweet_created "2015-02-24 11:15:59 -0800".
        (570301130888122368, "2015-02-24T19:15:59"),
        # Twitter's API docs example: created_at "Wed Oct 10 20:19:24 +0000 2018".
        (1050118621198921728, "2018-10-10T20:19:24"),
    ],
)
def test_real_tweet_ids_decode_to_their_real_dates(tweet_id: int, created_at: str) -> None:
    decoded = timestamp_ms(tweet_id)
    assert _ms(created_at) <= decoded < _ms(created_at) + 1000


def test_generator_ids_increase_strictly_and_carry_worker_and_time() -> None:
    now = _ms("2026-01-01T00:00:00")
    gen = SnowflakeGenerator(42, _StepClock(now, now, now + 5, now + 5, now + 9))
    ids = [gen.next_id() for _ in range(5)]
    assert ids == sorted(set(ids))
    assert [_parts(i) for i in ids] == [
        (now, 42, 0),
        (now, 42, 1),
        (now + 5, 42, 0),
        (now + 5, 42, 1),
        (now + 9, 42, 0),
    ]


def test_generator_never_goes_backwards_when_the_clock_does() -> None:
    now = _ms("2026-01-01T00:00:00")
    # The clock jumps back 10 s (an NTP step) and takes a while to catch up.
    gen = SnowflakeGenerator(3, _StepClock(now, now - 10_000, now - 9_000, now - 1, now, now + 1))
    ids = [gen.next_id() for _ in range(6)]
    assert all(a < b for a, b in itertools.pairwise(ids))
    assert all(timestamp_ms(i) >= now for i in ids)
    assert timestamp_ms(ids[-1]) == now + 1


def test_more_than_4096_ids_in_one_millisecond_borrow_the_next_millisecond() -> None:
    now = _ms("2026-01-01T00:00:00")
    gen = SnowflakeGenerator(1, lambda: now)
    ids = [gen.next_id() for _ in range(3 * (MAX_SEQUENCE + 1) + 10)]
    assert all(a < b for a, b in itertools.pairwise(ids))
    assert _parts(ids[MAX_SEQUENCE]) == (now, 1, MAX_SEQUENCE)
    assert _parts(ids[MAX_SEQUENCE + 1]) == (now + 1, 1, 0)
    assert _parts(ids[-1]) == (now + 3, 1, 9)


def test_generators_of_different_workers_never_collide() -> None:
    now = _ms("2026-01-01T00:00:00")
    a = SnowflakeGenerator(1, lambda: now)
    b = SnowflakeGenerator(2, lambda: now)
    ids_a = {a.next_id() for _ in range(5000)}
    ids_b = {b.next_id() for _ in range(5000)}
    assert len(ids_a) == len(ids_b) == 5000
    assert not ids_a & ids_b
