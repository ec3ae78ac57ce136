"""Request budgets: a 429 ``rate_limited`` with ``Retry-After`` once a budget is spent,
``X-RateLimit-*`` on every answer of a limited route, one budget across API processes
on the scale-out configuration, and ``X-Forwarded-For`` only from trusted proxies.

Every test asks for the small budgets it spends (the harness default is generous, see
``rates.py``) with windows of an hour, which never pass during a test unless the test
moves the injected clock. Assertions are on statuses and headers, never on time.
Requests keyed by address come from an address of the test's own
(:func:`fresh_ip`): the scale-out budgets live in the session's one Redis.
"""

from __future__ import annotations

import ipaddress
import itertools
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from test_media import image_bytes

import scaleout
from conftest import FAST_ARGON2, Harness, make_settings, start_harness
from starling.adapters.clock import ManualClock
from starling.api.app import create_app
from starling.api.rate_limits import ROUTE_CLASSES, client_ip, route_class
from starling.config import SettingsError, load_settings

HOUR_MS = 3_600_000
PASSWORD = "correct horse"
_ips = itertools.count(1)
_names = itertools.count(1)

Limited = Callable[..., Awaitable[Harness]]


def fresh_ip() -> str:
    """An address no other test of the session uses (TEST-NET-2 and beyond)."""
    n = next(_ips)
    return f"10.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


@pytest.fixture(params=["embedded", "scale-out"])
async def limited(
    request: pytest.FixtureRequest, tmp_path: Path, clock: ManualClock
) -> AsyncIterator[Limited]:
    """Factory: ``await limited(rate_posts="2/hour")`` -> a running Harness with those
    budgets (the rest generous) whose client has an address of its own, in each
    configuration; on scale-out every harness made draws from the session's Redis."""
    running: list[Harness] = []
    env: dict[str, str] = {}
    if request.param == "scale-out":
        deployment: scaleout.Deployment = request.getfixturevalue("scale_out")
        env = deployment.env

    async def factory(**overrides: Any) -> Harness:
        if env:
            settings = load_settings(
                env, media_dir=str(tmp_path / "media"), **FAST_ARGON2, **overrides
            )
        else:
            settings = make_settings(tmp_path, **overrides)
        harness = await start_harness(settings, clock, run_workers=False)
        harness.client = harness.client_from(fresh_ip())
        running.append(harness)
        return harness

    yield factory
    for harness in reversed(running):
        await harness.close()


async def register(
    client: httpx.AsyncClient, *, forwarded_for: str | None = None
) -> httpx.Response:
    """Register a new account through ``client``, optionally as a proxy would."""
    name = f"rl{next(_names)}x{time.time_ns() % 10**6}"
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    return await client.post(
        "/api/starling/v1/users",
        json={"username": name, "email": f"{name}@example.org", "password": PASSWORD},
        headers=headers,
    )


async def login(client: httpx.AsyncClient, name: str, password: str = PASSWORD) -> httpx.Response:
    return await client.post(
        "/api/starling/v1/auth/token", json={"username": name, "password": password}
    )


def assert_limited(r: httpx.Response, amount: int) -> None:
    """A refusal: 429 in the error shape, a whole Retry-After within the window (an
    hour in these tests), and headers saying the budget is spent."""
    assert r.status_code == 429, r.text
    assert r.json() == {"error": {"code": "rate_limited", "message": r.json()["error"]["message"]}}
    assert 1 <= int(r.headers["retry-after"]) <= 3600
    assert r.headers["x-ratelimit-limit"] == str(amount)
    assert r.headers["x-ratelimit-remaining"] == "0"
    assert int(r.headers["x-ratelimit-reset"]) >= time.time() - 5


async def test_posts_past_the_budget_are_429(limited: Limited) -> None:
    starling = await limited(rate_posts="2/hour")
    alice = await starling.register()
    first = await starling.post(alice, "one")
    await starling.post(alice, "two")
    r = await starling.client.post(
        "/api/starling/v1/tweets", json={"text": "three"}, headers=alice.headers
    )
    assert_limited(r, 2)
    # Deleting is a tweet write too; another account has a budget of its own.
    assert_limited(
        await starling.client.delete(f"/api/starling/v1/tweets/{first}", headers=alice.headers), 2
    )
    await starling.post(await starling.register(), "someone else")


async def test_follows_and_unfollows_share_one_budget(limited: Limited) -> None:
    starling = await limited(rate_follows="2/hour")
    alice, bob, carol = [await starling.register() for _ in range(3)]
    await starling.follow(alice, bob)
    await starling.unfollow(alice, bob)
    r = await starling.client.post(
        f"/api/starling/v1/users/{carol.id}/follow", headers=alice.headers
    )
    assert_limited(r, 2)


