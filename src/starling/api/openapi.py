"""The OpenAPI document of the JSON API, honest about what each operation answers.

Litestar writes the document from the route handlers' signatures; what it cannot see is
added here, once for every route rather than repeated on each:

- **parameters** keep their handler type (strings, parsed by :mod:`starling.api.params`
  so that a bad value is the API's 422, not the framework's), and declare the schema
  they are parsed against: the aliases below (:data:`Limit`, :data:`Cursor`,
  :data:`UserId` ...) carry it in ``schema_extra``;
- **error answers** (:func:`document`): every operation under :data:`API` lists each
  status it can give, with the error codes it can carry (the ``enum`` of
  ``error.code``) and the ``Error`` component (``{"error": {"code", "message"}}``).
  Codes come from what the handler takes, found in its signature: a token
  (``unauthorized``), an id in the path (``*_not_found``), ``limit``/``cursor``/``q``
  (``invalid_*``), a JSON body (``malformed_json``, ``validation_error``,
  ``payload_too_large``), its rate-limit class (``rate_limited``, the same
  :func:`~starling.api.rate_limits.route_class` the middleware asks); and from what its
  service raises, declared on the route with :func:`raises`;
- **headers**: ``Retry-After`` on 429 (and on a 503 ``busy``), ``WWW-Authenticate`` on
  401, the ``X-RateLimit-*`` trio on every answer of a rate-limited route (not
  required: they are absent while rate limits are off);
- **security**: bearer tokens, required or optional per operation;
- **request bodies**: closed objects (``additionalProperties: false``) where the body's
  Struct forbids unknown fields, as the decoder does.

The statuses of the error codes are :data:`CODES`, the table of docs/api.md.
"""

from __future__ import annotations

import copy
from typing import Annotated, Any, Final

from litestar import Litestar, Request
from litestar.openapi.plugins import JsonRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import OpenAPIType, Schema
from litestar.params import PathParameter, QueryParameter
from litestar.routes import HTTPRoute

from starling.api.params import DEFAULT_LIMIT, MAX_LIMIT
from starling.api.patterns import CURSOR, ID, STORABLE, ZERO_CURSOR
from starling.api.rate_limits import API, route_class
from starling.domain.trends import DEFAULT_TRENDS
from starling.services.trends import MAX_TRENDS


def string_schema(**fields: Any) -> dict[str, Any]:
    """``schema_extra`` of a ``str | None`` parameter (``fields``: Litestar ``Schema``
    fields such as ``pattern``): documented as the string alone (Litestar would show
    ``oneOf [string, null]``; absent is how a query or a header says None)."""
    return {"one_of": [Schema(type=OpenAPIType.STRING, **fields)]}


def _integer(minimum: int, maximum: int, default: int) -> dict[str, Any]:
    return {
        "one_of": [Schema(type=OpenAPIType.INTEGER, minimum=minimum, maximum=maximum)],
        "default": default,
    }


# --- parameters ----------------------------------------------------------------------

Limit = Annotated[
    str | None,
    QueryParameter(
        name="limit",
        description=f"Page size, 1..{MAX_LIMIT} (default {DEFAULT_LIMIT}); else 422 "
        "`invalid_limit`.",
        schema_extra=_integer(1, MAX_LIMIT, DEFAULT_LIMIT),
    ),
]
"""``limit`` of a paginated list (parsed by :func:`~starling.api.params.parse_limit`)."""

TrendsLimit = Annotated[
    str | None,
    QueryParameter(
        name="limit",
        description=f"How many trends, 1..{MAX_TRENDS} (default {DEFAULT_TRENDS}); else 422 "
        "`invalid_limit`.",
        schema_extra=_integer(1, MAX_TRENDS, DEFAULT_TRENDS),
    ),
]

