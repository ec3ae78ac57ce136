"""Shared fixtures: a Starling app on a temporary SQLite file, with a manual clock.

``starling`` (the :class:`Harness`) is what most API tests use: it drives the real
Litestar app through ``httpx.ASGITransport`` on the test's own event loop (Litestar's
AsyncTestClient would run the workers on a portal thread's loop instead) and can wait
until the event log is drained, so no test sleeps for a worker.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis.asyncio
from litestar.types import ASGIApp

import scaleout
from rates import GENEROUS_RATES
from redis_time import let_time_pass
from starling.adapters.clock import ManualClock
from starling.api.app import create_app
from starling.bootstrap import App, build
from starling.config import Settings, load_settings

FAST_ARGON2 = {"argon2_time_cost": 1, "argon2_memory_kib": 8}
"""Cheap password hashing for tests (argon2's minimum costs); production keeps defaults."""


def make_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Settings for a test: a fresh SQLite file under ``tmp_path``, cheap argon2, and
    rate limits on at budgets no test reaches (see ``rates.py``)."""
    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp_path}/starling.db",
        "media_dir": str(tmp_path / "media"),
        **FAST_ARGON2,
        **GENEROUS_RATES,
        **overrides,
    }
    return load_settings({}, **values)


@dataclass
class Account:
    """A registered user as the tests see it: id (int) and auth headers."""

    id: int
    username: str
    token: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


class Harness:
    """An app under test plus helpers named after what users do."""

    _names = itertools.count(1)

    def __init__(
        self,
        core: App,
        client: httpx.AsyncClient,
        clock: ManualClock,
        worker_metrics_urls: Sequence[str] = (),
        app: ASGIApp | None = None,
    ) -> None:
        self.core = core
        self.client = client
        self.app = app
        """The ASGI app ``client`` talks to (see :meth:`client_from`)."""
        self.clock = clock
        self.worker_metrics_urls = list(worker_metrics_urls)
        self.time_hooks: list[Callable[[int], Awaitable[None]]] = []
        self._extra_clients: list[httpx.AsyncClient] = []

    async def advance(self, ms: int) -> None:
        """Let ``ms`` milliseconds pass: the injected clock, and whatever the backends
        measure time with themselves (Redis TTLs on the scale-out configuration)."""
        self.clock.advance(ms)
        for hook in self.time_hooks:
            await hook(ms)

    def client_from(self, ip: str) -> httpx.AsyncClient:
        """Another client of the same app whose requests come from ``ip`` (the socket
        peer address the app sees). The harness closes it with itself."""
        assert self.app is not None
        client = httpx.AsyncClient(
            transport=httpx.ASGITransport(app=self.app, client=(ip, 123)),
            base_url="http://starling.test",
        )
        self._extra_clients.append(client)
        return client

    async def close(self) -> None:
        for client in self._extra_clients:
            await client.aclose()
        await self.client.aclose()
        await self.core.stop()

    async def register(self, username: str | None = None) -> Account:
        name = username or f"user{next(self._names)}"
        r = await self.client.post(
            "/api/starling/v1/users",
            json={"username": name, "email": f"{name}@example.org", "password": "correct horse"},
        )
        assert r.status_code == 201, r.text
        t = await self.client.post(
            "/api/starling/v1/auth/token", json={"username": name, "password": "correct horse"}
        )
        assert t.status_code == 200, t.text
        return Account(int(r.json()["id"]), name, t.json()["access_token"])

    async def follow(self, follower: Account, followee: Account) -> None:
        r = await self.client.post(
            f"/api/starling/v1/users/{followee.id}/follow", headers=follower.headers
        )
        assert r.status_code == 200, r.text

    async def unfollow(self, follower: Account, followee: Account) -> None:
        r = await self.client.delete(
            f"/api/starling/v1/users/{followee.id}/follow", headers=follower.headers
        )
        assert r.status_code == 200, r.text

    async def post(
        self, author: Account, text: str, *, reply_to: int | None = None, quote: int | None = None
    ) -> int:
        body: dict[str, Any] = {"text": text}
        if reply_to is not None:
            body["reply_to_tweet_id"] = str(reply_to)
        if quote is not None:
            body["quote_tweet_id"] = str(quote)
        r = await self.client.post("/api/starling/v1/tweets", json=body, headers=author.headers)
        assert r.status_code == 201, r.text
        return int(r.json()["id"])

    async def retweet(self, user: Account, tweet_id: int) -> int:
        """Retweet ``tweet_id``; returns the retweet's id."""
        r = await self.client.post(
            f"/api/starling/v1/tweets/{tweet_id}/retweet", headers=user.headers
        )
        assert r.status_code == 201, r.text
        return int(r.json()["id"])

    async def tweet(self, tweet_id: int, viewer: Account | None = None) -> dict[str, Any]:
        """The Tweet JSON of ``tweet_id`` as ``viewer`` (None: anonymous) reads it."""
        headers = viewer.headers if viewer is not None else {}
        r = await self.client.get(f"/api/starling/v1/tweets/{tweet_id}", headers=headers)
        assert r.status_code == 200, r.text
        tweet: dict[str, Any] = r.json()
        return tweet

    async def block(self, blocker: Account, blocked: Account) -> None:
        r = await self.client.post(
            f"/api/starling/v1/users/{blocked.id}/block", headers=blocker.headers
        )
        assert r.status_code == 200, r.text

    async def mute(self, muter: Account, muted: Account) -> None:
        r = await self.client.post(f"/api/starling/v1/users/{muted.id}/mute", headers=muter.headers)
        assert r.status_code == 200, r.text

    async def delete(self, author: Account, tweet_id: int) -> None:
        r = await self.client.delete(f"/api/starling/v1/tweets/{tweet_id}", headers=author.headers)
        assert r.status_code == 204, r.text

    async def home_page(
        self, viewer: Account, *, cursor: str | None = None, limit: int = 20
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"limit": limit}
        if cursor is not None:
            params["cursor"] = cursor
        r = await self.client.get(
            "/api/starling/v1/timeline/home", params=params, headers=viewer.headers
        )
        assert r.status_code == 200, r.text
        page: dict[str, Any] = r.json()
        return page

    async def home_ids(self, viewer: Account, *, limit: int = 200) -> list[int]:
        """Every id of the viewer's home timeline, following cursors to the end."""
        ids: list[int] = []
        cursor: str | None = None
        while True:
            page = await self.home_page(viewer, cursor=cursor, limit=limit)
            ids.extend(int(t["id"]) for t in page["tweets"])
            if not page["has_more"]:
                return ids
            cursor = page["next_cursor"]

    async def drain(self) -> None:
        """Wait until every committed event has been processed by every consumer."""
        await self.core.event_log.drain()

    async def metric(self, name: str, labels: str = "") -> float:
        """One sample of ``/metrics``, summed over the API and any worker processes
        (scale-out: fan-out metrics live in the workers). 0 when absent."""
        texts = [(await self.client.get("/metrics")).text]
        async with httpx.AsyncClient() as scraper:
            for url in self.worker_metrics_urls:
                texts.append((await scraper.get(url)).text)
        wanted = f"{name}{{{labels}}}" if labels else name
        return sum(
            float(line.split()[-1])
            for text in texts
            for line in text.splitlines()
            if line.startswith(wanted + " ")
        )


async def start_harness(
    settings: Settings,
    clock: ManualClock,
    *,
    run_workers: bool = True,
    worker_metrics_urls: Sequence[str] = (),
) -> Harness:
    """Build a core, start it, and wrap its app in an httpx client."""
    core = await build(settings, clock=clock, run_workers=run_workers)
    await core.start()
    app = create_app(core)
    transport = httpx.ASGITransport(app=app)
    client = httpx.AsyncClient(transport=transport, base_url="http://starling.test")
    return Harness(core, client, clock, worker_metrics_urls, app)


HarnessFactory = Callable[..., Awaitable[Harness]]


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
async def make_starling(tmp_path: Path, clock: ManualClock) -> AsyncIterator[HarnessFactory]:
    """Factory: ``await make_starling(celebrity_threshold=3, ...)`` → a running Harness.
    Every harness made shares ``tmp_path``'s database unless ``database_url`` is given."""
    running: list[Harness] = []

    async def factory(**overrides: Any) -> Harness:
        harness = await start_harness(make_settings(tmp_path, **overrides), clock)
        running.append(harness)
        return harness

    yield factory
    for harness in reversed(running):
        await harness.close()


TEST_THRESHOLD = 3
"""Celebrity threshold of the API tests: small, so a few follows make a celebrity."""


@pytest.fixture(scope="session")
def scale_out() -> Iterator[scaleout.Deployment]:
    """One PostgreSQL + Redis + NATS deployment with a worker process, for the session."""
    with scaleout.deployment(celebrity_threshold=TEST_THRESHOLD, **FAST_ARGON2) as deployment:
        yield deployment


@pytest.fixture(params=["embedded", "scale-out"])
async def starling(
    request: pytest.FixtureRequest,
    make_starling: HarnessFactory,
    clock: ManualClock,
    tmp_path: Path,
) -> AsyncIterator[Harness]:
    """A running Starling with a small celebrity threshold, in both configurations:
    embedded (one process) and scale-out (this process serves the API; the fan-out runs
    in a separate worker process on PostgreSQL, Redis and NATS JetStream)."""
    if request.param == "embedded":
        yield await make_starling(celebrity_threshold=TEST_THRESHOLD)
        return
    reason = request.node.get_closest_marker("embedded_only")
    if reason is not None:
        pytest.skip(f"embedded only: {reason.args[0]}")
    deployment: scaleout.Deployment = request.getfixturevalue("scale_out")
    settings = load_settings(deployment.env, media_dir=str(tmp_path / "media"), **FAST_ARGON2)
    harness = await start_harness(
        settings,
        clock,
        run_workers=False,
        worker_metrics_urls=[deployment.worker_metrics_url],
    )
    ttl_client = redis.asyncio.Redis.from_url(scaleout.REDIS_URL)
    harness.time_hooks.append(lambda ms: let_time_pass(ttl_client, deployment.namespace, ms))
    try:
        yield harness
    finally:
        await ttl_client.aclose()
        await harness.close()


def pytest_sessionstart(session: pytest.Session) -> None:
    """With ``STARLING_REQUIRE_SERVICES=1`` every scale-out service must be up: fail the
    whole run at once rather than let service tests skip."""
    import services

    if services.required():
        down = [name for name in services.SERVICES if not services.reachable(name)]
        if down:
            raise pytest.UsageError(
                f"STARLING_REQUIRE_SERVICES=1 but not reachable: {', '.join(down)}"
            )