async def test_likes_retweets_and_their_undoing_share_one_budget(limited: Limited) -> None:
    starling = await limited(rate_engagement="3/hour")
    alice, bob = await starling.register(), await starling.register()
    tweet = await starling.post(bob, "like me")
    base = f"/api/starling/v1/tweets/{tweet}"
    assert (await starling.client.post(f"{base}/like", headers=alice.headers)).status_code == 200
    assert (await starling.client.delete(f"{base}/like", headers=alice.headers)).status_code == 200
    await starling.retweet(alice, tweet)
    assert_limited(await starling.client.delete(f"{base}/retweet", headers=alice.headers), 3)
    assert_limited(await starling.client.post(f"{base}/like", headers=alice.headers), 3)


async def test_media_uploads_past_the_budget_are_429(limited: Limited) -> None:
    starling = await limited(rate_media="1/hour")
    alice = await starling.register()
    files = {"file": ("a.png", image_bytes(size=(8, 8)), "image/png")}
    r = await starling.client.post("/api/starling/v1/media", files=files, headers=alice.headers)
    assert r.status_code == 201, r.text
    r = await starling.client.post("/api/starling/v1/media", files=files, headers=alice.headers)
    assert_limited(r, 1)


async def test_reads_are_per_account_with_a_token_and_per_address_without(
    limited: Limited,
) -> None:
    starling = await limited(rate_reads="3/hour", rate_reads_anonymous="2/hour")
    alice, bob = await starling.register(), await starling.register()
    for _ in range(3):
        assert (
            await starling.client.get("/api/starling/v1/users/me", headers=alice.headers)
        ).is_success
    assert_limited(
        await starling.client.get("/api/starling/v1/timeline/home", headers=alice.headers), 3
    )
    # Same address, another account: a budget of its own; so has the address itself.
    assert (await starling.client.get("/api/starling/v1/users/me", headers=bob.headers)).is_success
    for _ in range(2):
        assert (await starling.client.get(f"/api/starling/v1/users/{bob.id}")).is_success
    assert_limited(await starling.client.get(f"/api/starling/v1/users/{bob.id}"), 2)
    # A token that does not verify counts as anonymous: it cannot buy a fresh budget.
    bad = {"Authorization": "Bearer not-a-token"}
    assert_limited(await starling.client.get("/api/starling/v1/users/me", headers=bad), 2)
    assert (
        await starling.client_from(fresh_ip()).get(f"/api/starling/v1/users/{bob.id}")
    ).is_success


async def test_registrations_are_per_address(limited: Limited) -> None:
    starling = await limited(rate_registrations="2/hour")
    assert (await register(starling.client)).status_code == 201
    assert (await register(starling.client)).status_code == 201
    assert_limited(await register(starling.client), 2)
    assert (await register(starling.client_from(fresh_ip()))).status_code == 201


async def test_login_attempts_are_limited_per_address(limited: Limited) -> None:
    starling = await limited(rate_logins_ip="2/hour")
    alice = await starling.register()  # logs in once, from the harness's address
    attacker = starling.client_from(fresh_ip())
    for _ in range(2):
        assert (await login(attacker, alice.username, "wrong")).status_code == 401
    assert_limited(await login(attacker, alice.username), 2)  # even the right password
    assert (await login(starling.client, alice.username)).status_code == 200


async def test_login_attempts_are_limited_per_account_name_from_any_address(
    limited: Limited,
) -> None:
    starling = await limited(rate_logins_account="2/hour")
    alice, bob = await starling.register(), await starling.register()
    # register() logged in once already: one attempt left for alice.
    r = await login(starling.client_from(fresh_ip()), alice.username.upper(), "wrong")
    assert r.status_code == 401
    assert_limited(await login(starling.client_from(fresh_ip()), alice.username), 2)
    assert (await login(starling.client_from(fresh_ip()), bob.username)).status_code == 200


async def test_every_answer_of_a_limited_route_carries_the_budget_headers(
    limited: Limited,
) -> None:
    starling = await limited(rate_reads="10/hour")
    alice = await starling.register()
    seen = []
    for path in (
        "/api/starling/v1/users/me",
        "/api/starling/v1/timeline/home",
        "/api/starling/v1/tweets/1",
    ):
        r = await starling.client.get(path, headers=alice.headers)
        assert r.headers["x-ratelimit-limit"] == "10", path
        seen.append(int(r.headers["x-ratelimit-remaining"]))
        assert int(r.headers["x-ratelimit-reset"]) > time.time() - 5
    assert seen == [9, 8, 7]  # the 404 of the last one counted too
    r = await starling.client.post(
        "/api/starling/v1/tweets", json={"text": "hi"}, headers=alice.headers
    )
    assert r.headers["x-ratelimit-limit"] == "100000"  # the posts budget of the harness
    for path in ("/healthz", "/readyz", "/metrics"):
        r = await starling.client.get(path)
        assert "x-ratelimit-limit" not in r.headers, path


async def test_a_spent_budget_comes_back_as_the_window_moves(limited: Limited) -> None:
    starling = await limited(rate_posts="1/hour")
    alice = await starling.register()
    await starling.post(alice, "one")
    r = await starling.client.post(
        "/api/starling/v1/tweets", json={"text": "two"}, headers=alice.headers
    )
    assert_limited(r, 1)
    starling.clock.advance(HOUR_MS + 1000)
    await starling.post(alice, "two, an hour later")


