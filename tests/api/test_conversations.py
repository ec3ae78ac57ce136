"""Replies, retweets and quotes through the HTTP API, on both configurations."""

from __future__ import annotations

from typing import Any

from conftest import Account, Harness


async def _replies(
    starling: Harness,
    tweet_id: int,
    viewer: Account | None = None,
    *,
    cursor: str | None = None,
    limit: int = 20,
) -> dict[str, Any]:
    params: dict[str, Any] = {"limit": limit}
    if cursor is not None:
        params["cursor"] = cursor
    headers = viewer.headers if viewer is not None else {}
    r = await starling.client.get(
        f"/api/starling/v1/tweets/{tweet_id}/replies", params=params, headers=headers
    )
    assert r.status_code == 200, r.text
    page: dict[str, Any] = r.json()
    return page


def _ids(tweets: list[dict[str, Any]]) -> list[int]:
    return [int(t["id"]) for t in tweets]


async def _inbox_types(starling: Harness, user: Account) -> list[tuple[str, str | None]]:
    r = await starling.client.get("/api/starling/v1/notifications", headers=user.headers)
    assert r.status_code == 200, r.text
    return [(n["type"], n["tweet"] and n["tweet"]["id"]) for n in r.json()["notifications"]]


# --- replies ------------------------------------------------------------------------------
async def test_replies_are_listed_newest_first_and_counted(starling: Harness) -> None:
    alice, bob, carol = [await starling.register() for _ in range(3)]
    root = await starling.post(alice, "root")
    replies = [
        await starling.post((bob, carol)[i % 2], f"reply {i}", reply_to=root) for i in range(5)
    ]

    seen: list[int] = []
    cursor: str | None = None
    while True:
        page = await _replies(starling, root, cursor=cursor, limit=2)
        seen += _ids(page["tweets"])
        if not page["has_more"]:
            break
        cursor = page["next_cursor"]
    assert seen == replies[::-1]
    assert all(
        t["reply_to_tweet_id"] == str(root) for t in (await _replies(starling, root))["tweets"]
    )
    assert (await starling.tweet(root))["metrics"]["replies"] == 5

    await starling.delete(bob, replies[0])
    assert (await starling.tweet(root))["metrics"]["replies"] == 4
    assert _ids((await _replies(starling, root))["tweets"]) == replies[:0:-1]


async def test_context_gives_the_ancestors_root_first(starling: Harness) -> None:
    alice, bob = await starling.register(), await starling.register()
    root = await starling.post(alice, "root")
    middle = await starling.post(bob, "middle", reply_to=root)
    leaf = await starling.post(alice, "leaf", reply_to=middle)

    r = await starling.client.get(f"/api/starling/v1/tweets/{leaf}/context")
    assert r.status_code == 200, r.text
    assert _ids(r.json()["ancestors"]) == [root, middle]
    assert r.json()["tweet"]["id"] == str(leaf)
    r = await starling.client.get(f"/api/starling/v1/tweets/{root}/context")
    assert r.json()["ancestors"] == []


async def test_replying_to_an_unknown_tweet_is_404_and_to_a_bad_id_422(starling: Harness) -> None:
    alice = await starling.register()
    for bad, status in (("123", 404), ("not-an-id", 422)):
        r = await starling.client.post(
            "/api/starling/v1/tweets",
            json={"text": "hm", "reply_to_tweet_id": bad},
            headers=alice.headers,
        )
        assert r.status_code == status, r.text
        assert "code" in r.json()["error"]
    r = await starling.client.get("/api/starling/v1/tweets/123/replies")
    assert r.status_code == 404
    r = await starling.client.get("/api/starling/v1/tweets/123/context")
    assert r.status_code == 404


