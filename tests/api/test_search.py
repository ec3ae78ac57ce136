"""Search through the HTTP API, on both configurations: the ``search``
consumer indexes posted tweets and removes deleted ones; words, #hashtags, from:user;
Unicode folding; pagination; users by prefix; bad queries.

The scale-out deployment is shared by the session, so every test searches for words
and names of its own (:func:`token`)."""

from __future__ import annotations

import uuid
from typing import Any

from conftest import Account, Harness


def token() -> str:
    """A word no other test posts (letters only: the tokenizers keep it whole)."""
    return "zq" + "".join(chr(ord("a") + int(c, 16)) for c in uuid.uuid4().hex[:10])


async def search(
    starling: Harness,
    q: str,
    *,
    viewer: Account | None = None,
    cursor: str | None = None,
    limit: int | None = None,
) -> dict[str, Any]:
    params: dict[str, Any] = {"q": q}
    if cursor is not None:
        params["cursor"] = cursor
    if limit is not None:
        params["limit"] = limit
    r = await starling.client.get(
        "/api/starling/v1/search/tweets", params=params, headers=viewer.headers if viewer else {}
    )
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


async def found_ids(starling: Harness, q: str, viewer: Account | None = None) -> list[int]:
    return [int(t["id"]) for t in (await search(starling, q, viewer=viewer, limit=200))["tweets"]]


async def test_a_fresh_tweet_is_found_once_indexed_and_a_deleted_one_never(
    starling: Harness,
) -> None:
    word = token()
    alice = await starling.register()
    tweet_id = await starling.post(alice, f"The river {word} reached the old bridge")
    await starling.drain()

    page = await search(starling, word)
    assert [int(t["id"]) for t in page["tweets"]] == [tweet_id]
    assert page["tweets"][0]["user"]["username"] == alice.username
    assert page["has_more"] is False
    assert page["next_cursor"] is None

    await starling.delete(alice, tweet_id)
    # Before the consumer removed it from the index, hydration already drops it.
    assert await found_ids(starling, word) == []
    await starling.drain()
    assert await found_ids(starling, word) == []


async def test_words_are_anded_and_hashtag_and_from_filters_narrow(starling: Harness) -> None:
    word, tag = token(), token()
    alice, bob = await starling.register(), await starling.register()
    a_tagged = await starling.post(alice, f"#{tag.upper()} warning {word} downtown")
    b_plain = await starling.post(bob, f"{tag} warning {word} uptown")
    a_other = await starling.post(alice, f"sunny day {word}")
    await starling.drain()

    assert await found_ids(starling, word) == [a_other, b_plain, a_tagged]
    assert await found_ids(starling, f"{word} warning") == [b_plain, a_tagged]
    # A hashtag matches only the hashtag, case-insensitively; a word matches it too.
    assert await found_ids(starling, f"#{tag}") == [a_tagged]
    assert await found_ids(starling, tag) == [b_plain, a_tagged]
    assert await found_ids(starling, f"from:{alice.username} {word}") == [a_other, a_tagged]
    assert await found_ids(starling, f"from:{bob.username.upper()} warning {word}") == [b_plain]
    # from: alone is the author's tweets, newest first.
    assert await found_ids(starling, f"from:{alice.username}") == [a_other, a_tagged]
    # An unknown author is an empty answer, not an error.
    assert await found_ids(starling, f"from:nobody{word[:8]} {word}") == []


async def test_spanish_accents_and_tagalog_words_are_found(starling: Harness) -> None:
    word = token()
    alice = await starling.register()
    spanish = await starling.post(alice, f"Inundación en la ciudad, evacuación ahora {word}")
    tagalog = await starling.post(alice, f"Tulong po! Baha na sa Marikina, lumikas na {word}")
    mexico = await starling.post(alice, f"Sismo fuerte #México {word}")
    await starling.drain()

    assert await found_ids(starling, f"inundacion {word}") == [spanish]
    assert await found_ids(starling, f"EVACUACIÓN {word}") == [spanish]
    assert await found_ids(starling, f"baha {word}") == [tagalog]
    assert await found_ids(starling, f"lumikas marikina {word}") == [tagalog]
    assert await found_ids(starling, f"#mexico {word}") == [mexico]


async def test_pages_follow_the_cursor_without_duplicates_or_gaps(starling: Harness) -> None:
    word = token()
    alice = await starling.register()
    posted = [await starling.post(alice, f"storm update {i} {word}") for i in range(25)]
    await starling.drain()

    seen: list[int] = []
    cursor: str | None = None
    pages = 0
    while True:
        page = await search(starling, word, cursor=cursor, limit=10)
        seen.extend(int(t["id"]) for t in page["tweets"])
        pages += 1
        if not page["has_more"]:
            break
        cursor = page["next_cursor"]
    assert seen == sorted(posted, reverse=True)
    assert pages == 3


