"""One place that maps errors to HTTP: every 4xx/5xx body is the API's error object.

Domain errors keep their code; framework errors (bad JSON, failed validation, unknown
route) get a code of their own; anything unexpected is logged and answered with a bare
500 ``internal_error``, never a traceback.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from litestar import MediaType, Request, Response
from litestar.exceptions import (
    ClientException,
    HTTPException,
    MethodNotAllowedException,
    NotFoundException,
    SerializationException,
    ValidationException,
)

from starling.api.schemas import ErrorBody, ErrorOut
from starling.domain import errors as domain
from starling.domain import media

log = logging.getLogger(__name__)

STATUS = {
    media.MediaTooLarge: 413,
    media.UnsupportedMedia: 415,
    domain.InvalidInput: 422,
    domain.NotFound: 404,
    domain.Conflict: 409,
    domain.Forbidden: 403,
    domain.Unauthorized: 401,
    domain.TooManyAttempts: 429,
    domain.Busy: 503,
}


class ApiError(Exception):
    """An HTTP-level error raised by the API layer itself (bad query parameter etc.)."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def error_response(
    status: int, code: str, message: str, headers: dict[str, str] | None = None
) -> Response[ErrorOut]:
    return Response(
        ErrorOut(ErrorBody(code, message)),
        status_code=status,
        media_type=MediaType.JSON,
        headers=headers,
    )


def _validation_message(exc: ValidationException) -> str:
    extra = exc.extra if isinstance(exc.extra, list) else []
    parts = []
    for item in extra:
        if isinstance(item, dict):
            key = item.get("key")
            message = item.get("message")
            parts.append(f"{key}: {message}" if key and key != "data" else str(message))
    return "; ".join(parts) or "The request body does not match the expected shape."


def _caused_by_bad_json(exc: BaseException) -> bool:
    """Litestar wraps msgspec's DecodeError (in a SerializationException, then in a
    ClientException); walk the chain rather than match message text."""
    cause: BaseException | None = exc
    while cause is not None:
        # UnicodeDecodeError: a body that is not UTF-8; RecursionError: absurd nesting.
        if isinstance(
            cause,
            msgspec.DecodeError | SerializationException | UnicodeDecodeError | RecursionError,
        ):
            return True
        cause = cause.__cause__
    return False


def _missing_body(exc: ValidationException) -> bool:
    extra = exc.extra if isinstance(exc.extra, list) else []
    return any(
        isinstance(i, dict) and i.get("key") == "data" and i.get("message") == "'data'"
        for i in extra
    )


def handle(request: Request[Any, Any, Any], exc: Exception) -> Response[ErrorOut]:
    """Litestar exception handler for every exception type."""
    if isinstance(exc, domain.DomainError):
        status = next((s for cls, s in STATUS.items() if isinstance(exc, cls)), 400)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        if isinstance(exc, domain.RetryLater):
            headers = {"Retry-After": str(exc.retry_after_s)}
        return error_response(status, exc.code, exc.message, headers)
    if isinstance(exc, ApiError):
        return error_response(exc.status, exc.code, exc.message)
    if isinstance(exc, ValidationException):
        if _missing_body(exc):
            return error_response(400, "malformed_json", "The request needs a JSON body.")
        return error_response(422, "validation_error", _validation_message(exc))
    if isinstance(exc, NotFoundException):
        return error_response(404, "not_found", "No such resource.")
    if isinstance(exc, MethodNotAllowedException):
        # RFC 9110 section 15.5.6: a 405 names the allowed methods; Litestar's router
        # puts them in the exception's Allow header.
        return error_response(
            405, "method_not_allowed", "Method not allowed on this resource.", exc.headers
        )
    if isinstance(exc, ClientException) and exc.status_code == 413:
        # Litestar's request_max_body_size (10 MB unless a route sets its own), counted
        # while the body streams in.
        return error_response(
            413, "payload_too_large", "The request body is larger than this endpoint takes."
        )
    if _caused_by_bad_json(exc):
        return error_response(400, "malformed_json", "The request body is not valid JSON.")
    if isinstance(exc, ClientException):
        return error_response(exc.status_code, "bad_request", str(exc.detail))
    if isinstance(exc, HTTPException) and exc.status_code < 500:
        return error_response(exc.status_code, "http_error", str(exc.detail))
    log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(500, "internal_error", "Something went wrong on our side.")
