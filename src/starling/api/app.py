"""The Litestar application: routes, dependencies, error mapping, metrics, lifespan."""

from __future__ import annotations

import gc
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.enums import ScopeType
from litestar.exceptions import NotFoundException
from litestar.openapi import OpenAPIConfig
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import Histogram

from starling import web
from starling.api import auth, errors
from starling.api.allow import allow_every_method
from starling.api.openapi import OpenAPIJson, SwaggerUI
from starling.api.rate_limits import RateLimitMiddleware
from starling.api.routes import ops
from starling.api.routes.accounts import AccountsController
from starling.api.routes.engagement import EngagementController
from starling.api.routes.graph import GraphController
from starling.api.routes.media import MediaController
from starling.api.routes.moderation import ModerationController
from starling.api.routes.search import SearchController
from starling.api.routes.stream import StreamController
from starling.api.routes.timelines import TimelinesController
from starling.api.routes.tweets import TweetsController
from starling.bootstrap import App, build
from starling.config import Settings, load_settings
from starling.mastodon import router as mastodon_router

CORE = "core"


def _core(state: State) -> App:
    core: App = state[CORE]
    return core


class MetricsMiddleware:
    """Times every routed request into ``starling_http_request_duration_seconds``,
    labelled by route template (not raw path, which would explode cardinality)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._children: dict[tuple[str, str, int], Histogram] = {}
        """Labelled histograms by (route, method, status): ``labels()`` costs ~8 us."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        status = 500
        start = time.perf_counter()

        async def capture(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, capture)
        finally:
            key = (str(scope.get("path_template") or "unmatched"), str(scope.get("method")), status)
            child = self._children.get(key)
            if child is None:
                core = _core(scope["litestar_app"].state)
                child = self._children[key] = core.metrics.http_duration.labels(
                    key[0], key[1], str(status)
                )
            child.observe(time.perf_counter() - start)


def create_app(core: App | None = None, *, settings: Settings | None = None) -> Litestar:
    """The ASGI app. Given ``core``, it serves it; otherwise the lifespan builds one from
    ``settings`` (default: the ``STARLING_*`` environment; this is granian's factory).
    The lifespan starts the workers (embedded default only) and closes everything on
    shutdown."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        config = settings or load_settings()
        # API processes consume events only on the embedded default; with a broker the
        # consumers are `starling worker` processes (an API joining them would split the
        # fan-out work and its metrics across processes nobody scrapes for them).
        running = core or await build(config, run_workers=config.is_embedded)
        app.state[CORE] = running
        await running.start()
        # Everything built so far (modules, schema, compiled statements) lives as long as
        # the process: out of the collector's generations, a full collection no longer
        # walks it, which shortens the pauses that show in p99 (Instagram's gc.freeze).
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            await running.stop()

    # Given a core, requests work without the lifespan too (tests drive the app through
    # httpx.ASGITransport on their own event loop and start/stop the core themselves).
    state = State({CORE: core}) if core is not None else State()

    return Litestar(
        route_handlers=[
            AccountsController,
            TweetsController,
            GraphController,
            TimelinesController,
            EngagementController,
            ModerationController,
            StreamController,
            MediaController,
            SearchController,
            ops.healthz,
            ops.healthz_head,
            ops.readyz,
            ops.readyz_head,
            ops.metrics,
            ops.openapi_json,
            # The Mastodon-compatible client API (docs/mastodon.md), on the same core.
            mastodon_router(),
            # The web app (pages, forms, live stream, static files) on the same services.
            web.router(),
        ],
        template_config=web.template_config(),
        dependencies={
            "core": Provide(_core, sync_to_thread=False),
            "viewer_id": Provide(auth.viewer_id),
            "maybe_viewer_id": Provide(auth.maybe_viewer_id),
        },
        # An unknown path is a web page's 404 unless it is under a JSON surface's prefix.
        exception_handlers={Exception: errors.handle, NotFoundException: web.handle_error},
        # Metrics outermost, so refused requests show in the histogram as 429s.
        middleware=[MetricsMiddleware, RateLimitMiddleware],
        before_send=[allow_every_method],
        lifespan=[lifespan],
        state=state,
        openapi_config=OpenAPIConfig(
            title="Starling",
            version="1",
            description="A Twitter-style feed service with hybrid fan-out.",
            path="/docs",
            # Both render the finished document (starling.api.openapi.document).
            render_plugins=[SwaggerUI(path="/"), OpenAPIJson()],
        ),
        debug=False,
    )