async def test_rate_limits_off_lets_everything_through(limited: Limited) -> None:
    starling = await limited(rate_limits="off", rate_posts="1/hour")
    assert starling.core.rate_limiter is None
    alice = await starling.register()
    await starling.post(alice, "one")
    r = await starling.client.post(
        "/api/starling/v1/tweets", json={"text": "two"}, headers=alice.headers
    )
    assert r.status_code == 201
    assert "x-ratelimit-limit" not in r.headers


async def test_two_api_processes_draw_from_one_budget(
    scale_out: scaleout.Deployment, tmp_path: Path
) -> None:
    settings = load_settings(
        scale_out.env, media_dir=str(tmp_path / "media"), rate_posts="3/hour", **FAST_ARGON2
    )
    here = await start_harness(settings, ManualClock(), run_workers=False)
    there = await start_harness(settings, ManualClock(), run_workers=False)
    try:
        alice = await here.register()
        await here.post(alice, "one, here")
        await there.post(alice, "two, there")
        await here.post(alice, "three, here")
        r = await there.client.post(
            "/api/starling/v1/tweets", json={"text": "4"}, headers=alice.headers
        )
        assert_limited(r, 3)
    finally:
        await there.close()
        await here.close()


async def test_forwarded_for_is_ignored_unless_the_peer_is_a_trusted_proxy(
    limited: Limited,
) -> None:
    starling = await limited(rate_registrations="1/hour")
    first = await register(starling.client, forwarded_for=fresh_ip())
    assert first.status_code == 201
    assert_limited(await register(starling.client, forwarded_for=fresh_ip()), 1)


async def test_forwarded_for_names_the_client_behind_a_trusted_proxy(limited: Limited) -> None:
    proxy_ip = fresh_ip()
    starling = await limited(rate_registrations="1/hour", trusted_proxies=f"{proxy_ip}/32")
    proxy = starling.client_from(proxy_ip)
    behind, other = fresh_ip(), fresh_ip()

    async def via_proxy(forwarded_for: str) -> httpx.Response:
        return await register(proxy, forwarded_for=forwarded_for)

    assert (await via_proxy(behind)).status_code == 201
    assert (await via_proxy(other)).status_code == 201  # another client behind the proxy
    assert_limited(await via_proxy(behind), 1)
    # A client cannot pick its name: entries left of the last untrusted hop are its own.
    assert_limited(await via_proxy(f"{fresh_ip()}, {behind}"), 1)
    # The proxy's own requests without the header are the proxy's.
    assert (await register(proxy)).status_code == 201


def test_client_ip_takes_the_rightmost_untrusted_hop_and_cuts_ipv6_to_64() -> None:
    trusted = (ipaddress.ip_network("10.0.0.0/8"),)

    def scope(peer: str, forwarded: str | None = None) -> Any:
        headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
        return {"client": (peer, 1), "headers": headers}

    assert client_ip(scope("192.0.2.1", "198.51.100.9"), trusted) == "192.0.2.1"
    assert client_ip(scope("10.0.0.1", "198.51.100.9"), trusted) == "198.51.100.9"
    assert client_ip(scope("10.0.0.1", "203.0.113.1, 198.51.100.9, 10.2.2.2"), trusted) == (
        "198.51.100.9"
    )
    assert client_ip(scope("10.0.0.1"), trusted) == "10.0.0.1"
    assert client_ip(scope("2001:db8:1:2:3:4:5:6"), ()) == "2001:db8:1:2::/64"
    assert client_ip(scope("::ffff:192.0.2.7"), ()) == "192.0.2.7"


def test_every_classed_route_exists() -> None:
    routes = {
        (method, route.path_format)
        for route in create_app().routes
        for method in getattr(route, "methods", ())
    }
    assert set(ROUTE_CLASSES) <= routes


def test_the_json_api_routes_have_the_classes_of_their_kind() -> None:
    assert route_class(None, "GET", "/api/starling/v1/timeline/home") == "reads"
    assert route_class(None, "PATCH", "/api/starling/v1/users/me") == "reads"
    assert route_class(None, "GET", "/healthz") is None
    assert route_class(None, "POST", "/api/starling/v1/users") == "registrations"
    assert {c for c in ROUTE_CLASSES.values()} == {
        "registrations",
        "logins",
        "posts",
        "follows",
        "engagement",
        "media",
    }

    class Declared:
        opt: dict[str, Any] = {"rate_limit": "posts"}

    assert route_class(Declared(), "POST", "/statuses") == "posts"
    Declared.opt = {"rate_limit": None}
    assert route_class(Declared(), "GET", "/api/starling/v1/anything") is None


@pytest.mark.parametrize(
    "env",
    [
        {"STARLING_RATE_POSTS": "lots"},
        {"STARLING_RATE_READS": "0/hour"},
        {"STARLING_RATE_LIMITS": "sometimes"},
        {"STARLING_TRUSTED_PROXIES": "10.0.0.0/8,not-a-network"},
    ],
)
def test_malformed_rate_settings_are_refused_by_name(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError, match=next(iter(env)).removeprefix("STARLING_").lower()):
        load_settings(env)
