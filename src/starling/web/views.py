"""What every web handler shares: the viewer dependency, rendering a page or a fragment,
redirects after a form, and the few reads of a profile's relationship."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import urlencode

from litestar import Request
from litestar.di import NamedDependency
from litestar.response import Redirect, Template

from starling.api.deps import Core
from starling.api.params import encode_cursor
from starling.bootstrap import App
from starling.domain.errors import Unauthorized
from starling.web.session import NONCE_COOKIE, Viewer, cookie, viewer_of

PAGE_SIZE: Final = 20
"""Tweets per page of every list (the API's default limit)."""

FRAGMENT_HEADER: Final = "x-fragment"
"""Sent by the page's script when it wants the part of a page it replaces (a list's
next items, a tweet's actions) instead of the whole page."""

WebViewer = NamedDependency[Viewer]
"""The viewer of a web request (:func:`starling.web.session.viewer_of`)."""


async def provide_viewer(request: Request[Any, Any, Any], core: Core) -> Viewer:
    """Litestar dependency: the request's :class:`Viewer` (also kept in the request's
    state, for the error pages)."""
    viewer = await viewer_of(request, core)
    request.state.web_viewer = viewer
    return viewer


def wants_fragment(request: Request[Any, Any, Any]) -> bool:
    """True when the page's script asked for a fragment (see :data:`FRAGMENT_HEADER`)."""
    return request.headers.get(FRAGMENT_HEADER) == "1"


def here(request: Request[Any, Any, Any]) -> str:
    """The request's path and query: where a form on the page sends the browser back."""
    query = request.scope.get("query_string", b"").decode("latin-1")
    return request.url.path + (f"?{query}" if query else "")


def safe_next(raw: str | None, default: str = "/") -> str:
    """``raw`` when it is a path of this site (``/...``, not ``//host`` nor ``/\\host``,
    which browsers read as another host), else ``default``: no open redirect."""
    if raw and raw.startswith("/") and not raw.startswith(("//", "/\\")) and "\n" not in raw:
        return raw
    return default


def more_url(path: str, next_max_id: int | None, **params: str) -> str | None:
    """The "Load more" link of a list: ``path`` with the next cursor (None at the end)."""
    cursor = encode_cursor(next_max_id)
    if cursor is None:
        return None
    return f"{path}?{urlencode({**params, 'cursor': cursor})}"


def require_user(viewer: Viewer) -> int:
    """The viewer's id. Raises ``Unauthorized`` (the web app redirects to the login page)."""
    if viewer.user is None:
        raise Unauthorized("Log in to do that.")
    return viewer.user.id


async def page(
    core: App,
    request: Request[Any, Any, Any],
    viewer: Viewer,
    template: str,
    *,
    section: str | None = None,
    status_code: int = 200,
    **context: Any,
) -> Template:
    """A whole page: ``template`` with the viewer, the unread-notifications badge and
    ``context``; a new visitor also gets their CSRF nonce cookie."""
    unread = 0
    if viewer.user is not None:
        unread = await core.notifications.unread_count(user_id=viewer.user.id)
    values = {
        "viewer": viewer,
        "unread": unread,
        "section": section,
        "here": here(request),
        **context,
    }
    cookies = []
    if viewer.nonce is not None:
        cookies.append(cookie(core, NONCE_COOKIE, viewer.nonce, max_age=None))
    return Template(
        template_name=template, context=values, status_code=status_code, cookies=cookies
    )


def fragment(
    request: Request[Any, Any, Any], viewer: Viewer, template: str, **context: Any
) -> Template:
    """A part of a page (no layout, no badge query) for the page's script."""
    values = {"viewer": viewer, "here": here(request), **context}
    return Template(template_name=template, context=values)


def back(request: Request[Any, Any, Any], raw_next: str | None) -> Redirect:
    """The answer to a form without script: 303 See Other to the form's ``next`` field,
    else to the page it came from (same site only), else home (Post/Redirect/Get)."""
    target = safe_next(raw_next, "")
    if not target:
        referer = request.headers.get("referer", "")
        origin = f"{request.url.scheme}://{request.url.netloc}"
        target = safe_next(referer.removeprefix(origin), "/") if referer.startswith(origin) else "/"
    return Redirect(path=target, status_code=303)


@dataclass(frozen=True, slots=True)
class Relationship:
    """How the viewer stands with a profile's user."""

    following: bool = False
    followed_by: bool = False
    blocking: bool = False
    muting: bool = False


NOBODY: Final = Relationship()


async def relationship(core: App, viewer_id: int | None, user_id: int) -> Relationship:
    """The viewer's follow, block and mute of ``user_id`` and whether they are followed
    back (four indexed lookups; none for an anonymous viewer or oneself)."""
    if viewer_id is None or viewer_id == user_id:
        return NOBODY
    store = core.store
    return Relationship(
        following=await store.is_following(viewer_id, user_id),
        followed_by=await store.is_following(user_id, viewer_id),
        blocking=await store.is_blocking(viewer_id, user_id),
        muting=await store.is_muting(viewer_id, user_id),
    )
