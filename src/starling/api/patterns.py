"""Regular expressions the OpenAPI document states for parameters and body fields.

Each is written for both ECMA 262 (what JSON Schema's ``pattern`` means) and Python's
``re`` (what the API's tests and fuzzers generate from), and matches what the API's
parsers accept: :mod:`starling.api.params` for ids and cursors, the services for text.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable
from typing import Final

from starling.domain.text import INVISIBLE_CATEGORIES, INVISIBLE_OTHERS


def decimal_at_most(bound: int) -> str:
    """A regular expression for decimal strings of at most ``len(str(bound))`` ASCII
    digits whose value is at most ``bound``, leading zeros allowed (as
    :func:`~starling.api.params.parse_id` allows them). Built digit by digit: anything
    shorter, or a prefix of ``bound`` followed by a smaller digit and any tail, or
    ``bound`` itself."""
    digits = str(bound)
    alternatives = [f"[0-9]{{1,{len(digits) - 1}}}"] if len(digits) > 1 else []
    for i, ch in enumerate(digits):
        if ch == "0":
            continue
        rest = len(digits) - i - 1
        smaller = "0" if ch == "1" else f"[0-{int(ch) - 1}]"
        alternatives.append(digits[:i] + smaller + (f"[0-9]{{{rest}}}" if rest else ""))
    alternatives.append(digits)
    return "^(?:" + "|".join(alternatives) + ")$"


ID: Final = decimal_at_most(2**63 - 1)
"""Ids: decimal strings of a signed 64-bit value (snowflakes)."""

OPTIONAL_ID: Final = "^(?:" + ID[1:-1] + ")?$"
"""An id, or nothing."""

CURSOR: Final = "^(?:[A-Za-f][A-Za-z0-9_-]{9}[AEIMQUYcgkosw048])?$"
"""Cursors as :func:`~starling.api.params.encode_cursor` writes them: 8 bytes (a
positive signed 64-bit value, so the first 6 bits are below 32: ``A``-``f``) in
unpadded URL-safe base64, 11 characters whose last carries 4 bits (a multiple of 4); or
empty, the first page. The all-zero cursor, :data:`ZERO_CURSOR`, is not one."""

ZERO_CURSOR: Final = "AAAAAAAAAAA"

UNSTORABLE: Final = r"\x00"
"""The character no text field takes (422 ``invalid_characters``), as a character-class
body: NUL. :func:`starling.domain.text.check_storable` also refuses lone surrogates, but
no request can carry one (JSON holding one is malformed, and so is a query string whose
percent-encoding is not UTF-8), and a surrogate range is no valid pattern for validators
whose regular expressions match Unicode scalars (Rust's, which Schemathesis uses)."""

WHITESPACE: Final = r"\t-\r\x1c-\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"
r"""What Python calls white space (``str.isspace``, ``str.strip``, ``\s`` of ``re``), as
a character-class body: the services test with those, while ``\s`` means slightly
different sets in ECMA 262, Rust and Python (``\x1c``-``\x1f``, ``\x85``, ``\ufeff``)."""

STORABLE: Final = f"^[^{UNSTORABLE}]*$"
"""Text without NUL."""

NOT_BLANK: Final = f"^[^{UNSTORABLE}]*[^{WHITESPACE}{UNSTORABLE}][^{UNSTORABLE}]*$"
"""Storable text with at least one character that is not white space."""


def char_class(code_points: Iterable[int]) -> str:
    """A character-class body for ``code_points`` (ascending), as ranges. Code points of
    the Basic Multilingual Plane are written ``\\uXXXX`` (one syntax for ECMA 262, Rust
    and Python); others as themselves, since each of the three spells their escape its
    own way."""
    ranges: list[list[int]] = []
    for point in code_points:
        if ranges and ranges[-1][1] == point - 1:
            ranges[-1][1] = point
        else:
            ranges.append([point, point])

    def one(point: int) -> str:
        return f"\\u{point:04x}" if point <= 0xFFFF else chr(point)

    return "".join(one(a) if a == b else f"{one(a)}-{one(b)}" for a, b in ranges)


INVISIBLE_PLANES: Final = (*range(0x20000), *range(0xE0000, 0xE1000))
"""Where Unicode puts the characters of :data:`~starling.domain.text.INVISIBLE_CATEGORIES`
(control, format, space and separator characters): the Basic Multilingual Plane, the
Supplementary Multilingual Plane and the tags and variation selectors of plane 14.
Scanning these, not all 1.1 million code points, takes about 20 ms at import."""

INVISIBLE: Final = char_class(
    point
    for point in INVISIBLE_PLANES
    if chr(point) in INVISIBLE_OTHERS or unicodedata.category(chr(point)) in INVISIBLE_CATEGORIES
)
"""The characters :func:`starling.domain.text.is_blank` counts as showing nothing, as a
character-class body (NUL among them)."""

TWEET_TEXT: Final = f"^[^{UNSTORABLE}]*[^{INVISIBLE}][^{UNSTORABLE}]*$"
"""Storable text that shows something (else 422 ``text_empty``)."""

USERNAME: Final = "^[A-Za-z0-9_]{1,15}$"
""":data:`starling.domain.text.USERNAME_PATTERN`."""

_EMAIL_CHAR: Final = f"[^@{WHITESPACE}{UNSTORABLE}]"
EMAIL: Final = f"^{_EMAIL_CHAR}{{1,64}}@{_EMAIL_CHAR}+\\.{_EMAIL_CHAR}+$"
""":data:`starling.services.accounts.EMAIL_PATTERN`, without the characters refused
before it is checked."""
