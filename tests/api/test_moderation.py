"""Block and mute through the HTTP API, on both configurations."""

from __future__ import annotations

from typing import Any

from conftest import TEST_THRESHOLD, Account, Harness, HarnessFactory
from starling.domain.feed import TIMELINE_MAX


async def _block(starling: Harness, blocker: Account, blocked: Account) -> None:
    r = await starling.client.post(
        f"/api/starling/v1/users/{blocked.id}/block", headers=blocker.headers
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"blocking": True}


async def _mute(starling: Harness, muter: Account, muted: Account) -> None:
    r = await starling.client.post(f"/api/starling/v1/users/{muted.id}/mute", headers=muter.headers)
    assert r.status_code == 200, r.text
    assert r.json() == {"muting": True}


async def _user(starling: Harness, account: Account) -> dict[str, Any]:
    r = await starling.client.get(f"/api/starling/v1/users/{account.id}")
    assert r.status_code == 200, r.text
    user: dict[str, Any] = r.json()
    return user


async def _reply(starling: Harness, author: Account, parent_id: int) -> int:
    r = await starling.client.post(
        "/api/starling/v1/tweets",
        json={"text": "a reply", "reply_to_tweet_id": str(parent_id)},
        headers=author.headers,
    )
    return r.status_code


async def test_block_removes_follows_both_ways_and_prevents_following(starling: Harness) -> None:
    alice, bob = await starling.register(), await starling.register()
    await starling.follow(alice, bob)
    await starling.follow(bob, alice)

    await _block(starling, alice, bob)

    for account in (alice, bob):
        user = await _user(starling, account)
        assert (user["followers_count"], user["following_count"]) == (0, 0)
    for follower, followee in ((alice, bob), (bob, alice)):
        r = await starling.client.post(
            f"/api/starling/v1/users/{followee.id}/follow", headers=follower.headers
        )
        assert r.status_code == 403, r.text
        assert r.json()["error"]["code"] == "blocked"
    followers = await starling.client.get(f"/api/starling/v1/users/{alice.id}/followers")
    assert followers.json()["users"] == []


async def test_block_hides_both_sides_from_each_others_cached_home_timelines(
    starling: Harness,
) -> None:
    alice, bob = await starling.register(), await starling.register()
    await starling.follow(alice, bob)
    await starling.follow(bob, alice)
    await starling.home_ids(alice), await starling.home_ids(bob)  # both timelines cached
    from_alice = await starling.post(alice, "alice speaks")
    from_bob = await starling.post(bob, "bob speaks")
    await starling.drain()
    assert await starling.home_ids(alice) == [from_bob, from_alice]

    await _block(starling, bob, alice)
    await starling.drain()

    assert await starling.home_ids(alice) == [from_alice]
    assert await starling.home_ids(bob) == [from_bob]


async def test_blocked_user_cannot_reply_to_the_blocker(starling: Harness) -> None:
    alice, bob, carol = [await starling.register() for _ in range(3)]
    tweet = await starling.post(alice, "no replies from bob")
    await _block(starling, alice, bob)

    assert await _reply(starling, bob, tweet) == 403
    assert await _reply(starling, carol, tweet) == 201


async def test_unblock_restores_the_ability_to_follow(starling: Harness) -> None:
    alice, bob = await starling.register(), await starling.register()
    await _block(starling, alice, bob)
    await _block(starling, alice, bob)  # idempotent

    r = await starling.client.delete(
        f"/api/starling/v1/users/{bob.id}/block", headers=alice.headers
    )
    assert r.status_code == 200, r.text
    assert r.json() == {"blocking": False}
    again = await starling.client.delete(
        f"/api/starling/v1/users/{bob.id}/block", headers=alice.headers
    )
    assert again.json() == {"blocking": False}

    await starling.follow(bob, alice)
    assert (await _user(starling, alice))["followers_count"] == 1


async def test_mute_hides_tweets_from_the_muters_home_until_unmuted(starling: Harness) -> None:
    alice, bob, carol = [await starling.register() for _ in range(3)]
    await starling.follow(alice, bob)
    await starling.follow(alice, carol)
    await starling.home_ids(alice)
    posted = []
    for i in range(3):  # interleaved, so muted entries sit between visible ones
        posted.append((bob, await starling.post(bob, f"bob {i}")))
        posted.append((carol, await starling.post(carol, f"carol {i}")))
    await starling.drain()

    await _mute(starling, alice, bob)
    await _mute(starling, alice, bob)  # idempotent

    carols = [t for who, t in reversed(posted) if who is carol]
    assert await starling.home_ids(alice, limit=2) == carols  # pages skip muted, no gaps
    assert (await _user(starling, bob))["followers_count"] == 1  # a mute is not an unfollow
    r = await starling.client.delete(f"/api/starling/v1/users/{bob.id}/mute", headers=alice.headers)
    assert r.json() == {"muting": False}
    assert await starling.home_ids(alice) == [t for _, t in reversed(posted)]


