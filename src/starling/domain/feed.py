"""THE feed rules: constants, the push/pull policy, merging and filtering of home timelines.

All transport-free. Tests override the constants through :class:`FeedRules`.
(Mastodon keeps the same rules in one place, ``app/lib/feed_manager.rb``.)
"""

from __future__ import annotations

import heapq
from collections.abc import Iterable, Sequence
from typing import Literal, Protocol

TIMELINE_MAX = 800
"""Entries in a cached home timeline: the size of Twitter's timeline cache (Krikorian,
"Timelines at Scale", QCon 2012)."""

CELEBRITY_THRESHOLD = 10_000
"""Followers from which an author's tweets are pulled at read time instead of pushed."""

INACTIVE_DAYS = 7
"""Days without a home-timeline read after which push skips a follower and the cached
timeline is dropped (rebuilt on the next read)."""

FANOUT_CHUNK_SIZE = 1_000
"""Followers per timeline-write batch (Stream-Framework's ``fanout_chunk_size``)."""

REPEAT_WINDOW = 40
"""Entries after (older than) a retweet in which its content showing already makes it a
repeat. Mastodon's FeedManager skips a reblog whose original or another reblog of it is
among the newest 40 items of the feed (``FeedManager#add_to_feed``, "reblog_key")."""

DAY_MS = 86_400_000


class FeedRules:
    """The feed constants in force; one immutable object shared by services and adapters."""

    __slots__ = ("celebrity_threshold", "fanout_chunk_size", "inactive_days", "timeline_max")

    def __init__(
        self,
        *,
        timeline_max: int = TIMELINE_MAX,
        celebrity_threshold: int = CELEBRITY_THRESHOLD,
        inactive_days: float = INACTIVE_DAYS,
        fanout_chunk_size: int = FANOUT_CHUNK_SIZE,
    ) -> None:
        if timeline_max < 1 or celebrity_threshold < 1 or fanout_chunk_size < 1:
            raise ValueError("feed constants must be positive")
        if inactive_days <= 0:
            raise ValueError("inactive_days must be positive")
        self.timeline_max = timeline_max
        self.celebrity_threshold = celebrity_threshold
        self.inactive_days = inactive_days
        self.fanout_chunk_size = fanout_chunk_size

    @property
    def inactive_ms(self) -> int:
        """``inactive_days`` in milliseconds."""
        return int(self.inactive_days * DAY_MS)


class FanoutPolicy(Protocol):
    """Decides, per author, whether a new tweet is pushed to followers or pulled at read.

    Consumers (fan-out, rebuild, the reader's pull set) use this protocol only, never a
    concrete policy class.
    """

    @property
    def threshold(self) -> int:
        """Followers from which an author is pulled: the parameter of the pull-set query
        (``Store.celebrity_followee_ids``), which is this policy's rule in SQL."""
        ...

    def is_pulled(self, followers_count: int) -> bool:
        """Whether an author with ``followers_count`` followers is pulled at read time
        (a celebrity) rather than pushed to followers' cached timelines."""
        ...


class ThresholdPolicy:
    """Hybrid: push below ``threshold`` followers, pull at or above it (Twitter's scheme).

    ``threshold=1`` gives pure pull for everyone with a follower, and a threshold above
    any follower count gives pure push; the benchmark uses both as baselines.
    """

    def __init__(self, threshold: int) -> None:
        self.threshold = threshold

    def is_pulled(self, followers_count: int) -> bool:
        # THE celebrity rule; everything else asks a FanoutPolicy (the pull-set SQL takes
        # ``threshold`` as its parameter).
        return followers_count >= self.threshold

    def should_push(self, followers_count: int) -> bool:
        """The opposite of :meth:`is_pulled`."""
        return not self.is_pulled(followers_count)

    def is_celebrity(self, followers_count: int) -> bool:
        """Same as :meth:`is_pulled`."""
        return self.is_pulled(followers_count)


