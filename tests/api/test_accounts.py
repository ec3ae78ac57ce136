"""Account hardening through the HTTP API, on both configurations: tokens that name
nobody, revocation (logout, password change), unique e-mail addresses, login by e-mail,
the login back-off and per-account fairness, oversized images, and account deletion."""

from __future__ import annotations

import asyncio
import io
import struct
import uuid
import zlib
from typing import Any

import httpx
import jwt
import pytest
from PIL import Image

from conftest import Account, Harness, HarnessFactory
from starling.bootstrap import SECRET_META_KEY
from starling.domain.accounts import LOGIN_FREE_FAILURES

PASSWORD = "correct horse"


def assert_error(response: httpx.Response, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code, response.text


async def sign(starling: Harness, claims: dict[str, Any]) -> dict[str, str]:
    """Authorization headers with a token signed by the app's own secret."""
    secret = await starling.core.store.get_meta(SECRET_META_KEY)
    assert secret is not None
    now = starling.clock.now_ms() // 1000
    token = jwt.encode({"iat": now, "exp": now + 3600, **claims}, secret, algorithm="HS256")
    return {"Authorization": f"Bearer {token}"}


async def login(starling: Harness, username: str, password: str = PASSWORD) -> httpx.Response:
    return await starling.client.post(
        "/api/starling/v1/auth/token", json={"username": username, "password": password}
    )


async def fresh_token(starling: Harness, who: Account) -> Account:
    """The same user with a token of its own (a second session)."""
    r = await login(starling, who.username)
    assert r.status_code == 200, r.text
    return Account(who.id, who.username, r.json()["access_token"])


async def me(starling: Harness, who: Account) -> httpx.Response:
    return await starling.client.get("/api/starling/v1/users/me", headers=who.headers)


async def user_json(starling: Harness, user_id: int) -> dict[str, Any]:
    r = await starling.client.get(f"/api/starling/v1/users/{user_id}")
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


# --- tokens that name nobody ------------------------------------------------------------
@pytest.mark.parametrize(
    "subject",
    [
        "1234567890123",  # well formed, nobody
        "9223372036854775807",  # the largest int64, nobody
        "9223372036854775808",  # 2**63: out of range
        "99999999999999999999999999",
        "-1",
        "0",
        "abc",
        "\uff11\uff12",  # fullwidth digits
        " 1",
    ],
)
async def test_a_signed_token_for_no_existing_user_is_401_and_writes_nothing(
    starling: Harness, subject: str
) -> None:
    bob = await starling.register()
    headers = await sign(starling, {"sub": subject, "jti": "12345"})
    before = await user_json(starling, bob.id)
    calls: list[tuple[str, str, dict[str, Any] | None]] = [
        ("POST", f"/api/starling/v1/users/{bob.id}/follow", None),
        ("POST", "/api/starling/v1/tweets", {"text": "ghost"}),
        ("GET", "/api/starling/v1/users/me", None),
        ("GET", "/api/starling/v1/timeline/home", None),
        ("PATCH", "/api/starling/v1/users/me", {"bio": "ghost"}),
        ("POST", "/api/starling/v1/auth/logout", None),
    ]
    for method, path, body in calls:
        r = await starling.client.request(method, path, json=body, headers=headers)
        assert_error(r, 401, "unauthorized")
    await starling.drain()
    assert await user_json(starling, bob.id) == before  # no ghost follower


async def test_a_token_without_an_id_is_401(starling: Harness) -> None:
    alice = await starling.register()
    headers = await sign(starling, {"sub": str(alice.id)})
    assert_error(
        await starling.client.get("/api/starling/v1/users/me", headers=headers), 401, "unauthorized"
    )


# --- revocation -------------------------------------------------------------------------
async def test_logout_revokes_the_presented_token_and_no_other(starling: Harness) -> None:
    alice = await starling.register()
    second = await fresh_token(starling, alice)
    r = await starling.client.post("/api/starling/v1/auth/logout", headers=alice.headers)
    assert r.status_code == 204, r.text
    assert_error(await me(starling, alice), 401, "unauthorized")
    assert_error(
        await starling.client.post("/api/starling/v1/auth/logout", headers=alice.headers),
        401,
        "unauthorized",
    )
    assert (await me(starling, second)).status_code == 200


async def test_a_password_change_revokes_the_other_tokens_and_keeps_the_presented_one(
    starling: Harness,
) -> None:
    alice = await starling.register()
    other = await fresh_token(starling, alice)
    presenter = await fresh_token(starling, alice)
    r = await starling.client.post(
        "/api/starling/v1/users/me/password",
        json={"current_password": PASSWORD, "new_password": "battery staple"},
        headers=presenter.headers,
    )
    assert r.status_code == 204, r.text
    assert_error(await me(starling, alice), 401, "unauthorized")
    assert_error(await me(starling, other), 401, "unauthorized")
    assert (await me(starling, presenter)).status_code == 200
    assert_error(await login(starling, alice.username), 401, "unauthorized")
    again = await login(starling, alice.username, "battery staple")
    assert again.status_code == 200
    newest = Account(alice.id, alice.username, again.json()["access_token"])
    assert (await me(starling, newest)).status_code == 200


async def test_a_password_change_with_a_wrong_current_password_is_403_and_changes_nothing(
    starling: Harness,
) -> None:
    alice = await starling.register()
    other = await fresh_token(starling, alice)
    r = await starling.client.post(
        "/api/starling/v1/users/me/password",
        json={"current_password": "not it at all", "new_password": "battery staple"},
        headers=alice.headers,
    )
    assert_error(r, 403, "wrong_password")
    short = await starling.client.post(
        "/api/starling/v1/users/me/password",
        json={"current_password": PASSWORD, "new_password": "short"},
        headers=alice.headers,
    )
    assert_error(short, 422, "invalid_password")
    assert (await me(starling, other)).status_code == 200
    assert (await login(starling, alice.username)).status_code == 200


# --- e-mail addresses -------------------------------------------------------------------
async def test_an_email_in_use_in_any_case_is_409_and_creates_no_account(
    starling: Harness,
) -> None:
    owner = await starling.register()
    thief = f"t{uuid.uuid4().hex[:12]}"
    r = await starling.client.post(
        "/api/starling/v1/users",
        json={
            "username": thief,
            "email": f"{owner.username}@example.org".upper(),
            "password": PASSWORD,
        },
    )
    assert_error(r, 409, "email_taken")
    missing = await starling.client.get(f"/api/starling/v1/users/by/username/{thief}")
    assert_error(missing, 404, "user_not_found")


async def test_login_by_email_in_any_case(starling: Harness) -> None:
    alice = await starling.register()
    r = await login(starling, f"{alice.username}@Example.ORG".upper())
    assert r.status_code == 200, r.text
    assert r.json()["user"]["id"] == str(alice.id)
    assert_error(
        await login(starling, f"{alice.username}@example.org", "wrong one"), 401, "unauthorized"
    )


# --- login back-off and fairness --------------------------------------------------------
async def test_repeated_wrong_passwords_back_off_the_account_until_the_delay_passes(
    starling: Harness,
) -> None:
    alice, bob = await starling.register(), await starling.register()
    for _ in range(LOGIN_FREE_FAILURES):
        assert_error(await login(starling, alice.username, "wrong guess"), 401, "unauthorized")
    refused = await login(starling, alice.username, "wrong guess")
    assert_error(refused, 429, "too_many_attempts")
    retry_after = int(refused.headers["retry-after"])
    assert retry_after >= 1
    # Even the right password waits: otherwise the back-off would not slow a guesser.
    assert_error(await login(starling, alice.username), 429, "too_many_attempts")
    # Another account is not affected.
    assert (await login(starling, bob.username)).status_code == 200

    await starling.advance(retry_after * 1000)
    assert (await login(starling, alice.username)).status_code == 200
    # A success starts the count over.
    for _ in range(LOGIN_FREE_FAILURES):
        assert_error(await login(starling, alice.username, "wrong guess"), 401, "unauthorized")


async def test_an_unknown_username_is_backed_off_like_a_known_one(starling: Harness) -> None:
    nobody = f"n{uuid.uuid4().hex[:12]}"
    for _ in range(LOGIN_FREE_FAILURES):
        assert_error(await login(starling, nobody, "wrong guess"), 401, "unauthorized")
    assert_error(await login(starling, nobody, "wrong guess"), 429, "too_many_attempts")


async def test_a_correct_login_succeeds_while_another_account_is_flooded(
    starling: Harness,
) -> None:
    victim, bob = await starling.register(), await starling.register()
    finished: list[tuple[str, int]] = []

    async def attempt(who: str, username: str, password: str) -> None:
        r = await login(starling, username, password)
        finished.append((who, r.status_code))

    # The flood is sent first; bob's login last. At most one of the flood's attempts is
    # checked at a time, so bob's is never queued behind (or refused because of) it.
    flood = [attempt("flood", victim.username, f"guess {i}") for i in range(30)]
    await asyncio.gather(*flood, attempt("bob", bob.username, PASSWORD))
    assert ("bob", 200) in finished
    flood_statuses = [status for who, status in finished if who == "flood"]
    assert len(flood_statuses) == 30
    assert set(flood_statuses) <= {401, 429}
    assert 401 in flood_statuses


# --- media ------------------------------------------------------------------------------
def png_header_only(width: int, height: int) -> bytes:
    """A PNG whose header claims ``width`` x ``height`` pixels, followed by a few bytes
    of image data that decode to nothing like that: decoding it would fail."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 64)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


async def upload(starling: Harness, who: Account, data: bytes) -> httpx.Response:
    return await starling.client.post(
        "/api/starling/v1/media", files={"file": ("x.png", data, "image/png")}, headers=who.headers
    )


async def test_an_image_of_too_many_pixels_is_refused_from_its_header(starling: Harness) -> None:
    alice = await starling.register()
    # Undecodable beyond the header: a 413 (not a 415) shows nothing was decoded.
    r = await upload(starling, alice, png_header_only(8192, 8192))
    assert_error(r, 413, "image_too_large")
    assert "8192x8192" in r.json()["error"]["message"]
    # A real one, small on disk, huge once decoded.
    out = io.BytesIO()
    Image.new("1", (8192, 8192)).save(out, format="PNG")
    assert len(out.getvalue()) < 100_000
    assert_error(await upload(starling, alice, out.getvalue()), 413, "image_too_large")


async def test_the_pixel_limit_is_a_setting(make_starling: HarnessFactory) -> None:
    starling = await make_starling(media_max_pixels=100 * 100)
    alice = await starling.register()

    def png(size: tuple[int, int]) -> bytes:
        out = io.BytesIO()
        Image.new("RGB", size, (1, 2, 3)).save(out, format="PNG")
        return out.getvalue()

    assert (await upload(starling, alice, png((100, 100)))).status_code == 201
    assert_error(await upload(starling, alice, png((101, 100))), 413, "image_too_large")


async def test_a_large_jpeg_gets_a_thumbnail_of_150_pixels_from_a_reduced_decode(
    starling: Harness,
) -> None:
    alice = await starling.register()
    out = io.BytesIO()
    Image.new("RGB", (4000, 3000), (30, 60, 90)).save(out, format="JPEG", quality=50)
    r = await upload(starling, alice, out.getvalue())
    assert r.status_code == 201, r.text
    media = r.json()
    assert (media["width"], media["height"]) == (4000, 3000)
    thumb = await starling.client.get(f"{media['url']}/thumb")
    width, height = Image.open(io.BytesIO(thumb.content)).size
    assert width == 150
    assert height in (112, 113)


# --- account deletion -------------------------------------------------------------------
async def test_deleting_an_account_removes_its_tweets_follows_and_likes_everywhere(
    starling: Harness,
) -> None:
    alice, bob, carol = [await starling.register() for _ in range(3)]
    await starling.follow(bob, alice)
    await starling.follow(alice, carol)
    await starling.follow(carol, alice)
    word = "zq" + "".join(chr(ord("a") + int(c, 16)) for c in uuid.uuid4().hex[:10])
    mine = await starling.post(alice, f"the {word} of alice")
    carols = await starling.post(carol, "carol speaks")
    assert (
        await starling.client.post(f"/api/starling/v1/tweets/{carols}/like", headers=alice.headers)
    ).status_code == 200
    alices_retweet = await starling.retweet(alice, carols)
    bobs_retweet = await starling.retweet(bob, mine)
    await starling.drain()
    assert mine in await starling.home_ids(bob)
    assert (await starling.tweet(carols))["metrics"]["likes"] == 1
    assert (await starling.tweet(carols))["metrics"]["retweets"] == 1

    wrong = await starling.client.request(
        "DELETE", "/api/starling/v1/users/me", json={"password": "not mine"}, headers=alice.headers
    )
    assert_error(wrong, 403, "wrong_password")
    r = await starling.client.request(
        "DELETE", "/api/starling/v1/users/me", json={"password": PASSWORD}, headers=alice.headers
    )
    assert r.status_code == 204, r.text
    await starling.drain()

    # The account and its sessions are gone.
    assert_error(await me(starling, alice), 401, "unauthorized")
    assert_error(
        await starling.client.get(f"/api/starling/v1/users/{alice.id}"), 404, "user_not_found"
    )
    assert_error(await login(starling, alice.username), 401, "unauthorized")
    # Its tweets are out of the follower's timeline (cached ids too), search and reads.
    home = await starling.home_ids(bob)
    assert mine not in home
    assert bobs_retweet not in home
    assert alices_retweet not in home
    cached = await starling.core.cache.read(bob.id, max_id=None, limit=800) or []
    assert mine not in cached
    indexed = await starling.core.search_index.search_tweets(
        words=[word], hashtags=[], author_id=None, max_id=None, limit=10
    )
    assert indexed == []
    assert_error(
        await starling.client.get(f"/api/starling/v1/tweets/{mine}"), 404, "tweet_not_found"
    )
    # Counts: carol's tweet lost the like and the retweet; follows both ways are gone.
    assert (await starling.tweet(carols))["metrics"] == {"likes": 0, "retweets": 0, "replies": 0}
    carol_now, bob_now = await user_json(starling, carol.id), await user_json(starling, bob.id)
    assert (carol_now["followers_count"], carol_now["following_count"]) == (0, 0)
    assert (bob_now["following_count"], bob_now["tweets_count"]) == (0, 0)
    notifications = await starling.client.get(
        "/api/starling/v1/notifications", headers=carol.headers
    )
    assert notifications.status_code == 200, notifications.text
    assert notifications.json()["notifications"] == []
    # The address and the username are free again.
    again = await starling.client.post(
        "/api/starling/v1/users",
        json={
            "username": alice.username,
            "email": f"{alice.username}@example.org",
            "password": PASSWORD,
        },
    )
    assert again.status_code == 201, again.text