async def test_results_hide_blocked_and_muted_authors_and_carry_viewer_flags(
    starling: Harness,
) -> None:
    word = token()
    viewer, blocked, muted, liked = [await starling.register() for _ in range(4)]
    blocked_tweet = await starling.post(blocked, f"blocked {word}")
    muted_tweet = await starling.post(muted, f"muted {word}")
    liked_tweet = await starling.post(liked, f"liked {word}")
    for path in (f"/users/{blocked.id}/block", f"/users/{muted.id}/mute"):
        r = await starling.client.post(f"/api/starling/v1{path}", headers=viewer.headers)
        assert r.status_code == 200, r.text
    r = await starling.client.post(
        f"/api/starling/v1/tweets/{liked_tweet}/like", headers=viewer.headers
    )
    assert r.status_code == 200, r.text
    await starling.drain()

    assert await found_ids(starling, word) == [liked_tweet, muted_tweet, blocked_tweet]
    page = await search(starling, word, viewer=viewer)
    assert [int(t["id"]) for t in page["tweets"]] == [liked_tweet]
    assert page["tweets"][0]["viewer"] == {"liked": True, "retweeted": False}
    assert page["tweets"][0]["metrics"]["likes"] == 1
    anonymous = await search(starling, word)
    assert "viewer" not in anonymous["tweets"][0]


async def test_users_are_found_by_prefix_of_username_or_display_name(starling: Harness) -> None:
    stem = token()[:8]
    exact = await starling.register(stem)
    longer = await starling.register(f"{stem}_watch")
    other = await starling.register()
    r = await starling.client.patch(
        "/api/starling/v1/users/me",
        json={"display_name": f"{stem.upper()} Relief"},
        headers=other.headers,
    )
    assert r.status_code == 200, r.text
    await starling.register()  # matches nothing

    async def users(q: str, **params: Any) -> dict[str, Any]:
        r = await starling.client.get("/api/starling/v1/search/users", params={"q": q, **params})
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    found = await users(stem)
    # Exact username first, then username matches, then display-name matches.
    assert [u["username"] for u in found["users"]] == [
        exact.username,
        longer.username,
        other.username,
    ]
    assert found["has_more"] is False
    assert [u["username"] for u in (await users("@" + stem.upper() + "_W"))["users"]] == [
        longer.username
    ]
    assert [u["id"] for u in (await users(f"{stem} rel"))["users"]] == [str(other.id)]

    first = await users(stem, limit=2)
    assert first["has_more"] is True
    rest = await users(stem, limit=2, cursor=first["next_cursor"])
    assert [u["username"] for u in first["users"] + rest["users"]] == [
        exact.username,
        longer.username,
        other.username,
    ]
    assert rest["has_more"] is False


async def test_bad_queries_are_422_with_the_error_shape(starling: Harness) -> None:
    cases: list[tuple[str, dict[str, Any], str]] = [
        ("/api/starling/v1/search/tweets", {}, "invalid_query"),
        ("/api/starling/v1/search/tweets", {"q": "   "}, "invalid_query"),
        ("/api/starling/v1/search/tweets", {"q": "!!! ..."}, "invalid_query"),
        ("/api/starling/v1/search/tweets", {"q": "from:"}, "invalid_query"),
        ("/api/starling/v1/search/tweets", {"q": "from:a from:b"}, "invalid_query"),
        ("/api/starling/v1/search/tweets", {"q": "from:not-a-name"}, "invalid_query"),
        ("/api/starling/v1/search/tweets", {"q": "x" * 501}, "invalid_query"),
        ("/api/starling/v1/search/tweets", {"q": "flood\x00"}, "invalid_characters"),
        ("/api/starling/v1/search/tweets", {"q": "flood", "cursor": "%%%"}, "invalid_cursor"),
        ("/api/starling/v1/search/tweets", {"q": "flood", "limit": "0"}, "invalid_limit"),
        ("/api/starling/v1/search/users", {}, "invalid_query"),
        ("/api/starling/v1/search/users", {"q": "@"}, "invalid_query"),
        ("/api/starling/v1/search/users", {"q": "x" * 51}, "invalid_query"),
        ("/api/starling/v1/search/users", {"q": "x", "cursor": "nope!"}, "invalid_cursor"),
        ("/api/starling/v1/trends", {"limit": "0"}, "invalid_limit"),
        ("/api/starling/v1/trends", {"limit": "many"}, "invalid_limit"),
    ]
    for path, params, code in cases:
        r = await starling.client.get(path, params=params)
        assert r.status_code == 422, (path, params, r.text)
        assert r.json()["error"]["code"] == code, (path, params, r.text)
        assert r.json()["error"]["message"]


async def test_a_user_search_holding_nul_is_refused_like_a_tweet_search(
    starling: Harness,
) -> None:
    # PostgreSQL text cannot hold NUL: the prefix match would fail in the database.
    r = await starling.client.get("/api/starling/v1/search/users", params={"q": "ad\x00a"})
    assert r.status_code == 422, r.text
    assert r.json()["error"]["code"] == "invalid_characters"


async def test_names_holding_nul_name_nobody_on_every_store(starling: Harness) -> None:
    r = await starling.client.get("/api/starling/v1/users/by/username/ad%00a")
    assert r.status_code == 404, r.text
    assert r.json()["error"]["code"] == "user_not_found"
    r = await starling.client.post(
        "/api/starling/v1/auth/token", json={"username": "ad\x00a", "password": "correct horse"}
    )
    assert r.status_code == 401, r.text
    assert r.json()["error"]["code"] == "unauthorized"