Cursor = Annotated[
    str | None,
    QueryParameter(
        name="cursor",
        description="The `next_cursor` of the previous page (absent or empty: the first "
        "page); one this service did not issue is 422 `invalid_cursor`.",
        schema_extra={
            **string_schema(pattern=CURSOR),
            "not": Schema(const=ZERO_CURSOR),
        },
    ),
]

Query = Annotated[
    str | None,
    QueryParameter(
        name="q",
        required=True,
        description="The search query; empty or malformed is 422 `invalid_query`.",
        schema_extra=string_schema(min_length=1, pattern=STORABLE),
    ),
]


def _id(what: str) -> Any:
    return PathParameter(
        description=f"The {what}'s id (decimal string); anything else names no {what}: 404.",
        schema_extra={"pattern": ID},
    )


UserId = Annotated[str, _id("user")]
TweetId = Annotated[str, _id("tweet")]
MediaId = Annotated[str, _id("image")]

ID_NOT_FOUND: Final = {
    "user_id": "user_not_found",
    "tweet_id": "tweet_not_found",
    "media_id": "media_not_found",
}
"""Path parameters holding an id, and the 404 code of an id that names nothing."""

QUERY_CODES: Final = {"limit": "invalid_limit", "cursor": "invalid_cursor", "q": "invalid_query"}
"""Query parameters and the 422 code of a value their parser refuses."""

# --- error codes ---------------------------------------------------------------------

CODES: Final[dict[str, int]] = {
    "malformed_json": 400,
    "malformed_multipart": 400,
    "bad_request": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "blocked": 403,
    "wrong_password": 403,
    "not_found": 404,
    "user_not_found": 404,
    "tweet_not_found": 404,
    "media_not_found": 404,
    "method_not_allowed": 405,
    "username_taken": 409,
    "email_taken": 409,
    "media_too_large": 413,
    "image_too_large": 413,
    "payload_too_large": 413,
    "unsupported_media_type": 415,
    "validation_error": 422,
    "invalid_id": 422,
    "invalid_limit": 422,
    "invalid_cursor": 422,
    "invalid_query": 422,
    "invalid_last_event_id": 422,
    "text_empty": 422,
    "text_too_long": 422,
    "invalid_characters": 422,
    "invalid_username": 422,
    "invalid_email": 422,
    "invalid_password": 422,
    "invalid_display_name": 422,
    "invalid_bio": 422,
    "cannot_follow_self": 422,
    "cannot_block_self": 422,
    "cannot_mute_self": 422,
    "too_many_media": 422,
    "media_not_owned": 422,
    "file_missing": 422,
    "rate_limited": 429,
    "too_many_attempts": 429,
    "internal_error": 500,
    "live_unavailable": 503,
    "busy": 503,
}
"""Every error code of the API and its status: docs/api.md's "Error codes" table."""

RETRY_LATER: Final = frozenset({"rate_limited", "too_many_attempts", "busy"})
"""Codes whose answer always carries ``Retry-After``."""

STATUS_TEXT: Final = {
    400: "Bad request",
    401: "Unauthorized: no valid access token",
    403: "Forbidden",
    404: "Not found",
    409: "Conflict",
    413: "Content too large",
    415: "Unsupported media type",
    422: "Unprocessable content",
    429: "Too many requests",
    503: "Unavailable for now",
}

RAISES_KEY: Final = "raises"
"""The handler ``opt`` entry listing the error codes its service can answer."""

BODY_KEY: Final = "request_body"
"""The handler ``opt`` entry with a request body the signature does not show."""

HEADERS_KEY: Final = "response_headers"
"""The handler ``opt`` entry with headers of its answers: {status: {name: description}}."""

CONTENT_KEY: Final = "response_content"
"""The handler ``opt`` entry with the ``content`` of answers: {status: content}."""

BEARER: Final = "bearerAuth"


