"""The server under test, as child processes: ``starling serve`` (and, scale-out,
``starling worker``), started with a fan-out strategy and stopped after each run.

Embedded: one API process on a SQLite file (workers in-process). Scale-out: PostgreSQL
+ Redis + NATS JetStream, the API with 2 granian workers and one ``starling worker``;
each start gets a fresh Redis namespace and JetStream stream (unique names, removed on
stop), so every strategy begins with cold timelines, while the loaded PostgreSQL
database is kept for the next run.
"""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import httpx

START_TIMEOUT_S = 120.0
EMBEDDED = "embedded"
SCALE_OUT = "scale-out"
CONFIGS = (EMBEDDED, SCALE_OUT)
API_WORKERS = {EMBEDDED: 1, SCALE_OUT: 2}
"""granian worker processes of the API per configuration (the benchmark's targets)."""


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass(frozen=True)
class Backends:
    """Where the benchmark's data lives: the database URL (kept between runs) and, for
    scale-out, the Redis and NATS URLs."""

    config: str
    database_url: str
    redis_url: str | None = None
    nats_url: str | None = None
    pg_admin_url: str | None = None

    @classmethod
    def for_config(cls, config: str, bench_dir: Path) -> Backends:
        """Default backends: ``BENCH_DIR/embedded.db``, or the ``starling_bench`` database
        of the PostgreSQL at ``STARLING_BENCH_POSTGRES_URL`` (default
        ``postgresql://postgres@127.0.0.1:5432/test``, the admin connection) with
        ``STARLING_BENCH_REDIS_URL`` and ``STARLING_BENCH_NATS_URL``."""
        if config == EMBEDDED:
            return cls(config, f"sqlite:///{bench_dir.resolve() / 'embedded.db'}")
        admin = os.environ.get(
            "STARLING_BENCH_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test"
        )
        return cls(
            config,
            f"{admin.rsplit('/', 1)[0]}/starling_bench",
            redis_url=os.environ.get("STARLING_BENCH_REDIS_URL", "redis://127.0.0.1:6379/0"),
            nats_url=os.environ.get("STARLING_BENCH_NATS_URL", "nats://127.0.0.1:4222"),
            pg_admin_url=admin,
        )

    def env(self) -> dict[str, str]:
        """``STARLING_*`` variables selecting these backends (no namespaces yet)."""
        env = {"STARLING_DATABASE_URL": self.database_url}
        if self.redis_url and self.nats_url:
            env["STARLING_REDIS_URL"] = self.redis_url
            env["STARLING_NATS_URL"] = self.nats_url
        return env

    async def create_database(self) -> None:
        """Create the scale-out database when it does not exist (embedded: nothing)."""
        if self.pg_admin_url is None:
            return
        import asyncpg

        name = self.database_url.rsplit("/", 1)[1]
        conn = await asyncpg.connect(self.pg_admin_url)
        try:
            exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
            if not exists:
                await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()


@dataclass
class Server:
    """A running deployment: API base URL, where its fan-out metrics are scraped, and
    its processes (stopped by :meth:`stop`)."""

    base_url: str
    metrics_url: str
    """The /metrics holding fan-out lag and writes: the API (embedded) or the worker."""
    api_metrics_url: str
    env: dict[str, str]
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[IO[bytes]] = field(default_factory=list)
    namespace: str | None = None
    stream: str | None = None
    redis_url: str | None = None
    nats_url: str | None = None

    def jetstream_backlog(self) -> int | None:
        """Scale-out: events of the stream not yet acknowledged by every consumer group,
        fetched-but-unacknowledged ones included (``num_pending + num_ack_pending`` of
        the slowest consumer); None on the embedded config."""
        if not (self.stream and self.nats_url):
            return None
        import asyncio

        return asyncio.run(_jetstream_backlog(self.nats_url, self.stream))

    def stop(self) -> None:
        """SIGTERM every process (SIGKILL after 20 s), then remove the namespaces."""
        for proc in reversed(self.processes):
            if proc.poll() is None:
                proc.terminate()
        for proc in reversed(self.processes):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in self.logs:
            log.close()
        self.processes.clear()
        if self.namespace and self.redis_url:
            _drop_redis_namespace(self.redis_url, self.namespace)
        if self.stream and self.nats_url:
            import asyncio

            asyncio.run(_delete_streams(self.nats_url, self.stream))


