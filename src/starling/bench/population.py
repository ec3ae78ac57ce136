"""Who reads and who posts: actors drawn from the real follower graph (seeded).

The graph is the one ``starling load`` imports (NetworkRepository soc-twitter-follows,
mutual follows), so node ``n`` is user ``user{n}`` with id ``graph_user_id(n)`` and
``degree[n]`` followers and followees; the overlay accounts come from
:mod:`starling.loading.celebrities`. Readers are weighted by their followee count (a
user who follows more has more to read) and ordinary authors by their follower count,
the same activity weighting the loader uses to assign tweets.
"""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Sequence
from typing import NamedTuple

import msgspec

from starling.loading.assign import seeded_random, weighted_distinct
from starling.loading.celebrities import (
    CELEBRITY_PERCENTS,
    celebrity_user_id,
    follower_quota,
)
from starling.loading.import_ids import graph_user_id

PROBE_AUTHORS = 3
"""Authors per follower-count bucket in the timeline-writes probe."""


class Actor(NamedTuple):
    """A user the benchmark acts as: id, username, and followers in the loaded data."""

    user_id: int
    username: str
    followers: int


class Population(msgspec.Struct, frozen=True, kw_only=True):
    """The actors of a run. ``*_cum`` are cumulative weights for :func:`pick`."""

    readers: list[Actor]
    reader_cum: list[float]
    authors: list[Actor]
    author_cum: list[float]
    ten_follower_authors: list[Actor]
    celebrities: list[Actor]
    """The overlay accounts, fewest followers first; the last is the 50% one."""
    probes: dict[str, list[Actor]]
    """Follower-count bucket label → authors of the timeline-writes probe."""

    @property
    def top_celebrity(self) -> Actor:
        return self.celebrities[-1]

    def everyone(self) -> list[Actor]:
        """Every distinct actor (for minting tokens)."""
        seen: dict[int, Actor] = {}
        groups = [
            self.readers,
            self.authors,
            self.ten_follower_authors,
            self.celebrities,
            *self.probes.values(),
        ]
        for actor in itertools.chain.from_iterable(groups):
            seen.setdefault(actor.user_id, actor)
        return list(seen.values())


def pick(actors: Sequence[Actor], cum: Sequence[float] | None, draw: float) -> Actor:
    """The actor a uniform ``draw`` in [0, 1) selects: weighted by ``cum`` (cumulative
    weights, same length as ``actors``), or uniformly when ``cum`` is None."""
    if not cum:
        return actors[min(int(draw * len(actors)), len(actors) - 1)]
    index = bisect.bisect_right(cum, draw * cum[-1])
    return actors[min(index, len(actors) - 1)]


def _actor(node: int, degree: Sequence[int]) -> Actor:
    return Actor(graph_user_id(node), f"user{node}", degree[node])


def _cumulative(actors: Sequence[Actor]) -> list[float]:
    return list(itertools.accumulate(float(max(a.followers, 1)) for a in actors))


def _nodes_with_degree(degree: Sequence[int], wanted: int, k: int, seed: int) -> list[int]:
    """Up to ``k`` seeded nodes whose degree is the one closest to ``wanted``."""
    present = sorted({d for d in degree[1:] if d > 0})
    closest = min(present, key=lambda d: (abs(d - wanted), d))
    nodes = [n for n in range(1, len(degree)) if degree[n] == closest]
    rng = seeded_random(seed, f"probe-{wanted}")
    return sorted(rng.sample(nodes, min(k, len(nodes))))


def build_population(degree: Sequence[int], *, readers: int, authors: int, seed: int) -> Population:
    """Actors for a graph of ``degree[1..n]`` (``degree[0]`` unused), the overlay of
    ``starling load --celebrities`` on top.

    ``readers`` distinct users are sampled weighted by degree (followees) and read with
    the same weights; ``authors`` distinct ordinary authors likewise. Deterministic for
    a seed. Raises ``ValueError`` when no node has an edge.
    """
    node_count = len(degree) - 1
    if node_count < 1 or not any(degree[1:]):
        raise ValueError("the graph has no edge")
    rng = seeded_random(seed, "bench-readers")
    reader_nodes = sorted(set(weighted_distinct(degree, min(readers, node_count), rng)))
    rng = seeded_random(seed, "bench-authors")
    author_nodes = sorted(set(weighted_distinct(degree, min(authors, node_count), rng)))
    reader_actors = [_actor(n, degree) for n in reader_nodes]
    author_actors = [_actor(n, degree) for n in author_nodes]
    ten = [_actor(n, degree) for n in _nodes_with_degree(degree, 10, 200, seed)]
    celebrities = [
        Actor(celebrity_user_id(i), f"celeb_{p}pct", follower_quota(node_count, p))
        for i, p in enumerate(CELEBRITY_PERCENTS, start=1)
    ]
    probes: dict[str, list[Actor]] = {}
    top = max(range(1, node_count + 1), key=lambda n: degree[n])
    for wanted in (1, 10, 100):
        nodes = _nodes_with_degree(degree, wanted, PROBE_AUTHORS, seed)
        if degree[nodes[0]] != degree[top]:  # a small graph may lack a bucket: no repeats
            probes.setdefault(f"{degree[nodes[0]]} followers", [_actor(n, degree) for n in nodes])
    probes[f"{degree[top]} followers (graph max)"] = [_actor(top, degree)]
    for celebrity in celebrities:
        probes[f"{celebrity.followers} followers ({celebrity.username})"] = [celebrity]
    return Population(
        readers=reader_actors,
        reader_cum=_cumulative(reader_actors),
        authors=author_actors,
        author_cum=_cumulative(author_actors),
        ten_follower_authors=ten,
        celebrities=celebrities,
        probes=probes,
    )
