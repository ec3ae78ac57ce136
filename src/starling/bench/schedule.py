"""Open-loop arrival schedules: what to send, and when, fixed before the run starts.

An open-loop load generator sends each request at its scheduled time whether or not
earlier ones have answered, and measures latency from that scheduled time. A closed
loop (send, wait, send) slows down with the server and so hides the queueing delay a
real user population would see: "coordinated omission" (Gil Tene, "How NOT to Measure
Latency", 2015; the wrk2 load generator). Arrivals here are evenly spaced at the given
rate; each carries a seeded random draw the driver maps to an actor (a reader, an
author ...), so a schedule and its actors are reproducible.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import NamedTuple

READ = "read"
POST = "post"
"""A post by an ordinary author drawn by activity (graph degree)."""
POST_TEN = "post_10_followers"
"""A post by an author with exactly 10 followers: the small end of the posting target."""
POST_CELEBRITY = "post_celebrity"
"""A post by the overlay's largest celebrity (50% of users follow it)."""
LIKE = "like"
FOLLOW = "follow"
WEB_READ = "web_read"
"""The web app's home page (server-rendered HTML) of a reader drawn like ``read``."""
KINDS: tuple[str, ...] = (READ, POST, POST_TEN, POST_CELEBRITY, LIKE, FOLLOW, WEB_READ)

MIXED: Mapping[str, float] = {
    READ: 100.0,
    POST: 0.6,
    POST_TEN: 0.2,
    POST_CELEBRITY: 0.2,
    LIKE: 1.0,
    FOLLOW: 0.5,
}
"""The mixed workload: 100 reads per post (the design's read:write ratio), a fifth of the
posts by a 10-follower author and a fifth by the 202k-follower celebrity, plus likes and
follows."""

READS_ONLY: Mapping[str, float] = {READ: 1.0}

WEB_READS_ONLY: Mapping[str, float] = {WEB_READ: 1.0}
"""The web home page alone: its capacity and latency beside the JSON home read's."""

POSTING: Mapping[str, float] = {POST_TEN: 1.0, POST_CELEBRITY: 1.0, READ: 2.0}
"""The posting-cost phase: celebrity and 10-follower posts in equal numbers, with reads."""


def fanout_mix(posts_per_read: float) -> Mapping[str, float]:
    """Ordinary posts mixed with reads, ``posts_per_read`` posts for each read."""
    return {POST: posts_per_read, READ: 1.0}


class Arrival(NamedTuple):
    """One scheduled request: ``at_s`` seconds after the phase start, its ``kind`` (one
    of :data:`KINDS`) and ``draw``, a uniform number in [0, 1) that picks the actor."""

    at_s: float
    kind: str
    draw: float


def open_loop(
    *, rate: float, duration_s: float, mix: Mapping[str, float], seed: int
) -> list[Arrival]:
    """``rate`` arrivals per second, evenly spaced over ``duration_s`` seconds, kinds drawn
    with the relative weights of ``mix`` (seeded). Raises ``ValueError`` for a
    non-positive rate or duration, or a mix without positive weight."""
    if rate <= 0 or duration_s <= 0:
        raise ValueError("rate and duration must be positive")
    kinds = [k for k, w in mix.items() if w > 0]
    if not kinds:
        raise ValueError("the mix has no kind with a positive weight")
    weights = [mix[k] for k in kinds]
    rng = random.Random(seed)
    count = int(rate * duration_s)
    chosen = rng.choices(kinds, weights=weights, k=count)
    interval = 1.0 / rate
    return [Arrival(i * interval, kind, rng.random()) for i, kind in enumerate(chosen)]


def shard(arrivals: Sequence[Arrival], parts: int) -> list[list[Arrival]]:
    """Deal ``arrivals`` round-robin into ``parts`` schedules (one per driver process):
    each keeps the global timing, so together they send at the full rate."""
    if parts < 1:
        raise ValueError("parts must be at least 1")
    return [list(arrivals[i::parts]) for i in range(parts)]


def counts(arrivals: Sequence[Arrival]) -> dict[str, int]:
    """Arrivals per kind."""
    out: dict[str, int] = {}
    for arrival in arrivals:
        out[arrival.kind] = out.get(arrival.kind, 0) + 1
    return out
