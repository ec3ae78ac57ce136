"""The API against its own OpenAPI document: Schemathesis, every check, every operation.

``starling serve`` runs on a free port with a fresh embedded database; Schemathesis
(the CLI, as an operator would run it) loads ``/openapi.json`` and runs its four phases
(examples, coverage, fuzzing, stateful) with ``--checks all``: no 5xx, only documented
statuses, content types and headers, bodies matching their schemas, schema-valid
requests accepted and schema-violating ones refused, 405 with ``Allow`` for undocumented
methods, auth enforced where declared... Any failure fails the test, with Schemathesis'
report (each failure with a ``curl`` line that reproduces it).

Authenticated operations run with a real token (``tests/fuzz_hooks.py``), so they are
exercised past the 401. The request budgets are the test harness's (``rates.py``):
rate limiting stays on, so every answer carries its ``X-RateLimit-*`` headers, but no
budget is reached, so 429s do not drown the run. Where a check cannot hold for a
documented reason, ``tests/schemathesis.toml`` says which operation and why.

Bounded: ``STARLING_FUZZ_MAX_EXAMPLES`` cases per operation and phase (default 20,
about 2,000 cases and a minute or two), with a fixed seed so a CI failure replays;
set ``STARLING_FUZZ_SEED`` (any integer, or ``random``) to explore further.
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

from rates import GENEROUS_RATES

TESTS = Path(__file__).resolve().parent.parent
CONFIG = TESTS / "schemathesis.toml"
START_TIMEOUT_S = 60.0
RUN_TIMEOUT_S = 480.0
"""Failure guard of the whole Schemathesis run (it takes one to two minutes), inside the
suite's 600 s per test (pytest-timeout)."""
DEFAULT_SEED = "20261129"
INCLUDED = "^/(api/starling/v1/|healthz|readyz|metrics)"
"""Starling's own API and the operations routes. The Mastodon-compatible API shares the
document but answers in Mastodon's error shape, to Mastodon's contract
(docs/mastodon.md); the web pages are for browsers."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def serving(tmp_path: Path) -> Iterator[str]:
    """``python -m starling serve`` on the embedded default, with the test suite's cheap
    password hashing and generous request budgets; yields its base URL."""
    port = _free_port()
    env = {
        **os.environ,
        "STARLING_DATABASE_URL": f"sqlite:///{tmp_path}/starling.db",
        "STARLING_MEDIA_DIR": str(tmp_path / "media"),
        "STARLING_ARGON2_TIME_COST": "1",
        "STARLING_ARGON2_MEMORY_KIB": "8",
        **{f"STARLING_{name.upper()}": value for name, value in GENEROUS_RATES.items()},
    }
    for name in ("STARLING_REDIS_URL", "STARLING_NATS_URL", "STARLING_RATE_LIMITS"):
        env.pop(name, None)
    base = f"http://127.0.0.1:{port}"
    with (tmp_path / "serve.log").open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "starling", "serve", "--port", str(port)],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + START_TIMEOUT_S
            while not _healthy(f"{base}/healthz"):
                assert server.poll() is None, f"the server exited ({server.returncode})"
                assert time.monotonic() < deadline, f"no /healthz within {START_TIMEOUT_S} s"
                time.sleep(0.1)  # polling a process from outside, not waiting for work
            yield base
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()


def _healthy(url: str) -> bool:
    with contextlib.suppress(httpx.HTTPError):
        return httpx.get(url, timeout=1.0).status_code == 200
    return False


def schemathesis_command(base: str, report: Path) -> list[str]:
    """The Schemathesis CLI run against ``base`` (its JUnit report to ``report``)."""
    seed = os.environ.get("STARLING_FUZZ_SEED", DEFAULT_SEED)
    return [
        *(sys.executable, "-m", "schemathesis.cli", "--config-file", str(CONFIG), "run"),
        f"{base}/openapi.json",
        *("--include-path-regex", INCLUDED),
        *("--checks", "all"),
        *("--max-examples", os.environ.get("STARLING_FUZZ_MAX_EXAMPLES", "20")),
        *(() if seed == "random" else ("--seed", seed)),
        *("--workers", "1"),
        "--no-color",
        *("--report", "junit", "--report-junit-path", str(report)),
    ]


def test_the_api_answers_as_its_openapi_document_says(tmp_path: Path) -> None:
    with serving(tmp_path) as base:
        env = {
            **os.environ,
            "SCHEMATHESIS_HOOKS": "fuzz_hooks",
            "PYTHONPATH": os.pathsep.join(filter(None, [str(TESTS), os.environ.get("PYTHONPATH")])),
            "STARLING_FUZZ_URL": base,
        }
        run = subprocess.run(
            schemathesis_command(base, tmp_path / "junit.xml"),
            # Schemathesis keeps its example database in the working directory.
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
            check=False,
        )
    summary = run.stdout[run.stdout.rfind("SUMMARY") :] if "SUMMARY" in run.stdout else ""
    print(summary)  # the case count, shown with -rP or -s
    assert run.returncode == 0, run.stdout[-20_000:] + run.stderr[-5_000:]
