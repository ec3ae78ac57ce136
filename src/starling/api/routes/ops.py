"""Operations: liveness, readiness, Prometheus metrics, the OpenAPI document."""

from __future__ import annotations

from typing import Any

from litestar import MediaType, Request, Response, get, head

from starling.api.deps import Core
from starling.api.openapi import document
from starling.api.schemas import Readiness, Status


@get("/healthz", summary="Liveness", tags=["operations"])
async def healthz() -> Status:
    return Status("ok")


@head(
    "/healthz", summary="Liveness, without a body", tags=["operations"], media_type=MediaType.TEXT
)
async def healthz_head() -> None:
    return None


@get("/readyz", summary="Readiness of every backend", tags=["operations"])
async def readyz(core: Core) -> Response[Readiness]:
    checks = await core.health.readiness()
    ready = all(v == "ok" for v in checks.values())
    return Response(
        Readiness("ok" if ready else "unavailable", checks), status_code=200 if ready else 503
    )


@head(
    "/readyz",
    summary="Readiness of every backend, without a body",
    tags=["operations"],
    media_type=MediaType.TEXT,
)
async def readyz_head(core: Core) -> Response[None]:
    checks = await core.health.readiness()
    return Response(None, status_code=200 if all(v == "ok" for v in checks.values()) else 503)


@get("/metrics", summary="Prometheus metrics", tags=["operations"], media_type=MediaType.TEXT)
async def metrics(core: Core) -> Response[bytes]:
    # Litestar appends "; charset=utf-8" to every text/* type itself.
    return Response(await core.health.metrics_text(), media_type="text/plain; version=0.0.4")


@get(
    "/openapi.json", summary="The OpenAPI 3 document", tags=["operations"], include_in_schema=False
)
async def openapi_json(request: Request[Any, Any, Any]) -> dict[str, Any]:
    return document(request.app)
