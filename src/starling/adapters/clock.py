"""Clocks: the system clock, and a settable one for tests."""

from __future__ import annotations

import time


class SystemClock:
    """Unix time in ms from the operating system."""

    def now_ms(self) -> int:
        return time.time_ns() // 1_000_000


class ManualClock:
    """A clock that moves only when told (tests of inactivity, trends, expiry)."""

    def __init__(self, start_ms: int | None = None) -> None:
        self._now = time.time_ns() // 1_000_000 if start_ms is None else start_ms

    def now_ms(self) -> int:
        return self._now

    def advance(self, ms: int) -> None:
        """Move time forward by ``ms`` milliseconds."""
        self._now += ms
