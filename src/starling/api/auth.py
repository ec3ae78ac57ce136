"""Bearer-token dependencies: ``viewer_id`` (required) and ``maybe_viewer_id``."""

from __future__ import annotations

from typing import Any

from litestar import Request

from starling.api.deps import Core
from starling.domain.errors import Unauthorized


def bearer_token(request: Request[Any, Any, Any]) -> str:
    """The request's bearer token. Raises ``Unauthorized`` (401) without one."""
    token = _bearer(request)
    if token is None:
        raise Unauthorized("This endpoint needs an access token.")
    return token


def _bearer(request: Request[Any, Any, Any]) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthorized("Use 'Authorization: Bearer <access_token>'.")
    return token.strip()


async def viewer_id(request: Request[Any, Any, Any], core: Core) -> int:
    """The authenticated user's id. Raises ``Unauthorized`` (401) without a valid token."""
    return await core.accounts.authenticate(token=bearer_token(request))


async def maybe_viewer_id(request: Request[Any, Any, Any], core: Core) -> int | None:
    """The authenticated user's id, None without a token; a bad token is still a 401."""
    token = _bearer(request)
    return None if token is None else await core.accounts.authenticate(token=token)
