"""Abuse probe (a measurement, not a test): how much memory an API worker takes under a
login flood and under decompression-bomb uploads, and what the login timing says.

Starts ``starling serve`` (embedded default, a temporary SQLite file, production argon2
costs), then, each phase against a fresh server so that peaks do not mix:

1. 80 concurrent wrong logins for ONE account, with one correct login for another
   account sent during the flood;
2. 80 concurrent wrong logins for 80 DIFFERENT unknown names (what per-account fairness
   cannot spread out: the hashing pool's bound is what holds);
3. 12 concurrent uploads of an 8192x8192 PNG (~260 KB on disk, ~200 MB decoded);
4. 12 concurrent uploads of a 6000x6000 PNG (36 megapixels: under the default limit, so
   decoded; the decode semaphore is what holds).

For each: the worker's resident memory before, its peak (sampled every 10 ms from
/proc, and the kernel's own high-water mark VmHWM), after, and the statuses answered.
Also the median time of a wrong login for an existing vs an unknown username.

Run from the repository root (Linux only, for /proc):

    uv run python bench/probes/abuse.py

Goals: login flood peak <= 400 MB; bomb uploads peak <= 600 MB or refused.
"""

from __future__ import annotations

import asyncio
import collections
import io
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from PIL import Image

PASSWORD = "correct horse battery"
MB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def children(pid: int) -> list[int]:
    """Every descendant of ``pid`` (granian runs the app in worker child processes)."""
    parents: dict[int, list[int]] = collections.defaultdict(list)
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as f:
                ppid = int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, IndexError, ValueError):
            continue
        parents[ppid].append(int(entry))
    found: list[int] = []
    todo = [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def status_kib(pid: int, field: str) -> int:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    return 0


class Server:
    """``starling serve`` on a temporary database, and its API worker's pid."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        env = {
            **os.environ,
            "STARLING_DATABASE_URL": f"sqlite:///{workdir}/probe.db",
            "STARLING_MEDIA_DIR": str(workdir / "media"),
            "STARLING_LOG_LEVEL": "warning",
        }
        self.process = subprocess.Popen(
            [sys.executable, "-m", "starling", "serve", "--port", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        self.base = f"http://127.0.0.1:{self.port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{self.base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("starling serve did not start")
            time.sleep(0.2)
        workers = children(self.process.pid)
        # The worker is the descendant holding the most memory (the app is loaded there).
        self.worker = (
            max(workers, key=lambda p: status_kib(p, "VmRSS")) if workers else (self.process.pid)
        )

    def rss_mb(self) -> float:
        return status_kib(self.worker, "VmRSS") / 1024

    def hwm_mb(self) -> float:
        return status_kib(self.worker, "VmHWM") / 1024

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


class Sampler:
    """The worker's VmRSS every 10 ms in a thread; ``peak`` in MB."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.peak = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self.server.rss_mb())
            time.sleep(0.01)

    def __enter__(self) -> Sampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def register(client: httpx.AsyncClient, name: str) -> str:
    r = await client.post(
        "/api/starling/v1/users",
        json={"username": name, "email": f"{name}@example.org", "password": PASSWORD},
    )
    assert r.status_code == 201, r.text
    t = await client.post("/api/starling/v1/auth/token", json={"username": name, "password": PASSWORD})
    assert t.status_code == 200, t.text
    token: str = t.json()["access_token"]
    return token


def png(side: int) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (side, side), (40, 90, 160)).save(out, format="PNG")
    return out.getvalue()


Phase = Callable[[httpx.AsyncClient, str], Awaitable[dict[str, object]]]