async def test_a_blocked_user_cannot_read_the_blockers_conversation(starling: Harness) -> None:
    alice, bob, carol = [await starling.register() for _ in range(3)]
    root = await starling.post(alice, "root")
    by_carol = await starling.post(carol, "carol replies", reply_to=root)
    await starling.block(alice, bob)

    for path in (
        f"/api/starling/v1/tweets/{root}/replies",
        f"/api/starling/v1/tweets/{root}/context",
    ):
        r = await starling.client.get(path, headers=bob.headers)
        assert r.status_code == 404, r.text
    # Once Carol blocks Bob, her replies vanish for him even under his own tweets.
    other = await starling.post(bob, "bob's own")
    await starling.post(carol, "to bob", reply_to=other)
    await starling.block(carol, bob)
    assert (await _replies(starling, other, bob))["tweets"] == []
    assert _ids((await _replies(starling, root, carol))["tweets"]) == [by_carol]


# --- retweets -----------------------------------------------------------------------------
async def test_retweet_reaches_the_retweeters_followers_once_and_is_idempotent(
    starling: Harness,
) -> None:
    author, retweeter, reader = [await starling.register() for _ in range(3)]
    await starling.follow(reader, retweeter)
    await starling.home_ids(reader)  # a cached timeline that takes pushes
    original = await starling.post(author, "worth sharing")

    r = await starling.client.post(
        f"/api/starling/v1/tweets/{original}/retweet", headers=retweeter.headers
    )
    assert r.status_code == 201, r.text
    retweet = r.json()
    assert retweet["retweeted_tweet"]["id"] == str(original)
    assert retweet["user"]["id"] == str(retweeter.id)
    again = await starling.retweet(retweeter, original)
    assert again == int(retweet["id"])
    # Retweeting the retweet retweets the original: still the same one.
    assert await starling.retweet(retweeter, again) == again
    await starling.drain()

    assert await starling.home_ids(reader) == [again]
    shown = await starling.tweet(original, retweeter)
    assert shown["metrics"]["retweets"] == 1
    assert shown["viewer"] == {"liked": False, "retweeted": True}
    home = (await starling.home_page(retweeter))["tweets"]
    assert home[0]["viewer"]["retweeted"] is True
    assert home[0]["metrics"]["retweets"] == 1


async def test_undoing_a_retweet_removes_it_from_followers_timelines(starling: Harness) -> None:
    author, retweeter, reader = [await starling.register() for _ in range(3)]
    await starling.follow(reader, retweeter)
    await starling.home_ids(reader)
    original = await starling.post(author, "briefly shared")
    retweet = await starling.retweet(retweeter, original)
    await starling.drain()
    assert await starling.home_ids(reader) == [retweet]

    for _ in range(2):  # idempotent
        r = await starling.client.delete(
            f"/api/starling/v1/tweets/{original}/retweet", headers=retweeter.headers
        )
        assert r.status_code == 204, r.text
    await starling.drain()

    assert await starling.home_ids(reader) == []
    assert (await starling.tweet(original))["metrics"]["retweets"] == 0
    r = await starling.client.get(f"/api/starling/v1/tweets/{retweet}")
    assert r.status_code == 404
    r = await starling.client.delete(
        "/api/starling/v1/tweets/123/retweet", headers=retweeter.headers
    )
    assert r.status_code == 404


async def test_a_tweet_retweeted_by_several_followees_appears_once(starling: Harness) -> None:
    stranger, friend1, friend2, reader = [await starling.register() for _ in range(4)]
    for friend in (friend1, friend2):
        await starling.follow(reader, friend)
    await starling.home_ids(reader)
    own = await starling.post(friend1, "friend1's own")
    viral = await starling.post(stranger, "viral")
    first = await starling.retweet(friend1, viral)
    await starling.retweet(friend2, viral)  # a repeat: the viewer saw it already
    await starling.retweet(friend2, own)  # a repeat of a tweet already in the timeline
    await starling.drain()

    assert await starling.home_ids(reader) == [first, own]
    assert await starling.home_ids(reader, limit=1) == [first, own]  # page by page too


