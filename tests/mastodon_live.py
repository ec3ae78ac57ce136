"""A live Starling server for real Mastodon clients (Mastodon.py, toot, websockets):
``python -m starling serve`` (granian) on a free port, in a subprocess, in either
configuration: embedded (SQLite, workers in the server process) or scale-out (an API
process of the session's PostgreSQL + Redis + NATS deployment, whose worker runs the
fan-out).

The clients are synchronous, so tests talking to the server are plain functions; what
must wait for the event log (:meth:`LiveServer.drain`) runs on a private event loop
thread, reading the consumers' progress from the shared backends (the event log's own
drain on JetStream; the consumers' saved outbox positions on the embedded default).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Coroutine, Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

from starling.bootstrap import App, build
from starling.config import load_settings
from starling.workers.consumers import FANOUT, NOTIFICATIONS, SEARCH, TRENDS

T = TypeVar("T")
START_TIMEOUT_S = 60.0
DRAIN_TIMEOUT_S = 20.0
PASSWORD = "correct horse battery"
_names = itertools.count(1)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class User:
    """An account registered through Starling's own API (``id`` as the decimal string
    Mastodon clients hold ids as)."""

    id: str
    username: str
    email: str
    password: str = PASSWORD


@dataclass
class LiveServer:
    """A running ``starling serve`` and what tests need around it."""

    base_url: str
    env: dict[str, str]
    config: str
    process: subprocess.Popen[bytes]
    _loop: asyncio.AbstractEventLoop = field(default_factory=asyncio.new_event_loop)
    _thread: threading.Thread | None = None
    _core: App | None = None

    @property
    def host(self) -> str:
        return self.base_url.removeprefix("http://")

    def register(self, prefix: str = "m") -> User:
        """A new account (unique name), through ``POST /api/starling/v1/users``."""
        name = f"{prefix}{os.getpid() % 1000}x{next(_names)}"
        email = f"{name}@example.org"
        r = httpx.post(
            f"{self.base_url}/api/starling/v1/users",
            json={"username": name, "email": email, "password": PASSWORD},
            timeout=30,
        )
        assert r.status_code == 201, r.text
        return User(r.json()["id"], name, email)

    def starling_token(self, user: User) -> str:
        """A token of Starling's own login (all scopes)."""
        r = httpx.post(
            f"{self.base_url}/api/starling/v1/auth/token",
            json={"username": user.username, "password": user.password},
            timeout=30,
        )
        assert r.status_code == 200, r.text
        token: str = r.json()["access_token"]
        return token

    # --- the private event loop ----------------------------------------------------------
    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
            self._thread.start()
        future: Future[T] = asyncio.run_coroutine_threadsafe(coro, self._loop)
        return future.result(timeout=DRAIN_TIMEOUT_S + 30)

    async def _core_of(self) -> App:
        if self._core is None:
            settings = load_settings(self.env)
            self._core = await build(settings, run_workers=False)
            if not settings.is_embedded:
                await self._core.start()
        return self._core

    def drain(self) -> None:
        """Wait until every event committed so far is processed by every consumer group."""
        self._run(self._drain())

    async def _drain(self) -> None:
        core = await self._core_of()
        if not core.settings.is_embedded:
            await core.event_log.drain(timeout_s=DRAIN_TIMEOUT_S)
            return
        store = core.store.inner
        head = await store.outbox_head()
        async with asyncio.timeout(DRAIN_TIMEOUT_S):
            while True:
                positions = [
                    await store.consumer_position(g)
                    for g in (FANOUT, NOTIFICATIONS, SEARCH, TRENDS)
                ]
                if min(positions) >= head:
                    return
                await asyncio.sleep(0.02)  # polling another process's progress

    def close(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self._core is not None:
            with contextlib.suppress(Exception):
                self._run(self._core.stop())
        if self._thread is not None:
            self._loop.call_soon_threadsafe(self._loop.stop)
            self._thread.join(timeout=5)
        self._loop.close()


def _wait_until_serving(proc: subprocess.Popen[bytes], url: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"starling serve exited with {proc.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{url}/healthz", timeout=1.0).status_code == 200:
                return
        time.sleep(0.1)  # waiting for a process to listen, not for work
    raise TimeoutError("starling serve did not start")


@contextlib.contextmanager
def serve(env: dict[str, str], config: str) -> Iterator[LiveServer]:
    """Start ``python -m starling serve`` with ``env`` on a free port."""
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "starling", "serve", "--port", str(port)],
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    server = LiveServer(url, env, config, proc)
    try:
        _wait_until_serving(proc, url)
        yield server
    finally:
        server.close()


def embedded_env(tmp: Path, **settings: Any) -> dict[str, str]:
    """The environment of an embedded server on a fresh SQLite file under ``tmp``."""
    from rates import GENEROUS_RATES

    values: dict[str, Any] = {
        "database_url": f"sqlite:///{tmp}/starling.db",
        "media_dir": str(tmp / "media"),
        **GENEROUS_RATES,
        **settings,
    }
    return {f"STARLING_{k.upper()}": str(v) for k, v in values.items()}


@pytest.fixture(name="live", scope="module", params=["embedded", "scale-out"])
def live_fixture(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LiveServer]:
    """A live Starling (``starling serve`` on a free port) with the API tests' small
    celebrity threshold, in both configurations, shared by a test module (its tests
    register new users). Test modules import it: ``from mastodon_live import live_fixture``."""
    from conftest import FAST_ARGON2, TEST_THRESHOLD

    tmp = tmp_path_factory.mktemp("live")
    if request.param == "embedded":
        env = embedded_env(tmp, celebrity_threshold=TEST_THRESHOLD, **FAST_ARGON2)
    else:
        deployment = request.getfixturevalue("scale_out")
        env = {**deployment.env, "STARLING_MEDIA_DIR": str(tmp / "media")}
    # Short heartbeats: a stream whose client left is noticed (and closed) quickly.
    env["STARLING_STREAM_HEARTBEAT_S"] = "1"
    with serve(env, request.param) as server:
        yield server
