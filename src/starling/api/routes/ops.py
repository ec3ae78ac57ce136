"""Operations: liveness, readiness, Prometheus metrics, the OpenAPI document."""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response, get

from starling.api.deps import Core
from starling.api.schemas import Readiness, Status


@get("/healthz", summary="Liveness", tags=["operations"])
async def healthz() -> Status:
    return Status("ok")


@get("/readyz", summary="Readiness of every backend", tags=["operations"])
async def readyz(core: Core) -> Response[Readiness]:
    checks = await core.readiness()
    ready = all(v == "ok" for v in checks.values())
    return Response(
        Readiness("ok" if ready else "unavailable", checks), status_code=200 if ready else 503
    )


@get("/metrics", summary="Prometheus metrics", tags=["operations"], media_type=MediaType.TEXT)
async def metrics(core: Core) -> Response[bytes]:
    core.metrics.events_pending.set(await core.event_log.pending())
    return Response(core.metrics.render(), media_type="text/plain; version=0.0.4; charset=utf-8")


@get(
    "/openapi.json", summary="The OpenAPI 3 document", tags=["operations"], include_in_schema=False
)
async def openapi_json(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return request.app.openapi_schema.to_schema()