async def test_deleting_a_tweet_cascades_to_retweets_notifications_and_counts(
    starling: Harness,
) -> None:
    author, retweeter, reader, fan = [await starling.register() for _ in range(4)]
    await starling.follow(reader, retweeter)
    await starling.home_ids(reader)
    original = await starling.post(author, "soon gone")
    retweet = await starling.retweet(retweeter, original)
    r = await starling.client.post(f"/api/starling/v1/tweets/{original}/like", headers=fan.headers)
    assert r.status_code == 200
    await starling.drain()
    assert await _inbox_types(starling, author) == [
        ("like", str(original)),
        ("retweet", str(retweet)),
    ]
    r = await starling.client.get(f"/api/starling/v1/users/{retweeter.id}")
    assert r.json()["tweets_count"] == 1

    await starling.delete(author, original)
    await starling.drain()

    assert await starling.home_ids(reader) == []
    assert await _inbox_types(starling, author) == []
    for gone in (original, retweet):
        assert (await starling.client.get(f"/api/starling/v1/tweets/{gone}")).status_code == 404
    r = await starling.client.get(f"/api/starling/v1/users/{retweeter.id}")
    assert r.json()["tweets_count"] == 0
    counts = await starling.core.store.tweet_counts([original])
    assert counts == {}


async def test_retweet_notifies_the_author_and_undo_takes_it_back(starling: Harness) -> None:
    author, retweeter = await starling.register(), await starling.register()
    original = await starling.post(author, "notice me")
    retweet = await starling.retweet(retweeter, original)
    await starling.drain()
    assert await _inbox_types(starling, author) == [("retweet", str(retweet))]

    r = await starling.client.delete(
        f"/api/starling/v1/tweets/{original}/retweet", headers=retweeter.headers
    )
    assert r.status_code == 204
    await starling.drain()
    assert await _inbox_types(starling, author) == []


async def test_retweets_of_blocked_or_muted_authors_leave_the_home_timeline(
    starling: Harness,
) -> None:
    blocked, muted, friend, reader = [await starling.register() for _ in range(4)]
    await starling.follow(reader, friend)
    await starling.home_ids(reader)
    of_blocked = await starling.post(blocked, "by someone the reader blocks")
    of_muted = await starling.post(muted, "by someone the reader mutes")
    plain = await starling.post(friend, "plain")
    for tweet_id in (of_blocked, of_muted):
        await starling.retweet(friend, tweet_id)
    await starling.drain()
    assert len(await starling.home_ids(reader)) == 3

    await starling.block(reader, blocked)
    await starling.mute(reader, muted)

    assert await starling.home_ids(reader) == [plain]


async def test_a_blocked_user_cannot_retweet_like_or_quote_the_blocker(starling: Harness) -> None:
    alice, bob = await starling.register(), await starling.register()
    tweet_id = await starling.post(alice, "not for bob")
    await starling.block(alice, bob)

    r = await starling.client.post(
        f"/api/starling/v1/tweets/{tweet_id}/retweet", headers=bob.headers
    )
    assert r.status_code == 404, r.text
    r = await starling.client.post(f"/api/starling/v1/tweets/{tweet_id}/like", headers=bob.headers)
    assert r.status_code == 404, r.text
    r = await starling.client.post(
        "/api/starling/v1/tweets",
        json={"text": "quoting", "quote_tweet_id": str(tweet_id)},
        headers=bob.headers,
    )
    assert r.status_code == 403, r.text
    assert r.json()["error"]["code"] == "blocked"


# --- quotes -------------------------------------------------------------------------------
async def test_a_quote_is_hydrated_with_the_quoted_tweet(starling: Harness) -> None:
    alice, bob = await starling.register(), await starling.register()
    quoted = await starling.post(alice, "quotable #words")
    quote = await starling.post(bob, "so true", quote=quoted)

    shown = await starling.tweet(quote)
    assert shown["quote_tweet_id"] == str(quoted)
    assert shown["quoted_tweet"]["id"] == str(quoted)
    assert shown["quoted_tweet"]["text"] == "quotable #words"
    assert shown["quoted_tweet"]["user"]["username"] == alice.username
    assert shown["retweeted_tweet"] is None

    # A retweet of the quote carries the quote, which carries the quoted tweet.
    retweet = await starling.retweet(alice, quote)
    nested = (await starling.tweet(retweet))["retweeted_tweet"]
    assert nested["id"] == str(quote)
    assert nested["quoted_tweet"]["id"] == str(quoted)

    await starling.delete(alice, quoted)
    assert (await starling.tweet(quote))["quoted_tweet"] is None