def follow_makes_pulled(policy: FanoutPolicy, followers_before: int) -> bool:
    """Whether a follow taking an author from ``followers_before`` followers to one more
    makes them pulled: fan-out stops pushing their tweets, so their followers must
    start pulling them."""
    return not policy.is_pulled(followers_before) and policy.is_pulled(followers_before + 1)


def unfollow_makes_pushed(policy: FanoutPolicy, followers_before: int) -> bool:
    """Whether an unfollow taking an author from ``followers_before`` followers to one
    fewer makes them pushed again: readers stop pulling their tweets, so their recent
    tweets must be pushed into the followers' cached timelines once."""
    return policy.is_pulled(followers_before) and not policy.is_pulled(followers_before - 1)


FanoutStrategy = Literal["hybrid", "push", "pull"]
"""How new tweets reach followers: ``hybrid`` (push below the celebrity threshold, pull
at or above it: the default), ``push`` (everyone pushed, no threshold) or ``pull``
(nothing pushed to followers; every followee merged at read). Push and pull are the
baselines ``starling bench`` compares hybrid with."""

FANOUT_STRATEGIES: tuple[FanoutStrategy, ...] = ("hybrid", "push", "pull")

PUSH_ALL_THRESHOLD = 2**62
"""A threshold above any follower count: pure push."""


def policy_for(strategy: FanoutStrategy, celebrity_threshold: int) -> ThresholdPolicy:
    """The policy of ``strategy``: hybrid keeps ``celebrity_threshold``; push raises it
    above any follower count; pull lowers it to 1, so every author with a follower is
    read-time merged (an author's own timeline is still written at post time).
    Raises ``ValueError`` for an unknown strategy."""
    if strategy == "hybrid":
        return ThresholdPolicy(celebrity_threshold)
    if strategy == "push":
        return ThresholdPolicy(PUSH_ALL_THRESHOLD)
    if strategy == "pull":
        return ThresholdPolicy(1)
    raise ValueError(f"unknown fan-out strategy {strategy!r}: use one of {FANOUT_STRATEGIES}")


def merge_newest_first(lists: Iterable[Sequence[int]], limit: int) -> list[int]:
    """K-way merge of id lists that are each sorted newest-first (descending).

    Returns at most ``limit`` distinct ids, descending. O(limit * log k) for k lists,
    consuming only what it needs of each. When only one list has ids (most readers
    follow no celebrity, so nothing is pulled), its head is the answer, taken without a
    Python-level step per id.
    """
    if limit <= 0:
        return []
    lists = list(lists)
    present = [ids for ids in lists if not isinstance(ids, Sequence) or ids]
    if len(present) == 1 and isinstance(present[0], Sequence):
        head = list(dict.fromkeys(present[0][:limit]))
        if len(head) == min(limit, len(present[0])):
            return head  # no repeats in it (a repeat would leave room for more)
    out: list[int] = []
    last: int | None = None
    for tweet_id in heapq.merge(*lists, reverse=True):
        if tweet_id != last:
            out.append(tweet_id)
            last = tweet_id
            if len(out) >= limit:
                break
    return out


def below(ids: Sequence[int], max_id: int | None) -> list[int]:
    """The ids of a descending list that are strictly smaller than ``max_id`` (None: all)."""
    if max_id is None:
        return list(ids)
    return [i for i in ids if i < max_id]


def trim(ids_ascending: list[int], timeline_max: int) -> list[int]:
    """Keep the newest ``timeline_max`` ids of an ascending list (the cache's trim rule)."""
    return ids_ascending[-timeline_max:] if len(ids_ascending) > timeline_max else ids_ascending


def is_repeat(content_id: int, older_content_ids: Iterable[int]) -> bool:
    """Whether a timeline entry showing ``content_id`` (the original's id for a retweet)
    repeats one of the :data:`REPEAT_WINDOW` entries just older than it: the original
    itself, or another retweet of it. Home timelines show the oldest of such repeats
    only, so a tweet already seen, or retweeted again by a second followee, appears once.
    Deciding by older entries only keeps a page's choices independent of the pages
    before it."""
    return content_id in older_content_ids