def raises(
    *codes: str,
    request_body: dict[str, Any] | None = None,
    headers: dict[int, dict[str, str]] | None = None,
    content: dict[int, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """``opt=`` of a route: the error codes its service (or its own parsing) can answer
    beyond those :func:`document` finds in its signature; for a route that reads its
    body itself (a multipart upload), the OpenAPI ``requestBody``; ``headers``: the
    headers every answer of a status carries, by name, with their description;
    ``content``: the OpenAPI ``content`` of an answer Litestar cannot describe (an
    event stream), by status. Raises ``KeyError`` for a code missing from
    :data:`CODES`."""
    unknown = [code for code in codes if code not in CODES]
    if unknown:  # fail at import on a typo, not when the document is first served
        raise KeyError(f"error codes missing from CODES: {unknown}")
    opt: dict[str, Any] = {RAISES_KEY: codes}
    if request_body is not None:
        opt[BODY_KEY] = request_body
    if headers is not None:
        opt[HEADERS_KEY] = headers
    if content is not None:
        opt[CONTENT_KEY] = content
    return opt


IMAGE_UPLOAD: Final = {
    "required": True,
    "content": {
        "multipart/form-data": {
            "schema": {
                "type": "object",
                "required": ["file"],
                "properties": {
                    "file": {
                        "type": "string",
                        "format": "binary",
                        "description": "A JPEG, PNG, GIF or WebP image, at most 5 MB.",
                    }
                },
            },
            "encoding": {"file": {"contentType": "image/jpeg, image/png, image/gif, image/webp"}},
        }
    },
}
"""The body of ``POST /media``."""

# --- the document --------------------------------------------------------------------

ERROR_SCHEMA: Final = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message"],
            "properties": {
                "code": {"type": "string", "description": "Stable snake_case code."},
                "message": {"type": "string", "description": "Human-readable text."},
            },
        }
    },
    "description": "The body of every 4xx and 5xx answer of the API.",
}

RATE_HEADERS: Final = {
    "X-RateLimit-Limit": "The budget's size: requests per window.",
    "X-RateLimit-Remaining": "Requests left in the window.",
    "X-RateLimit-Reset": "Unix time (seconds) when the window's oldest request leaves it.",
}

STATE_KEY: Final = "openapi_document"
"""Where :func:`document` keeps the finished document: in the app's state."""


def document(app: Litestar) -> dict[str, Any]:
    """The app's OpenAPI document (a JSON-ready dict), finished as the module docstring
    says; built once per app, on first request."""
    found: dict[str, Any] | None = app.state.get(STATE_KEY)
    if found is None:
        found = app.state[STATE_KEY] = _finish(app, copy.deepcopy(app.openapi_schema.to_schema()))
    return found


def _finish(app: Litestar, doc: dict[str, Any]) -> dict[str, Any]:
    components = doc.setdefault("components", {})
    components.setdefault("schemas", {})["Error"] = ERROR_SCHEMA
    components.setdefault("headers", {}).update(
        {
            name: {
                "description": description + " Absent while rate limits are off.",
                "required": False,
                "schema": {"type": "integer"},
            }
            for name, description in RATE_HEADERS.items()
        }
    )
    components.setdefault("securitySchemes", {})[BEARER] = {
        "type": "http",
        "scheme": "bearer",
        "description": "An access token from `POST /api/starling/v1/auth/token`.",
    }
    paths: dict[str, Any] = doc.get("paths", {})
    for route in app.routes:
        if not isinstance(route, HTTPRoute) or not route.path_format.startswith(API + "/"):
            continue
        path_item = paths.get(route.path_format, {})
        for method, (handler, _) in route.route_handler_map.items():
            operation = path_item.get(method.lower())
            if operation is not None:
                _finish_operation(operation, handler, method, route.path_format, components)
    return doc


