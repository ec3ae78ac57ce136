"""The web app: server-rendered pages people read and write in, served by ``starling
serve`` beside the JSON API and calling the same services (docs/web.md).

A delivery layer like :mod:`starling.api`: routes parse, call one service, render a
Jinja2 template (autoescaped). Everything works with links and forms alone; the one
script, ``static/app.js``, adds live updates and in-place actions.

:func:`router` is what the application mounts: the pages, the forms, the live stream
and the static files, with the web's security headers, rate-limit classes and error
pages; :func:`template_config` is the template engine.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Final

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Request, Response, Router
from litestar.datastructures import ResponseHeader
from litestar.di import Provide
from litestar.exceptions import HTTPException, NotFoundException
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router
from litestar.template.config import TemplateConfig

from starling.api import errors as api_errors
from starling.domain import errors as domain
from starling.web.forms import AccountForms, TweetForms, UserForms
from starling.web.live import LiveController
from starling.web.pages import PagesController
from starling.web.session import Viewer
from starling.web.views import here, provide_viewer, wants_fragment

log = logging.getLogger(__name__)

HERE: Final = Path(__file__).parent
TEMPLATES: Final = HERE / "templates"
STATIC: Final = HERE / "static"

JSON_PREFIXES: Final = ("/api/", "/oauth/", "/.well-known/")
"""Paths of the JSON surfaces: an error there keeps the JSON shape even when a web
route matched (``/{handle}/{tweet_id}`` matches any two segments)."""

CONTENT_SECURITY_POLICY: Final = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        # blob: for the compose box's previews of images not uploaded yet.
        "img-src 'self' blob: data:",
        "connect-src 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "object-src 'none'",
    ]
)
"""No inline script or style anywhere: an injected ``<script>`` or ``onerror=`` would
not run even if escaping failed."""

SECURITY_HEADERS: Final = [
    ResponseHeader(name="Content-Security-Policy", value=CONTENT_SECURITY_POLICY),
    ResponseHeader(name="X-Content-Type-Options", value="nosniff"),
    ResponseHeader(name="Referrer-Policy", value="same-origin"),
    ResponseHeader(name="X-Frame-Options", value="DENY"),
    # Pages differ per viewer: never kept by shared caches.
    ResponseHeader(name="Cache-Control", value="private, no-cache"),
]


def template_config() -> TemplateConfig[JinjaTemplateEngine]:
    """Jinja2 over ``web/templates``, autoescaping every template."""
    environment = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    return TemplateConfig(instance=JinjaTemplateEngine.from_environment(environment))


STATUS_TITLES: Final = {
    401: "Log in first",
    403: "Not allowed",
    404: "Not found",
    405: "Not allowed",
    409: "Already taken",
    413: "Too large",
    415: "Not an image",
    422: "That did not work",
    429: "Slow down",
    503: "Busy",
}


def _status(exc: Exception) -> tuple[int, str]:
    if isinstance(exc, domain.DomainError):
        status = next((s for cls, s in api_errors.STATUS.items() if isinstance(exc, cls)), 400)
        return status, exc.message
    if isinstance(exc, api_errors.ApiError):
        return exc.status, exc.message
    if isinstance(exc, NotFoundException):
        return 404, "There is no such page."
    if isinstance(exc, HTTPException) and exc.status_code < 500:
        return exc.status_code, str(exc.detail)
    return 500, "Something went wrong on our side."


def handle_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """Errors of web routes as pages (under a JSON surface's paths, the API's shape).
    Not logged in: to the login page, coming back afterwards.

    Also the app's answer to a path no route matches: a page for a browser (which asks
    for ``text/html``), the API's JSON error object for any other client."""
    if request.url.path.startswith(JSON_PREFIXES) or (
        isinstance(exc, NotFoundException) and "text/html" not in request.headers.get("accept", "")
    ):
        return api_errors.handle(request, exc)
    status, message = _status(exc)
    if status == 500:
        log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    if status == 401 and request.method == "GET" and not wants_fragment(request):
        return Redirect(path="/login", query_params={"next": here(request)}, status_code=303)
    if wants_fragment(request) or request.url.path == "/live":
        return Response(message, status_code=status, media_type="text/plain")
    viewer = getattr(request.state, "web_viewer", None)
    return Template(
        template_name="error.html",
        context={
            "viewer": viewer if isinstance(viewer, Viewer) else _ANONYMOUS,
            "unread": 0,
            "section": None,
            "title": STATUS_TITLES.get(status, "Something went wrong"),
            "message": message,
            "back": "/",
        },
        status_code=status,
        headers={"Retry-After": str(exc.retry_after_s)}
        if isinstance(exc, domain.RetryLater)
        else None,
    )


_ANONYMOUS: Final = Viewer(None, None, "", None)


def router() -> Router:
    """Every route of the web app, mounted at ``/``."""
    static = create_static_files_router(
        path="/static",
        directories=[STATIC],
        name="web:static",
        opt={"rate_limit": None},
        include_in_schema=False,
    )
    return Router(
        path="/",
        route_handlers=[
            PagesController,
            AccountForms,
            TweetForms,
            UserForms,
            LiveController,
            static,
        ],
        dependencies={"viewer": Provide(provide_viewer)},
        exception_handlers={Exception: handle_error},
        response_headers=SECURITY_HEADERS,
        include_in_schema=False,
        opt={"rate_limit": "reads"},
    )
