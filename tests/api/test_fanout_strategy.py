"""STARLING_FANOUT_STRATEGY: the push and pull baselines beside the hybrid default."""

from __future__ import annotations

import pytest

from conftest import Account, Harness, HarnessFactory
from starling.config import SettingsError, load_settings

WRITES = "starling_fanout_timeline_writes_total"


async def _celebrity_with_fans(starling: Harness, fans: int) -> tuple[Account, list[Account]]:
    """An author followed by ``fans`` active readers (above the threshold of 3)."""
    author = await starling.register()
    readers = [await starling.register() for _ in range(fans)]
    for reader in readers:
        await starling.follow(reader, author)
        await starling.home_ids(reader)
    return author, readers


async def test_push_strategy_pushes_even_a_celebrity(make_starling: HarnessFactory) -> None:
    starling = await make_starling(celebrity_threshold=3, fanout_strategy="push")
    author, readers = await _celebrity_with_fans(starling, 4)
    before = await starling.metric(WRITES)

    tweet_id = await starling.post(author, "pushed to all four")
    await starling.drain()

    assert await starling.metric(WRITES) - before == 4
    for reader in readers:
        assert await starling.core.cache.read(reader.id, max_id=None, limit=5) == [tweet_id]
        assert await starling.home_ids(reader) == [tweet_id]


async def test_pull_strategy_pushes_nothing_yet_home_shows_the_tweet(
    make_starling: HarnessFactory,
) -> None:
    starling = await make_starling(celebrity_threshold=3, fanout_strategy="pull")
    author = await starling.register()
    (reader,) = [await starling.register()]
    await starling.follow(reader, author)  # one follower: far below the threshold of 3
    await starling.home_ids(reader)
    before = await starling.metric(WRITES)

    tweet_id = await starling.post(author, "pulled at read")
    await starling.drain()

    assert await starling.metric(WRITES) - before == 0  # the author's timeline is absent
    assert await starling.core.cache.read(reader.id, max_id=None, limit=5) == []
    assert await starling.home_ids(reader) == [tweet_id]


async def test_hybrid_is_the_default(make_starling: HarnessFactory) -> None:
    starling = await make_starling(celebrity_threshold=3)
    author, readers = await _celebrity_with_fans(starling, 4)
    before = await starling.metric(WRITES)

    tweet_id = await starling.post(author, "a celebrity: pulled")
    await starling.drain()

    assert starling.core.settings.fanout_strategy == "hybrid"
    assert await starling.metric(WRITES) - before == 0
    assert await starling.home_ids(readers[0]) == [tweet_id]


def test_unknown_strategy_is_a_settings_error() -> None:
    with pytest.raises(SettingsError, match="fanout_strategy"):
        load_settings({"STARLING_FANOUT_STRATEGY": "broadcast"})
