from __future__ import annotations

from conftest import Harness


async def test_followee_tweet_reaches_home_timeline(starling: Harness) -> None:
    alice, bob = await starling.register(), await starling.register()
    await starling.follow(alice, bob)
    await starling.home_ids(alice)
    tweet_id = await starling.post(bob, "hello")
    await starling.drain()
    assert await starling.home_ids(alice) == [tweet_id]
