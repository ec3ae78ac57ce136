"""A scale-out deployment for tests: PostgreSQL + Redis + NATS JetStream, with the
fan-out worker in a separate process (``python -m starling worker``).

One deployment serves a whole test session (a worker process takes seconds to start);
tests stay independent because every user they create is new. Everything it creates
(database, Redis keys, streams) carries a unique name and is removed at the end.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import asyncpg
import httpx
import nats
import redis

import services
from rates import GENEROUS_RATES

PG_ADMIN_URL = os.environ.get(
    "STARLING_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
)
REDIS_URL = os.environ.get("STARLING_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
NATS_URL = os.environ.get("STARLING_TEST_NATS_URL", "nats://127.0.0.1:4222")
WORKER_START_TIMEOUT_S = 60.0


@dataclass
class Deployment:
    """Where a scale-out test deployment lives, and its worker process."""

    env: dict[str, str]
    database: str
    namespace: str
    stream: str
    worker: subprocess.Popen[bytes] | None = None
    worker_metrics_url: str = ""

    def start_worker(self) -> None:
        """Start ``python -m starling worker`` and wait until it serves /metrics."""
        port = _free_port()
        self.worker = subprocess.Popen(
            [sys.executable, "-m", "starling", "worker", "--metrics-port", str(port)],
            env={**os.environ, **self.env},
        )
        self.worker_metrics_url = f"http://127.0.0.1:{port}/metrics"
        _wait_for_worker(self.worker, self.worker_metrics_url)

    def kill_worker(self) -> None:
        """SIGKILL the worker: no shutdown, no acks, as in a crash."""
        if self.worker is not None:
            self.worker.kill()
            self.worker.wait()
            self.worker = None

    def stop_worker(self) -> None:
        """Stop the worker gracefully (SIGTERM), killing it if it hangs."""
        if self.worker is None:
            return
        self.worker.terminate()
        try:
            self.worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.worker.kill()
            self.worker.wait()
        self.worker = None

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run ``python -m starling ARGS`` against this deployment."""
        return subprocess.run(
            [sys.executable, "-m", "starling", *args],
            env={**os.environ, **self.env},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )


def _run(coro: Coroutine[Any, Any, None]) -> None:
    """Run ``coro`` to completion on a fresh thread: the session fixture is set up from
    inside a running event loop (an async test's), where asyncio.run is not allowed."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, coro).result()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _admin(sql: str) -> None:
    conn = await asyncpg.connect(PG_ADMIN_URL)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


async def _delete_streams(stream: str) -> None:
    nc = await nats.connect(NATS_URL)
    try:
        js = nc.jetstream()
        for name in (stream, f"{stream}_DLQ"):
            with contextlib.suppress(Exception):
                await js.delete_stream(name)
    finally:
        await nc.close()


def _wait_for_worker(proc: subprocess.Popen[bytes], metrics_url: str) -> None:
    deadline = time.monotonic() + WORKER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"starling worker exited with {proc.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(metrics_url, timeout=1.0).status_code == 200:
                return
        time.sleep(0.1)  # waiting for a process to start listening, not for work
    raise TimeoutError("starling worker did not start")


@contextlib.contextmanager
def deployment(**settings: Any) -> Iterator[Deployment]:
    """Create the backends' namespaces, start one worker process, and clean up after.
    ``settings`` (``STARLING_*`` names in lower case, without the prefix) join the
    environment, after the generous test budgets of ``rates.py``."""
    for name in services.SERVICES:
        services.require(name)
    tag = uuid.uuid4().hex[:10]
    database, namespace, stream = f"starling_it_{tag}", f"it{tag}", f"IT{tag.upper()}"
    _run(_admin(f'CREATE DATABASE "{database}"'))
    admin = PG_ADMIN_URL.rsplit("/", 1)[0]
    env = {
        "STARLING_DATABASE_URL": f"{admin}/{database}",
        "STARLING_REDIS_URL": REDIS_URL,
        "STARLING_REDIS_NAMESPACE": namespace,
        "STARLING_NATS_URL": NATS_URL,
        "STARLING_NATS_STREAM": stream,
        # Rate limits on, at budgets no test reaches (see rates.py).
        **{f"STARLING_{k.upper()}": v for k, v in GENEROUS_RATES.items()},
        **{f"STARLING_{k.upper()}": str(v) for k, v in settings.items()},
    }
    deployed = Deployment(env, database, namespace, stream)
    try:
        deployed.start_worker()
        yield deployed
    finally:
        deployed.stop_worker()
        _run(_delete_streams(stream))
        client = redis.Redis.from_url(REDIS_URL)
        keys = list(client.scan_iter(match=f"{namespace}:*", count=1000))
        if keys:
            client.delete(*keys)
        client.close()
        _run(_admin(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
