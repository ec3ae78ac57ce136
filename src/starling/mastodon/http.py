"""HTTP plumbing of the Mastodon-compatible API: request parameters (JSON, form-encoded,
multipart or none at all, merged with the query as Rails does), bearer tokens and
scopes, errors in Mastodon's shape, and ``Link`` pagination.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Final, TypeVar
from urllib.parse import parse_qsl, urlencode

import msgspec
from litestar import MediaType, Request, Response
from litestar.datastructures import UploadFile
from litestar.exceptions import (
    ClientException,
    HTTPException,
    MethodNotAllowedException,
    NotFoundException,
    ValidationException,
)

from starling.api.deps import Core
from starling.api.errors import STATUS
from starling.domain import errors as domain
from starling.domain.oauth import ALL_SCOPES, grants
from starling.mastodon.entities import Error
from starling.services.oauth import OAuthError
from starling.services.read_pipeline import TweetPage

log = logging.getLogger(__name__)

_encode = msgspec.json.Encoder().encode
T = TypeVar("T")


class MastoError(Exception):
    """An error answered as ``{"error": message}`` with ``status``."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def json(
    body: object, *, status: int = 200, headers: dict[str, str] | None = None
) -> Response[bytes]:
    """``body`` (Structs, dicts, lists) encoded as the JSON response."""
    return Response(_encode(body), media_type=MediaType.JSON, status_code=status, headers=headers)


def error_body(status: int, message: str, *, code: str | None = None) -> Response[bytes]:
    """Mastodon's error object; with ``code``, an OAuth error (RFC 6749 section 5.2)."""
    body = Error(code, message) if code is not None else Error(message)
    headers = {"WWW-Authenticate": 'Bearer error="invalid_token"'} if status == 401 else None
    return json(body, status=status, headers=headers)


def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    """The exception handler of every Mastodon route: ``{"error": "..."}`` bodies."""
    if isinstance(exc, MastoError):
        return error_body(exc.status, exc.message)
    if isinstance(exc, OAuthError):
        return error_body(exc.status, exc.message, code=exc.code)
    if isinstance(exc, domain.DomainError):
        status = next((s for cls, s in STATUS.items() if isinstance(exc, cls)), 400)
        response = error_body(status, exc.message)
        if isinstance(exc, domain.RetryLater):
            response.headers["Retry-After"] = str(exc.retry_after_s)
        return response
    if isinstance(exc, ValidationException):
        return error_body(422, "Validation failed: the request does not have the expected shape.")
    if isinstance(exc, NotFoundException):
        return error_body(404, "Record not found")
    if isinstance(exc, MethodNotAllowedException):
        response = error_body(405, "Method not allowed")
        response.headers.update(exc.headers or {})
        return response
    if isinstance(exc, ClientException) and exc.status_code == 413:
        return error_body(413, "The request body is too large.")
    if isinstance(exc, HTTPException) and exc.status_code < 500:
        return error_body(exc.status_code, str(exc.detail))
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_body(500, "Something went wrong on our side.")


# --- parameters ---------------------------------------------------------------------------
class Params:
    """A request's parameters: the query, then the body (JSON object, form-encoded or
    multipart; absent or empty is none), as one multi-map. ``name[]`` and ``name`` are
    one array parameter (Rails' convention, which Mastodon's clients follow)."""

    def __init__(self, pairs: Sequence[tuple[str, Any]]) -> None:
        self._values: dict[str, list[Any]] = {}
        for key, value in pairs:
            self._values.setdefault(key.removesuffix("[]"), []).append(value)

    def text(self, name: str) -> str | None:
        """The last value of ``name`` as text; None when absent. A JSON number or
        boolean is its text; a list or object is a 422."""
        values = self._values.get(name)
        if not values:
            return None
        value = values[-1]
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str | int | float):
            return str(value)
        if value is None:
            return None
        raise MastoError(422, f"Validation failed: {name} must be a single value.")

    def texts(self, name: str) -> list[str]:
        """Every value of ``name`` (``name[]=a&name[]=b`` or a JSON array) as text."""
        out: list[str] = []
        for value in self._values.get(name, []):
            items = value if isinstance(value, list) else [value]
            for item in items:
                if isinstance(item, str | int) and not isinstance(item, bool):
                    out.append(str(item))
                else:
                    raise MastoError(422, f"Validation failed: {name} must be a list of values.")
        return out

    def flag(self, name: str, default: bool = False) -> bool:
        """A boolean parameter (``true``/``1``/``on`` and ``false``/``0``/``off``)."""
        raw = self.text(name)
        if raw is None or raw == "":
            return default
        if raw.lower() in ("true", "1", "on", "yes"):
            return True
        if raw.lower() in ("false", "0", "off", "no"):
            return False
        raise MastoError(422, f"Validation failed: {name} must be a boolean.")

    def file(self, name: str) -> UploadFile | None:
        values = self._values.get(name) or []
        found = [v for v in values if isinstance(v, UploadFile)]
        return found[-1] if found else None


