"""Reaching the scale-out services (PostgreSQL, Redis, NATS) from tests.

A test that needs one calls :func:`require`: where the service is down the test is
skipped, unless ``STARLING_REQUIRE_SERVICES=1`` (CI), where it fails instead, so that a
green CI run always means the scale-out adapters were exercised.
"""

from __future__ import annotations

import os
import socket

import pytest

SERVICES = {
    "postgresql": os.environ.get("STARLING_TEST_POSTGRES_ADDR", "127.0.0.1:5432"),
    "redis": os.environ.get("STARLING_TEST_REDIS_ADDR", "127.0.0.1:6379"),
    "nats": os.environ.get("STARLING_TEST_NATS_ADDR", "127.0.0.1:4222"),
}


def required() -> bool:
    """True when missing services must fail the run (``STARLING_REQUIRE_SERVICES=1``)."""
    return os.environ.get("STARLING_REQUIRE_SERVICES") == "1"


def reachable(name: str, timeout_s: float = 1.0) -> bool:
    """Whether the TCP port of service ``name`` accepts a connection."""
    host, _, port = SERVICES[name].rpartition(":")
    try:
        with socket.create_connection((host, int(port)), timeout=timeout_s):
            return True
    except OSError:
        return False


def require(name: str) -> None:
    """Skip (or, when required, fail) the calling test if service ``name`` is down."""
    if reachable(name):
        return
    message = f"{name} is not reachable at {SERVICES[name]}"
    if required():
        pytest.fail(f"{message} and STARLING_REQUIRE_SERVICES=1", pytrace=False)
    pytest.skip(message)
