"""Operations: whether each backend answers (``/readyz``) and the Prometheus metrics
(``/metrics``), so the ops routes call a service like every other route does."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

from starling.metrics import Metrics
from starling.ports import EventLog


class Pingable(Protocol):
    """A backend that can be asked whether it answers."""

    async def ping(self) -> None:
        """Raise if the backend does not answer."""


class HealthService:
    """Readiness of the backends one process uses, and its metrics."""

    def __init__(
        self, *, backends: Mapping[str, Pingable], event_log: EventLog, metrics: Metrics
    ) -> None:
        """``backends``: the backends to check by the name ``/readyz`` reports them under
        (``database``, ``timeline_cache``...); the event log is checked too when its
        adapter can be pinged (the JetStream one can; the outbox one is the database)."""
        self._backends = dict(backends)
        self._event_log = event_log
        self._metrics = metrics

    async def readiness(self) -> dict[str, str]:
        """Each backend's state by name: ``"ok"`` or ``"unavailable: <error type>"``."""
        pings: list[tuple[str, Callable[[], Awaitable[None]]]] = [
            (name, backend.ping) for name, backend in self._backends.items()
        ]
        event_log_ping = getattr(self._event_log, "ping", None)
        if event_log_ping is not None:
            pings.append(("event_log", event_log_ping))
        checks: dict[str, str] = {}
        for name, ping in pings:
            try:
                await ping()
                checks[name] = "ok"
            except Exception as exc:
                checks[name] = f"unavailable: {type(exc).__name__}"
        return checks

    async def metrics_text(self) -> bytes:
        """The Prometheus text exposition of this process's metrics, with the event log's
        backlog (``starling_events_pending``) read now."""
        self._metrics.events_pending.set(await self._event_log.pending())
        return self._metrics.render()