def _finish_operation(
    operation: dict[str, Any], handler: Any, method: str, path: str, components: dict[str, Any]
) -> None:
    params = handler.parsed_fn_signature.parameters
    codes: set[str] = set(handler.opt.get(RAISES_KEY, ()))

    security = operation.get("security")
    if "viewer_id" in params or security:
        operation["security"] = [{BEARER: []}]
        codes.add("unauthorized")
    elif "maybe_viewer_id" in params:
        # Anonymous reads are fine; a token, when sent, must verify.
        operation["security"] = [{}, {BEARER: []}]
        codes.add("unauthorized")

    for parameter in operation.get("parameters", ()):
        name = parameter["name"]
        if parameter["in"] == "path" and name in ID_NOT_FOUND:
            codes.add(ID_NOT_FOUND[name])
        elif parameter["in"] == "query" and name in QUERY_CODES:
            codes.add(QUERY_CODES[name])

    if BODY_KEY in handler.opt:
        operation["requestBody"] = handler.opt[BODY_KEY]
    elif "data" in params:
        codes.update(("malformed_json", "validation_error", "payload_too_large"))
        _close_body(operation, params["data"].annotation, components)

    rate_class = route_class(handler, method, path)
    if rate_class is not None:
        codes.add("rate_limited")

    responses: dict[str, Any] = operation.setdefault("responses", {})
    for litestars in [key for key in responses if key[0] in "45"]:
        del responses[litestars]  # Litestar's own error shape, never answered here
    by_status: dict[int, list[str]] = {}
    for code in sorted(codes):
        by_status.setdefault(CODES[code], []).append(code)
    for status, status_codes in sorted(by_status.items()):
        responses[str(status)] = _error_response(status, status_codes)
    for status, content in handler.opt.get(CONTENT_KEY, {}).items():
        responses[str(status)]["content"] = content
    for status, named in handler.opt.get(HEADERS_KEY, {}).items():
        headers = responses[str(status)].setdefault("headers", {})
        for name, description in named.items():
            headers[name] = {
                "description": description,
                "required": True,
                "schema": {"type": "string"},
            }
    if rate_class is not None:
        for response in responses.values():
            headers = response.setdefault("headers", {})
            for name in RATE_HEADERS:
                headers[name] = {"$ref": f"#/components/headers/{name}"}


def _error_response(status: int, codes: list[str]) -> dict[str, Any]:
    headers: dict[str, Any] = {}
    if status == 401:
        headers["WWW-Authenticate"] = {
            "description": "`Bearer`.",
            "required": True,
            "schema": {"type": "string"},
        }
    if any(code in RETRY_LATER for code in codes):
        headers["Retry-After"] = {
            "description": "Whole seconds until a retry can succeed.",
            "required": all(code in RETRY_LATER for code in codes),
            "schema": {"type": "integer", "minimum": 1},
        }
    listed = ", ".join(f"`{code}`" for code in codes)
    return {
        "description": f"{STATUS_TEXT.get(status, 'Error')}: {listed}.",
        "headers": headers,
        "content": {
            "application/json": {
                "schema": {
                    "allOf": [
                        {"$ref": "#/components/schemas/Error"},
                        {"properties": {"error": {"properties": {"code": {"enum": codes}}}}},
                    ]
                }
            }
        },
    }


def _close_body(operation: dict[str, Any], annotation: Any, components: dict[str, Any]) -> None:
    """Mark the JSON body's component closed when its Struct forbids unknown fields."""
    config = getattr(annotation, "__struct_config__", None)
    if config is None or not config.forbid_unknown_fields:
        return
    content = operation.get("requestBody", {}).get("content", {})
    ref = content.get("application/json", {}).get("schema", {}).get("$ref", "")
    schema = components.get("schemas", {}).get(ref.rsplit("/", 1)[-1])
    if schema is not None:
        schema["additionalProperties"] = False


# --- serving it ----------------------------------------------------------------------


class SwaggerUI(SwaggerRenderPlugin):
    """Swagger UI (``/docs``) showing the finished document."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, document(request.app))


class OpenAPIJson(JsonRenderPlugin):
    """``/docs/openapi.json``: the finished document."""

    def render(self, request: Request[Any, Any, Any], openapi_schema: dict[str, Any]) -> bytes:
        return super().render(request, document(request.app))
