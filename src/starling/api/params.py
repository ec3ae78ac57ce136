"""Query and path parameter parsing: limits, opaque cursors, decimal-string ids."""

from __future__ import annotations

import base64
import binascii
import re
import struct
from collections.abc import Callable

from starling.api import patterns
from starling.api.errors import ApiError
from starling.domain.errors import InvalidCursor, NotFound

DEFAULT_LIMIT = 20
MAX_LIMIT = 200
_CURSOR = struct.Struct(">q")
_ISSUED = re.compile(patterns.CURSOR)


def parse_limit(raw: str | None) -> int:
    """``limit`` query parameter: default 20, 1..200 in ASCII digits. Raises ``ApiError``
    422 otherwise, including for what Python's ``int`` would take besides: other
    scripts' digits (``٥``), signs, spaces, underscores."""
    if raw is None:
        return DEFAULT_LIMIT
    value = int(raw) if is_ascii_number(raw, max_digits=3) else 0
    if not 1 <= value <= MAX_LIMIT:
        raise ApiError(422, "invalid_limit", f"limit must be an integer from 1 to {MAX_LIMIT}.")
    return value


def is_ascii_number(raw: str, *, max_digits: int = 19) -> bool:
    """True for 1..``max_digits`` ASCII digits and nothing else. ``str.isdigit`` alone
    is true for any script's digits, and ``int`` takes those (and "+5", " 5", "1_0")."""
    return 0 < len(raw) <= max_digits and raw.isascii() and raw.isdigit()


def encode_cursor(max_id: int | None) -> str | None:
    """An opaque cursor for "ids strictly below ``max_id``" (None → None)."""
    if max_id is None:
        return None
    return base64.urlsafe_b64encode(_CURSOR.pack(max_id)).rstrip(b"=").decode()


def decode_cursor(raw: str | None) -> int | None:
    """The ``max_id`` inside a cursor from :func:`encode_cursor`. Raises ``InvalidCursor``."""
    if raw is None or raw == "":
        return None
    if not _ISSUED.fullmatch(raw):  # only the form encode_cursor writes (no padding)
        raise InvalidCursor()
    try:
        packed = base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4))
        (max_id,) = _CURSOR.unpack(packed)
    except (binascii.Error, struct.error, ValueError) as exc:
        raise InvalidCursor() from exc
    if max_id <= 0:
        raise InvalidCursor()
    return int(max_id)


def parse_id(raw: str, not_found: Callable[[], NotFound]) -> int:
    """A decimal-string id from a path. Anything else cannot name a resource: 404."""
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19 or int(raw) > 2**63 - 1:
        raise not_found()
    return int(raw)


def parse_body_id(raw: str | None, field: str) -> int | None:
    """A decimal-string id in a JSON body; malformed → 422 ``invalid_id``."""
    if raw is None:
        return None
    if not raw.isascii() or not raw.isdigit() or len(raw) > 19 or int(raw) > 2**63 - 1:
        raise ApiError(422, "invalid_id", f"{field} must be a decimal id string.")
    return int(raw)


def parse_media_ids(raw: list[str] | None) -> list[int]:
    """``media_ids`` of a new tweet: decimal id strings (malformed → 422 ``invalid_id``);
    more than the limit is the service's 422 ``too_many_media``."""
    ids: list[int] = []
    for item in raw or ():
        parsed = parse_body_id(item, "media_ids")
        if parsed is not None:
            ids.append(parsed)
    return ids