MAX_FORM_BYTES: Final = 64 * 1024
"""Largest form or JSON body of a request that is not an upload."""


async def params(request: Request[Any, Any, Any]) -> Params:
    """The parameters of ``request`` (see :class:`Params`). Raises ``MastoError`` 400
    for a body that is not what its content type says, or an unknown content type."""
    pairs: list[tuple[str, Any]] = list(request.query_params.multi_items())
    content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if content_type == "multipart/form-data":
        form = await request.form()
        pairs.extend(form.multi_items())
        return Params(pairs)
    body = await request.body()
    if not body.strip():
        return Params(pairs)
    if len(body) > MAX_FORM_BYTES:
        raise MastoError(413, "The request body is too large.")
    if content_type in ("application/json", "") and body.lstrip()[:1] in (b"{", b"["):
        try:
            decoded = msgspec.json.decode(body)
        except msgspec.DecodeError as exc:
            raise MastoError(400, "The request body is not valid JSON.") from exc
        if not isinstance(decoded, dict):
            raise MastoError(400, "The request body must be a JSON object.")
        pairs.extend(decoded.items())
        return Params(pairs)
    if content_type in ("application/x-www-form-urlencoded", ""):
        try:
            pairs.extend(parse_qsl(body.decode(), keep_blank_values=True))
        except UnicodeDecodeError as exc:
            raise MastoError(400, "The request body is not UTF-8.") from exc
        return Params(pairs)
    raise MastoError(415, f"Unsupported content type: {content_type}.")


def parse_id(raw: str | None) -> int | None:
    """A decimal snowflake id; None when absent; a 404 for anything else (it can name
    no record)."""
    if raw is None or raw == "":
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19 or int(raw) > 2**63 - 1:
        raise MastoError(404, "Record not found")
    return int(raw)


def need_id(raw: str) -> int:
    found = parse_id(raw)
    if found is None:
        raise MastoError(404, "Record not found")
    return found


# --- authentication and scopes ------------------------------------------------------------
class Auth(msgspec.Struct, frozen=True):
    """Who calls: the user (None: anonymous or an application token) and the token's
    scopes (every scope for Starling's own tokens)."""

    user_id: int | None
    scopes: tuple[str, ...]
    client_id: str | None = None

    def need(self, scope: str) -> int:
        """The user id, for a route needing ``scope``. Raises ``MastoError`` 401 without
        a user token, 403 when the token does not grant ``scope``."""
        if self.user_id is None:
            raise MastoError(401, "The access token is invalid")
        self.check(scope)
        return self.user_id

    def may(self, scope: str) -> int | None:
        """The user id or None (anonymous), for a public read that a token refines;
        a token that does not grant ``scope`` is a 403."""
        if self.user_id is None and self.client_id is None:
            return None
        self.check(scope)
        return self.user_id

    def check(self, scope: str) -> None:
        if not grants(self.scopes, scope):
            raise MastoError(403, "This action is outside the authorized scopes")


ANONYMOUS: Final = Auth(None, ())


def bearer(request: Request[Any, Any, Any]) -> str | None:
    """The bearer token of ``request`` (header, or ``access_token`` in the query as
    Mastodon's streaming API accepts it); None without one."""
    header = request.headers.get("authorization")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise MastoError(401, "The access token is invalid")
        return token.strip()
    return request.query_params.get("access_token") or None


async def authenticate(token: str | None, core: Core) -> Auth:
    """The :class:`Auth` of ``token``. Raises ``MastoError`` 401 for a token that is
    invalid, expired or revoked."""
    if token is None:
        return ANONYMOUS
    try:
        claims = await core.accounts.authorize(token=token)
    except domain.Unauthorized:
        try:
            app = core.accounts.verify_app_token(token=token)
        except domain.Unauthorized as exc:
            raise MastoError(401, "The access token is invalid") from exc
        return Auth(None, app.scopes, app.client_id)
    scopes = claims.scopes if claims.scopes is not None else ALL_SCOPES
    return Auth(claims.user_id, scopes, claims.client_id)


async def auth(request: Request[Any, Any, Any], core: Core) -> Auth:
    """The request's :class:`Auth` (a Litestar dependency)."""
    return await authenticate(bearer(request), core)


