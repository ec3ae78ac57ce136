"""The seeded celebrity overlay (docs/data.md).

The real graph's largest account has 626 followers, so no author crosses the celebrity
threshold (10,000) and the pull half of the hybrid timeline would go unused. The overlay
adds three verified accounts, ``celeb_1pct``, ``celeb_10pct`` and ``celeb_50pct``,
followed by seeded random samples of 1%, 10% and 50% of the graph users (rounded half
up: 4,047 / 40,472 / 202,360 of 404,719). Each posts ``CELEBRITY_TWEETS`` tweets whose
texts are drawn from the imported pool; a copy keeps its source's millisecond (worker id
``OVERLAY_WORKER_ID``), so celebrity tweets interleave in time with everyone else's.
"""

from __future__ import annotations

import msgspec

from starling.domain import ids
from starling.domain.model import NewUser, Tweet
from starling.loading.assign import seeded_random
from starling.loading.import_ids import IMPORT_EPOCH_MS, OVERLAY_WORKER_ID
from starling.loading.tweet_pool import TweetPool

CELEBRITY_PERCENTS = (1, 10, 50)
"""Share of graph users, in percent, following each overlay account (docs/data.md)."""

CELEBRITY_TWEETS = 20
"""Tweets per overlay account: enough for a page of pulled tweets to merge."""


class Celebrity(msgspec.Struct, frozen=True, kw_only=True):
    """One overlay account: the user, its followers (graph node numbers, ascending) and
    its tweets (ascending ids)."""

    user: NewUser
    follower_nodes: list[int]
    tweets: list[Tweet]


def celebrity_user_id(index: int) -> int:
    """User id of the ``index``-th overlay account (1-based): worker 1021 at ``IMPORT_EPOCH_MS``."""
    return ids.compose(IMPORT_EPOCH_MS, OVERLAY_WORKER_ID, index)


def follower_quota(node_count: int, percent: int) -> int:
    """``percent``% of ``node_count``, rounded half up."""
    return (node_count * percent + 50) // 100


def build_overlay(node_count: int, pool: TweetPool, seed: int) -> list[Celebrity]:
    """The overlay accounts for a graph of nodes 1..``node_count`` and the tweets of ``pool``.

    Deterministic for a given seed, graph and pool. Allocates the tweet ids from
    ``pool.fresh_ids``, so call it once per load.
    """
    rng = seeded_random(seed, "celebrities")
    overlay: list[Celebrity] = []
    for index, percent in enumerate(CELEBRITY_PERCENTS, start=1):
        user_id = celebrity_user_id(index)
        followers = rng.sample(range(1, node_count + 1), follower_quota(node_count, percent))
        picks = rng.sample(range(len(pool.tweets)), min(CELEBRITY_TWEETS, len(pool.tweets)))
        tweets: list[Tweet] = []
        for pick in sorted(picks):
            source = pool.tweets[pick]
            tweet_id = pool.fresh_ids.allocate(ids.timestamp_ms(source.id), OVERLAY_WORKER_ID)
            tweets.append(
                Tweet(
                    id=tweet_id,
                    author_id=user_id,
                    text=source.text,
                    created_at_ms=ids.timestamp_ms(tweet_id),
                )
            )
        user = NewUser(
            id=user_id,
            username=f"celeb_{percent}pct",
            display_name=f"Celebrity {percent}%",
            email=None,
            password_hash=None,
            created_at_ms=IMPORT_EPOCH_MS,
            bio=f"Seeded celebrity overlay of starling load: followed by {percent}% of users.",
            verified=True,
        )
        overlay.append(
            Celebrity(
                user=user,
                follower_nodes=sorted(followers),
                tweets=sorted(tweets, key=lambda t: t.id),
            )
        )
    return overlay
