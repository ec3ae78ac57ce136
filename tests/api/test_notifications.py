"""Notifications through the HTTP API, on both configurations: produced by the worker
from the event log (so every test drains before reading), read, paged, marked read."""

from __future__ import annotations

from typing import Any

from conftest import Account, Harness


async def _inbox(
    starling: Harness, user: Account, *, cursor: str | None = None, limit: int = 20
) -> dict[str, Any]:
    params: dict[str, Any] = {"limit": limit}
    if cursor is not None:
        params["cursor"] = cursor
    r = await starling.client.get(
        "/api/starling/v1/notifications", params=params, headers=user.headers
    )
    assert r.status_code == 200, r.text
    page: dict[str, Any] = r.json()
    return page


async def _reply(starling: Harness, author: Account, parent_id: int, text: str) -> int:
    r = await starling.client.post(
        "/api/starling/v1/tweets",
        json={"text": text, "reply_to_tweet_id": str(parent_id)},
        headers=author.headers,
    )
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


async def _mark_read(starling: Harness, user: Account, max_id: str | None) -> int:
    body = {} if max_id is None else {"max_id": max_id}
    r = await starling.client.post(
        "/api/starling/v1/notifications/read", json=body, headers=user.headers
    )
    assert r.status_code == 200, r.text
    unread: int = r.json()["unread_count"]
    return unread


async def test_follow_mention_and_reply_notify_with_actor_and_tweet(starling: Harness) -> None:
    alice, bob = await starling.register(), await starling.register()
    await starling.follow(bob, alice)
    mention = await starling.post(bob, f"hello @{alice.username} and @nobody_here")
    original = await starling.post(alice, "a thought")
    # A reply that also mentions its parent's author is one notification, a reply.
    reply = await _reply(starling, bob, original, f"@{alice.username} indeed")
    await starling.drain()

    page = await _inbox(starling, alice)

    assert [(n["type"], n["tweet"] and n["tweet"]["id"]) for n in page["notifications"]] == [
        ("reply", str(reply)),
        ("mention", str(mention)),
        ("follow", None),
    ]
    first = page["notifications"][0]
    assert first["actor"] == {
        "id": str(bob.id),
        "username": bob.username,
        "display_name": bob.username,
        "verified": False,
    }
    assert first["tweet"]["user"]["id"] == str(bob.id)
    assert first["created_at"].endswith("Z")
    assert [n["read"] for n in page["notifications"]] == [False] * 3
    assert (page["unread_count"], page["has_more"], page["next_cursor"]) == (3, False, None)
    assert (await _inbox(starling, bob))["notifications"] == []


async def test_like_notifies_the_author(starling: Harness) -> None:
    alice, bob = await starling.register(), await starling.register()
    tweet = await starling.post(alice, "likeable")
    r = await starling.client.post(f"/api/starling/v1/tweets/{tweet}/like", headers=bob.headers)
    assert r.status_code == 200, r.text
    own = await starling.client.post(f"/api/starling/v1/tweets/{tweet}/like", headers=alice.headers)
    assert own.status_code == 200, own.text
    await starling.drain()

    page = await _inbox(starling, alice)

    assert [(n["type"], n["actor"]["id"]) for n in page["notifications"]] == [("like", str(bob.id))]


async def test_mark_read_moves_the_mark_up_to_max_id_never_back(starling: Harness) -> None:
    alice = await starling.register()
    fans = [await starling.register() for _ in range(3)]
    for fan in fans:
        await starling.follow(fan, alice)
    await starling.drain()
    newest, middle, oldest = (n["id"] for n in (await _inbox(starling, alice))["notifications"])

    assert await _mark_read(starling, alice, middle) == 1
    page = await _inbox(starling, alice)
    assert [n["read"] for n in page["notifications"]] == [False, True, True]
    assert page["unread_count"] == 1
    assert await _mark_read(starling, alice, oldest) == 1  # a stale mark does not un-read
    assert await _mark_read(starling, alice, None) == 0  # no max_id: everything
    assert newest == (await _inbox(starling, alice))["notifications"][0]["id"]


async def test_notifications_page_newest_first_without_gaps(starling: Harness) -> None:
    alice, bob = await starling.register(), await starling.register()
    mentions = [await starling.post(bob, f"@{alice.username} #{i}") for i in range(5)]
    await starling.drain()

    seen: list[int] = []
    cursor: str | None = None
    while True:
        page = await _inbox(starling, alice, cursor=cursor, limit=2)
        seen.extend(int(n["tweet"]["id"]) for n in page["notifications"])
        assert page["unread_count"] == 5
        if not page["has_more"]:
            break
        cursor = page["next_cursor"]

    assert seen == mentions[::-1]


async def test_no_notification_for_ones_own_actions(starling: Harness) -> None:
    alice = await starling.register()
    tweet = await starling.post(alice, f"talking to myself, @{alice.username}")
    await _reply(starling, alice, tweet, "still me")
    await starling.drain()

    page = await _inbox(starling, alice)

    assert (page["notifications"], page["unread_count"]) == ([], 0)


async def test_no_notification_from_a_blocked_actor(starling: Harness) -> None:
    alice, bob, carol = [await starling.register() for _ in range(3)]
    await starling.post(bob, f"before the block, @{alice.username}")
    await starling.drain()
    r = await starling.client.post(f"/api/starling/v1/users/{bob.id}/block", headers=alice.headers)
    assert r.status_code == 200, r.text
    await starling.post(bob, f"after the block, @{alice.username}")
    await starling.post(carol, f"hi @{alice.username}")
    await starling.drain()

    page = await _inbox(starling, alice)

    # The earlier mention is hidden too: a blocked user's actions are out of sight.
    assert [n["actor"]["id"] for n in page["notifications"]] == [str(carol.id)]
    assert page["unread_count"] == 1


async def test_deleting_a_tweet_removes_its_notifications(starling: Harness) -> None:
    alice, bob = await starling.register(), await starling.register()
    tweet = await starling.post(bob, f"soon gone, @{alice.username}")
    await starling.drain()
    assert (await _inbox(starling, alice))["unread_count"] == 1

    await starling.delete(bob, tweet)
    await starling.drain()

    page = await _inbox(starling, alice)
    assert (page["notifications"], page["unread_count"]) == ([], 0)


async def test_notifications_need_auth_and_a_valid_max_id(starling: Harness) -> None:
    alice = await starling.register()
    assert (await starling.client.get("/api/starling/v1/notifications")).status_code == 401
    assert (
        await starling.client.post("/api/starling/v1/notifications/read", json={})
    ).status_code == 401
    bad = await starling.client.post(
        "/api/starling/v1/notifications/read", json={"max_id": "x"}, headers=alice.headers
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "invalid_id"
