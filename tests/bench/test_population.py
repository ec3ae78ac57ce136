"""Actors drawn from a follower graph: readers, authors, probe buckets, the overlay."""

from __future__ import annotations

import pytest

from starling.bench.population import build_population, pick
from starling.loading.celebrities import celebrity_user_id
from starling.loading.import_ids import graph_user_id


def _degree() -> list[int]:
    # node 0 unused; node 1 is a hub, nodes 2..11 have 10 followers, the rest 1.
    return [0, 300, *([10] * 10), *([1] * 189)]


def test_population_is_seeded_and_weighted_by_activity() -> None:
    population = build_population(_degree(), readers=20, authors=10, seed=5)
    again = build_population(_degree(), readers=20, authors=10, seed=5)

    assert population == again
    assert len(population.readers) == 20
    hub = population.readers[0]
    assert (hub.user_id, hub.username, hub.followers) == (graph_user_id(1), "user1", 300)
    assert pick(population.readers, population.reader_cum, 0.0) == hub  # the heaviest first


def test_probe_buckets_and_celebrities() -> None:
    population = build_population(_degree(), readers=5, authors=5, seed=5)

    assert {a.followers for a in population.ten_follower_authors} == {10}
    assert list(population.probes) == [
        "1 followers",
        "10 followers",
        "300 followers (graph max)",
        "2 followers (celeb_1pct)",
        "20 followers (celeb_10pct)",
        "100 followers (celeb_50pct)",
    ]
    assert len(population.probes["10 followers"]) == 3
    assert [c.user_id for c in population.celebrities] == [celebrity_user_id(i) for i in (1, 2, 3)]
    assert population.top_celebrity.username == "celeb_50pct"
    assert population.top_celebrity.followers == 100  # 50% of 200 users
    ids = [a.user_id for a in population.everyone()]
    assert len(ids) == len(set(ids))


def test_uniform_pick_covers_every_actor() -> None:
    population = build_population(_degree(), readers=5, authors=5, seed=5)
    actors = population.ten_follower_authors
    picked = {pick(actors, None, i / 100) for i in range(100)}
    assert picked == set(actors)


def test_a_graph_without_edges_is_refused() -> None:
    with pytest.raises(ValueError, match="no edge"):
        build_population([0, 0, 0], readers=1, authors=1, seed=0)
