"""OAuth 2 rules of the Mastodon-compatible client API: registered applications,
authorization codes, scopes and PKCE. Pure: no I/O, times in Unix milliseconds.

Scopes follow Mastodon's (docs.joinmastodon.org/api/oauth-scopes): the top-level scopes
``read``, ``write``, ``follow`` (legacy, covering the follow, block and mute granular
scopes), ``push``, and granular ones such as ``read:statuses`` or ``write:follows``. A
route needs one granular scope; a token holds it when it holds it by name, or holds its
top-level scope (``read`` holds ``read:statuses``), or, for the follow family, ``follow``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Iterable
from typing import Final

import msgspec

from starling.domain.errors import InvalidInput

TOP_SCOPES: Final = frozenset({"read", "write", "follow", "push", "profile"})
"""Mastodon's top-level scopes (``profile`` since 4.3: verify_credentials only)."""

GRANULAR: Final = frozenset(
    {
        "read:accounts",
        "read:blocks",
        "read:bookmarks",
        "read:favourites",
        "read:filters",
        "read:follows",
        "read:lists",
        "read:mutes",
        "read:notifications",
        "read:search",
        "read:statuses",
        "write:accounts",
        "write:blocks",
        "write:bookmarks",
        "write:conversations",
        "write:favourites",
        "write:filters",
        "write:follows",
        "write:lists",
        "write:media",
        "write:mutes",
        "write:notifications",
        "write:reports",
        "write:statuses",
    }
)
"""Mastodon's granular scopes (admin scopes are not served)."""

FOLLOW_FAMILY: Final = frozenset(
    {
        "read:follows",
        "write:follows",
        "read:blocks",
        "write:blocks",
        "read:mutes",
        "write:mutes",
    }
)
"""What the legacy ``follow`` scope grants (Mastodon's ``Doorkeeper`` scope config)."""

DEFAULT_SCOPES: Final = ("read",)
"""Scopes of an app registered without ``scopes`` (Mastodon's default)."""

ALL_SCOPES: Final = ("read", "write", "follow", "push")
"""What a Starling token without a scope claim (its own API's login) may do."""

OOB_REDIRECT: Final = "urn:ietf:wg:oauth:2.0:oob"
"""The out-of-band redirect: the code is shown on a page instead of redirected."""

CODE_TTL_MS: Final = 10 * 60 * 1000
"""Authorization codes live 10 minutes (RFC 6749 section 4.1.2 recommends at most 10)."""


def parse_scopes(raw: str | None, *, default: Iterable[str] = DEFAULT_SCOPES) -> tuple[str, ...]:
    """A space-separated (``+`` or ``,`` tolerated) scope string as a tuple of known
    scopes, in order, without repeats; empty or None gives ``default``. Raises
    ``InvalidInput`` (``invalid_scope``) for an unknown scope."""
    parts = [p for p in (raw or "").replace("+", " ").replace(",", " ").split() if p]
    if not parts:
        return tuple(default)
    seen: list[str] = []
    for part in parts:
        if part not in TOP_SCOPES and part not in GRANULAR:
            raise InvalidInput(f"Unknown scope: {part}.", code="invalid_scope")
        if part not in seen:
            seen.append(part)
    return tuple(seen)


def grants(held: Iterable[str], needed: str) -> bool:
    """Whether scopes ``held`` grant ``needed`` (a top-level or granular scope)."""
    held_set = set(held)
    if needed in held_set:
        return True
    top = needed.split(":", 1)[0]
    if ":" in needed and top in held_set:
        return True
    return needed in FOLLOW_FAMILY and "follow" in held_set


def within(requested: Iterable[str], allowed: Iterable[str]) -> bool:
    """Whether every scope of ``requested`` is granted by the app's ``allowed`` scopes."""
    allowed_t = tuple(allowed)
    return all(grants(allowed_t, scope) for scope in requested)


def digest(secret: str) -> str:
    """The stored form of a client secret or an authorization code (SHA-256, hex): a
    leaked table reveals neither; both are 32 random bytes, so no salt is needed."""
    return hashlib.sha256(secret.encode()).hexdigest()


def same_secret(secret: str, stored_digest: str) -> bool:
    """Constant-time comparison of ``secret`` with a stored :func:`digest`."""
    return hmac.compare_digest(digest(secret), stored_digest)


def pkce_matches(verifier: str | None, challenge: str | None, method: str | None) -> bool:
    """RFC 7636 section 4.6: a code issued with a challenge needs the verifier whose
    ``S256`` (BASE64URL(SHA256(verifier)), no padding) or ``plain`` form equals it; a
    code issued without one needs no verifier."""
    if challenge is None:
        return True
    if not verifier:
        return False
    if (method or "plain") == "S256":
        computed = (
            base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
            .rstrip(b"=")
            .decode()
        )
    else:
        computed = verifier
    return hmac.compare_digest(computed, challenge)


class OAuthApp(msgspec.Struct, frozen=True, kw_only=True):
    """A registered client application. ``redirect_uris`` are exact strings (RFC 6749
    section 3.1.2.3: compared as strings); ``scopes`` the most its tokens may hold."""

    id: int
    client_id: str
    secret_digest: str
    name: str
    website: str | None
    redirect_uris: tuple[str, ...]
    scopes: tuple[str, ...]
    created_at_ms: int


class AuthorizationCode(msgspec.Struct, frozen=True, kw_only=True):
    """An authorization code granted by ``user_id`` to ``client_id``, for exactly
    ``redirect_uri`` and ``scopes``, usable once before ``expires_at_ms``; with a PKCE
    ``challenge`` (``challenge_method`` ``S256`` or ``plain``)."""

    code_digest: str
    client_id: str
    user_id: int
    redirect_uri: str
    scopes: tuple[str, ...]
    challenge: str | None
    challenge_method: str | None
    expires_at_ms: int