async def test_mute_unmerges_from_the_cached_home_and_unmute_merges_back(
    starling: Harness,
) -> None:
    alice, bob, carol = [await starling.register() for _ in range(3)]
    await starling.follow(alice, bob)
    await starling.home_ids(alice)  # cached
    from_bob = await starling.post(bob, "bob speaks")
    from_carol = await starling.post(carol, "carol speaks")
    await starling.retweet(bob, from_carol)  # bob's retweet leaves with bob's tweets
    await starling.drain()
    cache = starling.core.cache
    assert len(await cache.read(alice.id, max_id=None, limit=5) or []) == 2

    await _mute(starling, alice, bob)
    assert await cache.read(alice.id, max_id=None, limit=5) == []

    r = await starling.client.delete(f"/api/starling/v1/users/{bob.id}/mute", headers=alice.headers)
    assert r.json() == {"muting": False}
    assert len(await cache.read(alice.id, max_id=None, limit=5) or []) == 2
    assert from_bob in await starling.home_ids(alice)


async def test_block_unmerges_every_cached_tweet_under_the_configured_timeline_max(
    make_starling: HarnessFactory,
) -> None:
    """The block's unmerge honours STARLING_TIMELINE_MAX: with a cap above the default
    (800), a cached timeline can hold more than 800 tweets of the blocked author, and
    all of them go. (An unmerge of the newest 800 left the oldest behind; after an
    unblock it showed in the home timeline of someone who no longer follows its author.)"""
    starling = await make_starling(
        celebrity_threshold=TEST_THRESHOLD, timeline_max=TIMELINE_MAX + 1
    )
    alice, bob = await starling.register(), await starling.register()
    await starling.follow(alice, bob)
    await starling.home_ids(alice)  # cached
    posted = [await starling.post(bob, f"bob {i}") for i in range(TIMELINE_MAX + 1)]
    await starling.drain()
    cache = starling.core.cache
    assert await cache.read(alice.id, max_id=None, limit=2 * TIMELINE_MAX) == posted[::-1]

    await _block(starling, alice, bob)
    r = await starling.client.delete(
        f"/api/starling/v1/users/{bob.id}/block", headers=alice.headers
    )
    assert r.json() == {"blocking": False}

    assert await cache.read(alice.id, max_id=None, limit=2 * TIMELINE_MAX) == []
    assert await starling.home_ids(alice) == []


async def test_mute_hides_a_pulled_celebrity(starling: Harness) -> None:
    celebrity = await starling.register()
    fans = [await starling.register() for _ in range(3)]  # threshold 3: pulled at read
    for fan in fans:
        await starling.follow(fan, celebrity)
    tweet = await starling.post(celebrity, "pulled")
    await starling.drain()
    assert await starling.home_ids(fans[0]) == [tweet]

    await _mute(starling, fans[0], celebrity)

    assert await starling.home_ids(fans[0]) == []
    assert await starling.home_ids(fans[1]) == [tweet]


async def test_block_and_mute_answer_401_404_422(starling: Harness) -> None:
    alice = await starling.register()
    for verb in ("block", "mute"):
        path = f"/api/starling/v1/users/{alice.id}/{verb}"
        assert (await starling.client.post(path)).status_code == 401
        assert (await starling.client.post(path, headers=alice.headers)).status_code == 422
        missing = await starling.client.post(
            f"/api/starling/v1/users/12345/{verb}", headers=alice.headers
        )
        assert missing.status_code == 404
        assert missing.json()["error"]["code"] == "user_not_found"


async def test_blocked_viewer_gets_403_on_timeline_and_404_on_tweets_of_the_blocker(
    starling: Harness,
) -> None:
    alice, bob, carol = [await starling.register() for _ in range(3)]
    tweet = await starling.post(alice, "not for bob")
    await _block(starling, alice, bob)

    timeline = f"/api/starling/v1/users/{alice.id}/tweets"
    forbidden = await starling.client.get(timeline, headers=bob.headers)
    assert forbidden.status_code == 403
    assert forbidden.json()["error"]["code"] == "blocked"
    hidden = await starling.client.get(f"/api/starling/v1/tweets/{tweet}", headers=bob.headers)
    assert hidden.status_code == 404
    for headers in (carol.headers, alice.headers, {}):
        assert (await starling.client.get(timeline, headers=headers)).status_code == 200
        shown = await starling.client.get(f"/api/starling/v1/tweets/{tweet}", headers=headers)
        assert shown.status_code == 200
