"""The feed rules: newest-first merging, the push/pull policy, the constants."""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from starling.domain.feed import (
    CELEBRITY_THRESHOLD,
    DAY_MS,
    FANOUT_CHUNK_SIZE,
    INACTIVE_DAYS,
    TIMELINE_MAX,
    FanoutPolicy,
    FeedRules,
    ThresholdPolicy,
    below,
    follow_makes_pulled,
    merge_newest_first,
    trim,
    unfollow_makes_pushed,
)

_ID_LISTS = st.lists(
    st.lists(st.integers(min_value=1, max_value=2**63 - 1) | st.integers(1, 50), max_size=30).map(
        lambda ids: sorted(ids, reverse=True)
    ),
    max_size=6,
)


@given(lists=_ID_LISTS, limit=st.integers(min_value=1, max_value=80))
def test_merge_is_the_newest_distinct_ids_of_the_union(lists: list[list[int]], limit: int) -> None:
    merged = merge_newest_first(lists, limit)
    union = {i for ids in lists for i in ids}
    assert merged == sorted(union, reverse=True)[:limit]
    assert all(a > b for a, b in itertools.pairwise(merged))  # desc and unique


def test_merge_interleaves_pushed_and_pulled_ids_and_drops_overlap() -> None:
    cached = [90, 70, 50, 30]
    pulled = [80, 70, 60, 10]
    assert merge_newest_first((cached, pulled), 5) == [90, 80, 70, 60, 50]
    assert merge_newest_first((cached, pulled), 100) == [90, 80, 70, 60, 50, 30, 10]
    assert merge_newest_first((), 10) == []
    assert merge_newest_first(([], []), 10) == []


def test_merge_with_zero_limit_returns_nothing() -> None:
    assert merge_newest_first(([3, 2, 1],), 0) == []


def test_merge_consumes_only_what_it_needs_from_long_inputs() -> None:
    def endless() -> Iterator[int]:
        n = 10**12
        while True:
            yield n
            n -= 1

    lists = cast("list[Sequence[int]]", [endless(), [5]])
    assert merge_newest_first(lists, 3) == [10**12, 10**12 - 1, 10**12 - 2]


def test_below_is_exclusive_and_none_means_everything() -> None:
    ids = [9, 7, 5, 3]
    assert below(ids, 7) == [5, 3]
    assert below(ids, 8) == [7, 5, 3]
    assert below(ids, 3) == []
    assert below(ids, None) == ids


def test_trim_keeps_the_newest_ids_of_an_ascending_list() -> None:
    assert trim([1, 2, 3, 4, 5], 3) == [3, 4, 5]
    assert trim([1, 2], 3) == [1, 2]
    assert trim([], 3) == []


@pytest.mark.parametrize("threshold", [1, 2, 3, 10_000])
def test_threshold_policy_pushes_below_and_pulls_at_or_above(threshold: int) -> None:
    policy = ThresholdPolicy(threshold)
    assert policy.should_push(threshold - 1)
    assert not policy.should_push(threshold)
    assert not policy.should_push(threshold + 1)
    assert policy.is_celebrity(threshold)
    assert not policy.is_celebrity(threshold - 1)
    for followers in range(threshold + 3):
        assert policy.is_celebrity(followers) is not policy.should_push(followers)


def test_threshold_of_one_is_pure_pull_and_a_huge_one_pure_push() -> None:
    pull = ThresholdPolicy(1)
    assert not any(pull.should_push(n) for n in (1, 2, 10, 10**9))
    push = ThresholdPolicy(2**62)
    assert all(push.should_push(n) for n in (0, 1, 10_000, 10**9))


@pytest.mark.parametrize("threshold", [1, 2, 3, 10_000])
def test_crossings_are_the_one_follow_or_unfollow_that_changes_the_rule(threshold: int) -> None:
    policy: FanoutPolicy = ThresholdPolicy(threshold)
    assert policy.threshold == threshold
    for before in range(max(threshold - 3, 0), threshold + 3):
        assert follow_makes_pulled(policy, before) is (before + 1 == threshold)
        assert unfollow_makes_pushed(policy, before) is (before == threshold)
        assert policy.is_pulled(before) is (before >= threshold)


def test_default_rules_are_the_design_constants() -> None:
    rules = FeedRules()
    assert (rules.timeline_max, rules.celebrity_threshold) == (TIMELINE_MAX, CELEBRITY_THRESHOLD)
    assert (TIMELINE_MAX, CELEBRITY_THRESHOLD, INACTIVE_DAYS) == (800, 10_000, 7)
    assert rules.inactive_days == INACTIVE_DAYS
    assert rules.fanout_chunk_size == FANOUT_CHUNK_SIZE
    assert rules.inactive_ms == 7 * DAY_MS == 604_800_000


def test_rules_take_overrides_and_fractional_days() -> None:
    rules = FeedRules(timeline_max=5, celebrity_threshold=3, inactive_days=0.5, fanout_chunk_size=2)
    assert (rules.timeline_max, rules.celebrity_threshold, rules.fanout_chunk_size) == (5, 3, 2)
    assert rules.inactive_ms == 43_200_000


@pytest.mark.parametrize("field", ["timeline_max", "celebrity_threshold", "fanout_chunk_size"])
@pytest.mark.parametrize("value", [0, -1])
def test_rules_reject_constants_below_one(field: str, value: int) -> None:
    with pytest.raises(ValueError, match="positive"):
        FeedRules(**{field: value})


def test_strategy_policies_push_everyone_pull_everyone_or_split_at_the_threshold() -> None:
    from starling.domain.feed import policy_for

    hybrid, push, pull = (policy_for(s, 10_000) for s in ("hybrid", "push", "pull"))

    assert hybrid.should_push(9_999)
    assert not hybrid.should_push(10_000)
    assert push.should_push(10**12)
    assert not pull.should_push(1)
    with pytest.raises(ValueError, match="unknown fan-out strategy"):
        policy_for("broadcast", 10_000)  # type: ignore[arg-type]