# --- pagination ---------------------------------------------------------------------------
class Paging(msgspec.Struct, frozen=True):
    """Mastodon's pagination parameters (docs.joinmastodon.org/api/guidelines/#pagination):
    ``max_id`` (below), ``since_id`` (above; the newest entries), ``min_id`` (above; the
    entries just above it), ``limit``."""

    max_id: int | None
    since_id: int | None
    min_id: int | None
    limit: int


def paging(p: Params, *, default: int = 20, maximum: int = 40, ids: bool = True) -> Paging:
    """The pagination of a list request; ``limit`` beyond ``maximum`` is ``maximum``
    (Mastodon clamps), below 1 or not a number is a 422. ``ids=False``: a list paged by
    its own opaque cursors, parsed by its route (only ``limit`` is read here)."""
    raw = p.text("limit")
    limit = default
    if raw is not None and raw != "":
        if not raw.isascii() or not raw.isdigit() or len(raw) > 6 or int(raw) < 1:
            raise MastoError(422, "Validation failed: limit must be a positive integer.")
        limit = min(int(raw), maximum)
    if not ids:
        return Paging(max_id=None, since_id=None, min_id=None, limit=limit)
    return Paging(
        max_id=_cursor(p, "max_id"),
        since_id=_cursor(p, "since_id"),
        min_id=_cursor(p, "min_id"),
        limit=limit,
    )


def _cursor(p: Params, name: str) -> int | None:
    raw = p.text(name)
    if raw is None or raw == "":
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19 or int(raw) > 2**63 - 1:
        raise MastoError(422, f"Validation failed: {name} must be an id.")
    return int(raw)


def base_url(request: Request[Any, Any, Any]) -> str:
    """The server's URL as the client reached it: ``scheme://host[:port]``."""
    host = request.headers.get("host") or request.url.netloc
    return f"{request.url.scheme}://{host}"


def link_header(
    request: Request[Any, Any, Any], *, newest: int | None, oldest: int | None
) -> dict[str, str]:
    """``Link: <...max_id=oldest>; rel="next", <...min_id=newest>; rel="prev"`` (next
    first: toot reads only the first entry and needs ``rel="next"`` there), keeping the
    request's other parameters; no header for an empty page."""
    if newest is None or oldest is None:
        return {}
    kept = [
        (k, v)
        for k, v in request.query_params.multi_items()
        if k not in ("max_id", "min_id", "since_id")
    ]
    path = f"{base_url(request)}{request.url.path}"
    next_url = f"{path}?{urlencode([*kept, ('max_id', str(oldest))])}"
    prev_url = f"{path}?{urlencode([*kept, ('min_id', str(newest))])}"
    return {"Link": f'<{next_url}>; rel="next", <{prev_url}>; rel="prev"'}


Page = Callable[[int | None, int | None, int], Awaitable[TweetPage]]
"""``page(max_id, floor, limit)``: a surface's newest-first page below ``max_id`` and
above ``floor``."""
Above = Callable[[int, int], Awaitable[list[int]]]
"""``above(min_id, limit)``: the surface's raw positions just above ``min_id``, oldest
first (before the visibility rule)."""

MIN_ID_ROUNDS: Final = 4
"""Windows tried for a ``min_id`` page when entries in them are hidden (each 4 times
the last), before a short page is answered."""


async def tweet_page(paged: Paging, page: Page, above: Above) -> TweetPage:
    """One page of a tweet surface by Mastodon's rules: ``max_id``/``since_id`` read
    newest first from the top (or ``max_id``) down to ``since_id``; ``min_id`` reads the
    ``limit`` entries just above it: the raw positions above it, oldest first, bound a
    window that is read newest first through the pipeline (visibility and repeats
    decided as on any page), and its oldest ``limit`` entries are the page."""
    if paged.min_id is None:
        return await page(paged.max_id, paged.since_id, paged.limit)
    floor = paged.min_id
    if paged.since_id is not None:
        floor = max(floor, paged.since_id)
    window = paged.limit
    result: TweetPage | None = None
    for _ in range(MIN_ID_ROUNDS):
        raw = await above(floor, window + 1)
        upper = raw[window] if len(raw) > window else paged.max_id
        if paged.max_id is not None and upper is not None:
            upper = min(upper, paged.max_id)
        result = await page(upper, floor, window)
        if len(result.items) >= paged.limit or len(raw) <= window:
            break
        window *= 4
    assert result is not None
    items = result.items[-paged.limit :]
    return TweetPage(items, result.engagement, None)
