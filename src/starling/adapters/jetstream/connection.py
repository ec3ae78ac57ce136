"""The NATS connection of one JetStream event log, and how its failures are retried and
logged.

The connection reconnects forever (a NATS that is down at start or restarts later heals
without a process restart); the relay and the consumers retry infrastructure errors with
:func:`retry_wait`'s back-off, and repeated errors are logged as warnings at most once
per :data:`LOG_EVERY_S`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext

from starling.ports import BackendUnavailable

log = logging.getLogger(__name__)

RECONNECT_WAIT_S = 0.5
"""Pause between reconnection attempts."""
CONNECT_TIMEOUT_S = 2
"""Seconds one connection attempt may take."""
PING_INTERVAL_S = 20
"""Client pings that detect a dead server connection."""
RETRY_BACKOFF_S = (0.1, 0.25, 0.5, 1.0, 2.0, 5.0)
"""Waits between retries of infrastructure errors (NATS or the store unreachable)."""
LOG_EVERY_S = 30.0
"""Repeated infrastructure errors are logged as warnings at most this often."""


class NatsUnavailable(BackendUnavailable, ConnectionError):
    """NATS is not connected, or the streams are not set up yet."""


def retry_wait(failures: int) -> float:
    """Seconds to wait after ``failures`` consecutive failures (1-based)."""
    return RETRY_BACKOFF_S[min(failures, len(RETRY_BACKOFF_S)) - 1]


class _Throttle:
    """Says when a repeated message is worth a warning again (at most once per period)."""

    def __init__(self, period_s: float = LOG_EVERY_S) -> None:
        self._period_s = period_s
        self._next = 0.0

    def ready(self) -> bool:
        now = time.monotonic()
        if now < self._next:
            return False
        self._next = now + self._period_s
        return True


class Connection:
    """One NATS client for ``url`` (``nats://host:4222``), named ``name`` on the server.

    :meth:`connect` once; :meth:`require_js` hands out the JetStream context while
    connected. ``reconnected`` is set at each reconnection (waiters retry at once rather
    than after their back-off); ``on_disconnect`` callbacks run at each disconnection.
    """

    def __init__(self, url: str, *, name: str) -> None:
        self.url = url
        self._name = name
        self._nc: NatsClient | None = None
        self._js: JetStreamContext | None = None
        self._closing = False
        self._error_log = _Throttle()
        self.reconnected = asyncio.Event()
        self.on_disconnect: list[Callable[[], None]] = []

    async def connect(self) -> None:
        """Connect (retrying forever until the server answers). Raises for what no retry
        mends, e.g. a malformed URL."""
        nc = NatsClient()
        self._nc = nc
        self._closing = False
        # max_reconnect_attempts=-1: the first connect and every reconnect retry forever.
        await nc.connect(
            servers=[self.url],
            name=self._name,
            allow_reconnect=True,
            max_reconnect_attempts=-1,
            # nats-py annotates this int but only sleeps on it: a float works.
            reconnect_time_wait=RECONNECT_WAIT_S,  # type: ignore[arg-type]
            connect_timeout=CONNECT_TIMEOUT_S,
            ping_interval=PING_INTERVAL_S,
            error_cb=self._on_error,
            disconnected_cb=self._on_disconnected,
            reconnected_cb=self._on_reconnected,
        )
        self._js = nc.jetstream()

    def require_js(self) -> JetStreamContext:
        """The JetStream context; raises :class:`NatsUnavailable` when not connected."""
        js = self.connected_js()
        if js is None:
            raise NatsUnavailable(f"NATS at {self.url} is not connected")
        return js

    def connected_js(self) -> JetStreamContext | None:
        """The JetStream context, or None when not connected."""
        nc = self._nc
        if nc is None or not nc.is_connected:
            return None
        return self._js

    async def flush(self, timeout_s: int = 1) -> None:
        """One round trip to the server; ``TimeoutError`` when it takes longer than
        ``timeout_s``, :class:`NatsUnavailable` when not connected."""
        self.require_js()
        assert self._nc is not None
        await self._nc.flush(timeout=timeout_s)

    async def close(self) -> None:
        """Close the connection (nothing happens when it never opened)."""
        self._closing = True
        nc, self._nc, self._js = self._nc, None, None
        if nc is not None:
            try:
                await nc.close()
            except Exception:
                log.debug("closing the NATS connection failed", exc_info=True)

    async def retrying(self, what: str, step: Callable[[], Awaitable[None]]) -> None:
        """Run ``step`` until it returns, waiting :func:`retry_wait` between failures."""
        failures = 0
        while True:
            try:
                await step()
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                failures += 1
                self.log_failure(f"{what} failed (try {failures}): {exc!r}")
                await asyncio.sleep(retry_wait(failures))

    def log_failure(self, message: str) -> None:
        """Log an infrastructure failure: a warning at most once per :data:`LOG_EVERY_S`,
        debug otherwise."""
        if self._error_log.ready():
            log.warning("%s (NATS %s)", message, self.url)
        else:
            log.debug("%s (NATS %s)", message, self.url)

    async def _on_error(self, exc: Exception) -> None:
        self.log_failure(f"NATS error: {exc!r}")

    async def _on_disconnected(self) -> None:
        if not self._closing:
            log.warning("disconnected from NATS at %s", self.url)
        for callback in self.on_disconnect:
            callback()

    async def _on_reconnected(self) -> None:
        log.info("reconnected to NATS at %s", self.url)
        self.reconnected.set()