async def login_flood_one_account(client: httpx.AsyncClient, token: str) -> dict[str, object]:
    await register(client, "bystander")

    async def wrong(i: int) -> int:
        r = await client.post(
            "/api/starling/v1/auth/token", json={"username": "victim", "password": f"guess {i}"}
        )
        return r.status_code

    async def correct() -> tuple[int, float]:
        await asyncio.sleep(0.05)  # sent while the flood is under way
        start = time.perf_counter()
        r = await client.post(
            "/api/starling/v1/auth/token", json={"username": "bystander", "password": PASSWORD}
        )
        return r.status_code, (time.perf_counter() - start) * 1000

    results = await asyncio.gather(*(wrong(i) for i in range(80)), correct())
    flood = collections.Counter(s for s in results[:-1] if isinstance(s, int))
    status, ms = results[-1]  # type: ignore[misc]
    return {"flood statuses": dict(flood), "bystander login": f"{status} in {ms:.0f} ms"}


async def login_flood_many_names(client: httpx.AsyncClient, token: str) -> dict[str, object]:
    async def wrong(i: int) -> int:
        r = await client.post(
            "/api/starling/v1/auth/token", json={"username": f"nobody{i}", "password": "guess"}
        )
        return r.status_code

    statuses = await asyncio.gather(*(wrong(i) for i in range(80)))
    return {"statuses": dict(collections.Counter(statuses))}


def uploads(side: int) -> Phase:
    data = png(side)

    async def phase(client: httpx.AsyncClient, token: str) -> dict[str, object]:
        async def one() -> str:
            r = await client.post(
                "/api/starling/v1/media",
                files={"file": ("bomb.png", data, "image/png")},
                headers={"Authorization": f"Bearer {token}"},
            )
            code = r.json().get("error", {}).get("code", "") if r.status_code >= 400 else ""
            return f"{r.status_code} {code}".strip()

        statuses = await asyncio.gather(*(one() for _ in range(12)))
        return {"file KB": len(data) // 1024, "statuses": dict(collections.Counter(statuses))}

    return phase


async def login_timing(client: httpx.AsyncClient, token: str) -> dict[str, object]:
    for i in range(4):
        await register(client, f"timed{i}")

    async def timed(username: str) -> float:
        start = time.perf_counter()
        await client.post("/api/starling/v1/auth/token", json={"username": username, "password": "nope"})
        return (time.perf_counter() - start) * 1000

    existing = [await timed(f"timed{i}") for i in range(4)]
    unknown = [await timed(f"ghost{i}") for i in range(4)]
    return {
        "wrong password, existing user (median ms)": round(statistics.median(existing)),
        "unknown user (median ms)": round(statistics.median(unknown)),
    }


async def run_phase(name: str, phase: Phase) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = Server(Path(tmp))
        try:
            limits = httpx.Limits(max_connections=200)
            async with httpx.AsyncClient(base_url=server.base, timeout=120, limits=limits) as c:
                token = await register(c, "victim")
                before = server.rss_mb()
                with Sampler(server) as sampler:
                    start = time.perf_counter()
                    outcome = await phase(c, token)
                    elapsed = time.perf_counter() - start
                await asyncio.sleep(1.0)
                after = server.rss_mb()
            print(f"\n== {name}")
            print(
                f"   worker RSS: before {before:.0f} MB, peak {sampler.peak:.0f} MB "
                f"(VmHWM {server.hwm_mb():.0f} MB), 1 s after {after:.0f} MB; "
                f"phase took {elapsed:.1f} s"
            )
            for key, value in outcome.items():
                print(f"   {key}: {value}")
        finally:
            server.stop()


async def main() -> None:
    print(f"cores: {os.cpu_count()}; production argon2 costs (t=3, 64 MiB)")
    await run_phase("80 concurrent wrong logins, one account", login_flood_one_account)
    await run_phase("80 concurrent wrong logins, 80 unknown names", login_flood_many_names)
    await run_phase("12 concurrent 8192x8192 PNG uploads", uploads(8192))
    await run_phase("12 concurrent 6000x6000 PNG uploads (36 MP, accepted)", uploads(6000))
    await run_phase("login timing", login_timing)


if __name__ == "__main__":
    asyncio.run(main())
