"""The Mastodon-compatible client API: Mastodon's REST methods, OAuth 2 and streaming,
served beside Starling's own API on the same services and read pipeline, so that
unmodified Mastodon clients (Mastodon.py, toot, ...) work. See docs/mastodon.md.

:func:`router` is what the application mounts: every route tagged ``mastodon``, answering
errors as ``{"error": "..."}``, rate-limited as ``reads`` unless a route says otherwise
(a refusal in Mastodon's shape too).
"""

from __future__ import annotations

import io
from functools import cache

from litestar import Response, Router, get

from starling.mastodon import http, oauth, routes, streaming
from starling.mastodon.entities import AVATAR_PATH


@cache
def _avatar_png() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (48, 48), (155, 165, 180)).save(out, format="PNG")
    return out.getvalue()


@get(
    AVATAR_PATH,
    summary="The placeholder avatar and header of every account",
    include_in_schema=False,
)
async def avatar() -> Response[bytes]:
    return Response(
        _avatar_png(),
        media_type="image/png",
        headers={"Cache-Control": "public, max-age=86400"},
    )


def router() -> Router:
    """Every route of the Mastodon-compatible API, on one Router."""
    return Router(
        path="/",
        route_handlers=[*oauth.HANDLERS, *routes.HANDLERS, *streaming.HANDLERS, avatar],
        tags=["mastodon"],
        exception_handlers={Exception: http.handle},
        opt={"rate_limit": "reads", "error_shape": "mastodon"},
    )
