"""``starling serve`` as an operator runs it: a real granian server in a subprocess."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx

START_TIMEOUT_S = 60.0
"""Failure guard of the waits below; a healthy machine needs a second or two."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def live_children(pid: int) -> set[int]:
    """Process ids whose parent is ``pid``, zombies (exited, not yet reaped) left out."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            stat = (entry / "stat").read_text()
            # "pid (comm) state ppid ...": comm may hold spaces, so split after ')'.
            state, ppid = stat.rsplit(")", 1)[1].split()[:2]
            if int(ppid) == pid and state != "Z":
                found.add(int(entry.name))
    return found


def healthy(url: str) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(url, timeout=1.0).status_code == 200
    return False


def wait_until(condition: str, check: object, server: subprocess.Popen[bytes]) -> None:
    """Poll ``check()`` until true; fail if the server exits or the guard runs out."""
    assert callable(check)
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        assert server.poll() is None, f"the server exited ({server.returncode}) before {condition}"
        if check():
            return
        time.sleep(0.1)  # polling a process from outside, not waiting for work
    raise AssertionError(f"no {condition} within {START_TIMEOUT_S} s")


@contextlib.contextmanager
def serving(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], str]]:
    """``python -m starling serve`` on a free port and a fresh embedded database."""
    port = _free_port()
    env = {
        **os.environ,
        "STARLING_DATABASE_URL": f"sqlite:///{tmp_path}/starling.db",
        "STARLING_MEDIA_DIR": str(tmp_path / "media"),
    }
    for name in ("STARLING_REDIS_URL", "STARLING_NATS_URL"):
        env.pop(name, None)
    log = (tmp_path / "serve.log").open("wb")
    server = subprocess.Popen(
        [sys.executable, "-m", "starling", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield server, f"http://127.0.0.1:{port}"
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def test_a_killed_worker_is_respawned(tmp_path: Path) -> None:
    with serving(tmp_path) as (server, base):
        wait_until("/healthz answered", lambda: healthy(f"{base}/healthz"), server)
        workers = live_children(server.pid)
        assert len(workers) == 1, workers
        (worker,) = workers

        os.kill(worker, signal.SIGKILL)

        def respawned() -> bool:
            others = live_children(server.pid) - {worker}
            return bool(others) and healthy(f"{base}/healthz")

        wait_until("a new worker answering", respawned, server)
        assert server.poll() is None
