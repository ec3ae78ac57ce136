"""Regular expressions the OpenAPI document states for parameters and body fields.

Each is written for both ECMA 262 (what JSON Schema's ``pattern`` means) and Python's
``re`` (what the API's tests and fuzzers generate from), and matches what the API's
parsers accept: :mod:`starling.api.params` for ids and cursors, the services for text.
"""

from __future__ import annotations

from typing import Final


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
no request can carry one (JSON with one is malformed, and so is a query string whose
percent-encoding is not UTF-8), and a surrogate range is not a valid pattern for
validators with Unicode-scalar regular expressions (Rust's, which Schemathesis uses)."""

STORABLE: Final = f"^[^{UNSTORABLE}]*$"
"""Text without NUL or a lone surrogate."""

NOT_BLANK: Final = f"^[^{UNSTORABLE}]*[^\\s{UNSTORABLE}][^{UNSTORABLE}]*$"
"""Storable text with at least one character that is not white space."""

USERNAME: Final = "^[A-Za-z0-9_]{1,15}$"
""":data:`starling.domain.text.USERNAME_PATTERN`."""

EMAIL: Final = f"^[^@\\s{UNSTORABLE}]{{1,64}}@[^@\\s{UNSTORABLE}]+\\.[^@\\s{UNSTORABLE}]+$"
""":data:`starling.services.accounts.EMAIL_PATTERN`, without the characters refused
before it is checked."""