def _drop_redis_namespace(url: str, namespace: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    try:
        batch: list[bytes] = []
        for key in client.scan_iter(match=f"{namespace}:*", count=10_000):
            batch.append(key)
            if len(batch) >= 10_000:
                client.delete(*batch)
                batch.clear()
        if batch:
            client.delete(*batch)
    finally:
        client.close()


async def _jetstream_backlog(url: str, stream: str) -> int:
    import nats

    nc = await nats.connect(url)
    try:
        consumers = await nc.jetstream().consumers_info(stream)
        return max(((c.num_pending or 0) + (c.num_ack_pending or 0) for c in consumers), default=0)
    finally:
        await nc.close()


async def _delete_streams(url: str, stream: str) -> None:
    import nats

    nc = await nats.connect(url)
    try:
        js = nc.jetstream()
        for name in (stream, f"{stream}_DLQ"):
            with contextlib.suppress(Exception):
                await js.delete_stream(name)
    finally:
        await nc.close()


def wait_ready(url: str, processes: list[subprocess.Popen[bytes]], timeout_s: float) -> None:
    """Poll ``url`` until it answers 200. Raises ``RuntimeError`` when a process exits
    and ``TimeoutError`` after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        for proc in processes:
            if proc.poll() is not None:
                raise RuntimeError(f"{proc.args!r} exited with {proc.returncode}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(url, timeout=2.0).status_code == 200:
                return
        time.sleep(0.2)  # a process starting up: nothing to wait on but its socket
    raise TimeoutError(f"{url} not ready after {timeout_s:.0f} s")


BENCH_WRITE_BUDGETS: dict[str, str] = {
    "STARLING_RATE_POSTS": "1000000/1 hour",
    "STARLING_RATE_ENGAGEMENT": "1000000/1 hour",
    "STARLING_RATE_FOLLOWS": "1000000/1 hour",
}
"""Budgets a benchmark raises although limits are on: its celebrity posts hundreds of
tweets in a minute, far past a person's 300 posts per 3 hours. Reads keep their default
budget (1,500 per 5 minutes per account): the benchmark's thousands of readers each read a
few dozen times, and the limiter's cost on every read is part of what is measured."""


def start(
    backends: Backends,
    *,
    strategy: str,
    log_dir: Path,
    rate_limits: bool = True,
    extra_env: dict[str, str] | None = None,
) -> Server:
    """Start the deployment of ``backends`` with ``STARLING_FANOUT_STRATEGY=strategy`` and
    wait until /readyz answers 200 (and the scale-out worker serves /metrics). With
    ``rate_limits`` the request budgets are on (the write budgets raised:
    :data:`BENCH_WRITE_BUDGETS`), else ``STARLING_RATE_LIMITS=off``. Server output goes to
    ``log_dir/server-<config>-<strategy>.log``."""
    budgets = BENCH_WRITE_BUDGETS if rate_limits else {"STARLING_RATE_LIMITS": "off"}
    env = {
        **backends.env(),
        "STARLING_FANOUT_STRATEGY": strategy,
        **budgets,
        **(extra_env or {}),
    }
    server_env = {**os.environ, **env}
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_dir.mkdir(parents=True, exist_ok=True)
    server = Server(base_url, f"{base_url}/metrics", f"{base_url}/metrics", env)
    if backends.config == SCALE_OUT:
        tag = uuid.uuid4().hex[:8]
        server.namespace, server.stream = f"bench{tag}", f"BENCH{tag.upper()}"
        server.redis_url, server.nats_url = backends.redis_url, backends.nats_url
        env["STARLING_REDIS_NAMESPACE"] = server.namespace
        env["STARLING_NATS_STREAM"] = server.stream
        server_env.update(env)
        metrics_port = free_port()
        log = open(log_dir / f"worker-{strategy}.log", "wb")  # noqa: SIM115  closed by stop()
        server.logs.append(log)
        server.processes.append(
            subprocess.Popen(
                [sys.executable, "-m", "starling", "worker", "--metrics-port", str(metrics_port)],
                env={**server_env, "STARLING_WORKER_ID": "900"},
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        )
        server.metrics_url = f"http://127.0.0.1:{metrics_port}/metrics"
    log = open(log_dir / f"server-{backends.config}-{strategy}.log", "wb")  # noqa: SIM115
    server.logs.append(log)
    server.processes.append(
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "starling",
                "serve",
                "--port",
                str(port),
                "--workers",
                str(API_WORKERS[backends.config]),
            ],
            env=server_env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    )
    try:
        wait_ready(f"{base_url}/readyz", server.processes, START_TIMEOUT_S)
        wait_ready(server.metrics_url, server.processes, START_TIMEOUT_S)
    except BaseException:
        server.stop()
        raise
    return server


def start_bare(*, workers: int, page_bytes: int, log_dir: Path) -> Server:
    """Start the bare ASGI ceiling app (:mod:`.bare_app`) with ``workers`` processes."""
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    log_dir.mkdir(parents=True, exist_ok=True)
    log = open(log_dir / "bare-app.log", "wb")  # noqa: SIM115  closed by stop()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "starling.bench.bare_app",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--bytes",
            str(page_bytes),
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = Server(base_url, "", "", {}, [proc], [log])
    try:
        wait_ready(f"{base_url}/", server.processes, START_TIMEOUT_S)
    except BaseException:
        server.stop()
        raise
    return server
