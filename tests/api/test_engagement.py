"""Likes, bookmarks, engagement counts and viewer flags through the HTTP API,
on both configurations."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event

from conftest import Account, Harness
from starling.adapters.postgres.store import PostgresStore
from starling.adapters.sqlite.store import SqliteStore
from starling.ports import Store


async def like(starling: Harness, who: Account, tweet_id: int) -> dict[str, Any]:
    r = await starling.client.post(f"/api/starling/v1/tweets/{tweet_id}/like", headers=who.headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def unlike(starling: Harness, who: Account, tweet_id: int) -> dict[str, Any]:
    r = await starling.client.delete(
        f"/api/starling/v1/tweets/{tweet_id}/like", headers=who.headers
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def read_tweet(starling: Harness, tweet_id: int, who: Account | None) -> dict[str, Any]:
    headers = who.headers if who else {}
    r = await starling.client.get(f"/api/starling/v1/tweets/{tweet_id}", headers=headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def bookmarks(
    starling: Harness, who: Account, *, cursor: str | None = None, limit: int = 20
) -> dict[str, Any]:
    params: dict[str, Any] = {"limit": limit}
    if cursor is not None:
        params["cursor"] = cursor
    r = await starling.client.get("/api/starling/v1/bookmarks", params=params, headers=who.headers)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


# --- likes ------------------------------------------------------------------------------
async def test_liking_twice_is_one_like_and_unliking_twice_is_none(starling: Harness) -> None:
    alice, bob = await starling.register(), await starling.register()
    tweet_id = await starling.post(alice, "like me")

    assert await like(starling, bob, tweet_id) == {
        "tweet_id": str(tweet_id),
        "liked": True,
        "likes_count": 1,
    }
    assert (await like(starling, bob, tweet_id))["likes_count"] == 1
    assert (await like(starling, alice, tweet_id))["likes_count"] == 2
    assert (await read_tweet(starling, tweet_id, None))["metrics"] == {
        "likes": 2,
        "retweets": 0,
        "replies": 0,
    }

    assert await unlike(starling, bob, tweet_id) == {
        "tweet_id": str(tweet_id),
        "liked": False,
        "likes_count": 1,
    }
    assert (await unlike(starling, bob, tweet_id))["likes_count"] == 1
    assert (await read_tweet(starling, tweet_id, None))["metrics"]["likes"] == 1


async def test_liking_an_unknown_or_deleted_tweet_is_404(starling: Harness) -> None:
    alice = await starling.register()
    tweet_id = await starling.post(alice, "soon gone")
    await starling.delete(alice, tweet_id)
    for path in (f"/api/starling/v1/tweets/{tweet_id}/like", "/api/starling/v1/tweets/12345/like"):
        for method in ("POST", "DELETE"):
            r = await starling.client.request(method, path, headers=alice.headers)
            assert r.status_code == 404, r.text
            assert r.json()["error"]["code"] == "tweet_not_found"
    r = await starling.client.post("/api/starling/v1/tweets/not-an-id/like", headers=alice.headers)
    assert r.status_code == 404


async def test_engagement_endpoints_need_a_token(starling: Harness) -> None:
    alice = await starling.register()
    tweet_id = await starling.post(alice, "hello")
    for method, path in (
        ("POST", f"/api/starling/v1/tweets/{tweet_id}/like"),
        ("DELETE", f"/api/starling/v1/tweets/{tweet_id}/like"),
        ("POST", f"/api/starling/v1/tweets/{tweet_id}/bookmark"),
        ("DELETE", f"/api/starling/v1/tweets/{tweet_id}/bookmark"),
        ("GET", "/api/starling/v1/bookmarks"),
    ):
        r = await starling.client.request(method, path)
        assert r.status_code == 401, (method, path, r.text)
        assert r.json()["error"]["code"] == "unauthorized"


async def test_viewer_liked_is_per_viewer_and_absent_for_anonymous_readers(
    starling: Harness,
) -> None:
    alice, bob = await starling.register(), await starling.register()
    await starling.follow(bob, alice)
    await starling.home_ids(bob)
    liked_id = await starling.post(alice, "liked by bob")
    other_id = await starling.post(alice, "not liked")
    await like(starling, bob, liked_id)
    await starling.drain()

    assert (await read_tweet(starling, liked_id, bob))["viewer"] == {
        "liked": True,
        "retweeted": False,
    }
    assert (await read_tweet(starling, liked_id, alice))["viewer"]["liked"] is False
    assert (await read_tweet(starling, other_id, bob))["viewer"]["liked"] is False
    assert "viewer" not in await read_tweet(starling, liked_id, None)

    home = {t["id"]: t for t in (await starling.home_page(bob))["tweets"]}
    assert home[str(liked_id)]["viewer"]["liked"] is True
    assert home[str(liked_id)]["metrics"]["likes"] == 1
    assert home[str(other_id)]["viewer"]["liked"] is False

    r = await starling.client.get(f"/api/starling/v1/users/{alice.id}/tweets", headers=bob.headers)
    by_id = {t["id"]: t for t in r.json()["tweets"]}
    assert by_id[str(liked_id)]["viewer"]["liked"] is True
    anonymous = (await starling.client.get(f"/api/starling/v1/users/{alice.id}/tweets")).json()[
        "tweets"
    ]
    assert all("viewer" not in t for t in anonymous)
    assert {t["id"]: t["metrics"]["likes"] for t in anonymous} == {
        str(liked_id): 1,
        str(other_id): 0,
    }

    await unlike(starling, bob, liked_id)
    assert (await read_tweet(starling, liked_id, bob))["viewer"]["liked"] is False


async def test_fifty_clients_liking_one_tweet_twenty_times_each_count_fifty(
    starling: Harness,
) -> None:
    author = await starling.register()
    tweet_id = await starling.post(author, "going viral")
    fans = [await starling.register() for _ in range(50)]

    answers = await asyncio.gather(
        *(like(starling, fan, tweet_id) for _ in range(20) for fan in fans)
    )

    assert all(a["liked"] for a in answers)
    assert max(a["likes_count"] for a in answers) == 50
    assert (await read_tweet(starling, tweet_id, None))["metrics"]["likes"] == 50
    assert (await like(starling, fans[0], tweet_id))["likes_count"] == 50


# --- bookmarks --------------------------------------------------------------------------
async def test_bookmarks_are_idempotent_and_listed_most_recent_first(starling: Harness) -> None:
    alice, bob = await starling.register(), await starling.register()
    t1, t2, t3 = [await starling.post(alice, f"tweet {i}") for i in range(3)]

    for tweet_id in (t2, t1, t3, t2):  # the second bookmark of t2 changes nothing
        r = await starling.client.post(
            f"/api/starling/v1/tweets/{tweet_id}/bookmark", headers=bob.headers
        )
        assert r.status_code == 200, r.text
        assert r.json() == {"tweet_id": str(tweet_id), "bookmarked": True}

    page = await bookmarks(starling, bob)
    assert [t["id"] for t in page["tweets"]] == [str(t3), str(t1), str(t2)]
    assert page["has_more"] is False
    assert page["next_cursor"] is None
    assert all(t["viewer"] == {"liked": False, "retweeted": False} for t in page["tweets"])
    assert (await bookmarks(starling, alice))["tweets"] == []

    for _ in range(2):
        r = await starling.client.delete(
            f"/api/starling/v1/tweets/{t1}/bookmark", headers=bob.headers
        )
        assert r.status_code == 200, r.text
        assert r.json() == {"tweet_id": str(t1), "bookmarked": False}
    assert [t["id"] for t in (await bookmarks(starling, bob))["tweets"]] == [str(t3), str(t2)]


async def test_bookmarks_page_by_cursor_without_gaps_or_repeats(starling: Harness) -> None:
    alice = await starling.register()
    tweet_ids = [await starling.post(alice, f"tweet {i}") for i in range(5)]
    for tweet_id in tweet_ids:
        r = await starling.client.post(
            f"/api/starling/v1/tweets/{tweet_id}/bookmark", headers=alice.headers
        )
        assert r.status_code == 200, r.text
    await like(starling, alice, tweet_ids[0])

    seen: list[dict[str, Any]] = []
    cursor: str | None = None
    while True:
        page = await bookmarks(starling, alice, cursor=cursor, limit=2)
        assert len(page["tweets"]) <= 2
        seen.extend(page["tweets"])
        if not page["has_more"]:
            break
        cursor = page["next_cursor"]
    assert [t["id"] for t in seen] == [str(i) for i in reversed(tweet_ids)]
    assert seen[-1]["viewer"]["liked"] is True
    assert seen[-1]["metrics"]["likes"] == 1

    r = await starling.client.get(
        "/api/starling/v1/bookmarks", params={"cursor": "garbage!"}, headers=alice.headers
    )
    assert r.status_code == 422


async def test_bookmarks_of_deleted_tweets_drop_out(starling: Harness) -> None:
    alice, bob = await starling.register(), await starling.register()
    kept, gone = await starling.post(alice, "kept"), await starling.post(alice, "gone")
    for tweet_id in (kept, gone):
        await starling.client.post(
            f"/api/starling/v1/tweets/{tweet_id}/bookmark", headers=bob.headers
        )
    await starling.delete(alice, gone)

    assert [t["id"] for t in (await bookmarks(starling, bob))["tweets"]] == [str(kept)]
    r = await starling.client.post(f"/api/starling/v1/tweets/{gone}/bookmark", headers=bob.headers)
    assert r.status_code == 404
    # The delete took the bookmark with it: nothing is left to remove, and the tweet is gone.
    r = await starling.client.delete(
        f"/api/starling/v1/tweets/{gone}/bookmark", headers=bob.headers
    )
    assert r.status_code == 404


# --- hydration cost -----------------------------------------------------------------------
HYDRATION_QUERIES_MAX = 7
"""Store queries to hydrate a page with viewer flags, whatever its size or content: the
page's tweets, the retweeted and quoted tweets, the tweets those originals quote, the
authors, the counts, the viewer flags (fewer when the tweet cache answers)."""


HOME_QUERIES_MAX = 2 + 2 * (1 + HYDRATION_QUERIES_MAX - 2) + 2
"""Store queries of one home-timeline request, whatever its size (see the test)."""


@contextmanager
def counted_statements(store: Store) -> Iterator[list[str]]:
    """Every SQL statement run on ``store``'s engine inside the block, in order."""
    assert isinstance(store, SqliteStore | PostgresStore)
    engine = store.engine if isinstance(store, SqliteStore) else store.engine.sync_engine
    statements: list[str] = []

    def count(*args: Any) -> None:
        statements.append(args[2])

    event.listen(engine, "before_cursor_execute", count)
    store.db.fetch_listeners.append(statements.append)
    try:
        yield statements
    finally:
        event.remove(engine, "before_cursor_execute", count)
        store.db.fetch_listeners.remove(statements.append)


