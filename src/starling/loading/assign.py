"""Seeded choice of a graph user as the author of each imported tweet.

The tweet sets and the graph come from different sources, so authorship is made up,
deterministically (same seed → same authors; nothing depends on dict or set order):

- Authors are drawn with probability proportional to graph degree: well-connected
  users post more, and a hub's many followers then see those tweets at home.
- Tweets with an author screen name (the airline set) keep their authors together:
  each distinct name, in sorted order, gets its own graph user, drawn by degree without
  replacement (Efraimidis & Spirakis, "Weighted random sampling with a reservoir",
  IPL 2006), so two real authors never merge while enough users are left.
- Tweets without a name (CrisisLex) draw an author each, with replacement.

Each rule uses its own ``random.Random`` seeded from a string, so adding a rule or an
overlay does not shift the draws of another (string seeds are hashed with SHA-512 by
``random.seed``, independent of ``PYTHONHASHSEED``).
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
from collections.abc import Sequence

from starling.loading.tweet_pool import PoolTweet


def seeded_random(seed: int, purpose: str) -> random.Random:
    """A generator for one purpose of one load: ``Random("starling-load:{seed}:{purpose}")``."""
    return random.Random(f"starling-load:{seed}:{purpose}")


def weighted_distinct(degree: Sequence[int], k: int, rng: random.Random) -> list[int]:
    """``k`` distinct nodes (indexes of ``degree`` with positive degree), drawn without
    replacement with probability proportional to degree; when fewer than ``k`` such
    nodes exist, the rest are drawn with replacement. Order: the order of the draw."""
    if k <= 0:
        return []
    eligible = [n for n, d in enumerate(degree) if d > 0]
    if not eligible:
        raise ValueError("no node has a positive degree")
    # Key log(u)/w, largest first: the Efraimidis-Spirakis key u**(1/w), without underflow.
    keys = {n: math.log(1.0 - rng.random()) / degree[n] for n in eligible}
    chosen = heapq.nlargest(min(k, len(eligible)), eligible, key=keys.__getitem__)
    if k > len(chosen):
        chosen += weighted_choices(degree, k - len(chosen), rng)
    return chosen


def weighted_choices(degree: Sequence[int], k: int, rng: random.Random) -> list[int]:
    """``k`` nodes drawn with replacement, with probability proportional to ``degree[n]``."""
    if k <= 0:
        return []
    cum_weights = list(itertools.accumulate(degree))
    if not cum_weights or cum_weights[-1] <= 0:
        raise ValueError("no node has a positive degree")
    return rng.choices(range(len(degree)), cum_weights=cum_weights, k=k)


def assign_authors(tweets: Sequence[PoolTweet], degree: Sequence[int], seed: int) -> list[int]:
    """The author node of each tweet (aligned with ``tweets``), by the rules above.

    ``degree[n]`` is node ``n``'s degree (``degree[0]`` unused and 0). Raises
    ``ValueError`` when no node has a positive degree.
    """
    names = sorted({t.author for t in tweets if t.author is not None})
    name_nodes = weighted_distinct(degree, len(names), seeded_random(seed, "named-authors"))
    node_of_name = dict(zip(names, name_nodes, strict=True))
    unnamed = sum(1 for t in tweets if t.author is None)
    drawn = iter(weighted_choices(degree, unnamed, seeded_random(seed, "unnamed-authors")))
    return [node_of_name[t.author] if t.author is not None else next(drawn) for t in tweets]
