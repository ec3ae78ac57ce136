"""Bearer-token dependencies: ``viewer_id`` (required) and ``maybe_viewer_id``."""

from __future__ import annotations

from typing import Any

from litestar import Request

from starling.api.deps import Core
from starling.domain.errors import Unauthorized


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
    token = _bearer(request)
    if token is None:
        raise Unauthorized("This endpoint needs an access token.")
    return await core.accounts.authenticate(token=token)


async def maybe_viewer_id(request: Request[Any, Any, Any], core: Core) -> int | None:
    """The authenticated user's id, None without a token; a bad token is still a 401."""
    token = _bearer(request)
    return None if token is None else await core.accounts.authenticate(token=token)
