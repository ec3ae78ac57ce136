"""Browser tests of the web app: Playwright driving Debian's Chromium against a real
``starling serve`` (granian, in a subprocess, on a fresh embedded database).

The browser is the system's (``/usr/bin/chromium``, installed by ``.ci/run``), never a
download. Screenshots go to one temporary folder, printed at the end of the run.
"""

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
import pytest
from browsing import Server
from playwright.sync_api import Browser, expect, sync_playwright

import services

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
START_TIMEOUT_S = 60.0
"""Failure guard of the server's start; a healthy machine needs a second or two."""
EXPECT_TIMEOUT_MS = 15_000
"""Playwright's auto-waiting expectations give up after this (a loaded 2-core machine
runs the server, the browser and other suites at once)."""

_screenshots: list[Path] = []


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _healthy(url: str) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(url, timeout=1.0).status_code == 200
    return False


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """``python -m starling serve --port P`` on a free port and a fresh SQLite file, with
    the default rate limits (cheap password hashing only)."""
    port = _free_port()
    env = {
        **os.environ,
        "STARLING_DATABASE_URL": f"sqlite:///{tmp_path}/starling.db",
        "STARLING_MEDIA_DIR": str(tmp_path / "media"),
        "STARLING_ARGON2_TIME_COST": "1",
        "STARLING_ARGON2_MEMORY_KIB": "8",
        "STARLING_LOG_LEVEL": "warning",
    }
    for name in ("STARLING_REDIS_URL", "STARLING_NATS_URL"):
        env.pop(name, None)
    log = (tmp_path / "serve.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "starling", "serve", "--port", str(port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _healthy(f"{base}/healthz"):
            assert process.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.1)  # polling another process's port, not waiting for work
        yield Server(base, tmp_path)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's Chromium, headless. Missing, the tests skip, or fail under
    ``STARLING_REQUIRE_SERVICES=1`` (CI installs it).

    Per module, not per session: while Playwright's sync API runs, its event loop is
    this thread's running loop, and the suite's asyncio tests could not run after it."""
    if not Path(CHROMIUM).exists():
        if services.required():
            pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
        pytest.skip(f"{CHROMIUM} is missing")
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="session")
def screenshots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder screenshots are written to (printed at the end of the run)."""
    folder = tmp_path_factory.mktemp("web-screenshots")
    _screenshots.append(folder)
    return folder


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    for folder in _screenshots:
        shots = sorted(p.name for p in folder.glob("*.png"))
        terminalreporter.write_line(f"web screenshots ({len(shots)}) in {folder}")