async def test_hydrating_a_page_with_viewer_flags_costs_the_same_queries_at_any_size(
    starling: Harness,
) -> None:
    viewer = await starling.register()
    authors = [await starling.register() for _ in range(5)]
    stranger = await starling.register()
    for author in authors:
        await starling.follow(viewer, author)
    await starling.home_ids(viewer)
    tweet_ids: list[int] = []
    for i in range(46):
        if i % 5 == 4:  # retweets and quotes of tweets by someone the viewer does not follow
            original = await starling.post(stranger, f"original {i}")
            tweet_ids.append(await starling.retweet(authors[i % 5], original))
        elif i % 7 == 6:
            tweet_ids.append(await starling.post(authors[i % 5], f"quote {i}", quote=tweet_ids[0]))
        else:
            tweet_ids.append(await starling.post(authors[i % 5], f"tweet {i}"))
    # The newest entries hold every kind, so the 5-entry page needs every round too.
    quoting = await starling.post(stranger, "quoting", quote=tweet_ids[1])
    tweet_ids.append(await starling.retweet(authors[0], quoting))
    tweet_ids.append(await starling.post(authors[1], "a quote", quote=tweet_ids[2]))
    tweet_ids.append(await starling.retweet(authors[2], tweet_ids[3]))
    tweet_ids.append(await starling.post(authors[3], "plain"))
    for i, tweet_id in enumerate(tweet_ids):
        if i % 3 == 0:
            await like(starling, viewer, tweet_id)
        if i % 4 == 0:
            await like(starling, authors[0], tweet_id)
    await starling.drain()

    per_page: dict[int, int] = {}
    for size in (5, 50):
        page_ids = tweet_ids[-size:]
        with counted_statements(starling.core.store.inner) as statements:
            views = await starling.core.hydrator.hydrate(page_ids)
            engagement = await starling.core.hydrator.engagement(views, viewer_id=viewer.id)
        assert len(views) == size
        # A like of a retweet likes its original, whose flags the retweet shows.
        shown = [v.retweeted or v for v in views]
        flags = [engagement.flags_of(v.tweet.id) for v in shown]
        liked = sum(f is not None and f.liked for f in flags)
        assert liked == sum(1 for i in range(len(tweet_ids) - size, len(tweet_ids)) if i % 3 == 0)
        assert any(v.retweeted is not None and v.retweeted.quoted is not None for v in views)
        assert len(statements) <= HYDRATION_QUERIES_MAX, statements

        with counted_statements(starling.core.store.inner) as statements:
            page = await starling.home_page(viewer, limit=size)
        assert len(page["tweets"]) == size
        per_page[size] = len(statements)
    # The whole home-timeline request (celebrities, hidden authors, then per fill round a
    # pull query and a hydration; a second round only to look behind a retweet for a
    # repeat; annotation once): bounded whatever the page size.
    assert max(per_page.values()) <= HOME_QUERIES_MAX, per_page
