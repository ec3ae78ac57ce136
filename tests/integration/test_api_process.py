"""What an API process built by the ASGI factory runs (granian's ``starling serve``)."""

from __future__ import annotations

from pathlib import Path

from litestar.testing import AsyncTestClient

import scaleout
from conftest import FAST_ARGON2
from starling.api.app import CORE, create_app
from starling.bootstrap import App
from starling.config import load_settings


async def test_with_a_broker_the_api_process_leaves_events_to_the_workers(
    scale_out: scaleout.Deployment,
) -> None:
    app = create_app(settings=load_settings(scale_out.env, **FAST_ARGON2))
    async with AsyncTestClient(app) as client:
        assert (await client.get("/healthz")).status_code == 200
        core: App = app.state[CORE]
        assert core.run_workers is False


async def test_on_the_embedded_default_the_api_process_runs_the_workers(tmp_path: Path) -> None:
    settings = load_settings({}, database_url=f"sqlite:///{tmp_path}/s.db", **FAST_ARGON2)
    app = create_app(settings=settings)
    async with AsyncTestClient(app) as client:
        assert (await client.get("/healthz")).status_code == 200
        core: App = app.state[CORE]
        assert core.run_workers is True
